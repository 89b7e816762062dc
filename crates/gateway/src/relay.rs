//! The realtime relay: the client's WebSocket and the upstream's, joined both ways.
//!
//! - **Frames pass as they arrive.** One pump per direction, both running in the session's task;
//!   each message is sent and flushed before the next is read, so nothing queues in the
//!   gateway and a slow reader slows its sender through TCP backpressure. The WebSocket library
//!   hands over whole messages: a message sent in one frame (what realtime peers send) passes
//!   as that frame; a fragmented one is joined first. Text, binary, ping and pong pass as they
//!   are. Pings are relayed end to end, so a client's heartbeat also proves the upstream alive;
//!   each hop's library also answers a ping at once, so a peer may get a second, identical pong
//!   (RFC 6455 allows unsolicited pongs).
//! - **Closing.** A close frame goes to the other side with its code and reason. A side that
//!   goes away without one is reported to the other: a vanished client as 1001 ("going away") to
//!   the upstream, a vanished or broken upstream as 1011 to the client. Then both close
//!   handshakes are completed (bounded by [`CLOSE_GRACE`]) before the sockets are dropped.
//! - **Shutdown.** When the server drains ([`crate::drain`]), both sides get 1001.
//! - **Usage.** Each upstream text frame that is a `response.done` event
//!   ([`crate::stream::realtime`]) counts as one request on the model's stats, with its usage; a
//!   `failed` response counts as an error, a `cancelled` one as cancelled.

use std::future::ready;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws as axum_ws;
use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use crate::drain;
use crate::route::health::Lease;
use crate::stream::realtime::{ResponseStatus, response_done};
use crate::telemetry::{ResponseDone, SessionRecorder};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long the close handshakes may take once a session is ending.
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// What a session needs besides its two sockets.
#[derive(Debug)]
pub struct Context {
    /// Records each `response.done` (usage, failures) in every telemetry sink.
    pub recorder: SessionRecorder,
    /// A pooled deployment's hold, released (and judged) when the session ends.
    pub lease: Option<Lease>,
    pub session: drain::Session,
    pub model: String,
    pub upstream: Arc<str>,
}

/// Why a pump stopped.
#[derive(Debug)]
enum PumpEnd {
    /// The source sent a close frame.
    Closed(Option<CloseFrame>),
    /// The source's connection ended without one.
    Ended,
    /// Reading the source failed.
    Failed(BoxError),
    /// Writing to the destination failed: the destination is gone.
    SendFailed,
}

/// Which way a pump runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum First {
    Client,
    Upstream,
}

/// Forwards every message from `src` to `dst` until a close frame, an end or an error.
async fn pump<R, W>(src: &mut R, dst: &mut W, mut on_text: impl FnMut(&str)) -> PumpEnd
where
    R: Stream<Item = Result<Message, BoxError>> + Unpin,
    W: Sink<Message, Error = BoxError> + Unpin,
{
    loop {
        let message = match src.next().await {
            Some(Ok(m)) => m,
            Some(Err(e)) => return PumpEnd::Failed(e),
            None => return PumpEnd::Ended,
        };
        match &message {
            Message::Close(frame) => return PumpEnd::Closed(frame.clone()),
            Message::Text(text) => on_text(text.as_str()),
            // Only ever written, never read.
            Message::Frame(_) => continue,
            Message::Binary(_) | Message::Ping(_) | Message::Pong(_) => {}
        }
        if dst.send(message).await.is_err() {
            return PumpEnd::SendFailed;
        }
    }
}

