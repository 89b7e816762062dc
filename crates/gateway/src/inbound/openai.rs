//! The OpenAI dialect: `/v1/*`, as api.openai.com serves it.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, Request};
use serde::Serialize;

use crate::call::Operation;
use crate::error::GatewayError;
use crate::proxy;
use crate::state::{AppState, Runtime};

pub fn router() -> Router<Arc<AppState>> {
    let mut router = Router::new()
        .route("/v1/models", get(list_models))
        .route("/v1/models/{id}", get(get_model));
    for op in Operation::JSON.into_iter().chain(Operation::MULTIPART) {
        router = router.route(
            &format!("/v1/{}", op.route_key()),
            post(
                move |State(app): State<Arc<AppState>>, req: Request<Body>| {
                    proxy::forward(app, op, req)
                },
            ),
        );
    }
    router
}

/// OpenAI's model object, built from the configured aliases (never from Azure's
/// `/openai/models`, which lists base models rather than deployments).
#[derive(Serialize)]
struct Model<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

#[derive(Serialize)]
struct ModelList<'a> {
    object: &'static str,
    data: Vec<Model<'a>>,
}

fn model<'a>(rt: &Runtime, id: &'a str) -> Model<'a> {
    Model {
        id,
        object: "model",
        created: rt.created,
        owned_by: "aoai-gateway",
    }
}

pub(crate) async fn list_models(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let rt = app.runtime.load();
    match rt.keys.authenticate(&headers) {
        Ok(_) => model_list(&rt),
        Err(e) => e.into_response(),
    }
}

/// Every configured alias as OpenAI's model list (the caller has authenticated the client).
pub(crate) fn model_list(rt: &Runtime) -> Response {
    let data = rt
        .models
        .models()
        .iter()
        .map(|m| model(rt, &m.id))
        .collect();
    Json(ModelList {
        object: "list",
        data,
    })
    .into_response()
}

pub(crate) async fn get_model(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rt = app.runtime.load();
    if let Err(e) = rt.keys.authenticate(&headers) {
        return e.into_response();
    }
    match rt.models.get(&id) {
        Some(m) => Json(model(&rt, &m.id)).into_response(),
        None => GatewayError::ModelNotFound(id).into_response(),
    }
}
