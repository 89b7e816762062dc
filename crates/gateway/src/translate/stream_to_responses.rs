//! An upstream chat completion chunk stream → the Responses events the client asked for.
//!
//! `response.created` and `response.in_progress` go out with the first real chunk (Azure's
//! empty-choices prompt-filter chunk does not count). Text, refusal and tool-call deltas open
//! their output item and content part the first time, then stream as deltas. The finish chunk
//! closes every item in order; reading goes on to `[DONE]` for the usage chunk (and Azure's
//! late asynchronous-filter annotations), and `response.completed` or `response.incomplete`
//! closes the stream with the whole response object. An upstream error event becomes `error`
//! then `response.failed`.

use serde_json::{Value, json};

use super::EventTranslator;
use super::response_object::{
    Head, RequestEcho, Status, call_item, message_item, refusal_part, response_object, text_part,
};
use super::usage::{incomplete_reason, responses_usage};
use super::wire::{Object, is_done, str_at, write_event, write_event_head, write_json};
use crate::stream::events::Event;

/// Translates a chat chunk stream into Responses events; see the module docs.
#[derive(Debug)]
pub struct ChatToResponsesStream {
    echo: RequestEcho,
    /// The next event's `sequence_number`.
    seq: u64,
    /// Set by the first real chunk.
    head: Option<Head>,
    items: Vec<Item>,
    /// The message item's position in `items`, once text or a refusal came.
    message: Option<usize>,
    finish_reason: Option<String>,
    /// An Azure asynchronous-filter annotation said `content_filter`.
    filtered: bool,
    /// The finish chunk came and every item was closed.
    closed: bool,
    usage: Option<Value>,
    ended: bool,
}

#[derive(Debug)]
enum Item {
    Message {
        id: String,
        parts: Vec<Part>,
        status: &'static str,
    },
    Call {
        /// The chat tool call index.
        index: u64,
        id: String,
        call_id: String,
        name: String,
        arguments: String,
        status: &'static str,
    },
}

#[derive(Debug)]
struct Part {
    refusal: bool,
    text: String,
}

impl Item {
    fn to_json(&self) -> Value {
        match self {
            Self::Message { id, parts, status } => {
                let content = parts.iter().map(Part::to_json).collect();
                message_item(id, status, content)
            }
            Self::Call {
                id,
                call_id,
                name,
                arguments,
                status,
                ..
            } => call_item(id, call_id, name, arguments, status),
        }
    }
}

impl Part {
    fn to_json(&self) -> Value {
        if self.refusal {
            refusal_part(&self.text)
        } else {
            text_part(&self.text, Vec::new())
        }
    }
}

impl ChatToResponsesStream {
    /// `request`: what the client's Responses request said ([`super::responses_to_chat_request`]).
    pub fn new(request: RequestEcho) -> Self {
        Self {
            echo: request,
            seq: 0,
            head: None,
            items: Vec::new(),
            message: None,
            finish_reason: None,
            filtered: false,
            closed: false,
            usage: None,
            ended: false,
        }
    }

    fn emit(&mut self, out: &mut Vec<u8>, kind: &str, fields: &Value) {
        write_event(out, kind, self.seq, fields);
        self.seq += 1;
    }

    /// `response.created` and `response.in_progress`, once; `chunk` names the response.
    fn start(&mut self, chunk: Option<&Object>, data: &[u8], out: &mut Vec<u8>) {
        if self.head.is_some() {
            return;
        }
        let head = Head::from_chat(chunk, data);
        let response = response_object(&head, &Status::InProgress, Vec::new(), None, &self.echo);
        self.head = Some(head);
        let fields = json!({"response": response});
        self.emit(out, "response.created", &fields);
        self.emit(out, "response.in_progress", &fields);
    }

