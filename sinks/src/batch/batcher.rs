//! [`Batcher`]: groups events into batches by count, encoded size, age and time span, encoding
//! (and gzip-compressing) each event as it is pushed.
//!
//! Enters: [`EncodedEvent`]s in push order. Leaves: [`Batch`]es that partition the pushed events
//! in order. Guarantees: a batch never exceeds `max_events`, `max_bytes` (uncompressed) or the
//! sink's time span, except a lone event larger than `max_bytes`; gzip is streamed, so the
//! batcher holds only the compressed body of the open batch, never its raw events.

use std::io::Write;

use bytes::Bytes;
use flate2::write::GzEncoder;
use tokio::time::Instant;

use super::{Batch, BatchLimits, Compression, Framing, SinkConstraints};
use crate::{EncodedEvent, SeqSet};

/// Builds batches from pushed events; see the module docs.
///
/// Time comes from [`tokio::time::Instant`], so paused-clock tests drive ages deterministically.
#[derive(Debug)]
pub struct Batcher {
    limits: BatchLimits,
    compression: Compression,
    framing: Framing,
    max_time_span_ms: Option<i128>,
    open: Option<OpenBatch>,
    dropped_events: u64,
    dropped_batches: u64,
}

/// The batch being filled.
#[derive(Debug)]
struct OpenBatch {
    opened_at: Instant,
    seqs: SeqSet,
    events: usize,
    first_time_ms: i64,
    last_time_ms: i64,
    min_time_ms: i64,
    max_time_ms: i64,
    raw_bytes: usize,
    compression: Compression,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Plain(Vec<u8>),
    Gzip(GzEncoder<Vec<u8>>),
    Records(Vec<EncodedEvent>),
    /// The gzip encoder failed (not expected: it writes into memory). The batch is discarded
    /// unacknowledged, so the daemon's checkpoint stays before its events.
    Failed,
}

impl Batcher {
    /// A batcher producing NDJSON bodies with the given limits and compression.
    pub fn new(limits: BatchLimits, compression: Compression) -> Self {
        Self::with_constraints(limits, compression, &SinkConstraints::default())
    }

    /// A batcher whose limits are tightened by a sink's `constraints` and whose framing is the
    /// sink's.
    pub fn with_constraints(
        limits: BatchLimits,
        compression: Compression,
        constraints: &SinkConstraints,
    ) -> Self {
        Self {
            limits: constraints.clamp(limits),
            compression,
            framing: constraints.framing,
            max_time_span_ms: constraints
                .max_time_span
                .map(|span| span.as_millis() as i128),
            open: None,
            dropped_events: 0,
            dropped_batches: 0,
        }
    }

    /// The effective limits (after clamping).
    pub fn limits(&self) -> BatchLimits {
        self.limits
    }

    /// Adds an event, timing the batch's age from now; see [`Batcher::push_at`].
    pub fn push(&mut self, event: EncodedEvent) -> Option<Batch> {
        self.push_at(event, Instant::now())
    }

    /// Adds an event at time `now`. Returns a batch when one is complete: the open batch when
    /// `event` does not fit in it (the event then opens the next batch), otherwise the open batch
    /// when `event` filled it. If the event that opened a new batch fills it on its own (oversized
    /// event, `max_events == 1`), that batch is returned by the next [`Batcher::take_if_full`].
    pub fn push_at(&mut self, event: EncodedEvent, now: Instant) -> Option<Batch> {
        let cost = self.framing.event_cost(event.json.len());
        let closed = match &self.open {
            Some(open) if !self.fits(open, cost, event.time_ms) => self.take(),
            _ => None,
        };
        let open = match &mut self.open {
            Some(open) => open,
            None => self.open.insert(OpenBatch::new(
                now,
                event.time_ms,
                self.compression,
                self.framing,
            )),
        };
        open.add(event, cost);
        if closed.is_some() {
            return closed;
        }
        self.take_if_full()
    }

    /// Takes the open batch if no further event could fit in it.
    pub fn take_if_full(&mut self) -> Option<Batch> {
        let full = self.open.as_ref().is_some_and(|open| {
            open.events >= self.limits.max_events || open.raw_bytes >= self.limits.max_bytes
        });
        if full {
            self.take()
        } else {
            None
        }
    }

    /// Takes the open batch if it has been open for `max_age` or more at `now`.
    pub fn take_if_older(&mut self, now: Instant) -> Option<Batch> {
        match self.deadline() {
            Some(deadline) if now >= deadline => self.take(),
            _ => None,
        }
    }

