//! `models[].family` and `models[].normalize`: how a request body is adjusted for the model
//! behind an alias ([`crate::policy::normalize`] applies it).
//!
//! Every switch is optional: absent means the default for the model's family and upstream kind,
//! so a config only names what it wants different.

use serde::{Deserialize, Serialize};

/// What kind of model an alias serves, for the parameter rules it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelFamily {
    /// gpt-5*, o-series, codex: `max_completion_tokens`, no sampling parameters.
    Reasoning,
    /// Everything else: the body goes as the client sent it.
    Chat,
}

/// What happens to Azure's asynchronous-filter annotation events in a chat stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Annotations {
    /// Forwarded as Azure sent them.
    #[default]
    Pass,
    /// Removed: clients that index `choices[0].delta` break on them (WIRE-FACTS A7).
    Drop,
}

/// Per-model switches for each normalization rule (`models[].normalize`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NormalizeConfig {
    /// `false` turns every rule below off: the body goes upstream as the client sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Reasoning family: `max_tokens` becomes `max_completion_tokens` (chat) or
    /// `max_output_tokens` (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<bool>,
    /// Reasoning family: `top_logprobs` sets `logprobs: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implied_logprobs: Option<bool>,
    /// Reasoning family: `reasoning_effort` checked against the values Azure takes, `xhigh`
    /// lowered to `high`, a `reasoning` object moved to where the API reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<bool>,
    /// Reasoning family: sampling and other parameters reasoning models refuse are removed
    /// (and named in `x-aoai-gateway-dropped-params`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_unsupported: Option<bool>,
    /// Parameters `dropUnsupported` leaves in place for this model (e.g. `verbosity`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep_params: Vec<String>,
    /// Web-search tools get an early 400 (Azure cannot run them). Default: on, except for
    /// models served only by `openai`-kind upstreams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_web_search: Option<bool>,
    /// `stream_options` is removed where Azure refuses it (not streaming, or an operation
    /// without streams).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<bool>,
    /// A streaming chat or completions request asks upstream for usage even when the client
    /// did not, and the usage-only chunk is then kept from the client. Default: on, except for
    /// models served only by `inference`-kind upstreams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_usage: Option<bool>,
    /// Asynchronous-filter annotation events in chat streams: `pass` (default) or `drop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
}
