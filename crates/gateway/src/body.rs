//! The response body wrapper: frames pass through untouched while a side scanner watches them.
//!
//! `ObservedBody` forwards each upstream frame as-is (the same `Bytes`, no copy), feeds the
//! frame to the [`Scanner`], and enforces two timers: the idle gap between frames and the
//! request's total deadline. A timer firing ends the body with an error, so hyper aborts the
//! response instead of presenting a truncated body as complete. When the body ends — normally,
//! with an error, or because the client went away and the body was dropped — the request's
//! [`Pending`] record is completed (stats, metrics, ledger, log), and a pooled deployment's
//! [`Lease`] is released (so least-busy sees
//! the stream as in flight until here). Dropping the body drops the upstream response, which
//! closes that upstream connection: a client that disconnects cancels the upstream request.
//!
//! When the request needs it, a [`BodyEdit`] sits between the upstream and the client (a
//! translation, the usage chunk the gateway asked for, a content-filter refusal reshaped); the
//! scanner still sees the upstream's bytes, so accounting is the same either way.
//!
//! A stream that breaks after its headers went out cannot be replayed elsewhere. For an SSE
//! body the client then gets one last `data: {"error":{…}}` event (OpenAI's error envelope,
//! which the official SDKs raise as an API error), and only then the broken body, so a client
//! sees both an explicit error and an incomplete response. The event is only added at a line
//! boundary: after half a line the client's parser could not read it.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use crate::rewrite::BodyEdit;
use crate::route::health::Lease;
use crate::stream::Scanner;
use crate::telemetry::{BodyEnd, Pending};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the gateway cut a response body short.
#[derive(Debug, thiserror::Error)]
pub enum BodyTimeout {
    #[error("upstream sent nothing for {0:?}")]
    Idle(Duration),
    #[error("upstream response exceeded the total request timeout")]
    Total,
}

/// Accounting for one response; records exactly once, at the end or on drop.
struct Tap {
    scanner: Scanner,
    pending: Pending,
    upstream_error: bool,
    streaming: bool,
    recorded: bool,
    lease: Option<Lease>,
}

impl Tap {
    /// `failed` is the code of the failure that cut the body short, if one did.
    fn record(&mut self, failed: Option<&'static str>, cancelled: bool) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        if let Some(lease) = self.lease.take() {
            lease.finish(failed.is_some());
        }
        self.scanner.finish();
        let end = BodyEnd {
            failed,
            cancelled,
            upstream_error: self.upstream_error,
            streaming: self.streaming,
        };
        self.pending.finish_body(end, self.scanner.outcome());
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        // Still unrecorded: the body was dropped before its end, i.e. the client went away.
        self.record(None, true);
    }
}

