//! Edits an SSE body event by event: the usage-only chunk the gateway asked for, Azure's
//! asynchronous-filter annotations, or a whole translation to the client's API.
//!
//! Events are only ever emitted whole, so whatever the edit removes or adds, the client's
//! stream stays well formed, and a broken upstream is reported as one last event at a
//! boundary. Frames that need no edit and end on an event boundary go out as they came (no
//! copy), so the common stream pays a few `memmem` scans per frame.

use std::borrow::Cow;
use std::sync::LazyLock;

use bytes::Bytes;
use memchr::memmem;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::response::BodyEdit;
use crate::body::BoxError;
use crate::stream::events::{Event, EventSplitter};
use crate::translate::EventTranslator;

pub struct SseEdit {
    splitter: EventSplitter,
    /// Bytes the splitter holds: a frame can only bypass it when this is false.
    holding: bool,
    strip_usage: bool,
    drop_annotations: bool,
    translator: Option<Box<dyn EventTranslator>>,
    /// The client reads Responses events (a chat upstream translated for it).
    responses_client: bool,
}

impl SseEdit {
    pub fn filter(strip_usage: bool, drop_annotations: bool) -> Self {
        Self::new(strip_usage, drop_annotations, None, false)
    }

    pub fn translate(translator: Box<dyn EventTranslator>, responses_client: bool) -> Self {
        Self::new(false, false, Some(translator), responses_client)
    }

    fn new(
        strip_usage: bool,
        drop_annotations: bool,
        translator: Option<Box<dyn EventTranslator>>,
        responses_client: bool,
    ) -> Self {
        Self {
            splitter: EventSplitter::new(),
            holding: false,
            strip_usage,
            drop_annotations,
            translator,
            responses_client,
        }
    }

    /// Whether a frame could hold an event this edit removes. Every chunk of a stream that
    /// asked for usage carries `"usage":null`; only the usage chunk has an object there.
    fn may_edit(&self, frame: &[u8]) -> bool {
        (self.strip_usage && has_usage_object(frame))
            || (self.drop_annotations && OFFSETS.find(frame).is_some())
    }

    fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        if let Some(translator) = &mut self.translator {
            if event.oversized {
                tracing::warn!("an SSE event too large to translate was skipped");
                return;
            }
            translator.event(event, out);
            return;
        }
        if let Some(data) = &event.data
            && ((self.strip_usage && is_usage_only(data))
                || (self.drop_annotations && is_annotation(data)))
        {
            return;
        }
        out.extend_from_slice(&event.raw);
    }
}

impl BodyEdit for SseEdit {
    fn frame(&mut self, frame: &Bytes) -> Bytes {
        if self.translator.is_none()
            && !self.holding
            && frame.ends_with(b"\n\n")
            && !self.may_edit(frame)
        {
            return frame.clone();
        }
        self.splitter.push(frame);
        let mut out = Vec::new();
        while let Some(event) = self.splitter.next() {
            self.event(&event, &mut out);
        }
        self.holding = self.splitter.holds_bytes();
        Bytes::from(out)
    }

    fn end(&mut self) -> Result<Bytes, BoxError> {
        let mut out = Vec::new();
        if let Some(event) = self.splitter.finish() {
            self.event(&event, &mut out);
        }
        if let Some(translator) = &mut self.translator {
            translator.finish(true, &mut out);
        }
        Ok(Bytes::from(out))
    }

    fn broken(&mut self, code: &str, message: &str) -> Option<Bytes> {
        // What the splitter still holds is half an event: it never reaches the client.
        let mut out = Vec::new();
        if let Some(translator) = &mut self.translator {
            translator.finish(false, &mut out);
        }
        let event = if self.responses_client {
            let body = serde_json::json!({
                "type": "error", "code": code, "message": message, "param": null,
            });
            format!("event: error\ndata: {body}\n\n")
        } else {
            let body = serde_json::json!({"error": {
                "message": message, "type": "upstream_error", "param": null, "code": code,
            }});
            format!("data: {body}\n\n")
        };
        out.extend_from_slice(event.as_bytes());
        Some(Bytes::from(out))
    }
}

/// `"usage"` followed by `:` and an object, anywhere in `bytes`.
fn has_usage_object(bytes: &[u8]) -> bool {
    static USAGE: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"\"usage\""));
    USAGE.find_iter(bytes).any(|at| {
        let rest = bytes[at + 7..].trim_ascii_start();
        rest.strip_prefix(b":")
            .is_some_and(|value| value.trim_ascii_start().starts_with(b"{"))
    })
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default)]
    object: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    choices: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
}

/// The chunk `stream_options.include_usage` adds: no choices, and the totals.
fn is_usage_only(data: &[u8]) -> bool {
    if !has_usage_object(data) {
        return false;
    }
    match serde_json::from_slice::<Chunk<'_>>(data) {
        Ok(chunk) => {
            chunk.choices.is_some_and(|c| c.is_empty())
                && chunk.usage.is_some_and(|u| u.get() != "null")
        }
        Err(_) => false,
    }
}

/// Built once (per frame, `memmem::find` would build a searcher each time).
static OFFSETS: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"content_filter_offsets"));

/// Azure's asynchronous-filter annotation (WIRE-FACTS A7 item 3): `object` empty, choices
/// carrying `content_filter_offsets` and no `delta`.
fn is_annotation(data: &[u8]) -> bool {
    if OFFSETS.find(data).is_none() {
        return false;
    }
    let Ok(chunk) = serde_json::from_slice::<Chunk<'_>>(data) else {
        return false;
    };
    let choices = chunk.choices.unwrap_or_default();
    chunk.object.as_deref() == Some("")
        && !choices.is_empty()
        && choices.iter().all(|choice| {
            let text = choice.get();
            memmem::find(text.as_bytes(), b"\"content_filter_offsets\"").is_some()
                && memmem::find(text.as_bytes(), b"\"delta\"").is_none()
        })
}

#[cfg(test)]
mod tests;
