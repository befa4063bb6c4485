//! [`run_sink`] / [`run_sink_with`]: drive one sink — batch events from a channel, send each
//! batch with retry (up to `concurrency` batches at once), and acknowledge it.
//!
//! Enters: [`EncodedEvent`]s on a bounded channel. Leaves: one [`SinkAck`] per delivered batch,
//! and [`SinkStats`] when the channel closes (also logged at info level as JSON). Guarantees: an
//! ack is sent only after the sink returned `Ok` for that batch, exactly once per seq; at most
//! `concurrency` batches are in flight (each through its own clone of the sink) and while that
//! many are, the channel is not read (backpressure, bounded memory); with `concurrency = 1`
//! batches are sent one at a time, in order; acks of concurrent batches may arrive out of order
//! (the daemon tracks seqs, not positions); while the sink is failing, attempts go one at a
//! time (adaptive concurrency, see `Health`); on shutdown (channel closed) the open batch is
//! flushed and every in-flight batch finishes before returning.

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, Instant};

use crate::{
    Batch, BatchLimits, Batcher, Compression, EncodedEvent, RetryPolicy, SendError, SeqSet, Sink,
    SinkAck, SinkMetrics,
};

/// Counters of one sink driver, returned by [`run_sink`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SinkStats {
    /// Events the destination accepted (in delivered batches, less rejected events).
    pub events_sent: u64,
    /// Delivered batches.
    pub batches_sent: u64,
    /// Body bytes of delivered batches, as sent (compressed when compression is on; the records'
    /// counted size with `Framing::Records` — see `metrics.record_bytes_sent` for what a
    /// record-based destination actually received).
    pub bytes_sent: u64,
    /// Uncompressed encoded bytes of delivered batches.
    pub raw_bytes_sent: u64,
    /// Attempts that followed a failed attempt.
    pub retries: u64,
    /// Failed attempts, of either kind.
    pub errors: u64,
    /// Failed attempts whose error was [`SendError::Fatal`] (also counted in `errors`).
    pub fatal_errors: u64,
    /// Batches given up after `RetryPolicy::max_attempts` (never with the default policy) or
    /// lost to an encoder failure; their seqs are not acked.
    pub batches_dropped: u64,
    /// Events in dropped batches.
    pub events_dropped: u64,
    /// What the sink reported on the wire ([`Sink::take_metrics`]).
    pub metrics: SinkMetrics,
}

impl SinkStats {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &SinkStats) {
        self.events_sent += other.events_sent;
        self.batches_sent += other.batches_sent;
        self.bytes_sent += other.bytes_sent;
        self.raw_bytes_sent += other.raw_bytes_sent;
        self.retries += other.retries;
        self.errors += other.errors;
        self.fatal_errors += other.fatal_errors;
        self.batches_dropped += other.batches_dropped;
        self.events_dropped += other.events_dropped;
        self.metrics.merge(&other.metrics);
    }

    /// Events per accepted record (Firehose packing ratio); 0 without records.
    pub fn events_per_record(&self) -> f64 {
        if self.metrics.records_sent == 0 {
            0.0
        } else {
            self.events_sent as f64 / self.metrics.records_sent as f64
        }
    }
}

/// How a driver batches and sends; see [`run_sink_with`].
#[derive(Clone, Debug, PartialEq)]
pub struct DriverOptions {
    /// Batch limits, tightened by [`Sink::constraints`].
    pub limits: BatchLimits,
    /// Body compression (NDJSON framing only).
    pub compression: Compression,
    /// Backoff between attempts of one batch.
    pub retry: RetryPolicy,
    /// Most batches in flight at once (0 acts as 1).
    pub concurrency: usize,
}