/// The stable code of a failure that cut a body short.
fn failure_code(error: &(dyn std::error::Error + 'static)) -> &'static str {
    match error.downcast_ref::<BodyTimeout>() {
        Some(BodyTimeout::Idle(_)) => "upstream_idle_timeout",
        Some(BodyTimeout::Total) => "upstream_timeout",
        None => "upstream_stream_error",
    }
}

/// Where the body is in its life.
enum State {
    Streaming,
    /// The SSE error event went out; the failure follows once hyper has had a chance to flush
    /// it (`yielded` after one `Pending`), since hyper drops unwritten bytes on a body error.
    Failing {
        error: BoxError,
        yielded: bool,
    },
    Done,
}

pin_project! {
    pub struct ObservedBody {
        #[pin]
        inner: Incoming,
        tap: Tap,
        idle: Duration,
        deadline: Instant,
        // One timer for both limits: it is armed for whichever comes first.
        timer: Pin<Box<Sleep>>,
        state: State,
        edit: Option<Box<dyn BodyEdit>>,
    }
}

/// The SSE event that tells the client its stream broke, if one can be added here.
fn error_event(
    tap: &Tap,
    edit: Option<&mut Box<dyn BodyEdit>>,
    error: &(dyn std::error::Error + 'static),
) -> Option<Bytes> {
    let code = failure_code(error);
    let message = match error.downcast_ref::<BodyTimeout>() {
        Some(_) => error.to_string(),
        None => format!("The upstream stream broke before it finished: {error}"),
    };
    if let Some(edit) = edit {
        // An edit emits whole events only, so its own last event always fits.
        return edit.broken(code, &message);
    }
    if !tap.streaming {
        return None;
    }
    let prefix = match tap.scanner.sse_boundary()? {
        true => "",
        // The last event's lines are all here; a blank line completes it.
        false => "\n",
    };
    let envelope = serde_json::json!({"error": {
        "message": message, "type": "upstream_error", "param": null, "code": code,
    }});
    Some(Bytes::from(format!("{prefix}data: {envelope}\n\n")))
}

/// Two pieces of output as one frame.
fn join(head: Bytes, tail: Bytes) -> Bytes {
    if head.is_empty() {
        return tail;
    }
    if tail.is_empty() {
        return head;
    }
    let mut all = Vec::with_capacity(head.len() + tail.len());
    all.extend_from_slice(&head);
    all.extend_from_slice(&tail);
    Bytes::from(all)
}

/// When the body must next show progress: the idle limit from now, or the total deadline.
fn next_wake(idle: Duration, deadline: Instant) -> Instant {
    (Instant::now() + idle).min(deadline)
}

impl ObservedBody {
    pub fn new(
        inner: Incoming,
        content_type: Option<&str>,
        pending: Pending,
        upstream_error: bool,
        idle: Duration,
        deadline: Instant,
        lease: Option<Lease>,
    ) -> Self {
        let scanner = Scanner::for_content_type(content_type);
        let streaming = matches!(scanner, Scanner::Sse(_));
        Self {
            inner,
            tap: Tap {
                scanner,
                pending,
                upstream_error,
                streaming,
                recorded: false,
                lease,
            },
            idle,
            deadline,
            timer: Box::pin(tokio::time::sleep_until(next_wake(idle, deadline))),
            state: State::Streaming,
            edit: None,
        }
    }

    /// Puts `edit` between the upstream and the client.
    pub fn with_edit(mut self, edit: Option<Box<dyn BodyEdit>>) -> Self {
        self.edit = edit;
        self
    }
}

impl Body for ObservedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        match this.state {
            State::Streaming => {}
            State::Done => return Poll::Ready(None),
            State::Failing { yielded, .. } if !*yielded => {
                *yielded = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            State::Failing { .. } => {
                if let State::Failing { error, .. } = std::mem::replace(this.state, State::Done) {
                    return Poll::Ready(Some(Err(error)));
                }
                return Poll::Ready(None);
            }
        }
        let error: BoxError = loop {
            match this.inner.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        if !data.is_empty() {
                            this.tap.pending.first_byte();
                        }
                        this.tap.scanner.feed(data);
                    }
                    let ended = this.inner.is_end_stream();
                    let frame = match (this.edit.as_mut(), frame.into_data()) {
                        (None, Ok(data)) => Frame::data(data),
                        (None, Err(frame)) => frame,
                        (Some(edit), Ok(data)) => {
                            let out = edit.frame(&data);
                            let out = match ended.then(|| edit.end()) {
                                None => out,
                                Some(Ok(tail)) => join(out, tail),
                                Some(Err(e)) => break e,
                            };
                            Frame::data(out)
                        }
                        // Trailers: nothing to edit.
                        (Some(_), Err(frame)) => frame,
                    };
                    if ended {
                        // hyper stops polling at a known length, so record now, not on drop.
                        *this.state = State::Done;
                        this.tap.record(None, false);
                    } else {
                        this.timer
                            .as_mut()
                            .reset(next_wake(*this.idle, *this.deadline));
                        if frame.data_ref().is_some_and(Bytes::is_empty) {
                            // The edit holds these bytes for now: read on.
                            continue;
                        }
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Poll::Ready(None) => {
                    let tail = match this.edit.as_mut().map(|edit| edit.end()) {
                        None => Bytes::new(),
                        Some(Ok(tail)) => tail,
                        Some(Err(e)) => break e,
                    };
                    *this.state = State::Done;
                    this.tap.record(None, false);
                    if tail.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(tail))));
                }
                Poll::Ready(Some(Err(e))) => break Box::new(e),
                Poll::Pending => {
                    ready!(this.timer.as_mut().poll(cx));
                    let timeout = if Instant::now() >= *this.deadline {
                        BodyTimeout::Total
                    } else {
                        BodyTimeout::Idle(*this.idle)
                    };
                    break Box::new(timeout);
                }
            }
        };
        let event = error_event(this.tap, this.edit.as_mut(), error.as_ref());
        this.tap.record(Some(failure_code(error.as_ref())), false);
        tracing::warn!(%error, sse_error_event = event.is_some(), "response body cut short");
        match event {
            Some(event) => {
                *this.state = State::Failing {
                    error,
                    yielded: false,
                };
                Poll::Ready(Some(Ok(Frame::data(event))))
            }
            None => {
                *this.state = State::Done;
                Poll::Ready(Some(Err(error)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match self.edit {
            // An edited body's length is known only at its end.
            Some(_) => SizeHint::default(),
            None => self.inner.size_hint(),
        }
    }
}
