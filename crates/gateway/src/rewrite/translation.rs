//! Chat ⇄ Responses: the request translated for the upstream, and the answer's translation
//! prepared for whichever body kind (JSON or SSE) the upstream answers with.

use bytes::Bytes;

use super::response::Back;
use crate::call::Operation;
use crate::error::GatewayError;
use crate::translate::{self, ChatToResponsesStream, ResponsesToChatStream};

/// A translated request and the way back for its answer.
pub struct Translated {
    pub body: Bytes,
    pub dropped: Vec<&'static str>,
    pub back: Back,
}

/// Translates a request of `from` into `to` (the route table only pairs chat and responses).
pub fn request(from: Operation, to: Operation, body: &Bytes) -> Result<Translated, GatewayError> {
    match (from, to) {
        (Operation::ChatCompletions, Operation::Responses) => {
            let t = translate::chat_to_responses_request(body)?;
            Ok(Translated {
                body: Bytes::from(t.body),
                dropped: t.dropped,
                back: Back {
                    json: Box::new(|answer: &[u8]| translate::responses_to_chat_response(answer)),
                    stream: Box::new(ResponsesToChatStream::new(t.include_usage)),
                    responses_client: false,
                },
            })
        }
        (Operation::Responses, Operation::ChatCompletions) => {
            let (t, echo) = translate::responses_to_chat_request(body)?;
            let stream = Box::new(ChatToResponsesStream::new(echo.clone()));
            Ok(Translated {
                body: Bytes::from(t.body),
                dropped: t.dropped,
                back: Back {
                    json: Box::new(move |answer: &[u8]| {
                        translate::chat_to_responses_response(answer, &echo)
                    }),
                    stream,
                    responses_client: true,
                },
            })
        }
        _ => Err(GatewayError::NotSupported(format!(
            "{} cannot be translated to {}",
            from.route_key(),
            to.route_key()
        ))),
    }
}
