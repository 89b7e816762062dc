//! Fine-tuning jobs: create from uploaded files, read back (one lifecycle step per read:
//! pending → running → succeeded, with a result file and three checkpoints), list, cancel,
//! events and checkpoints. Shapes follow Azure's authoring examples (`ftjob-…`, `ftevent-…`,
//! `ftckpt_…`; events and checkpoints oldest first).

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::list::Page;
use super::{Call, Objects};
use crate::errors::Refusal;
use crate::route::Face;
use crate::{errors, ids};

/// The hyperparameters a job reports; missing ones are filled in as the service does.
const HYPERPARAMETERS: [&str; 3] = ["n_epochs", "batch_size", "learning_rate_multiplier"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Pending,
    Running,
    Succeeded,
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Cancelled => "cancelled",
        }
    }
}

struct Event {
    id: String,
    created_at: u64,
    message: &'static str,
}

pub(crate) struct Job {
    id: String,
    model: String,
    created_at: u64,
    status: Status,
    training_file: String,
    validation_file: Option<String>,
    hyperparameters: Value,
    suffix: Option<String>,
    seed: u64,
    /// Bytes of training data, for `trained_tokens`.
    training_bytes: usize,
    finished_at: Option<u64>,
    fine_tuned_model: Option<String>,
    result_files: Vec<String>,
    events: Vec<Event>,
    checkpoints: Vec<Value>,
}

impl Job {
    fn json(&self) -> Value {
        let succeeded = self.status == Status::Succeeded;
        json!({
            "id": self.id,
            "object": "fine_tuning.job",
            "model": self.model,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "fine_tuned_model": self.fine_tuned_model,
            "status": self.status.as_str(),
            "training_file": self.training_file,
            "validation_file": self.validation_file,
            "hyperparameters": self.hyperparameters,
            "result_files": self.result_files,
            "trained_tokens": succeeded.then_some(self.training_bytes.div_ceil(4) * 3),
            "error": null,
            "estimated_finish": null,
            "integrations": null,
            "seed": self.seed,
            "suffix": self.suffix,
        })
    }

    fn event(&mut self, message: &'static str) {
        self.events.push(Event {
            id: ids::hex32("ftevent-"),
            created_at: ids::unix_now(),
            message,
        });
    }
}

#[derive(Deserialize)]
struct CreateRequest {
    model: Option<String>,
    training_file: Option<String>,
    validation_file: Option<String>,
    #[serde(default)]
    hyperparameters: Option<Map<String, Value>>,
    suffix: Option<String>,
    seed: Option<u64>,
}

pub(crate) fn create(call: Call<'_>) -> Response {
    let request: CreateRequest = match call.json() {
        Ok(r) => r,
        Err(refusal) => return *refusal,
    };
    let Some(model) = request.model.filter(|m| !m.is_empty()) else {
        return errors::invalid_field("Missing required parameter: 'model'.", "model");
    };
    let Some(training_file) = request.training_file else {
        let message = "Missing required parameter: 'training_file'.";
        return errors::invalid_field(message, "training_file");
    };
    if request.suffix.as_ref().is_some_and(|s| s.len() > 64) {
        let message = "Invalid 'suffix': at most 64 characters.";
        return errors::invalid_field(message, "suffix");
    }
    let mut objects = call.shared.store.objects();
    let training_bytes = match usable(&objects, &training_file, "training_file") {
        Ok(bytes) => bytes,
        Err(refusal) => return *refusal,
    };
    if let Some(validation) = &request.validation_file
        && let Err(refusal) = usable(&objects, validation, "validation_file")
    {
        return *refusal;
    }
    // Azure's dated API reports defaults as -1 (its example shows `"n_epochs": -1`);
    // v1 and OpenAI say "auto".
    let default = if call.face == Face::Legacy {
        json!(-1)
    } else {
        json!("auto")
    };
    let mut hyperparameters = request.hyperparameters.unwrap_or_default();
    for name in HYPERPARAMETERS {
        hyperparameters
            .entry(name)
            .or_insert_with(|| default.clone());
    }
    let id = ids::hex32("ftjob-");
    let mut job = Job {
        id,
        model,
        created_at: ids::unix_now(),
        status: Status::Pending,
        training_file,
        validation_file: request.validation_file,
        hyperparameters: Value::Object(hyperparameters),
        suffix: request.suffix,
        seed: request.seed.unwrap_or_else(ids::small_number),
        training_bytes,
        finished_at: None,
        fine_tuned_model: None,
        result_files: Vec::new(),
        events: Vec::new(),
        checkpoints: Vec::new(),
    };
    job.event("Job enqueued. Waiting for jobs ahead to complete.");
    let json = job.json();
    objects.jobs.push(job);
    drop(objects);
    call.created(&json, "fine_tuning/jobs")
}

/// The size of file `id` if it exists with purpose `fine-tune`, else the 400 naming `param`.
fn usable(objects: &Objects, id: &str, param: &str) -> Result<usize, Refusal> {
    match objects.file(id) {
        Some(file) if file.purpose == "fine-tune" => Ok(file.data.len()),
        Some(file) => {
            let message = format!(
                "invalid {param}: {id} has purpose '{}', expected 'fine-tune'.",
                file.purpose
            );
            Err(Box::new(errors::invalid_field(&message, param)))
        }
        None => {
            let message = format!("invalid {param}: {id}");
            Err(Box::new(errors::invalid_field(&message, param)))
        }
    }
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
        .jobs
        .iter()
        .map(Job::json)
        .collect();
    let list = page.render(items);
    call.ok(&list)
}

