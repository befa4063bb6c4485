//! Audit record coalescer: groups records into events by (node, serial), as go-libaudit's
//! reassembler does, for records read from `audit.log` (no `EOE`) or from a plugin stream (`EOE`).
//!
//! In: records in file order, each a parsed [`Header`] plus an opaque item `T` (the raw line and
//! its position, say), possibly interleaved across events and slightly out of order; the current
//! [`Instant`] with every call. Out: [`Output::Event`]s with the items in arrival order, and
//! [`Output::Lost`] notices for serials that never arrived. Guarantees: every pushed item comes back
//! exactly once, in an event or a continuation; memory stays bounded (open events, remembered
//! serials, nodes); a record costs O(1) amortized, no scan of open events (only a new node
//! arriving when 1024 are tracked scans the node table, and `maintain` visits every node); no
//! panics.
//!
//! # Flush rules (per node; different nodes are independent)
//! - **SingleRecord**: a record whose type stands alone ([`record_kind`]: user-space 1005,
//!   1100–1199, 2000, 2100–2999; auditd's own `DAEMON_*`) that starts an event is emitted at once,
//!   complete. `DAEMON_*` records and records without a stamp (`msg=?`) carry no kernel serial:
//!   they are emitted at once and take no part in serial tracking.
//! - **Eoe**: an `EOE` record completes its open event (the `EOE` item is its last item). An
//!   `EOE` without an open event never starts one: it is emitted alone as a continuation.
//! - **NextSerial**: once a later serial of the node has been seen, the event is complete when
//!   `grace` has passed since then, or when more than `lookahead` further events of the node
//!   have started since then (so replaying a file never waits for the clock).
//! - **Timeout**: an event open for `timeout` is flushed incomplete (`complete = false`).
//! - **Overflow**: beyond `max_in_flight` open events the oldest (all nodes) is flushed;
//!   complete if a later serial had been seen.
//! - **Shutdown**: [`Coalescer::flush_all`] flushes the rest; complete if a later serial had
//!   been seen.
//!
//! Several events completed by one call come out oldest serial first (per node).
//!
//! # Late records
//! A record whose event is still open joins it. If its event was flushed (the node remembers the
//! last `remember_flushed` serials with their time stamps), it starts a *continuation*: an event
//! with the same node, serial and time, `continuation = true`, flushed by the same rules. A
//! record further behind than that memory is emitted alone as a continuation (reason Overflow,
//! incomplete), since nobody can tell whether its event was emitted: never a second new event.
//!
//! # Loss, rollover, reset
//! Serials are 32-bit and roll over (`4294967295` → `0` is one step). A serial that never
//! arrived is counted lost when an event above it is flushed by NextSerial, Timeout or Overflow,
//! when a quiet node has had no open event for `grace`, or at shutdown; gaps below the first
//! serial of a node are not counted. A sequence restart (kernel reboot, another host's log) is
//! not a loss ([`serials`] has the rule): a jump forward of more than 2^20 serials, the same
//! serial seen again with another time stamp (one boot never reuses a serial; if that event is
//! still open it is handed out first, reason NextSerial), or a record behind the remembered
//! serials stamped more than 5 s after the newest one.

mod nodes;
mod open;
mod output;
pub mod record_kind;
mod serials;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use auditrail_parsers::audit::{AuditTime, Header};

use nodes::{Lookup, NodeTable};
use open::{Index, NewerSeen, OpenEvent, OpenEvents};
pub use output::{CoalesceConfig, CoalesceStats, CoalescedEvent, FlushCounts, FlushReason, Output};
use record_kind::{kind_of, RecordKind};
use serials::Placement;

/// An event flushed during the current call, with its sort key (node, epoch, position).
struct Ready<T> {
    order: (u32, u32, u64),
    event: CoalescedEvent<T>,
}

/// Groups audit records into events (see the module documentation for the rules).
pub struct Coalescer<T> {
    grace: Duration,
    timeout: Duration,
    lookahead: u64,
    max_in_flight: usize,
    nodes: NodeTable,
    open: OpenEvents<T>,
    ready: Vec<Ready<T>>,
    lost_nodes: Vec<u32>,
    evicted_lost: Vec<(Option<Vec<u8>>, u64)>,
    stats: CoalesceStats,
}

