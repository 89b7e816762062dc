//! The forwarding pipeline, shared by every inbound dialect:
//! client key → body (limited; multipart uploads spooled, [`multipart`]) → `Call` → route →
//! upstream → streamed response.
//! A model with one deployment goes straight to [`send`]; a pool goes through [`failover`].

use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use tokio::time::Instant;

use crate::body::{BodyTimeout, ObservedBody};
use crate::call::{self, BodyModel, Call, ClientApiVersion, ModelField, Operation};
use crate::error::{GatewayError, Phase};
use crate::inbound::shapes::{self, Dialect};
use crate::multipart::{self, Form};
use crate::policy::{extra_params, images, normalize};
use crate::resources::capture;
use crate::resources::owners::{self, Owner, ResponseOwners};
use crate::rewrite::{self, EditPlan};
use crate::route::{Route, Target};
use crate::state::{AppState, Runtime};
use crate::telemetry::Pending;
use crate::telemetry::pending;
use crate::trace;
use crate::upstream::failover::{self, PoolRequest};
use crate::upstream::headers;
use crate::upstream::send::{self, Outbound};

/// The client's `Content-Length`, when it sent a valid one: a larger one than allowed is
/// refused before any of the body is read.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Reads the request body up to the configured limit.
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: u64,
) -> Result<Bytes, GatewayError> {
    if declared_length(headers).is_some_and(|len| len > limit) {
        return Err(GatewayError::PayloadTooLarge { limit });
    }
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    match Limited::new(body, limit_usize).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(GatewayError::PayloadTooLarge { limit }),
        Err(e) => Err(GatewayError::InvalidRequest {
            message: format!("Could not read the request body: {e}"),
            param: None,
            code: "body_read_error",
        }),
    }
}

/// Logs a request that got no upstream answer (its record is completed by the caller).
fn failed(call: &Call, upstream: &str, err: GatewayError) -> GatewayError {
    match err {
        // Expected under load and visible in /admin/api/deployments: not one warning each.
        GatewayError::PoolThrottled { .. } | GatewayError::PoolUnavailable { .. } => {
            tracing::debug!(model = %call.model, error = %err, "pool exhausted");
        }
        _ => tracing::warn!(model = %call.model, upstream, error = %err, "upstream call failed"),
    }
    err
}

/// A multipart upload's `model` field; an empty one is refused like an empty JSON `model`
/// (the seed gyarbij proxy sent such calls to an empty deployment name).
fn form_model(form: &Form) -> Result<ModelField, GatewayError> {
    match form.model() {
        Some((model, _)) if model.trim().is_empty() => Err(GatewayError::InvalidRequest {
            message: "'model' must not be empty".to_owned(),
            param: Some("model"),
            code: "invalid_value",
        }),
        model => Ok(model),
    }
}

/// What an inbound dialect learned from the URL and headers, before the body is read.
#[derive(Debug)]
pub struct Inbound {
    pub op: Operation,
    pub dialect: Dialect,
    /// The alias named by the path (Azure's deployment routes) or a header (Model Inference's
    /// `azureml-model-deployment`); it wins over the body's `model`.
    pub alias: Option<String>,
    pub api_version: Option<ClientApiVersion>,
    /// A problem the dialect found in the URL or headers (a missing `api-version`, …), answered
    /// once the client has proven its key, so unauthenticated callers learn nothing.
    pub rejected: Option<GatewayError>,
}

impl Inbound {
    /// An OpenAI-dialect request: everything comes from the body.
    pub fn openai(op: Operation) -> Self {
        Self {
            op,
            dialect: Dialect::OpenAi,
            alias: None,
            api_version: None,
            rejected: None,
        }
    }
}

/// Forwards one OpenAI-dialect JSON operation.
pub async fn forward(app: Arc<AppState>, op: Operation, req: Request<Body>) -> Response {
    forward_from(app, Inbound::openai(op), req).await
}

/// Forwards one JSON operation from any dialect; every failure becomes an error response in
/// that dialect's shape.
pub async fn forward_from(app: Arc<AppState>, inbound: Inbound, req: Request<Body>) -> Response {
    let runtime = app.runtime.load_full();
    let dialect = inbound.dialect;
    let mut pending = Pending::of_request(&app.telemetry, &req, inbound.op.route_key());
    let result = forward_inner(&runtime, &app.responses, inbound, req, &mut pending).await;
    pending::settle(pending, &result);
    match result {
        Ok(response) => response,
        Err(err) => shapes::in_dialect(dialect, err).into_response(),
    }
}

