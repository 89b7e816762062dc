//! The Prometheus text exposition format, version 0.0.4: `# HELP` and `# TYPE` once per
//! family, then its samples, each family's samples together; label values escaped (`\\`,
//! `\"`, `\n`). Durations print from integer nanoseconds, so `le` bounds and sums are exact
//! decimals rather than float noise.

use std::fmt::Write as _;

use super::histogram::HistogramSnapshot;

/// What `/metrics` answers with.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric family's type, as `# TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// A sample's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Value {
    Int(u64),
    /// Non-negative nanoseconds, printed as seconds.
    Seconds(u128),
    Float(f64),
}

/// The exposition being written.
#[derive(Debug, Default)]
pub(super) struct Text {
    out: String,
}

impl Text {
    pub(super) fn with_capacity(n: usize) -> Self {
        Self {
            out: String::with_capacity(n),
        }
    }

    pub(super) fn finish(self) -> String {
        self.out
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub(super) fn family(&mut self, name: &str, kind: Kind, help: &str) {
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind.as_str());
        self.out.push('\n');
    }

    /// One sample line: `name{labels} value`.
    pub(super) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: Value) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label(&mut self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        write_value(&mut self.out, value);
        self.out.push('\n');
    }

    /// A histogram's `_bucket` (cumulative, with `le`), `_sum` and `_count` lines.
    pub(super) fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot) {
        let bucket = format!("{name}_bucket");
        let mut with_le: Vec<(&str, &str)> = Vec::with_capacity(labels.len() + 1);
        with_le.extend_from_slice(labels);
        let bounds: Vec<String> = h
            .buckets
            .iter()
            .map(|&(bound, _)| {
                let mut le = String::new();
                write_seconds(&mut le, u128::from(bound));
                le
            })
            .collect();
        for (le, &(_, count)) in bounds.iter().zip(&h.buckets) {
            with_le.push(("le", le));
            self.sample(&bucket, &with_le, Value::Int(count));
            with_le.pop();
        }
        with_le.push(("le", "+Inf"));
        self.sample(&bucket, &with_le, Value::Int(h.count));
        self.sample(&format!("{name}_sum"), labels, Value::Seconds(h.sum_ns));
        self.sample(&format!("{name}_count"), labels, Value::Int(h.count));
    }
}

fn escape_label(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn write_value(out: &mut String, v: Value) {
    match v {
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Seconds(ns) => write_seconds(out, ns),
        Value::Float(f) if f.is_nan() => out.push_str("NaN"),
        Value::Float(f) if f == f64::INFINITY => out.push_str("+Inf"),
        Value::Float(f) if f == f64::NEG_INFINITY => out.push_str("-Inf"),
        // Rust's `Display` for floats never uses exponents and round-trips: valid for the
        // format's float grammar.
        Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
    }
}

/// `ns` as decimal seconds, exact: `1500000` → `0.0015`, `2000000000` → `2`.
fn write_seconds(out: &mut String, ns: u128) {
    let (secs, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    let _ = write!(out, "{secs}");
    if frac != 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut t = Text::default();
        t.sample("m", &[("a", "x\\y\"z\nw"), ("b", "é")], Value::Int(3));
        assert_eq!(t.finish(), "m{a=\"x\\\\y\\\"z\\nw\",b=\"é\"} 3\n");
    }

    #[test]
    fn help_is_escaped_and_typed() {
        let mut t = Text::default();
        t.family("m_total", Kind::Counter, "back\\slash\nnewline \"quotes\"");
        assert_eq!(
            t.finish(),
            "# HELP m_total back\\\\slash\\nnewline \"quotes\"\n# TYPE m_total counter\n"
        );
    }

    #[test]
    fn values_print_in_the_format_grammar() {
        let mut s = String::new();
        for v in [
            Value::Seconds(1_500_000),
            Value::Seconds(2_000_000_000),
            Value::Seconds(0),
            Value::Seconds(50_000),
            Value::Float(0.5),
            Value::Float(1.0),
            Value::Float(f64::INFINITY),
            Value::Float(f64::NAN),
            Value::Int(u64::MAX),
        ] {
            write_value(&mut s, v);
            s.push(' ');
        }
        assert_eq!(s, "0.0015 2 0 0.00005 0.5 1 +Inf NaN 18446744073709551615 ");
    }

    #[test]
    fn histograms_end_with_inf_sum_and_count() {
        let mut t = Text::default();
        let h = HistogramSnapshot {
            buckets: vec![(50_000, 1), (1_000_000, 3)],
            count: 4,
            sum_ns: 2_100_000,
        };
        t.histogram("h_seconds", &[("model", "m")], &h);
        assert_eq!(
            t.finish(),
            "h_seconds_bucket{model=\"m\",le=\"0.00005\"} 1\n\
             h_seconds_bucket{model=\"m\",le=\"0.001\"} 3\n\
             h_seconds_bucket{model=\"m\",le=\"+Inf\"} 4\n\
             h_seconds_sum{model=\"m\"} 0.0021\n\
             h_seconds_count{model=\"m\"} 4\n"
        );
    }
}
