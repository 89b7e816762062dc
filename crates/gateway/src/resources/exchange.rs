//! One request to one named upstream, for calls that are not about a model: build it, send it
//! (retrying what may be retried), and stream the answer back.
//!
//! The rules are those of [`crate::upstream::send`]: the upstream's own credential, header
//! hygiene, `maxRetries` on connect failures and `retryStatuses` (never for a streamed upload,
//! which cannot be replayed), a first-byte timeout, the total deadline. An upload's first-byte
//! clock starts when its last byte has been sent, since sending 512 MiB may itself take longer
//! than `firstByteTimeoutMs`. Answers stream back through [`ObservedBody`] without a scanner:
//! files and stored objects are not generations, and a batch output file's `usage` lines must
//! not count as tokens of this request.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, header};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::body::ObservedBody;
use crate::call::ClientIdentity;
use crate::error::{GatewayError, Phase};
use crate::proxy;
use crate::state::UpstreamPolicy;
use crate::telemetry::Pending;
use crate::upstream::{OutBody, Upstream, headers, send};

/// One request's fixed parts.
pub struct Exchange<'a> {
    pub upstream: &'a Upstream,
    pub method: Method,
    /// Path and query, relative to the upstream's base URL.
    pub path: String,
    pub client_headers: &'a HeaderMap,
    pub client: &'a ClientIdentity,
    pub request_id: &'a HeaderValue,
    pub policy: &'a UpstreamPolicy,
    pub deadline: Instant,
}

