//! Where inline images sit in a JSON request body.
//!
//! Any `image_url` member, at any depth, that is a string or an object with a string `url`
//! (chat's `{"type":"image_url","image_url":{"url":…}}`, the Responses API's
//! `{"type":"input_image","image_url":…}`) and starts with `data:`; and any string
//! `image_base64` member. Remote URLs are not images the gateway holds, so they are skipped.

use std::fmt::Write as _;

use serde_json::Value;

/// How an image's text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An `image_url`: a `data:` URL.
    Url,
    /// An `image_base64`: bare base64 (or, from a lenient client, a `data:` URL).
    Base64,
}

/// One step of a path into the body.
#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// An inline image found in the body, ready to be rewritten in place.
#[derive(Debug)]
pub(super) struct Slot<'a> {
    pub text: &'a mut String,
    pub kind: Kind,
    path: Vec<Step<'a>>,
}

impl Slot<'_> {
    /// Where the image sits, as OpenAI's errors name it: `messages[0].content[1].image_url.url`.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for step in &self.path {
            match step {
                Step::Key(key) if out.is_empty() => out.push_str(key),
                Step::Key(key) => {
                    out.push('.');
                    out.push_str(key);
                }
                Step::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
            }
        }
        out
    }
}

/// Every inline image in `body`, in document order.
pub(super) fn slots(body: &mut Value) -> Vec<Slot<'_>> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    walk(body, &mut path, &mut out);
    out
}

fn walk<'a>(value: &'a mut Value, path: &mut Vec<Step<'a>>, out: &mut Vec<Slot<'a>>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map.iter_mut() {
                path.push(Step::Key(key));
                match (key.as_str(), member) {
                    ("image_url", Value::String(text)) => push(text, Kind::Url, path, out),
                    ("image_url", Value::Object(inner)) => {
                        if let Some(Value::String(text)) = inner.get_mut("url") {
                            path.push(Step::Key("url"));
                            push(text, Kind::Url, path, out);
                            path.pop();
                        }
                    }
                    ("image_base64", Value::String(text)) => push(text, Kind::Base64, path, out),
                    (_, member) => walk(member, path, out),
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(Step::Index(i));
                walk(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn push<'a>(text: &'a mut String, kind: Kind, path: &[Step<'a>], out: &mut Vec<Slot<'a>>) {
    let inline = kind == Kind::Base64 || has_prefix(text, "data:");
    if inline {
        out.push(Slot {
            text,
            kind,
            path: path.to_vec(),
        });
    }
}

/// ASCII case-insensitive `starts_with` (URL schemes and media types are case-insensitive).
pub(super) fn has_prefix(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn found(mut body: Value) -> Vec<(String, Kind, String)> {
        slots(&mut body)
            .into_iter()
            .map(|s| (s.path(), s.kind, s.text.clone()))
            .collect()
    }

    #[test]
    fn finds_chat_responses_and_base64_images_at_any_depth() {
        let body = json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "data:image/png;base64,not-in-an-image-field"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA", "detail": "low"}},
                    {"type": "image_url", "image_url": "DATA:image/jpeg;base64,BBB"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
                ]}
            ],
            "input": [{"role": "user", "content": [
                {"type": "input_image", "image_url": "data:image/webp;base64,CCC"}
            ]}],
            "tools": [{"deep": {"image_base64": "DDD", "image_url": 7}}]
        });
        assert_eq!(
            found(body),
            vec![
                (
                    "messages[0].content[1].image_url.url".to_owned(),
                    Kind::Url,
                    "data:image/png;base64,AAA".to_owned()
                ),
                (
                    "messages[0].content[2].image_url".to_owned(),
                    Kind::Url,
                    "DATA:image/jpeg;base64,BBB".to_owned()
                ),
                (
                    "input[0].content[0].image_url".to_owned(),
                    Kind::Url,
                    "data:image/webp;base64,CCC".to_owned()
                ),
                (
                    "tools[0].deep.image_base64".to_owned(),
                    Kind::Base64,
                    "DDD".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_top_level_field_has_no_leading_dot() {
        let found = found(json!({"image_base64": "AAAA"}));
        assert_eq!(found[0].0, "image_base64");
        let mut elsewhere =
            json!([1, "data:image/png;base64,A", {"url": "data:image/png;base64,A"}]);
        assert!(slots(&mut elsewhere).is_empty());
    }
}
