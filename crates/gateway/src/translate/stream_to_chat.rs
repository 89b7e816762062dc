//! An upstream Responses event stream → the chat completion chunks the client asked for.
//!
//! Each upstream event yields its chunks at once (nothing is held back): the role chunk on
//! `response.created`, content, refusal and tool-call argument deltas as they come, then on
//! `response.completed`/`incomplete` the finish chunk, the usage chunk (if asked for) and
//! `[DONE]`. A failure becomes the chat stream's error event, `data: {"error":{…}}`, with no
//! `[DONE]` after it. Reasoning and other events have no chat counterpart and are skipped.

use serde_json::Value;

use super::EventTranslator;
use super::usage::{chat_finish_reason, chat_usage};
use super::wire::{Object, is_done, str_at, uint_at, write_data, write_json};
use crate::stream::events::Event;

/// Translates a Responses stream into chat chunks; see the module docs.
#[derive(Debug)]
pub struct ResponsesToChatStream {
    include_usage: bool,
    /// Every chunk's opening, up to and including `"choices":[`, once the response is known.
    head: Vec<u8>,
    /// The function calls seen, in order: a call's chat tool index is its position here.
    calls: Vec<Call>,
    /// Text and refusal parts, to send a part whose deltas never came from its `done` event.
    parts: Vec<Part>,
    ended: bool,
}

#[derive(Debug)]
struct Call {
    output_index: Option<u64>,
    item_id: Option<String>,
    /// Argument bytes sent so far.
    sent: usize,
}

#[derive(Debug)]
struct Part {
    output_index: u64,
    content_index: u64,
    refusal: bool,
    sent: usize,
}

impl ResponsesToChatStream {
    /// `include_usage`: the client asked for `stream_options.include_usage`: a usage chunk
    /// precedes `[DONE]` and every other chunk says `"usage":null`.
    pub fn new(include_usage: bool) -> Self {
        Self {
            include_usage,
            head: Vec::new(),
            calls: Vec::new(),
            parts: Vec::new(),
            ended: false,
        }
    }

    /// Fixes the chunks' id, created and model (from `response` when there is one) and sends
    /// the role chunk, once.
    fn start(&mut self, response: Option<&Value>, out: &mut Vec<u8>) {
        if !self.head.is_empty() {
            return;
        }
        let field = |key| response.and_then(|r| str_at(r, key)).unwrap_or_default();
        let head = &mut self.head;
        head.extend_from_slice(b"data: {\"id\":");
        write_json(head, field("id"));
        head.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        let created = response.and_then(|r| uint_at(r, "created_at")).unwrap_or(0);
        head.extend_from_slice(created.to_string().as_bytes());
        head.extend_from_slice(b",\"model\":");
        write_json(head, field("model"));
        if let Some(tier) = response.and_then(|r| str_at(r, "service_tier")) {
            head.extend_from_slice(b",\"service_tier\":");
            write_json(head, tier);
        }
        head.extend_from_slice(b",\"system_fingerprint\":null,\"choices\":[");
        self.chunk(
            out,
            br#"{"role":"assistant","content":"","refusal":null}"#,
            None,
        );
    }

    /// One chunk: `delta` (a JSON object) and `finish_reason`.
    fn chunk(&self, out: &mut Vec<u8>, delta: &[u8], finish_reason: Option<&str>) {
        out.extend_from_slice(&self.head);
        out.extend_from_slice(b"{\"index\":0,\"delta\":");
        out.extend_from_slice(delta);
        out.extend_from_slice(b",\"logprobs\":null,\"finish_reason\":");
        match finish_reason {
            Some(reason) => write_json(out, reason),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b"}]");
        if self.include_usage {
            out.extend_from_slice(b",\"usage\":null");
        }
        out.extend_from_slice(b"}\n\n");
    }

