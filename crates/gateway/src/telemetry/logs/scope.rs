//! The request scope: which request the current thread is working on, for log lines.
//!
//! [`crate::trace`] runs each request's future inside a [`Scoped`], which puts the request's
//! id in a thread-local for the length of each poll. The log layers read it and show it as a
//! `request{request_id=…}` span around every event emitted there.
//!
//! A `tracing` span did this before. Creating, entering, leaving and closing one per request
//! (slab slots, extension maps, both filters' span bookkeeping on every poll) cost about 4k
//! instructions per request, several times what the scope costs: a swap per poll, and work
//! only when an event is actually logged.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::HeaderValue;
use pin_project_lite::pin_project;

use super::fields::{Fields, Value};

/// The name the scope's span has in log lines.
pub const SPAN_NAME: &str = "request";

thread_local! {
    static CURRENT: Cell<Option<HeaderValue>> = const { Cell::new(None) };
}

/// Puts `id` in scope until the guard drops (panics included).
struct Enter<'a> {
    slot: &'a mut Option<HeaderValue>,
    prev: Option<HeaderValue>,
}

impl<'a> Enter<'a> {
    fn new(slot: &'a mut Option<HeaderValue>) -> Self {
        let prev = CURRENT.with(|c| c.replace(slot.take()));
        Self { slot, prev }
    }
}

impl Drop for Enter<'_> {
    fn drop(&mut self) {
        *self.slot = CURRENT.with(|c| c.replace(self.prev.take()));
    }
}

/// Runs `f` with `id` in scope.
pub fn in_scope<T>(id: &HeaderValue, f: impl FnOnce() -> T) -> T {
    let mut slot = Some(id.clone());
    let _enter = Enter::new(&mut slot);
    f()
}

/// The id of the request in scope on this thread, if any.
pub fn current() -> Option<HeaderValue> {
    CURRENT.with(|c| {
        let id = c.take();
        let copy = id.clone();
        c.set(id);
        copy
    })
}

/// The scope as a span's fields, for a layer formatting an event; `None` outside a request.
pub fn fields() -> Option<Fields> {
    let id = current()?;
    let mut fields = Fields::with_capacity(1);
    let text = String::from_utf8_lossy(id.as_bytes());
    fields.put_named("request_id", || Value::text(&text));
    Some(fields)
}

pin_project! {
    /// `future`, polled with its request's id in scope.
    pub struct Scoped<F> {
        #[pin]
        future: F,
        id: Option<HeaderValue>,
    }
}

impl<F> Scoped<F> {
    pub fn new(future: F, id: HeaderValue) -> Self {
        Self {
            future,
            id: Some(id),
        }
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _enter = Enter::new(this.id);
        this.future.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_is_restored_after_each_poll_and_nests() {
        let outer = HeaderValue::from_static("outer");
        let inner = HeaderValue::from_static("inner");
        assert_eq!(current(), None);
        in_scope(&outer, || {
            assert_eq!(current(), Some(outer.clone()));
            in_scope(&inner, || assert_eq!(current(), Some(inner.clone())));
            assert_eq!(current(), Some(outer.clone()));
        });
        assert_eq!(current(), None);
        let result = std::panic::catch_unwind(|| in_scope(&inner, || panic!("boom")));
        assert!(result.is_err());
        assert_eq!(current(), None, "a panic does not leave the id behind");
    }

    #[test]
    fn a_scoped_future_sees_its_id_on_every_poll_only() {
        let id = HeaderValue::from_static("req-9");
        let mut polls = 0;
        let fut = std::future::poll_fn(|cx| {
            assert_eq!(current().as_ref(), Some(&HeaderValue::from_static("req-9")));
            polls += 1;
            if polls < 3 {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(polls)
            }
        });
        let mut fut = std::pin::pin!(Scoped::new(fut, id));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        for _ in 0..2 {
            assert!(fut.as_mut().poll(&mut cx).is_pending());
            assert_eq!(current(), None, "nothing in scope between polls");
        }
        assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(3));
    }
}
