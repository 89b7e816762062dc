//! Learning a new response's id from `POST /responses` as its body streams by, so later calls
//! about it go to the upstream that stored it ([`super::owners`]).
//!
//! Only the first [`PREFIX`] bytes are looked at, and only until the id is found: the JSON
//! body's top-level `id`, or an SSE body's first `response.id` (the `response.created` event).
//! Both come first in what Azure and OpenAI send. Frames pass through untouched, and no other
//! operation is wrapped.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::StatusCode;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;

use super::owners::{Owner, ResponseOwners};

/// How much of the body is examined at most.
const PREFIX: usize = 4096;
/// Longest id accepted (real ones are about 50 characters).
const MAX_ID: usize = 256;

/// The client's response body: wrapped to learn the response id when `owner` is set (a
/// successful `POST /responses`), else as it is.
pub fn body<B>(
    inner: B,
    status: StatusCode,
    owner: Option<Owner>,
    owners: &Arc<ResponseOwners>,
) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    match owner {
        Some(owner) if status.is_success() => Body::new(IdCapture {
            inner,
            seen: Some(Seen {
                prefix: Vec::new(),
                owner,
                owners: Arc::clone(owners),
            }),
        }),
        _ => Body::new(inner),
    }
}

/// The prefix so far, and where the id goes once it is found.
struct Seen {
    prefix: Vec<u8>,
    owner: Owner,
    owners: Arc<ResponseOwners>,
}

impl Seen {
    /// Adds a frame's bytes; `true` once there is nothing more to look for.
    fn feed(&mut self, data: &[u8]) -> bool {
        let room = PREFIX.saturating_sub(self.prefix.len());
        self.prefix.extend_from_slice(&data[..data.len().min(room)]);
        if let Some(id) = response_id(&self.prefix) {
            self.owners.insert(id, self.owner.clone());
            return true;
        }
        self.prefix.len() >= PREFIX
    }
}

pin_project! {
    struct IdCapture<B> {
        #[pin]
        inner: B,
        // `None` once the id was found or the prefix is exhausted.
        seen: Option<Seen>,
    }
}

impl<B: http_body::Body<Data = Bytes>> http_body::Body for IdCapture<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let (Some(data), Some(seen)) = (frame.data_ref(), this.seen.as_mut())
            && seen.feed(data)
        {
            *this.seen = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The response id in the start of a Responses API body, JSON or SSE.
pub fn response_id(prefix: &[u8]) -> Option<&str> {
    let first = prefix.iter().find(|b| !b.is_ascii_whitespace())?;
    let raw = if *first == b'{' {
        string_at(prefix, &[b"id"])
    } else {
        prefix
            .split(|b| *b == b'\n')
            .filter_map(|line| line.strip_prefix(b"data:"))
            .find_map(|data| string_at(data, &[b"response", b"id"]))
    }?;
    let id = std::str::from_utf8(raw).ok()?;
    let plain = !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    plain.then_some(id)
}

fn skip_ws(text: &[u8], i: &mut usize) {
    while text.get(*i).is_some_and(u8::is_ascii_whitespace) {
        *i += 1;
    }
}

/// A string's raw contents (escapes left as they are); `i` starts at its opening quote and
/// ends past the closing one. `None` when the text ends first.
fn string<'t>(text: &'t [u8], i: &mut usize) -> Option<&'t [u8]> {
    if text.get(*i) != Some(&b'"') {
        return None;
    }
    let start = *i + 1;
    let mut j = start;
    loop {
        match text.get(j)? {
            b'\\' => j += 2,
            b'"' => {
                *i = j + 1;
                return text.get(start..j);
            }
            _ => j += 1,
        }
    }
}

/// Moves `i` past one value of any kind. `None` when the text ends first.
fn skip_value(text: &[u8], i: &mut usize) -> Option<()> {
    let mut depth = 0usize;
    loop {
        skip_ws(text, i);
        match text.get(*i)? {
            b'"' => {
                string(text, i)?;
            }
            b'{' | b'[' => {
                depth += 1;
                *i += 1;
                continue;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                *i += 1;
            }
            b',' | b':' if depth > 0 => {
                *i += 1;
                continue;
            }
            _ => {
                // A number, `true`, `false` or `null`: up to the next delimiter.
                let start = *i;
                while text.get(*i).is_some_and(|b| {
                    !matches!(b, b',' | b'}' | b']' | b':') && !b.is_ascii_whitespace()
                }) {
                    *i += 1;
                }
                if *i == start || *i >= text.len() {
                    return None;
                }
            }
        }
        if depth == 0 {
            return Some(());
        }
    }
}