    fn text_delta(&mut self, event: &Object, key: &str, refusal: bool, out: &mut Vec<u8>) {
        let Some(delta) = event.get(key).and_then(Value::as_str) else {
            return;
        };
        self.start(None, out);
        let part = self.part(event, refusal);
        let sent = part.sent;
        // `…done` carries the whole text: send only what the deltas did not.
        let rest = if key == "delta" {
            delta
        } else if delta.len() > sent && delta.is_char_boundary(sent) {
            &delta[sent..]
        } else {
            ""
        };
        part.sent = sent.saturating_add(rest.len());
        if rest.is_empty() {
            return;
        }
        let mut json = Vec::with_capacity(rest.len() + 16);
        json.extend_from_slice(if refusal {
            b"{\"refusal\":"
        } else {
            b"{\"content\":"
        });
        write_json(&mut json, rest);
        json.push(b'}');
        self.chunk(out, &json, None);
    }

    fn part(&mut self, event: &Object, refusal: bool) -> &mut Part {
        let output_index = index(event, "output_index").unwrap_or(0);
        let content_index = index(event, "content_index").unwrap_or(0);
        let found = self.parts.iter().position(|p| {
            (p.output_index, p.content_index, p.refusal) == (output_index, content_index, refusal)
        });
        let at = found.unwrap_or_else(|| {
            self.parts.push(Part {
                output_index,
                content_index,
                refusal,
                sent: 0,
            });
            self.parts.len() - 1
        });
        &mut self.parts[at]
    }

    /// A function call item began: the chat tool call's first chunk (id, name).
    fn call_added(&mut self, event: &Object, item: &Value, out: &mut Vec<u8>) {
        self.start(None, out);
        let output_index = index(event, "output_index");
        if output_index.is_some() && self.calls.iter().any(|c| c.output_index == output_index) {
            return;
        }
        let item_id = str_at(item, "id");
        let arguments = str_at(item, "arguments").unwrap_or_default();
        let mut json = Vec::with_capacity(128 + arguments.len());
        json.extend_from_slice(b"{\"tool_calls\":[{\"index\":");
        json.extend_from_slice(self.calls.len().to_string().as_bytes());
        json.extend_from_slice(b",\"id\":");
        write_json(
            &mut json,
            str_at(item, "call_id").or(item_id).unwrap_or_default(),
        );
        json.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
        write_json(&mut json, str_at(item, "name").unwrap_or_default());
        json.extend_from_slice(b",\"arguments\":");
        write_json(&mut json, arguments);
        json.extend_from_slice(b"}}]}");
        self.chunk(out, &json, None);
        self.calls.push(Call {
            output_index,
            item_id: item_id.map(str::to_owned),
            sent: arguments.len(),
        });
    }

    /// Argument text for a call: a delta, or (`whole`) the full arguments of which only the
    /// part the deltas did not bring is sent.
    fn arguments(
        &mut self,
        event: &Object,
        arguments: Option<&str>,
        whole: bool,
        out: &mut Vec<u8>,
    ) {
        let Some(arguments) = arguments else {
            return;
        };
        let output_index = index(event, "output_index");
        let item_id = event.get("item_id").and_then(Value::as_str);
        let found = self.calls.iter().position(|c| {
            (output_index.is_some() && c.output_index == output_index)
                || (item_id.is_some() && c.item_id.as_deref() == item_id)
        });
        let Some(at) = found else {
            return;
        };
        let sent = self.calls[at].sent;
        let rest = if !whole {
            arguments
        } else if arguments.len() > sent && arguments.is_char_boundary(sent) {
            &arguments[sent..]
        } else {
            ""
        };
        self.calls[at].sent = sent.saturating_add(rest.len());
        if rest.is_empty() {
            return;
        }
        let mut json = Vec::with_capacity(rest.len() + 64);
        json.extend_from_slice(b"{\"tool_calls\":[{\"index\":");
        json.extend_from_slice(at.to_string().as_bytes());
        json.extend_from_slice(b",\"function\":{\"arguments\":");
        write_json(&mut json, rest);
        json.extend_from_slice(b"}}]}");
        self.chunk(out, &json, None);
    }