    /// Takes the open batch, if any, whatever its size and age.
    pub fn take(&mut self) -> Option<Batch> {
        let open = self.open.take()?;
        let events = open.events;
        match open.finish() {
            Some(batch) => Some(batch),
            None => {
                self.dropped_events += events as u64;
                self.dropped_batches += 1;
                None
            }
        }
    }

    /// When the open batch reaches `max_age` (`None` when empty, or when the age is unbounded).
    pub fn deadline(&self) -> Option<Instant> {
        let open = self.open.as_ref()?;
        open.opened_at.checked_add(self.limits.max_age)
    }

    /// True when no batch is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_none()
    }

    /// Events in the open batch.
    pub fn buffered_events(&self) -> usize {
        self.open.as_ref().map_or(0, |open| open.events)
    }

    /// Encoded (uncompressed) bytes in the open batch.
    pub fn buffered_bytes(&self) -> usize {
        self.open.as_ref().map_or(0, |open| open.raw_bytes)
    }

    /// Events discarded because the gzip encoder failed (an in-memory encoder does not fail in
    /// practice; they were logged and never acknowledged).
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// Batches discarded because the gzip encoder failed.
    pub fn dropped_batches(&self) -> u64 {
        self.dropped_batches
    }

    fn fits(&self, open: &OpenBatch, cost: usize, time_ms: i64) -> bool {
        if open.events >= self.limits.max_events
            || open.raw_bytes.saturating_add(cost) > self.limits.max_bytes
        {
            return false;
        }
        match self.max_time_span_ms {
            None => true,
            Some(span) => {
                let min = open.min_time_ms.min(time_ms) as i128;
                let max = open.max_time_ms.max(time_ms) as i128;
                max - min <= span
            }
        }
    }
}

impl OpenBatch {
    fn new(now: Instant, time_ms: i64, compression: Compression, framing: Framing) -> Self {
        let body = match (framing, compression) {
            (Framing::Records { .. }, _) => Body::Records(Vec::new()),
            (Framing::Ndjson, Compression::None) => Body::Plain(Vec::new()),
            (Framing::Ndjson, Compression::Gzip { level }) => Body::Gzip(GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(level.min(9)),
            )),
        };
        Self {
            opened_at: now,
            seqs: SeqSet::new(),
            events: 0,
            first_time_ms: time_ms,
            last_time_ms: time_ms,
            min_time_ms: time_ms,
            max_time_ms: time_ms,
            raw_bytes: 0,
            compression,
            body,
        }
    }

    fn add(&mut self, event: EncodedEvent, cost: usize) {
        self.seqs.push(event.seq);
        self.events += 1;
        self.last_time_ms = event.time_ms;
        self.min_time_ms = self.min_time_ms.min(event.time_ms);
        self.max_time_ms = self.max_time_ms.max(event.time_ms);
        self.raw_bytes = self.raw_bytes.saturating_add(cost);
        match &mut self.body {
            Body::Plain(buf) => {
                buf.extend_from_slice(&event.json);
                buf.push(b'\n');
            }
            Body::Gzip(encoder) => {
                let written = encoder
                    .write_all(&event.json)
                    .and_then(|()| encoder.write_all(b"\n"));
                if let Err(err) = written {
                    tracing::error!(error = %err, seq = event.seq,
                        "gzip encoder failed; the open batch will be discarded unacknowledged");
                    self.body = Body::Failed;
                }
            }
            Body::Records(records) => records.push(event),
            Body::Failed => {}
        }
    }

    /// The finished batch, or `None` when the encoder failed (logged).
    fn finish(self) -> Option<Batch> {
        let (body, compression, records) = match self.body {
            Body::Plain(buf) => (Bytes::from(buf), Compression::None, Vec::new()),
            Body::Gzip(encoder) => match encoder.finish() {
                Ok(buf) => (Bytes::from(buf), self.compression, Vec::new()),
                Err(err) => {
                    tracing::error!(error = %err, events = self.events,
                        "gzip encoder failed to finish; batch discarded unacknowledged");
                    return None;
                }
            },
            Body::Records(records) => (Bytes::new(), Compression::None, records),
            Body::Failed => return None,
        };
        Some(Batch {
            seqs: self.seqs,
            events: self.events,
            first_time_ms: self.first_time_ms,
            last_time_ms: self.last_time_ms,
            min_time_ms: self.min_time_ms,
            max_time_ms: self.max_time_ms,
            raw_bytes: self.raw_bytes,
            body,
            compression,
            records,
        })
    }
}
