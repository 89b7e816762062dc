//! Side scanners for response bodies. Bodies are forwarded frame by frame, unchanged; a
//! scanner sees each frame as `&[u8]` and keeps only a small tail to find token usage,
//! error events and completion, so nothing proportional to the body is retained.
//! [`events`] splits an SSE body into whole events for the bodies the gateway does edit
//! ([`crate::rewrite`]).

pub mod events;
mod json_tail;
pub mod realtime;
mod sse;
mod usage;
mod usage_scan;

pub use json_tail::JsonTail;
pub use sse::SseScanner;
pub use usage::Usage;

/// What a scanner learned about one response body.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanOutcome {
    /// The last usage seen (a stream's final usage chunk or `response.completed`).
    pub usage: Option<Usage>,
    /// An SSE error event (`{"type":"error",…}`, `event: error`, `response.failed`, or a data
    /// object with a top-level `error`), or a JSON body whose top level has `error`.
    pub error_event: bool,
    /// SSE: saw `data: [DONE]` or a `response.completed`/`incomplete`/`failed` event.
    /// JSON: the body ended and was a complete value.
    pub finished: bool,
    /// SSE data events seen.
    pub events: u64,
    /// A choice finished with `content_filter` (or a Responses object was left incomplete
    /// by it).
    pub content_filtered: bool,
}

/// What a response body is, by its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Sse,
    Json,
    Opaque,
}

impl BodyKind {
    /// `text/event-stream` → Sse; `application/json` (or `+json`) → Json; else Opaque.
    pub fn of(ct: Option<&str>) -> Self {
        let Some(ct) = ct else {
            return Self::Opaque;
        };
        let mime = ct.split(';').next().unwrap_or_default().trim();
        let suffix = mime
            .len()
            .checked_sub(5)
            .and_then(|i| mime.as_bytes().get(i..));
        if mime.eq_ignore_ascii_case("text/event-stream") {
            Self::Sse
        } else if mime.eq_ignore_ascii_case("application/json")
            || suffix.is_some_and(|s| s.eq_ignore_ascii_case(b"+json"))
        {
            Self::Json
        } else {
            Self::Opaque
        }
    }
}

/// The scanner for one response body, chosen by its content type.
#[derive(Debug)]
pub enum Scanner {
    Sse(SseScanner),
    Json(JsonTail),
    Opaque,
}

