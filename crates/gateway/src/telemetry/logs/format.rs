//! stdout line formats: human (the default) and JSON lines (`--log-format json`). Both take the
//! already-redacted [`Fields`]; nothing here sees a raw value.

use std::fmt::Write as _;
use std::time::SystemTime;

use tracing::{Level, Metadata};

use super::fields::{Fields, write_json_str};
use super::ring::level_name;

/// How stdout lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `TS LEVEL span{fields}: target: message k=v …`, for people and `grep`.
    #[default]
    Human,
    /// One JSON object per line, every field (and the request id) at the top level.
    Json,
}

/// A span around the event: its name and recorded fields.
pub struct SpanView<'a> {
    pub name: &'static str,
    pub fields: &'a Fields,
}

/// Keys a JSON line always has; an event field with one of these names is written as
/// `field_<name>` so no key appears twice.
const RESERVED: [&str; 4] = ["ts", "level", "target", "message"];

/// One line (with its newline) for an event. `spans` run from the root to the innermost.
pub fn line(
    format: Format,
    ansi: bool,
    ts: SystemTime,
    meta: &Metadata<'_>,
    event: &Fields,
    spans: &[SpanView<'_>],
) -> String {
    let mut out = String::with_capacity(256);
    match format {
        Format::Human => human(
            &mut out,
            ansi,
            ts,
            *meta.level(),
            meta.target(),
            event,
            spans,
        ),
        Format::Json => json(&mut out, ts, *meta.level(), meta.target(), event, spans),
    }
    out.push('\n');
    out
}

fn human(
    out: &mut String,
    ansi: bool,
    ts: SystemTime,
    level: Level,
    target: &str,
    event: &Fields,
    spans: &[SpanView<'_>],
) {
    let _ = write!(out, "{} ", humantime::format_rfc3339_millis(ts));
    let (colour, name) = match level {
        Level::TRACE => ("\x1b[35m", "TRACE"),
        Level::DEBUG => ("\x1b[34m", "DEBUG"),
        Level::INFO => ("\x1b[32m", " INFO"),
        Level::WARN => ("\x1b[33m", " WARN"),
        Level::ERROR => ("\x1b[31m", "ERROR"),
    };
    if ansi {
        let _ = write!(out, "{colour}{name}\x1b[0m ");
    } else {
        out.push_str(name);
        out.push(' ');
    }
    for span in spans {
        out.push_str(span.name);
        if !span.fields.list.is_empty() {
            out.push('{');
            pairs(out, &span.fields.list);
            out.push('}');
        }
        out.push_str(": ");
    }
    out.push_str(target);
    out.push_str(": ");
    out.push_str(event.message.as_deref().unwrap_or(""));
    if !event.list.is_empty() {
        out.push(' ');
        pairs(out, &event.list);
    }
}

fn pairs(out: &mut String, list: &[(&'static str, super::fields::Value)]) {
    for (i, (name, value)) in list.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(name);
        out.push('=');
        value.write_human(out);
    }
}

fn json(
    out: &mut String,
    ts: SystemTime,
    level: Level,
    target: &str,
    event: &Fields,
    spans: &[SpanView<'_>],
) {
    let _ = write!(
        out,
        "{{\"ts\":\"{}\",\"level\":\"{}\",\"target\":",
        humantime::format_rfc3339_millis(ts),
        level_name(level)
    );
    write_json_str(out, target);
    out.push_str(",\"message\":");
    write_json_str(out, event.message.as_deref().unwrap_or(""));
    let key = |out: &mut String, name: &str| {
        out.push(',');
        if RESERVED.contains(&name) {
            write_json_str(out, &format!("field_{name}"));
        } else {
            write_json_str(out, name);
        }
        out.push(':');
    };
    for (name, value) in &event.list {
        key(out, name);
        value.write_json(out);
    }
    // Span fields the event does not set itself, the innermost span's first.
    let mut written: Vec<&str> = Vec::new();
    for span in spans.iter().rev() {
        for (name, value) in &span.fields.list {
            if event.get(name).is_some() || written.contains(name) {
                continue;
            }
            written.push(name);
            key(out, name);
            value.write_json(out);
        }
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::logs::fields::Value;

    fn fields(message: &str, list: Vec<(&'static str, Value)>) -> Fields {
        Fields {
            message: Some(message.into()),
            list,
        }
    }

    #[test]
    fn human_lines_show_span_context() {
        let span = fields("", vec![("request_id", Value::Str("req-9".into()))]);
        let event = fields(
            "upstream call failed",
            vec![
                ("model", Value::Str("gpt-4o".into())),
                ("error", Value::Str("connection refused".into())),
            ],
        );
        let mut out = String::new();
        let spans = [SpanView {
            name: "request",
            fields: &span,
        }];
        human(
            &mut out,
            false,
            SystemTime::UNIX_EPOCH,
            Level::WARN,
            "aoai_gateway::proxy",
            &event,
            &spans,
        );
        assert_eq!(
            out,
            "1970-01-01T00:00:00.000Z  WARN request{request_id=req-9}: aoai_gateway::proxy: \
             upstream call failed model=gpt-4o error=\"connection refused\""
        );
    }

    #[test]
    fn json_lines_put_span_fields_at_the_top_unless_the_event_has_them() {
        let outer = fields("", vec![("request_id", Value::Str("outer".into()))]);
        let inner = fields("", vec![("request_id", Value::Str("inner".into()))]);
        let event = fields(
            "m",
            vec![
                ("status", Value::U64(502)),
                ("level", Value::Str("x".into())),
            ],
        );
        let spans = [
            SpanView {
                name: "a",
                fields: &outer,
            },
            SpanView {
                name: "b",
                fields: &inner,
            },
        ];
        let mut out = String::new();
        json(
            &mut out,
            SystemTime::UNIX_EPOCH,
            Level::INFO,
            "t",
            &event,
            &spans,
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["request_id"], "inner");
        assert_eq!(v["status"], 502);
        assert_eq!(v["level"], "info");
        assert_eq!(v["field_level"], "x");
        assert_eq!(v["message"], "m");

        let own = fields("m", vec![("request_id", Value::Str("own".into()))]);
        let mut out = String::new();
        json(
            &mut out,
            SystemTime::UNIX_EPOCH,
            Level::INFO,
            "t",
            &own,
            &spans,
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["request_id"], "own", "the event's own field wins");
        assert_eq!(out.matches("request_id").count(), 1);
    }
}