impl<T> Coalescer<T> {
    pub fn new(cfg: CoalesceConfig) -> Self {
        Coalescer {
            grace: cfg.grace,
            timeout: cfg.timeout,
            lookahead: u64::try_from(cfg.lookahead).unwrap_or(u64::MAX),
            max_in_flight: cfg.max_in_flight.max(1),
            nodes: NodeTable::new(cfg.remember_flushed),
            open: OpenEvents::new(),
            ready: Vec::new(),
            lost_nodes: Vec::new(),
            evicted_lost: Vec::new(),
            stats: CoalesceStats::default(),
        }
    }

    /// Adds one record; whatever it completes is appended to `out`.
    pub fn push(&mut self, header: &Header<'_>, item: T, now: Instant, out: &mut Vec<Output<T>>) {
        self.stats.records += 1;
        let node = self.resolve_node(header.node);
        let kind = kind_of(&header.rtype);
        if kind == RecordKind::EndOfEvent {
            self.stats.eoe_records += 1;
        }
        let Some(n) = self.nodes.get_mut(node) else {
            return; // unreachable: resolve_node returns a live node
        };
        n.last_activity = Some(now);
        let unstamped = header.serial == 0 && header.time == AuditTime::default();
        if kind == RecordKind::Daemon || unstamped {
            n.events += 1;
            let order = (node, n.serials.epoch(), u64::MAX);
            self.emit_alone(node, header, item, order, FlushReason::SingleRecord, false);
        } else {
            self.push_tracked(node, header, item, kind, now);
            self.drain_node(node, now);
        }
        self.publish(out);
    }

    /// Flushes what the clock completes (grace, timeout) and reports gaps of quiet nodes.
    pub fn maintain(&mut self, now: Instant, out: &mut Vec<Output<T>>) {
        for node in 0..self.nodes.slot_count() {
            let Some(n) = self.nodes.get(node) else {
                continue;
            };
            let quiet = n
                .last_activity
                .is_none_or(|t| now.saturating_duration_since(t) >= self.grace);
            if self.open.len_of_node(node) > 0 {
                self.drain_node(node, now);
            }
            if quiet && self.open.len_of_node(node) == 0 {
                let lost = self
                    .nodes
                    .get_mut(node)
                    .map_or(0, |n| n.serials.settle_all());
                self.add_lost(node, lost);
            }
        }
        self.publish(out);
    }

    /// Flushes every open event (reason Shutdown) and reports every gap.
    pub fn flush_all(&mut self, out: &mut Vec<Output<T>>) {
        for node in 0..self.nodes.slot_count() {
            while let Some(i) = self.open.oldest_of_node(node) {
                self.flush(i, FlushReason::Shutdown);
            }
            let lost = self
                .nodes
                .get_mut(node)
                .map_or(0, |n| n.serials.settle_all());
            self.add_lost(node, lost);
        }
        self.publish(out);
    }

    /// Events still open.
    pub fn in_flight(&self) -> usize {
        self.open.len()
    }

    pub fn stats(&self) -> &CoalesceStats {
        &self.stats
    }

