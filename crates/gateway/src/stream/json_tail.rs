//! Usage and error detection for non-streaming JSON bodies, keeping only the head and a
//! rolling tail. Azure puts `usage` near the end of chat/completions/embeddings/responses
//! bodies, and embeddings bodies can be many MiB, so the middle is never kept.

use std::sync::LazyLock;

use memchr::memmem;
use serde::de::IgnoredAny;

use super::ScanOutcome;
use super::usage::{Doc, Usage, usage_at, usage_from_slice};

/// The tail kept for the usage search. `usage` and the few fields that may follow it in a
/// Responses object (`user`, `metadata`, …) fit comfortably.
const TAIL_LEN: usize = 64 * 1024;
/// Enough of the start to see a top-level `{"error"` and an early `finish_reason`.
const HEAD_LEN: usize = 256;
const BOM: &[u8] = b"\xEF\xBB\xBF";

static USAGE_KEY: LazyLock<memmem::FinderRev<'static>> =
    LazyLock::new(|| memmem::FinderRev::new(b"\"usage\""));
// Shared with the SSE scanner's prefilter.
pub(super) static USAGE: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"usage\""));
static ERROR: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"error\""));
pub(super) static CONTENT_FILTER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"content_filter\""));
/// Ends both `"error"` and `"content_filter"`, yet is rare in Azure bodies (few of their keys
/// and values end in `r`, unlike `"content_filter_results"`, which trips a search for
/// `"content_filter"` itself): one pass finds both words.
static R_QUOTE: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"r\""));

/// Scanner for an `application/json` body.
#[derive(Debug, Default)]
pub struct JsonTail {
    /// The first `HEAD_LEN` bytes, copied out only when `tail` first drops its front; until
    /// then `tail` holds them.
    head: Vec<u8>,
    /// At least the last `TAIL_LEN` bytes, at most `2 * TAIL_LEN`; the front is discarded
    /// only when that bound is hit, so trimming is amortized O(1) per byte, and a body of up
    /// to `2 * TAIL_LEN` is kept whole however it is framed.
    tail: Vec<u8>,
    total: u64,
    /// Whether `tail` has lost the body's first bytes.
    trimmed: bool,
    done: bool,
    out: ScanOutcome,
}

impl JsonTail {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        if self.done || chunk.is_empty() {
            return;
        }
        self.total = self.total.saturating_add(chunk.len() as u64);
        if chunk.len() >= 2 * TAIL_LEN {
            self.save_head(chunk);
            self.tail.clear();
            self.tail
                .extend_from_slice(&chunk[chunk.len() - TAIL_LEN..]);
            return;
        }
        let len = self.tail.len() + chunk.len();
        if len > 2 * TAIL_LEN {
            self.save_head(chunk);
            let drop = (len - TAIL_LEN).min(self.tail.len());
            self.tail.drain(..drop);
        }
        self.tail.extend_from_slice(chunk);
    }

    /// Copies the head out before `tail` first drops its front (`chunk` comes next).
    fn save_head(&mut self, chunk: &[u8]) {
        if self.trimmed {
            return;
        }
        self.trimmed = true;
        let from_tail = self.tail.len().min(HEAD_LEN);
        self.head.extend_from_slice(&self.tail[..from_tail]);
        let from_chunk = chunk.len().min(HEAD_LEN - from_tail);
        self.head.extend_from_slice(&chunk[..from_chunk]);
    }

    /// The body's first `HEAD_LEN` bytes (fewer if it is shorter).
    fn head(&self) -> &[u8] {
        if self.trimmed {
            &self.head
        } else {
            &self.tail[..self.tail.len().min(HEAD_LEN)]
        }
    }

    /// Decides the outcome from what was kept, then frees the buffers; idempotent.
    pub fn finish(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        self.judge();
        self.head = Vec::new();
        self.tail = Vec::new();
    }

    /// A body kept whole is parsed exactly; a longer one is judged from its head and tail.
    fn judge(&mut self) {
        if !self.trimmed {
            let body = self.tail.strip_prefix(BOM).unwrap_or(&self.tail);
            if let Some(quick) = quick_judge(body) {
                self.out.finished = looks_complete(self.head(), &self.tail);
                self.out.usage = quick;
                return;
            }
            if let Some(doc) = Doc::parse(body) {
                doc.apply(&mut self.out);
                // Lifecycle `type`s mean nothing in a plain body; completeness is decided here.
                self.out.finished = true;
                return;
            }
            self.out.finished = serde_json::from_slice::<IgnoredAny>(body).is_ok();
        } else {
            self.out.finished = looks_complete(self.head(), &self.tail);
        }
        if top_level_error(self.head()) {
            self.out.error_event = true;
        }
        if let Some(u) = last_usage(&self.tail) {
            self.out.usage = Some(u);
        }
        if content_filtered(self.head()) || content_filtered(&self.tail) {
            self.out.content_filtered = true;
        }
    }

    pub fn outcome(&self) -> ScanOutcome {
        self.out
    }
}

