//! One realtime session: the mock's side of the event protocol.
//!
//! Client events and the answers (after `session.created` on connect):
//! - `session.update` → `session.updated`, with the `session` fields merged in;
//! - `response.create` → `response.created`, text deltas (the behaviour's `content_events`,
//!   default 2), the text's `done`, and `response.done` whose `usage` is the behaviour's;
//!   `event_delay_ms` spaces them;
//! - `conversation.item.create` → `conversation.item.created`;
//! - `input_audio_buffer.commit` / `clear` → `…committed` / `…cleared`; `append` and
//!   `response.cancel` get no answer;
//! - anything else, or text that is not JSON → an `error` event.
//!
//! Binary messages are echoed back; pings are answered by the WebSocket library.
//! Test controls (like the `x-mock-*` headers, not Azure's): `mock.ping` / `mock.pong` with
//! `{"payload": "…"}` send a ping / an unsolicited pong, and `mock.close` with
//! `{"code": 4000, "reason": "…"}` closes the session. Behaviours: `close_code` closes right
//! after `session.created`; `cut_after_events` drops the connection, without a close frame,
//! after that many server events.
//!
//! Every client message is recorded ([`WsFrame`]). The exchange ends `Completed` when either
//! side closed cleanly, `Cut` when the mock dropped the connection on purpose, and `Cancelled`
//! when the client vanished.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::events;
use crate::config::Behavior;
use crate::record::{Outcome, Tracker, WsFrame};

/// Text deltas per response unless the behaviour says otherwise.
const DEFAULT_DELTAS: usize = 2;
/// How long the mock waits for the client's answer to its close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

const SUPPORTED: &str = "'session.update', 'input_audio_buffer.append', \
     'input_audio_buffer.commit', 'input_audio_buffer.clear', 'conversation.item.create', \
     'conversation.item.truncate', 'conversation.item.delete', 'response.create', and \
     'response.cancel'";

pub(crate) struct Session {
    behavior: Behavior,
    beta: bool,
    tracker: Tracker,
    session: Map<String, Value>,
    /// Server events sent so far, for `cut_after_events`.
    sent: usize,
}

fn frame(message: &Message) -> WsFrame {
    match message {
        Message::Text(t) => WsFrame::Text(t.to_string()),
        Message::Binary(b) => WsFrame::Binary(b.clone()),
        Message::Ping(p) => WsFrame::Ping(p.clone()),
        Message::Pong(p) => WsFrame::Pong(p.clone()),
        Message::Close(c) => WsFrame::Close(c.as_ref().map(|c| (c.code, c.reason.to_string()))),
    }
}

fn payload(event: &Value) -> Bytes {
    Bytes::from(
        event
            .get("payload")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    )
}

impl Session {
    pub(crate) fn new(
        deployment: String,
        behavior: Behavior,
        beta: bool,
        tracker: Tracker,
    ) -> Self {
        Self {
            session: events::initial_session(&deployment, beta),
            behavior,
            beta,
            tracker,
            sent: 0,
        }
    }

    pub(crate) async fn run(mut self, mut socket: WebSocket) {
        let outcome = self.converse(&mut socket).await;
        self.tracker.finish(outcome);
    }

    async fn converse(&mut self, socket: &mut WebSocket) -> Outcome {
        let created = events::session_created(&self.session);
        if let Err(outcome) = self.emit(socket, created).await {
            return outcome;
        }
        if let Some(code) = self.behavior.close_code {
            return self.close(socket, code, "x-mock-close").await;
        }
        loop {
            let message = match socket.recv().await {
                Some(Ok(m)) => m,
                _ => return Outcome::Cancelled,
            };
            self.tracker.frame(frame(&message));
            let step = match message {
                Message::Text(text) => self.on_event(socket, text.as_str()).await,
                Message::Binary(b) => match socket.send(Message::Binary(b)).await {
                    Ok(()) => Ok(()),
                    Err(_) => Err(Outcome::Cancelled),
                },
                Message::Ping(_) | Message::Pong(_) => Ok(()),
                Message::Close(_) => Err(Outcome::Completed),
            };
            if let Err(outcome) = step {
                return outcome;
            }
        }
    }