/// The request's record, while it is still the pipeline's to fill in.
fn record(pending: &mut Option<Pending>) -> Option<&mut Pending> {
    pending.as_mut()
}

/// The alias a request is routed by, and where the body's `model` stands relative to it.
fn alias_for(
    rt: &Runtime,
    inbound: &mut Inbound,
    body_model: ModelField,
) -> Result<(String, BodyModel), GatewayError> {
    match (inbound.alias.take(), body_model) {
        (Some(alias), Some((model, span))) if model == alias => Ok((alias, BodyModel::Alias(span))),
        (Some(alias), Some((_, span))) => Ok((alias, BodyModel::Other(span))),
        (Some(alias), None) => Ok((alias, BodyModel::Absent)),
        (None, Some((model, span))) => Ok((model, BodyModel::Alias(span))),
        (None, None) => match (inbound.dialect, rt.models.models()) {
            // Model Inference: `model` "is ignored if the endpoint serves only one model".
            (Dialect::Inference, [only]) => Ok((only.id.clone(), BodyModel::Absent)),
            (Dialect::Inference, _) => Err(shapes::inference_model_required()),
            _ => Err(GatewayError::InvalidRequest {
                message: "you must provide a model parameter".to_owned(),
                param: Some("model"),
                code: "missing_required_parameter",
            }),
        },
    }
}

async fn forward_inner(
    rt: &Runtime,
    owners: &Arc<ResponseOwners>,
    mut inbound: Inbound,
    req: Request<Body>,
    pending: &mut Option<Pending>,
) -> Result<Response, GatewayError> {
    let (parts, body) = req.into_parts();
    let client = rt.keys.authenticate(&parts.headers)?;
    if let Some(p) = record(pending) {
        p.client(&client);
    }
    if let Some(err) = inbound.rejected.take() {
        return Err(err);
    }
    let op = inbound.op;
    let (mut bytes, form, model_field, stream, previous) = if op.is_multipart() {
        let form = multipart::read(body, &parts.headers, rt.max_upload).await?;
        let model = form_model(&form)?;
        let stream = form.streams();
        (Bytes::new(), Some(form), model, stream, None)
    } else {
        let mut bytes = read_body(body, &parts.headers, rt.body_limit).await?;
        if let Dialect::Inference = inbound.dialect {
            bytes = extra_params::apply(op, &parts.headers, bytes)?;
        }
        if let Some(images) = &rt.images {
            bytes = images::compress(bytes, images).await?;
        }
        let (model_field, stream, previous) = call::peek_with_previous(&bytes)?;
        (bytes, None, model_field, stream, previous)
    };
    let (model, mut body_model) = alias_for(rt, &mut inbound, model_field)?;
    if let Some(p) = record(pending) {
        p.body_read();
    }
    let (route, plan) = rt.models.resolve_with_plan(op, &model)?;
    if let Some(p) = record(pending) {
        p.model(&model, Arc::clone(route.stats()));
    }
    let (mut upstream_op, mut dropped, mut edit) = (op, Vec::new(), EditPlan::default());
    if form.is_none() {
        let prepared = rewrite::prepare(op, &bytes, stream, &plan, inbound.dialect)?;
        if let Some(body) = prepared.body {
            bytes = body;
            body_model = remodel(body_model, call::peek_with_previous(&bytes)?.0);
        }
        (upstream_op, dropped, edit) = (prepared.op, prepared.dropped, prepared.edit);
    }
    if let Some(p) = record(pending) {
        p.operation(upstream_op.route_key());
    }
    let call = Call {
        op: upstream_op,
        model,
        stream,
        body: bytes,
        body_model,
        client,
        // A version chosen for the client's API says nothing about the one it is translated to.
        api_version: inbound.api_version.filter(|_| upstream_op == op),
        form,
    };
    let request_id = trace::request_id_of(&parts.extensions, &parts.headers);
    let deadline = Instant::now() + rt.policy.total;
    if let Some(p) = record(pending) {
        p.sending();
    }
    let (upstream, answered_by, deployment, lease, owner) = match route {
        Route::One(target) => {
            let outbound = Outbound {
                call: &call,
                target: &target,
                client_headers: &parts.headers,
                request_id: &request_id,
                policy: &rt.policy,
                deadline,
            };
            match send::send(&outbound).await {
                Ok(r) => {
                    let owner = creates_response(&call, &target);
                    (r, target.upstream, Some(target.deployment), None, owner)
                }
                Err(err) => {
                    if let Some(p) = record(pending) {
                        p.target(&target.upstream.name, &target.deployment);
                    }
                    return Err(failed(&call, &target.upstream.name, err));
                }
            }
        }
        Route::Pool { pool, op, .. } => {
            let pooled = PoolRequest {
                call: &call,
                client_headers: &parts.headers,
                request_id: &request_id,
                policy: &rt.policy,
                deadline,
                pool,
                op,
                prefer: match call.op {
                    Operation::Responses => {
                        owners::preferred_for(owners, pool, op, previous.as_deref())
                    }
                    _ => None,
                },
            };
            match failover::send(&pooled).await {
                Ok(d) => {
                    let owner = creates_response(&call, d.target);
                    (
                        d.response,
                        Arc::clone(&d.target.upstream),
                        Some(Arc::clone(&d.target.deployment)),
                        Some(d.lease),
                        owner,
                    )
                }
                Err(err) => return Err(failed(&call, "pool", err)),
            }
        }
    };
    let (mut head, incoming) = upstream.into_parts();
    let Some(mut pending) = pending.take() else {
        return Err(GatewayError::Internal(
            "request record taken twice".to_owned(),
        ));
    };
    pending.answered(Some(&answered_by.name), deployment.as_ref(), &head.headers);
    headers::clean_response(&mut head.headers);
    if let Some(value) = dropped_header(&dropped) {
        head.headers.insert(normalize::DROPPED_HEADER, value);
    }
    let content_type = head.headers.get(header::CONTENT_TYPE).cloned();
    let content_type = content_type.as_ref().and_then(|v| v.to_str().ok());
    let edit = edit.into_edit(head.status, content_type);
    let whole = edit.as_ref().is_some_and(|e| e.whole());
    if edit.is_some() {
        head.headers.remove(header::CONTENT_LENGTH);
    }
    pending.responded(head.status.as_u16());
    let observed = ObservedBody::new(
        incoming,
        content_type,
        pending,
        head.status.is_client_error() || head.status.is_server_error(),
        rt.policy.idle,
        deadline,
        lease,
    )
    .with_edit(edit);
    if !whole {
        let body = capture::body(observed, head.status, owner, owners);
        return Ok(Response::from_parts(head, body).into_response());
    }
    // A whole-body edit (a translated answer, a reshaped error) is only known to succeed at its
    // end: collected before the headers go out, a failure is a 502, not a 200 cut short.
    let bytes = match observed.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => return Err(body_failure(err, &answered_by.name, &rt.policy)),
    };
    head.headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let body = capture::body(Full::new(bytes), head.status, owner, owners);
    Ok(Response::from_parts(head, body).into_response())
}

