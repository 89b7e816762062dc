//! Percentiles over measured durations, in microseconds.

use std::time::Duration;

use serde::Serialize;

/// A latency distribution summary in microseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Summary {
    pub n: usize,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub mean_us: f64,
    pub max_us: f64,
}

impl Summary {
    pub fn of(samples: &[Duration]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let mean = us.iter().sum::<f64>() / us.len() as f64;
        Self {
            n: us.len(),
            p50_us: percentile(&us, 0.50),
            p90_us: percentile(&us, 0.90),
            p99_us: percentile(&us, 0.99),
            mean_us: mean,
            max_us: us.last().copied().unwrap_or(0.0),
        }
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len() - 1))
        .copied()
        .unwrap_or(0.0)
}

/// Rounds to 0.1 µs for readable JSON.
pub fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let s = Summary::of(&d);
        assert_eq!(s.n, 100);
        assert!((s.p50_us - 50.0).abs() < 1e-6);
        assert!((s.p99_us - 99.0).abs() < 1e-6);
        assert!((s.max_us - 100.0).abs() < 1e-6);
        assert_eq!(Summary::of(&[]).n, 0);
    }
}
