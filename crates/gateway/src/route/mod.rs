//! Model alias → deployment target.
//!
//! Built once per config: each alias's upstream, deployment and per-operation path are resolved
//! up front (route overrides included), so a request does one hash lookup.

pub mod table;

pub use table::{ModelEntry, ModelTable, Target};
