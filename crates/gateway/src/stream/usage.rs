//! Token usage as reported by the upstream, and the few response fields the scanners act on.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::ScanOutcome;
use super::usage_scan::{self, RawUsage};

/// Token counts of one response, normalized across the chat/completions/embeddings and the
/// Responses API dialects.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
    pub cached: u64,
    pub reasoning: u64,
}

/// From a `usage` object of any dialect: chat/completions/embeddings (`prompt_tokens`,
/// `completion_tokens`, `total_tokens`, `prompt_tokens_details.cached_tokens`,
/// `completion_tokens_details.reasoning_tokens`) or responses (`input_tokens`,
/// `output_tokens`, `total_tokens`, `input_tokens_details.cached_tokens`,
/// `output_tokens_details.reasoning_tokens`); also a top-level `cached_tokens`.
/// `total` defaults to prompt+completion when absent. Nulls are 0. Takes the JSON text of the
/// `usage` value; returns `None` if it is not an object with at least one known numeric count,
/// so an all-null object never overwrites a real usage seen earlier.
pub fn usage_from_slice(bytes: &[u8]) -> Option<Usage> {
    usage_scan::read(bytes)?.normalize()
}

/// The `usage` object that opens at `buf[start]`, read in place: `None` if it is not a
/// well-formed object, `Some(None)` if it holds no known count (as [`usage_from_slice`]).
pub(super) fn usage_at(buf: &[u8], start: usize) -> Option<Option<Usage>> {
    usage_scan::read_at(buf, start).map(|(raw, _)| raw.normalize())
}

impl RawUsage {
    fn normalize(self) -> Option<Usage> {
        let prompt = self.prompt_tokens.or(self.input_tokens);
        let completion = self.completion_tokens.or(self.output_tokens);
        let total = self.total_tokens;
        let cached = self
            .prompt_cached
            .or(self.input_cached)
            .or(self.cached_tokens);
        let reasoning = self.completion_reasoning.or(self.output_reasoning);
        if [prompt, completion, total, cached, reasoning]
            .iter()
            .all(Option::is_none)
        {
            return None;
        }
        let prompt = prompt.unwrap_or(0);
        let completion = completion.unwrap_or(0);
        Some(Usage {
            prompt,
            completion,
            total: total.unwrap_or_else(|| prompt.saturating_add(completion)),
            cached: cached.unwrap_or(0),
            reasoning: reasoning.unwrap_or(0),
        })
    }
}

/// The fields of a response body or SSE data object that matter to the scanners; everything
/// else is skipped by serde without being materialized (a `response.completed` event carries
/// the whole output).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Doc<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Present and non-null means an error object or message.
    error: Option<ErrorField>,
    /// Model Inference's flat error bodies carry `code` at the top.
    code: Option<Code>,
    #[serde(borrow)]
    usage: Option<&'a RawValue>,
    choices: Option<Vec<Choice>>,
    incomplete_details: Option<Incomplete>,
    /// The Responses API wraps the response object in its lifecycle events.
    #[serde(borrow)]
    response: Option<Box<Doc<'a>>>,
}

/// An `error` member: an object (whose `code` matters) or anything else.
#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    Object {
        #[serde(default)]
        code: Option<Code>,
    },
    Other(IgnoredAny),
}

/// A `code` that is a string, or something else (numbers exist in the wild).
#[derive(Deserialize)]
#[serde(untagged)]
enum Code {
    Text(String),
    Other(IgnoredAny),
}