    /// Sends one server event; `Err` ends the session with that outcome.
    async fn emit(&mut self, socket: &mut WebSocket, text: String) -> Result<(), Outcome> {
        socket
            .send(Message::Text(Utf8Bytes::from(text)))
            .await
            .map_err(|_| Outcome::Cancelled)?;
        self.sent += 1;
        if self.behavior.cut_after_events == Some(self.sent) {
            return Err(Outcome::Cut);
        }
        Ok(())
    }

    /// Answers one client event; `Err` ends the session with that outcome.
    async fn on_event(&mut self, socket: &mut WebSocket, text: &str) -> Result<(), Outcome> {
        let Ok(event) = serde_json::from_str::<Value>(text) else {
            let error = events::error("invalid_json", "The event is not valid JSON.", None);
            return self.emit(socket, error).await;
        };
        let client_event_id = event.get("event_id").and_then(Value::as_str);
        match event.get("type").and_then(Value::as_str) {
            Some("session.update") => {
                if let Some(Value::Object(fields)) = event.get("session") {
                    for (k, v) in fields {
                        self.session.insert(k.clone(), v.clone());
                    }
                }
                let updated = events::session_updated(&self.session);
                self.emit(socket, updated).await
            }
            Some("response.create") => {
                let usage = self.behavior.usage.unwrap_or_default();
                let pieces = self.behavior.content_events.unwrap_or(DEFAULT_DELTAS);
                let delay = Duration::from_millis(self.behavior.event_delay_ms);
                for (i, e) in events::response(usage, pieces, self.beta)
                    .into_iter()
                    .enumerate()
                {
                    if i > 0 && !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    self.emit(socket, e).await?;
                }
                Ok(())
            }
            Some("conversation.item.create") => {
                let item = event.get("item").cloned().unwrap_or_else(|| json!({}));
                self.emit(socket, events::item_created(item)).await
            }
            Some("input_audio_buffer.commit") => {
                self.emit(socket, events::ack("input_audio_buffer.committed"))
                    .await
            }
            Some("input_audio_buffer.clear") => {
                self.emit(socket, events::ack("input_audio_buffer.cleared"))
                    .await
            }
            Some("input_audio_buffer.append" | "response.cancel") => Ok(()),
            Some("mock.ping") => socket
                .send(Message::Ping(payload(&event)))
                .await
                .map_err(|_| Outcome::Cancelled),
            Some("mock.pong") => socket
                .send(Message::Pong(payload(&event)))
                .await
                .map_err(|_| Outcome::Cancelled),
            Some("mock.close") => {
                let code = event
                    .get("code")
                    .and_then(Value::as_u64)
                    .and_then(|c| u16::try_from(c).ok())
                    .unwrap_or(1000);
                let reason = event.get("reason").and_then(Value::as_str).unwrap_or("");
                Err(self.close(socket, code, reason).await)
            }
            other => {
                let message = format!(
                    "Invalid value: '{}'. Supported values are: {SUPPORTED}.",
                    other.unwrap_or_default()
                );
                let error = events::error("invalid_value", &message, client_event_id);
                self.emit(socket, error).await
            }
        }
    }

    /// Closes with `code` and waits (briefly) for the client's close frame.
    async fn close(&mut self, socket: &mut WebSocket, code: u16, reason: &str) -> Outcome {
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from(reason),
        }));
        if socket.send(close).await.is_err() {
            return Outcome::Cancelled;
        }
        let answered = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(message)) = socket.recv().await {
                self.tracker.frame(frame(&message));
                if matches!(message, Message::Close(_)) {
                    return true;
                }
            }
            false
        })
        .await;
        match answered {
            Ok(true) => Outcome::Completed,
            _ => Outcome::Cancelled,
        }
    }
}
