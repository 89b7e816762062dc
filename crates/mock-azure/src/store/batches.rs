//! Batches: create from an uploaded JSONL file, read back (one lifecycle step per read:
//! validating → in_progress → finalizing → completed, or failed when the file is bad),
//! list, cancel (cancelling, then cancelled on the next read). Completion answers every
//! line with the mock's own generators and stores the output and error files.

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::list::Page;
use super::{Call, Objects};
use crate::config::{Behavior, MockUsage};
use crate::fragments::{CHAT_MODEL, EMBEDDINGS_MODEL};
use crate::responses::{Object, Settings, Status as ResponseStatus};
use crate::script::Script;
use crate::state::Shared;
use crate::{chat, completions, embeddings, errors, ids};

/// Operations a batch may run, as `endpoint` names them (with or without `/v1`).
const ENDPOINTS: [&str; 4] = [
    "/chat/completions",
    "/completions",
    "/embeddings",
    "/responses",
];

/// How long a batch may run, the only window Azure offers.
const WINDOW: &str = "24h";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Validating,
    Failed,
    InProgress,
    Finalizing,
    Completed,
    Cancelling,
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Validating => "validating",
            Self::Failed => "failed",
            Self::InProgress => "in_progress",
            Self::Finalizing => "finalizing",
            Self::Completed => "completed",
            Self::Cancelling => "cancelling",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One request line of the input file, once validated.
struct Line {
    custom_id: String,
    model: Option<String>,
    body: Value,
}

pub(crate) struct Batch {
    id: String,
    endpoint: String,
    input_file_id: String,
    metadata: Value,
    created_at: u64,
    status: Status,
    /// When each status was entered, by its name (`in_progress_at`, …).
    times: Vec<(&'static str, u64)>,
    lines: Vec<Line>,
    counts: (usize, usize, usize),
    output_file_id: Option<String>,
    error_file_id: Option<String>,
    errors: Option<Value>,
}

impl Batch {
    fn json(&self) -> Value {
        let (total, completed, failed) = self.counts;
        let mut v = json!({
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": self.errors,
            "input_file_id": self.input_file_id,
            "completion_window": WINDOW,
            "status": self.status.as_str(),
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "in_progress_at": null,
            "expires_at": self.created_at + 24 * 3600,
            "finalizing_at": null,
            "completed_at": null,
            "failed_at": null,
            "expired_at": null,
            "cancelling_at": null,
            "cancelled_at": null,
            "request_counts": {"total": total, "completed": completed, "failed": failed},
            "metadata": self.metadata,
        });
        for (field, at) in &self.times {
            v[*field] = json!(at);
        }
        v
    }