impl Scanner {
    /// Choose by response content-type: `text/event-stream` → Sse; `application/json` (or
    /// `+json`) → Json; else Opaque.
    pub fn for_content_type(ct: Option<&str>) -> Self {
        match BodyKind::of(ct) {
            BodyKind::Sse => Self::Sse(SseScanner::new()),
            BodyKind::Json => Self::Json(JsonTail::new()),
            BodyKind::Opaque => Self::Opaque,
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        match self {
            Self::Sse(s) => s.feed(chunk),
            Self::Json(j) => j.feed(chunk),
            Self::Opaque => {}
        }
    }

    /// Call at end of body (finalizes the tail); idempotent.
    pub fn finish(&mut self) {
        match self {
            Self::Sse(s) => s.finish(),
            Self::Json(j) => j.finish(),
            Self::Opaque => {}
        }
    }

    /// For SSE bodies, [`SseScanner::boundary`]; `None` for other bodies.
    pub fn sse_boundary(&self) -> Option<bool> {
        match self {
            Self::Sse(s) => s.boundary(),
            _ => None,
        }
    }

    pub fn outcome(&self) -> ScanOutcome {
        match self {
            Self::Sse(s) => s.outcome(),
            Self::Json(j) => j.outcome(),
            Self::Opaque => ScanOutcome::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SSE: Option<&str> = Some("text/event-stream; charset=utf-8");

    /// Azure chat completions stream (WIRE-FACTS A7): empty-choices prompt-filter chunk,
    /// deltas with `content_filter_results`, finish chunk, usage chunk, `[DONE]`.
    const AZURE_CHAT: &str = concat!(
        r#"data: {"id":"","choices":[],"created":0,"model":"","object":"","system_fingerprint":null,"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]}"#,
        "\n\n",
        r#"data: {"choices":[{"content_filter_results":{},"delta":{"content":"","role":"assistant","refusal":null},"finish_reason":null,"index":0,"logprobs":null}],"created":1718756652,"id":"chatcmpl-9bS7dOqCqAyNUo1zPdvCDUQ4wRMNm","model":"gpt-4-0613","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}"#,
        "\n\n",
        r#"data: {"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}},"delta":{"content":"héllo 🌍 \"usage\":{\"prompt_tokens\":999}"},"finish_reason":null,"index":0,"logprobs":null}],"created":1718756652,"id":"chatcmpl-9bS7dOqCqAyNUo1zPdvCDUQ4wRMNm","model":"gpt-4-0613","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}"#,
        "\n\n",
        r#"data: {"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1718756652,"id":"chatcmpl-9bS7dOqCqAyNUo1zPdvCDUQ4wRMNm","model":"gpt-4-0613","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}"#,
        "\n\n",
    );
    const USAGE_CHUNK: &str = concat!(
        r#"data: {"id":"chatcmpl-9bS7dOqCqAyNUo1zPdvCDUQ4wRMNm","object":"chat.completion.chunk","created":1718756652,"model":"gpt-4-0613","system_fingerprint":null,"choices":[],"usage":{"prompt_tokens":308,"completion_tokens":68,"total_tokens":376}}"#,
        "\n\n",
    );
    const DONE: &str = "data: [DONE]\n\n";

    /// Responses API stream ending in `response.completed`.
    const RESPONSES: &str = concat!(
        "event: response.created\n",
        r#"data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1741290958,"status":"in_progress","error":null,"incomplete_details":null,"model":"o4-mini","output":[],"usage":null}}"#,
        "\n\n",
        "event: response.in_progress\n",
        r#"data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_1","object":"response","status":"in_progress","error":null,"output":[],"usage":null}}"#,
        "\n\n",
        "event: response.output_text.delta\n",
        r#"data: {"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"héllo 🌍"}"#,
        "\n\n",
        "event: response.output_text.done\n",
        r#"data: {"type":"response.output_text.done","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"text":"héllo 🌍"}"#,
        "\n\n",
        "event: response.completed\n",
        r#"data: {"type":"response.completed","sequence_number":4,"response":{"id":"resp_1","object":"response","created_at":1741290958,"status":"completed","error":null,"incomplete_details":null,"model":"o4-mini","output":[{"type":"reasoning","id":"rs_1","summary":[]},{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"héllo 🌍","annotations":[]}]}],"usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":8},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":123},"user":null,"metadata":{}}}"#,
        "\n\n",
    );

    fn run(ct: Option<&str>, frames: &[&[u8]]) -> ScanOutcome {
        let mut s = Scanner::for_content_type(ct);
        for f in frames {
            s.feed(f);
        }
        s.finish();
        let first = s.outcome();
        s.finish();
        assert_eq!(s.outcome(), first, "finish is idempotent");
        first
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Feeds `body` whole, split at every position, byte by byte and in random frames; all
    /// outcomes must be identical.
    fn scan_every_way(ct: Option<&str>, body: &[u8]) -> ScanOutcome {
        let whole = run(ct, &[body]);
        for i in 0..=body.len() {
            let (a, b) = body.split_at(i);
            assert_eq!(run(ct, &[a, b]), whole, "split at {i}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(run(ct, &bytes), whole, "1-byte frames");
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        for round in 0..200 {
            let mut frames = Vec::new();
            let mut rest = body;
            while !rest.is_empty() {
                let n = (rng.next() % 97) as usize;
                let (f, r) = rest.split_at(n.min(rest.len()));
                frames.push(f);
                rest = r;
            }
            assert_eq!(run(ct, &frames), whole, "random round {round}");
        }
        whole
    }

    fn with_endings(body: &str, eol: &str) -> String {
        body.replace('\n', eol)
    }

    #[test]
    fn azure_chat_stream_with_usage() {
        let body = format!("{AZURE_CHAT}{USAGE_CHUNK}{DONE}");
        let want = ScanOutcome {
            usage: Some(Usage {
                prompt: 308,
                completion: 68,
                total: 376,
                ..Usage::default()
            }),
            error_event: false,
            finished: true,
            events: 6,
            content_filtered: false,
        };
        for eol in ["\n", "\r\n", "\r"] {
            let body = with_endings(&body, eol);
            assert_eq!(scan_every_way(SSE, body.as_bytes()), want, "eol {eol:?}");
        }
    }

    #[test]
    fn stream_without_usage() {
        let body = format!("{AZURE_CHAT}{DONE}");
        let o = scan_every_way(SSE, body.as_bytes());
        assert_eq!(o.usage, None);
        assert!(o.finished && !o.error_event && !o.content_filtered);
        assert_eq!(o.events, 5);
        // Cut before [DONE]: not finished.
        let o = run(SSE, &[AZURE_CHAT.as_bytes()]);
        assert!(!o.finished);
    }

    #[test]
    fn responses_stream_completed() {
        let o = scan_every_way(SSE, RESPONSES.as_bytes());
        let want = Usage {
            prompt: 36,
            completion: 87,
            total: 123,
            cached: 8,
            reasoning: 64,
        };
        assert_eq!(o.usage, Some(want));
        assert!(o.finished && !o.error_event && !o.content_filtered);
        assert_eq!(o.events, 5);
        let crlf = with_endings(RESPONSES, "\r\n");
        assert_eq!(scan_every_way(SSE, crlf.as_bytes()), o);
    }

    #[test]
    fn responses_incomplete_by_filter() {
        let body = concat!(
            "event: response.incomplete\n",
            r#"data: {"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"content_filter"},"usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7}}}"#,
            "\n\n"
        );
        let o = scan_every_way(SSE, body.as_bytes());
        assert!(o.finished && o.content_filtered && !o.error_event);
        assert_eq!(o.usage.map(|u| u.total), Some(7));
    }

    #[test]
    fn error_events() {
        let cases = [
            "event: error\ndata: {\"message\":\"boom\"}\n\n",
            "data: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"The server had an error\",\"param\":null,\"sequence_number\":3}\n\n",
            "data: {\"error\":{\"message\":\"The server had an error processing your request.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n",
            "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"x\"},\"usage\":null}}\n\n",
        ];
        for case in cases {
            let body = format!("{AZURE_CHAT}{case}");
            let o = scan_every_way(SSE, body.as_bytes());
            assert!(o.error_event, "{case}");
            assert_eq!(o.events, 5, "{case}");
        }
        let failed = run(SSE, &[cases[3].as_bytes()]);
        assert!(failed.finished);
        // `event: error` applies only to its own event.
        let o = run(SSE, &[b"event: error\n\ndata: {}\n\n"]);
        assert!(!o.error_event);
        assert_eq!(o.events, 1);
    }

    #[test]
    fn async_filter_annotations_are_not_errors() {
        let body = concat!(
            r#"data: {"id":"","object":"","created":0,"model":"","choices":[{"index":0,"finish_reason":null,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}},"content_filter_offsets":{"check_offset":44,"start_offset":44,"end_offset":198}}],"usage":null}"#,
            "\n\n",
            r#"data: {"choices":[{"index":0,"finish_reason":null,"delta":{"content":"x"},"content_filter_results":{"error":{"code":"content_filter_error","message":"The contents are not filtered"}}}],"usage":null}"#,
            "\n\n",
        );
        let o = scan_every_way(SSE, body.as_bytes());
        assert!(!o.error_event && !o.content_filtered && o.usage.is_none());
        assert_eq!(o.events, 2);
        let late = concat!(
            r#"data: {"id":"","object":"","created":0,"model":"","choices":[{"index":0,"finish_reason":"content_filter","content_filter_results":{"protected_material_text":{"detected":true,"filtered":true}},"content_filter_offsets":{"check_offset":65,"start_offset":65,"end_offset":1056}}],"usage":null}"#,
            "\n\n",
        );
        let body = format!("{AZURE_CHAT}{late}{USAGE_CHUNK}{DONE}");
        let o = scan_every_way(SSE, body.as_bytes());
        assert!(o.content_filtered && !o.error_event && o.finished);
        assert_eq!(o.usage.map(|u| u.total), Some(376));
    }

    #[test]
    fn multi_line_and_field_syntax() {
        let body = concat!(
            "\u{FEFF}: keep-alive comment\n",
            "id: 1\nretry: 1000\n",
            "data:{\"id\":\"x\",\"choices\":[],\n",
            "data: \"usage\":{\"prompt_tokens\":1,\n",
            "data:\n",
            "data:   \"completion_tokens\":2,\"total_tokens\":3}}\n",
            "\n",
            "data\n\n",
            "data: [DONE]\n\n",
        );
        let o = scan_every_way(SSE, body.as_bytes());
        assert_eq!(
            o.usage,
            Some(Usage {
                prompt: 1,
                completion: 2,
                total: 3,
                ..Usage::default()
            })
        );
        assert_eq!(o.events, 3);
        assert!(o.finished);
        // Several JSON objects on the lines of one event are still read one by one.
        let body = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9}}\ndata: [DONE]\n\n";
        let o = scan_every_way(SSE, body.as_bytes());
        assert_eq!(o.usage.map(|u| u.prompt), Some(9));
        assert!(o.finished);
        assert_eq!(o.events, 1);
    }

    #[test]
    fn utf8_split_inside_characters() {
        let body = concat!(
            r#"data: {"model":"gpt-4-héllo-🌍","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3}}"#,
            "\n\n"
        );
        let emoji = body.find('🌍').unwrap_or_default();
        let b = body.as_bytes();
        for cut in emoji + 1..emoji + 4 {
            let o = run(SSE, &[&b[..cut], &b[cut..]]);
            assert_eq!(o.usage.map(|u| u.total), Some(5));
        }
        assert_eq!(scan_every_way(SSE, b).usage.map(|u| u.total), Some(5));
    }

    #[test]
    fn end_of_body_ends_the_last_event() {
        let o = run(
            SSE,
            &[b"data: {\"choices\":[],\"usage\":{\"total_tokens\":4}}\n\ndata: [DONE]"],
        );
        assert!(o.finished);
        assert_eq!(o.usage.map(|u| u.total), Some(4));
        assert_eq!(o.events, 2);
        let mut s = Scanner::for_content_type(SSE);
        s.feed(b"data: [DONE]");
        assert!(!s.outcome().finished);
        s.finish();
        s.feed(b"\n\ndata: {\"error\":{}}\n\n");
        assert!(s.outcome().finished && !s.outcome().error_event);
    }

    #[test]
    fn content_type_selection() {
        let kind = |ct| match Scanner::for_content_type(ct) {
            Scanner::Sse(_) => "sse",
            Scanner::Json(_) => "json",
            Scanner::Opaque => "opaque",
        };
        assert_eq!(kind(SSE), "sse");
        assert_eq!(kind(Some("Text/Event-Stream")), "sse");
        assert_eq!(kind(Some("application/json")), "json");
        assert_eq!(kind(Some("Application/JSON; charset=utf-8")), "json");
        assert_eq!(kind(Some("application/problem+json")), "json");
        assert_eq!(kind(Some("text/plain")), "opaque");
        assert_eq!(kind(Some("audio/mpeg")), "opaque");
        assert_eq!(kind(Some("json")), "opaque");
        assert_eq!(kind(Some("")), "opaque");
        assert_eq!(kind(None), "opaque");
        let o = run(Some("application/octet-stream"), &[USAGE_CHUNK.as_bytes()]);
        assert_eq!(o, ScanOutcome::default());
    }

    #[test]
    fn json_body_through_scanner() {
        let body = br#"{"object":"list","data":[],"model":"m","usage":{"prompt_tokens":15,"total_tokens":15}}"#;
        let o = run(Some("application/json"), &[&body[..10], &body[10..]]);
        assert_eq!(
            o.usage,
            Some(Usage {
                prompt: 15,
                total: 15,
                ..Usage::default()
            })
        );
        assert!(o.finished && o.events == 0);
    }

    #[test]
    fn garbage_never_panics_and_ignores_framing() {
        let mut rng = XorShift(0xDEAD_BEEF_CAFE_F00D);
        let pieces: [&[u8]; 16] = [
            b"data:",
            b"data: ",
            b"event: error",
            b"\n",
            b"\r",
            b"\r\n",
            b"[DONE]",
            b"{",
            b"}",
            b"\"usage\":{\"prompt_tokens\":3}",
            b"\"error\"",
            b":",
            b"\"type\":\"response.completed\"",
            "é🌍".as_bytes(),
            b"\xFF\xC3",
            b"\"finish_reason\":\"content_filter\"",
        ];
        for round in 0..150 {
            let mut body = Vec::new();
            for _ in 0..(rng.next() % 60) {
                let r = rng.next();
                if r.is_multiple_of(4) {
                    body.push((r >> 16) as u8);
                } else {
                    body.extend_from_slice(pieces[(r >> 16) as usize % pieces.len()]);
                }
            }
            let whole = run(SSE, &[&body]);
            let mut frames = Vec::new();
            let mut rest = &body[..];
            while !rest.is_empty() {
                let (f, r) = rest.split_at(((rng.next() % 13) as usize).min(rest.len()));
                frames.push(f);
                rest = r;
            }
            assert_eq!(run(SSE, &frames), whole, "round {round}");
            let _ = run(Some("application/json"), &frames);
        }
    }

    mod props {
        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::sample::{Index, select};

        use super::{AZURE_CHAT, DONE, RESPONSES, SSE, USAGE_CHUNK, run};

        const ERROR_EVENT: &str = "event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"x\"}\n\n";
        const COMMENT: &str = ": keep-alive\n\n";

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

            /// Any mix of Azure chat, usage, Responses, error and comment events, with any line
            /// endings, cut into any frames: the outcome is the unsplit run's.
            #[test]
            fn any_framing_gives_the_same_outcome(
                parts in vec(select(vec![AZURE_CHAT, USAGE_CHUNK, RESPONSES, ERROR_EVENT, COMMENT, DONE]), 0..8),
                eol in select(vec!["\n", "\r\n", "\r"]),
                cuts in vec(any::<Index>(), 0..24),
            ) {
                let body = parts.concat().replace('\n', eol);
                let body = body.as_bytes();
                let mut at: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
                at.sort_unstable();
                let mut frames = Vec::new();
                let mut from = 0;
                for cut in at.into_iter().chain([body.len()]) {
                    frames.push(&body[from..cut]);
                    from = cut;
                }
                prop_assert_eq!(run(SSE, &frames), run(SSE, &[body]));
            }
        }
    }
}
