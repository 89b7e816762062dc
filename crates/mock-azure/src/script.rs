//! What the mock model answers, decided once per request from the body and the
//! behaviour, so the JSON and streamed renderings of chat, completions and responses
//! say the same thing: text (with a note counting the images it saw), a refusal, or a
//! function call; and how it ends (stopped by the output filter or not).

use std::borrow::Cow;

use memchr::memmem;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::{Behavior, DEFAULT_CONTENT_EVENTS};
use crate::fragments::{REFUSAL_PIECES, piece};
use crate::probe::Probe;
use crate::route::Op;
use crate::tools::{self, ToolCall};

/// The model's answer for one request.
#[derive(Clone, Debug)]
pub(crate) struct Script {
    pub(crate) answer: Answer,
    /// Ends with `finish_reason: content_filter` (Responses: `incomplete`).
    pub(crate) filter_finish: bool,
    /// Chat streams carry asynchronous-filter annotation events.
    pub(crate) async_filter: bool,
    /// A reasoning deployment: Responses output starts with a reasoning item.
    pub(crate) reasoning: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum Answer {
    Text(Text),
    Refusal,
    Tool(ToolCall),
}

/// The text deltas: an optional image note, then `count` of the usual pieces.
#[derive(Clone, Debug, Default)]
pub(crate) struct Text {
    note: Option<String>,
    count: usize,
}

impl Text {
    pub(crate) fn plain(count: usize) -> Self {
        Self { note: None, count }
    }

    /// Number of deltas.
    pub(crate) fn len(&self) -> usize {
        self.count + usize::from(self.note.is_some())
    }

    /// The `i`-th delta.
    pub(crate) fn piece(&self, i: usize) -> &str {
        match (&self.note, i) {
            (Some(note), 0) => note,
            (Some(_), i) => piece(i - 1),
            (None, i) => piece(i),
        }
    }

    /// All deltas joined, as the JSON answer carries them.
    pub(crate) fn full(&self) -> String {
        (0..self.len()).map(|i| self.piece(i)).collect()
    }
}

impl Answer {
    /// The streamed text deltas (content or refusal); none for a tool call.
    pub(crate) fn pieces(&self) -> Vec<&str> {
        match self {
            Self::Text(text) => (0..text.len()).map(|i| text.piece(i)).collect(),
            Self::Refusal => REFUSAL_PIECES.to_vec(),
            Self::Tool(_) => Vec::new(),
        }
    }
}

impl Script {
    /// A plain text answer with the behaviour's length and endings.
    pub(crate) fn plain(behavior: &Behavior) -> Self {
        let count = behavior.content_events.unwrap_or(DEFAULT_CONTENT_EVENTS);
        Self {
            answer: Answer::Text(Text::plain(count)),
            filter_finish: behavior.filter_finish,
            async_filter: behavior.async_filter,
            reasoning: false,
        }
    }

    /// The answer to `probe` on `op`: a refusal if the behaviour says so, else a function
    /// call if the request offers one and does not just carry a tool's result, else text
    /// that first notes the images the request carried.
    pub(crate) fn read(probe: &Probe<'_>, op: Op, behavior: &Behavior, reasoning: bool) -> Self {
        let mut script = Self::plain(behavior);
        script.reasoning = reasoning;
        let conversation = match op {
            Op::Chat => probe.messages,
            Op::Responses => probe.input,
            _ => return script,
        };
        if behavior.refusal {
            script.answer = Answer::Refusal;
        } else if let Some(call) = tools::pick(probe, conversation) {
            script.answer = Answer::Tool(call);
        } else if let Answer::Text(text) = &mut script.answer {
            let kind = if op == Op::Chat {
                "image_url"
            } else {
                "input_image"
            };
            let images = count_images(conversation, kind);
            if images > 0 {
                text.note = Some(format!(" [saw {images} image(s)]"));
            }
        }
        script
    }

    /// The chat `finish_reason`.
    pub(crate) fn finish_reason(&self) -> &'static str {
        match (&self.answer, self.filter_finish) {
            (_, true) => "content_filter",
            (Answer::Tool(_), false) => "tool_calls",
            _ => "stop",
        }
    }
}

/// One conversation item (a chat message or a Responses input item).
#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
}

/// One content part.
#[derive(Deserialize)]
struct Part<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

/// Content parts of type `kind` across the conversation. Most requests have none, so
/// the raw text is searched before anything is parsed.
fn count_images(conversation: Option<&RawValue>, kind: &str) -> usize {
    let Some(raw) = conversation.map(RawValue::get) else {
        return 0;
    };
    if memmem::find(raw.as_bytes(), kind.as_bytes()).is_none() {
        return 0;
    }
    let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw) else {
        return 0;
    };
    items
        .iter()
        .filter_map(|item| serde_json::from_str::<Item<'_>>(item.get()).ok()?.content)
        .filter_map(|content| serde_json::from_str::<Vec<Part<'_>>>(content.get()).ok())
        .flatten()
        .filter(|part| part.kind.as_deref() == Some(kind))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(body: serde_json::Value, op: Op, behavior: &Behavior) -> Script {
        let bytes = body.to_string();
        let probe: Probe<'_> = serde_json::from_str(&bytes).unwrap();
        Script::read(&probe, op, behavior, false)
    }

    #[test]
    fn images_are_noted_first() {
        let image = json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}});
        let body = json!({"messages": [
            {"role": "user", "content": [{"type": "text", "text": "image_url"}, image, image]},
            {"role": "user", "content": "image_url as text"},
        ]});
        let script = read(body, Op::Chat, &Behavior::default());
        let Answer::Text(text) = &script.answer else {
            panic!("{script:?}")
        };
        assert_eq!(text.len(), 6);
        assert_eq!(text.piece(0), " [saw 2 image(s)]");
        assert_eq!(text.piece(1), "Hello");
        let body = json!({"input": [{"role": "user", "content": [{"type": "input_image"}]}]});
        let script = read(body, Op::Responses, &Behavior::default());
        assert!(
            matches!(&script.answer, Answer::Text(t) if t.full().starts_with(" [saw 1 image(s)]Hello"))
        );
        let script = read(
            json!({"input": "input_image"}),
            Op::Responses,
            &Behavior::default(),
        );
        assert!(matches!(&script.answer, Answer::Text(t) if t.len() == 5));
    }

    #[test]
    fn refusal_wins_over_tools_and_completions_stay_text() {
        let behavior = Behavior {
            refusal: true,
            ..Behavior::default()
        };
        let body = json!({"tools": [{"type": "function", "function": {"name": "f"}}],
                          "messages": [{"role": "user", "content": "x"}]});
        let script = read(body.clone(), Op::Chat, &behavior);
        assert!(matches!(script.answer, Answer::Refusal));
        assert_eq!(script.answer.pieces().concat(), crate::fragments::REFUSAL);
        assert!(matches!(
            read(body.clone(), Op::Completions, &behavior).answer,
            Answer::Text(_)
        ));
        let script = read(body, Op::Chat, &Behavior::default());
        assert_eq!(script.finish_reason(), "tool_calls");
    }
}
