//! What the daemon hands to a sink driver ([`EncodedEvent`]) and what the driver hands back
//! ([`SinkAck`]).
//!
//! Enters: events already serialised by the daemon. Leaves: acknowledgements naming the seqs a
//! sink has durably accepted. Guarantees: an ack is sent only after the sink reported success for
//! every seq it names, and each seq is acked at most once per sink.

use bytes::Bytes;

use crate::SeqSet;

/// One event, already serialised as one JSON object (no trailing newline).
///
/// `json` must not contain a raw `'\n'` (compact `serde_json` output never does): the NDJSON
/// framing relies on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedEvent {
    /// Daemon-wide, increasing sequence number.
    pub seq: u64,
    /// Event time, milliseconds since the Unix epoch (UTC).
    pub time_ms: i64,
    /// The serialised JSON object.
    pub json: Bytes,
}

/// "Sink `sink` has durably accepted these events."
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkAck {
    /// The `index` given to [`run_sink`](crate::run_sink).
    pub sink: usize,
    /// The accepted seqs (those of one batch).
    pub seqs: SeqSet,
}
