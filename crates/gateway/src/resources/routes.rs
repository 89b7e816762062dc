//! Files, batches and fine-tuning on every face, forwarded to `resources.upstream`.
//!
//! These APIs belong to a resource, not to a deployment: an uploaded file is referenced by the
//! batches and fine-tuning jobs created from it, so all three go to the one upstream the
//! config names. The client authenticates first, as everywhere; then the legacy face's
//! `api-version` is checked (missing: Azure's 404); then the path's ids.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use http::{Method, Request};
use tokio::time::Instant;

use super::exchange::{self, Exchange};
use super::path::{self, Face, Family, Versions};
use crate::error::GatewayError;
use crate::inbound::shapes;
use crate::proxy;
use crate::state::{AppState, Runtime};
use crate::telemetry::{Pending, pending};
use crate::trace;

/// Route patterns under a face's prefix, with their methods.
fn patterns() -> [(&'static str, Family, MethodFilter); 7] {
    let get_post = MethodFilter::GET.or(MethodFilter::POST);
    [
        ("files", Family::Files, get_post),
        (
            "files/{id}",
            Family::Files,
            MethodFilter::GET.or(MethodFilter::DELETE),
        ),
        ("files/{id}/content", Family::Files, MethodFilter::GET),
        ("batches", Family::Batches, get_post),
        ("batches/{id}", Family::Batches, MethodFilter::GET),
        ("batches/{id}/cancel", Family::Batches, MethodFilter::POST),
        // Jobs, their events, checkpoints, cancel/pause/resume, and whatever the API adds:
        // every segment is checked and re-encoded, so none can leave `fine_tuning/`.
        (
            "fine_tuning/{*rest}",
            Family::FineTuning,
            get_post.or(MethodFilter::DELETE),
        ),
    ]
}

pub fn router() -> Router<Arc<AppState>> {
    let mut router = Router::new();
    for face in Face::ALL {
        for (pattern, family, methods) in patterns() {
            router = router.route(
                &format!("{}{pattern}", face.prefix()),
                on(
                    methods,
                    move |State(app): State<Arc<AppState>>, req: Request<Body>| {
                        handle(app, face, family, req)
                    },
                ),
            );
        }
    }
    router
}

async fn handle(app: Arc<AppState>, face: Face, family: Family, req: Request<Body>) -> Response {
    let rt = app.runtime.load_full();
    let mut pending = Pending::of_request(&app.telemetry, &req, family.route_key());
    let result = forward(&app, &rt, face, family, req, &mut pending).await;
    pending::settle(pending, &result);
    match result {
        Ok(response) => response,
        Err(err) => shapes::in_dialect(face.dialect(), err).into_response(),
    }
}

/// The legacy face's required, dated `api-version` (`None` on the other faces).
pub(super) fn client_version(
    face: Face,
    query: Option<&str>,
) -> Result<Option<Box<str>>, GatewayError> {
    match face {
        Face::AzureDated => match crate::inbound::azure::dated_version(query)? {
            crate::call::ClientApiVersion::Azure(v) => Ok(Some(v)),
            crate::call::ClientApiVersion::Inference(_) => Ok(None),
        },
        Face::OpenAi | Face::AzureV1 => Ok(None),
    }
}

fn not_configured() -> GatewayError {
    GatewayError::NotSupported(
        "Files, batches and fine-tuning are not configured on this gateway: set \
         `resources.upstream` to the upstream that holds them."
            .to_owned(),
    )
}

async fn forward(
    app: &AppState,
    rt: &Runtime,
    face: Face,
    family: Family,
    req: Request<Body>,
    slot: &mut Option<Pending>,
) -> Result<Response, GatewayError> {
    let (parts, body) = req.into_parts();
    let client = rt.keys.authenticate(&parts.headers)?;
    if let Some(p) = slot.as_mut() {
        p.client(&client);
    }
    let version = client_version(face, parts.uri.query())?;
    let segments = path::segments(parts.uri.path(), face, family)?;
    let upstream = rt.resources.as_ref().ok_or_else(not_configured)?;
    let versions = Versions {
        upstream: &upstream.api_version,
        client: version.as_deref(),
    };
    let upstream_path = path::upstream_path(
        upstream.kind,
        versions,
        family,
        &segments,
        parts.uri.query(),
    )
    .ok_or_else(not_configured)?;
    let request_id = trace::request_id_of(&parts.extensions, &parts.headers);
    let deadline = Instant::now() + rt.policy.total;
    if let Some(p) = slot.as_mut() {
        // Counted against the family from here on: the request passed every check.
        let bucket = family.stats_bucket();
        p.model(bucket, app.stats().model(bucket));
    }
    let exchange = Exchange {
        upstream,
        method: parts.method.clone(),
        path: upstream_path,
        client_headers: &parts.headers,
        client: &client,
        request_id: &request_id,
        policy: &rt.policy,
        deadline,
    };
    let upload = family == Family::Files && parts.method == Method::POST && segments.is_empty();
    let result = if upload {
        exchange::sending(slot);
        exchange.upload(body, rt.max_upload).await
    } else if parts.method == Method::POST {
        let bytes = proxy::read_body(body, &parts.headers, rt.body_limit).await?;
        exchange::sending(slot);
        exchange.send(Some(bytes)).await
    } else {
        exchange::sending(slot);
        exchange.send(None).await
    };
    match (result, slot.take()) {
        (Ok(resp), Some(pending)) => Ok(exchange::respond(
            resp, upstream, pending, &rt.policy, deadline,
        )),
        (Ok(_), None) => Err(GatewayError::Internal(
            "request record taken twice".to_owned(),
        )),
        (Err(err), pending) => {
            *slot = pending;
            Err(exchange::failed(&upstream.name, err))
        }
    }
}
