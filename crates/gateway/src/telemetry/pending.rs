//! A request's [`Record`] while the request runs: filled in as the pipeline learns things (the
//! client key, the model, the answering deployment, the timings) and handed to the sinks exactly
//! once, when the response ends, the gateway refuses it, or the client goes away.
//!
//! Timings, all from one monotonic clock:
//! - latency: arrival → end of the response body;
//! - upstream latency: first upstream attempt → the answering upstream's headers (failover and
//!   retries included, since that is time spent waiting on upstreams);
//! - overhead: end of the client's body → response headers handed to hyper, minus the upstream
//!   latency: the gateway's own work (parsing, normalization, routing, image compression);
//! - time to first token (streams): arrival → the first body bytes from the upstream.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::{HeaderMap, HeaderValue};

use super::metrics::InFlight;
use super::session::SessionRecorder;
use super::{ErrorClass, ModelStats, Record, Telemetry};
use crate::call::ClientIdentity;
use crate::error::GatewayError;
use crate::stream::ScanOutcome;

/// The status recorded for a request whose client left before any response (nginx's
/// convention; never sent to anyone).
pub const CLIENT_CLOSED: u16 = 499;

/// How a response body ended, as the body wrapper saw it.
#[derive(Debug, Default, Clone, Copy)]
pub struct BodyEnd {
    /// The body broke or timed out; `code` says how.
    pub failed: Option<&'static str>,
    /// The client went away first.
    pub cancelled: bool,
    /// The answer was an error status.
    pub upstream_error: bool,
    /// The body was an SSE stream.
    pub streaming: bool,
}

/// One request's record in the making.
#[derive(Debug)]
pub struct Pending {
    sinks: Arc<Telemetry>,
    stats: Option<Arc<ModelStats>>,
    record: Record,
    arrived: Instant,
    body_read: Option<Instant>,
    sent: Option<Instant>,
    answered: Option<Instant>,
    responded: bool,
    finished: bool,
    _in_flight: InFlight,
}

/// The client key's id as recorded: the configured id, or a short digest of a passthrough key
/// (never the key itself).
fn key_id(client: &ClientIdentity) -> Arc<str> {
    match client {
        ClientIdentity::Key(id) => Arc::clone(id),
        ClientIdentity::Passthrough(key) => {
            use sha2::Digest as _;
            let digest = sha2::Sha256::digest(key.as_bytes());
            let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
            Arc::from(format!("pt-{hex}"))
        }
    }
}

impl Pending {
    /// Starts the record of a request that just arrived.
    pub fn start(
        sinks: &Arc<Telemetry>,
        request_id: &HeaderValue,
        operation: &'static str,
    ) -> Self {
        let id = request_id.to_str().unwrap_or("invalid-request-id");
        Self {
            _in_flight: sinks.metrics.in_flight(),
            sinks: Arc::clone(sinks),
            stats: None,
            record: Record::new(SystemTime::now(), Arc::from(id), operation),
            arrived: Instant::now(),
            body_read: None,
            sent: None,
            answered: None,
            responded: false,
            finished: false,
        }
    }

    /// Starts the record of `req`, under the id [`crate::trace`] gave it.
    pub fn of_request<B>(
        sinks: &Arc<Telemetry>,
        req: &http::Request<B>,
        operation: &'static str,
    ) -> Option<Self> {
        let id = crate::trace::request_id_of(req.extensions(), req.headers());
        Some(Self::start(sinks, &id, operation))
    }

    /// The operation actually sent upstream, when it differs from the client's (translation).
    pub fn operation(&mut self, operation: &'static str) {
        self.record.operation = operation;
    }

    pub fn client(&mut self, client: &ClientIdentity) {
        self.record.key = Some(key_id(client));
    }

    /// The model alias and its in-memory counters.
    pub fn model(&mut self, alias: &str, stats: Arc<ModelStats>) {
        self.record.model = Arc::from(alias);
        self.stats = Some(stats);
    }

    /// The client's body is in; the gateway's own work starts.
    pub fn body_read(&mut self) {
        self.body_read = Some(Instant::now());
    }

    /// The first upstream attempt starts.
    pub fn sending(&mut self) {
        self.sent = Some(Instant::now());
    }

    /// The deployment that is being (or was last) tried, for a request that fails before an
    /// answer.
    pub fn target(&mut self, upstream: &Arc<str>, deployment: &Arc<str>) {
        self.record.upstream = Some(Arc::clone(upstream));
        self.record.deployment = Some(Arc::clone(deployment));
    }

