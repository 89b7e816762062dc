//! Who may call the gateway.

pub mod client_keys;

pub use client_keys::ClientKeys;
