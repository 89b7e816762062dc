//! End-to-end tests: the real binary over TCP, in front of mock-azure. One test binary, one
//! module per concern.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly on purpose"
)]

mod common;
mod exposition;

mod auth;
mod azure_inbound;
mod cli;
mod cors;
mod dialects;
mod entra;
mod env_mode;
mod errors;
mod failover;
mod image_compression;
mod inference_inbound;
mod ledger;
mod logs;
mod metrics;
mod normalize;
mod realtime;
mod recorder;
mod resources;
mod resources_mock;
mod response_objects;
mod streaming;
mod translation;
mod uploads;
mod usage;
mod usage_api;
