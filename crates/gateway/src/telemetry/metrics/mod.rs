//! Prometheus metrics for `/metrics`.

use super::Record;

/// Every metric the gateway exports.
#[derive(Debug, Default)]
pub struct Metrics {}

/// Counts one request in flight until dropped.
#[derive(Debug)]
pub struct InFlight {}

impl Metrics {
    pub fn new() -> Self {
        Self {}
    }

    /// Counts one finished request.
    pub fn observe(&self, _rec: &Record) {}

    /// Marks a request in flight until the guard drops.
    pub fn in_flight(&self) -> InFlight {
        InFlight {}
    }
}
