//! Responses API bodies: the `response` object and its typed SSE events
//! (`event: <type>` lines, `sequence_number`, no `[DONE]`). The output is what the
//! [`Script`] says: a reasoning item first on reasoning deployments, then a message
//! (text or refusal) or a function call; the output filter ends it `incomplete`.

use bytes::Bytes;

use crate::config::MockUsage;
use crate::fragments::{CHAT_MODEL, json_string, responses_usage};
use crate::ids;
use crate::script::{Answer, Script};

/// Where a response is in its life; only a finished one (completed or incomplete)
/// carries output and usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Queued,
    InProgress,
    Completed,
    /// Stopped by the output filter (`incomplete_details.reason: content_filter`).
    Incomplete,
    Cancelled,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Incomplete => "incomplete",
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
    /// The reasoning item's id, on reasoning deployments.
    reasoning: Option<String>,
    created: u64,
    usage: MockUsage,
    script: Script,
    pub(crate) settings: Settings,
}

impl Object {
    pub(crate) fn new(usage: MockUsage, script: Script, settings: Settings) -> Self {
        Self {
            id: ids::token("resp_", 48),
            message: ids::token("msg_", 48),
            reasoning: script.reasoning.then(|| ids::token("rs_", 48)),
            created: ids::unix_now(),
            usage,
            script,
            settings,
        }
    }

    /// The status the response ends in.
    pub(crate) fn finished(&self) -> Status {
        if self.script.filter_finish {
            Status::Incomplete
        } else {
            Status::Completed
        }
    }

    /// The `response` object in `status`; only a finished one has output and usage.
    pub(crate) fn render(&self, status: Status) -> String {
        match status {
            Status::Completed => {
                self.frame(status, &self.output(), &responses_usage(self.usage), "null")
            }
            Status::Incomplete => {
                let details = r#"{"reason":"content_filter"}"#;
                self.frame(
                    status,
                    &self.output(),
                    &responses_usage(self.usage),
                    details,
                )
            }
            _ => self.frame(status, "[]", "null", "null"),
        }
    }

    /// The finished `output` array.
    fn output(&self) -> String {
        let main = match &self.script.answer {
            Answer::Tool(call) => call.item("completed", &call.arguments),
            answer => {
                let part = part(answer, &answer.pieces().concat());
                self.item(self.item_status(), &format!("[{part}]"))
            }
        };
        match self.reasoning_item() {
            Some(reasoning) => format!("[{reasoning},{main}]"),
            None => format!("[{main}]"),
        }
    }

    /// The object around `output`, `usage` and `incomplete_details`, which are
    /// pre-serialised JSON.
    fn frame(&self, status: Status, output: &str, usage: &str, incomplete: &str) -> String {
        let Self { id, created, .. } = self;
        let status = status.as_str();
        let Settings {
            background,
            store,
            previous_response_id,
        } = &self.settings;
        let previous = previous_response_id
            .as_deref()
            .map_or_else(|| "null".to_owned(), json_string);
        format!(
            r#"{{"id":"{id}","object":"response","created_at":{created},"status":"{status}","background":{background},"content_filters":null,"error":null,"incomplete_details":{incomplete},"instructions":null,"max_output_tokens":null,"metadata":{{}},"model":"{CHAT_MODEL}","output":{output},"parallel_tool_calls":true,"previous_response_id":{previous},"reasoning":{{"effort":null,"summary":null}},"store":{store},"temperature":1.0,"text":{{"format":{{"type":"text"}}}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":{usage},"user":null}}"#
        )
    }

    fn item(&self, status: &str, content: &str) -> String {
        format!(
            r#"{{"id":"{}","type":"message","status":"{status}","role":"assistant","content":{content}}}"#,
            self.message
        )
    }

