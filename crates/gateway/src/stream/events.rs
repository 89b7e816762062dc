//! Splits a `text/event-stream` body into whole events, for the bodies the gateway edits
//! (usage-chunk removal, annotation filtering, chat ⇄ responses translation).
//!
//! Unlike [`super::SseScanner`], which only watches, this keeps each event's exact bytes so an
//! event the gateway does not touch goes out as the upstream sent it. Frames may split lines,
//! `\r\n` pairs and UTF-8 characters anywhere: bytes are held until their event's blank line
//! arrives, and nothing is decoded until then.

use bytes::{Bytes, BytesMut};
use memchr::memchr2;

/// Events larger than this are passed on unparsed ([`Event::oversized`]) rather than held.
pub const MAX_EVENT: usize = 16 * 1024 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One event: its exact bytes (terminating blank line included) and its parsed fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub raw: Bytes,
    /// The `event:` field, if any.
    pub name: Option<String>,
    /// The `data:` lines joined with `\n`; `None` when the event had none (a comment-only
    /// block, or `retry:`/`id:` alone).
    pub data: Option<Vec<u8>>,
    /// Too large to hold: `raw` is a piece of it and the fields are not parsed. The rest of
    /// the event follows as further oversized pieces.
    pub oversized: bool,
}

/// Incremental splitter: [`push`](Self::push) frames, then drain [`next`](Self::next).
#[derive(Debug)]
pub struct EventSplitter {
    buf: BytesMut,
    /// Bytes of `buf` already split into lines.
    scanned: usize,
    /// The current event has a line (a blank line now ends an event, not a run of them).
    started: bool,
    name: Option<String>,
    data: Option<Vec<u8>>,
    /// No byte seen yet: a leading BOM is dropped from parsing (kept in `raw`).
    at_start: bool,
    /// Inside an event that outgrew `max`: forward bytes until its end.
    passing: bool,
    max: usize,
}

impl Default for EventSplitter {
    fn default() -> Self {
        Self::with_max(MAX_EVENT)
    }
}

impl EventSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_max(max: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            scanned: 0,
            started: false,
            name: None,
            data: None,
            at_start: true,
            passing: false,
            max,
        }
    }

    /// Bytes of an unfinished event are held (the next frame completes it).
    pub fn holds_bytes(&self) -> bool {
        !self.buf.is_empty()
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event, if the bytes pushed so far hold one.
    #[allow(
        clippy::should_implement_trait,
        reason = "not an iterator: more input may follow"
    )]
    pub fn next(&mut self) -> Option<Event> {
        if self.at_start {
            if self.buf.len() < BOM.len() && BOM.starts_with(&self.buf) {
                return None;
            }
            self.at_start = false;
            if self.buf.starts_with(BOM) {
                self.scanned = BOM.len();
            }
        }
        while let Some((end, next)) = line_end(&self.buf[self.scanned..]) {
            let start = self.scanned;
            self.scanned += next;
            if end == 0 && (self.started || self.passing) {
                return Some(self.take_event());
            }
            if end == 0 {
                continue;
            }
            self.started = true;
            if !self.passing {
                field(
                    &self.buf[start..start + end],
                    &mut self.name,
                    &mut self.data,
                );
            }
        }
        if self.buf.len() > self.max {
            // Give up holding it: what arrived so far goes on as it is.
            self.passing = true;
            self.name = None;
            self.data = None;
            let raw = self.buf.split().freeze();
            self.scanned = 0;
            return Some(Event {
                raw,
                name: None,
                data: None,
                oversized: true,
            });
        }
        None
    }

    /// At the end of the body: whatever is left, as a last event (an upstream may close
    /// without the final blank line). `None` if nothing is left.
    pub fn finish(&mut self) -> Option<Event> {
        if self.buf.is_empty() {
            return None;
        }
        // A last line without a terminator still counts as a line.
        if !self.passing && self.scanned < self.buf.len() {
            let line = &self.buf[self.scanned..];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.is_empty() {
                self.started = true;
                field(line, &mut self.name, &mut self.data);
            }
            self.scanned = self.buf.len();
        }
        if !self.started && !self.passing {
            // Only blank lines or a BOM: pass them on as they are.
            return Some(Event {
                raw: self.buf.split().freeze(),
                name: None,
                data: None,
                oversized: false,
            });
        }
        Some(self.take_event())
    }

    fn take_event(&mut self) -> Event {
        let raw = self.buf.split_to(self.scanned).freeze();
        self.scanned = 0;
        self.started = false;
        let oversized = std::mem::take(&mut self.passing);
        Event {
            raw,
            name: self.name.take(),
            data: self.data.take(),
            oversized,
        }
    }
}