    /// `response.completed`/`incomplete`: the finish chunk, the usage chunk, `[DONE]`.
    fn complete(&mut self, response: Option<&Value>, out: &mut Vec<u8>) {
        self.start(response, out);
        let status = response.and_then(|r| str_at(r, "status"));
        let reason = response
            .and_then(|r| r.get("incomplete_details"))
            .and_then(|d| str_at(d, "reason"));
        let called = !self.calls.is_empty()
            || response
                .and_then(|r| r.get("output"))
                .and_then(Value::as_array)
                .is_some_and(|o| o.iter().any(|i| str_at(i, "type") == Some("function_call")));
        let finish = chat_finish_reason(status, reason, called);
        self.chunk(out, b"{}", Some(finish));
        let usage = response.and_then(|r| r.get("usage")).and_then(chat_usage);
        if let (true, Some(usage)) = (self.include_usage, usage) {
            out.extend_from_slice(&self.head);
            out.extend_from_slice(b"],\"usage\":");
            write_json(out, &usage);
            out.extend_from_slice(b"}\n\n");
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        self.ended = true;
    }

    /// The chat stream's error event; nothing follows it.
    fn fail(&mut self, error: Option<&Object>, out: &mut Vec<u8>) {
        let field = |key: &str| error.and_then(|e| e.get(key)).filter(|v| !v.is_null());
        let message = field("message")
            .and_then(Value::as_str)
            .unwrap_or("The upstream response failed.");
        let kind = field("type")
            .and_then(Value::as_str)
            .filter(|t| *t != "error")
            .unwrap_or("server_error");
        let body = serde_json::json!({"error": {
            "message": message,
            "type": kind,
            "param": field("param").cloned(),
            "code": field("code").cloned(),
        }});
        write_data(out, &body);
        self.ended = true;
    }
}

fn index(event: &Object, key: &str) -> Option<u64> {
    event.get(key).and_then(Value::as_u64)
}

impl EventTranslator for ResponsesToChatStream {
    fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        if self.ended || event.oversized {
            return;
        }
        let Some(data) = event.data.as_deref() else {
            return;
        };
        if is_done(data) {
            return;
        }
        let Ok(Value::Object(ev)) = serde_json::from_slice::<Value>(data) else {
            return;
        };
        let kind = match ev.get("type").and_then(Value::as_str) {
            Some(kind) => kind,
            None => event.name.as_deref().unwrap_or_default(),
        };
        let response = ev.get("response");
        match kind {
            "response.created" | "response.in_progress" | "response.queued" => {
                self.start(response, out);
            }
            "response.output_item.added" | "response.output_item.done" => {
                let Some(item) = ev.get("item") else { return };
                if str_at(item, "type") != Some("function_call") {
                    return;
                }
                if kind.ends_with("added") {
                    self.call_added(&ev, item, out);
                } else {
                    self.arguments(&ev, str_at(item, "arguments"), true, out);
                }
            }
            "response.output_text.delta" => self.text_delta(&ev, "delta", false, out),
            "response.output_text.done" => self.text_delta(&ev, "text", false, out),
            "response.refusal.delta" => self.text_delta(&ev, "delta", true, out),
            "response.refusal.done" => self.text_delta(&ev, "refusal", true, out),
            "response.function_call_arguments.delta" => {
                self.arguments(&ev, str_at_obj(&ev, "delta"), false, out);
            }
            "response.function_call_arguments.done" => {
                self.arguments(&ev, str_at_obj(&ev, "arguments"), true, out);
            }
            "response.completed" | "response.incomplete" => self.complete(response, out),
            "response.failed" => {
                let error = response
                    .and_then(|r| r.get("error"))
                    .and_then(Value::as_object);
                self.fail(error, out);
            }
            // OpenAI's error event is flat (`{type, code, message, param}`); some servers nest
            // it under `error`, and a chat-style `{"error":{…}}` has no type at all.
            "error" => {
                let nested = ev.get("error").and_then(Value::as_object);
                self.fail(nested.or(Some(&ev)), out);
            }
            _ => {
                if let Some(error) = ev.get("error").and_then(Value::as_object) {
                    self.fail(Some(error), out);
                }
            }
        }
    }

    /// Nothing is owed: a stream that ended without `response.completed` is broken, and the
    /// caller reports it.
    fn finish(&mut self, _complete: bool, _out: &mut Vec<u8>) {}
}

fn str_at_obj<'a>(map: &'a Object, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}