    /// A finished message item's status.
    fn item_status(&self) -> &'static str {
        if self.script.filter_finish {
            "incomplete"
        } else {
            "completed"
        }
    }

    fn reasoning_item(&self) -> Option<String> {
        let id = self.reasoning.as_deref()?;
        Some(format!(
            r#"{{"id":"{id}","type":"reasoning","summary":[]}}"#
        ))
    }

    /// The streamed lifecycle: created, in_progress, the reasoning item (added, done) on
    /// reasoning deployments, then the message (item and part added, text or refusal
    /// deltas, done events) or the function call (item added, argument deltas, done
    /// events), and `response.completed` (`response.incomplete` when filtered).
    pub(crate) fn events(&self) -> Vec<Bytes> {
        let in_progress = self.render(Status::InProgress);
        let mut seq = Sequencer {
            next: 0,
            events: Vec::with_capacity(2 * crate::config::DEFAULT_CONTENT_EVENTS + 12),
        };
        seq.push("response.created", &format!(r#""response":{in_progress}"#));
        seq.push(
            "response.in_progress",
            &format!(r#""response":{in_progress}"#),
        );
        let mut index = 0;
        if let Some(item) = self.reasoning_item() {
            let fields = format!(r#""output_index":0,"item":{item}"#);
            seq.push("response.output_item.added", &fields);
            seq.push("response.output_item.done", &fields);
            index = 1;
        }
        match &self.script.answer {
            Answer::Tool(call) => {
                seq.push(
                    "response.output_item.added",
                    &format!(
                        r#""output_index":{index},"item":{}"#,
                        call.item("in_progress", "")
                    ),
                );
                let item = format!(r#""item_id":"{}","output_index":{index}"#, call.item_id);
                for piece in call.argument_pieces() {
                    let delta = json_string(piece);
                    seq.push(
                        "response.function_call_arguments.delta",
                        &format!(r#"{item},"delta":{delta}"#),
                    );
                }
                let arguments = json_string(&call.arguments);
                seq.push(
                    "response.function_call_arguments.done",
                    &format!(r#"{item},"arguments":{arguments}"#),
                );
                seq.push(
                    "response.output_item.done",
                    &format!(
                        r#""output_index":{index},"item":{}"#,
                        call.item("completed", &call.arguments)
                    ),
                );
            }
            answer => self.message_events(&mut seq, answer, index),
        }
        let finished = self.finished();
        let kind = match finished {
            Status::Incomplete => "response.incomplete",
            _ => "response.completed",
        };
        seq.push(kind, &format!(r#""response":{}"#, self.render(finished)));
        seq.events
    }

    /// A message item's events at `index`: text deltas, or refusal deltas.
    fn message_events(&self, seq: &mut Sequencer, answer: &Answer, index: usize) {
        let pieces = answer.pieces();
        let full = pieces.concat();
        let item = format!(
            r#""item_id":"{}","output_index":{index},"content_index":0"#,
            self.message
        );
        seq.push(
            "response.output_item.added",
            &format!(
                r#""output_index":{index},"item":{}"#,
                self.item("in_progress", "[]")
            ),
        );
        seq.push(
            "response.content_part.added",
            &format!(r#"{item},"part":{}"#, part(answer, "")),
        );
        let refusal = matches!(answer, Answer::Refusal);
        for piece in pieces {
            if refusal {
                seq.push(
                    "response.refusal.delta",
                    &format!(r#"{item},"delta":"{piece}""#),
                );
            } else {
                seq.push(
                    "response.output_text.delta",
                    &format!(r#"{item},"delta":"{piece}","logprobs":[]"#),
                );
            }
        }
        if refusal {
            seq.push(
                "response.refusal.done",
                &format!(r#"{item},"refusal":"{full}""#),
            );
        } else {
            seq.push(
                "response.output_text.done",
                &format!(r#"{item},"text":"{full}","logprobs":[]"#),
            );
        }
        let part = part(answer, &full);
        seq.push(
            "response.content_part.done",
            &format!(r#"{item},"part":{part}"#),
        );
        let done_item = self.item(self.item_status(), &format!("[{part}]"));
        seq.push(
            "response.output_item.done",
            &format!(r#""output_index":{index},"item":{done_item}"#),
        );
    }
}

/// A message content part carrying `text`: `output_text`, or `refusal` for a refusal.
/// The mock's texts need no JSON escaping.
fn part(answer: &Answer, text: &str) -> String {
    match answer {
        Answer::Refusal => format!(r#"{{"type":"refusal","refusal":"{text}"}}"#),
        _ => format!(r#"{{"type":"output_text","text":"{text}","annotations":[],"logprobs":[]}}"#),
    }
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
    use crate::config::Behavior;
    use crate::fragments::text;
    use serde_json::Value;

    fn script(pieces: usize) -> Script {
        Script::plain(&Behavior {
            content_events: Some(pieces),
            ..Behavior::default()
        })
    }

    fn plain(pieces: usize) -> Object {
        let settings = Settings {
            store: true,
            ..Settings::default()
        };
        Object::new(MockUsage::default(), script(pieces), settings)
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
        let object = Object::new(MockUsage::default(), script(2), settings);
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
