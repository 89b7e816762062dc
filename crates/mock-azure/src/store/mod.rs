//! Resource-level APIs that keep state per mock instance, as one Azure resource does:
//! files, batches, fine-tuning jobs and stored responses. Two mocks are two resources; an
//! id from one is unknown to the other.
//!
//! Long-running objects (batches, fine-tuning jobs, background responses) move one step
//! along their lifecycle each time a client reads them back, so tests that poll see every
//! state in order without sleeping.
//!
//! - `route`: which operation a method and path name.
//! - `list`: cursor pages (`limit`, `after`, `order`).
//! - `files`, `batches`, `fine_tuning`, `responses`: the operations.

pub(crate) mod batches;
pub(crate) mod files;
pub(crate) mod fine_tuning;
pub(crate) mod list;
pub(crate) mod responses;
pub(crate) mod route;

use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::Behavior;
use crate::errors::Refusal;
use crate::handler::{self, behave_from, version_gate};
use crate::record::Tracker;
use crate::route::Face;
use crate::state::Shared;
use crate::{auth, errors};

pub(crate) use route::Action;

/// One resource's objects.
#[derive(Default)]
pub(crate) struct Store {
    objects: Mutex<Objects>,
    responses: Mutex<responses::Kept>,
}

/// Files, batches and jobs share a lock: batches and jobs read and write files.
#[derive(Default)]
pub(crate) struct Objects {
    files: Vec<files::File>,
    batches: Vec<batches::Batch>,
    jobs: Vec<fine_tuning::Job>,
}

impl Store {
    fn objects(&self) -> MutexGuard<'_, Objects> {
        self.objects.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn responses(&self) -> MutexGuard<'_, responses::Kept> {
        self.responses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What every store operation needs from its request.
pub(crate) struct Call<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) face: Face,
    pub(crate) parts: &'a Parts,
    pub(crate) body: &'a Bytes,
    pub(crate) behavior: &'a Behavior,
    pub(crate) tracker: Tracker,
}

impl Call<'_> {
    /// A JSON answer, cut short if the behaviour says so.
    fn reply(self, status: StatusCode, value: &Value) -> Response {
        let json = Bytes::from(value.to_string());
        handler::send_json(status, json, self.behavior, self.tracker)
    }

    fn ok(self, value: &Value) -> Response {
        self.reply(StatusCode::OK, value)
    }

    /// A create answer: 201 with `Location` on the dated (legacy) API, as its spec
    /// examples show; 200 on v1 and the engine, as OpenAI answers.
    fn created(self, value: &Value, collection: &str) -> Response {
        if self.face != Face::Legacy {
            return self.ok(value);
        }
        let host = self
            .parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let id = value["id"].as_str().unwrap_or_default();
        let location = format!("http://{host}/openai/{collection}/{id}");
        let mut response = self.reply(StatusCode::CREATED, value);
        if let Ok(location) = http::HeaderValue::try_from(location) {
            response
                .headers_mut()
                .insert(http::header::LOCATION, location);
        }
        response
    }

    /// The JSON body as `T`, or the 400 explaining why it is not.
    fn json<T: DeserializeOwned>(&self) -> Result<T, Refusal> {
        serde_json::from_slice(self.body).map_err(|e| Box::new(errors::unparsable_json(&e)))
    }

    fn query(&self) -> Option<&str> {
        self.parts.uri.query()
    }
}

/// Gates shared with the deployment operations (key, api-version, `x-mock-*` behaviour and
/// forced errors), then the operation. Without a deployment, the behaviour is the default
/// one with the request's `x-mock-*` headers applied.
pub(crate) async fn answer(
    shared: &Shared,
    parts: &Parts,
    face: Face,
    action: Action<'_>,
    body: &Bytes,
    tracker: Tracker,
) -> Response {
    if let Some(refusal) = auth::gate(shared, &parts.headers) {
        return refusal;
    }
    let api_version = match version_gate(face, parts.uri.query()) {
        Ok(v) => v,
        Err(refusal) => return *refusal,
    };
    let behavior = match behave_from(Behavior::default(), &parts.headers).await {
        Ok(behavior) => behavior,
        Err(refusal) => return refusal,
    };
    let version = api_version.unwrap_or("v1");
    if let Some(error) = errors::forced(&behavior, action.operation_id(), version) {
        return error;
    }
    let call = Call {
        shared,
        face,
        parts,
        body,
        behavior: &behavior,
        tracker,
    };
    match action {
        Action::UploadFile => files::upload(call),
        Action::ListFiles => files::list(call),
        Action::GetFile(id) => files::get(call, id),
        Action::FileContent(id) => files::content(call, id),
        Action::DeleteFile(id) => files::delete(call, id),
        Action::CreateBatch => batches::create(call),
        Action::ListBatches => batches::list(call),
        Action::GetBatch(id) => batches::get(call, id),
        Action::CancelBatch(id) => batches::cancel(call, id),
        Action::CreateJob => fine_tuning::create(call),
        Action::ListJobs => fine_tuning::list(call),
        Action::GetJob(id) => fine_tuning::get(call, id),
        Action::CancelJob(id) => fine_tuning::cancel(call, id),
        Action::JobEvents(id) => fine_tuning::events(call, id),
        Action::JobCheckpoints(id) => fine_tuning::checkpoints(call, id),
        Action::GetResponse(id) => responses::get(call, id),
        Action::DeleteResponse(id) => responses::delete(call, id),
        Action::CancelResponse(id) => responses::cancel(call, id),
        Action::InputItems(id) => responses::input_items(call, id),
    }
}
