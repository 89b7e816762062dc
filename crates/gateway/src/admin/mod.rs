//! The admin API, behind HTTP Basic auth. Refused outright while no admin password is set: an
//! admin surface is never open by default.

pub mod auth;
pub mod deployments;
pub mod usage;
pub mod verify_auth;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::HeaderMap;

use crate::state::AppState;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/api/stats", get(stats))
        .route("/admin/api/deployments", get(deployments))
        .route("/admin/api/verify-auth", post(verify_auth))
        .merge(usage::router())
}

async fn stats(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let rt = app.runtime.load();
    if let Err(e) = auth::check(rt.admin.as_ref(), &headers) {
        return e.into_response();
    }
    Json(app.stats().snapshot()).into_response()
}

async fn deployments(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let rt = app.runtime.load();
    if let Err(e) = auth::check(rt.admin.as_ref(), &headers) {
        return e.into_response();
    }
    Json(deployments::view(&rt.models)).into_response()
}

async fn verify_auth(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let rt = app.runtime.load_full();
    if let Err(e) = auth::check(rt.admin.as_ref(), &headers) {
        return e.into_response();
    }
    Json(verify_auth::verify(&rt).await).into_response()
}
