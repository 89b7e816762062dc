//! `multipart/form-data` bodies (RFC 7578), as audio, image-edit and file uploads send them.
//! Hand-written rather than `multer` because the body is already in memory: parts are
//! sliced out of it without copying, and no new dependency is needed.

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use memchr::memmem;

/// One part: its form name, its file name if it is a file, and its bytes. Part headers
/// other than `Content-Disposition` (such as `Content-Type`) are not needed and skipped.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) name: String,
    pub(crate) filename: Option<String>,
    pub(crate) data: Bytes,
}

/// A parsed form, parts in the order they arrived.
#[derive(Debug)]
pub(crate) struct Form {
    parts: Vec<Part>,
}

impl Form {
    /// Parses `body` with the boundary from `headers`' `Content-Type`; the error is the
    /// message for the client's 400.
    pub(crate) fn parse(headers: &HeaderMap, body: &Bytes) -> Result<Self, String> {
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let boundary = boundary(content_type).ok_or_else(|| {
            format!(
                "Invalid Content-Type header ({content_type}), expected multipart/form-data \
                 with a boundary."
            )
        })?;
        parse_body(body, boundary.as_bytes()).map(|parts| Self { parts })
    }

    /// The first part named `name`, file or not.
    pub(crate) fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// Every part named `name` (repeated fields such as `image[]`).
    pub(crate) fn parts<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Part> + 'a {
        self.parts.iter().filter(move |p| p.name == name)
    }

    /// The first part named `name` as text, if it is UTF-8.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        std::str::from_utf8(&self.part(name)?.data).ok()
    }
}

/// The `boundary` parameter of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Option<String> {
    let mut params = split_params(content_type);
    let media = params.next()?;
    if !media.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .filter_map(param)
        .find(|(key, _)| key.eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value)
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

fn parse_body(body: &Bytes, boundary: &[u8]) -> Result<Vec<Part>, String> {
    const TRUNCATED: &str = "The multipart body is truncated: no closing boundary.";
    let delimiter = [b"--", boundary].concat();
    let close = [b"\r\n--", boundary].concat();
    let close_finder = memmem::Finder::new(&close);
    // The first delimiter may follow a preamble, which is ignored.
    let first = memmem::find(body, &delimiter)
        .filter(|&at| at == 0 || body[..at].ends_with(b"\r\n"))
        .ok_or("The multipart body does not start with its boundary.")?;
    let mut pos = first + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = &body[pos..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding may sit between the boundary and its line break.
        let padding = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        if !rest[padding..].starts_with(b"\r\n") {
            return Err(if rest.is_empty() {
                TRUNCATED.to_owned()
            } else {
                "A multipart boundary is not followed by a line break.".to_owned()
            });
        }
        let head_start = pos + padding + 2;
        let (head, data_start) = if body[head_start..].starts_with(b"\r\n") {
            (&body[head_start..head_start], head_start + 2)
        } else {
            let end = memmem::find(&body[head_start..], b"\r\n\r\n")
                .ok_or("A multipart part has no end of headers.")?;
            (&body[head_start..head_start + end], head_start + end + 4)
        };
        let data_end = close_finder
            .find(&body[data_start..])
            .map(|at| data_start + at)
            .ok_or(TRUNCATED)?;
        parts.push(part(head, body.slice(data_start..data_end))?);
        pos = data_end + close.len();
    }
}

fn part(head: &[u8], data: Bytes) -> Result<Part, String> {
    let head = std::str::from_utf8(head).map_err(|_| "A multipart part header is not UTF-8.")?;
    let mut disposition = None;
    for line in head.split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("Malformed multipart part header: {line:?}."));
        };
        if name.trim().eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value.trim());
        }
    }
    let disposition = disposition.ok_or("A multipart part has no Content-Disposition.")?;
    let mut params = split_params(disposition);
    if !params
        .next()
        .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("form-data"))
    {
        return Err(format!(
            "A multipart part is not form-data: {disposition:?}."
        ));
    }
    let (mut name, mut filename) = (None, None);
    for (key, value) in params.filter_map(param) {
        if key.eq_ignore_ascii_case("name") {
            name = Some(value);
        } else if key.eq_ignore_ascii_case("filename") {
            filename = Some(value);
        }
    }
    Ok(Part {
        name: name.ok_or("A multipart part has no name.")?,
        filename,
        data,
    })
}

/// Splits a header value on `;` outside quoted strings.
fn split_params(value: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    let mut escaped = false;
    value.split(move |c| {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => return true,
            _ => {}
        }
        false
    })
}

/// `key=value` or `key="quoted \"value\""`, unquoted.
fn param(raw: &str) -> Option<(&str, String)> {
    let (key, value) = raw.split_once('=')?;
    let value = value.trim();
    let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' {
                    chars.next().unwrap_or(c)
                } else {
                    c
                });
            }
            out
        }
        None => value.to_owned(),
    };
    Some((key.trim(), value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(content_type: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        h
    }

    fn form(body: &'static [u8]) -> Result<Form, String> {
        Form::parse(
            &headers("multipart/form-data; boundary=XyZ"),
            &Bytes::from_static(body),
        )
    }

    #[test]
    fn fields_and_files() {
        let f = form(
            b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper\r\n\
              --XyZ  \r\ncontent-disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\";.wav\"\r\n\
              Content-Type: audio/wav\r\n\r\nRIFF\r\n--Xy\r\n\x00\r\n--XyZ\r\n\
              Content-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n--XyZ--\r\nepilogue",
        )
        .unwrap();
        assert_eq!(f.text("model"), Some("whisper"));
        let file = f.part("file").unwrap();
        assert_eq!(file.filename.as_deref(), Some("a \"b\";.wav"));
        assert_eq!(file.data.as_ref(), b"RIFF\r\n--Xy\r\n\x00");
        assert_eq!(f.text("empty"), Some(""));
        assert!(f.part("missing").is_none());
    }

    #[test]
    fn repeated_names() {
        let f = form(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"image[]\"; filename=\"1.png\"\r\n\r\n1\r\n\
              --XyZ\r\nContent-Disposition: form-data; name=\"image[]\"; filename=\"2.png\"\r\n\r\n22\r\n--XyZ--",
        )
        .unwrap();
        let sizes: Vec<usize> = f.parts("image[]").map(|p| p.data.len()).collect();
        assert_eq!(sizes, [1, 2]);
    }

    #[test]
    fn boundaries() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"a;b\"").as_deref(),
            Some("a;b")
        );
        assert_eq!(
            boundary("Multipart/Form-Data;charset=utf-8;BOUNDARY=x").as_deref(),
            Some("x")
        );
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(boundary("multipart/form-data; boundary="), None);
    }

    #[test]
    fn malformed_bodies() {
        for body in [
            &b"no boundary here"[..],
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
            b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--",
            b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",
            b"--XyZ\r\nno colon\r\n\r\nx\r\n--XyZ--",
            b"--XyZ",
            b"--XyZjunk",
        ] {
            let h = headers("multipart/form-data; boundary=XyZ");
            assert!(
                Form::parse(&h, &Bytes::from_static(body)).is_err(),
                "{body:?}"
            );
        }
        let h = headers("application/json");
        let err = Form::parse(&h, &Bytes::from_static(b"{}")).unwrap_err();
        assert!(err.contains("multipart/form-data"), "{err}");
        assert!(Form::parse(&HeaderMap::new(), &Bytes::new()).is_err());
    }
}
