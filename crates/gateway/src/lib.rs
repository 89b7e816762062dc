//! aoai-gateway: OpenAI-compatible clients in, Azure OpenAI / Foundry deployments out.
//!
//! Module map, in request-flow order:
//! - [`server`]: listeners (TCP_NODELAY), the router and its layer stack, graceful shutdown.
//! - [`trace`]: the outermost service: each request's id (accepted or generated, returned on
//!   every response) and the `request` span its log lines carry.
//! - [`listen`]: `serve`'s thread-per-core runner: one shared listening socket, a worker per
//!   core; the optional separate `/metrics` listener runs on the main thread.
//! - [`worker`]: one event loop per thread; which worker a thread is, for per-worker clients.
//! - [`state`]: the per-request snapshot (`Runtime`): config, model table, upstream clients.
//! - [`inbound`]: client-facing dialects; each turns HTTP into a [`call::Call`] (the realtime
//!   routes instead open an upstream WebSocket and answer the upgrade).
//! - [`call`]: one client request, dialect-neutral: operation, model alias, body, stream flag.
//! - [`multipart`]: multipart uploads (audio, image edits): spooled (memory, then an unlinked
//!   temp file), scanned for the `model` field, replayed per attempt with it rewritten.
//! - [`policy`]: client-key authentication, CORS, Model Inference's `extra-parameters`,
//!   request image compression (large inline images downscaled before routing) and request
//!   normalization per model family.
//! - [`rewrite`]: what the gateway changes in bodies: the request prepared for the upstream
//!   (translated, normalized) and the answer edited back (translation, the usage chunk it asked
//!   for, filter annotations, content-filter refusals in OpenAI's shape).
//! - [`proxy`]: the forwarding pipeline every dialect shares: key, body, route, send, respond.
//! - [`resources`]: APIs about a resource, not a model: files, batches and fine-tuning (to
//!   `resources.upstream`, uploads streamed) and stored responses (to the upstream that
//!   created each one, remembered from `POST /responses`).
//! - [`route`]: model alias → deployment target and upstream URL; pools of deployments
//!   (priority tiers, balancing strategies) and each deployment's health (cooldowns, breaker).
//! - [`upstream`]: upstream dialects (URL and body rewrite), credentials, the pooled client,
//!   the send/retry loop, the failover loop for pools, retry-after parsing and header hygiene;
//!   the WebSocket handshake and realtime session opening.
//! - [`stream`]: the side scanner that finds usage and error events in JSON and SSE bodies (and
//!   the realtime `response.done` reader), and the SSE event splitter the body edits work on.
//! - [`translate`]: Chat Completions ⇄ Responses translation (requests, JSON answers, streams)
//!   for models routed to the other API.
//! - [`body`]: the response body wrapper: forwards frames, enforces idle/total timeouts, feeds
//!   the scanner and records the outcome when the body ends or the client goes away.
//! - [`relay`]: the realtime WebSocket relay: frames both ways, close codes, usage from
//!   `response.done`; [`drain`] closes such sessions on shutdown (they outlive hyper's view).
//! - [`telemetry`]: one record per finished request ([`telemetry::Pending`] while it runs), fed
//!   to the in-memory stats, Prometheus metrics, the SQLite usage ledger and the request log;
//!   `/metrics` itself ([`telemetry::metrics::endpoint`]); the logging pipeline (stdout, the
//!   admin log ring, redaction) and, with the `otel` feature, OTLP span export.
//! - [`admin`]: the admin API behind HTTP Basic auth (stats, pooled deployments' health, the
//!   usage ledger's reports, the log ring).
//! - [`config`]: schema, loading (file, env, env-only), validation.
//! - [`error`]: the one error enum at the HTTP boundary, OpenAI-shaped.
//! - [`demo`]: `aoai-gateway demo`, the gateway plus an in-process mock on loopback.

pub mod admin;
pub mod body;
pub mod call;
pub mod config;
pub mod demo;
pub mod drain;
pub mod error;
pub mod inbound;
pub mod listen;
pub mod multipart;
pub mod policy;
pub mod proxy;
pub mod relay;
pub mod resources;
pub mod rewrite;
pub mod route;
pub mod server;
pub mod state;
pub mod stream;
pub mod telemetry;
pub mod trace;
pub mod translate;
pub mod upstream;
pub mod worker;
