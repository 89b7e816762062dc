//! Model Inference's `extra-parameters` header: what happens to body parameters the API does
//! not define (WIRE-FACTS A6).
//!
//! `error`, the default, refuses them with a 422; `drop` removes them; `pass-through` keeps
//! them. The gateway applies the policy itself, whatever serves the model, so an OpenAI-style
//! engine behind the Model Inference face behaves like a Foundry deployment. Only top-level
//! keys are looked at; their values are kept byte for byte.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::HeaderMap;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::call::Operation;
use crate::error::GatewayError;
use crate::inbound::shapes;
use crate::upstream::headers::EXTRA_PARAMETERS;

/// The parameters the Model Inference API defines for chat completions.
const CHAT: [&str; 14] = [
    "messages",
    "model",
    "frequency_penalty",
    "presence_penalty",
    "temperature",
    "top_p",
    "max_tokens",
    "modalities",
    "response_format",
    "seed",
    "stop",
    "stream",
    "tool_choice",
    "tools",
];

/// The parameters the Model Inference API defines for embeddings.
const EMBEDDINGS: [&str; 5] = [
    "input",
    "model",
    "dimensions",
    "encoding_format",
    "input_type",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Error,
    Drop,
    PassThrough,
}

/// The policy a request asks for; an unknown value is Azure's 400.
pub fn mode(headers: &HeaderMap) -> Result<Mode, GatewayError> {
    let Some(value) = headers.get(EXTRA_PARAMETERS) else {
        return Ok(Mode::Error);
    };
    let text = value.to_str().unwrap_or_default().trim();
    match text.to_ascii_lowercase().as_str() {
        "error" => Ok(Mode::Error),
        "drop" => Ok(Mode::Drop),
        "pass-through" => Ok(Mode::PassThrough),
        _ => Err(shapes::extra_parameters_header(text)),
    }
}

fn known(op: Operation) -> &'static [&'static str] {
    match op {
        Operation::ChatCompletions => &CHAT,
        Operation::Embeddings => &EMBEDDINGS,
        _ => &[],
    }
}

/// A JSON object's top-level members in body order, values unparsed.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(entry) = map.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// Applies the request's policy to `body`; bodies that are not JSON objects are left for the
/// pipeline's own parser to reject.
pub fn apply(op: Operation, headers: &HeaderMap, body: Bytes) -> Result<Bytes, GatewayError> {
    let mode = mode(headers)?;
    if mode == Mode::PassThrough {
        return Ok(body);
    }
    let Ok(Members(members)) = serde_json::from_slice::<Members<'_>>(&body) else {
        return Ok(body);
    };
    let allowed = known(op);
    let extra: Vec<&(Cow<'_, str>, &RawValue)> = members
        .iter()
        .filter(|(k, _)| !allowed.contains(&k.as_ref()))
        .collect();
    let Some((_, first_value)) = extra.first() else {
        return Ok(body);
    };
    if mode == Mode::Error {
        let keys: Vec<&str> = extra.iter().map(|(k, _)| k.as_ref()).collect();
        return Err(shapes::extra_parameters_not_allowed(&keys, first_value));
    }
    let mut out = Vec::with_capacity(body.len());
    out.push(b'{');
    for (key, value) in members
        .iter()
        .filter(|(k, _)| allowed.contains(&k.as_ref()))
    {
        if out.len() > 1 {
            out.push(b',');
        }
        let quoted = serde_json::to_string(key.as_ref()).map_err(|e| {
            GatewayError::Internal(format!("re-encoding a parameter name failed: {e}"))
        })?;
        out.extend_from_slice(quoted.as_bytes());
        out.push(b':');
        out.extend_from_slice(value.get().as_bytes());
    }
    out.push(b'}');
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(mode: Option<&'static str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(m) = mode {
            h.insert(EXTRA_PARAMETERS, HeaderValue::from_static(m));
        }
        h
    }

    const BODY: &[u8] =
        br#"{"messages":[{"role":"user","content":"hi"}],"n":2,"model":"m","safe_prompt":true}"#;

    #[test]
    fn error_is_the_default_and_names_the_extras() {
        let err = apply(
            Operation::ChatCompletions,
            &with(None),
            Bytes::from_static(BODY),
        )
        .unwrap_err();
        assert_eq!(err.code(), "extra_parameters_not_allowed");
        assert!(err.to_string().contains("['n', 'safe_prompt']"), "{err}");
        let err = apply(
            Operation::ChatCompletions,
            &with(Some("error")),
            Bytes::from_static(BODY),
        )
        .unwrap_err();
        assert_eq!(err.status(), http::StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn drop_keeps_defined_members_byte_for_byte() {
        let out = apply(
            Operation::ChatCompletions,
            &with(Some("drop")),
            Bytes::from_static(BODY),
        )
        .unwrap();
        assert_eq!(
            &out[..],
            br#"{"messages":[{"role":"user","content":"hi"}],"model":"m"}"#
        );
    }

    #[test]
    fn pass_through_and_clean_bodies_are_untouched() {
        let body = Bytes::from_static(BODY);
        let out = apply(
            Operation::ChatCompletions,
            &with(Some("pass-through")),
            body.clone(),
        )
        .unwrap();
        assert_eq!(out, body);
        let clean = Bytes::from_static(br#"{"input":["a"],"input_type":"query","model":"e"}"#);
        let out = apply(Operation::Embeddings, &with(None), clean.clone()).unwrap();
        assert_eq!(out, clean);
    }

    #[test]
    fn unknown_header_values_are_refused() {
        let err = apply(
            Operation::Embeddings,
            &with(Some("ignore")),
            Bytes::from_static(b"{}"),
        )
        .unwrap_err();
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(err.code(), "invalid_extra_parameters");
    }
}
