//! `multipart/form-data` uploads (audio transcriptions and translations, image edits and
//! variations): routed by their `model` form field without holding the file in memory.
//!
//! The body is read once, as it arrives: each chunk goes to the [`spool::Spool`] (memory up to
//! 1 MiB, then an unlinked temp file) and through the [`scan::PartScanner`], which notes where
//! the `model` and `stream` fields are. Each upstream attempt replays the stored bytes with the
//! `model` value replaced by the deployment (or a `model` part added where the upstream reads it
//! from the body), so the upstream gets the client's own multipart body, boundary and all, byte
//! for byte apart from that one value. The seed gyarbij proxy read the model from a JSON body
//! and so sent multipart calls to an empty deployment; here the form field routes them.

pub mod scan;
pub mod spool;

use std::ops::Range;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use http_body_util::BodyExt;

use crate::error::GatewayError;
use crate::upstream::OutBody;
use scan::{PartScanner, Scanned};
use spool::{Segment, Spool, Stored};

/// A received multipart upload.
#[derive(Debug)]
pub struct Form {
    pub stored: Stored,
    pub scanned: Scanned,
    boundary: String,
    /// The client's `Content-Type`, boundary included; the replayed body keeps it.
    pub content_type: HeaderValue,
}

/// How the replayed body differs from the client's.
#[derive(Debug, Clone)]
pub enum Edit<'a> {
    /// Unchanged.
    None,
    /// The `model` value at this span becomes the deployment.
    Replace(Range<usize>, &'a str),
    /// A `model` part naming the deployment goes before the first part.
    Insert(&'a str),
}

fn invalid(message: String) -> GatewayError {
    GatewayError::InvalidRequest {
        message,
        param: None,
        code: "invalid_multipart",
    }
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<&str> {
    let mut parts = content_type.split(';');
    let mime = parts.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        (1..=70).contains(&v.len()).then_some(v)
    })
}

/// Reads a multipart request body, spooling it and finding its routing fields; `limit` bounds
/// its size (413 beyond it, checked against `Content-Length` first and while reading).
pub async fn read(body: Body, headers: &HeaderMap, limit: u64) -> Result<Form, GatewayError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static(""));
    let Some(boundary) = content_type.to_str().ok().and_then(boundary) else {
        return Err(GatewayError::InvalidRequest {
            message: format!(
                "Invalid Content-Type header ({}), expected multipart/form-data with a boundary.",
                String::from_utf8_lossy(content_type.as_bytes())
            ),
            param: None,
            code: "invalid_content_type",
        });
    };
    let boundary = boundary.to_owned();
    if crate::proxy::declared_length(headers).is_some_and(|len| len > limit) {
        return Err(GatewayError::PayloadTooLarge { limit });
    }
    let mut scanner = PartScanner::new(&boundary);
    let mut spool = Spool::default();
    let mut received: u64 = 0;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| GatewayError::InvalidRequest {
            message: format!("Could not read the request body: {e}"),
            param: None,
            code: "body_read_error",
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        received += chunk.len() as u64;
        if received > limit {
            return Err(GatewayError::PayloadTooLarge { limit });
        }
        scanner.feed(&chunk).map_err(|e| invalid(e.to_string()))?;
        spool
            .write(&chunk)
            .await
            .map_err(|e| GatewayError::Internal(format!("spooling the upload failed: {e}")))?;
    }
    let scanned = scanner.finish().map_err(|e| invalid(e.to_string()))?;
    let stored = spool
        .finish()
        .await
        .map_err(|e| GatewayError::Internal(format!("spooling the upload failed: {e}")))?;
    Ok(Form {
        stored,
        scanned,
        boundary,
        content_type,
    })
}

impl Form {
    /// The `model` field: its value and span (as for a JSON body's `model`).
    pub fn model(&self) -> Option<(String, Range<usize>)> {
        self.scanned.model.as_ref().map(|f| {
            let span = usize::try_from(f.span.start).unwrap_or(usize::MAX)
                ..usize::try_from(f.span.end).unwrap_or(usize::MAX);
            (f.value.clone(), span)
        })
    }

    /// `stream=true` (transcriptions answer with SSE then).
    pub fn streams(&self) -> bool {
        self.scanned
            .stream
            .as_ref()
            .is_some_and(|f| f.value.trim().eq_ignore_ascii_case("true"))
    }

    /// The body for one upstream attempt.
    pub fn body(&self, edit: &Edit<'_>) -> OutBody {
        let len = self.stored.len();
        let segments = match edit {
            Edit::None => vec![Segment::Stored(0..len)],
            Edit::Replace(span, value) => vec![
                Segment::Stored(0..span.start as u64),
                Segment::Inline(Bytes::copy_from_slice(value.as_bytes())),
                Segment::Stored(span.end as u64..len),
            ],
            Edit::Insert(value) => {
                let first = self.scanned.first_part;
                let part = format!(
                    "--{}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n{value}\r\n",
                    self.boundary
                );
                vec![
                    Segment::Stored(0..first),
                    Segment::Inline(Bytes::from(part)),
                    Segment::Stored(first..len),
                ]
            }
        };
        self.stored.replay(segments)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert_eq!(boundary("multipart/form-data; boundary=abc"), Some("abc"));
        assert_eq!(
            boundary("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b\""),
            Some("a b")
        );
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(boundary("application/json; boundary=abc"), None);
        assert_eq!(boundary("multipart/form-data; boundary="), None);
    }

    async fn form(raw: &'static [u8]) -> Result<Form, GatewayError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=B"),
        );
        read(Body::from(raw), &headers, 1000).await
    }

    async fn text(body: OutBody) -> String {
        let bytes = body.collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn replays_with_the_model_replaced_or_added() {
        let raw = b"--B\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nalias\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF\r\n--B--\r\n";
        let f = form(raw).await.unwrap();
        let (model, span) = f.model().unwrap();
        assert_eq!(model, "alias");
        assert_eq!(text(f.body(&Edit::None)).await.as_bytes(), raw);
        let replaced = text(f.body(&Edit::Replace(span, "dep-1"))).await;
        assert_eq!(
            replaced,
            String::from_utf8_lossy(raw).replace("\r\nalias\r\n", "\r\ndep-1\r\n")
        );
        let added = text(f.body(&Edit::Insert("dep-2"))).await;
        assert!(added.starts_with(
            "--B\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ndep-2\r\n--B\r\n"
        ));
        assert!(added.ends_with(&*String::from_utf8_lossy(raw)));
    }

    #[tokio::test]
    async fn refuses_what_is_not_multipart() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let err = read(Body::from("{}"), &headers, 10).await.unwrap_err();
        assert_eq!(err.code(), "invalid_content_type");
        assert_eq!(
            form(b"--B\r\nbroken").await.unwrap_err().code(),
            "invalid_multipart"
        );
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=B"),
        );
        let big = vec![b'x'; 20];
        let err = read(Body::from(big), &headers, 10).await.unwrap_err();
        assert_eq!(err.code(), "request_too_large");
    }
}