fn close(code: CloseCode, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

fn going_away(reason: &'static str) -> Message {
    close(CloseCode::Away, reason)
}

fn upstream_lost() -> Message {
    close(CloseCode::Error, "upstream connection lost")
}

/// The close frame owed to a peer whose own frames could not be read, if the failure is one a
/// close code names (a message too big, bad UTF-8, a protocol violation).
fn close_for(err: &BoxError) -> Option<Message> {
    use tungstenite::error::Error as E;
    match err.downcast_ref::<E>()? {
        E::Capacity(_) => Some(close(CloseCode::Size, "message too big")),
        E::Utf8(_) => Some(close(CloseCode::Invalid, "invalid UTF-8")),
        E::Protocol(_) => Some(close(CloseCode::Protocol, "protocol error")),
        _ => None,
    }
}

/// Counts a `response.done` event.
fn count(recorder: &mut SessionRecorder, text: &str) {
    if let Some(done) = response_done(text) {
        recorder.response_done(ResponseDone {
            failed: done.status == ResponseStatus::Failed,
            cancelled: done.status == ResponseStatus::Cancelled,
            usage: done.usage,
        });
    }
}

/// Reads a side until its connection ends, so its close handshake (and any close reply the
/// library owes it) completes.
async fn drain_side<R>(rx: &mut R)
where
    R: Stream<Item = Result<Message, BoxError>> + Unpin,
{
    while let Some(Ok(_)) = rx.next().await {}
}

/// Relays until either side ends, then closes the other.
pub async fn run<C, U>(client: C, upstream: U, mut ctx: Context)
where
    C: Stream<Item = Result<Message, BoxError>> + Sink<Message, Error = BoxError> + Unpin,
    U: Stream<Item = Result<Message, BoxError>> + Sink<Message, Error = BoxError> + Unpin,
{
    let (mut client_tx, mut client_rx) = client.split();
    let (mut upstream_tx, mut upstream_rx) = upstream.split();
    let ended = {
        let recorder = &mut ctx.recorder;
        let to_upstream = pump(&mut client_rx, &mut upstream_tx, |_| {});
        let to_client = pump(&mut upstream_rx, &mut client_tx, |text| {
            count(recorder, text)
        });
        tokio::select! {
            end = to_upstream => Some((First::Client, end)),
            end = to_client => Some((First::Upstream, end)),
            () = ctx.session.closing() => None,
        }
    };
    // What each side is told; `broken` means the upstream failed the session.
    let (to_client, to_upstream, broken) = match ended {
        None => (
            Some(going_away("server shutting down")),
            Some(going_away("server shutting down")),
            false,
        ),
        Some((First::Client, PumpEnd::Closed(frame))) => (None, Some(Message::Close(frame)), false),
        Some((First::Upstream, PumpEnd::Closed(frame))) => {
            (Some(Message::Close(frame)), None, false)
        }
        Some((First::Client, PumpEnd::Ended)) | Some((First::Upstream, PumpEnd::SendFailed)) => {
            (None, Some(going_away("client went away")), false)
        }
        Some((First::Client, PumpEnd::Failed(e))) => {
            tracing::debug!(error = %e, "realtime: client side failed");
            (close_for(&e), Some(going_away("client went away")), false)
        }
        Some((First::Upstream, PumpEnd::Ended)) | Some((First::Client, PumpEnd::SendFailed)) => {
            (Some(upstream_lost()), None, true)
        }
        Some((First::Upstream, PumpEnd::Failed(e))) => {
            tracing::debug!(upstream = %ctx.upstream, error = %e, "realtime: upstream side failed");
            (Some(upstream_lost()), None, true)
        }
    };
    let closing = async {
        if let Some(m) = to_client {
            let _ = client_tx.send(m).await;
        }
        if let Some(m) = to_upstream {
            let _ = upstream_tx.send(m).await;
        }
        tokio::join!(drain_side(&mut client_rx), drain_side(&mut upstream_rx));
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, closing).await;
    if let Some(lease) = ctx.lease.take() {
        lease.finish(broken);
    }
    tracing::debug!(model = %ctx.model, upstream = %ctx.upstream, broken, "realtime session ended");
}

/// A tungstenite socket (the upstream's) as the relay sees it.
pub fn tungstenite_side<S>(
    socket: S,
) -> impl Stream<Item = Result<Message, BoxError>> + Sink<Message, Error = BoxError> + Unpin
where
    S: Stream<Item = Result<Message, tungstenite::Error>>
        + Sink<Message, Error = tungstenite::Error>
        + Unpin,
{
    socket
        .sink_map_err(BoxError::from)
        .map(|r| r.map_err(BoxError::from))
}

/// An axum socket (the client's) as the relay sees it: messages converted to tungstenite's,
/// and errors unwrapped to the library error inside, so close codes can name them.
pub fn axum_side(
    socket: axum_ws::WebSocket,
) -> impl Stream<Item = Result<Message, BoxError>> + Sink<Message, Error = BoxError> + Unpin {
    socket
        .sink_map_err(axum::Error::into_inner)
        .with(|m: Message| ready(to_axum(m)))
        .map(|r| r.map_err(axum::Error::into_inner).and_then(from_axum))
}

fn from_axum(m: axum_ws::Message) -> Result<Message, BoxError> {
    Ok(match m {
        axum_ws::Message::Text(text) => Message::Text(Utf8Bytes::try_from(Bytes::from(text))?),
        axum_ws::Message::Binary(b) => Message::Binary(b),
        axum_ws::Message::Ping(p) => Message::Ping(p),
        axum_ws::Message::Pong(p) => Message::Pong(p),
        axum_ws::Message::Close(frame) => Message::Close(frame.map(|f| CloseFrame {
            code: CloseCode::from(f.code),
            reason: Utf8Bytes::from(f.reason.as_str()),
        })),
    })
}

fn to_axum(m: Message) -> Result<axum_ws::Message, BoxError> {
    Ok(match m {
        Message::Text(text) => {
            axum_ws::Message::Text(axum_ws::Utf8Bytes::try_from(Bytes::from(text))?)
        }
        Message::Binary(b) => axum_ws::Message::Binary(b),
        Message::Ping(p) => axum_ws::Message::Ping(p),
        Message::Pong(p) => axum_ws::Message::Pong(p),
        Message::Close(frame) => axum_ws::Message::Close(frame.map(|f| axum_ws::CloseFrame {
            code: u16::from(f.code),
            reason: axum_ws::Utf8Bytes::from(f.reason.as_str()),
        })),
        Message::Frame(_) => return Err("raw frames are not relayed".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::Stats;
    use std::sync::Arc;
    use tokio::io::DuplexStream;
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::protocol::Role;

    type Ws = WebSocketStream<DuplexStream>;

    /// A connected (client role, server role) pair over an in-memory pipe.
    async fn pair() -> (Ws, Ws) {
        let (a, b) = tokio::io::duplex(64 * 1024);
        tokio::join!(
            WebSocketStream::from_raw_socket(a, Role::Client, None),
            WebSocketStream::from_raw_socket(b, Role::Server, None),
        )
    }

    struct Session {
        /// The client application.
        client: Ws,
        /// The upstream server.
        upstream: Ws,
        stats: Arc<Stats>,
        closer: drain::Closer,
        relay: tokio::task::JoinHandle<()>,
    }

    async fn session() -> Session {
        let (client, gw_client) = pair().await;
        let (gw_upstream, upstream) = pair().await;
        let stats = Arc::new(Stats::default());
        let (drain, closer, _sessions) = drain::channel();
        let ctx = Context {
            recorder: SessionRecorder::detached(stats.model("rt"), "rt"),
            lease: None,
            session: drain.session(),
            model: "rt".to_owned(),
            upstream: Arc::from("up"),
        };
        let relay = tokio::spawn(run(
            tungstenite_side(gw_client),
            tungstenite_side(gw_upstream),
            ctx,
        ));
        Session {
            client,
            upstream,
            stats,
            closer,
            relay,
        }
    }

    /// The next message that is not a ping or pong.
    async fn next_data(ws: &mut Ws) -> Message {
        loop {
            match ws.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(m)) => return m,
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// Reads until the close handshake is over, then hangs up (as a server would).
    async fn finish(mut ws: Ws) {
        while let Some(Ok(_)) = ws.next().await {}
    }

    fn close_code(m: &Message) -> Option<(u16, String)> {
        match m {
            Message::Close(Some(f)) => Some((u16::from(f.code), f.reason.to_string())),
            _ => None,
        }
    }

    async fn ended(relay: tokio::task::JoinHandle<()>) {
        tokio::time::timeout(Duration::from_secs(2), relay)
            .await
            .expect("the relay ends")
            .unwrap();
    }

    #[tokio::test]
    async fn frames_pass_both_ways_and_usage_is_counted() {
        let mut s = session().await;
        s.client.send(Message::text("hello")).await.unwrap();
        assert_eq!(next_data(&mut s.upstream).await, Message::text("hello"));
        s.upstream
            .send(Message::binary(vec![0u8, 1, 255]))
            .await
            .unwrap();
        assert_eq!(
            next_data(&mut s.client).await,
            Message::binary(vec![0u8, 1, 255])
        );
        s.client.send(Message::binary(vec![7u8])).await.unwrap();
        assert_eq!(next_data(&mut s.upstream).await, Message::binary(vec![7u8]));
        // A ping crosses the relay (the library may also answer it on the way).
        s.client
            .send(Message::Ping(Bytes::from_static(b"hb")))
            .await
            .unwrap();
        loop {
            match s.upstream.next().await {
                Some(Ok(Message::Ping(p))) => {
                    assert_eq!(&p[..], b"hb");
                    break;
                }
                Some(Ok(Message::Pong(_))) => {}
                other => panic!("expected the ping, got {other:?}"),
            }
        }
        s.upstream
            .send(Message::Pong(Bytes::from_static(b"up")))
            .await
            .unwrap();
        loop {
            match s.client.next().await {
                Some(Ok(Message::Pong(p))) if &p[..] == b"up" => break,
                Some(Ok(Message::Pong(_) | Message::Ping(_))) => {}
                other => panic!("expected the pong, got {other:?}"),
            }
        }
        let done = r#"{"type":"response.done","response":{"status":"completed","usage":{"total_tokens":9,"input_tokens":5,"output_tokens":4,"input_token_details":{"cached_tokens":2}}}}"#;
        s.upstream.send(Message::text(done)).await.unwrap();
        assert_eq!(next_data(&mut s.client).await, Message::text(done));
        let failed = r#"{"type":"response.done","response":{"status":"failed","usage":null}}"#;
        s.upstream.send(Message::text(failed)).await.unwrap();
        assert_eq!(next_data(&mut s.client).await, Message::text(failed));
        let totals = s.stats.snapshot().per_model["rt"];
        assert_eq!(totals.requests, 2);
        assert_eq!(totals.errors, 1);
        assert_eq!(totals.prompt_tokens, 5);
        assert_eq!(totals.completion_tokens, 4);
        assert_eq!(totals.total_tokens, 9);
        assert_eq!(totals.cached_tokens, 2);
        s.client.close(None).await.unwrap();
        tokio::join!(finish(s.client), finish(s.upstream));
        ended(s.relay).await;
    }

    #[tokio::test]
    async fn a_client_close_reaches_the_upstream_with_its_code() {
        let mut s = session().await;
        s.client
            .send(close(CloseCode::Library(4001), "bye"))
            .await
            .unwrap();
        let got = next_data(&mut s.upstream).await;
        assert_eq!(close_code(&got), Some((4001, "bye".to_owned())));
        tokio::join!(finish(s.client), finish(s.upstream));
        ended(s.relay).await;
    }

    #[tokio::test]
    async fn an_upstream_close_reaches_the_client_with_its_code() {
        let mut s = session().await;
        s.upstream
            .send(close(CloseCode::Library(4000), "session over"))
            .await
            .unwrap();
        let got = next_data(&mut s.client).await;
        assert_eq!(close_code(&got), Some((4000, "session over".to_owned())));
        tokio::join!(finish(s.client), finish(s.upstream));
        ended(s.relay).await;
    }

    #[tokio::test]
    async fn a_vanished_upstream_is_1011_and_a_vanished_client_1001() {
        let mut s = session().await;
        drop(s.upstream);
        let got = next_data(&mut s.client).await;
        assert_eq!(close_code(&got).map(|c| c.0), Some(1011));
        finish(s.client).await;
        ended(s.relay).await;

        let mut s = session().await;
        drop(s.client);
        let got = next_data(&mut s.upstream).await;
        assert_eq!(close_code(&got).map(|c| c.0), Some(1001));
        finish(s.upstream).await;
        ended(s.relay).await;
    }

    #[tokio::test]
    async fn shutdown_closes_both_sides_with_1001() {
        let mut s = session().await;
        s.closer.close();
        let (a, b) = tokio::join!(next_data(&mut s.client), next_data(&mut s.upstream));
        assert_eq!(close_code(&a).map(|c| c.0), Some(1001));
        assert_eq!(close_code(&b).map(|c| c.0), Some(1001));
        tokio::join!(finish(s.client), finish(s.upstream));
        ended(s.relay).await;
    }
}