/// Drives one sink with one batch in flight at a time: [`run_sink_with`] with
/// `concurrency = 1`.
pub async fn run_sink<S: Sink + Clone + 'static>(
    index: usize,
    sink: S,
    limits: BatchLimits,
    compression: Compression,
    retry: RetryPolicy,
    rx: mpsc::Receiver<EncodedEvent>,
    acks: mpsc::Sender<SinkAck>,
) -> SinkStats {
    let options = DriverOptions {
        limits,
        compression,
        retry,
        concurrency: 1,
    };
    run_sink_with(index, sink, options, rx, acks).await
}

/// Drives one sink: batches events from `rx`, sends up to `options.concurrency` batches at once
/// (each with retry, through its own clone of `sink`), reports acks on `acks`; on shutdown (`rx`
/// closed and drained) flushes what it holds, waits for what is in flight and returns its
/// counters.
///
/// With the default [`RetryPolicy`] a failing sink is retried forever (a `Fatal` error too,
/// logged at error level): shutdown then waits for the sink; a caller that wants bounded
/// shutdown wraps the task in `tokio::time::timeout` or aborts it — unacked events are re-read
/// from the daemon's checkpoint on the next start. A closed `acks` receiver is not an error: the
/// batches are still delivered.
pub async fn run_sink_with<S: Sink + Clone + 'static>(
    index: usize,
    mut sink: S,
    options: DriverOptions,
    mut rx: mpsc::Receiver<EncodedEvent>,
    acks: mpsc::Sender<SinkAck>,
) -> SinkStats {
    let constraints = sink.constraints();
    let concurrency = options.concurrency.max(1);
    let mut batcher = Batcher::with_constraints(options.limits, options.compression, &constraints);
    let name = sink.name().to_owned();
    let checked = sink.healthcheck().await;
    let mut stats = SinkStats::default();
    stats.metrics.merge(&sink.take_metrics());
    match checked {
        Ok(()) => tracing::debug!(sink = %name, "healthcheck passed"),
        Err(err) => tracing::warn!(sink = %name, error = %err,
            "healthcheck failed; starting anyway, sends will be retried"),
    }
    let health = Arc::new(Health::default());
    let mut ready: VecDeque<Batch> = VecDeque::new();
    let mut in_flight: JoinSet<Delivered> = JoinSet::new();
    let mut open = true;
    loop {
        while in_flight.len() < concurrency {
            let Some(batch) = ready.pop_front() else {
                break;
            };
            in_flight.spawn(deliver(
                sink.clone(),
                batch,
                options.retry.clone(),
                Arc::clone(&health),
            ));
        }
        if !open && ready.is_empty() && in_flight.is_empty() {
            break;
        }
        // Read only with a free slot and nothing waiting for one: backpressure.
        let can_take = open && ready.is_empty() && in_flight.len() < concurrency;
        tokio::select! {
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                finish(index, &name, done, &acks, &mut stats).await;
            }
            received = rx.recv(), if can_take => match received {
                Some(event) => {
                    ready.extend(batcher.push(event));
                    // The event that opened a new batch may fill it alone; and a steady stream
                    // must not postpone an expired batch.
                    while let Some(batch) = batcher
                        .take_if_full()
                        .or_else(|| batcher.take_if_older(Instant::now()))
                    {
                        ready.push_back(batch);
                    }
                }
                None => {
                    open = false;
                    ready.extend(batcher.take());
                }
            },
            () = wait_until(batcher.deadline()), if can_take => {
                ready.extend(batcher.take_if_older(Instant::now()));
            }
        }
    }
    stats.events_dropped += batcher.dropped_events();
    stats.batches_dropped += batcher.dropped_batches();
    let json = serde_json::to_string(&stats).unwrap_or_default();
    tracing::info!(sink = %name, events_per_record = stats.events_per_record(), stats = %json,
        "sink driver stopped");
    stats
}

/// One finished delivery: its counters and, when delivered, the seqs to acknowledge.
struct Delivered {
    stats: SinkStats,
    seqs: Option<SeqSet>,
}