impl Exchange<'_> {
    /// The request for one attempt, and the Entra ID token it carries (if any).
    async fn request(
        &self,
        body: OutBody,
        has_body: bool,
    ) -> Result<(Request<OutBody>, Option<HeaderValue>), GatewayError> {
        let upstream = self.upstream;
        let mut hdrs = headers::upstream_request(self.client_headers, self.request_id);
        // These APIs carry multipart uploads, JSON or nothing: the client's own type goes.
        hdrs.remove(header::CONTENT_TYPE);
        if has_body && let Some(ct) = self.client_headers.get(header::CONTENT_TYPE) {
            hdrs.insert(header::CONTENT_TYPE, ct.clone());
        }
        let token = upstream
            .credential
            .apply(
                &mut hdrs,
                self.client,
                upstream.kind,
                &upstream.name,
                self.deadline,
            )
            .await?;
        hdrs.insert(header::HOST, upstream.host.clone());
        let mut req = Request::new(body);
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = upstream.uri(&self.path)?;
        *req.headers_mut() = hdrs;
        Ok((req, token))
    }

    fn timeout(&self, phase: Phase) -> GatewayError {
        let limit = match phase {
            Phase::Total => self.policy.total,
            _ => self.policy.first_byte,
        };
        GatewayError::UpstreamTimeout {
            upstream: self.upstream.name.to_string(),
            phase,
            ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// One attempt. With `sent`, the first-byte clock starts once it fires (or is dropped).
    async fn attempt(
        &self,
        body: OutBody,
        has_body: bool,
        sent: Option<oneshot::Receiver<()>>,
    ) -> Result<http::Response<Incoming>, GatewayError> {
        let (req, _) = self.request(body, has_body).await?;
        self.exchange(req, sent).await
    }

    /// A replayable attempt: sent once more with a new token if the Entra ID token is refused.
    async fn attempt_again_on_401(
        &self,
        body: &Bytes,
        has_body: bool,
    ) -> Result<http::Response<Incoming>, GatewayError> {
        let (req, token) = self.request(OutBody::full(body.clone()), has_body).await?;
        let result = self.exchange(req, None).await;
        let status = result.as_ref().ok().map(http::Response::status);
        let upstream = self.upstream;
        if !upstream
            .credential
            .renewed_after(token.as_ref(), status, &upstream.name, self.deadline)
            .await
        {
            return result;
        }
        drop(result);
        self.attempt(OutBody::full(body.clone()), has_body, None)
            .await
    }

    async fn exchange(
        &self,
        req: Request<OutBody>,
        sent: Option<oneshot::Receiver<()>>,
    ) -> Result<http::Response<Incoming>, GatewayError> {
        let first_byte = async {
            if let Some(sent) = sent {
                let _ = sent.await;
            }
            tokio::time::sleep(self.policy.first_byte).await;
        };
        tokio::select! {
            result = self.upstream.client.get().request(req) => {
                result.map_err(|e| send::upstream_error(&e, self.upstream))
            }
            () = first_byte => Err(self.timeout(Phase::FirstByte)),
            () = tokio::time::sleep_until(self.deadline) => Err(self.timeout(Phase::Total)),
        }
    }

    /// Sends a bodiless or small request, retrying it (same upstream, after a pause) as
    /// `maxRetries` allows.
    pub async fn send(
        &self,
        body: Option<Bytes>,
    ) -> Result<http::Response<Incoming>, GatewayError> {
        let has_body = body.is_some();
        let body = body.unwrap_or_default();
        let mut attempt_no: u32 = 0;
        loop {
            let result = self.attempt_again_on_401(&body, has_body).await;
            let Some(delay) = send::retry_delay(self.policy, attempt_no, self.deadline, &result)
            else {
                return result;
            };
            drop(result);
            tracing::debug!(upstream = %self.upstream.name, attempt = attempt_no, ?delay, "retrying");
            tokio::time::sleep(delay).await;
            attempt_no += 1;
        }
    }

    /// Streams the client's body upstream once, at most `limit` bytes of it.
    pub async fn upload(
        &self,
        body: Body,
        limit: u64,
    ) -> Result<http::Response<Incoming>, GatewayError> {
        let declared = proxy::declared_length(self.client_headers);
        if declared.is_some_and(|len| len > limit) {
            return Err(GatewayError::PayloadTooLarge { limit });
        }
        let (sent_tx, sent_rx) = oneshot::channel();
        let state = Arc::new(AtomicU8::new(UPLOADING));
        let upload = Upload {
            inner: body,
            seen: 0,
            limit,
            state: Arc::clone(&state),
            sent: Some(sent_tx),
        };
        let result = self
            .attempt(OutBody::stream(upload, declared), true, Some(sent_rx))
            .await;
        match state.load(Ordering::Acquire) {
            TOO_LARGE => Err(GatewayError::PayloadTooLarge { limit }),
            CLIENT_FAILED if result.is_err() => Err(GatewayError::InvalidRequest {
                message: "Could not read the request body: the upload broke off.".to_owned(),
                param: None,
                code: "body_read_error",
            }),
            _ => result,
        }
    }
}

/// The upstream's answer as the client's response: headers cleaned, the body streamed through
/// [`ObservedBody`] (timeouts; the request's record completed at its end).
pub fn respond(
    resp: http::Response<Incoming>,
    upstream: &Upstream,
    mut pending: Pending,
    policy: &UpstreamPolicy,
    deadline: Instant,
) -> Response {
    let (mut head, incoming) = resp.into_parts();
    pending.answered(Some(&upstream.name), None, &head.headers);
    headers::clean_response(&mut head.headers);
    let failed = head.status.is_client_error() || head.status.is_server_error();
    pending.responded(head.status.as_u16());
    let observed = ObservedBody::new(incoming, None, pending, failed, policy.idle, deadline, None);
    Response::from_parts(head, Body::new(observed)).into_response()
}

/// Marks the end of the gateway's own work before an upstream call: the body is in, the call
/// starts.
pub fn sending(slot: &mut Option<Pending>) {
    if let Some(p) = slot.as_mut() {
        p.body_read();
        p.sending();
    }
}

/// Logs a call that got no upstream answer and passes its error on.
pub fn failed(upstream: &str, err: GatewayError) -> GatewayError {
    if !matches!(err, GatewayError::PayloadTooLarge { .. }) {
        tracing::warn!(upstream, error = %err, "upstream call failed");
    }
    err
}

const UPLOADING: u8 = 0;
const TOO_LARGE: u8 = 1;
const CLIENT_FAILED: u8 = 2;

/// Why an upload was cut off.
#[derive(Debug, thiserror::Error)]
#[error("the upload is larger than {0} bytes")]
struct UploadTooLarge(u64);

pin_project! {
    /// The client's upload on its way upstream: counted against the limit, and `sent` fires
    /// when it ends (or is dropped), which starts the first-byte clock.
    struct Upload {
        #[pin]
        inner: Body,
        seen: u64,
        limit: u64,
        state: Arc<AtomicU8>,
        sent: Option<oneshot::Sender<()>>,
    }
}

impl http_body::Body for Upload {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    *this.seen += data.len() as u64;
                    if *this.seen > *this.limit {
                        this.state.store(TOO_LARGE, Ordering::Release);
                        this.sent.take();
                        return Poll::Ready(Some(Err(Box::new(UploadTooLarge(*this.limit)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.state.store(CLIENT_FAILED, Ordering::Release);
                this.sent.take();
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Ready(None) => {
                if let Some(sent) = this.sent.take() {
                    let _ = sent.send(());
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn upload(chunks: &[usize], limit: u64) -> (Upload, Arc<AtomicU8>, oneshot::Receiver<()>) {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = chunks
            .iter()
            .map(|n| Ok(Frame::data(Bytes::from(vec![b'x'; *n]))))
            .collect();
        let body = Body::new(http_body_util::StreamBody::new(futures_util::stream::iter(
            frames,
        )));
        let (tx, rx) = oneshot::channel();
        let state = Arc::new(AtomicU8::new(UPLOADING));
        let up = Upload {
            inner: body,
            seen: 0,
            limit,
            state: Arc::clone(&state),
            sent: Some(tx),
        };
        (up, state, rx)
    }

    #[tokio::test]
    async fn uploads_within_the_limit_pass_and_signal_their_end() {
        let (up, state, rx) = upload(&[3, 4], 7);
        assert_eq!(up.collect().await.unwrap().to_bytes().len(), 7);
        assert_eq!(state.load(Ordering::Acquire), UPLOADING);
        assert_eq!(rx.await, Ok(()));
    }

    #[tokio::test]
    async fn uploads_past_the_limit_fail_and_say_why() {
        let (up, state, rx) = upload(&[3, 4, 1], 7);
        let err = up.collect().await.unwrap_err();
        assert!(err.to_string().contains("larger than 7 bytes"), "{err}");
        assert_eq!(state.load(Ordering::Acquire), TOO_LARGE);
        // Dropped, not sent: the first-byte clock starts all the same.
        assert!(rx.await.is_err());
    }
}