    /// The upstream answered with these headers (`upstream` and `deployment` `None` when the
    /// caller does not know which one did).
    pub fn answered(
        &mut self,
        upstream: Option<&Arc<str>>,
        deployment: Option<&Arc<str>>,
        headers: &HeaderMap,
    ) {
        let now = Instant::now();
        self.answered = Some(now);
        if let Some(sent) = self.sent {
            self.record.upstream_latency = Some(now.saturating_duration_since(sent));
        }
        if let Some(upstream) = upstream {
            self.record.upstream = Some(Arc::clone(upstream));
        }
        if deployment.is_some() {
            self.record.deployment = deployment.cloned();
        }
        self.record.upstream_request_id = upstream_request_id(headers, &self.record.request_id);
    }

    /// The response headers go to the client now.
    pub fn responded(&mut self, status: u16) {
        self.responded = true;
        self.record.status = status;
        let now = Instant::now();
        let own = now.saturating_duration_since(self.body_read.unwrap_or(self.arrived));
        let waited = match (self.sent, self.answered) {
            (Some(sent), Some(answered)) => answered.saturating_duration_since(sent),
            _ => std::time::Duration::ZERO,
        };
        self.record.overhead = Some(own.saturating_sub(waited));
    }

    /// The first body bytes arrived from the upstream (kept for streams only).
    pub fn first_byte(&mut self) {
        if self.record.ttft.is_none() {
            self.record.ttft = Some(self.arrived.elapsed());
        }
    }

    /// The response body ended; `scan` is what the side scanner found in it.
    pub fn finish_body(&mut self, end: BodyEnd, scan: ScanOutcome) {
        let unfinished_stream = end.streaming && !scan.finished && !end.cancelled;
        let rec = &mut self.record;
        rec.stream = end.streaming;
        if !end.streaming {
            rec.ttft = None;
        }
        rec.cancelled = end.cancelled;
        rec.usage = scan.usage;
        rec.content_filtered = scan.content_filtered;
        let failed = end.upstream_error || end.failed.is_some() || scan.error_event;
        if failed || unfinished_stream {
            rec.error_class = ErrorClass::Upstream;
            rec.error_code = Some(match end.failed {
                Some(code) => Cow::Borrowed(code),
                None if end.upstream_error => Cow::Owned(format!("upstream_{}", rec.status)),
                None if scan.error_event => Cow::Borrowed("upstream_error_event"),
                None => Cow::Borrowed("upstream_stream_unfinished"),
            });
        }
        self.complete();
    }

    /// The request ends with an error the gateway answers itself.
    pub fn fail(&mut self, err: &GatewayError) {
        self.record.status = err.status().as_u16();
        self.record.error_class = if err.is_upstream() {
            ErrorClass::Upstream
        } else {
            ErrorClass::Policy
        };
        self.record.error_code = Some(Cow::Borrowed(err.code()));
        self.complete();
    }

    /// The request ends with a response that has no body to observe (an upgrade, a redirect).
    /// The only such responses with an error status are upstream refusals passed on (a
    /// realtime handshake's), so they count as upstream errors.
    pub fn finish_plain(&mut self, status: u16) {
        if !self.responded {
            self.responded(status);
        }
        if status >= 400 {
            self.record.error_class = ErrorClass::Upstream;
            self.record.error_code = Some(Cow::Owned(format!("upstream_{status}")));
        }
        self.complete();
    }

    /// A realtime session opened: the handshake itself is not billed, so nothing is recorded
    /// now; each of the session's responses is recorded through the returned recorder.
    pub fn into_session(mut self, stats: Arc<ModelStats>) -> SessionRecorder {
        self.finished = true;
        let mut base = self.record.clone();
        base.overhead = None;
        SessionRecorder::new(Arc::clone(&self.sinks), stats, base)
    }

    fn complete(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.record.latency = self.arrived.elapsed();
        self.sinks.finish(self.stats.as_deref(), &self.record);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Dropped unfinished: the client went away while the gateway was still working.
        self.record.cancelled = true;
        if !self.responded {
            self.record.status = CLIENT_CLOSED;
        }
        self.complete();
    }
}

/// Completes a record that the pipeline did not hand to a response body: a response the
/// gateway made itself, or an error it answers.
pub fn settle<B>(slot: Option<Pending>, result: &Result<http::Response<B>, GatewayError>) {
    let Some(mut pending) = slot else {
        return;
    };
    match result {
        Ok(response) => pending.finish_plain(response.status().as_u16()),
        Err(err) => pending.fail(err),
    }
}

