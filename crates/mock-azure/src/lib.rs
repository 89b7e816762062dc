//! A faithful Azure OpenAI and Azure AI Model Inference data-plane mock for the
//! gateway's tests, the demo and benchmarks. Wire shapes follow `WIRE-FACTS.md`
//! (A1, A2, A5, A6, A7, A8).
//!
//! Faces (URL families), each with its own api-version and deployment rules:
//! - legacy `/openai/deployments/{d}/…`, `/openai/responses` and the resource paths
//!   `/openai/{files,batches,fine_tuning,responses/{id}}` (`api-version` required);
//! - v1 `/openai/v1/…` (deployment from the body or form `model`);
//! - engine `/v1/…`, an OpenAI-compatible server (`api-version` ignored);
//! - model inference `/models/{chat/completions,embeddings,info}` and the same without
//!   `/models` (`api-version` 2025-04-01 or 2024-05-01-preview, `extra-parameters`,
//!   `azureml-model-deployment`, its own 422/400/429 shapes);
//! - realtime, a WebSocket on `/openai/realtime?api-version&deployment`,
//!   `/openai/v1/realtime?model` and `/v1/realtime?model` (WIRE-FACTS A3) that speaks enough
//!   of the event protocol for relay tests.
//!
//! The Azure OpenAI faces serve chat, completions, embeddings, responses, image
//! generations and edits (variations on the engine only), audio transcriptions,
//! translations and speech, and per-instance files, batches, fine-tuning jobs and stored
//! responses, so two mocks behave as two Azure resources.
//!
//! Deployments behave like the model their name suggests (A8): reasoning models refuse
//! what Azure refuses for them, Responses-only models refuse chat completions (both
//! extensible in [`MockConfig`]). Answers call a function when the request offers one,
//! note the images they saw, and can refuse, be stopped by the output filter, carry
//! asynchronous-filter annotations or arrive in arbitrarily cut frames (see [`control`]).
//!
//! Module map:
//! - [`config`]: [`MockConfig`], per-deployment [`Behavior`], [`MockUsage`].
//! - [`control`]: `x-mock-*` headers that override a behaviour per request.
//! - `server`: [`MockServer`], the handle tests use (start, log, knobs).
//! - `handler`: the data-plane pipeline (record → route → auth → validate → answer).
//! - `route`, `auth`: path families (legacy, `/openai/v1`, `/v1`, model inference) and the
//!   key or Entra token check.
//! - [`entra`]: a mock Entra ID identity provider ([`EntraServer`]: HTTPS STS with a run-time
//!   [`TestCa`], App Service managed identity, an IMDS stand-in) and the [`TokenAuthority`]
//!   the data plane checks Bearer tokens against when [`MockConfig::entra`] is set.
//! - `multipart`: `multipart/form-data` bodies (audio, image edits, file uploads).
//! - `inference`: the model inference face's gates, deployment choice, `/info` and error bodies.
//! - `realtime`: the WebSocket handshake (checked like any request) and the session's events.
//! - `errors`: Azure's error bodies (401, 404, 429, 5xx, content filter, invalid request).
//! - `probe`: the body fields the pipeline reads, parsed once and borrowed.
//! - `models`: which deployments are reasoning, Responses-only or chat-only models.
//! - `validate`: Azure's request checks (unsupported operations and parameters).
//! - `script`: what the mock model answers (text with an image note, refusal, tool call;
//!   filtered or not), shared by every rendering; `tools`: function choice and arguments.
//! - `chat`, `completions`, `responses`, `embeddings`, `images`: success bodies.
//! - `image_edits`: image edits and variations (multipart), answered like generations.
//! - `audio`: transcriptions and translations (text, formats, usage, SSE) and speech (audio).
//! - `store`: per-instance files, batches, fine-tuning jobs and stored responses.
//! - `fragments`: pre-serialised JSON shared by the body builders.
//! - `body`: streamed bodies (one frame per SSE event or chunk, or re-cut frames; delays,
//!   cuts) and outcome tracking.
//! - [`record`]: the request log, [`RecordedRequest`], [`Outcome`], realtime [`WsFrame`]s.
//! - `admin`: `/__mock/requests` and `/__mock/health` over HTTP.
//! - `state`, `ids`: shared state; cheap request and object ids.

mod admin;
mod audio;
mod auth;
mod body;
mod chat;
mod completions;
pub mod config;
pub mod control;
mod embeddings;
pub mod entra;
mod errors;
mod fragments;
mod handler;
mod ids;
mod image_edits;
mod images;
mod inference;
mod models;
mod multipart;
mod probe;
mod realtime;
pub mod record;
mod responses;
mod route;
mod script;
mod server;
mod state;
mod store;
mod tools;
mod validate;

pub use config::{Behavior, DEFAULT_TOKEN_AUDIENCES, MockConfig, MockUsage};
pub use entra::{
    EntraApp, EntraConfig, EntraServer, IssuedToken, TestCa, TokenAuthority, TokenClaims,
    TokenEndpoint, TokenReject, TokenRequest,
};
pub use record::{Outcome, RecordedRequest, WsFrame};
pub use server::MockServer;
