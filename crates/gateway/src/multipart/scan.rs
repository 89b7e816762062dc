//! An incremental scanner for `multipart/form-data` bodies (RFC 7578 / RFC 2046 §5.1).
//!
//! It sees the raw body chunk by chunk, as it arrives, and keeps only what it needs: the
//! current part's headers (bounded) and the value of the small text fields routing reads
//! (`model`, `stream`), each with its absolute byte range so the body can later be replayed
//! with the value replaced. File contents pass through without being retained.

use std::ops::Range;

use memchr::memmem;

/// Part headers larger than this are refused (real clients send well under 1 KiB).
const MAX_HEADERS: usize = 16 * 1024;
/// Longest value kept for a captured field; a model name is far shorter.
const MAX_FIELD: usize = 1024;
/// Bytes allowed between a delimiter and its CRLF (RFC 2046 transport padding).
const MAX_PADDING: usize = 64;

/// Why a body is not valid multipart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("the multipart body ended before its closing boundary")]
    Truncated,
    #[error("a multipart part's headers are malformed or too large")]
    BadHeaders,
    #[error("the multipart field `{0}` is too long")]
    FieldTooLong(&'static str),
    #[error("the multipart field `{0}` is not valid UTF-8")]
    NotUtf8(&'static str),
    #[error("the multipart body has no parts")]
    Empty,
}

/// A text field's value and where it lies in the raw body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub value: String,
    pub span: Range<u64>,
}

/// What the scan learned about the body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scanned {
    /// The first `model` field.
    pub model: Option<Field>,
    /// The first `stream` field (transcriptions can stream their text as SSE).
    pub stream: Option<Field>,
    /// Offset of the first part's delimiter (`--boundary`), where a new part may be inserted.
    pub first_part: u64,
    /// Number of parts.
    pub parts: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Right after a delimiter: `--` ends the body, else padding and CRLF start a part.
    AfterDelimiter,
    Headers,
    Content,
    /// After the closing delimiter; anything here is ignored.
    Epilogue,
}

/// Which captured field the current part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    Model,
    Stream,
}

impl Capture {
    fn name(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Stream => "stream",
        }
    }
}

/// The scanner; feed it every chunk in order, then call [`PartScanner::finish`].
#[derive(Debug)]
pub struct PartScanner {
    /// `\r\n--boundary`.
    delimiter: Vec<u8>,
    state: State,
    /// Bytes not yet consumed; its first byte is at absolute offset `base`.
    pending: Vec<u8>,
    base: u64,
    capture: Option<(Capture, u64, Vec<u8>)>,
    out: Scanned,
}

impl PartScanner {
    pub fn new(boundary: &str) -> Self {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        Self {
            delimiter,
            state: State::Preamble,
            pending: Vec::new(),
            base: 0,
            capture: None,
            out: Scanned::default(),
        }
    }

