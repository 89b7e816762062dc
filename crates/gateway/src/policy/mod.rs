//! Who may call the gateway, and what is done to a request before it is routed.

pub mod client_keys;
pub mod cors;
pub mod extra_params;
pub mod images;
pub mod normalize;

pub use client_keys::ClientKeys;
