//! Prometheus metrics for `/metrics`.
//!
//! Hand-rolled rather than the `prometheus-client` crate, for the request path: its `Family`
//! takes a lock and needs owned labels on every lookup, and its histograms lock a mutex per
//! observation. Here one finished request costs one lock-free snapshot lookup on borrowed
//! labels ([`index`]) and a dozen relaxed atomic adds; everything else (sorting, formatting,
//! the deployment and process gauges) happens at scrape time.
//!
//! - [`families`]: the per-request series, their labels and the cardinality caps;
//! - [`histogram`]: bucket layouts and atomic histograms; [`index`]: the series maps;
//! - [`render`], [`deployments`], [`process`]: what a scrape writes, in the text format of
//!   [`text`];
//! - [`endpoint`]: `GET /metrics`, its auth, and the optional separate listener.

mod deployments;
pub mod endpoint;
mod families;
mod histogram;
mod index;
mod process;
mod render;
mod text;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

pub use families::{Limits, OTHER};
pub use text::CONTENT_TYPE;

use super::{Ledger, Record};
use crate::route::ModelTable;
use text::{Kind, Text, Value};

pub(super) const IN_FLIGHT: &str = "aoai_gateway_requests_in_flight";
pub(super) const BUILD_INFO: &str = "aoai_gateway_build_info";
pub(super) const LEDGER_DROPPED: &str = "aoai_gateway_ledger_rows_dropped_total";
pub(super) const LEDGER_WRITTEN: &str = "aoai_gateway_ledger_rows_written_total";
pub(super) const LEDGER_QUEUED: &str = "aoai_gateway_ledger_rows_queued";

/// Every metric the gateway exports; one for the process, shared by every worker and kept
/// across config reloads.
#[derive(Debug, Default)]
pub struct Metrics {
    families: families::Families,
    /// Behind its own `Arc` so an [`InFlight`] guard can outlive the borrow it came from.
    in_flight: Arc<AtomicI64>,
}

/// Counts one request in flight until dropped.
#[derive(Debug)]
pub struct InFlight {
    gauge: Arc<AtomicI64>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gauge.fetch_sub(1, Relaxed);
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// Metrics with other cardinality caps (tests, embedders).
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            families: families::Families::new(limits),
            in_flight: Arc::default(),
        }
    }

    /// Counts one finished request: called once per request when its body ends, on the
    /// request path, so it takes no lock and allocates nothing once its label sets exist.
    pub fn observe(&self, rec: &Record) {
        self.families.observe(rec);
    }

    /// Marks a request in flight until the guard drops.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.fetch_add(1, Relaxed);
        InFlight {
            gauge: Arc::clone(&self.in_flight),
        }
    }

    /// The whole exposition (Prometheus text format 0.0.4, [`CONTENT_TYPE`]): the traffic
    /// families, in-flight requests, `models`' pooled deployments' health, the usage ledger's
    /// rows, build info and the process's own numbers. `models` is the current runtime's
    /// table, read at scrape time.
    pub fn render(&self, models: &ModelTable, ledger: &Ledger) -> String {
        let f = &self.families;
        // About 200 bytes per request series and 1.5 KB per histogram: one allocation usually.
        let guess = 8 * 1024
            + 200 * (f.requests.len() + 4 * f.tokens.len())
            + 3 * 1024 * (f.models.len() + f.routes.len());
        let mut t = Text::with_capacity(guess);
        t.family(
            BUILD_INFO,
            Kind::Gauge,
            "Always 1; the version label says which aoai-gateway build is running.",
        );
        t.sample(
            BUILD_INFO,
            &[("version", env!("CARGO_PKG_VERSION"))],
            Value::Int(1),
        );
        render::traffic(&mut t, f);
        t.family(
            IN_FLIGHT,
            Kind::Gauge,
            "Requests received and not yet finished (streams until their last byte).",
        );
        // Signed and unclamped: a bug that drops a guard twice shows as a negative gauge
        // instead of a huge wrapped number or a silent zero.
        let n = self.in_flight.load(Relaxed);
        t.sample(IN_FLIGHT, &[], Value::Float(n as f64));
        deployments::render(&mut t, models);
        ledger_rows(&mut t, ledger);
        process::render(&mut t);
        t.finish()
    }
}

/// The usage ledger's writer, when the ledger is enabled: rows it lost are requests missing
/// from the accounting, so they deserve an alert (`increase(...) > 0`).
fn ledger_rows(t: &mut Text, ledger: &Ledger) {
    if !ledger.is_enabled() {
        return;
    }
    let rows = [
        (
            LEDGER_DROPPED,
            Kind::Counter,
            "Usage ledger rows lost: refused by a full queue or a stopped writer, or still \
             failing to write at shutdown.",
            ledger.dropped(),
        ),
        (
            LEDGER_WRITTEN,
            Kind::Counter,
            "Usage ledger rows committed to the database.",
            ledger.written(),
        ),
        (
            LEDGER_QUEUED,
            Kind::Gauge,
            "Usage ledger rows accepted and not yet written (the writer's backlog).",
            ledger.queued(),
        ),
    ];
    for (name, kind, help, value) in rows {
        t.family(name, kind, help);
        t.sample(name, &[], Value::Int(value));
    }
}
