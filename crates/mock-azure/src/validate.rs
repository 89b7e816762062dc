//! The request checks Azure makes before a model runs, with its error bodies, so a
//! gateway that forgets to normalize a request meets the real refusal: operations a
//! model does not serve (`OperationNotSupported`), parameters reasoning models refuse
//! (WIRE-FACTS A8), and OpenAI's cross-parameter rules. Only the first problem is
//! reported, in a fixed order (see [`check`]).

use axum::response::Response;
use http::StatusCode;
use serde_json::value::RawValue;

use crate::errors::{self, json};
use crate::models::Kind;
use crate::probe::{self, Probe};
use crate::route::Op;

/// `reasoning_effort` values Azure documents across its reasoning models (A8); `xhigh`
/// exists only on `gpt-5.1-codex-max`, a Responses-only model.
const EFFORTS: [&str; 5] = ["none", "minimal", "low", "medium", "high"];

/// Tool types chat completions refuse; web search is a Responses tool.
const WEB_SEARCH: [&str; 3] = [
    "web_search",
    "web_search_preview",
    "web_search_preview_2025_03_11",
];

/// The refusal for `probe` on `op` against a deployment of `kind`, if any. Order:
/// operation support; `stream_options` without `stream`; `top_logprobs` without
/// `logprobs`; web-search tools; then, on reasoning deployments, `max_tokens`,
/// `temperature`, `top_p`, `presence_penalty`, `frequency_penalty`, `logit_bias`, `top_k`,
/// `service_tier`, `reasoning_effort` (Responses: `temperature`, `top_p`,
/// `reasoning.effort`).
pub(crate) fn check(op: Op, deployment: &str, kind: Kind, probe: &Probe<'_>) -> Option<Response> {
    match op {
        Op::Chat => chat(deployment, kind, probe),
        Op::Completions => stream_options_need_stream(probe),
        Op::Embeddings | Op::Images => probe.has_stream_options().then(|| {
            let message = "Unknown parameter: 'stream_options'.";
            refuse(message, Some("stream_options"), Some("unknown_parameter"))
        }),
        Op::Responses => responses(deployment, kind, probe),
        _ => None,
    }
}

fn chat(deployment: &str, kind: Kind, probe: &Probe<'_>) -> Option<Response> {
    if kind.responses_only {
        return Some(operation_not_supported("chatCompletion", deployment));
    }
    if let Some(refusal) = stream_options_need_stream(probe) {
        return Some(refusal);
    }
    let logprobs = probe
        .logprobs
        .and_then(|raw| raw.get().parse::<bool>().ok());
    if probe.top_logprobs.is_some() && logprobs != Some(true) {
        let message = "'logprobs' must be set to true if 'top_logprobs' is used.";
        return Some(refuse(message, Some("top_logprobs"), Some("invalid_value")));
    }
    if let Some(kind) = probe.tools.and_then(web_search) {
        let message =
            format!("Invalid value: '{kind}'. web search is not supported in chat completions.");
        return Some(refuse(&message, Some("tools"), Some("invalid_value")));
    }
    if kind.reasoning {
        return reasoning_chat(probe);
    }
    None
}

fn reasoning_chat(probe: &Probe<'_>) -> Option<Response> {
    if probe.max_tokens.is_some() {
        let message = "Unsupported parameter: 'max_tokens' is not supported with this model. \
                       Use 'max_completion_tokens' instead.";
        return Some(unsupported_parameter_with(message, "max_tokens"));
    }
    let defaults = [
        ("temperature", probe.temperature, 1.0),
        ("top_p", probe.top_p, 1.0),
        ("presence_penalty", probe.presence_penalty, 0.0),
        ("frequency_penalty", probe.frequency_penalty, 0.0),
    ];
    for (param, raw, default) in defaults {
        if let Some(raw) = raw.filter(|raw| probe::number(raw) != Some(default)) {
            let message = format!(
                "Unsupported value: '{param}' does not support {} with this model. Only the \
                 default ({default}) value is supported.",
                raw.get()
            );
            return Some(refuse(&message, Some(param), Some("unsupported_value")));
        }
    }
    if probe.logit_bias.is_some() {
        return Some(unsupported_parameter("logit_bias"));
    }
    if probe.top_k.is_some() {
        return Some(refuse(
            "Unrecognized request argument supplied: top_k",
            None,
            None,
        ));
    }
    if probe.service_tier.is_some() {
        return Some(unsupported_parameter("service_tier"));
    }
    probe
        .reasoning_effort
        .and_then(|raw| bad_effort(raw, "reasoning_effort"))
}