/// Adds a finished delivery to `stats` and acknowledges it.
async fn finish(
    index: usize,
    name: &str,
    done: Result<Delivered, tokio::task::JoinError>,
    acks: &mpsc::Sender<SinkAck>,
    stats: &mut SinkStats,
) {
    let delivered = match done {
        Ok(delivered) => delivered,
        Err(err) => {
            // A panicking sink: its batch is not acknowledged, so its events are re-read from
            // the checkpoint after a restart.
            tracing::error!(sink = name, error = %err, "a delivery task failed; batch not acknowledged");
            stats.batches_dropped += 1;
            return;
        }
    };
    stats.merge(&delivered.stats);
    let Some(seqs) = delivered.seqs else { return };
    if acks.send(SinkAck { sink: index, seqs }).await.is_err() {
        tracing::debug!(
            sink = name,
            "ack receiver closed; batch delivered but not reported"
        );
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn wait_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Whether the sink is failing, shared by the deliveries of one driver: while it is, attempts
/// go one at a time through `probe` (each holding it through its backoff), so an outage or
/// throttling is met by one request at a time instead of `concurrency` — fewer wasted calls and
/// fewer duplicates from attempts a hung server applies late. The first success reopens all
/// slots (adaptive concurrency: `concurrency` when healthy, 1 while failing).
#[derive(Debug)]
struct Health {
    failing: AtomicBool,
    probe: Semaphore,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            failing: AtomicBool::new(false),
            probe: Semaphore::new(1),
        }
    }
}

/// Sends `batch` until it is accepted (or attempts run out).
async fn deliver<S: Sink>(
    mut sink: S,
    batch: Batch,
    retry: RetryPolicy,
    health: Arc<Health>,
) -> Delivered {
    let mut stats = SinkStats::default();
    let mut attempts: u32 = 0;
    loop {
        attempts = attempts.saturating_add(1);
        // Never closed, so acquiring only fails if it were; then go ahead unserialised.
        let probe = if health.failing.load(Ordering::Acquire) {
            health.probe.acquire().await.ok()
        } else {
            None
        };
        let sent = sink.send(&batch).await;
        stats.metrics.merge(&sink.take_metrics());
        let err = match sent {
            Ok(()) => {
                health.failing.store(false, Ordering::Release);
                break;
            }
            Err(err) => err,
        };
        health.failing.store(true, Ordering::Release);
        stats.errors += 1;
        if matches!(err, SendError::Fatal(_)) {
            stats.fatal_errors += 1;
        }
        if !retry.allows_attempt(attempts) {
            tracing::error!(sink = sink.name(), error = %err, attempts,
                events = batch.events, first_seq = batch.seqs.first(),
                "giving up on a batch after max_attempts; its events are not acknowledged");
            stats.batches_dropped += 1;
            stats.events_dropped += batch.events as u64;
            return Delivered { stats, seqs: None };
        }
        let delay = retry.delay(attempts - 1);
        match &err {
            SendError::Fatal(_) => tracing::error!(sink = sink.name(), error = %err, attempts,
                retry_in_ms = delay.as_millis() as u64,
                "sink needs attention (fatal error); will keep retrying"),
            SendError::Retriable(_) => tracing::warn!(sink = sink.name(), error = %err,
                attempts, retry_in_ms = delay.as_millis() as u64, "send failed; retrying"),
        }
        sleep(delay).await;
        drop(probe);
        stats.retries += 1;
    }
    // Rejected events were acknowledged by the destination's answer, not accepted: they are
    // counted in `metrics.events_rejected`, never as sent.
    let rejected = stats.metrics.rejected_total();
    stats.events_sent += (batch.events as u64).saturating_sub(rejected);
    stats.batches_sent += 1;
    let wire_bytes = if batch.records.is_empty() {
        batch.body.len()
    } else {
        batch.raw_bytes
    };
    stats.bytes_sent += wire_bytes as u64;
    stats.raw_bytes_sent += batch.raw_bytes as u64;
    Delivered {
        stats,
        seqs: Some(batch.seqs),
    }
}
