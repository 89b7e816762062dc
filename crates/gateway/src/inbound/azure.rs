//! The Azure OpenAI dialect, for clients written against Azure (the `AzureOpenAI` SDK clients,
//! LangChain's `AzureChatOpenAI`, curl from the Azure docs) and for the stock OpenAI client
//! pointed at an Azure v1 base URL.
//!
//! - Legacy routes: `/openai/deployments/{deployment}/{op}?api-version=…` and
//!   `/openai/responses?api-version=…`. `{deployment}` is the model alias; `api-version` is
//!   required (Azure answers a missing one with 404 "Resource not found") and is passed on to
//!   `azure` upstreams, so they see the version the client chose.
//! - v1 routes: `/openai/v1/{op}`, body `model` = alias, `api-version` optional and ignored.
//!
//! Keys are accepted as `api-key` or `Authorization: Bearer` (the stock OpenAI client sends an
//! Azure key as Bearer on v1). Errors the gateway makes itself on these routes are Azure's own
//! bodies where Azure has one ([`super::shapes`]).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, Request, Uri};

use super::openai::{get_model, list_models, model_list};
use super::query_param;
use super::shapes::{self, Dialect};
use crate::call::{ClientApiVersion, Operation};
use crate::error::GatewayError;
use crate::proxy::{self, Inbound};
use crate::state::AppState;

pub fn router() -> Router<Arc<AppState>> {
    let mut router = Router::new()
        .route(
            "/openai/responses",
            post(|State(app): State<Arc<AppState>>, req: Request<Body>| {
                legacy(app, Operation::Responses, None, req)
            }),
        )
        .route("/openai/models", get(legacy_models))
        .route("/openai/v1/models", get(list_models))
        .route("/openai/v1/models/{id}", get(get_model));
    for op in Operation::JSON.into_iter().chain(Operation::MULTIPART) {
        let key = op.route_key();
        router = router.route(
            &format!("/openai/v1/{key}"),
            post(move |State(app): State<Arc<AppState>>, req: Request<Body>| v1(app, op, req)),
        );
        if op.is_deployment_scoped() {
            router = router.route(
                &format!("/openai/deployments/{{deployment}}/{key}"),
                post(
                    move |State(app): State<Arc<AppState>>,
                          Path(d): Path<String>,
                          req: Request<Body>| legacy(app, op, Some(d), req),
                ),
            );
        }
    }
    router
}

/// The legacy routes' `api-version`: required, and a plain token (dates, `-preview`), since it
/// is passed on upstream.
pub(crate) fn dated_version(query: Option<&str>) -> Result<ClientApiVersion, GatewayError> {
    match query_param(query, "api-version") {
        Some(v)
            if !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')) =>
        {
            Ok(ClientApiVersion::Azure(v.into()))
        }
        _ => Err(shapes::resource_not_found()),
    }
}

/// A legacy-route request: the alias from the path (when there is one), the version from the
/// query.
async fn legacy(
    app: Arc<AppState>,
    op: Operation,
    deployment: Option<String>,
    req: Request<Body>,
) -> Response {
    let (api_version, rejected) = match dated_version(req.uri().query()) {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    let inbound = Inbound {
        op,
        dialect: Dialect::Azure,
        alias: deployment,
        api_version,
        rejected,
    };
    proxy::forward_from(app, inbound, req).await
}

async fn v1(app: Arc<AppState>, op: Operation, req: Request<Body>) -> Response {
    let inbound = Inbound {
        dialect: Dialect::Azure,
        ..Inbound::openai(op)
    };
    proxy::forward_from(app, inbound, req).await
}

/// `GET /openai/models?api-version=…`: the gateway's aliases (Azure's own list names base
/// models, not deployments, and is of no use to a client of the gateway).
async fn legacy_models(State(app): State<Arc<AppState>>, uri: Uri, headers: HeaderMap) -> Response {
    let rt = app.runtime.load();
    if let Err(e) = rt.keys.authenticate(&headers) {
        return shapes::in_dialect(Dialect::Azure, e).into_response();
    }
    match dated_version(uri.query()) {
        Ok(_) => model_list(&rt),
        Err(e) => e.into_response(),
    }
}