fn responses(deployment: &str, kind: Kind, probe: &Probe<'_>) -> Option<Response> {
    if kind.chat_only {
        return Some(operation_not_supported("responses", deployment));
    }
    if !kind.reasoning {
        return None;
    }
    for (param, raw) in [("temperature", probe.temperature), ("top_p", probe.top_p)] {
        if raw.is_some_and(|raw| probe::number(raw) != Some(1.0)) {
            return Some(unsupported_parameter(param));
        }
    }
    #[derive(serde::Deserialize)]
    struct Reasoning<'a> {
        #[serde(borrow, default)]
        effort: Option<&'a RawValue>,
    }
    let reasoning: Reasoning<'_> = serde_json::from_str(probe.reasoning?.get()).ok()?;
    reasoning
        .effort
        .and_then(|raw| bad_effort(raw, "reasoning.effort"))
}

/// `stream_options` is only for streams.
fn stream_options_need_stream(probe: &Probe<'_>) -> Option<Response> {
    (probe.has_stream_options() && !probe.streams()).then(|| {
        let message = "The 'stream_options' parameter is only allowed when 'stream' is enabled.";
        refuse(message, Some("stream_options"), Some("invalid_value"))
    })
}

/// The first web-search tool type in a `tools` array.
fn web_search(tools: &RawValue) -> Option<String> {
    if !tools.get().contains("web_search") {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Tool {
        #[serde(default, rename = "type")]
        kind: Option<String>,
    }
    let tools: Vec<Tool> = serde_json::from_str(tools.get()).ok()?;
    tools
        .into_iter()
        .filter_map(|tool| tool.kind)
        .find(|kind| WEB_SEARCH.contains(&kind.as_str()))
}

/// A `reasoning_effort` outside [`EFFORTS`].
fn bad_effort(raw: &RawValue, param: &str) -> Option<Response> {
    let value = probe::string(raw);
    if value.as_deref().is_some_and(|v| EFFORTS.contains(&v)) {
        return None;
    }
    let shown = value.map_or_else(|| raw.get().to_owned(), |v| v.into_owned());
    let message = format!(
        "Invalid value: '{shown}'. Supported values are: 'none', 'minimal', 'low', 'medium', \
         and 'high'."
    );
    Some(refuse(&message, Some(param), Some("invalid_value")))
}

fn unsupported_parameter(param: &str) -> Response {
    let message = format!("Unsupported parameter: '{param}' is not supported with this model.");
    unsupported_parameter_with(&message, param)
}

fn unsupported_parameter_with(message: &str, param: &str) -> Response {
    refuse(message, Some(param), Some("unsupported_parameter"))
}

/// Azure's OpenAI-shaped 400 (`invalid_request_error`).
fn refuse(message: &str, param: Option<&str>, code: Option<&str>) -> Response {
    errors::invalid_request(StatusCode::BAD_REQUEST, message, param, code)
}

/// The model behind the deployment does not serve this operation (`operation` is
/// Azure's word for it: `chatCompletion`, `responses`).
fn operation_not_supported(operation: &str, deployment: &str) -> Response {
    let message = format!(
        "The {operation} operation does not work with the specified model, {deployment}. Please \
         choose different model and try again. You can learn more about which models can be \
         used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993."
    );
    let body = serde_json::json!({"error": {"code": "OperationNotSupported", "message": message}});
    json(StatusCode::BAD_REQUEST, body.to_string())
}
