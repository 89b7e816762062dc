//! APIs about a resource rather than a model, on every face (`/v1/…`, `/openai/v1/…`,
//! `/openai/…?api-version=…`):
//! - files, batches and fine-tuning ([`routes`]), forwarded to the one upstream named by
//!   `resources.upstream`; uploads stream through without being buffered;
//! - stored responses ([`objects`]), forwarded to the upstream that created each one
//!   ([`owners`], filled by [`capture`] as `POST /responses` answers stream by).
//!
//! [`path`] maps each to its upstream path per kind; [`exchange`] sends it and streams the
//! answer back.

pub mod capture;
pub mod exchange;
pub mod objects;
pub mod owners;
pub mod path;
pub mod routes;

use std::sync::Arc;

use axum::Router;

pub use owners::{Owner, ResponseOwners};

use crate::state::AppState;

pub fn router() -> Router<Arc<AppState>> {
    routes::router().merge(objects::router())
}
