//! Responses API bodies: the `response` object and its typed SSE events
//! (`event: <type>` lines, `sequence_number`, no `[DONE]`).

use bytes::Bytes;

use crate::config::MockUsage;
use crate::fragments::{CHAT_MODEL, json_string, piece, responses_usage, text};
use crate::ids;

/// Where a response is in its life; only `Completed` carries output and usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Queued,
    InProgress,
    Completed,
    Cancelled,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What the request asked for that the response object echoes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Settings {
    pub(crate) background: bool,
    /// `store: false` is echoed; the default (absent) is `true`.
    pub(crate) store: bool,
    pub(crate) previous_response_id: Option<String>,
}

/// One response: its identity, settings and content. Every rendering of it (created,
/// streamed, stored and read back later) shows the same ids and text.
#[derive(Clone, Debug)]
pub(crate) struct Object {
    pub(crate) id: String,
    message: String,
    created: u64,
    usage: MockUsage,
    pieces: usize,
    pub(crate) settings: Settings,
}

impl Object {
    pub(crate) fn new(usage: MockUsage, pieces: usize, settings: Settings) -> Self {
        Self {
            id: ids::token("resp_", 48),
            message: ids::token("msg_", 48),
            created: ids::unix_now(),
            usage,
            pieces,
            settings,
        }
    }

    /// The `response` object in `status`; only a completed one has output and usage.
    pub(crate) fn render(&self, status: Status) -> String {
        if status != Status::Completed {
            return self.frame(status.as_str(), "[]", "null");
        }
        let content = format!("[{}]", output_text(&text(self.pieces)));
        let output = format!("[{}]", self.item("completed", &content));
        self.frame("completed", &output, &responses_usage(self.usage))
    }

    /// The object around `output` and `usage`, which are pre-serialised JSON.
    fn frame(&self, status: &str, output: &str, usage: &str) -> String {
        let Self { id, created, .. } = self;
        let Settings {
            background,
            store,
            previous_response_id,
        } = &self.settings;
        let previous = previous_response_id
            .as_deref()
            .map_or_else(|| "null".to_owned(), json_string);
        format!(
            r#"{{"id":"{id}","object":"response","created_at":{created},"status":"{status}","background":{background},"content_filters":null,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"metadata":{{}},"model":"{CHAT_MODEL}","output":{output},"parallel_tool_calls":true,"previous_response_id":{previous},"reasoning":{{"effort":null,"summary":null}},"store":{store},"temperature":1.0,"text":{{"format":{{"type":"text"}}}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":{usage},"user":null}}"#
        )
    }

    fn item(&self, status: &str, content: &str) -> String {
        format!(
            r#"{{"id":"{}","type":"message","status":"{status}","role":"assistant","content":{content}}}"#,
            self.message
        )
    }

    /// The streamed lifecycle: created, in_progress, item and part added, `pieces`
    /// text deltas, text/part/item done, completed (with usage).
    pub(crate) fn events(&self) -> Vec<Bytes> {
        let full = text(self.pieces);
        let item = format!(
            r#""item_id":"{}","output_index":0,"content_index":0"#,
            self.message
        );
        let in_progress = self.render(Status::InProgress);
        let mut seq = Sequencer {
            next: 0,
            events: Vec::with_capacity(self.pieces + 8),
        };
        seq.push("response.created", &format!(r#""response":{in_progress}"#));
        seq.push(
            "response.in_progress",
            &format!(r#""response":{in_progress}"#),
        );
        seq.push(
            "response.output_item.added",
            &format!(
                r#""output_index":0,"item":{}"#,
                self.item("in_progress", "[]")
            ),
        );
        seq.push(
            "response.content_part.added",
            &format!(r#"{item},"part":{}"#, output_text("")),
        );
        for i in 0..self.pieces {
            seq.push(
                "response.output_text.delta",
                &format!(r#"{item},"delta":"{}","logprobs":[]"#, piece(i)),
            );
        }
        seq.push(
            "response.output_text.done",
            &format!(r#"{item},"text":"{full}","logprobs":[]"#),
        );
        let part = output_text(&full);
        seq.push(
            "response.content_part.done",
            &format!(r#"{item},"part":{part}"#),
        );
        let done_item = self.item("completed", &format!("[{part}]"));
        seq.push(
            "response.output_item.done",
            &format!(r#""output_index":0,"item":{done_item}"#),
        );
        let completed = self.render(Status::Completed);
        seq.push("response.completed", &format!(r#""response":{completed}"#));
        seq.events
    }
}

fn output_text(text: &str) -> String {
    format!(r#"{{"type":"output_text","text":"{text}","annotations":[],"logprobs":[]}}"#)
}

/// Numbers events and frames them as `event: <type>\ndata: {…}\n\n`.
struct Sequencer {
    next: u64,
    events: Vec<Bytes>,
}

impl Sequencer {
    /// `fields` is the rest of the JSON object after `type` and `sequence_number`.
    fn push(&mut self, kind: &str, fields: &str) {
        let n = self.next;
        self.next += 1;
        self.events.push(Bytes::from(format!(
            "event: {kind}\ndata: {{\"type\":\"{kind}\",\"sequence_number\":{n},{fields}}}\n\n"
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn plain(pieces: usize) -> Object {
        let settings = Settings {
            store: true,
            ..Settings::default()
        };
        Object::new(MockUsage::default(), pieces, settings)
    }

    #[test]
    fn json_shape() {
        let v: Value = serde_json::from_str(&plain(5).render(Status::Completed)).unwrap();
        assert_eq!(v["object"], "response");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["output"][0]["content"][0]["text"], text(5));
        assert_eq!(v["usage"]["input_tokens"], 11);
        assert_eq!(v["store"], true);
        assert_eq!(v["background"], false);
    }

    #[test]
    fn renders_keep_ids_and_echo_settings() {
        let settings = Settings {
            background: true,
            store: true,
            previous_response_id: Some("resp_\"x".to_owned()),
        };
        let object = Object::new(MockUsage::default(), 2, settings);
        let queued: Value = serde_json::from_str(&object.render(Status::Queued)).unwrap();
        let done: Value = serde_json::from_str(&object.render(Status::Completed)).unwrap();
        assert_eq!(queued["id"], done["id"]);
        assert_eq!(queued["created_at"], done["created_at"]);
        assert_eq!(queued["status"], "queued");
        assert_eq!(queued["output"], serde_json::json!([]));
        assert!(queued["usage"].is_null());
        assert_eq!(done["background"], true);
        assert_eq!(done["previous_response_id"], "resp_\"x");
        assert_eq!(done["output"][0]["content"][0]["text"], text(2));
    }

    #[test]
    fn events_are_typed_and_numbered() {
        let events = plain(3).events();
        assert_eq!(events.len(), 3 + 8);
        for (n, e) in events.iter().enumerate() {
            let s = std::str::from_utf8(e).unwrap();
            let (head, data) = s.split_once('\n').unwrap();
            let kind = head.strip_prefix("event: ").unwrap();
            let v: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(v["type"], kind);
            assert_eq!(v["sequence_number"], n);
        }
    }
}