/// Why a collected answer could not be completed, as the client is told.
fn body_failure(
    err: crate::body::BoxError,
    upstream: &str,
    policy: &crate::state::UpstreamPolicy,
) -> GatewayError {
    let err = match err.downcast::<GatewayError>() {
        Ok(err) => return *err,
        Err(err) => err,
    };
    let upstream = upstream.to_owned();
    match err.downcast_ref::<BodyTimeout>() {
        Some(timeout) => GatewayError::UpstreamTimeout {
            upstream,
            phase: Phase::Total,
            ms: match timeout {
                BodyTimeout::Idle(idle) => u64::try_from(idle.as_millis()).unwrap_or(u64::MAX),
                BodyTimeout::Total => u64::try_from(policy.total.as_millis()).unwrap_or(u64::MAX),
            },
        },
        None => GatewayError::UpstreamUnreachable {
            upstream,
            detail: format!("the answer broke off: {err}"),
        },
    }
}

/// Where the body's `model` stands after the gateway rewrote the body (its value is kept,
/// only its place may have moved).
fn remodel(before: BodyModel, now: ModelField) -> BodyModel {
    match (before, now) {
        (_, None) => BodyModel::Absent,
        (BodyModel::Alias(_), Some((_, span))) => BodyModel::Alias(span),
        (_, Some((_, span))) => BodyModel::Other(span),
    }
}

/// `x-aoai-gateway-dropped-params`: the parameters removed from the request, if any.
fn dropped_header(dropped: &[&str]) -> Option<HeaderValue> {
    if dropped.is_empty() {
        return None;
    }
    HeaderValue::from_str(&dropped.join(", ")).ok()
}

/// For a `POST /responses`, where the response it creates will be stored, so later calls about
/// it can find it ([`crate::resources::objects`]).
fn creates_response(call: &Call, target: &Target) -> Option<Owner> {
    (call.op == Operation::Responses).then(|| Owner {
        upstream: Arc::clone(&target.upstream.name),
        deployment: Some(Arc::clone(&target.deployment)),
    })
}