    /// Consumes one chunk of the body.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), ScanError> {
        if self.state == State::Epilogue {
            return Ok(());
        }
        self.pending.extend_from_slice(chunk);
        let mut at = 0;
        while let Some(next) = self.step(at)? {
            at = next;
        }
        // `step` returned `None` having consumed everything before `at` that it could.
        let keep_from = self.keep_from(at);
        self.pending.drain(..keep_from);
        self.base += keep_from as u64;
        Ok(())
    }

    /// Where unconsumed data starts: preamble and content that cannot hold the start of a
    /// delimiter are released (a captured field's bytes are kept in its value first).
    fn keep_from(&mut self, at: usize) -> usize {
        // Whatever could still begin a delimiter stays; the rest is done with.
        let safe = self
            .pending
            .len()
            .saturating_sub(self.delimiter.len() - 1)
            .max(at);
        match self.state {
            State::Preamble => safe,
            State::Content => {
                if let Some((_, _, value)) = &mut self.capture {
                    let room = (MAX_FIELD + 1).saturating_sub(value.len());
                    let take = (safe - at).min(room);
                    value.extend_from_slice(&self.pending[at..at + take]);
                }
                safe
            }
            _ => at,
        }
    }

    /// Advances from `at` in `pending`; `Some(next)` when progress was made, `None` when more
    /// input is needed.
    fn step(&mut self, at: usize) -> Result<Option<usize>, ScanError> {
        let data = &self.pending[at..];
        match self.state {
            State::Preamble => {
                // The first delimiter may open the body without its leading CRLF.
                let bare = &self.delimiter[2..];
                if self.base == 0 && at == 0 {
                    if data.len() < bare.len() && bare.starts_with(data) {
                        return Ok(None);
                    }
                    if data.starts_with(bare) {
                        self.out.first_part = 0;
                        self.state = State::AfterDelimiter;
                        return Ok(Some(at + bare.len()));
                    }
                }
                match memmem::find(data, &self.delimiter) {
                    Some(i) => {
                        self.out.first_part = self.base + (at + i + 2) as u64;
                        self.state = State::AfterDelimiter;
                        Ok(Some(at + i + self.delimiter.len()))
                    }
                    None => Ok(None),
                }
            }
            State::AfterDelimiter => {
                if data.len() < 2 {
                    return Ok(None);
                }
                if data.starts_with(b"--") {
                    self.state = State::Epilogue;
                    return Ok(None);
                }
                match memmem::find(data, b"\r\n") {
                    Some(i) if i <= MAX_PADDING => {
                        if data[..i].iter().any(|b| !matches!(b, b' ' | b'\t')) {
                            return Err(ScanError::BadHeaders);
                        }
                        self.state = State::Headers;
                        Ok(Some(at + i + 2))
                    }
                    Some(_) => Err(ScanError::BadHeaders),
                    None if data.len() > MAX_PADDING => Err(ScanError::BadHeaders),
                    None => Ok(None),
                }
            }
            State::Headers => {
                // A part without headers: the blank line comes at once.
                let end = if data.starts_with(b"\r\n") {
                    Some((0, 2))
                } else {
                    memmem::find(data, b"\r\n\r\n").map(|i| (i, i + 4))
                };
                let Some((len, skip)) = end else {
                    return if data.len() > MAX_HEADERS {
                        Err(ScanError::BadHeaders)
                    } else {
                        Ok(None)
                    };
                };
                if len > MAX_HEADERS {
                    return Err(ScanError::BadHeaders);
                }
                let (name, filename) = disposition(&data[..len])?;
                self.out.parts += 1;
                let content_start = self.base + (at + skip) as u64;
                self.capture = match (name.as_deref(), filename) {
                    (Some("model"), false) if self.out.model.is_none() => {
                        Some((Capture::Model, content_start, Vec::new()))
                    }
                    (Some("stream"), false) if self.out.stream.is_none() => {
                        Some((Capture::Stream, content_start, Vec::new()))
                    }
                    _ => None,
                };
                self.state = State::Content;
                Ok(Some(at + skip))
            }
            State::Content => match memmem::find(data, &self.delimiter) {
                Some(i) => {
                    let end = self.base + (at + i) as u64;
                    if let Some((which, start, mut value)) = self.capture.take() {
                        value.extend_from_slice(&data[..i.min(MAX_FIELD + 1)]);
                        self.keep(which, start..end, value)?;
                    }
                    self.state = State::AfterDelimiter;
                    Ok(Some(at + i + self.delimiter.len()))
                }
                None => Ok(None),
            },
            State::Epilogue => Ok(None),
        }
    }

    fn keep(&mut self, which: Capture, span: Range<u64>, value: Vec<u8>) -> Result<(), ScanError> {
        if value.len() > MAX_FIELD {
            return Err(ScanError::FieldTooLong(which.name()));
        }
        let value = String::from_utf8(value).map_err(|_| ScanError::NotUtf8(which.name()))?;
        let field = Some(Field { value, span });
        match which {
            Capture::Model => self.out.model = field,
            Capture::Stream => self.out.stream = field,
        }
        Ok(())
    }

    /// The scan's result, once the whole body was fed.
    pub fn finish(self) -> Result<Scanned, ScanError> {
        match self.state {
            State::Epilogue if self.out.parts == 0 => Err(ScanError::Empty),
            State::Epilogue => Ok(self.out),
            _ => Err(ScanError::Truncated),
        }
    }
}

/// The `name` of a part and whether it has a `filename`, from its `Content-Disposition`.
fn disposition(headers: &[u8]) -> Result<(Option<String>, bool), ScanError> {
    let text = std::str::from_utf8(headers).map_err(|_| ScanError::BadHeaders)?;
    for line in text.split("\r\n") {
        let Some((key, value)) = line.split_once(':') else {
            return Err(ScanError::BadHeaders);
        };
        if !key.trim().eq_ignore_ascii_case("content-disposition") {
            continue;
        }
        let mut name = None;
        let mut filename = false;
        for param in params(value) {
            match param {
                (k, v) if k.eq_ignore_ascii_case("name") => name = Some(v),
                (k, _)
                    if k.eq_ignore_ascii_case("filename")
                        || k.eq_ignore_ascii_case("filename*") =>
                {
                    filename = true;
                }
                _ => {}
            }
        }
        return Ok((name, filename));
    }
    Ok((None, false))
}

