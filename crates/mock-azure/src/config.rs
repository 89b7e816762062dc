//! What the mock accepts and how each deployment behaves.

use std::collections::HashMap;

use crate::entra::TokenAuthority;

/// The audiences the data plane accepts in Entra tokens by default: the classic Azure
/// OpenAI scope and the Foundry one (WIRE-FACTS A4, "Token scopes").
pub const DEFAULT_TOKEN_AUDIENCES: [&str; 2] = [
    "https://cognitiveservices.azure.com",
    "https://ai.azure.com",
];

/// Server-wide settings, fixed at start except for behaviours
/// (see [`MockServer::set_behavior`](crate::MockServer::set_behavior)).
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// `None`: any non-empty key is accepted; `Some(k)`: only `k`.
    pub key: Option<String>,
    /// Record data-plane requests; benchmarks turn it off to keep the fast path cheap.
    pub record: bool,
    /// `Some(list)`: any other deployment gets Azure's 404 `DeploymentNotFound`.
    /// `None`: every name is accepted.
    pub deployments: Option<Vec<String>>,
    /// Default behaviour per deployment name; `x-mock-*` headers override it per request.
    pub behaviors: HashMap<String, Behavior>,
    /// `Some`: the resource has local (key) auth disabled, like one that only takes Entra
    /// ID. Every data-plane request needs `Authorization: Bearer <token>` that this
    /// authority issued for one of [`token_audiences`](Self::token_audiences); an
    /// `api-key` gets `AuthenticationTypeDisabled`. `None`: the key rules above.
    pub entra: Option<TokenAuthority>,
    /// Token audiences accepted when [`entra`](Self::entra) is set
    /// (default [`DEFAULT_TOKEN_AUDIENCES`]).
    pub token_audiences: Vec<String>,
    /// Deployments that are reasoning models besides those whose name says so
    /// (`gpt-5*` but not `gpt-5-chat*`/`gpt-5.1-chat*`, `o1*`, `o3*`, `o4*`, `codex*`;
    /// case-insensitive). Their chat completions refuse what Azure refuses for reasoning
    /// models (`max_tokens`, non-default sampling parameters, …) and their responses carry
    /// a reasoning item. A deployment name says nothing about its model, hence the list.
    pub reasoning: Vec<String>,
    /// Deployments that serve only `/responses` besides those whose name says so (any name
    /// containing `codex`, `gpt-5-pro*`, `o3-pro*`): chat completions get Azure's 400
    /// `OperationNotSupported`.
    pub responses_only: Vec<String>,
    /// Deployments that serve only chat completions: `/responses` gets Azure's 400
    /// `OperationNotSupported`. Wins over a name that looks Responses-only.
    pub chat_only: Vec<String>,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            key: None,
            record: true,
            deployments: None,
            behaviors: HashMap::new(),
            entra: None,
            token_audiences: DEFAULT_TOKEN_AUDIENCES.map(str::to_owned).to_vec(),
            reasoning: Vec::new(),
            responses_only: Vec::new(),
            chat_only: Vec::new(),
        }
    }
}

/// How the mock answers one request. The default is a prompt, successful answer.
#[derive(Clone, Debug, Default)]
pub struct Behavior {
    /// Force this status: 429 → Azure's rate-limit body, 5xx → Azure's server error body,
    /// 400 → the content-filter body, other codes → a generic Azure error. 200 means normal.
    pub status: Option<u16>,
    /// `retry-after` (seconds) on 429 and 5xx answers.
    pub retry_after_secs: Option<u64>,
    /// `retry-after-ms` on 429 and 5xx answers.
    pub retry_after_ms: Option<u64>,
    /// `x-ms-retry-after-ms` on 429 and 5xx answers (sent by some Azure AI services instead
    /// of, or besides, `retry-after-ms`).
    pub x_ms_retry_after_ms: Option<u64>,
    /// Send `retry-after` as an HTTP date (now + `retry_after_secs`) instead of seconds.
    pub retry_after_as_date: bool,
    /// Answer with Azure's content-filter 400 (prompt rejected).
    pub content_filter: bool,
    /// Sleep this long before sending the response headers.
    pub header_delay_ms: u64,
    /// Sleep this long before every SSE event after the first one (and before every frame
    /// of other streamed answers: speech audio, file content).
    pub event_delay_ms: u64,
    /// Abort the connection after this many SSE events (counting every event, the
    /// prompt-filter chunk included), with no `[DONE]` and no terminating chunk; other
    /// streamed answers (speech audio, file content) count their frames the same way.
    /// Non-streaming answers send half of the body and then abort.
    pub cut_after_events: Option<usize>,
    /// Number of content delta events in a stream (default 5); also sizes the
    /// non-streaming text so both carry the same content.
    pub content_events: Option<usize>,
    /// Token counts to report (default [`MockUsage::default`]).
    pub usage: Option<MockUsage>,
    /// Realtime: close the session with this code (reason `"x-mock-close"`) right after
    /// `session.created`.
    pub close_code: Option<u16>,
    /// The model refuses: chat answers `refusal` instead of `content` (streamed as
    /// `delta.refusal`), Responses a `refusal` content part. Wins over a tool call.
    pub refusal: bool,
    /// The output filter stops the answer: chat finishes with `content_filter` and a
    /// filtered `violence` verdict, Responses ends `incomplete` (`content_filter`).
    pub filter_finish: bool,
    /// Asynchronous filter mode (WIRE-FACTS A7 item 3): a chat stream also carries
    /// annotation events, one after every 2 content deltas and one after the finish chunk.
    pub async_filter: bool,
    /// Re-cut every streamed body into frames of at most this many bytes, across event
    /// and UTF-8 character boundaries; delays then apply per frame, cuts still count events.
    pub split_bytes: Option<usize>,
}

/// Token counts reported in `usage`; `total = prompt + completion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MockUsage {
    pub prompt: u64,
    pub completion: u64,
    pub cached: u64,
    pub reasoning: u64,
}

impl MockUsage {
    /// `prompt + completion`, as Azure reports `total_tokens`.
    pub fn total(&self) -> u64 {
        self.prompt.saturating_add(self.completion)
    }
}

impl Default for MockUsage {
    fn default() -> Self {
        Self {
            prompt: 11,
            completion: 7,
            cached: 3,
            reasoning: 2,
        }
    }
}

/// Content deltas per stream when neither config nor header says otherwise.
pub(crate) const DEFAULT_CONTENT_EVENTS: usize = 5;
