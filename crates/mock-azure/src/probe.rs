//! The body fields the pipeline reads, parsed once per request. Everything beyond
//! `model`, `stream` and `stream_options` is kept as borrowed raw JSON: skipping a
//! field and borrowing it cost the same, and only the rare request that needs a field
//! (a reasoning deployment, a `tools` array, an image part) looks inside it. A `null`
//! field counts as absent.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
pub(crate) struct Probe<'a> {
    #[serde(borrow, default)]
    pub(crate) model: Option<Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    /// Sampling and limit parameters reasoning deployments refuse (WIRE-FACTS A8).
    #[serde(borrow, default)]
    pub(crate) max_tokens: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) temperature: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) top_p: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) presence_penalty: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) frequency_penalty: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) logit_bias: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) top_k: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) service_tier: Option<&'a RawValue>,
    /// Chat's `reasoning_effort`.
    #[serde(borrow, default)]
    pub(crate) reasoning_effort: Option<&'a RawValue>,
    /// Responses' `reasoning` object (`effort`, `summary`).
    #[serde(borrow, default)]
    pub(crate) reasoning: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) logprobs: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) top_logprobs: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) tools: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) tool_choice: Option<&'a RawValue>,
    /// Chat's conversation.
    #[serde(borrow, default)]
    pub(crate) messages: Option<&'a RawValue>,
    /// Responses' conversation (a string or a list of items).
    #[serde(borrow, default)]
    pub(crate) input: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

impl Probe<'_> {
    /// `stream: true`.
    pub(crate) fn streams(&self) -> bool {
        self.stream == Some(true)
    }

    /// `stream_options.include_usage: true`.
    pub(crate) fn include_usage(&self) -> bool {
        self.stream_options.as_ref().and_then(|o| o.include_usage) == Some(true)
    }

    /// Whether `stream_options` was sent (as an object).
    pub(crate) fn has_stream_options(&self) -> bool {
        self.stream_options.is_some()
    }
}

/// A raw JSON number as `f64`; `None` for anything else.
pub(crate) fn number(raw: &RawValue) -> Option<f64> {
    serde_json::from_str(raw.get()).ok()
}

/// A raw JSON string's contents; `None` for anything else.
pub(crate) fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str(raw.get()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_fields_and_treats_null_as_absent() {
        let body = br#"{"model":"m","temperature":0.5,"top_p":null,"tools":[{"type":"function"}],
            "messages":[{"role":"user","content":"x"}],"stream_options":{}}"#;
        let p: Probe<'_> = serde_json::from_slice(body).unwrap();
        assert_eq!(p.model.as_deref(), Some("m"));
        assert_eq!(p.temperature.map(number), Some(Some(0.5)));
        assert!(p.top_p.is_none());
        assert_eq!(p.tools.unwrap().get(), r#"[{"type":"function"}]"#);
        assert!(p.has_stream_options() && !p.include_usage() && !p.streams());
        let effort = RawValue::from_string(r#""high""#.to_owned()).unwrap();
        assert_eq!(string(&effort).as_deref(), Some("high"));
        assert_eq!(number(&effort), None);
    }
}
