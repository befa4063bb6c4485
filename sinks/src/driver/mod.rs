//! [`run_sink`]: drives one sink — batches events from a channel, sends each batch with retry, and
//! acknowledges it.
//!
//! Enters: [`EncodedEvent`]s on a bounded channel. Leaves: one [`SinkAck`] per delivered batch,
//! and [`SinkStats`] when the channel closes. Guarantees: an ack is sent only after the sink
//! returned `Ok` for that batch, exactly once per seq; batches are sent one at a time in order;
//! while a batch is being sent or retried the channel is not read (backpressure, bounded memory);
//! on shutdown (channel closed) the open batch is flushed before returning.

#[cfg(test)]
mod tests;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, Instant};

use crate::{
    Batch, BatchLimits, Batcher, Compression, EncodedEvent, RetryPolicy, SendError, Sink, SinkAck,
};

/// Counters of one sink driver, returned by [`run_sink`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SinkStats {
    /// Events in delivered batches.
    pub events_sent: u64,
    /// Delivered batches.
    pub batches_sent: u64,
    /// Body bytes of delivered batches, as sent (compressed when compression is on; the records'
    /// counted size with `Framing::Records`).
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
}

/// Drives one sink: batches events from `rx`, sends with retry, reports acks on `acks`; on
/// shutdown (`rx` closed and drained) flushes what it holds and returns its counters.
///
/// `limits` are tightened by [`Sink::constraints`]. With the default [`RetryPolicy`] a failing
/// sink is retried forever (a `Fatal` error too, logged at error level): shutdown then waits for
/// the sink; a caller that wants bounded shutdown wraps the task in `tokio::time::timeout` or
/// aborts it — unacked events are re-read from the daemon's checkpoint on the next start. A
/// closed `acks` receiver is not an error: the batches are still delivered.
pub async fn run_sink<S: Sink>(
    index: usize,
    mut sink: S,
    limits: BatchLimits,
    compression: Compression,
    retry: RetryPolicy,
    mut rx: mpsc::Receiver<EncodedEvent>,
    acks: mpsc::Sender<SinkAck>,
) -> SinkStats {
    let constraints = sink.constraints();
    let mut batcher = Batcher::with_constraints(limits, compression, &constraints);
    match sink.healthcheck().await {
        Ok(()) => tracing::debug!(sink = sink.name(), "healthcheck passed"),
        Err(err) => tracing::warn!(sink = sink.name(), error = %err,
            "healthcheck failed; starting anyway, sends will be retried"),
    }
    let mut delivery = Delivery {
        index,
        retry,
        acks,
        stats: SinkStats::default(),
    };
    loop {
        let event = tokio::select! {
            received = rx.recv() => match received {
                Some(event) => event,
                None => break,
            },
            () = wait_until(batcher.deadline()) => {
                if let Some(batch) = batcher.take_if_older(Instant::now()) {
                    delivery.deliver(&mut sink, batch).await;
                }
                continue;
            }
        };
        if let Some(batch) = batcher.push(event) {
            delivery.deliver(&mut sink, batch).await;
        }
        // The event that opened a new batch may fill it alone; and a steady stream must not
        // postpone an expired batch.
        while let Some(batch) = batcher
            .take_if_full()
            .or_else(|| batcher.take_if_older(Instant::now()))
        {
            delivery.deliver(&mut sink, batch).await;
        }
    }
    if let Some(batch) = batcher.take() {
        delivery.deliver(&mut sink, batch).await;
    }
    delivery.stats.events_dropped += batcher.dropped_events();
    delivery.stats.batches_dropped += batcher.dropped_batches();
    tracing::debug!(sink = sink.name(), stats = ?delivery.stats, "sink driver stopped");
    delivery.stats
}

/// Sleeps until `deadline`, or forever without one.
async fn wait_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Sending state shared by every batch of one driver.
struct Delivery {
    index: usize,
    retry: RetryPolicy,
    acks: mpsc::Sender<SinkAck>,
    stats: SinkStats,
}

impl Delivery {
    /// Sends `batch` until it is accepted (or attempts run out), then acks it.
    async fn deliver<S: Sink>(&mut self, sink: &mut S, batch: Batch) {
        let mut attempts: u32 = 0;
        loop {
            attempts = attempts.saturating_add(1);
            let err = match sink.send(&batch).await {
                Ok(()) => break,
                Err(err) => err,
            };
            self.stats.errors += 1;
            if matches!(err, SendError::Fatal(_)) {
                self.stats.fatal_errors += 1;
            }
            if !self.retry.allows_attempt(attempts) {
                tracing::error!(sink = sink.name(), error = %err, attempts,
                    events = batch.events, first_seq = batch.seqs.first(),
                    "giving up on a batch after max_attempts; its events are not acknowledged");
                self.stats.batches_dropped += 1;
                self.stats.events_dropped += batch.events as u64;
                return;
            }
            let delay = self.retry.delay(attempts - 1);
            match &err {
                SendError::Fatal(_) => tracing::error!(sink = sink.name(), error = %err, attempts,
                    retry_in_ms = delay.as_millis() as u64,
                    "sink needs attention (fatal error); will keep retrying"),
                SendError::Retriable(_) => tracing::warn!(sink = sink.name(), error = %err,
                    attempts, retry_in_ms = delay.as_millis() as u64, "send failed; retrying"),
            }
            sleep(delay).await;
            self.stats.retries += 1;
        }
        self.stats.events_sent += batch.events as u64;
        self.stats.batches_sent += 1;
        let wire_bytes = if batch.records.is_empty() {
            batch.body.len()
        } else {
            batch.raw_bytes
        };
        self.stats.bytes_sent += wire_bytes as u64;
        self.stats.raw_bytes_sent += batch.raw_bytes as u64;
        let ack = SinkAck {
            sink: self.index,
            seqs: batch.seqs,
        };
        if self.acks.send(ack).await.is_err() {
            tracing::debug!(
                sink = sink.name(),
                "ack receiver closed; batch delivered but not reported"
            );
        }
    }
}
