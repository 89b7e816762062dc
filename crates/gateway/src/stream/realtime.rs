//! The one Realtime API event the gateway reads: `response.done`, which carries a response's
//! token usage and how it ended. Every other event (audio deltas, transcripts) is relayed
//! without being parsed: a byte search rules it out first.

use std::borrow::Cow;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::Usage;
use super::usage::usage_from_slice;

/// How a realtime response ended (`response.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseStatus {
    Completed,
    /// Interrupted by the client (`response.cancel`) or by turn detection.
    Cancelled,
    Failed,
    /// Cut short (token limit, content filter).
    Incomplete,
    /// A status this build does not know, or none.
    Other,
}

/// What a `response.done` event says about its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseDone {
    pub status: ResponseStatus,
    pub usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    response: Option<ResponseObject<'a>>,
}

#[derive(Deserialize)]
struct ResponseObject<'a> {
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
}

/// The `response.done` event in `text`, if it is one.
pub fn response_done(text: &str) -> Option<ResponseDone> {
    // Nearly every event is something else; skip the parse unless the type can match.
    static DONE: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\"response.done\""));
    DONE.find(text.as_bytes())?;
    let event: Event<'_> = serde_json::from_str(text).ok()?;
    if event.kind != "response.done" {
        return None;
    }
    let response = event.response;
    let status = match response.as_ref().and_then(|r| r.status.as_deref()) {
        Some("completed") => ResponseStatus::Completed,
        Some("cancelled") => ResponseStatus::Cancelled,
        Some("failed") => ResponseStatus::Failed,
        Some("incomplete") => ResponseStatus::Incomplete,
        _ => ResponseStatus::Other,
    };
    let usage = response
        .and_then(|r| r.usage)
        .and_then(|u| usage_from_slice(u.get().as_bytes()));
    Some(ResponseDone { status, usage })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_usage_and_status() {
        let event = r#"{"type":"response.done","event_id":"event_1","response":{
            "object":"realtime.response","id":"resp_1","status":"completed",
            "output":[{"type":"message","content":[{"type":"output_text","text":"response.done"}]}],
            "usage":{"total_tokens":30,"input_tokens":20,"output_tokens":10,
                     "input_token_details":{"cached_tokens":4,"text_tokens":20,"audio_tokens":0},
                     "output_token_details":{"text_tokens":10,"audio_tokens":0}}}}"#;
        let done = response_done(event).unwrap();
        assert_eq!(done.status, ResponseStatus::Completed);
        assert_eq!(
            done.usage,
            Some(Usage {
                prompt: 20,
                completion: 10,
                total: 30,
                cached: 4,
                reasoning: 0,
            })
        );
    }

    #[test]
    fn other_events_are_not_read() {
        // Names it as a value, but is another event.
        let item = r#"{"type":"conversation.item.created","item":{"name":"response.done"}}"#;
        assert_eq!(response_done(item), None);
        let delta = r#"{"type":"response.output_text.delta","delta":"\"response.done\""}"#;
        assert_eq!(response_done(delta), None);
        assert_eq!(response_done(r#"{"type":"session.created"}"#), None);
        assert_eq!(response_done("not json \"response.done\""), None);
    }

    #[test]
    fn status_without_usage() {
        let done = response_done(
            r#"{"type":"response.done","response":{"status":"cancelled","usage":null}}"#,
        )
        .unwrap();
        assert_eq!(done.status, ResponseStatus::Cancelled);
        assert_eq!(done.usage, None);
        let bare = response_done(r#"{"type": "response.done"}"#).unwrap();
        assert_eq!(bare.status, ResponseStatus::Other);
    }
}
