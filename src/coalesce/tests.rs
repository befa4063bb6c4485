//! Unit tests of the coalescer, one edge case each, with a fake clock (`now` passed explicitly).

use std::time::{Duration, Instant};

use auditrail_parsers::audit::{AuditTime, Header, RecordType};

use super::*;

mod corpus;
mod sequence;

/// A fixed time per serial, so that records of one serial share their stamp.
pub(super) fn stamp(serial: u64) -> AuditTime {
    AuditTime {
        secs: 1_700_000_000 + serial / 1000,
        millis: (serial % 1000) as u16,
    }
}

pub(super) fn rtype(name: &'static str) -> RecordType<'static> {
    match name
        .strip_prefix("UNKNOWN[")
        .and_then(|n| n.strip_suffix(']'))
    {
        Some(n) => RecordType::Unknown(n.parse().unwrap()),
        None => RecordType::Named(name),
    }
}

pub(super) fn header(
    node: Option<&'static [u8]>,
    name: &'static str,
    serial: u64,
    time: AuditTime,
) -> Header<'static> {
    Header {
        node,
        rtype: rtype(name),
        time,
        serial,
        body_start: 0,
    }
}

/// A coalescer with a fake clock; items are the record numbers 0, 1, 2 …
struct Harness {
    c: Coalescer<usize>,
    t0: Instant,
    now: Instant,
    out: Vec<Output<usize>>,
    next: usize,
}

impl Harness {
    fn new(cfg: CoalesceConfig) -> Self {
        let t0 = Instant::now();
        Harness {
            c: Coalescer::new(cfg),
            t0,
            now: t0,
            out: Vec::new(),
            next: 0,
        }
    }

    fn at_ms(&mut self, ms: u64) -> &mut Self {
        self.now = self.t0 + Duration::from_millis(ms);
        self
    }

    fn push_on(&mut self, node: Option<&'static [u8]>, name: &'static str, serial: u64) -> usize {
        self.push_header(&header(node, name, serial, stamp(serial)))
    }

    fn push(&mut self, name: &'static str, serial: u64) -> usize {
        self.push_on(None, name, serial)
    }

    fn push_header(&mut self, h: &Header<'_>) -> usize {
        let item = self.next;
        self.next += 1;
        self.c.push(h, item, self.now, &mut self.out);
        item
    }

    fn maintain(&mut self) {
        self.c.maintain(self.now, &mut self.out);
    }

    fn flush_all(&mut self) {
        self.c.flush_all(&mut self.out);
    }

    /// Events handed out since the last call.
    fn take_events(&mut self) -> Vec<CoalescedEvent<usize>> {
        self.take()
            .into_iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e),
                Output::Lost { .. } => None,
            })
            .collect()
    }

    fn take(&mut self) -> Vec<Output<usize>> {
        std::mem::take(&mut self.out)
    }

    fn lost_total(outputs: &[Output<usize>]) -> u64 {
        outputs
            .iter()
            .map(|o| match o {
                Output::Lost { count, .. } => *count,
                Output::Event(_) => 0,
            })
            .sum()
    }
}

fn cfg() -> CoalesceConfig {
    CoalesceConfig::default()
}

fn serials(events: &[CoalescedEvent<usize>]) -> Vec<u64> {
    events.iter().map(|e| e.serial).collect()
}

#[test]
fn single_record_types_flush_at_once() {
    let mut h = Harness::new(cfg());
    h.push("SYSCALL", 9);
    let login = h.push("USER_LOGIN", 10);
    let numeric = h.push("UNKNOWN[1105]", 11);
    let events = h.take_events();
    assert_eq!(serials(&events), vec![10, 11]);
    for (e, item) in events.iter().zip([login, numeric]) {
        assert_eq!(e.items, vec![item]);
        assert_eq!(e.reason, FlushReason::SingleRecord);
        assert!(e.complete && !e.continuation);
    }
    assert_eq!(h.c.in_flight(), 1, "the SYSCALL event stays open");
    // CONFIG_CHANGE comes before its SYSCALL (auditctl): it must not flush alone.
    let change = h.push("CONFIG_CHANGE", 12);
    let syscall = h.push("SYSCALL", 12);
    h.flush_all();
    let events = h.take_events();
    assert_eq!(
        events.last().map(|e| e.items.clone()),
        Some(vec![change, syscall])
    );
}

