//! What the coalescer hands out and how it is set up: [`CoalesceConfig`], [`Output`],
//! [`CoalescedEvent`], [`FlushReason`] and the counters of [`CoalesceStats`].

use std::time::Duration;

use auditrail_parsers::audit::AuditTime;

/// Limits and waits of a [`Coalescer`](super::Coalescer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoalesceConfig {
    /// Open events kept at most (all nodes); at least 1.
    pub max_in_flight: usize,
    /// How long an event stays open after a later serial of its node was seen.
    pub grace: Duration,
    /// How long an event stays open at most.
    pub timeout: Duration,
    /// How many further events of the node may start after a later serial before the event
    /// is complete, whatever the clock says.
    pub lookahead: usize,
    /// Serials remembered per node after their event was flushed (rounded up to a power of
    /// two, at least 64): a late record within them becomes a continuation.
    pub remember_flushed: usize,
}

impl Default for CoalesceConfig {
    fn default() -> Self {
        CoalesceConfig {
            max_in_flight: 4096,
            grace: Duration::from_millis(200),
            timeout: Duration::from_secs(3),
            lookahead: 64,
            remember_flushed: 4096,
        }
    }
}

/// Why an event was handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlushReason {
    Eoe,
    SingleRecord,
    NextSerial,
    Timeout,
    Overflow,
    Shutdown,
}

/// One event: the items of its records in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoalescedEvent<T> {
    pub node: Option<Vec<u8>>,
    pub serial: u64,
    pub time: AuditTime,
    pub items: Vec<T>,
    pub reason: FlushReason,
    /// False when flushed by timeout, or by overflow/shutdown before a later serial was seen.
    pub complete: bool,
    /// Late records of an event already handed out (same node, serial and time).
    pub continuation: bool,
}

/// What the coalescer hands back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<T> {
    Event(CoalescedEvent<T>),
    /// `count` serials of `node` never arrived (kernel loss, or records removed from the file).
    Lost {
        node: Option<Vec<u8>>,
        count: u64,
    },
}

/// Events handed out, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushCounts {
    pub eoe: u64,
    pub single_record: u64,
    pub next_serial: u64,
    pub timeout: u64,
    pub overflow: u64,
    pub shutdown: u64,
}

/// Counters since creation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoalesceStats {
    pub records: u64,
    /// Events handed out, continuations included.
    pub events: u64,
    pub continuations: u64,
    pub incomplete: u64,
    pub flushed: FlushCounts,
    /// Serials reported lost.
    pub lost: u64,
    /// Sequence restarts (reboot, another log) seen.
    pub resets: u64,
    /// Events whose serial had already been reported lost.
    pub late_after_lost: u64,
    /// Records too far behind to place (emitted alone as continuations).
    pub stale: u64,
    pub eoe_records: u64,
    pub nodes_evicted: u64,
}
