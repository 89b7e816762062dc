//! Response bodies that report how they ended: whole, abandoned by the client,
//! or cut on purpose.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use bytes::{Bytes, BytesMut};
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
/// event but the first, and aborting the connection after `cut_after` events. With
/// `split`, the events (those before the cut) are re-cut into frames of at most that many
/// bytes instead, and the delay applies per frame.
pub(crate) fn events(
    events: Vec<Bytes>,
    delay: Duration,
    cut_after: Option<usize>,
    split: Option<usize>,
    tracker: Tracker,
) -> Body {
    let (frames, cut_after) = match split {
        Some(size) => resplit(events, cut_after, size),
        None => (events, cut_after),
    };
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(produce(frames, delay, cut_after, tracker, tx));
    Body::from_stream(ReceiverStream::new(rx))
}

/// The bytes of the events a cut lets through, in frames of at most `size` bytes, and
/// the cut moved to after the last frame (none if the cut lay beyond the events).
fn resplit(
    events: Vec<Bytes>,
    cut_after: Option<usize>,
    size: usize,
) -> (Vec<Bytes>, Option<usize>) {
    let total = events.len();
    let kept = cut_after.map_or(total, |cut| cut.min(total));
    let mut all = BytesMut::with_capacity(events.iter().take(kept).map(Bytes::len).sum());
    for event in events.iter().take(kept) {
        all.extend_from_slice(event);
    }
    let all = all.freeze();
    let size = size.max(1);
    let frames: Vec<Bytes> = (0..all.len())
        .step_by(size)
        .map(|at| all.slice(at..all.len().min(at + size)))
        .collect();
    let cut = cut_after.filter(|cut| *cut <= total).map(|_| frames.len());
    (frames, cut)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> Vec<Bytes> {
        ["data: é1\n\n", "data: 🌍2\n\n", "data: [DONE]\n\n"]
            .into_iter()
            .map(|s| Bytes::from_static(s.as_bytes()))
            .collect()
    }

    #[test]
    fn resplit_cuts_across_events_and_characters() {
        let (frames, cut) = resplit(events(), None, 4);
        assert!(frames.iter().all(|f| !f.is_empty() && f.len() <= 4));
        assert_eq!(frames.concat(), events().concat());
        assert!(frames.iter().any(|f| std::str::from_utf8(f).is_err()));
        assert_eq!(cut, None);
    }

    #[test]
    fn resplit_keeps_counting_events_for_the_cut() {
        let (frames, cut) = resplit(events(), Some(2), 5);
        assert_eq!(frames.concat(), events()[..2].concat());
        assert_eq!(cut, Some(frames.len()));
        let (frames, cut) = resplit(events(), Some(3), 100);
        assert_eq!((frames.len(), cut), (1, Some(1)));
        let (frames, cut) = resplit(events(), Some(9), 100);
        assert_eq!((frames.len(), cut), (1, None));
        let (frames, cut) = resplit(events(), Some(0), 100);
        assert_eq!((frames.len(), cut), (0, Some(0)));
    }
}