#[test]
fn next_serial_then_grace_completes_an_event() {
    let mut h = Harness::new(cfg());
    let a = h.push("SYSCALL", 1);
    h.at_ms(150);
    let b = h.push("PATH", 1);
    h.push("SYSCALL", 2);
    h.at_ms(349).maintain();
    assert!(
        h.take().is_empty(),
        "grace counts from the later serial (150 ms)"
    );
    h.at_ms(350).maintain();
    let events = h.take_events();
    assert_eq!(serials(&events), vec![1]);
    assert_eq!(events[0].items, vec![a, b]);
    assert_eq!(events[0].reason, FlushReason::NextSerial);
    assert!(events[0].complete);
    assert_eq!(h.c.in_flight(), 1, "serial 2 has no later serial yet");
}

#[test]
fn lookahead_flushes_without_the_clock() {
    let mut h = Harness::new(CoalesceConfig {
        lookahead: 4,
        ..cfg()
    });
    for serial in 1..=10 {
        h.push("SYSCALL", serial);
        h.push("PATH", serial);
    }
    // Event k has its later serial when k+1 starts, and is complete when 4 more have started.
    let events = h.take_events();
    assert_eq!(serials(&events), vec![1, 2, 3, 4, 5]);
    assert!(events
        .iter()
        .all(|e| e.reason == FlushReason::NextSerial && e.complete && e.items.len() == 2));
    assert_eq!(h.c.in_flight(), 5);
}

#[test]
fn eoe_completes_its_event_and_never_starts_one() {
    let mut h = Harness::new(cfg());
    let ids = [h.push("SYSCALL", 7), h.push("PATH", 7), h.push("EOE", 7)];
    let events = h.take_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].items, ids.to_vec());
    assert_eq!(events[0].reason, FlushReason::Eoe);
    assert!(events[0].complete && !events[0].continuation);
    let stray = h.push("EOE", 7);
    let events = h.take_events();
    assert_eq!(events[0].items, vec![stray]);
    assert!(events[0].continuation);
    assert_eq!(h.c.stats().eoe_records, 2);
}

#[test]
fn timeout_flushes_an_incomplete_event() {
    let mut h = Harness::new(cfg());
    h.push("SYSCALL", 3);
    h.at_ms(2_999).maintain();
    assert!(h.take().is_empty());
    h.at_ms(3_000).maintain();
    let events = h.take_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].reason, FlushReason::Timeout);
    assert!(!events[0].complete);
    assert_eq!(h.c.stats().incomplete, 1);
    assert_eq!(h.c.stats().flushed.timeout, 1);
}

#[test]
fn late_record_joins_its_event_while_open() {
    let mut h = Harness::new(cfg());
    let a = h.push("SYSCALL", 1);
    h.push("SYSCALL", 2);
    let late = h.push("PATH", 1);
    h.flush_all();
    let events = h.take_events();
    assert_eq!(serials(&events), vec![1, 2]);
    assert_eq!(events[0].items, vec![a, late]);
    assert!(events.iter().all(|e| !e.continuation));
}

#[test]
fn late_record_after_flush_becomes_a_continuation() {
    let mut h = Harness::new(cfg());
    let first = h.push("SYSCALL", 1);
    h.push("SYSCALL", 2);
    h.at_ms(200).maintain();
    let events = h.take_events();
    assert_eq!(events[0].items, vec![first]);
    let late = [h.push("PATH", 1), h.push("PROCTITLE", 1)];
    assert!(h.take().is_empty(), "the continuation waits like any event");
    h.at_ms(400).maintain();
    let events = h.take_events();
    assert_eq!(events.len(), 1);
    let cont = &events[0];
    assert!(cont.continuation && cont.complete);
    assert_eq!((cont.serial, cont.time), (1, stamp(1)));
    assert_eq!(cont.items, late.to_vec());
    assert_eq!(h.c.stats().continuations, 1);
    h.flush_all();
    assert_eq!(Harness::lost_total(&h.take()), 0);
}

