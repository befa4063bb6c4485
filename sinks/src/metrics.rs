//! [`SinkMetrics`]: what a sink did on the wire, beyond "this batch was delivered" — requests,
//! records, per-record failures, rejections by reason, truncations and request latency.
//!
//! Enters: counts a sink records while sending ([`SinkMetrics::record_request`] and the public
//! fields). Leaves: one [`SinkMetrics`] per sink inside [`SinkStats`](crate::SinkStats); the
//! driver takes a sink's metrics after every attempt ([`Sink::take_metrics`](crate::Sink)) and adds
//! them up. Guarantees: plain counters, merging is addition (so per-attempt, per-batch and
//! per-sink totals agree), no allocation per request except for a new rejection reason.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// Upper bounds (milliseconds, inclusive) of the request-latency histogram buckets; a last,
/// unbounded bucket follows.
pub const LATENCY_BUCKETS_MS: [u64; 10] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 10_000];

/// Wire-level counters of one sink (all zero for sinks that do not report them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SinkMetrics {
    /// API calls made (answered or not).
    pub requests: u64,
    /// Calls that failed as a whole (transport error, throttling, 5xx, service error).
    pub failed_requests: u64,
    /// Records the destination accepted: Firehose records (each packing many events),
    /// CloudWatch log events.
    pub records_sent: u64,
    /// Bytes of the accepted records as the destination counts them (Firehose: record data
    /// after compression, before base64; CloudWatch: message bytes + 26 per event).
    pub record_bytes_sent: u64,
    /// Records the destination refused individually (Firehose `FailedPutCount`); each is sent
    /// again, alone, without its accepted neighbours.
    pub records_failed: u64,
    /// Events shortened to fit the destination's per-record limit (sent with a marker field).
    pub events_truncated: u64,
    /// Events that can never be accepted, by reason (`too_old`, `too_new`, `expired`): counted,
    /// logged, acknowledged (retrying cannot help) and **not** counted as sent.
    pub events_rejected: BTreeMap<String, u64>,
    /// Latency of the API calls.
    pub latency: LatencyStats,
}

impl SinkMetrics {
    /// Counts one API call that took `elapsed`; `ok` is false when the call failed as a whole.
    pub fn record_request(&mut self, elapsed: Duration, ok: bool) {
        self.requests += 1;
        if !ok {
            self.failed_requests += 1;
        }
        self.latency.record(elapsed);
    }

    /// Counts `events` rejected for `reason`.
    pub fn reject(&mut self, reason: &str, events: u64) {
        if events > 0 {
            *self.events_rejected.entry(reason.to_owned()).or_default() += events;
        }
    }

    /// Total rejected events, all reasons.
    pub fn rejected_total(&self) -> u64 {
        self.events_rejected.values().sum()
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &SinkMetrics) {
        self.requests += other.requests;
        self.failed_requests += other.failed_requests;
        self.records_sent += other.records_sent;
        self.record_bytes_sent += other.record_bytes_sent;
        self.records_failed += other.records_failed;
        self.events_truncated += other.events_truncated;
        for (reason, count) in &other.events_rejected {
            *self.events_rejected.entry(reason.clone()).or_default() += count;
        }
        self.latency.merge(&other.latency);
    }
}

/// A request-latency summary: count, sum, max and a fixed-bucket histogram.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LatencyStats {
    /// Requests timed.
    pub count: u64,
    /// Sum of their latencies, milliseconds.
    pub total_ms: u64,
    /// Slowest request, milliseconds.
    pub max_ms: u64,
    /// Requests per bucket: `buckets[i]` counts latencies ≤ `LATENCY_BUCKETS_MS[i]` (and above
    /// the previous bound); the last element counts the rest.
    pub buckets: [u64; LATENCY_BUCKETS_MS.len() + 1],
}

impl LatencyStats {
    /// Adds one request's latency.
    pub fn record(&mut self, elapsed: Duration) {
        let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        self.count += 1;
        self.total_ms = self.total_ms.saturating_add(ms);
        self.max_ms = self.max_ms.max(ms);
        let bucket = LATENCY_BUCKETS_MS
            .iter()
            .position(|&bound| ms <= bound)
            .unwrap_or(LATENCY_BUCKETS_MS.len());
        self.buckets[bucket] += 1;
    }

    /// Mean latency in milliseconds (0 without requests).
    pub fn mean_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total_ms as f64 / self.count as f64
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &LatencyStats) {
        self.count += other.count;
        self.total_ms = self.total_ms.saturating_add(other.total_ms);
        self.max_ms = self.max_ms.max(other.max_ms);
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_lands_in_its_bucket_and_merges_by_addition() {
        let mut a = LatencyStats::default();
        a.record(Duration::from_millis(3));
        a.record(Duration::from_millis(100));
        a.record(Duration::from_secs(60));
        assert_eq!(a.buckets[0], 1);
        assert_eq!(a.buckets[4], 1, "100 ms is in the ≤100 bucket");
        assert_eq!(a.buckets[LATENCY_BUCKETS_MS.len()], 1);
        assert_eq!((a.count, a.max_ms), (3, 60_000));
        let mut b = LatencyStats::default();
        b.record(Duration::from_millis(7));
        b.merge(&a);
        assert_eq!((b.count, b.total_ms, b.buckets[1]), (4, 60_110, 1));
        assert!((b.mean_ms() - 15_027.5).abs() < 1e-9);
    }

    #[test]
    fn rejections_are_counted_per_reason_and_merged() {
        let mut m = SinkMetrics::default();
        m.reject("too_old", 3);
        m.reject("too_new", 0);
        let mut total = SinkMetrics::default();
        total.merge(&m);
        total.merge(&m);
        assert_eq!(total.events_rejected.len(), 1, "zero counts add no reason");
        assert_eq!(total.rejected_total(), 6);
        total.record_request(Duration::from_millis(1), false);
        assert_eq!((total.requests, total.failed_requests), (1, 1));
    }
}
