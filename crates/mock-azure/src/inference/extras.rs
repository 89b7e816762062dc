//! The `extra-parameters` header (WIRE-FACTS A6): what the API does with body keys
//! its schema does not list. `error`, the default, refuses them; `drop` removes them
//! before the model sees the request; `pass-through` hands them to the model. A proxy
//! that forwards OpenAI-only fields (`stream_options`, `user`, `n`) without setting the
//! header fails here exactly as it would against Azure.

use std::fmt;

use http::HeaderMap;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::route::Op;

const HEADER: &str = "extra-parameters";

/// How the request wants extra body keys treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Error,
    Drop,
    PassThrough,
}

/// Chat parameters in the API's schema; everything else is an extra.
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

/// Embeddings parameters in the API's schema.
const EMBEDDINGS: [&str; 5] = [
    "input",
    "model",
    "dimensions",
    "encoding_format",
    "input_type",
];

/// The schema's parameters for `op` (none for operations without a body).
pub(crate) fn known(op: Op) -> &'static [&'static str] {
    match op {
        Op::Chat => &CHAT,
        Op::Embeddings => &EMBEDDINGS,
        _ => &[],
    }
}

/// The requested mode; absent means `error`. `Err` carries the rejected value.
pub(crate) fn mode(headers: &HeaderMap) -> Result<Mode, String> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(Mode::Error);
    };
    match value.to_str().map(str::trim) {
        Ok("error") => Ok(Mode::Error),
        Ok("drop") => Ok(Mode::Drop),
        Ok("pass-through") => Ok(Mode::PassThrough),
        _ => Err(String::from_utf8_lossy(value.as_bytes()).into_owned()),
    }
}

/// The top-level keys of the JSON object `body` that `known` does not list, with their
/// values, in body order (serde_json's own map would sort them). Known values are
/// skipped unparsed, so a long `messages` array costs no tree.
pub(crate) fn scan(body: &[u8], known: &[&str]) -> Result<Vec<(String, Value)>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let found = Extras { known }.deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}

struct Extras<'k> {
    known: &'k [&'k str],
}

impl<'de> DeserializeSeed<'de> for Extras<'_> {
    type Value = Vec<(String, Value)>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Extras<'_> {
    type Value = Vec<(String, Value)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.known.contains(&key.as_str()) {
                map.next_value::<IgnoredAny>()?;
            } else {
                found.push((key, map.next_value::<Value>()?));
            }
        }
        Ok(found)
    }
}

/// `['a', 'b']`: the keys as Python prints a list of strings, since the service's
/// message is built that way.
pub(crate) fn python_list<'a>(keys: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = keys.into_iter().map(python_str).collect();
    format!("[{}]", items.join(", "))
}

/// Python's `repr` of a string, for the characters a JSON key plausibly holds:
/// single quotes unless the text has a `'` and no `"`.
fn python_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use serde_json::json;

    #[test]
    fn modes() {
        let mut h = HeaderMap::new();
        assert_eq!(mode(&h), Ok(Mode::Error));
        for (value, want) in [
            ("error", Mode::Error),
            ("drop", Mode::Drop),
            ("pass-through", Mode::PassThrough),
        ] {
            h.insert(HEADER, HeaderValue::from_static(value));
            assert_eq!(mode(&h), Ok(want));
        }
        for bad in ["passthrough", "Drop", "", "ignore"] {
            h.insert(HEADER, HeaderValue::from_static(bad));
            assert_eq!(mode(&h), Err(bad.to_owned()));
        }
    }

    #[test]
    fn scan_keeps_body_order_and_values() {
        let body = br#"{"zeta":1,"messages":[{"role":"user"}],"alpha":{"x":[1]},"stream":true}"#;
        let found = scan(body, known(Op::Chat)).unwrap();
        assert_eq!(
            found,
            vec![
                ("zeta".to_owned(), json!(1)),
                ("alpha".to_owned(), json!({"x": [1]}))
            ]
        );
        assert!(
            scan(br#"{"input":"x","dimensions":3}"#, known(Op::Embeddings))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            scan(br#"{"messages":[]}"#, known(Op::Embeddings))
                .unwrap()
                .len(),
            1
        );
        assert!(scan(b"[1]", known(Op::Chat)).is_err());
        assert!(scan(br#"{"a":1} x"#, known(Op::Chat)).is_err());
    }

    #[test]
    fn python_reprs() {
        assert_eq!(python_list(["a", "b"]), "['a', 'b']");
        assert_eq!(python_list([]), "[]");
        assert_eq!(python_list(["it's"]), r#"["it's"]"#);
        assert_eq!(python_list([r#"a'"b"#]), r#"['a\'"b']"#);
        assert_eq!(python_list(["a\\b\n"]), r"['a\\b\n']");
    }
}
