//! Edits a whole JSON body: Azure's content-filter refusal reshaped for OpenAI clients, or an
//! answer translated to the client's API. The body is small (one completion or one error), so
//! it is gathered, up to a limit, and rewritten at its end.

use bytes::Bytes;

use super::content_filter;
use super::response::BodyEdit;
use crate::body::BoxError;
use crate::error::GatewayError;

/// Larger translated answers are refused rather than held (base64 images from tools are the
/// only realistic way to get near it).
const LIMIT: usize = 64 * 1024 * 1024;

/// Translates a complete upstream answer into the client's API.
pub type Translate = Box<dyn FnOnce(&[u8]) -> Result<Vec<u8>, GatewayError> + Send>;

enum Kind {
    /// An error body: reshaped if it is a content-filter refusal, else left as it is.
    FilterError,
    Translate(Option<Translate>),
}

pub struct JsonEdit {
    buf: Vec<u8>,
    kind: Kind,
    /// Over the limit while only reshaping: the rest passes through untouched.
    passing: bool,
    /// Over the limit while translating: the answer cannot be translated.
    overflow: bool,
}

impl JsonEdit {
    pub fn filter_error() -> Self {
        Self {
            buf: Vec::new(),
            kind: Kind::FilterError,
            passing: false,
            overflow: false,
        }
    }

    pub fn translate(translate: Translate) -> Self {
        Self {
            buf: Vec::new(),
            kind: Kind::Translate(Some(translate)),
            passing: false,
            overflow: false,
        }
    }
}

impl BodyEdit for JsonEdit {
    fn frame(&mut self, frame: &Bytes) -> Bytes {
        if self.passing {
            return frame.clone();
        }
        if self.overflow {
            return Bytes::new();
        }
        if self.buf.len() + frame.len() > LIMIT {
            if let Kind::Translate(_) = self.kind {
                self.overflow = true;
                self.buf = Vec::new();
                return Bytes::new();
            }
            self.passing = true;
            let mut out = std::mem::take(&mut self.buf);
            out.extend_from_slice(frame);
            return Bytes::from(out);
        }
        self.buf.extend_from_slice(frame);
        Bytes::new()
    }

    fn end(&mut self) -> Result<Bytes, BoxError> {
        let body = std::mem::take(&mut self.buf);
        match &mut self.kind {
            _ if self.passing => Ok(Bytes::new()),
            Kind::FilterError => Ok(Bytes::from(content_filter::reshape(&body).unwrap_or(body))),
            Kind::Translate(_) if self.overflow => Err(format!(
                "the upstream answer is larger than {LIMIT} bytes, too large to translate"
            )
            .into()),
            Kind::Translate(translate) => match translate.take() {
                Some(translate) => translate(&body).map(Bytes::from).map_err(Into::into),
                None => Ok(Bytes::new()),
            },
        }
    }

    fn broken(&mut self, _code: &str, _message: &str) -> Option<Bytes> {
        None
    }

    /// A translation is collected; an error being reshaped streams (it may pass through).
    fn whole(&self) -> bool {
        matches!(self.kind, Kind::Translate(_))
    }
}
