//! The [`Sink`] trait each destination implements, and its error type [`SendError`].
//!
//! Enters: finished [`Batch`]es. Leaves: `Ok(())` once the destination has durably accepted the
//! whole batch, or a [`SendError`] saying whether trying again may help. Guarantees (asked of
//! implementations): `Ok` means durable; sending the same batch twice is allowed (delivery is
//! at-least-once), so a sink never needs to guess whether a failed attempt partly landed.

use std::future::Future;

use crate::{Batch, SinkConstraints, SinkMetrics};

/// Why a send failed.
///
/// The driver retries both kinds with backoff (losing nothing); they differ in how they are
/// logged and counted. `Fatal` means "retrying as is will not help until an operator acts"
/// (bad credentials, a missing stream, stdout closed): logged at error level and counted in
/// `SinkStats::fatal_errors`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Transient: network, throttling, disk full, 5xx.
    #[error("retriable: {0}")]
    Retriable(String),
    /// Needs an operator: configuration, permissions, a closed output.
    #[error("fatal: {0}")]
    Fatal(String),
}

impl SendError {
    /// A [`SendError::Retriable`] from any error.
    pub fn retriable(err: impl std::fmt::Display) -> Self {
        SendError::Retriable(err.to_string())
    }

    /// A [`SendError::Fatal`] from any error.
    pub fn fatal(err: impl std::fmt::Display) -> Self {
        SendError::Fatal(err.to_string())
    }

    /// True for [`SendError::Retriable`].
    pub fn is_retriable(&self) -> bool {
        matches!(self, SendError::Retriable(_))
    }
}

/// A destination. Implementations do one thing: turn a [`Batch`] into a request, send it, and
/// classify failures; batching, compression, retry and acknowledgement live in
/// [`run_sink`](crate::run_sink).
///
/// Implement the methods with `async fn`; the futures must be `Send` so the driver can be
/// spawned. A sink whose destination reports per-record failures remembers which parts of the
/// batch were accepted and returns `Retriable`; the driver backs off and calls `send` again with
/// the same batch, which sends only the rest (the Firehose and CloudWatch sinks do this). A sink
/// that keeps no such state has the whole batch sent again (duplicates are acceptable, losses
/// are not). The driver puts no timeout around
/// `send` or `healthcheck`: network sinks bound their own requests and report a timeout as
/// `Retriable`.
///
/// The driver sends up to `concurrency` batches at once, each through its own clone of the
/// sink (see [`run_sink_with`](crate::run_sink_with)), so a clone is a cheap handle (clients
/// behind `Arc`s) and state shared by all batches lives behind one; state a clone keeps while
/// retrying one batch (e.g. which records were already accepted) is per batch by construction.
pub trait Sink: Send {
    /// Name used in logs.
    fn name(&self) -> &str;

    /// The destination's hard limits and framing; the default imposes nothing and uses NDJSON.
    fn constraints(&self) -> SinkConstraints {
        SinkConstraints::default()
    }

    /// Delivers one batch durably; called again with the same batch after an error.
    fn send(&mut self, batch: &Batch) -> impl Future<Output = Result<(), SendError>> + Send;

    /// Checks that the destination is reachable and writable; called once at start (a failure
    /// is logged, not fatal: the driver starts anyway and retries sends).
    fn healthcheck(&mut self) -> impl Future<Output = Result<(), SendError>> + Send;

    /// Wire-level counters recorded since the last call (requests, records, rejections,
    /// latency), reset to zero. The driver calls it after every attempt and adds the result to
    /// [`SinkStats::metrics`](crate::SinkStats). Sinks that count nothing keep the default.
    fn take_metrics(&mut self) -> SinkMetrics {
        SinkMetrics::default()
    }
}
