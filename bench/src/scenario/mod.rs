//! One module per scenario; each returns its rows for the table.

pub mod failover;
pub mod open_streams;
pub mod sequential;
pub mod streaming;
pub mod throughput;
