//! `Call`: one client request, independent of the dialect it arrived in.
//!
//! The JSON body is parsed once, shallowly: only `model` (kept as a byte span, so the upstream
//! dialect can splice in the deployment name without re-encoding the body) and `stream`.

use std::ops::Range;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::GatewayError;

/// An operation the gateway forwards, named by its OpenAI route key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    ChatCompletions,
    Completions,
    Embeddings,
    Responses,
    ImagesGenerations,
    /// JSON in, audio bytes out.
    AudioSpeech,
    /// Multipart uploads ([`crate::multipart`]): the `model` form field routes them.
    AudioTranscriptions,
    AudioTranslations,
    ImagesEdits,
    ImagesVariations,
    /// The Realtime API: a WebSocket session, not a JSON request ([`crate::inbound::realtime`]).
    Realtime,
}

impl Operation {
    /// Every operation: the model table resolves a path for each (route overrides included).
    pub const ALL: [Self; 11] = [
        Self::ChatCompletions,
        Self::Completions,
        Self::Embeddings,
        Self::Responses,
        Self::ImagesGenerations,
        Self::AudioSpeech,
        Self::AudioTranscriptions,
        Self::AudioTranslations,
        Self::ImagesEdits,
        Self::ImagesVariations,
        Self::Realtime,
    ];

    /// The operations a client POSTs as JSON: the dialects register one route per entry.
    pub const JSON: [Self; 6] = [
        Self::ChatCompletions,
        Self::Completions,
        Self::Embeddings,
        Self::Responses,
        Self::ImagesGenerations,
        Self::AudioSpeech,
    ];

    /// The operations a client POSTs as `multipart/form-data`.
    pub const MULTIPART: [Self; 4] = [
        Self::AudioTranscriptions,
        Self::AudioTranslations,
        Self::ImagesEdits,
        Self::ImagesVariations,
    ];

    /// The route key used in `upstreams[].routes` and `models[].routes`.
    pub fn route_key(self) -> &'static str {
        match self {
            Self::ChatCompletions => "chat/completions",
            Self::Completions => "completions",
            Self::Embeddings => "embeddings",
            Self::Responses => "responses",
            Self::ImagesGenerations => "images/generations",
            Self::AudioSpeech => "audio/speech",
            Self::AudioTranscriptions => "audio/transcriptions",
            Self::AudioTranslations => "audio/translations",
            Self::ImagesEdits => "images/edits",
            Self::ImagesVariations => "images/variations",
            Self::Realtime => "realtime",
        }
    }

    pub fn from_route_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.route_key() == key)
    }

    /// Azure's legacy API puts these under `/deployments/{deployment}/`; the rest live at
    /// `/openai/{op}` with the deployment in the body (responses) or the query (realtime).
    pub fn is_deployment_scoped(self) -> bool {
        !matches!(self, Self::Responses | Self::Realtime)
    }

    /// The body is `multipart/form-data` rather than JSON.
    pub fn is_multipart(self) -> bool {
        Self::MULTIPART.contains(&self)
    }
}

/// Who the client is, once authenticated.
#[derive(Debug, Clone)]
pub enum ClientIdentity {
    /// A gateway key, by its configured id.
    Key(std::sync::Arc<str>),
    /// Passthrough mode: the client's own key, forwarded upstream.
    Passthrough(String),
}

/// Where the body's `model` stands relative to the alias the request is routed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyModel {
    /// The body's `model` (at this span, quotes included) is the alias.
    Alias(Range<usize>),
    /// The body names some other model; the alias came from the path or a header (Azure's
    /// deployment routes, Model Inference's `azureml-model-deployment`).
    Other(Range<usize>),
    /// The body has no `model` (legal on Azure deployment routes and Model Inference).
    Absent,
}

/// The api-version an Azure-style client chose, passed on to an upstream of the same family so
/// the features it asked for are the ones it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientApiVersion {
    /// A dated Azure OpenAI version from `/openai/deployments/…` or `/openai/responses`.
    Azure(Box<str>),
    /// A Model Inference version (`2025-04-01`, `2024-05-01-preview`).
    Inference(Box<str>),
}

/// A parsed client request.
#[derive(Debug)]
pub struct Call {
    pub op: Operation,
    /// The model alias the request is routed by.
    pub model: String,
    pub stream: bool,
    /// The JSON body (empty for a multipart upload, which is in `form`).
    pub body: Bytes,
    /// Where `model` is, in `body` or in the form.
    pub body_model: BodyModel,
    pub client: ClientIdentity,
    pub api_version: Option<ClientApiVersion>,
    /// A multipart upload ([`Operation::is_multipart`]).
    pub form: Option<crate::multipart::Form>,
}

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(default)]
    stream: Option<bool>,
    /// The Responses API's continuation: it must reach the resource that stored the previous
    /// response ([`crate::resources::owners`]).
    #[serde(default, borrow)]
    previous_response_id: Option<&'a RawValue>,
}

