//! The results: one row per metric, printed as a table and kept for the JSON file.

use serde::Serialize;

/// How a metric compares with its target.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    AtMost(f64),
    AtLeast(f64),
}

/// One measured figure, with the direct baseline beside it where there is one.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub scenario: &'static str,
    pub metric: &'static str,
    pub unit: &'static str,
    pub direct: Option<f64>,
    pub gateway: Option<f64>,
    /// The headline: the added cost, a ratio, or an absolute gateway figure.
    pub value: f64,
    pub target: Option<Goal>,
    pub met: Option<bool>,
}

impl Row {
    pub fn new(
        scenario: &'static str,
        metric: &'static str,
        unit: &'static str,
        value: f64,
    ) -> Self {
        Self {
            scenario,
            metric,
            unit,
            direct: None,
            gateway: None,
            value: crate::stats::round(value),
            target: None,
            met: None,
        }
    }

    /// A latency the gateway adds: the gateway's figure minus the direct one, both shown.
    pub fn added(scenario: &'static str, metric: &'static str, direct: f64, gateway: f64) -> Self {
        Self::new(scenario, metric, "µs", gateway - direct).compare(direct, gateway)
    }

    pub fn compare(mut self, direct: f64, gateway: f64) -> Self {
        self.direct = Some(crate::stats::round(direct));
        self.gateway = Some(crate::stats::round(gateway));
        self
    }

    pub fn goal(mut self, goal: Goal) -> Self {
        self.met = Some(match goal {
            Goal::AtMost(limit) => self.value <= limit,
            Goal::AtLeast(limit) => self.value >= limit,
        });
        self.target = Some(goal);
        self
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
}

/// The table as text, one line per row.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<14} {:<34} {:>12} {:>12} {:>12}  {:<14} {}\n",
        "scenario", "metric", "direct", "gateway", "value", "target", ""
    );
    for r in rows {
        let target = match r.target {
            Some(Goal::AtMost(l)) => format!("<= {l}"),
            Some(Goal::AtLeast(l)) => format!(">= {l}"),
            None => String::new(),
        };
        let met = match r.met {
            Some(true) => "ok",
            Some(false) => "MISSED",
            None => "",
        };
        out.push_str(&format!(
            "{:<14} {:<34} {:>12} {:>12} {:>12}  {:<14} {}\n",
            r.scenario,
            format!("{} ({})", r.metric, r.unit),
            num(r.direct),
            num(r.gateway),
            format!("{:.1}", r.value),
            target,
            met
        ));
    }
    out
}