impl Code {
    fn is(&self, text: &str) -> bool {
        matches!(self, Self::Text(t) if t == text)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Choice {
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Incomplete {
    reason: Option<String>,
}

const CONTENT_FILTER: &str = "content_filter";

impl<'a> Doc<'a> {
    /// Parses `bytes` as one JSON value of the shape above; `None` if it is not.
    pub(super) fn parse(bytes: &'a [u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// Folds this document into `out`. Sets `finished` only for terminal Responses and
    /// transcription events; a plain JSON body decides completeness itself.
    pub(super) fn apply(&self, out: &mut ScanOutcome) {
        if self.error.is_some() {
            out.error_event = true;
        }
        match self.kind.as_deref() {
            Some("error") => out.error_event = true,
            // A streamed transcription (gpt-4o-transcribe) ends with its text and usage.
            Some("response.completed" | "response.incomplete" | "transcript.text.done") => {
                out.finished = true;
            }
            Some("response.failed") => {
                out.error_event = true;
                out.finished = true;
            }
            _ => {}
        }
        if let Some(u) = self
            .usage
            .and_then(|raw| usage_from_slice(raw.get().as_bytes()))
        {
            out.usage = Some(u);
        }
        if self.filtered() {
            out.content_filtered = true;
        }
        if let Some(r) = &self.response {
            if let Some(u) = r
                .usage
                .and_then(|raw| usage_from_slice(raw.get().as_bytes()))
            {
                out.usage = Some(u);
            }
            if r.filtered() {
                out.content_filtered = true;
            }
        }
    }

    /// A prompt the filter refused (a 400 with `code: content_filter`), a chat/completions
    /// choice stopped by the filter, or a Responses object left incomplete by it.
    fn filtered(&self) -> bool {
        let refused = match &self.error {
            Some(ErrorField::Object { code: Some(code) }) => code.is(CONTENT_FILTER),
            _ => self.code.as_ref().is_some_and(|c| c.is(CONTENT_FILTER)),
        };
        let by_choice = self
            .choices
            .iter()
            .flatten()
            .any(|c| c.finish_reason.as_deref() == Some(CONTENT_FILTER));
        let by_incomplete = self
            .incomplete_details
            .as_ref()
            .is_some_and(|d| d.reason.as_deref() == Some(CONTENT_FILTER));
        refused || by_choice || by_incomplete
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn usage_from_value(v: &Value) -> Option<Usage> {
        usage_from_slice(v.to_string().as_bytes())
    }

    #[test]
    fn chat_usage_with_details() {
        let v = json!({"completion_tokens": 1843, "prompt_tokens": 20, "total_tokens": 1863,
            "completion_tokens_details": {"audio_tokens": null, "reasoning_tokens": 448},
            "prompt_tokens_details": {"audio_tokens": null, "cached_tokens": 12}});
        let u = usage_from_value(&v);
        assert_eq!(
            u,
            Some(Usage {
                prompt: 20,
                completion: 1843,
                total: 1863,
                cached: 12,
                reasoning: 448
            })
        );
    }

    #[test]
    fn responses_usage_with_details() {
        let v = json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 64},
            "output_tokens": 50, "output_tokens_details": {"reasoning_tokens": 30},
            "total_tokens": 150});
        let u = usage_from_value(&v);
        assert_eq!(
            u,
            Some(Usage {
                prompt: 100,
                completion: 50,
                total: 150,
                cached: 64,
                reasoning: 30
            })
        );
    }

    #[test]
    fn embeddings_and_defaults() {
        let u = usage_from_value(&json!({"prompt_tokens": 15, "total_tokens": 15}));
        assert_eq!(
            u,
            Some(Usage {
                prompt: 15,
                total: 15,
                ..Usage::default()
            })
        );
        let u = usage_from_value(&json!({"prompt_tokens": 3, "completion_tokens": 4.0}));
        assert_eq!(
            u,
            Some(Usage {
                prompt: 3,
                completion: 4,
                total: 7,
                ..Usage::default()
            })
        );
        let u = usage_from_value(&json!({"prompt_tokens": null, "completion_tokens": 2,
            "cached_tokens": 1, "total_tokens": null}));
        assert_eq!(
            u,
            Some(Usage {
                completion: 2,
                total: 2,
                cached: 1,
                ..Usage::default()
            })
        );
        let u = usage_from_value(&json!({"prompt_tokens": -5, "completion_tokens": 2}));
        assert_eq!(
            u,
            Some(Usage {
                completion: 2,
                total: 2,
                ..Usage::default()
            })
        );
    }

    #[test]
    fn not_usage() {
        for v in [
            json!(null),
            json!(42),
            json!("usage"),
            json!([1, 2]),
            json!({}),
            json!({"prompt_tokens": null, "total_tokens": "7"}),
            json!({"unknown": 5}),
        ] {
            assert_eq!(usage_from_value(&v), None, "{v}");
        }
    }
}
