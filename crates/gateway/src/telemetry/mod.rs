//! What the gateway counts about the traffic it carries.

pub mod stats;

pub use stats::{ModelStats, Stats, StatsSnapshot};