#[test]
fn overflow_flushes_the_oldest_event() {
    let mut h = Harness::new(CoalesceConfig {
        max_in_flight: 3,
        ..cfg()
    });
    for serial in 1..=5 {
        h.push("SYSCALL", serial);
    }
    let events = h.take_events();
    assert_eq!(serials(&events), vec![1, 2]);
    assert!(events
        .iter()
        .all(|e| e.reason == FlushReason::Overflow && e.complete));
    assert_eq!(h.c.in_flight(), 3);
    assert_eq!(h.c.stats().flushed.overflow, 2);

    let mut h = Harness::new(CoalesceConfig {
        max_in_flight: 1,
        ..cfg()
    });
    h.push_on(Some(b"a"), "SYSCALL", 1);
    h.push_on(Some(b"b"), "SYSCALL", 1);
    let events = h.take_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].node.as_deref(), Some(&b"a"[..]));
    assert!(!events[0].complete, "no later serial of node a was seen");
}

#[test]
fn serial_gap_is_reported_lost_once() {
    let mut h = Harness::new(cfg());
    h.push("SYSCALL", 10);
    h.push("SYSCALL", 12);
    h.push("SYSCALL", 13);
    h.at_ms(200).maintain();
    let out = h.take();
    assert_eq!(Harness::lost_total(&out), 1, "serial 11 never came");
    assert!(matches!(
        out.last(),
        Some(Output::Lost {
            node: None,
            count: 1
        })
    ));
    h.flush_all();
    assert_eq!(Harness::lost_total(&h.take()), 0);
    assert_eq!(h.c.stats().lost, 1);
    // It arrives after all: a new event of its own (it was never handed out).
    let late = h.push("SYSCALL", 11);
    h.flush_all();
    let events = h.take_events();
    assert_eq!(
        (events[0].items.clone(), events[0].continuation),
        (vec![late], false)
    );
    assert_eq!(h.c.stats().late_after_lost, 1);
}

#[test]
fn gap_between_single_records_is_settled_when_the_node_is_quiet() {
    let mut h = Harness::new(cfg());
    h.push("USER_START", 100);
    h.push("USER_END", 104);
    h.at_ms(100).maintain();
    assert_eq!(
        Harness::lost_total(&h.take()),
        0,
        "the node is not quiet yet"
    );
    h.at_ms(200).maintain();
    assert_eq!(Harness::lost_total(&h.take()), 3);
}

#[test]
fn two_nodes_interleaved_are_independent() {
    let mut h = Harness::new(cfg());
    let (a, b): (Option<&'static [u8]>, Option<&'static [u8]>) = (Some(b"a"), Some(b"b"));
    let a1 = [h.push_on(a, "SYSCALL", 5), 0];
    let b1 = h.push_on(b, "SYSCALL", 5);
    let a1 = [a1[0], h.push_on(a, "PATH", 5)];
    let b2 = h.push_on(b, "SYSCALL", 9);
    let b1_path = h.push_on(b, "PATH", 5);
    h.at_ms(200).maintain();
    let out = h.take();
    let events: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e),
            Output::Lost { .. } => None,
        })
        .collect();
    assert_eq!(events.len(), 1, "only node b has a later serial");
    assert_eq!(events[0].node.as_deref(), Some(&b"b"[..]));
    assert_eq!(events[0].items, vec![b1, b1_path]);
    assert_eq!(
        Harness::lost_total(&out),
        0,
        "6..8 are counted when 9 is flushed"
    );
    h.flush_all();
    let out = h.take();
    assert!(out.contains(&Output::Lost {
        node: Some(b"b".to_vec()),
        count: 3
    }));
    let events: Vec<_> = out
        .into_iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e),
            Output::Lost { .. } => None,
        })
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].items, a1.to_vec());
    assert_eq!(events[1].items, vec![b2]);
}

#[test]
fn events_completed_together_come_out_oldest_serial_first() {
    let mut h = Harness::new(cfg());
    for serial in [5, 3, 4, 6] {
        h.push("SYSCALL", serial);
    }
    h.at_ms(200).maintain();
    assert_eq!(serials(&h.take_events()), vec![3, 4, 5]);
}