    fn enter(&mut self, status: Status) {
        self.status = status;
        let field = match status {
            Status::InProgress => "in_progress_at",
            Status::Finalizing => "finalizing_at",
            Status::Completed => "completed_at",
            Status::Failed => "failed_at",
            Status::Cancelling => "cancelling_at",
            Status::Cancelled => "cancelled_at",
            Status::Validating => return,
        };
        self.times.push((field, ids::unix_now()));
    }
}

#[derive(Deserialize)]
struct CreateRequest {
    input_file_id: Option<String>,
    endpoint: Option<String>,
    completion_window: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
}

pub(crate) fn create(call: Call<'_>) -> Response {
    let request: CreateRequest = match call.json() {
        Ok(r) => r,
        Err(refusal) => return *refusal,
    };
    let Some(input_file_id) = request.input_file_id else {
        let message = "Missing required parameter: 'input_file_id'.";
        return errors::invalid_field(message, "input_file_id");
    };
    let endpoint = match request.endpoint {
        Some(e) if ENDPOINTS.contains(&e.strip_prefix("/v1").unwrap_or(&e)) => e,
        Some(e) => {
            let message = format!("Invalid 'endpoint': '{e}'. Supported: {ENDPOINTS:?}.");
            return errors::invalid_field(&message, "endpoint");
        }
        None => {
            return errors::invalid_field("Missing required parameter: 'endpoint'.", "endpoint");
        }
    };
    if request.completion_window.as_deref() != Some(WINDOW) {
        let message = "Invalid 'completion_window': expected '24h'.";
        return errors::invalid_field(message, "completion_window");
    }
    let metadata = match request.metadata {
        None | Some(Value::Null) => Value::Null,
        Some(m @ Value::Object(_)) => m,
        Some(_) => {
            return errors::invalid_field("Invalid 'metadata': expected an object.", "metadata");
        }
    };
    let mut objects = call.shared.store.objects();
    match objects.file(&input_file_id) {
        None => return errors::object_not_found("File", &input_file_id),
        Some(file) if file.purpose != "batch" => {
            let message = format!(
                "The input file '{input_file_id}' has purpose '{}'; a batch needs purpose 'batch'.",
                file.purpose
            );
            return errors::invalid_field(&message, "input_file_id");
        }
        Some(_) => {}
    }
    let batch = Batch {
        id: ids::hex32("batch_"),
        endpoint,
        input_file_id,
        metadata,
        created_at: ids::unix_now(),
        status: Status::Validating,
        times: Vec::new(),
        lines: Vec::new(),
        counts: (0, 0, 0),
        output_file_id: None,
        error_file_id: None,
        errors: None,
    };
    let json = batch.json();
    objects.batches.push(batch);
    drop(objects);
    call.ok(&json)
}

/// Newest first.
pub(crate) fn list(call: Call<'_>) -> Response {
    let page = match Page::read(call.query(), 20, 100, false, true) {
        Ok(page) => page,
        Err(refusal) => return *refusal,
    };
    let items = call
        .shared
        .store
        .objects()
        .batches
        .iter()
        .map(Batch::json)
        .collect();
    let list = page.render(items);
    call.ok(&list)
}

/// The batch after one lifecycle step.
pub(crate) fn get(call: Call<'_>, id: &str) -> Response {
    let json = {
        let mut objects = call.shared.store.objects();
        step(call.shared, &mut objects, id)
    };
    match json {
        Some(json) => call.ok(&json),
        None => errors::object_not_found("Batch", id),
    }
}

pub(crate) fn cancel(call: Call<'_>, id: &str) -> Response {
    let mut objects = call.shared.store.objects();
    let Some(batch) = objects.batches.iter_mut().find(|b| b.id == id) else {
        return errors::object_not_found("Batch", id);
    };
    match batch.status {
        Status::Validating | Status::InProgress | Status::Finalizing => {
            batch.enter(Status::Cancelling);
        }
        Status::Cancelling | Status::Cancelled => {}
        Status::Completed | Status::Failed => {
            let message = format!(
                "Cannot cancel a batch with status '{}'.",
                batch.status.as_str()
            );
            return errors::invalid_request(StatusCode::CONFLICT, &message, None, None);
        }
    }
    let json = batch.json();
    drop(objects);
    call.ok(&json)
}

/// Moves batch `id` one step on and renders it; `None` if there is no such batch.
fn step(shared: &Shared, objects: &mut Objects, id: &str) -> Option<Value> {
    let at = objects.batches.iter().position(|b| b.id == id)?;
    match objects.batches[at].status {
        Status::Validating => {
            let input = objects
                .file(&objects.batches[at].input_file_id)
                .map(|f| f.data.clone());
            let batch = &mut objects.batches[at];
            match validate(input.as_deref(), &batch.endpoint) {
                Ok(lines) => {
                    batch.counts = (lines.len(), 0, 0);
                    batch.lines = lines;
                    batch.enter(Status::InProgress);
                }
                Err(errors) => {
                    batch.errors = Some(json!({"object": "list", "data": errors}));
                    batch.enter(Status::Failed);
                }
            }
        }
        Status::InProgress => objects.batches[at].enter(Status::Finalizing),
        Status::Finalizing => complete(shared, objects, at),
        Status::Cancelling => objects.batches[at].enter(Status::Cancelled),
        Status::Completed | Status::Failed | Status::Cancelled => {}
    }
    Some(objects.batches[at].json())
}

/// The request lines, or the validation errors (`code`, `message`, `param`, `line`).
fn validate(input: Option<&[u8]>, endpoint: &str) -> Result<Vec<Line>, Vec<Value>> {
    let error = |code: &str, message: &str, line: Option<usize>| json!({"code": code, "message": message, "param": null, "line": line});
    let Some(input) = input else {
        return Err(vec![error(
            "file_not_found",
            "The input file no longer exists.",
            None,
        )]);
    };
    let want = endpoint.strip_prefix("/v1").unwrap_or(endpoint);
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let text = String::from_utf8_lossy(input);
    for (n, raw) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let n = n + 1;
        let Ok(Value::Object(line)) = serde_json::from_str::<Value>(raw) else {
            problems.push(error(
                "invalid_json_line",
                "This line is not parseable as valid JSON.",
                Some(n),
            ));
            continue;
        };
        let custom_id = line.get("custom_id").and_then(Value::as_str);
        let url = line.get("url").and_then(Value::as_str);
        let body = line.get("body").filter(|b| b.is_object());
        let (Some(custom_id), Some(url), Some(body)) = (custom_id, url, body) else {
            let message = "Each line needs 'custom_id', 'method', 'url' and an object 'body'.";
            problems.push(error("missing_required_parameter", message, Some(n)));
            continue;
        };
        if line.get("method").and_then(Value::as_str) != Some("POST") {
            problems.push(error(
                "invalid_method",
                "The method must be 'POST'.",
                Some(n),
            ));
        } else if url.strip_prefix("/v1").unwrap_or(url) != want {
            let message =
                format!("The URL '{url}' does not match the batch endpoint '{endpoint}'.");
            problems.push(error("invalid_url", &message, Some(n)));
        } else if lines.iter().any(|l: &Line| l.custom_id == custom_id) {
            let message = format!("The custom_id '{custom_id}' is used more than once.");
            problems.push(error("duplicate_custom_id", &message, Some(n)));
        } else {
            lines.push(Line {
                custom_id: custom_id.to_owned(),
                model: body.get("model").and_then(Value::as_str).map(str::to_owned),
                body: body.clone(),
            });
        }
    }
    if lines.is_empty() && problems.is_empty() {
        problems.push(error("empty_file", "The batch input file is empty.", None));
    }
    if problems.is_empty() {
        Ok(lines)
    } else {
        Err(problems)
    }
}

