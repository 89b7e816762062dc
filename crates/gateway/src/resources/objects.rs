//! Stored responses (Responses API): `GET` and `DELETE /responses/{id}`,
//! `POST /responses/{id}/cancel` and `GET /responses/{id}/input_items`, on every face.
//!
//! A response lives on the resource that created it, so each call goes to the upstream that
//! answered its `POST /responses` ([`super::capture`] remembered it). An id the gateway does
//! not know (it restarted, or the entry was evicted) is looked for: the upstreams whose kind
//! has the Responses API (`azure`, `azure-v1`, `openai`) are asked in config order, and the
//! first answer that is not a 404 goes to the client (and the owner is remembered); when all
//! say 404, the last 404 does. A successful `DELETE` forgets the id.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use tokio::time::Instant;

use super::exchange::{self, Exchange};
use super::owners::Owner;
use super::path::{self, Face, Family, Versions};
use super::routes::client_version;
use crate::config::UpstreamKind;
use crate::error::GatewayError;
use crate::inbound::shapes;
use crate::proxy;
use crate::state::{AppState, Runtime};
use crate::telemetry::{Pending, pending};
use crate::trace;
use crate::upstream::Upstream;

pub fn router() -> Router<Arc<AppState>> {
    let patterns = [
        ("responses/{id}", MethodFilter::GET.or(MethodFilter::DELETE)),
        ("responses/{id}/cancel", MethodFilter::POST),
        ("responses/{id}/input_items", MethodFilter::GET),
    ];
    let mut router = Router::new();
    for face in Face::ALL {
        for (pattern, methods) in patterns {
            router = router.route(
                &format!("{}{pattern}", face.prefix()),
                on(
                    methods,
                    move |State(app): State<Arc<AppState>>, req: Request<Body>| {
                        handle(app, face, req)
                    },
                ),
            );
        }
    }
    router
}

async fn handle(app: Arc<AppState>, face: Face, req: Request<Body>) -> Response {
    let rt = app.runtime.load_full();
    let mut pending = Pending::of_request(&app.telemetry, &req, Family::Responses.route_key());
    let result = forward(&app, &rt, face, req, &mut pending).await;
    pending::settle(pending, &result);
    match result {
        Ok(response) => response,
        Err(err) => shapes::in_dialect(face.dialect(), err).into_response(),
    }
}

/// Whether an upstream of this kind stores responses.
fn has_responses(kind: UpstreamKind) -> bool {
    kind != UpstreamKind::Inference
}

/// Where to look for response `id`: its owner when known (and still configured), else every
/// upstream with the Responses API, in config order.
fn candidates<'r>(rt: &'r Runtime, owner: Option<&Owner>) -> Vec<&'r Arc<Upstream>> {
    let known = owner.and_then(|o| {
        rt.upstreams
            .iter()
            .find(|u| *u.name == *o.upstream && has_responses(u.kind))
    });
    match known {
        Some(u) => vec![u],
        None => rt
            .upstreams
            .iter()
            .filter(|u| has_responses(u.kind))
            .collect(),
    }
}

async fn forward(
    app: &AppState,
    rt: &Runtime,
    face: Face,
    req: Request<Body>,
    slot: &mut Option<Pending>,
) -> Result<Response, GatewayError> {
    let (parts, body) = req.into_parts();
    let client = rt.keys.authenticate(&parts.headers)?;
    if let Some(p) = slot.as_mut() {
        p.client(&client);
    }
    let version = client_version(face, parts.uri.query())?;
    let segments = path::segments(parts.uri.path(), face, Family::Responses)?;
    // The routes guarantee an id segment; a response id is the first one.
    let id = segments
        .first()
        .cloned()
        .ok_or_else(|| GatewayError::Internal("response route without an id".to_owned()))?;
    let bytes = match parts.method {
        Method::POST => Some(proxy::read_body(body, &parts.headers, rt.body_limit).await?),
        _ => None,
    };
    let known = app.responses.get(&id);
    let candidates = candidates(rt, known.as_ref());
    let probing = known.is_none() || candidates.len() > 1;
    let request_id = trace::request_id_of(&parts.extensions, &parts.headers);
    let deadline = Instant::now() + rt.policy.total;
    if let Some(p) = slot.as_mut() {
        // Counted against the family from here on: the request passed every check.
        let bucket = Family::Responses.stats_bucket();
        p.model(bucket, app.stats().model(bucket));
    }
    exchange::sending(slot);
    // The last 404 (or failure) while probing, for when no upstream has the id.
    let mut last: Option<Result<http::Response<Incoming>, GatewayError>> = None;
    let mut answering: Option<&Upstream> = None;
    for (i, upstream) in candidates.iter().enumerate() {
        let versions = Versions {
            upstream: &upstream.api_version,
            client: version.as_deref(),
        };
        let Some(upstream_path) = path::upstream_path(
            upstream.kind,
            versions,
            Family::Responses,
            &segments,
            parts.uri.query(),
        ) else {
            continue;
        };
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
        let result = exchange.send(bytes.clone()).await;
        let is_last = i + 1 == candidates.len();
        let not_here = match &result {
            Ok(resp) => resp.status() == StatusCode::NOT_FOUND,
            Err(_) => true,
        };
        if probing && not_here && !is_last {
            tracing::debug!(upstream = %upstream.name, response = %id, "response not there");
            last = Some(result);
            answering = Some(upstream);
            continue;
        }
        if let Ok(resp) = &result {
            remember(
                app,
                &id,
                &parts.method,
                resp.status(),
                upstream,
                known.as_ref(),
            );
        }
        last = Some(result);
        answering = Some(upstream);
        break;
    }
    let upstream_name = candidates.last().map_or("", |u| &*u.name);
    match (last, slot.take()) {
        (Some(Ok(resp)), Some(pending)) => match answering {
            Some(upstream) => Ok(exchange::respond(
                resp, upstream, pending, &rt.policy, deadline,
            )),
            None => {
                *slot = Some(pending);
                Err(GatewayError::Internal(
                    "an answer without its upstream".to_owned(),
                ))
            }
        },
        (Some(Ok(_)), None) => Err(GatewayError::Internal(
            "request record taken twice".to_owned(),
        )),
        (Some(Err(err)), pending) => {
            *slot = pending;
            Err(exchange::failed(upstream_name, err))
        }
        (None, pending) => {
            *slot = pending;
            Err(exchange::failed(
                upstream_name,
                GatewayError::NotSupported(
                    "No upstream of this gateway has the Responses API (kinds azure, azure-v1, \
                     openai)."
                        .to_owned(),
                ),
            ))
        }
    }
}

/// Keeps the owner map in step with what the upstream said.
fn remember(
    app: &AppState,
    id: &str,
    method: &Method,
    status: StatusCode,
    upstream: &Upstream,
    known: Option<&Owner>,
) {
    if !status.is_success() {
        return;
    }
    if *method == Method::DELETE {
        app.responses.remove(id);
    } else if known.is_none_or(|o| *o.upstream != *upstream.name) {
        app.responses.insert(
            id,
            Owner {
                upstream: Arc::clone(&upstream.name),
                deployment: None,
            },
        );
    }
}
