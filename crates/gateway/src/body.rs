//! The response body wrapper: frames pass through untouched while a side scanner watches them.
//!
//! `ObservedBody` forwards each upstream frame as-is (the same `Bytes`, no copy), feeds the
//! frame to the [`Scanner`], and enforces two timers: the idle gap between frames and the
//! request's total deadline. A timer firing ends the body with an error, so hyper aborts the
//! response instead of presenting a truncated body as complete. When the body ends — normally,
//! with an error, or because the client went away and the body was dropped — one record goes
//! to the model's counters. Dropping the body drops the upstream response, which closes that
//! upstream connection: a client that disconnects cancels the upstream request.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use crate::stream::Scanner;
use crate::telemetry::ModelStats;
use crate::telemetry::stats::RequestRecord;

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
    stats: Arc<ModelStats>,
    upstream_error: bool,
    streaming: bool,
    recorded: bool,
}

impl Tap {
    fn record(&mut self, failed: bool, cancelled: bool) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        self.scanner.finish();
        let outcome = self.scanner.outcome();
        let unfinished_stream = self.streaming && !outcome.finished && !cancelled;
        self.stats.record(RequestRecord {
            error: self.upstream_error || failed || outcome.error_event || unfinished_stream,
            cancelled,
            usage: outcome.usage,
        });
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        // Still unrecorded: the body was dropped before its end, i.e. the client went away.
        self.record(false, true);
    }
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
        done: bool,
    }
}

/// When the body must next show progress: the idle limit from now, or the total deadline.
fn next_wake(idle: Duration, deadline: Instant) -> Instant {
    (Instant::now() + idle).min(deadline)
}

impl ObservedBody {
    pub fn new(
        inner: Incoming,
        content_type: Option<&str>,
        stats: Arc<ModelStats>,
        upstream_error: bool,
        idle: Duration,
        deadline: Instant,
    ) -> Self {
        let scanner = Scanner::for_content_type(content_type);
        let streaming = matches!(scanner, Scanner::Sse(_));
        Self {
            inner,
            tap: Tap {
                scanner,
                stats,
                upstream_error,
                streaming,
                recorded: false,
            },
            idle,
            deadline,
            timer: Box::pin(tokio::time::sleep_until(next_wake(idle, deadline))),
            done: false,
        }
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
        if *this.done {
            return Poll::Ready(None);
        }
        match this.inner.as_mut().poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.tap.scanner.feed(data);
                }
                if this.inner.is_end_stream() {
                    // hyper stops polling at a known length, so record now, not on drop.
                    *this.done = true;
                    this.tap.record(false, false);
                } else {
                    this.timer
                        .as_mut()
                        .reset(next_wake(*this.idle, *this.deadline));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                *this.done = true;
                this.tap.record(true, false);
                tracing::warn!(error = %e, "upstream body failed");
                Poll::Ready(Some(Err(Box::new(e))))
            }
            Poll::Ready(None) => {
                *this.done = true;
                this.tap.record(false, false);
                Poll::Ready(None)
            }
            Poll::Pending => {
                ready!(this.timer.as_mut().poll(cx));
                let timeout = if Instant::now() >= *this.deadline {
                    BodyTimeout::Total
                } else {
                    BodyTimeout::Idle(*this.idle)
                };
                *this.done = true;
                this.tap.record(true, false);
                tracing::warn!(%timeout, "cutting upstream response");
                Poll::Ready(Some(Err(Box::new(timeout))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
