//! Stored responses: every `POST /responses` (plain, streamed or `background: true`) is
//! kept with its input items unless it says `store: false`; then read back, deleted,
//! cancelled (background only) and its input items listed. A background response answers
//! `queued` and reads as `in_progress`, then `completed`, on the following reads.

use std::collections::{HashMap, VecDeque};

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Call;
use super::list::Page;
use crate::config::Behavior;
use crate::handler::{self, EVENT_STREAM};
use crate::probe::Probe;
use crate::record::Tracker;
use crate::responses::{Object, Settings, Status};
use crate::script::Script;
use crate::state::Shared;
use crate::{errors, ids};

/// The oldest responses are forgotten past this many, so a long-running demo mock
/// does not grow without bound.
const CAPACITY: usize = 10_000;

struct Entry {
    object: Object,
    status: Status,
    input: Vec<Value>,
}

/// The kept responses, with their order for eviction.
#[derive(Default)]
pub(crate) struct Kept {
    entries: HashMap<String, Entry>,
    order: VecDeque<String>,
}

impl Kept {
    fn insert(&mut self, entry: Entry) {
        while self.order.len() >= CAPACITY {
            if let Some(oldest) = self.order.pop_front() {
                self.entries.remove(&oldest);
            }
        }
        self.order.push_back(entry.object.id.clone());
        self.entries.insert(entry.object.id.clone(), entry);
    }

    fn remove(&mut self, id: &str) -> bool {
        self.order.retain(|kept| kept != id);
        self.entries.remove(id).is_some()
    }
}

/// The request fields that decide how the response is kept.
#[derive(Deserialize)]
struct CreateRequest {
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    store: Option<bool>,
    #[serde(default)]
    background: Option<bool>,
    #[serde(default)]
    previous_response_id: Option<String>,
}

/// `POST /responses` on the Azure OpenAI faces (the deployment gates have passed);
/// `script` is what the model answers.
pub(crate) fn create(
    shared: &Shared,
    probe: &Probe<'_>,
    script: Script,
    behavior: &Behavior,
    body: &Bytes,
    tracker: Tracker,
) -> Response {
    let request: CreateRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => return errors::unparsable_json(&e),
    };
    let settings = Settings {
        background: request.background == Some(true),
        store: request.store != Some(false),
        previous_response_id: request.previous_response_id,
    };
    if settings.background && !settings.store {
        let message = "Background responses require 'store' to be true.";
        return errors::invalid_field(message, "background");
    }
    let mut kept = shared.store.responses();
    if let Some(previous) = &settings.previous_response_id
        && !kept.entries.contains_key(previous)
    {
        let message = format!("Previous response with id '{previous}' not found.");
        let code = Some("previous_response_not_found");
        return errors::invalid_request(
            StatusCode::BAD_REQUEST,
            &message,
            Some("previous_response_id"),
            code,
        );
    }
    let usage = behavior.usage.unwrap_or_default();
    let object = Object::new(usage, script, settings);
    // A streamed background response is simply streamed to completion.
    let status = if object.settings.background && !probe.streams() {
        Status::Queued
    } else {
        object.finished()
    };
    let answer = if probe.streams() {
        Err(object.events())
    } else {
        Ok(Bytes::from(object.render(status)))
    };
    if object.settings.store {
        let input = stored_items(request.input);
        kept.insert(Entry {
            object,
            status,
            input,
        });
    }
    drop(kept);
    match answer {
        Ok(json) => handler::send_json(StatusCode::OK, json, behavior, tracker),
        Err(events) => handler::send_stream(EVENT_STREAM, events, behavior, tracker),
    }
}

/// The request `input` as stored items, each with an id: a string is one user message;
/// role/content messages get `type: message` and typed content parts; other items are kept
/// as sent.
fn stored_items(input: Option<Value>) -> Vec<Value> {
    let message = |role: &str, content: Value| json!({"type": "message", "role": role, "id": ids::token("msg_", 48), "content": content});
    let text_part = |role: &str, text: &str| {
        let kind = if role == "assistant" {
            "output_text"
        } else {
            "input_text"
        };
        json!([{"type": kind, "text": text}])
    };
    match input {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![message("user", text_part("user", &text))],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(mut fields) => {
                    let role = fields
                        .get("role")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    match (role, fields.remove("content")) {
                        (Some(role), Some(Value::String(text))) => {
                            message(&role, text_part(&role, &text))
                        }
                        (Some(role), Some(content)) => message(&role, content),
                        (_, content) => {
                            if let Some(content) = content {
                                fields.insert("content".to_owned(), content);
                            }
                            with_id(fields)
                        }
                    }
                }
                other => other,
            })
            .collect(),
        Some(other) => vec![other],
    }
}

fn with_id(mut fields: Map<String, Value>) -> Value {
    fields
        .entry("id")
        .or_insert_with(|| json!(ids::token("item_", 48)));
    Value::Object(fields)
}

/// The stored response, one lifecycle step on if it runs in the background.
pub(crate) fn get(call: Call<'_>, id: &str) -> Response {
    let json = {
        let mut kept = call.shared.store.responses();
        kept.entries.get_mut(id).map(|entry| {
            entry.status = match entry.status {
                Status::Queued => Status::InProgress,
                Status::InProgress => entry.object.finished(),
                done => done,
            };
            entry.object.render(entry.status)
        })
    };
    match json {
        Some(json) => handler::send_json(
            StatusCode::OK,
            Bytes::from(json),
            call.behavior,
            call.tracker,
        ),
        None => not_found(id),
    }
}

pub(crate) fn delete(call: Call<'_>, id: &str) -> Response {
    if !call.shared.store.responses().remove(id) {
        return not_found(id);
    }
    call.ok(&json!({"id": id, "object": "response", "deleted": true}))
}

/// Only a background response can be cancelled; cancelling it twice is harmless.
pub(crate) fn cancel(call: Call<'_>, id: &str) -> Response {
    let mut kept = call.shared.store.responses();
    let Some(entry) = kept.entries.get_mut(id) else {
        return not_found(id);
    };
    if !entry.object.settings.background {
        let message = format!(
            "Only background responses can be cancelled; response '{id}' was not created with \
             background=true."
        );
        return errors::invalid_request(StatusCode::BAD_REQUEST, &message, None, None);
    }
    match entry.status {
        Status::Queued | Status::InProgress => entry.status = Status::Cancelled,
        Status::Cancelled => {}
        Status::Completed | Status::Incomplete => {
            let message = format!("Cannot cancel response '{id}': it has already completed.");
            return errors::invalid_request(StatusCode::BAD_REQUEST, &message, None, None);
        }
    }
    let json = entry.object.render(entry.status);
    drop(kept);
    handler::send_json(
        StatusCode::OK,
        Bytes::from(json),
        call.behavior,
        call.tracker,
    )
}

/// Newest first by default, as OpenAI lists them (`order=asc` for request order).
pub(crate) fn input_items(call: Call<'_>, id: &str) -> Response {
    let page = match Page::read(call.query(), 20, 100, true, true) {
        Ok(page) => page,
        Err(refusal) => return *refusal,
    };
    let items = call
        .shared
        .store
        .responses()
        .entries
        .get(id)
        .map(|entry| entry.input.clone());
    match items {
        Some(items) => {
            let list = page.render(items);
            call.ok(&list)
        }
        None => not_found(id),
    }
}

fn not_found(id: &str) -> Response {
    errors::object_not_found("Response", id)
}
