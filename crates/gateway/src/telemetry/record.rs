//! One finished request, as every telemetry sink sees it: the in-memory stats, the Prometheus
//! metrics, the usage ledger and the request log all read the same [`Record`], built once when
//! the response body ends (or the client goes away, or the gateway refused the request).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::stream::Usage;

/// Whose fault a failed request was; `None` for a request that succeeded (or was cancelled by
/// its client).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    #[default]
    None,
    /// The gateway refused the request itself (key, validation, unknown model, limits), with
    /// nothing or nothing useful sent upstream.
    Policy,
    /// The upstream answered an error status, could not be reached, timed out, or broke its
    /// stream.
    Upstream,
}

impl ErrorClass {
    /// The label value in metrics and the ledger: `""`, `policy` or `upstream`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Policy => "policy",
            Self::Upstream => "upstream",
        }
    }
}

/// Everything known about one request when it is over.
#[derive(Debug, Clone)]
pub struct Record {
    /// Wall-clock time the request arrived.
    pub started: SystemTime,
    /// The gateway's request id (the client's `x-request-id`, or a generated `gw-…`).
    pub request_id: Arc<str>,
    /// The upstream's own id for the request: `apim-request-id`, else its `x-request-id` when
    /// it differs from ours.
    pub upstream_request_id: Option<Arc<str>>,
    /// The client key's configured id; `pt-<hash>` for passthrough keys; `None` when the client
    /// was not (yet) authenticated.
    pub key: Option<Arc<str>>,
    /// The model alias the client asked for; empty when the request never named one.
    pub model: Arc<str>,
    /// The deployment (target model) that answered, or was last tried.
    pub deployment: Option<Arc<str>>,
    /// The configured upstream name that answered, or was last tried.
    pub upstream: Option<Arc<str>>,
    /// The operation's route key (`chat/completions`, `responses`, `files`, …).
    pub operation: &'static str,
    /// The HTTP status the client got (101 for a realtime session).
    pub status: u16,
    pub error_class: ErrorClass,
    /// The gateway's error code (`invalid_api_key`, `upstream_timeout`, …) or the upstream's
    /// status-derived one; `None` on success.
    pub error_code: Option<Cow<'static, str>>,
    /// The response was an SSE stream (or a realtime session).
    pub stream: bool,
    /// The client went away before the response ended.
    pub cancelled: bool,
    /// Azure's content filter refused the prompt or cut the completion.
    pub content_filtered: bool,
    pub usage: Option<Usage>,
    /// Arrival to the end of the response body.
    pub latency: Duration,
    /// Streams: arrival to the first body bytes from the upstream.
    pub ttft: Option<Duration>,
    /// From the first upstream attempt to the answering upstream's headers (failover included).
    pub upstream_latency: Option<Duration>,
    /// Time the gateway itself spent: from the end of the client's body to the response headers,
    /// minus `upstream_latency`.
    pub overhead: Option<Duration>,
}

impl Record {
    /// A record with only the identity fields set; callers fill in the rest.
    pub fn new(started: SystemTime, request_id: Arc<str>, operation: &'static str) -> Self {
        Self {
            started,
            request_id,
            upstream_request_id: None,
            key: None,
            model: Arc::from(""),
            deployment: None,
            upstream: None,
            operation,
            status: 0,
            error_class: ErrorClass::None,
            error_code: None,
            stream: false,
            cancelled: false,
            content_filtered: false,
            usage: None,
            latency: Duration::ZERO,
            ttft: None,
            upstream_latency: None,
            overhead: None,
        }
    }

    /// Whether the request counts as an error in the stats.
    pub fn is_error(&self) -> bool {
        self.error_class != ErrorClass::None
    }
}
