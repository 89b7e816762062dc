//! Chat Completions ⇄ Responses API translation, for models whose route maps one API to the
//! other (`models[].routes`): Responses-only deployments (codex, gpt-5-pro, o3-pro) behind chat
//! clients, and chat-only engines (vLLM and the like) behind Responses clients.
//!
//! Per direction there are three pieces, used in this order:
//! 1. the request body ([`chat_to_responses_request`], [`responses_to_chat_request`]); the
//!    caller splices `model` afterwards (the input's `model` is kept, as the first key);
//! 2. a 2xx JSON answer, translated whole ([`responses_to_chat_response`],
//!    [`chat_to_responses_response`]); a non-2xx answer passes through untranslated, both APIs
//!    sharing the `{"error":{…}}` envelope;
//! 3. a 2xx event stream, translated event by event as it arrives ([`ResponsesToChatStream`],
//!    [`ChatToResponsesStream`], fed by [`crate::stream::events::EventSplitter`]).
//!
//! Requests that cannot be honoured on the other API are refused with a 400 naming the
//! parameter; parameters that merely have no counterpart are removed and listed in
//! [`Translated::dropped`] for the caller to log. Malformed upstream JSON in a 2xx is an `Err`
//! (a 502); a malformed stream event is skipped. Nothing here panics on any input.
//!
//! Output is a pure function of input: ids the client sees are derived from the upstream's
//! (`resp_<chat id>`, `msg_…`, `fc_…`), never random, so however the upstream's bytes are
//! framed the client gets the same bytes.

mod request_chat;
mod request_responses;
mod response_json;
mod response_object;
mod stream_to_chat;
mod stream_to_responses;
mod tools;
mod usage;
mod wire;

#[cfg(test)]
mod tests;

pub use request_chat::chat_to_responses_request;
pub use request_responses::responses_to_chat_request;
pub use response_json::{chat_to_responses_response, responses_to_chat_response};
pub use response_object::RequestEcho;
pub use stream_to_chat::ResponsesToChatStream;
pub use stream_to_responses::ChatToResponsesStream;

use crate::stream::events::Event;

/// A translated request body.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    pub body: Vec<u8>,
    /// Client parameters with no equivalent in the other API, removed (for the log).
    pub dropped: Vec<&'static str>,
    /// Chat → Responses: the client asked for `stream_options.include_usage`; pass it to
    /// [`ResponsesToChatStream::new`]. Always `false` the other way.
    pub include_usage: bool,
}

/// Translates one upstream SSE body into the client's API, event by event.
pub trait EventTranslator: Send {
    /// One upstream SSE event; appends the client's SSE bytes to `out` (may append nothing).
    fn event(&mut self, event: &Event, out: &mut Vec<u8>);
    /// The upstream body ended. `complete`: it ended normally. Appends what is still owed.
    fn finish(&mut self, complete: bool, out: &mut Vec<u8>);
}
