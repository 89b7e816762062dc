//! Incremental `text/event-stream` scanner. Works on bytes, so frames may split lines and
//! UTF-8 characters anywhere; JSON is parsed only for complete events that could matter.

use std::sync::LazyLock;

use memchr::{memchr, memchr2, memmem};

use super::ScanOutcome;
use super::json_tail::{CONTENT_FILTER, USAGE, mentions_error, value_start};
use super::usage::Doc;

/// Longest line kept across frames. `response.completed` repeats the whole response (every
/// output item, reasoning summaries, base64 images from tools) and is the event that
/// carries usage, so the cap sits well above realistic outputs while still bounding what
/// one stream can pin in memory. Longer lines are dropped, which loses only that event.
const MAX_LINE: usize = 8 * 1024 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Substrings without which a data payload cannot change the outcome; checked before any
/// JSON parsing so ordinary content deltas are skipped. None contains `\n`, so a multi-line
/// payload matches only if one of its lines does.
static RESPONSE: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"response."));

/// Per-event state between blank lines.
#[derive(Debug, Default)]
struct Event {
    /// A field line (not a comment) was seen: a blank line would dispatch something.
    started: bool,
    data_lines: u32,
    /// `event: error` was seen.
    error_name: bool,
    /// A data line was dropped for length; the payload cannot be parsed.
    truncated: bool,
}

/// Scanner for a `text/event-stream` body.
#[derive(Debug)]
pub struct SseScanner {
    /// The unterminated last line of earlier frames.
    carry: Vec<u8>,
    /// Dropping the rest of an over-long line; `true` payload says it was a data line.
    skipping: Option<bool>,
    /// The last frame ended in `\r`; a `\n` starting the next one belongs to it.
    after_cr: bool,
    /// No line completed yet: a leading BOM is stripped.
    first_line: bool,
    event: Event,
    /// Joined data of the current event, used only when it could not be scanned in place.
    data: Vec<u8>,
    max_line: usize,
    done: bool,
    out: ScanOutcome,
}

impl Default for SseScanner {
    fn default() -> Self {
        Self::with_max_line(MAX_LINE)
    }
}

/// The first data line of the current event while it still lies in the caller's frame.
type Pending<'a> = Option<&'a [u8]>;

impl SseScanner {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_max_line(max_line: usize) -> Self {
        Self {
            carry: Vec::new(),
            skipping: None,
            after_cr: false,
            first_line: true,
            event: Event::default(),
            data: Vec::new(),
            max_line,
            done: false,
            out: ScanOutcome::default(),
        }
    }