/// The fields a request body must yield before it can be routed.
#[derive(Debug, PartialEq, Eq)]
pub struct Peeked {
    pub model: String,
    pub stream: bool,
    pub model_span: Range<usize>,
}

/// Reads `model` and `stream` from a JSON object body without building a tree.
pub fn peek(body: &[u8]) -> Result<Peeked, GatewayError> {
    let (model, stream) = peek_optional(body)?;
    model
        .map(|(model, model_span)| Peeked {
            model,
            stream,
            model_span,
        })
        .ok_or_else(|| GatewayError::InvalidRequest {
            message: "you must provide a model parameter".to_owned(),
            param: Some("model"),
            code: "missing_required_parameter",
        })
}

/// The body's `model` (value and span), if it has one.
pub type ModelField = Option<(String, Range<usize>)>;

/// Like [`peek`], for dialects where `model` may be absent: `(model, stream)`.
pub fn peek_optional(body: &[u8]) -> Result<(ModelField, bool), GatewayError> {
    peek_with_previous(body).map(|(model, stream, _)| (model, stream))
}

/// [`peek_optional`] plus `previous_response_id`, when it is a string, in the same pass.
pub fn peek_with_previous(body: &[u8]) -> Result<(ModelField, bool, Option<String>), GatewayError> {
    let peek: Peek<'_> = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            GatewayError::InvalidRequest {
                message: format!("Invalid request body: {e}"),
                param: None,
                code: "invalid_request_body",
            }
        } else {
            GatewayError::InvalidJson(e.to_string())
        }
    })?;
    let stream = peek.stream.unwrap_or(false);
    let previous = peek
        .previous_response_id
        .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
    let Some(raw) = peek.model else {
        return Ok((None, stream, previous));
    };
    let model: String =
        serde_json::from_str(raw.get()).map_err(|_| GatewayError::InvalidRequest {
            message: format!(
                "Invalid type for 'model': expected a string, got {}",
                raw.get()
            ),
            param: Some("model"),
            code: "invalid_type",
        })?;
    if model.is_empty() {
        return Err(GatewayError::InvalidRequest {
            message: "'model' must not be empty".to_owned(),
            param: Some("model"),
            code: "invalid_value",
        });
    }
    let start = (raw.get().as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
    let end = start + raw.get().len();
    if end > body.len() {
        return Err(GatewayError::Internal(
            "model span outside the body".to_owned(),
        ));
    }
    Ok((Some((model, start..end)), stream, previous))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peeks_model_span_and_stream() {
        let body = br#"{"messages":[],"model" : "gpt-4o","stream":true}"#;
        let p = peek(body).unwrap();
        assert_eq!(p.model, "gpt-4o");
        assert!(p.stream);
        assert_eq!(&body[p.model_span], br#""gpt-4o""#);
    }

    #[test]
    fn escaped_model_is_decoded() {
        let body = br#"{"model":"a\u0062c"}"#;
        let p = peek(body).unwrap();
        assert_eq!(p.model, "abc");
        assert_eq!(&body[p.model_span], br#""a\u0062c""#);
    }

    #[test]
    fn rejects_bad_bodies() {
        assert_eq!(peek(b"{nope").unwrap_err().code(), "invalid_json");
        assert_eq!(peek(b"[1,2]").unwrap_err().code(), "invalid_request_body");
        assert_eq!(
            peek(b"{}").unwrap_err().code(),
            "missing_required_parameter"
        );
        assert_eq!(peek(br#"{"model":5}"#).unwrap_err().code(), "invalid_type");
        assert_eq!(
            peek(br#"{"model":"m","stream":"yes"}"#).unwrap_err().code(),
            "invalid_request_body"
        );
        assert_eq!(
            peek(br#"{"model":"a","model":"b"}"#).unwrap_err().code(),
            "invalid_request_body"
        );
        assert_eq!(
            peek(br#"{"model":""}"#).unwrap_err().code(),
            "invalid_value"
        );
    }

    #[test]
    fn previous_response_id_is_peeked_when_it_is_a_string() {
        let body = br#"{"model":"m","previous_response_id":"resp_1","input":"x"}"#;
        assert_eq!(
            peek_with_previous(body).unwrap().2.as_deref(),
            Some("resp_1")
        );
        for body in [
            &br#"{"model":"m"}"#[..],
            br#"{"model":"m","previous_response_id":null}"#,
            br#"{"model":"m","previous_response_id":7}"#,
        ] {
            assert_eq!(peek_with_previous(body).unwrap().2, None);
        }
    }

    #[test]
    fn stream_null_means_false() {
        assert!(!peek(br#"{"model":"m","stream":null}"#).unwrap().stream);
    }
}
