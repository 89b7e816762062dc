//! The Prometheus text format, read back for the metrics tests: samples with their labels
//! (escapes undone) and values, and sums over label subsets.

/// One sample line of the text format.
#[derive(Debug)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Parses the text format strictly enough for these tests: comments are `# HELP`/`# TYPE`,
/// every other line is `name{label="value",...} value` with escaped label values.
pub fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            assert!(
                line.starts_with("# HELP ") || line.starts_with("# TYPE "),
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let (name, mut rest) = match series.split_once('{') {
            Some((name, rest)) => (name, rest),
            None => (series, "}"),
        };
        let mut labels = Vec::new();
        while let Some((key, after)) = rest.split_once("=\"") {
            let key = key.trim_start_matches(',');
            let (mut val, mut chars) = (String::new(), after.char_indices());
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => val.push('\n'),
                        Some((_, c)) => val.push(c),
                        None => panic!("dangling escape in {line}"),
                    },
                    Some((i, '"')) => break i,
                    Some((_, c)) => val.push(c),
                    None => panic!("unterminated label value in {line}"),
                }
            };
            labels.push((key.to_owned(), val));
            rest = &after[end + 1..];
        }
        assert_eq!(rest, "}", "{line}");
        out.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    out
}

fn has(s: &Sample, want: &[(&str, &str)]) -> bool {
    want.iter()
        .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
}

/// The sum of `name` over the series carrying every label in `want`.
pub fn sum(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && has(s, want))
        .map(|s| s.value)
        .sum()
}

/// The one series of `name` carrying every label in `want`.
pub fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let hits: Vec<_> = samples
        .iter()
        .filter(|s| s.name == name && has(s, want))
        .collect();
    assert!(hits.len() <= 1, "several {name} {want:?}: {hits:?}");
    hits.first().map(|s| s.value)
}