    fn push_tracked(
        &mut self,
        node: u32,
        header: &Header<'_>,
        item: T,
        kind: RecordKind,
        now: Instant,
    ) {
        let (serial, time) = (header.serial, header.time);
        if let Some(i) = self.open.find(node, serial) {
            let epoch = self.nodes.get(node).map(|n| n.serials.epoch());
            if let Some(ev) = self.open.get_mut(i) {
                if ev.time == time {
                    ev.items.push(item);
                    if kind == RecordKind::EndOfEvent {
                        self.flush(i, FlushReason::Eoe);
                    }
                    return;
                }
                // Same serial, another stamp: another event; the sequence restarted.
                let same_epoch = Some(ev.epoch) == epoch;
                self.flush(i, FlushReason::NextSerial);
                if same_epoch {
                    self.reset_node(node, now);
                }
            }
        }
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        let mut placement = n.serials.place(serial, time);
        if placement == Placement::Reset {
            self.reset_node(node, now);
            placement = self
                .nodes
                .get(node)
                .map_or(Placement::Stale, |n| n.serials.place(serial, time));
        }
        let (pos, continuation, newest) = match placement {
            Placement::Newest { pos } => (pos, false, true),
            Placement::Seen { pos } => (pos, true, false),
            Placement::Late { pos, after_settled } => {
                self.stats.late_after_lost += u64::from(after_settled);
                (pos, false, false)
            }
            Placement::Stale | Placement::Reset => {
                self.stats.stale += 1;
                let order = (node, 0, 0);
                self.emit_alone(node, header, item, order, FlushReason::Overflow, true);
                return;
            }
        };
        if newest {
            self.mark_newest_superseded(node, now);
        }
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        let lost = n.serials.mark_seen(serial, pos, time);
        let epoch = n.serials.epoch();
        n.events += 1;
        let events = n.events;
        self.add_lost(node, lost);
        let order = (node, epoch, pos);
        match kind {
            RecordKind::EndOfEvent => {
                self.emit_alone(node, header, item, order, FlushReason::Eoe, true);
            }
            RecordKind::Standalone => {
                self.emit_alone(
                    node,
                    header,
                    item,
                    order,
                    FlushReason::SingleRecord,
                    continuation,
                );
            }
            RecordKind::Part | RecordKind::Daemon => {
                let mut items = Vec::with_capacity(4);
                items.push(item);
                self.open.insert(OpenEvent {
                    node,
                    serial,
                    pos,
                    epoch,
                    time,
                    items,
                    created_at: now,
                    newer_seen: (!newest).then_some(NewerSeen {
                        at: now,
                        events_before: events,
                    }),
                    continuation,
                });
                while self.open.len() > self.max_in_flight {
                    match self.open.oldest() {
                        Some(i) => self.flush(i, FlushReason::Overflow),
                        None => break,
                    }
                }
            }
        }
    }

    /// A later serial (or a restart) arrived: the node's newest open event now has a successor.
    fn mark_newest_superseded(&mut self, node: u32, now: Instant) {
        let Some(n) = self.nodes.get(node) else {
            return;
        };
        let (epoch, events) = (n.serials.epoch(), n.events);
        let Some(prev) = n.serials.newest_serial() else {
            return;
        };
        if let Some(i) = self.open.find(node, prev) {
            if let Some(ev) = self.open.get_mut(i) {
                if ev.epoch == epoch && ev.newer_seen.is_none() {
                    ev.newer_seen = Some(NewerSeen {
                        at: now,
                        events_before: events,
                    });
                }
            }
        }
    }

    fn reset_node(&mut self, node: u32, now: Instant) {
        self.mark_newest_superseded(node, now);
        let lost = self.nodes.get_mut(node).map_or(0, |n| n.serials.reset());
        self.add_lost(node, lost);
        self.stats.resets += 1;
    }

    /// Flushes the node's events that are complete, oldest first. Stops at the first one that
    /// is not, except that the node's newest event (the only one without a later serial) is
    /// stepped over once.
    fn drain_node(&mut self, node: u32, now: Instant) {
        let events = self.nodes.get(node).map_or(0, |n| n.events);
        let mut stepped_over = false;
        let mut cur = self.open.oldest_of_node(node);
        while let Some(i) = cur {
            cur = self.open.next_of_node(i);
            let Some(ev) = self.open.get(i) else { break };
            let reason = match ev.newer_seen {
                Some(seen)
                    if now.saturating_duration_since(seen.at) >= self.grace
                        || events.saturating_sub(seen.events_before) > self.lookahead =>
                {
                    Some(FlushReason::NextSerial)
                }
                _ if now.saturating_duration_since(ev.created_at) >= self.timeout => {
                    Some(FlushReason::Timeout)
                }
                _ => None,
            };
            match reason {
                Some(reason) => self.flush(i, reason),
                None if ev.newer_seen.is_none() && !stepped_over => stepped_over = true,
                None => break,
            }
        }
    }

