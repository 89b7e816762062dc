//! An event's (or a span's) fields, collected once and redacted on the way in: the only path
//! from a `tracing` field to either sink, so neither can show what the other hides.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};

use super::redact::{self, MASK};

/// One field value, already redacted and cut.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Box<str>),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

impl Value {
    /// A text value, redacted and cut.
    pub fn text(s: &str) -> Self {
        Self::Str(redact::redact(s).into())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U64(n) => Some(n),
            Self::I64(n) => u64::try_from(n).ok(),
            _ => None,
        }
    }

    /// The value as a JSON token.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Self::Str(s) => write_json_str(out, s),
            Self::I64(n) => {
                let _ = write!(out, "{n}");
            }
            Self::U64(n) => {
                let _ = write!(out, "{n}");
            }
            Self::F64(n) if n.is_finite() => {
                let _ = write!(out, "{n}");
            }
            Self::F64(n) => write_json_str(out, &n.to_string()),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }

    /// The value in a human `name=value` pair: quoted only when it would not read as one word.
    pub fn write_human(&self, out: &mut String) {
        match self {
            Self::Str(s) if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '"') => {
                let _ = write!(out, "{s:?}");
            }
            Self::Str(s) => out.push_str(s),
            Self::I64(n) => {
                let _ = write!(out, "{n}");
            }
            Self::U64(n) => {
                let _ = write!(out, "{n}");
            }
            Self::F64(n) => {
                let _ = write!(out, "{n}");
            }
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }

    /// Case-insensitive (ASCII) substring match for the admin API's `keyword` filter.
    pub fn contains_ci(&self, needle: &str) -> bool {
        match self {
            Self::Str(s) => contains_ci(s, needle),
            other => {
                let mut s = String::new();
                other.write_human(&mut s);
                contains_ci(&s, needle)
            }
        }
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Str(v) => s.serialize_str(v),
            Self::I64(v) => s.serialize_i64(*v),
            Self::U64(v) => s.serialize_u64(*v),
            Self::F64(v) => s.serialize_f64(*v),
            Self::Bool(v) => s.serialize_bool(*v),
        }
    }
}

/// `needle` (already lowercase ASCII) in `hay`, ignoring ASCII case; no allocation.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// A JSON string literal (quotes and escapes) appended to `out`.
pub fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push_str(esc);
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// The fields of one event or span, in the order they were recorded.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    /// The event's message (the `message` field), redacted.
    pub message: Option<Box<str>>,
    pub list: Vec<(&'static str, Value)>,
}

impl Fields {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            message: None,
            list: Vec::with_capacity(n),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.list.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Sets `name` (a span's `record` replaces the earlier value).
    pub fn set(&mut self, name: &'static str, value: Value) {
        match self.list.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.list.push((name, value)),
        }
    }

    /// Stores a recorded value; a secret-named field keeps only the mask, whatever its type.
    fn put(&mut self, field: &Field, value: impl FnOnce() -> Value) {
        self.put_named(field.name(), value);
    }

    /// [`Self::put`] by name: the path for fields built without a `tracing` event (the
    /// admin ring's `request.completed` entries), so they are redacted alike.
    pub fn put_named(&mut self, name: &'static str, value: impl FnOnce() -> Value) {
        // A `log` record's metadata fields: its target and level are read from them instead.
        if name.starts_with("log.") {
            return;
        }
        if name == "message" {
            if let Value::Str(s) = value() {
                self.message = Some(s);
            }
            return;
        }
        let value = if redact::is_secret_name(name) {
            Value::Str(MASK.into())
        } else {
            value()
        };
        self.list.push((name, value));
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, || Value::text(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, || Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, || Value::U64(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, || Value::F64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, || Value::Bool(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // Display, with the chain of causes: the part operators need is often a cause.
        self.put(field, || {
            let mut text = value.to_string();
            let mut source = value.source();
            while let Some(cause) = source {
                let _ = write!(text, ": {cause}");
                source = cause.source();
            }
            Value::text(&text)
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, || {
            let mut text = String::new();
            let _ = write!(text, "{value:?}");
            Value::text(&text)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        let mut out = String::new();
        write_json_str(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn human_values_quote_only_when_needed() {
        let show = |v: Value| {
            let mut s = String::new();
            v.write_human(&mut s);
            s
        };
        assert_eq!(show(Value::Str("gpt-4o".into())), "gpt-4o");
        assert_eq!(show(Value::Str("two words".into())), "\"two words\"");
        assert_eq!(show(Value::Str("".into())), "\"\"");
        assert_eq!(show(Value::U64(7)), "7");
    }

    #[test]
    fn keyword_match_ignores_case() {
        assert!(contains_ci("Upstream TIMEOUT", "timeout"));
        assert!(!contains_ci("Upstream", "timeout"));
        assert!(Value::U64(429).contains_ci("42"));
    }
}