/// Answers every line, stores the output (and error) file, marks the batch completed.
fn complete(shared: &Shared, objects: &mut Objects, at: usize) {
    let batch = &mut objects.batches[at];
    let (mut output, mut failures) = (String::new(), String::new());
    let (mut ok, mut failed) = (0, 0);
    for line in &batch.lines {
        let (status, body) = run(shared, &batch.endpoint, line);
        let entry = json!({
            "id": ids::token("batch_req_", 32),
            "custom_id": line.custom_id,
            "response": {"status_code": status, "request_id": ids::uuid(), "body": body},
            "error": null,
        });
        let (sink, count) = if status == 200 {
            (&mut output, &mut ok)
        } else {
            (&mut failures, &mut failed)
        };
        sink.push_str(&entry.to_string());
        sink.push('\n');
        *count += 1;
    }
    batch.counts = (batch.lines.len(), ok, failed);
    batch.enter(Status::Completed);
    let id = batch.id.clone();
    let output_id = objects.add_file(
        format!("{id}_output.jsonl"),
        "batch_output",
        Bytes::from(output),
    );
    let error_id = (failed > 0).then(|| {
        objects.add_file(
            format!("{id}_error.jsonl"),
            "batch_output",
            Bytes::from(failures),
        )
    });
    let batch = &mut objects.batches[at];
    batch.output_file_id = Some(output_id);
    batch.error_file_id = error_id;
}

/// One line's status code and response body, as the deployment would have answered it.
fn run(shared: &Shared, endpoint: &str, line: &Line) -> (u16, Value) {
    let Some(model) = line.model.as_deref() else {
        return (
            400,
            json!({"error": {"code": "BadRequest", "message": "model is required"}}),
        );
    };
    if !shared.has_deployment(model) {
        let message = "The API deployment for this resource does not exist.";
        return (
            404,
            json!({"error": {"code": "DeploymentNotFound", "message": message}}),
        );
    }
    let usage = MockUsage::default();
    // Batch lines get the plain default answer: no behaviour applies to them.
    let script = Script::plain(&Behavior::default());
    let answer = match endpoint.strip_prefix("/v1").unwrap_or(endpoint) {
        "/chat/completions" => Ok(chat::json(CHAT_MODEL, usage, &script)),
        "/completions" => Ok(completions::json(usage, &script)),
        "/embeddings" => {
            let body = Bytes::from(line.body.to_string());
            embeddings::reply(&body, usage, EMBEDDINGS_MODEL)
        }
        _ => {
            let settings = Settings {
                store: false,
                ..Settings::default()
            };
            let object = Object::new(usage, script, settings);
            Ok(Bytes::from(object.render(ResponseStatus::Completed)))
        }
    };
    match answer.map(|json| serde_json::from_slice::<Value>(&json)) {
        Ok(Ok(body)) => (200, body),
        Ok(Err(e)) => (
            500,
            json!({"error": {"code": "InternalServerError", "message": e.to_string()}}),
        ),
        Err(message) => (
            400,
            json!({"error": {"code": "BadRequest", "message": message}}),
        ),
    }
}