    fn chunk(&mut self, chunk: &Object, data: &[u8], out: &mut Vec<u8>) {
        if let Some(error) = chunk.get("error").filter(|e| !e.is_null()) {
            self.fail(error, data, out);
            return;
        }
        let choices: &[Value] = chunk
            .get("choices")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        // Azure's asynchronous-filter annotations: choices without a delta, possibly after the
        // finish chunk. Only a verdict that filtered the content matters.
        if choices.iter().any(|c| c.get("delta").is_none()) {
            let filtered = |c: &Value| str_at(c, "finish_reason") == Some("content_filter");
            self.filtered |= choices.iter().any(filtered);
            return;
        }
        let usage = chunk.get("usage").filter(|u| u.is_object());
        if choices.is_empty() && usage.is_none() {
            return; // Azure's prompt-filter chunk
        }
        self.start(Some(chunk), data, out);
        if let Some(usage) = usage {
            self.usage = Some(usage.clone());
        }
        for choice in choices {
            if choice.get("index").and_then(Value::as_u64).unwrap_or(0) != 0 {
                continue;
            }
            if let (false, Some(delta)) = (self.closed, choice.get("delta")) {
                if let Some(text) = str_at(delta, "content").filter(|t| !t.is_empty()) {
                    self.text(false, text, out);
                }
                if let Some(text) = str_at(delta, "refusal").filter(|t| !t.is_empty()) {
                    self.text(true, text, out);
                }
                let calls = delta.get("tool_calls").and_then(Value::as_array);
                for call in calls.into_iter().flatten() {
                    self.call(call, out);
                }
            }
            if let (false, Some(reason)) = (self.closed, str_at(choice, "finish_reason")) {
                self.finish_reason = Some(reason.to_owned());
                self.close(out);
            }
        }
    }

    /// Text or refusal: opens the message item and the part the first time.
    fn text(&mut self, refusal: bool, text: &str, out: &mut Vec<u8>) {
        let Some(head) = &self.head else { return };
        let output_index = match self.message {
            Some(at) => at,
            None => {
                let at = self.items.len();
                let id = head.ids.message();
                let item = message_item(&id, "in_progress", Vec::new());
                self.items.push(Item::Message {
                    id,
                    parts: Vec::new(),
                    status: "in_progress",
                });
                self.message = Some(at);
                self.emit(
                    out,
                    "response.output_item.added",
                    &json!({"output_index": at, "item": item}),
                );
                at
            }
        };
        let Some(Item::Message { id, parts, .. }) = self.items.get_mut(output_index) else {
            return;
        };
        let content_index = match parts.iter().position(|p| p.refusal == refusal) {
            Some(at) => at,
            None => {
                parts.push(Part {
                    refusal,
                    text: String::new(),
                });
                let at = parts.len() - 1;
                let fields = json!({
                    "item_id": id, "output_index": output_index, "content_index": at,
                    "part": parts[at].to_json(),
                });
                write_event(out, "response.content_part.added", self.seq, &fields);
                self.seq += 1;
                at
            }
        };
        if let Some(part) = parts.get_mut(content_index) {
            part.text.push_str(text);
        }
        let kind = if refusal {
            "response.refusal.delta"
        } else {
            "response.output_text.delta"
        };
        write_event_head(out, kind, self.seq);
        self.seq += 1;
        out.extend_from_slice(b",\"item_id\":");
        write_json(out, id);
        out.extend_from_slice(b",\"output_index\":");
        out.extend_from_slice(output_index.to_string().as_bytes());
        out.extend_from_slice(b",\"content_index\":");
        out.extend_from_slice(content_index.to_string().as_bytes());
        out.extend_from_slice(b",\"delta\":");
        write_json(out, text);
        out.extend_from_slice(if refusal {
            b"}\n\n"
        } else {
            b",\"logprobs\":[]}\n\n"
        });
    }

    /// A tool call delta: opens the function call item the first time its index appears.
    fn call(&mut self, call: &Value, out: &mut Vec<u8>) {
        let Some(head) = &self.head else { return };
        let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let function = call.get("function");
        let name = function.and_then(|f| str_at(f, "name"));
        let found = self
            .items
            .iter()
            .position(|item| matches!(item, Item::Call { index: i, .. } if *i == index));
        let output_index = match found {
            Some(at) => at,
            None => {
                let at = self.items.len();
                let item = Item::Call {
                    index,
                    id: head.ids.call(index),
                    call_id: match str_at(call, "id").filter(|id| !id.is_empty()) {
                        Some(id) => id.to_owned(),
                        None => head.ids.call_id(index),
                    },
                    name: name.unwrap_or_default().to_owned(),
                    arguments: String::new(),
                    status: "in_progress",
                };
                let fields = json!({"output_index": at, "item": item.to_json()});
                self.items.push(item);
                self.emit(out, "response.output_item.added", &fields);
                at
            }
        };
        let Some(Item::Call {
            id,
            name: known,
            arguments,
            ..
        }) = self.items.get_mut(output_index)
        else {
            return;
        };
        if let (true, Some(name)) = (known.is_empty(), name) {
            known.push_str(name);
        }
        let Some(delta) = function.and_then(|f| str_at(f, "arguments")) else {
            return;
        };
        if delta.is_empty() {
            return;
        }
        arguments.push_str(delta);
        write_event_head(out, "response.function_call_arguments.delta", self.seq);
        self.seq += 1;
        out.extend_from_slice(b",\"item_id\":");
        write_json(out, id);
        out.extend_from_slice(b",\"output_index\":");
        out.extend_from_slice(output_index.to_string().as_bytes());
        out.extend_from_slice(b",\"delta\":");
        write_json(out, delta);
        out.extend_from_slice(b"}\n\n");
    }

