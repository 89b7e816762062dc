//! Model alias → deployment target.
//!
//! Built once per config: each alias's upstream, deployment and per-operation path are resolved
//! up front (route overrides included), so a request does one hash lookup. An alias with several
//! deployments gets a [`pool::Pool`]: priority tiers, a balancing strategy, and per-deployment
//! [`health`] (cooldowns, circuit breaker) that the failover loop
//! ([`crate::upstream::failover`]) reads and writes.

pub mod health;
pub mod pool;
pub mod table;

pub use table::{ModelEntry, ModelTable, Plan, Route, Target};
