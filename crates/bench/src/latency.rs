//! Helpers shared by the benchmarks: latency samples, their percentiles and printed line.

use std::time::Duration;

/// Timed samples of one operation.
pub struct Latencies(pub Vec<Duration>);

impl Latencies {
    /// The `p` quantile (0.0..=1.0, nearest rank); zero when there are no samples.
    pub fn percentile(&mut self, p: f64) -> Duration {
        self.0.sort_unstable();
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.0.len() as f64 - 1.0) * p).round() as usize;
        self.0[i.min(self.0.len() - 1)]
    }

    /// Prints `what`, the sample count, p50, p99 and max in milliseconds.
    pub fn print(&mut self, what: &str) {
        let n = self.0.len();
        let (p50, p99, max) = (
            self.percentile(0.50),
            self.percentile(0.99),
            self.percentile(1.0),
        );
        println!(
            "{what:<58} n={n:>7}  p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms",
            ms(p50),
            ms(p99),
            ms(max)
        );
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