/// The common case, judged without a full parse (which cost a quarter of the gateway's
/// instructions per small chat completion): no error, no `content_filter` value and at most
/// one `"usage"` key, whose object is parsed alone. Completeness needs no check here: HTTP
/// framing already says whether a JSON body arrived whole, so opening and closing braces suffice.
/// `None` means "parse it exactly"; `Some(usage)` is the whole verdict.
fn quick_judge(body: &[u8]) -> Option<Option<Usage>> {
    if error_or_filter(body) {
        return None;
    }
    let mut usages = USAGE.find_iter(body);
    let Some(pos) = usages.next() else {
        return Some(None);
    };
    if usages.next().is_some() || escaped_or_unknown(body, pos) {
        return None;
    }
    let start = value_start(body, pos + b"\"usage\"".len())?;
    match body.get(start) {
        // Malformed usage text is left to the exact parse, which rejects the body.
        Some(b'{') => usage_at(body, start),
        Some(b'n') => Some(None),
        _ => None,
    }
}

/// `mentions_error(body) || CONTENT_FILTER.find(body).is_some()` in one pass over `body`,
/// not two: every `"error"` and `"content_filter"` ends in `r"`.
fn error_or_filter(body: &[u8]) -> bool {
    R_QUOTE.find_iter(body).any(|at| {
        let end = at + b"r\"".len();
        let before = &body[..end];
        before.ends_with(b"\"content_filter\"")
            || (before.ends_with(b"\"error\"")
                && value_start(body, end).and_then(|i| body.get(i)) != Some(&b'n'))
    })
}

/// Whether `buf` may carry an error: an `"error"` key whose value is not `null`, or the word
/// `"error"` anywhere else (a value such as a Responses `type`, or escaped inside a string,
/// where a false alarm only costs an exact parse).
pub(super) fn mentions_error(buf: &[u8]) -> bool {
    let key = b"\"error\"".len();
    ERROR
        .find_iter(buf)
        .any(|pos| value_start(buf, pos + key).and_then(|i| buf.get(i)) != Some(&b'n'))
}

/// Without the middle of the body the best check is that it opens and closes the same
/// container.
fn looks_complete(head: &[u8], tail: &[u8]) -> bool {
    let head = head.strip_prefix(BOM).unwrap_or(head).trim_ascii_start();
    matches!(
        (head.first(), tail.trim_ascii_end().last()),
        (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']'))
    )
}

/// `{"error": <non-null>` at the very start: Azure and OpenAI error bodies lead with it.
fn top_level_error(head: &[u8]) -> bool {
    let head = head.strip_prefix(BOM).unwrap_or(head).trim_ascii_start();
    let Some(rest) = head.strip_prefix(b"{") else {
        return false;
    };
    let rest = rest.trim_ascii_start();
    if !rest.starts_with(b"\"error\"") {
        return false;
    }
    value_start(rest, b"\"error\"".len()).is_some_and(|i| rest.get(i) != Some(&b'n'))
}

/// The last `"usage": {…}` key in `buf` whose object is complete and holds a usage.
fn last_usage(buf: &[u8]) -> Option<Usage> {
    USAGE_KEY.rfind_iter(buf).find_map(|pos| {
        if escaped_or_unknown(buf, pos) {
            return None;
        }
        let start = value_start(buf, pos + b"\"usage\"".len())?;
        if buf.get(start) != Some(&b'{') {
            return None;
        }
        let end = balanced_end(buf, start)?;
        usage_from_slice(buf.get(start..end)?)
    })
}