    /// Scans complete lines of `chunk` in place; only an unterminated last line is copied.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.done || chunk.is_empty() {
            return;
        }
        let mut rest = chunk;
        if self.after_cr {
            self.after_cr = false;
            rest = rest.strip_prefix(b"\n").unwrap_or(rest);
        }
        if self.skipping.is_some() || !self.carry.is_empty() {
            let Some((end, next)) = self.line_end(rest) else {
                self.extend_carry(rest);
                return;
            };
            if let Some(was_data) = self.skipping.take() {
                self.lost_line(was_data);
            } else if self.fits(end) {
                let mut line = std::mem::take(&mut self.carry);
                line.extend_from_slice(&rest[..end]);
                let mut pending = None;
                self.line(&line, &mut pending);
                self.stash_pending(pending);
                line.clear();
                self.carry = recycle(line);
            } else {
                let was_data = is_data_field(&self.carry, rest);
                self.carry = Vec::new();
                self.lost_line(was_data);
            }
            rest = &rest[next..];
        }
        let mut pending = None;
        while let Some((end, next)) = self.line_end(rest) {
            let (line, after) = rest.split_at(next);
            self.line(&line[..end], &mut pending);
            rest = after;
        }
        self.stash_pending(pending);
        self.extend_carry(rest);
    }

    /// Treats the end of the body as the end of the last line and event: an upstream that
    /// closes right after its final `data: [DONE]` (or usage chunk) still counts.
    pub fn finish(&mut self) {
        if self.done {
            return;
        }
        if let Some(was_data) = self.skipping.take() {
            self.lost_line(was_data);
        } else if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            let mut pending = None;
            self.line(&line, &mut pending);
            self.dispatch(&mut pending);
        }
        self.dispatch(&mut None);
        self.done = true;
        self.data = Vec::new();
    }

    pub fn outcome(&self) -> ScanOutcome {
        self.out
    }

    /// Where the bytes fed so far stop: `Some(true)` between events, `Some(false)` after a
    /// complete line inside an event, `None` inside a line. Lets the body add an event of its
    /// own without corrupting one of the upstream's.
    pub fn boundary(&self) -> Option<bool> {
        (self.carry.is_empty() && self.skipping.is_none()).then_some(!self.event.started)
    }

    /// `(line length, index after the terminator)` for `\n`, `\r\n` or `\r`.
    fn line_end(&mut self, buf: &[u8]) -> Option<(usize, usize)> {
        let i = memchr2(b'\n', b'\r', buf)?;
        if buf[i] == b'\r' {
            match buf.get(i + 1) {
                Some(b'\n') => return Some((i, i + 2)),
                None => self.after_cr = true,
                Some(_) => {}
            }
        }
        Some((i, i + 1))
    }

    /// Whether the carry can grow by `more` bytes.
    fn fits(&self, more: usize) -> bool {
        self.carry.len().saturating_add(more) <= self.max_line
    }

    fn extend_carry(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.skipping.is_some() {
            return;
        }
        if self.fits(bytes.len()) {
            self.carry.extend_from_slice(bytes);
        } else {
            self.skipping = Some(is_data_field(&self.carry, bytes));
            self.carry = Vec::new();
        }
    }

    /// A dropped data line still makes its event count, but the event is not parsed.
    fn lost_line(&mut self, was_data: bool) {
        self.first_line = false;
        if was_data {
            self.event.data_lines = self.event.data_lines.saturating_add(1);
            self.event.truncated = true;
            self.data = Vec::new();
        }
    }

    fn line<'a>(&mut self, mut line: &'a [u8], pending: &mut Pending<'a>) {
        if std::mem::take(&mut self.first_line) {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(pending);
            return;
        }
        let colon = memchr(b':', line);
        if colon == Some(0) {
            return; // a comment
        }
        self.event.started = true;
        let (field, value) = match colon {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => self.data_line(value, pending),
            b"event" => self.event.error_name = value == b"error",
            _ => {}
        }
    }

    /// The first data line of an event stays in the frame; later ones (rare) are joined
    /// with `\n` in `data`, as the SSE spec requires.
    fn data_line<'a>(&mut self, value: &'a [u8], pending: &mut Pending<'a>) {
        self.event.data_lines = self.event.data_lines.saturating_add(1);
        if self.event.truncated {
            return;
        }
        if self.event.data_lines == 1 {
            *pending = Some(value);
            return;
        }
        self.stash_pending(pending.take());
        self.append_data(b"\n");
        self.append_data(value);
    }

    /// Moves the in-frame first data line into `data` before its frame goes away.
    fn stash_pending(&mut self, pending: Pending<'_>) {
        if let Some(p) = pending {
            self.append_data(p);
        }
    }

    fn append_data(&mut self, bytes: &[u8]) {
        if self.event.truncated {
            return;
        }
        if self.data.len().saturating_add(bytes.len()) > self.max_line {
            self.event.truncated = true;
            self.data = Vec::new();
        } else {
            self.data.extend_from_slice(bytes);
        }
    }

    fn dispatch(&mut self, pending: &mut Pending<'_>) {
        let event = std::mem::take(&mut self.event);
        if event.data_lines > 0 {
            self.out.events += 1;
            if event.error_name {
                self.out.error_event = true;
            }
            if !event.truncated {
                match pending.take() {
                    Some(p) => inspect(&mut self.out, p),
                    None => inspect(&mut self.out, &self.data),
                }
            }
        }
        *pending = None;
        self.data.clear();
        self.data = recycle(std::mem::take(&mut self.data));
    }
}

/// Keeps a buffer's allocation unless one huge line inflated it.
fn recycle(buf: Vec<u8>) -> Vec<u8> {
    if buf.capacity() > 64 * 1024 {
        Vec::new()
    } else {
        buf
    }
}

/// Whether a line beginning with `head` then `more` is a `data` field.
fn is_data_field(head: &[u8], more: &[u8]) -> bool {
    let mut start = [0u8; 5];
    let joined = head.iter().chain(more).take(5);
    let mut n = 0;
    for (slot, &b) in start.iter_mut().zip(joined) {
        *slot = b;
        n += 1;
    }
    let start = &start[..n];
    start == b"data:" || start == b"data"
}

/// Applies one event's data payload.
fn inspect(out: &mut ScanOutcome, payload: &[u8]) {
    if inspect_one(out, payload) {
        return;
    }
    // Not one JSON value: tolerate upstreams that put several JSON objects on consecutive
    // `data:` lines of one event.
    if memchr(b'\n', payload).is_some() {
        for line in payload.split(|&b| b == b'\n') {
            inspect_one(out, line);
        }
    }
}