    fn flush(&mut self, i: Index, reason: FlushReason) {
        let Some(ev) = self.open.remove(i) else {
            return;
        };
        let complete = match reason {
            FlushReason::Eoe | FlushReason::SingleRecord | FlushReason::NextSerial => true,
            FlushReason::Timeout => false,
            FlushReason::Overflow | FlushReason::Shutdown => ev.newer_seen.is_some(),
        };
        let settles = matches!(
            reason,
            FlushReason::NextSerial | FlushReason::Timeout | FlushReason::Overflow
        );
        let lost = match self.nodes.get_mut(ev.node) {
            Some(n) if settles && n.serials.epoch() == ev.epoch => n.serials.settle_to(ev.pos + 1),
            _ => 0,
        };
        self.add_lost(ev.node, lost);
        let event = CoalescedEvent {
            node: self.node_name(ev.node),
            serial: ev.serial,
            time: ev.time,
            items: ev.items,
            reason,
            complete,
            continuation: ev.continuation,
        };
        self.hand_out((ev.node, ev.epoch, ev.pos), event);
    }

    /// Hands out a one-record event without opening it.
    fn emit_alone(
        &mut self,
        node: u32,
        header: &Header<'_>,
        item: T,
        order: (u32, u32, u64),
        reason: FlushReason,
        continuation: bool,
    ) {
        let event = CoalescedEvent {
            node: self.node_name(node),
            serial: header.serial,
            time: header.time,
            items: vec![item],
            reason,
            complete: reason != FlushReason::Overflow,
            continuation,
        };
        self.hand_out(order, event);
    }

    fn hand_out(&mut self, order: (u32, u32, u64), event: CoalescedEvent<T>) {
        let s = &mut self.stats;
        s.events += 1;
        s.continuations += u64::from(event.continuation);
        s.incomplete += u64::from(!event.complete);
        let f = &mut s.flushed;
        *match event.reason {
            FlushReason::Eoe => &mut f.eoe,
            FlushReason::SingleRecord => &mut f.single_record,
            FlushReason::NextSerial => &mut f.next_serial,
            FlushReason::Timeout => &mut f.timeout,
            FlushReason::Overflow => &mut f.overflow,
            FlushReason::Shutdown => &mut f.shutdown,
        } += 1;
        self.ready.push(Ready { order, event });
    }

    fn add_lost(&mut self, node: u32, count: u64) {
        if count == 0 {
            return;
        }
        if let Some(n) = self.nodes.get_mut(node) {
            if n.pending_lost == 0 {
                self.lost_nodes.push(node);
            }
            n.pending_lost = n.pending_lost.saturating_add(count);
        }
    }

    fn node_name(&self, node: u32) -> Option<Vec<u8>> {
        self.nodes.get(node)?.name.as_deref().map(<[u8]>::to_vec)
    }

    /// Moves this call's events (oldest serial first) and loss notices to `out`.
    fn publish(&mut self, out: &mut Vec<Output<T>>) {
        if self.ready.len() > 1 {
            self.ready.sort_by_key(|r| r.order);
        }
        out.extend(self.ready.drain(..).map(|r| Output::Event(r.event)));
        for (node, count) in self.evicted_lost.drain(..) {
            self.stats.lost += count;
            out.push(Output::Lost { node, count });
        }
        for node in std::mem::take(&mut self.lost_nodes) {
            let Some(n) = self.nodes.get_mut(node) else {
                continue;
            };
            let count = std::mem::take(&mut n.pending_lost);
            if count > 0 {
                self.stats.lost += count;
                let node = self.node_name(node);
                out.push(Output::Lost { node, count });
            }
        }
    }

    /// The node's id; a full table first evicts its least recently used node.
    fn resolve_node(&mut self, name: Option<&[u8]>) -> u32 {
        match self.nodes.lookup(name) {
            Lookup::Found(i) => i,
            Lookup::Absent => self.nodes.insert(name),
            Lookup::Full => {
                let open = &self.open;
                let victim = self.nodes.eviction_victim(|i| open.len_of_node(i) == 0);
                if let Some(victim) = victim {
                    while let Some(i) = self.open.oldest_of_node(victim) {
                        self.flush(i, FlushReason::Overflow);
                    }
                    if let Some(mut n) = self.nodes.remove(victim) {
                        let count = n.pending_lost + n.serials.settle_all();
                        if count > 0 {
                            self.evicted_lost.push((n.name.map(Vec::from), count));
                        }
                    }
                    self.stats.nodes_evicted += 1;
                }
                self.nodes.insert(name)
            }
        }
    }
}