/// Whether the quote at `pos` is escaped. An even run of backslashes escapes itself; a run
/// reaching the start of the window cannot be judged, so it is treated as escaped.
fn escaped_or_unknown(buf: &[u8], pos: usize) -> bool {
    let before = &buf[..pos];
    let run = before.iter().rev().take_while(|&&b| b == b'\\').count();
    run == before.len() || run % 2 == 1
}

/// After a key ending at `after`: skips whitespace, `:`, whitespace and returns the index of
/// the value's first byte; `None` if no colon follows (the string was a value, not a key).
pub(super) fn value_start(buf: &[u8], after: usize) -> Option<usize> {
    let skip_ws = |mut i: usize| {
        while buf.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let colon = skip_ws(after);
    (buf.get(colon) == Some(&b':')).then(|| skip_ws(colon + 1))
}

/// The index just past the object or array opening at `start`, honouring strings and
/// escapes; `None` if it does not close within `buf`.
pub(super) fn balanced_end(buf: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while let Some(&b) = buf.get(i) {
        match b {
            b'"' => i = string_end(buf, i + 1)?,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of the quote closing a string whose content starts at `from`; jumps between
/// quotes and backslashes with memchr, so long content strings cost little.
pub(super) fn string_end(buf: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', buf.get(from..)?)?;
        if buf[at] == b'"' {
            return Some(at);
        }
        from = at + 2;
    }
}

/// Best effort: `"finish_reason": "content_filter"`, `"reason": "content_filter"` (Responses
/// `incomplete_details`) or `"code": "content_filter"` (the prompt filter's 400) anywhere in
/// `buf`.
fn content_filtered(buf: &[u8]) -> bool {
    CONTENT_FILTER.find_iter(buf).any(|pos| {
        let before = buf[..pos].trim_ascii_end();
        let Some(key) = before.strip_suffix(b":") else {
            return false;
        };
        let key = key.trim_ascii_end();
        key.ends_with(b"\"finish_reason\"")
            || key.ends_with(b"\"reason\"")
            || key.ends_with(b"\"code\"")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(body: &[u8], frame: usize) -> ScanOutcome {
        let mut t = JsonTail::new();
        for c in body.chunks(frame.max(1)) {
            t.feed(c);
        }
        t.finish();
        t.finish();
        t.outcome()
    }

    /// Scans `body` as one chunk and in several frame sizes; all must agree.
    fn scan_all(body: &[u8]) -> ScanOutcome {
        let one = scan(body, body.len());
        for frame in [1, 7, 1000, 16 * 1024, TAIL_LEN, TAIL_LEN + 1] {
            if frame < 64 && body.len() > 300_000 {
                continue;
            }
            assert_eq!(scan(body, frame), one, "frame {frame}");
        }
        one
    }

    const CHAT: &str = r#"{"id":"chatcmpl-AEj7pKFoiTqDPHuxOcirA9KIvf3yz","object":"chat.completion","created":1728073417,"model":"o1-2024-12-17","choices":[{"index":0,"finish_reason":"stop","logprobs":null,"message":{"role":"assistant","content":"héllo 🌍","refusal":null},"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"}}}],"usage":{"completion_tokens":1843,"prompt_tokens":20,"total_tokens":1863,"completion_tokens_details":{"audio_tokens":null,"reasoning_tokens":448},"prompt_tokens_details":{"audio_tokens":null,"cached_tokens":16}},"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"custom_blocklists":{"filtered":false},"jailbreak":{"filtered":false,"detected":false}}}]}"#;

    /// What the exact parse concludes for a whole body.
    fn exact(body: &[u8]) -> ScanOutcome {
        let mut out = ScanOutcome::default();
        if let Some(doc) = Doc::parse(body) {
            doc.apply(&mut out);
            out.finished = true;
        }
        out
    }

    #[test]
    fn quick_judge_agrees_with_the_exact_parse_or_defers() {
        let quick_cases: [&str; 6] = [
            CHAT,
            r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"model":"e","usage":{"prompt_tokens":5,"total_tokens":5}}"#,
            r#"{"id":"resp_1","object":"response","status":"completed","error":null,"incomplete_details":null,"output":[{"type":"message","content":[{"type":"output_text","text":"say \"usage\": {}"}]}],"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":4},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":12},"user":null,"metadata":{}}"#,
            r#"{"choices":[],"usage":null}"#,
            r#"{"choices":[{"message":{"content":"no usage here"}}]}"#,
            " \n{\"a\":{\"b\":[1,2,{\"c\":\"}]\\\\\"}]}, \"usage\": {\"prompt_tokens\": 2.0}}\n",
        ];
        for body in quick_cases {
            let quick = quick_judge(body.as_bytes());
            let want = exact(body.as_bytes());
            assert!(want.finished, "fixture must be valid JSON: {body}");
            assert_eq!(quick, Some(want.usage), "{body}");
            assert_eq!(scan_all(body.as_bytes()), want, "{body}");
        }
        let deferred = [
            r#"{"error":{"code":"429","message":"slow down"}}"#,
            r#"{"choices":[{"finish_reason":"content_filter"}],"usage":{"prompt_tokens":1}}"#,
            r#"{"metadata":{"usage":{"prompt_tokens":99}},"usage":{"prompt_tokens":1}}"#,
            r#"{"id":"resp_2","status":"failed","error":{"code":"server_error"},"usage":null}"#,
        ];
        for body in deferred {
            assert_eq!(quick_judge(body.as_bytes()), None, "{body}");
        }
        // Deferred bodies still get the exact verdict.
        let nested = scan_all(deferred[2].as_bytes());
        assert_eq!(nested.usage.map(|u| u.prompt), Some(1));
        assert!(scan_all(deferred[0].as_bytes()).error_event);
        assert!(scan_all(deferred[1].as_bytes()).content_filtered);
    }

    /// The mock's chat completion: `content_filter_results` everywhere, usage last.
    const MOCK: &str = r#"{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"},"protected_material_code":{"filtered":false,"detected":false},"protected_material_text":{"filtered":false,"detected":false}},"finish_reason":"stop","index":0,"logprobs":null,"message":{"annotations":[],"content":"Hello from mock-azure — héllo 🌍.","refusal":null,"role":"assistant"}}],"created":1795332079,"id":"chatcmpl-ov3RSFc0VyiYXKw523cbd0N6vjWcn","model":"gpt-4o-mini-2024-07-18","object":"chat.completion","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false}}}],"system_fingerprint":"fp_b705f0c291","usage":{"completion_tokens":7,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":2,"rejected_prediction_tokens":0},"prompt_tokens":11,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":3},"total_tokens":18}}"#;

    #[test]
    fn quick_judge_edges() {
        let o = exact(MOCK.as_bytes());
        assert_eq!(quick_judge(MOCK.as_bytes()), Some(o.usage));
        assert_eq!(
            o.usage.map(|u| (u.prompt, u.cached, u.reasoning)),
            Some((11, 3, 2))
        );
        assert_eq!(scan_all(MOCK.as_bytes()), o);
        let quick = [
            // Words that only look like the needles.
            r#"{"my_error":1,"user":"r","content_filter_results":{},"usage":{"total_tokens":4}}"#,
            r#"{"error" : null,"x":"filter","usage":{"prompt_tokens":1}}"#,
            // `"usage"` escaped inside a string, the real one not last.
            r#"{"c":"a \"usage\": {\"prompt_tokens\":9} \\","usage":{"prompt_tokens":2},"z":[]}"#,
        ];
        for body in quick {
            let want = exact(body.as_bytes());
            assert!(want.finished, "{body}");
            assert_eq!(quick_judge(body.as_bytes()), Some(want.usage), "{body}");
            assert!(want.usage.is_some(), "{body}");
        }
        let deferred = [
            r#"{"type":"error","usage":{"prompt_tokens":1}}"#,
            r#"{"error":{},"usage":{"prompt_tokens":1}}"#,
            r#"{"code":"content_filter"}"#,
            r#"{"incomplete_details":{"reason":"content_filter"}}"#,
            // A value anywhere, even where it means nothing.
            r#"{"c":["content_filter"]}"#,
            // Text that is not an object where the usage should be: the exact parse decides.
            r#"{"usage":{"prompt_tokens":1,}}"#,
            r#"{"usage":{"prompt_tokens":1 "#,
            r#"{"usage":7}"#,
            r#"{"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
        ];
        for body in deferred {
            assert_eq!(quick_judge(body.as_bytes()), None, "{body}");
        }
        assert!(!scan_all(deferred[5].as_bytes()).finished);
        assert!(scan_all(deferred[3].as_bytes()).content_filtered);
    }

    /// `error_or_filter` must agree with the two separate scans it replaces.
    #[test]
    fn one_scan_for_error_and_filter() {
        let mut seed = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let pieces: [&[u8]; 12] = [
            b"\"error\"",
            b"\"content_filter\"",
            b"\"content_filter_results\"",
            b"error",
            b"r\"",
            b":",
            b" null",
            b"n",
            b"{",
            b"\\",
            b"\"",
            b"x",
        ];
        for _ in 0..2000 {
            let len = (next() % 12) as usize;
            let body: Vec<u8> = (0..len)
                .flat_map(|_| pieces[(next() % 12) as usize].iter().copied())
                .collect();
            let separate = mentions_error(&body) || CONTENT_FILTER.find(&body).is_some();
            assert_eq!(
                error_or_filter(&body),
                separate,
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn head_survives_a_single_chunk_of_exactly_twice_the_tail() {
        let mut body = String::from(r#"{"error":{"message":""#);
        body.push_str(&"y".repeat(2 * TAIL_LEN - body.len() - 4));
        body.push_str(r#""}}"#);
        body.push(' ');
        assert_eq!(body.len(), 2 * TAIL_LEN);
        let o = scan(body.as_bytes(), body.len());
        assert!(o.error_event && o.finished);
        assert_eq!(scan(body.as_bytes(), TAIL_LEN), o);
    }

    #[test]
    fn chat_completion() {
        let o = scan_all(CHAT.as_bytes());
        let want = Usage {
            prompt: 20,
            completion: 1843,
            total: 1863,
            cached: 16,
            reasoning: 448,
        };
        assert_eq!(o.usage, Some(want));
        assert!(o.finished && !o.error_event && !o.content_filtered);
        assert_eq!(o.events, 0);
        // The same bytes forced through the tail path give the same usage.
        assert_eq!(last_usage(CHAT.as_bytes()), Some(want));
        assert!(looks_complete(CHAT.as_bytes(), CHAT.as_bytes()));
    }

    #[test]
    fn responses_object_usage_followed_by_fields() {
        let body = r#"{"id":"resp_67cb","object":"response","created_at":1741290958,"status":"completed","error":null,"incomplete_details":null,"model":"o4-mini","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi","annotations":[]}]}],"usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":8},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":123},"user":null,"metadata":{"usage":"tag"},"content_filters":null}"#;
        let want = Usage {
            prompt: 36,
            completion: 87,
            total: 123,
            cached: 8,
            reasoning: 64,
        };
        let o = scan_all(body.as_bytes());
        assert_eq!(o.usage, Some(want));
        assert!(o.finished && !o.error_event);
        assert_eq!(last_usage(body.as_bytes()), Some(want));
    }

    fn embeddings(n: usize) -> String {
        let mut s = String::from(r#"{"object":"list","data":["#);
        for i in 0..n {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(
                r#"{{"object":"embedding","index":{i},"embedding":[0.0023064255,-0.009327292,0.015797347,-0.0077780345]}}"#
            ));
        }
        s.push_str(r#"],"model":"text-embedding-3-small","usage":{"prompt_tokens":4096,"total_tokens":4096}}"#);
        s
    }

    #[test]
    fn large_embeddings_use_the_tail() {
        let body = embeddings(3000);
        assert!(body.len() > 200 * 1024);
        let o = scan_all(body.as_bytes());
        assert_eq!(
            o.usage,
            Some(Usage {
                prompt: 4096,
                total: 4096,
                ..Usage::default()
            })
        );
        assert!(o.finished && !o.error_event && !o.content_filtered);
    }

    #[test]
    fn escaped_usage_in_content_is_ignored() {
        let content = r#"see \"usage\":{\"prompt_tokens\":999} and {\"x\\\"usage\": {\"prompt_tokens\":998}}"#;
        let small = format!(
            r#"{{"choices":[{{"message":{{"content":"{content}"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}}}"#
        );
        let want = Usage {
            prompt: 5,
            completion: 6,
            total: 11,
            ..Usage::default()
        };
        assert_eq!(scan_all(small.as_bytes()).usage, Some(want));
        // Content after the real usage (e.g. a later field) must not win either.
        let pad = "x".repeat(300 * 1024);
        let big = format!(
            r#"{{"pad":"{pad}","usage":{{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}},"note":"{content}","key\"usage":{{"prompt_tokens":997}}}}"#
        );
        let o = scan_all(big.as_bytes());
        assert_eq!(o.usage, Some(want));
        assert!(o.finished);
    }

    #[test]
    fn error_bodies() {
        let body = r#"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-08-01-preview have exceeded token rate limit."}}"#;
        let o = scan_all(body.as_bytes());
        assert!(o.error_event && o.finished && o.usage.is_none());
        let filtered = r#"{"error":{"message":"The response was filtered","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"}}}}}"#;
        assert!(scan_all(filtered.as_bytes()).error_event);
        // Large (tail path) with the error key first.
        let big = format!(
            r#" {{ "error" : {{"message":"{}"}}}}"#,
            "y".repeat(200 * 1024)
        );
        let o = scan_all(big.as_bytes());
        assert!(o.error_event && o.finished);
        // A Responses object's `"error": null` is not an error.
        assert!(!top_level_error(br#"{"error":null,"id":"resp_1"}"#));
        assert!(!top_level_error(br#"{"id":"x","error":{}}"#));
    }

    #[test]
    fn content_filter_finish() {
        let body = r#"{"choices":[{"index":0,"finish_reason":"content_filter","message":{"role":"assistant","content":"partial"}}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#;
        let o = scan_all(body.as_bytes());
        assert!(o.content_filtered && !o.error_event);
        let big = format!(
            r#"{{"pad":"{}","choices":[{{"finish_reason": "content_filter"}}],"usage":{{"prompt_tokens":1}}}}"#,
            "z".repeat(200 * 1024)
        );
        let o = scan_all(big.as_bytes());
        assert!(o.content_filtered);
        assert_eq!(o.usage.map(|u| u.prompt), Some(1));
        // A result's key is not a verdict; the prompt filter's error code is.
        assert!(!content_filtered(
            br#"{"code":"x","content_filter_results":{}}"#
        ));
        assert!(content_filtered(
            br#"{"error":{"code": "content_filter","param":"prompt"}}"#
        ));
    }

    #[test]
    fn mid_size_bodies_are_parsed_whole_in_any_framing() {
        // The filter verdict is past the head and before the last 64 KiB: only an exact
        // parse sees it, and every framing must get one.
        let body = format!(
            r#"{{"id":"{}","choices":[{{"finish_reason":"content_filter","message":{{"content":"{}"}}}}],"usage":{{"prompt_tokens":1,"completion_tokens":1}}}}"#,
            "i".repeat(HEAD_LEN),
            "c".repeat(100 * 1024),
        );
        assert!(body.len() > TAIL_LEN + HEAD_LEN && body.len() < 2 * TAIL_LEN);
        let o = scan_all(body.as_bytes());
        assert!(o.finished && o.content_filtered);
        assert_eq!(o.usage.map(|u| u.total), Some(2));
    }

    #[test]
    fn truncated_bodies_are_not_finished() {
        let cut = &CHAT.as_bytes()[..CHAT.len() - 40];
        let o = scan_all(cut);
        assert!(!o.finished);
        // The usage object itself was complete before the cut.
        assert_eq!(o.usage.map(|u| u.total), Some(1863));
        let big = embeddings(3000);
        let o = scan_all(&big.as_bytes()[..big.len() - 3]);
        assert!(!o.finished && o.usage.is_none());
        assert!(!scan(b"", 1).finished);
        assert!(!scan(b"   ", 1).finished);
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = br#"{}[]":,\ usage0123456789.-nultrefasx"#;
        for round in 0..300 {
            let len = (next() % 2000) as usize + if round % 50 == 0 { 150_000 } else { 0 };
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r.is_multiple_of(5) {
                        (r >> 8) as u8
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            let mut t = JsonTail::new();
            let mut rest = &body[..];
            while !rest.is_empty() {
                let n = ((next() % 4096) as usize + 1).min(rest.len());
                t.feed(&rest[..n]);
                rest = &rest[n..];
            }
            t.finish();
            let _ = t.outcome();
        }
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let _ = scan(deep.as_bytes(), 4096);
        let deep = format!(r#"{{"usage":{}"#, "{\"a\":".repeat(50_000));
        let _ = scan(deep.as_bytes(), 4096);
        assert_eq!(value_start(b"\"usage\"  :", 7), Some(10));
        assert_eq!(balanced_end(b"}", 0), None);
        assert!(escaped_or_unknown(b"\\\"", 1) && escaped_or_unknown(b"\"", 0));
        assert!(!escaped_or_unknown(b"a\\\\\"", 3));
    }
}
