//! The body of an upstream request: the client's JSON bytes (the hot path, one buffer), or a
//! stream (a spooled multipart upload replayed per attempt, a file upload passed through).
//!
//! One enum rather than a boxed body for every request, so JSON calls cost no allocation or
//! dynamic dispatch for it. A stream states its exact length when it is known, so hyper sends
//! `Content-Length` rather than chunked encoding (some upstreams refuse chunked multipart).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An upstream request body.
#[derive(Debug)]
pub enum OutBody {
    Full(Full<Bytes>),
    Stream {
        inner: UnsyncBoxBody<Bytes, BoxError>,
        /// The exact length, when known.
        len: Option<u64>,
    },
}

impl OutBody {
    pub fn full(bytes: Bytes) -> Self {
        Self::Full(Full::new(bytes))
    }

    /// A streamed body; `len`, when known, must be its exact length.
    pub fn stream<B>(body: B, len: Option<u64>) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self::Stream {
            inner: body.map_err(Into::into).boxed_unsync(),
            len,
        }
    }
}

impl Body for OutBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Full(full) => Pin::new(full)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(|never| match never {}))),
            Self::Stream { inner, .. } => Pin::new(inner).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(full) => full.is_end_stream(),
            Self::Stream { inner, .. } => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(full) => full.size_hint(),
            Self::Stream { len: Some(n), .. } => SizeHint::with_exact(*n),
            Self::Stream { inner, .. } => inner.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn both_forms_yield_their_bytes_and_length() {
        let full = OutBody::full(Bytes::from_static(b"{}"));
        assert_eq!(full.size_hint().exact(), Some(2));
        assert_eq!(full.collect().await.unwrap().to_bytes(), "{}");
        let chunks = futures_util::stream::iter([
            Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(b"ab"))),
            Ok(Frame::data(Bytes::from_static(b"c"))),
        ]);
        let streamed = OutBody::stream(http_body_util::StreamBody::new(chunks), Some(3));
        assert_eq!(streamed.size_hint().exact(), Some(3));
        assert_eq!(streamed.collect().await.unwrap().to_bytes(), "abc");
    }
}