    /// The finish chunk: every open item's closing events, in output order.
    fn close(&mut self, out: &mut Vec<u8>) {
        if self.closed {
            return;
        }
        self.closed = true;
        let status = match incomplete_reason(self.finish_reason.as_deref()) {
            Some(_) => "incomplete",
            None => "completed",
        };
        let mut seq = self.seq;
        for (output_index, item) in self.items.iter_mut().enumerate() {
            match item {
                Item::Message {
                    id,
                    parts,
                    status: s,
                } => {
                    for (content_index, part) in parts.iter().enumerate() {
                        let (kind, key) = if part.refusal {
                            ("response.refusal.done", "refusal")
                        } else {
                            ("response.output_text.done", "text")
                        };
                        let mut fields = json!({
                            "item_id": id, "output_index": output_index,
                            "content_index": content_index, key: part.text,
                        });
                        if let (false, Value::Object(f)) = (part.refusal, &mut fields) {
                            f.insert("logprobs".into(), json!([]));
                        }
                        write_event(out, kind, seq, &fields);
                        let fields = json!({
                            "item_id": id, "output_index": output_index,
                            "content_index": content_index, "part": part.to_json(),
                        });
                        write_event(out, "response.content_part.done", seq + 1, &fields);
                        seq += 2;
                    }
                    *s = status;
                }
                Item::Call {
                    id,
                    arguments,
                    status: s,
                    ..
                } => {
                    let fields = json!({
                        "item_id": id, "output_index": output_index, "arguments": arguments,
                    });
                    write_event(out, "response.function_call_arguments.done", seq, &fields);
                    seq += 1;
                    *s = status;
                }
            }
            let fields = json!({"output_index": output_index, "item": item.to_json()});
            write_event(out, "response.output_item.done", seq, &fields);
            seq += 1;
        }
        self.seq = seq;
    }

    /// `[DONE]`: the closing `response.completed` or `response.incomplete`.
    fn end(&mut self, out: &mut Vec<u8>) {
        self.start(None, b"", out);
        self.close(out);
        let reason = if self.filtered {
            Some("content_filter")
        } else {
            incomplete_reason(self.finish_reason.as_deref())
        };
        let status = Status::from_incomplete(reason);
        let kind = match status {
            Status::Incomplete(_) => "response.incomplete",
            _ => "response.completed",
        };
        let response = self.response(&status);
        self.emit(out, kind, &json!({"response": response}));
        self.ended = true;
    }

    fn response(&self, status: &Status) -> Value {
        let output = self.items.iter().map(Item::to_json).collect();
        let usage = self.usage.as_ref().and_then(responses_usage);
        match &self.head {
            Some(head) => response_object(head, status, output, usage, &self.echo),
            None => Value::Null,
        }
    }

    /// An upstream error event: `error`, then `response.failed`.
    fn fail(&mut self, error: &Value, data: &[u8], out: &mut Vec<u8>) {
        self.start(None, data, out);
        let message = str_at(error, "message").unwrap_or("The upstream stream failed.");
        let code = match error.get("code") {
            Some(Value::String(code)) => Some(code.clone()),
            Some(Value::Number(code)) => Some(code.to_string()),
            _ => None,
        };
        let param = error.get("param").cloned().unwrap_or(Value::Null);
        let fields = json!({"code": code, "message": message, "param": param});
        self.emit(out, "error", &fields);
        let failure =
            json!({"code": code.as_deref().unwrap_or("server_error"), "message": message});
        let response = self.response(&Status::Failed(failure));
        self.emit(out, "response.failed", &json!({"response": response}));
        self.ended = true;
    }
}

impl EventTranslator for ChatToResponsesStream {
    fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        if self.ended || event.oversized {
            return;
        }
        let Some(data) = event.data.as_deref() else {
            return;
        };
        if is_done(data) {
            self.end(out);
            return;
        }
        if let Ok(Value::Object(chunk)) = serde_json::from_slice::<Value>(data) {
            self.chunk(&chunk, data, out);
        }
    }

    /// An upstream that closed cleanly after its finish chunk but without `[DONE]` still gets
    /// its closing event; one that broke off owes nothing more (the caller reports it).
    fn finish(&mut self, complete: bool, out: &mut Vec<u8>) {
        if complete && self.closed && !self.ended {
            self.end(out);
        }
    }
}
