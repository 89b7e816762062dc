//! Response bodies that report how they ended: whole, abandoned by the client,
//! or cut on purpose.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::record::{CancelGuard, Outcome, Tracker};

/// Time for hyper to flush the events already handed over before a cut, since it
/// drops its write buffer when the body errors.
const FLUSH_BEFORE_CUT: Duration = Duration::from_millis(20);

/// Wraps a body so the exchange is marked `Completed` once the last frame is
/// handed to hyper, and `Cancelled` if hyper drops it earlier.
struct TrackedBody {
    inner: Body,
    guard: CancelGuard,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.guard.finish(Outcome::Completed),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => {
                self.guard.finish(Outcome::Completed);
            }
            _ => {}
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

impl Drop for TrackedBody {
    fn drop(&mut self) {
        // hyper never polls a body that is empty from the start.
        if self.inner.is_end_stream() {
            self.guard.finish(Outcome::Completed);
        }
    }
}

/// Attaches outcome tracking to `body`; returns it untouched when recording is off.
pub(crate) fn track(body: Body, guard: CancelGuard) -> Body {
    if guard.0.is_active() {
        Body::new(TrackedBody { inner: body, guard })
    } else {
        body
    }
}

/// A body that sends each event as its own frame, sleeping `delay` before every
/// event but the first, and aborting the connection after `cut_after` events.
pub(crate) fn events(
    events: Vec<Bytes>,
    delay: Duration,
    cut_after: Option<usize>,
    tracker: Tracker,
) -> Body {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(produce(events, delay, cut_after, tracker, tx));
    Body::from_stream(ReceiverStream::new(rx))
}

type Sender = mpsc::Sender<Result<Bytes, io::Error>>;

async fn produce(
    events: Vec<Bytes>,
    delay: Duration,
    cut_after: Option<usize>,
    tracker: Tracker,
    tx: Sender,
) {
    let total = events.len();
    for (i, event) in events.into_iter().enumerate() {
        if cut_after == Some(i) {
            return cut(&tracker, &tx).await;
        }
        if i > 0 && !delay.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = tx.closed() => return tracker.finish(Outcome::Cancelled),
            }
        }
        if tx.send(Ok(event)).await.is_err() {
            return tracker.finish(Outcome::Cancelled);
        }
    }
    if cut_after == Some(total) {
        cut(&tracker, &tx).await;
    }
}

/// Lets hyper write out what it already has, then fails the body so hyper
/// drops the connection without the terminating chunk.
async fn cut(tracker: &Tracker, tx: &Sender) {
    while tx.capacity() < tx.max_capacity() {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(1)) => {}
            () = tx.closed() => return tracker.finish(Outcome::Cancelled),
        }
    }
    tokio::time::sleep(FLUSH_BEFORE_CUT).await;
    tracker.finish(Outcome::Cut);
    let _ = tx
        .send(Err(io::Error::other(
            "mock-azure: connection cut on purpose",
        )))
        .await;
}