/// The job after one lifecycle step.
pub(crate) fn get(call: Call<'_>, id: &str) -> Response {
    let json = {
        let mut objects = call.shared.store.objects();
        step(&mut objects, id)
    };
    match json {
        Some(json) => call.ok(&json),
        None => errors::object_not_found("Fine-tuning job", id),
    }
}

pub(crate) fn cancel(call: Call<'_>, id: &str) -> Response {
    let mut objects = call.shared.store.objects();
    let Some(job) = objects.jobs.iter_mut().find(|j| j.id == id) else {
        return errors::object_not_found("Fine-tuning job", id);
    };
    match job.status {
        Status::Pending | Status::Running => {
            job.status = Status::Cancelled;
            job.finished_at = Some(ids::unix_now());
            job.event("Job cancelled.");
        }
        Status::Succeeded | Status::Cancelled => {
            let message = format!("Cannot cancel a job with status '{}'.", job.status.as_str());
            return errors::invalid_request(StatusCode::BAD_REQUEST, &message, None, None);
        }
    }
    let json = job.json();
    drop(objects);
    call.ok(&json)
}

/// Oldest first, as Azure's example lists them.
pub(crate) fn events(call: Call<'_>, id: &str) -> Response {
    let page = match Page::read(call.query(), 20, 100, false, false) {
        Ok(page) => page,
        Err(refusal) => return *refusal,
    };
    let items: Option<Vec<Value>> = call
        .shared
        .store
        .objects()
        .jobs
        .iter()
        .find(|j| j.id == id)
        .map(|job| {
            job.events
                .iter()
                .map(|e| {
                    json!({
                        "id": e.id,
                        "object": "fine_tuning.job.event",
                        "created_at": e.created_at,
                        "level": "info",
                        "message": e.message,
                        "type": "message",
                    })
                })
                .collect()
        });
    match items {
        Some(items) => {
            let list = page.render(items);
            call.ok(&list)
        }
        None => errors::object_not_found("Fine-tuning job", id),
    }
}

/// Oldest first; empty until the job succeeded.
pub(crate) fn checkpoints(call: Call<'_>, id: &str) -> Response {
    let page = match Page::read(call.query(), 10, 100, false, false) {
        Ok(page) => page,
        Err(refusal) => return *refusal,
    };
    let items = call
        .shared
        .store
        .objects()
        .jobs
        .iter()
        .find(|j| j.id == id)
        .map(|job| job.checkpoints.clone());
    match items {
        Some(items) => {
            let list = page.render(items);
            call.ok(&list)
        }
        None => errors::object_not_found("Fine-tuning job", id),
    }
}

/// Moves job `id` one step on and renders it; `None` if there is no such job.
fn step(objects: &mut Objects, id: &str) -> Option<Value> {
    let at = objects.jobs.iter().position(|j| j.id == id)?;
    match objects.jobs[at].status {
        Status::Pending => {
            let job = &mut objects.jobs[at];
            job.status = Status::Running;
            job.event("Job started.");
        }
        Status::Running => {
            let results = Bytes::from_static(
                b"step,train_loss,train_mean_token_accuracy\n10,0.478,0.924\n20,0.355,0.947\n30,0.155,0.975\n",
            );
            let file = objects.add_file("results.csv".to_owned(), "fine-tune-results", results);
            let job = &mut objects.jobs[at];
            let hex = job.id.trim_start_matches("ftjob-");
            let mut model = format!("{}.ft-{hex}", job.model);
            if let Some(suffix) = &job.suffix {
                model = format!("{model}-{suffix}");
            }
            job.checkpoints = (1..=3)
                .map(|n| checkpoint(&job.id, &model, n * 10))
                .collect();
            job.fine_tuned_model = Some(model);
            job.result_files = vec![file];
            job.status = Status::Succeeded;
            job.finished_at = Some(ids::unix_now());
            job.event("Job succeeded.");
        }
        Status::Succeeded | Status::Cancelled => {}
    }
    Some(objects.jobs[at].json())
}

fn checkpoint(job: &str, model: &str, step: u64) -> Value {
    let loss = 0.6 / step as f64 * 10.0;
    json!({
        "id": ids::token("ftckpt_", 24),
        "object": "fine_tuning.job.checkpoint",
        "created_at": ids::unix_now(),
        "fine_tuned_model_checkpoint": format!("{model}:ckpt-step-{step}"),
        "fine_tuning_job_id": job,
        "step_number": step,
        "metrics": {
            "step": step,
            "train_loss": loss,
            "train_mean_token_accuracy": 1.0 - loss / 10.0,
            "valid_loss": loss * 1.1,
            "valid_mean_token_accuracy": 1.0 - loss / 9.0,
            "full_valid_loss": loss * 1.05,
            "full_valid_mean_token_accuracy": 1.0 - loss / 9.5,
        },
    })
}
