//! Chat ⇄ Responses: the request translated for the upstream, and the answer's translation
//! prepared for whichever body kind it turns out to be.

use bytes::Bytes;

use super::response::Back;
use crate::call::Operation;
use crate::error::GatewayError;

/// A translated request.
pub struct Translated {
    pub body: Bytes,
    pub dropped: Vec<&'static str>,
    pub back: Back,
}

/// Translates a request of `from` into `to`.
pub fn request(from: Operation, to: Operation, _body: &Bytes) -> Result<Translated, GatewayError> {
    Err(GatewayError::NotSupported(format!(
        "translating {} to {} is not available in this build",
        from.route_key(),
        to.route_key()
    )))
}
