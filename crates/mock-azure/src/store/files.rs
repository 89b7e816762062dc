//! Files: multipart upload, list, retrieve, content (streamed back byte for byte), delete.
//! Uploads are `processed` at once; batches and fine-tuning jobs add their own result files.

use axum::response::Response;
use bytes::Bytes;
use http::HeaderValue;
use serde_json::{Value, json};

use super::list::Page;
use super::{Call, Objects};
use crate::errors::Refusal;
use crate::multipart::Form;
use crate::{errors, handler, ids};

/// What a client may upload for; `batch_output` and `fine-tune-results` are the service's.
const PURPOSES: [&str; 6] = [
    "assistants",
    "batch",
    "fine-tune",
    "vision",
    "user_data",
    "evals",
];

/// `expires_after[seconds]` bounds (14 to 30 days), as Azure documents for batch files.
const EXPIRY_SECONDS: std::ops::RangeInclusive<u64> = 1_209_600..=2_592_000;

/// Content is streamed back in frames of this size.
const CONTENT_FRAME: usize = 16 * 1024;

const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");

pub(crate) struct File {
    pub(crate) id: String,
    filename: String,
    pub(crate) purpose: String,
    created_at: u64,
    expires_at: Option<u64>,
    pub(crate) data: Bytes,
}

impl File {
    fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "object": "file",
            "bytes": self.data.len(),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": null,
        });
        if let Some(at) = self.expires_at {
            v["expires_at"] = json!(at);
        }
        v
    }
}

impl Objects {
    pub(crate) fn file(&self, id: &str) -> Option<&File> {
        self.files.iter().find(|f| f.id == id)
    }

    /// Stores a file the service made (batch output, fine-tuning results); returns its id.
    pub(crate) fn add_file(&mut self, filename: String, purpose: &str, data: Bytes) -> String {
        let id = ids::hex32("file-");
        self.files.push(File {
            id: id.clone(),
            filename,
            purpose: purpose.to_owned(),
            created_at: ids::unix_now(),
            expires_at: None,
            data,
        });
        id
    }
}

pub(crate) fn upload(call: Call<'_>) -> Response {
    let form = match Form::parse(&call.parts.headers, call.body) {
        Ok(form) => form,
        Err(message) => {
            return errors::invalid_request(http::StatusCode::BAD_REQUEST, &message, None, None);
        }
    };
    let purpose = match form.text("purpose") {
        Some(p) if PURPOSES.contains(&p) => p.to_owned(),
        Some(p) => {
            let message = format!("'{p}' is not one of {PURPOSES:?} - 'purpose'");
            return errors::invalid_field(&message, "purpose");
        }
        None => return errors::invalid_field("Missing required parameter: 'purpose'.", "purpose"),
    };
    let Some(file) = form.part("file") else {
        return errors::invalid_field("Missing required parameter: 'file'.", "file");
    };
    let created_at = ids::unix_now();
    let expires_at = match expiry(&form) {
        Ok(seconds) => seconds.map(|s| created_at + s),
        Err(refusal) => return *refusal,
    };
    let file = File {
        id: ids::hex32("file-"),
        filename: file.filename.clone().unwrap_or_else(|| "file".to_owned()),
        purpose,
        created_at,
        expires_at,
        data: file.data.clone(),
    };
    let json = file.json();
    call.shared.store.objects().files.push(file);
    call.created(&json, "files")
}

/// `expires_after[anchor]` and `expires_after[seconds]` (the SDKs' spelling) or
/// `expires_after.anchor`/`.seconds` (Azure's curl samples): both or neither.
fn expiry(form: &Form) -> Result<Option<u64>, Refusal> {
    let field = |name: &str| {
        form.text(&format!("expires_after[{name}]"))
            .or_else(|| form.text(&format!("expires_after.{name}")))
    };
    let (anchor, seconds) = (field("anchor"), field("seconds"));
    if anchor.is_none() && seconds.is_none() {
        return Ok(None);
    }
    if anchor != Some("created_at") {
        let message = "Invalid 'expires_after[anchor]': expected 'created_at'.";
        return Err(Box::new(errors::invalid_field(
            message,
            "expires_after[anchor]",
        )));
    }
    match seconds.and_then(|s| s.parse::<u64>().ok()) {
        Some(s) if EXPIRY_SECONDS.contains(&s) => Ok(Some(s)),
        _ => {
            let message = format!(
                "Invalid 'expires_after[seconds]': expected an integer between {} and {}.",
                EXPIRY_SECONDS.start(),
                EXPIRY_SECONDS.end()
            );
            Err(Box::new(errors::invalid_field(
                &message,
                "expires_after[seconds]",
            )))
        }
    }
}

/// `purpose` filters; newest first unless `order=asc`.
pub(crate) fn list(call: Call<'_>) -> Response {
    let page = match Page::read(call.query(), 10_000, 10_000, true, true) {
        Ok(page) => page,
        Err(refusal) => return *refusal,
    };
    let purpose = crate::route::query_param(call.query(), "purpose");
    let items: Vec<Value> = call
        .shared
        .store
        .objects()
        .files
        .iter()
        .filter(|f| purpose.is_none_or(|p| f.purpose == p))
        .map(File::json)
        .collect();
    let list = page.render(items);
    call.ok(&list)
}

pub(crate) fn get(call: Call<'_>, id: &str) -> Response {
    let json = call.shared.store.objects().file(id).map(File::json);
    match json {
        Some(json) => call.ok(&json),
        None => errors::object_not_found("File", id),
    }
}

/// The stored bytes, unchanged, as several body frames.
pub(crate) fn content(call: Call<'_>, id: &str) -> Response {
    let Some(data) = call.shared.store.objects().file(id).map(|f| f.data.clone()) else {
        return errors::object_not_found("File", id);
    };
    let frames = (0..data.len())
        .step_by(CONTENT_FRAME)
        .map(|at| data.slice(at..data.len().min(at + CONTENT_FRAME)))
        .collect();
    handler::send_stream(OCTET_STREAM, frames, call.behavior, call.tracker)
}

pub(crate) fn delete(call: Call<'_>, id: &str) -> Response {
    let removed = {
        let mut objects = call.shared.store.objects();
        let before = objects.files.len();
        objects.files.retain(|f| f.id != id);
        objects.files.len() < before
    };
    if !removed {
        return errors::object_not_found("File", id);
    }
    call.ok(&json!({"id": id, "object": "file", "deleted": true}))
}