/// Folds one field line into the event being read (comments and unknown fields are ignored).
fn field(line: &[u8], name: &mut Option<String>, data: &mut Option<Vec<u8>>) {
    let (field, value) = match line.iter().position(|b| *b == b':') {
        Some(0) => return,
        Some(i) => {
            let value = &line[i + 1..];
            (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
        }
        None => (line, &b""[..]),
    };
    match field {
        b"data" => match data {
            Some(data) => {
                data.push(b'\n');
                data.extend_from_slice(value);
            }
            None => *data = Some(value.to_vec()),
        },
        b"event" => *name = Some(String::from_utf8_lossy(value).into_owned()),
        _ => {}
    }
}

/// `(line length, index after the terminator)` for `\n`, `\r\n` or `\r`; a `\r` that ends the
/// buffer waits for the next byte (it may be half of `\r\n`).
fn line_end(buf: &[u8]) -> Option<(usize, usize)> {
    let i = memchr2(b'\n', b'\r', buf)?;
    if buf[i] == b'\r' {
        return match buf.get(i + 1) {
            Some(b'\n') => Some((i, i + 2)),
            Some(_) => Some((i, i + 1)),
            None => None,
        };
    }
    Some((i, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(splitter: &mut EventSplitter) -> Vec<Event> {
        std::iter::from_fn(|| splitter.next()).collect()
    }

    fn split_whole(input: &[u8]) -> Vec<Event> {
        let mut s = EventSplitter::new();
        s.push(input);
        let mut out = all(&mut s);
        out.extend(s.finish());
        out
    }

    const STREAM: &[u8] = b"\xEF\xBB\xBF: comment\n\nevent: response.created\r\ndata: {\"a\":\"h\xC3\xA9\"}\r\n\r\ndata: one\ndata: two\n\n\n\nid: 7\nretry: 5\n\rdata: [DONE]\r\r";

    #[test]
    fn fields_and_raw_bytes() {
        let events = split_whole(STREAM);
        let raws: Vec<&[u8]> = events.iter().map(|e| e.raw.as_ref()).collect();
        assert_eq!(raws.concat(), STREAM, "every byte goes out exactly once");
        assert_eq!(events.len(), 5, "{events:?}");
        assert_eq!(events[0].data, None);
        assert_eq!(events[1].name.as_deref(), Some("response.created"));
        assert_eq!(events[1].data.as_deref(), Some("{\"a\":\"hé\"}".as_bytes()));
        assert_eq!(events[2].data.as_deref(), Some(&b"one\ntwo"[..]));
        assert_eq!(&events[2].raw[..], b"data: one\ndata: two\n\n");
        assert_eq!(&events[3].raw[..], b"\n\nid: 7\nretry: 5\n\r");
        assert_eq!(events[3].data, None);
        assert_eq!(events[4].data.as_deref(), Some(&b"[DONE]"[..]));
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let whole = split_whole(STREAM);
        for cut in 0..=STREAM.len() {
            for cut2 in cut..=STREAM.len() {
                let mut s = EventSplitter::new();
                let mut got = Vec::new();
                for piece in [&STREAM[..cut], &STREAM[cut..cut2], &STREAM[cut2..]] {
                    s.push(piece);
                    got.extend(all(&mut s));
                }
                got.extend(s.finish());
                assert_eq!(got, whole, "cut at {cut}/{cut2}");
            }
        }
    }

    #[test]
    fn unterminated_last_event_and_oversize() {
        let events = split_whole(b"data: x\n\ndata: tail");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].data.as_deref(), Some(&b"tail"[..]));
        assert_eq!(&events[1].raw[..], b"data: tail");

        let mut s = EventSplitter::with_max(16);
        s.push(b"data: 0123456789abcdefghij");
        let first = s.next().unwrap();
        assert!(first.oversized && first.data.is_none());
        s.push(b"klm\n\ndata: ok\n\n");
        let rest = all(&mut s);
        assert_eq!(rest.len(), 2);
        assert!(rest[0].oversized);
        assert_eq!(&rest[0].raw[..], b"klm\n\n");
        assert_eq!(rest[1].data.as_deref(), Some(&b"ok"[..]));
        assert!(!rest[1].oversized);
    }
}