/// Returns `false` only when the payload was worth parsing but is not valid JSON.
fn inspect_one(out: &mut ScanOutcome, payload: &[u8]) -> bool {
    let payload = payload.trim_ascii();
    if payload == b"[DONE]" {
        out.finished = true;
        return true;
    }
    if !worth_parsing(payload) {
        return true;
    }
    match Doc::parse(payload) {
        Some(doc) => {
            doc.apply(out);
            true
        }
        None => false,
    }
}

/// Cheap prefilter: a non-null `usage` object, an `error` (as a non-null key or a value), a
/// terminal Responses event, or a `content_filter` value.
fn worth_parsing(p: &[u8]) -> bool {
    let after = |pos: usize, needle: usize| value_start(p, pos + needle).and_then(|i| p.get(i));
    USAGE
        .find_iter(p)
        .any(|pos| after(pos, b"\"usage\"".len()) == Some(&b'{'))
        || mentions_error(p)
        || RESPONSE.find_iter(p).any(|pos| {
            let rest = &p[pos + b"\"response.".len()..];
            [&b"completed\""[..], b"incomplete\"", b"failed\""]
                .iter()
                .any(|s| rest.starts_with(s))
        })
        || CONTENT_FILTER.find(p).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefilter_skips_ordinary_chunks() {
        let delta = br#"{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":" \"usage\":{ \"error\""},"finish_reason":null,"index":0}],"usage":null,"id":"chatcmpl-1"}"#;
        assert!(!worth_parsing(delta));
        let created = br#"{"type":"response.created","response":{"status":"in_progress","error":null,"usage":null}}"#;
        assert!(!worth_parsing(created));
        let text = br#"{"type":"response.output_text.delta","delta":"say \"response.completed\""}"#;
        assert!(!worth_parsing(text));
        for hit in [
            &br#"{"choices":[],"usage":{"prompt_tokens":1}}"#[..],
            br#"{"type":"error","code":"server_error"}"#,
            br#"{"error" : {"message":"x"}}"#,
            br#"{"type":"response.completed","response":{}}"#,
            br#"{"type":"response.failed"}"#,
            br#"{"choices":[{"finish_reason":"content_filter"}]}"#,
        ] {
            assert!(worth_parsing(hit), "{}", String::from_utf8_lossy(hit));
        }
    }

    #[test]
    fn over_long_lines_are_dropped() {
        let usage = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"total_tokens\":1}}\n\n";
        let long = format!(
            "data: {{\"usage\":{{\"prompt_tokens\":7}},\"x\":\"{}\"}}\n\n",
            "a".repeat(300)
        );
        let body = format!("{long}{usage}{long}data: [DONE]\n\n");
        for frame in [1, 10, 64] {
            let mut s = SseScanner::with_max_line(100);
            for c in body.as_bytes().chunks(frame) {
                s.feed(c);
            }
            s.finish();
            let o = s.outcome();
            assert_eq!(o.events, 4, "frame {frame}");
            assert_eq!(o.usage.map(|u| u.prompt), Some(1), "frame {frame}");
            assert!(o.finished);
        }
        // In one frame the long line never needs the carry, so it is scanned in place.
        let mut s = SseScanner::with_max_line(100);
        s.feed(long.as_bytes());
        assert_eq!(s.outcome().usage.map(|u| u.prompt), Some(7));
        assert_eq!((s.carry.capacity(), s.data.capacity()), (0, 0));
    }

    #[test]
    fn data_field_detection() {
        assert!(is_data_field(b"da", b"ta: x"));
        assert!(is_data_field(b"data", b""));
        assert!(!is_data_field(b"event", b": x"));
        assert!(!is_data_field(b"", b"dat"));
    }

    #[test]
    fn boundary_tells_events_lines_and_half_lines_apart() {
        let mut s = SseScanner::new();
        assert_eq!(s.boundary(), Some(true));
        s.feed(b": keep-alive\n");
        assert_eq!(s.boundary(), Some(true), "a comment starts no event");
        s.feed(b"data: {\"a\"");
        assert_eq!(s.boundary(), None);
        s.feed(b":1}\n");
        assert_eq!(s.boundary(), Some(false));
        s.feed(b"\n");
        assert_eq!(s.boundary(), Some(true));
        s.feed(b"event: x\r\n");
        assert_eq!(s.boundary(), Some(false));
        s.feed(b"\r\n");
        assert_eq!(s.boundary(), Some(true));
    }
}
