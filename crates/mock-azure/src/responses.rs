//! Responses API bodies: the `response` object and its typed SSE events
//! (`event: <type>` lines, `sequence_number`, no `[DONE]`).

use bytes::Bytes;

use crate::config::MockUsage;
use crate::fragments::{CHAT_MODEL, piece, responses_usage, text};
use crate::ids;

/// Identity of one response and its single message item.
struct Ids {
    response: String,
    message: String,
    created: u64,
}

impl Ids {
    fn new() -> Self {
        Self {
            response: ids::token("resp_", 48),
            message: ids::token("msg_", 48),
            created: ids::unix_now(),
        }
    }

    /// The `response` object; `output` and `usage` are pre-serialised JSON.
    fn response(&self, status: &str, output: &str, usage: &str) -> String {
        let Self {
            response, created, ..
        } = self;
        format!(
            r#"{{"id":"{response}","object":"response","created_at":{created},"status":"{status}","background":false,"content_filters":null,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"metadata":{{}},"model":"{CHAT_MODEL}","output":{output},"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{{"effort":null,"summary":null}},"store":true,"temperature":1.0,"text":{{"format":{{"type":"text"}}}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":{usage},"user":null}}"#
        )
    }

    fn message(&self, status: &str, content: &str) -> String {
        format!(
            r#"{{"id":"{}","type":"message","status":"{status}","role":"assistant","content":{content}}}"#,
            self.message
        )
    }
}

fn output_text(text: &str) -> String {
    format!(r#"{{"type":"output_text","text":"{text}","annotations":[],"logprobs":[]}}"#)
}

/// A completed, non-streaming response.
pub(crate) fn json(usage: MockUsage, pieces: usize) -> Bytes {
    let ids = Ids::new();
    let content = format!("[{}]", output_text(&text(pieces)));
    let output = format!("[{}]", ids.message("completed", &content));
    Bytes::from(ids.response("completed", &output, &responses_usage(usage)))
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

/// The streamed lifecycle: created, in_progress, item and part added, `pieces`
/// text deltas, text/part/item done, completed (with usage).
pub(crate) fn events(usage: MockUsage, pieces: usize) -> Vec<Bytes> {
    let ids = Ids::new();
    let full = text(pieces);
    let item = format!(
        r#""item_id":"{}","output_index":0,"content_index":0"#,
        ids.message
    );
    let in_progress = ids.response("in_progress", "[]", "null");
    let mut seq = Sequencer {
        next: 0,
        events: Vec::with_capacity(pieces + 8),
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
            ids.message("in_progress", "[]")
        ),
    );
    seq.push(
        "response.content_part.added",
        &format!(r#"{item},"part":{}"#, output_text("")),
    );
    for i in 0..pieces {
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
    let done_item = ids.message("completed", &format!("[{part}]"));
    seq.push(
        "response.output_item.done",
        &format!(r#""output_index":0,"item":{done_item}"#),
    );
    let completed = ids.response(
        "completed",
        &format!("[{done_item}]"),
        &responses_usage(usage),
    );
    seq.push("response.completed", &format!(r#""response":{completed}"#));
    seq.events
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn json_shape() {
        let v: Value = serde_json::from_slice(&json(MockUsage::default(), 5)).unwrap();
        assert_eq!(v["object"], "response");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["output"][0]["content"][0]["text"], text(5));
        assert_eq!(v["usage"]["input_tokens"], 11);
    }

    #[test]
    fn events_are_typed_and_numbered() {
        let events = events(MockUsage::default(), 3);
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
