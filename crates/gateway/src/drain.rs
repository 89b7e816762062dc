//! Graceful shutdown for sessions that outlive their HTTP exchange.
//!
//! hyper's graceful shutdown waits for connections, but an upgraded connection (a realtime
//! WebSocket) has left hyper: its task would simply be dropped with the worker's runtime, and
//! both peers would see the TCP connection vanish. So each session holds a [`Session`] guard:
//! on shutdown [`Closer::close`] tells every session to close both sides with 1001 ("going
//! away"), and [`Sessions::idle`] lets `serve` wait until the last guard is gone (within the
//! shutdown grace period).

use std::sync::Arc;

use tokio::sync::watch;

/// Hands out session guards; cheap to clone into a route.
#[derive(Debug, Clone)]
pub struct Drain {
    closing: watch::Receiver<bool>,
    live: Arc<watch::Sender<usize>>,
}

/// Tells the sessions to close.
#[derive(Debug)]
pub struct Closer(watch::Sender<bool>);

/// Waits for the sessions to end.
#[derive(Debug)]
pub struct Sessions(watch::Receiver<usize>);

/// One live session; counted until dropped.
#[derive(Debug)]
pub struct Session {
    closing: watch::Receiver<bool>,
    live: Arc<watch::Sender<usize>>,
}

/// A new drain: the handle for routes, the trigger, and the waiter.
pub fn channel() -> (Drain, Closer, Sessions) {
    let (closing_tx, closing_rx) = watch::channel(false);
    let (live_tx, live_rx) = watch::channel(0usize);
    let drain = Drain {
        closing: closing_rx,
        live: Arc::new(live_tx),
    };
    (drain, Closer(closing_tx), Sessions(live_rx))
}

impl Drain {
    /// Registers a session.
    pub fn session(&self) -> Session {
        self.live.send_modify(|n| *n += 1);
        Session {
            closing: self.closing.clone(),
            live: Arc::clone(&self.live),
        }
    }
}

impl Session {
    /// Resolves once shutdown has begun (at once if it already has, or if the server is gone).
    pub async fn closing(&mut self) {
        let _ = self.closing.wait_for(|closing| *closing).await;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.live.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Closer {
    pub fn close(&self) {
        self.0.send_replace(true);
    }
}

impl Sessions {
    /// Resolves when no session is live.
    pub async fn idle(&mut self) {
        let _ = self.0.wait_for(|n| *n == 0).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn sessions_hear_the_close_and_are_waited_for() {
        let (drain, closer, mut sessions) = channel();
        sessions.idle().await;
        let mut a = drain.session();
        let b = drain.session();
        let idle = tokio::time::timeout(Duration::from_millis(20), sessions.idle()).await;
        assert!(idle.is_err(), "two sessions are live");
        closer.close();
        a.closing().await;
        drop((a, b));
        sessions.idle().await;
        // A session opened after the close hears it at once.
        drain.session().closing().await;
    }
}