/// The raw string at `path` (object keys from the root) in JSON text that may be cut short;
/// `None` when it is absent, not a string, or not complete in `text`.
fn string_at<'t>(text: &'t [u8], path: &[&[u8]]) -> Option<&'t [u8]> {
    let (want, rest) = path.split_first()?;
    let mut i = 0;
    skip_ws(text, &mut i);
    if text.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        skip_ws(text, &mut i);
        let key = string(text, &mut i)?;
        skip_ws(text, &mut i);
        if text.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        skip_ws(text, &mut i);
        if key == *want {
            return match rest {
                [] => string(text, &mut i),
                // Descend: the value must be an object.
                _ => string_at(text.get(i..)?, rest),
            };
        }
        skip_value(text, &mut i)?;
        skip_ws(text, &mut i);
        if text.get(i) != Some(&b',') {
            // `}` (the key is absent) or not JSON.
            return None;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn finds_the_id_in_json_and_sse() {
        let json = br#"{"id":"resp_abc123","object":"response","status":"completed"}"#;
        assert_eq!(response_id(json), Some("resp_abc123"));
        // Not first, and after nested values that contain their own `id`.
        let json = br#" {"object":"response","meta":{"id":"nope","list":[1,{"id":"x"}],"s":"a\"id\":"},"n":-1.5e3,"ok":true,"id" : "resp_2"}"#;
        assert_eq!(response_id(json), Some("resp_2"));
        let sse = b"event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_sse\",\"object\":\"response\"}}\n\n";
        assert_eq!(response_id(sse), Some("resp_sse"));
        let sse = b": keep-alive\n\ndata:{\"type\":\"x\",\"item\":{\"id\":\"msg_1\"}}\n\ndata: {\"type\":\"response.in_progress\",\"response\":{\"status\":\"x\",\"id\":\"resp_3\"}}\n\n";
        assert_eq!(response_id(sse), Some("resp_3"));
    }

    #[test]
    fn incomplete_or_odd_bodies_yield_nothing() {
        for text in [
            &br#"{"id":"resp_trunc"#[..],
            br#"{"object":"response","id""#,
            br#"{"id":5}"#,
            br#"{"id":"has space"}"#,
            br#"{"id":""}"#,
            br#"{"error":{"id":"x"}}"#,
            br#"[{"id":"x"}]"#,
            b"data: {\"response\":\"resp_1\"}\n",
            b"",
        ] {
            assert_eq!(response_id(text), None, "{}", String::from_utf8_lossy(text));
        }
        let long = format!(r#"{{"id":"{}"}}"#, "a".repeat(MAX_ID + 1));
        assert_eq!(response_id(long.as_bytes()), None);
    }

    fn owner() -> Owner {
        Owner {
            upstream: Arc::from("up-a"),
            deployment: Some(Arc::from("dep")),
        }
    }

    async fn pass(chunks: Vec<&'static [u8]>, status: StatusCode) -> (Bytes, Arc<ResponseOwners>) {
        let owners = Arc::new(ResponseOwners::default());
        let frames = futures_util::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(c)))),
        );
        let inner = http_body_util::StreamBody::new(frames);
        let out = body(inner, status, Some(owner()), &owners);
        let bytes = out.collect().await.unwrap().to_bytes();
        (bytes, owners)
    }

    #[tokio::test]
    async fn the_id_is_captured_across_frames_and_bytes_pass_unchanged() {
        let (bytes, owners) = pass(
            vec![
                b"data: {\"type\":\"response.created\",\"response\":{\"i",
                b"d\":\"resp_",
                b"split\"}}\n\n",
                b"data: [DONE]\n\n",
            ],
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            &bytes[..],
            b"data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_split\"}}\n\ndata: [DONE]\n\n"
        );
        assert_eq!(owners.get("resp_split"), Some(owner()));
    }

    #[tokio::test]
    async fn errors_and_late_ids_are_not_remembered() {
        let (_, owners) = pass(vec![br#"{"id":"resp_err"}"#], StatusCode::BAD_REQUEST).await;
        assert!(owners.is_empty());
        let mut late = vec![b"{\"pad\":\"" as &'static [u8]];
        let pad: &'static [u8] = Box::leak(vec![b'x'; PREFIX].into_boxed_slice());
        late.push(pad);
        late.push(br#"","id":"resp_late"}"#);
        let (bytes, owners) = pass(late, StatusCode::OK).await;
        assert_eq!(bytes.len(), 8 + PREFIX + 19);
        assert!(owners.is_empty());
    }
}
