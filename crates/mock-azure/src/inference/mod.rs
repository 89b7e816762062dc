//! The Azure AI Model Inference face (WIRE-FACTS A6): the Foundry `/models` endpoint,
//! and the same routes without `/models`, as serverless endpoints serve them at their
//! own host. It answers with the same generators as the Azure OpenAI faces, so every
//! `x-mock-*` behaviour works here too, but behind this API's own gates: a required
//! `api-version` from a short list, the `extra-parameters` header, deployment selection
//! by header, and error bodies shaped differently from Azure OpenAI's.
//!
//! - `select`: which deployment a request is for (done before recording).
//! - `extras`: the `extra-parameters` header and the unknown body keys it governs.
//! - `options`: embeddings option values the API itself rejects with a 422.
//! - `info`: the `GET /info` answer.
//! - `errors`: this face's error bodies.

mod errors;
mod extras;
mod info;
mod options;
mod select;

use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;

use crate::handler::{self, Reply};
use crate::probe::Probe;
use crate::record::Tracker;
use crate::route::{self, Op};
use crate::script::Script;
use crate::state::Shared;

pub(crate) use select::deployment;

/// The GA version and the retiring preview; nothing else is accepted.
const VERSIONS: [&str; 2] = ["2025-04-01", "2024-05-01-preview"];

/// Gates, in order: `api-version`; then `/info` answers at once; otherwise the
/// `extra-parameters` header, JSON, deployment, extra keys, option values, and the
/// behaviour's forced errors. Auth and method were checked by the common pipeline.
pub(crate) async fn answer(
    shared: &Shared,
    parts: &Parts,
    op: Op,
    probe: Result<Probe<'_>, serde_json::Error>,
    deployment: Option<String>,
    body: &Bytes,
    tracker: Tracker,
) -> Response {
    let api_version = match route::query_param(parts.uri.query(), "api-version") {
        None | Some("") => return errors::missing_api_version(),
        Some(v) if VERSIONS.contains(&v) => v,
        Some(_) => return crate::errors::bad_request("API version not supported"),
    };
    if op == Op::Info {
        // Metadata: no body, no extra-parameters, no x-mock-* behaviour.
        return match deployed(shared, deployment) {
            Ok(name) => info::reply(&name),
            Err(refusal) => refusal(),
        };
    }
    let mode = match extras::mode(&parts.headers) {
        Ok(mode) => mode,
        Err(value) => return errors::bad_extra_parameters(&value),
    };
    let probe = match probe {
        Ok(probe) => probe,
        Err(e) => return crate::errors::unparsable_json(&e),
    };
    let deployment = match deployed(shared, deployment) {
        Ok(name) => name,
        Err(refusal) => return refusal(),
    };
    // Only `error` needs the list; `drop` and `pass-through` never look at the extras.
    if mode == extras::Mode::Error {
        match extras::scan(body, extras::known(op)) {
            Ok(found) if found.is_empty() => {}
            Ok(found) => return errors::extra_parameters_not_allowed(&found),
            Err(e) => return crate::errors::unparsable_json(&e),
        }
    }
    if op == Op::Embeddings
        && let Some((param, value)) = options::unsupported(body)
    {
        return errors::parameter_not_supported(param, &value);
    }
    let behavior = match handler::behave(shared, &deployment, &parts.headers).await {
        Ok(behavior) => behavior,
        Err(refusal) => return refusal,
    };
    if let Some(error) = errors::forced(&behavior, op, api_version) {
        return error;
    }
    let reply = Reply {
        op,
        model: Some(&deployment),
        stream: probe.streams(),
        // `stream_options` is not in this API's chat schema: honoured only when
        // passed through to the model, gone when dropped (`error` refused it above).
        include_usage: mode == extras::Mode::PassThrough && probe.include_usage(),
        // This API has no reasoning rules of its own here; only the answer's shape.
        script: Script::read(&probe, op, &behavior, false),
    };
    handler::success(reply, &behavior, body, tracker)
}

/// The selected deployment if it is deployed, else the maker of the refusal:
/// `no_model_name` when nothing selected one, Azure's `DeploymentNotFound` when the
/// configured list lacks it.
fn deployed(shared: &Shared, deployment: Option<String>) -> Result<String, fn() -> Response> {
    match deployment {
        None => Err(errors::no_model_name),
        Some(name) if shared.has_deployment(&name) => Ok(name),
        Some(_) => Err(crate::errors::deployment_not_found),
    }
}
