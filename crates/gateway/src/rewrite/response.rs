//! What the gateway changes in a response body, decided per request before it is sent and
//! applied by [`crate::body::ObservedBody`] frame by frame.

use bytes::Bytes;
use http::StatusCode;

use super::json_edit::{JsonEdit, Translate};
use super::sse_edit::SseEdit;
use crate::body::BoxError;
use crate::stream::BodyKind;
use crate::translate::EventTranslator;

/// A response body rewrite. Upstream bytes go in as they arrive; what comes out goes to the
/// client (an empty `Bytes` when nothing is ready yet).
pub trait BodyEdit: Send {
    fn frame(&mut self, frame: &Bytes) -> Bytes;
    /// The upstream body ended normally: the rest of the client's body, or why it cannot be
    /// completed (the client's body then ends with an error, never as a success).
    fn end(&mut self) -> Result<Bytes, BoxError>;
    /// The upstream body broke: the client's last event, if this body can carry one.
    fn broken(&mut self, code: &str, message: &str) -> Option<Bytes>;
    /// The client's body exists only once the upstream's has ended (it is collected before the
    /// response is sent, so a failure can still be an error status).
    fn whole(&self) -> bool {
        false
    }
}

/// The translation of an answer to the client's API, for either body kind.
pub struct Back {
    pub json: Translate,
    pub stream: Box<dyn EventTranslator>,
    /// The client reads Responses events (errors in a broken stream are shaped for it).
    pub responses_client: bool,
}

/// The edits one request's answer needs.
#[derive(Default)]
pub struct EditPlan {
    /// Remove the usage-only chunk the gateway asked upstream for.
    pub strip_usage: bool,
    /// Remove asynchronous-filter annotation events.
    pub drop_annotations: bool,
    /// Reshape a content-filter refusal for an OpenAI-style client.
    pub reshape_filter_errors: bool,
    /// Translate the answer to the client's API.
    pub back: Option<Back>,
}

impl EditPlan {
    /// The edit for an answer with this status and content type; `None` leaves the body as the
    /// upstream sent it (the fast path).
    pub fn into_edit(
        self,
        status: StatusCode,
        content_type: Option<&str>,
    ) -> Option<Box<dyn BodyEdit>> {
        let kind = BodyKind::of(content_type);
        if !status.is_success() {
            // Error envelopes are the same in both APIs: never translated.
            let json = kind == BodyKind::Json;
            return (self.reshape_filter_errors && json && status == StatusCode::BAD_REQUEST)
                .then(|| Box::new(JsonEdit::filter_error()) as Box<dyn BodyEdit>);
        }
        match (kind, self.back) {
            (BodyKind::Sse, Some(back)) => Some(Box::new(SseEdit::translate(
                back.stream,
                back.responses_client,
            ))),
            (BodyKind::Json, Some(back)) => Some(Box::new(JsonEdit::translate(back.json))),
            (BodyKind::Sse, None) if self.strip_usage || self.drop_annotations => Some(Box::new(
                SseEdit::filter(self.strip_usage, self.drop_annotations),
            )),
            _ => None,
        }
    }
}
