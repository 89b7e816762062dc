//! The admin API, behind HTTP Basic auth. Refused outright while no admin password is set: an
//! admin surface is never open by default. Routes: stats, deployments, logs, usage, verify-auth.

pub mod auth;
pub mod deployments;
pub mod logs;
pub mod usage;
pub mod verify_auth;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::HeaderMap;

use crate::state::AppState;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/api/stats", get(stats))
        .route("/admin/api/deployments", get(deployments))
        .route("/admin/api/logs", get(logs))
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

async fn logs(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let rt = app.runtime.load();
    if let Err(e) = auth::check(rt.admin.as_ref(), &headers) {
        return e.into_response();
    }
    match logs::respond(&app.telemetry.logs, query.as_deref()) {
        Ok(body) => ([(http::header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn verify_auth(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let rt = app.runtime.load_full();
    if let Err(e) = auth::check(rt.admin.as_ref(), &headers) {
        return e.into_response();
    }
    Json(verify_auth::verify(&rt).await).into_response()
}