/// `; key=value` parameters of a header value, quoted strings unescaped.
fn params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value;
    // Skip the disposition type (`form-data`).
    match rest.find(';') {
        Some(i) => rest = &rest[i + 1..],
        None => return out,
    }
    loop {
        rest = rest.trim_start();
        let Some(eq) = rest.find('=') else {
            return out;
        };
        let key = rest[..eq].trim().to_owned();
        rest = &rest[eq + 1..];
        let (val, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let mut val = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            val.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => val.push(c),
                }
            }
            (val, &quoted[end.min(quoted.len())..])
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            (rest[..end].trim().to_owned(), &rest[end..])
        };
        out.push((key, val));
        match after.find(';') {
            Some(i) => rest = &after[i + 1..],
            None => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, filename, content) in parts {
            out.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"");
            out.extend_from_slice(name.as_bytes());
            out.push(b'"');
            if let Some(f) = filename {
                out.extend_from_slice(
                    format!("; filename=\"{f}\"\r\nContent-Type: audio/wav").as_bytes(),
                );
            }
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(content);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--XyZ--\r\n");
        out
    }

    fn scan_in(raw: &[u8], chunk: usize) -> Result<Scanned, ScanError> {
        let mut s = PartScanner::new("XyZ");
        for c in raw.chunks(chunk.max(1)) {
            s.feed(c)?;
        }
        s.finish()
    }

    #[test]
    fn finds_model_before_and_after_the_file_at_every_chunk_size() {
        let file: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let with_delim_lookalike = [&file[..], b"\r\n--XyQ not a boundary\r\n--Xy"].concat();
        for parts in [
            vec![
                ("model", None, &b"whisper-1"[..]),
                ("file", Some("a.wav"), &with_delim_lookalike[..]),
            ],
            vec![
                ("file", Some("a.wav"), &with_delim_lookalike[..]),
                ("model", None, &b"whisper-1"[..]),
            ],
        ] {
            let raw = body(&parts);
            for chunk in [1, 2, 3, 7, 64, 1000, raw.len()] {
                let s = scan_in(&raw, chunk).unwrap();
                let m = s.model.expect("model");
                assert_eq!(m.value, "whisper-1", "chunk {chunk}");
                let span = m.span.start as usize..m.span.end as usize;
                assert_eq!(&raw[span], b"whisper-1");
                assert_eq!(s.parts, 2);
                assert_eq!(s.first_part, 0);
            }
        }
    }

    #[test]
    fn preamble_padding_quoting_and_stream() {
        let raw = b"ignored preamble\r\n--XyZ  \r\ncontent-disposition: form-data; name=\"stream\"\r\n\r\ntrue\r\n--XyZ\r\nContent-Disposition: form-data; filename=\"m;odel\"; name=\"model\"\r\n\r\nnot a field\r\n--XyZ--";
        let s = scan_in(raw, 5).unwrap();
        assert_eq!(s.stream.map(|f| f.value).as_deref(), Some("true"));
        // A file part named `model` is a file, not the routing field.
        assert_eq!(s.model, None);
        assert_eq!(s.first_part, 18);
        assert_eq!(&raw[18..23], b"--XyZ");
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let raw = body(&[("model", None, b"m")]);
        assert_eq!(scan_in(&raw[..raw.len() - 9], 4), Err(ScanError::Truncated));
        assert_eq!(scan_in(b"no boundary at all", 4), Err(ScanError::Truncated));
        assert_eq!(scan_in(b"--XyZ--", 4), Err(ScanError::Empty));
        let long = vec![b'a'; MAX_FIELD + 1];
        assert_eq!(
            scan_in(&body(&[("model", None, &long)]), 100),
            Err(ScanError::FieldTooLong("model"))
        );
        assert_eq!(
            scan_in(&body(&[("model", None, &[0xff, 0xfe])]), 3),
            Err(ScanError::NotUtf8("model"))
        );
        assert_eq!(
            scan_in(b"--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--", 3),
            Err(ScanError::BadHeaders)
        );
    }

    #[test]
    fn first_model_field_wins() {
        let raw = body(&[("model", None, b"a"), ("model", None, b"b")]);
        assert_eq!(scan_in(&raw, 2).unwrap().model.unwrap().value, "a");
    }
}