/// The upstream's id for the request: `apim-request-id`, else an `x-request-id` that is not
/// simply ours echoed back.
fn upstream_request_id(headers: &HeaderMap, ours: &str) -> Option<Arc<str>> {
    let pick = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && *v != ours)
    };
    pick("apim-request-id")
        .or_else(|| pick("x-request-id"))
        .map(Arc::from)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stream::Usage;

    fn start() -> Pending {
        let sinks = Arc::new(Telemetry::in_memory());
        Pending::start(
            &sinks,
            &HeaderValue::from_static("req-1"),
            "chat/completions",
        )
    }

    #[test]
    fn a_streamed_answer_records_everything_it_learned() {
        let stats = Arc::new(ModelStats::default());
        let mut p = start();
        p.client(&ClientIdentity::Key(Arc::from("team-a")));
        p.model("gpt-4o", Arc::clone(&stats));
        p.body_read();
        p.sending();
        std::thread::sleep(Duration::from_millis(20));
        let mut headers = HeaderMap::new();
        headers.insert("apim-request-id", HeaderValue::from_static("azure-9"));
        headers.insert("x-request-id", HeaderValue::from_static("req-1"));
        p.answered(
            Some(&Arc::from("east")),
            Some(&Arc::from("gpt-4o-2024")),
            &headers,
        );
        p.responded(200);
        p.first_byte();
        let usage = Usage {
            prompt: 7,
            completion: 3,
            total: 10,
            cached: 2,
            reasoning: 1,
        };
        let scan = ScanOutcome {
            usage: Some(usage),
            finished: true,
            ..Default::default()
        };
        let end = BodyEnd {
            streaming: true,
            ..Default::default()
        };
        p.finish_body(end, scan);
        let rec = &p.record;
        assert_eq!(&*rec.request_id, "req-1");
        assert_eq!(rec.key.as_deref(), Some("team-a"));
        assert_eq!(&*rec.model, "gpt-4o");
        assert_eq!(rec.deployment.as_deref(), Some("gpt-4o-2024"));
        assert_eq!(rec.upstream.as_deref(), Some("east"));
        assert_eq!(rec.upstream_request_id.as_deref(), Some("azure-9"));
        assert_eq!(
            (rec.status, rec.stream, rec.usage),
            (200, true, Some(usage))
        );
        assert_eq!(rec.error_class, ErrorClass::None);
        let upstream = rec.upstream_latency.unwrap();
        assert!(upstream >= Duration::from_millis(20), "{upstream:?}");
        // The wait on the upstream is not the gateway's overhead.
        assert!(rec.overhead.unwrap() < Duration::from_millis(15), "{rec:?}");
        assert!(rec.ttft.unwrap() >= upstream);
        assert!(rec.latency >= rec.ttft.unwrap());
        // Counted once in the model's stats, even if finished again.
        p.finish_plain(200);
        drop(p);
        let snap = stats_snapshot(&stats);
        assert_eq!((snap.0, snap.1, snap.2), (1, 0, 10));
    }

    fn stats_snapshot(stats: &ModelStats) -> (u64, u64, u64) {
        let t = stats.totals();
        (t.requests, t.errors, t.total_tokens)
    }

    #[test]
    fn failures_are_classed_by_who_failed() {
        let mut p = start();
        p.fail(&GatewayError::InvalidApiKey);
        assert_eq!(p.record.status, 401);
        assert_eq!(p.record.error_class, ErrorClass::Policy);
        assert_eq!(p.record.error_code.as_deref(), Some("invalid_api_key"));
        let mut p = start();
        p.fail(&GatewayError::UpstreamTimeout {
            upstream: "east".into(),
            phase: crate::error::Phase::FirstByte,
            ms: 10,
        });
        assert_eq!(p.record.status, 504);
        assert_eq!(p.record.error_class, ErrorClass::Upstream);
        let mut p = start();
        p.responded(429);
        p.finish_body(
            BodyEnd {
                upstream_error: true,
                ..Default::default()
            },
            ScanOutcome::default(),
        );
        assert_eq!(p.record.error_class, ErrorClass::Upstream);
        assert_eq!(p.record.error_code.as_deref(), Some("upstream_429"));
        // A stream that ended without its last event is an upstream failure too.
        let mut p = start();
        p.responded(200);
        let end = BodyEnd {
            streaming: true,
            ..Default::default()
        };
        p.finish_body(end, ScanOutcome::default());
        assert_eq!(
            p.record.error_code.as_deref(),
            Some("upstream_stream_unfinished")
        );
    }

    #[test]
    fn a_client_that_leaves_early_is_recorded_as_cancelled() {
        let stats = Arc::new(ModelStats::default());
        let mut p = start();
        p.model("gpt-4o", Arc::clone(&stats));
        drop(p);
        let t = stats.totals();
        assert_eq!((t.requests, t.cancelled, t.errors), (1, 1, 0));
    }

    #[test]
    fn passthrough_keys_are_recorded_by_digest_and_upstream_echoes_are_not_ids() {
        let id = key_id(&ClientIdentity::Passthrough("sk-secret-value".into()));
        assert!(id.starts_with("pt-") && id.len() == 15, "{id}");
        assert!(!id.contains("secret"));
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("ours"));
        assert_eq!(upstream_request_id(&h, "ours"), None);
        h.insert("x-request-id", HeaderValue::from_static("theirs"));
        assert_eq!(upstream_request_id(&h, "ours").as_deref(), Some("theirs"));
    }
}
