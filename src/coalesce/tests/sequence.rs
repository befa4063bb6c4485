//! Serial sequences: rollover, restarts, records without a kernel serial, far-behind records,
//! and the bound on nodes.

use auditrail_parsers::audit::AuditTime;

use super::super::*;
use super::{cfg, header, stamp, Harness};

#[test]
fn rollover_is_not_a_loss() {
    let mut h = Harness::new(cfg());
    for serial in [4_294_967_294, 4_294_967_295, 0, 1] {
        h.push("SYSCALL", serial);
    }
    h.flush_all();
    let out = h.take();
    assert_eq!(Harness::lost_total(&out), 0);
    let events: Vec<u64> = out
        .iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.serial),
            Output::Lost { .. } => None,
        })
        .collect();
    assert_eq!(events, vec![4_294_967_294, 4_294_967_295, 0, 1]);
}

#[test]
fn restart_of_the_sequence_is_not_a_loss() {
    let later = |serial: u64| AuditTime {
        secs: 1_800_000_000,
        millis: (serial % 1000) as u16,
    };
    // Reboot, new serials below the old ones and within memory: seen with another stamp.
    let mut h = Harness::new(cfg());
    for serial in 100..=110 {
        h.push("SYSCALL", serial);
    }
    for serial in 105..=107 {
        h.push_header(&header(None, "SYSCALL", serial, later(serial)));
    }
    h.flush_all();
    let out = h.take();
    assert_eq!(Harness::lost_total(&out), 0);
    assert_eq!(out.len(), 14, "11 old events and 3 new ones, none merged");
    assert_eq!(h.c.stats().resets, 1);

    // Far below memory, and stamped much later.
    let mut h = Harness::new(cfg());
    h.push("SYSCALL", 500_000);
    h.push_header(&header(None, "SYSCALL", 3, later(3)));
    h.push_header(&header(None, "SYSCALL", 4, later(4)));
    // A huge jump forward.
    h.push_header(&header(None, "SYSCALL", 4 + (1 << 21), later(5)));
    h.flush_all();
    let out = h.take();
    assert_eq!(Harness::lost_total(&out), 0);
    assert_eq!(out.len(), 4);
    assert_eq!(h.c.stats().resets, 2);
}

#[test]
fn same_serial_with_another_stamp_is_another_event_even_while_open() {
    let mut h = Harness::new(cfg());
    let old = h.push("SYSCALL", 42);
    let new = h.push_header(&header(None, "SYSCALL", 42, stamp(99_999)));
    h.flush_all();
    let events = h.take_events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].items, vec![old]);
    assert_eq!(events[1].items, vec![new]);
    assert!(!events[1].continuation);
}

#[test]
fn record_far_behind_memory_is_a_lone_continuation() {
    let mut h = Harness::new(CoalesceConfig {
        remember_flushed: 64,
        ..cfg()
    });
    for serial in 1..=200 {
        h.push("SYSCALL", serial);
    }
    h.take();
    let stale = h.push("PATH", 5);
    let events = h.take_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].items, vec![stale]);
    assert!(events[0].continuation && !events[0].complete);
    assert_eq!(h.c.stats().stale, 1);
    assert_eq!(h.c.stats().resets, 0);
}

#[test]
fn daemon_records_have_serials_of_their_own() {
    let mut h = Harness::new(cfg());
    let start = h.push("DAEMON_START", 5664);
    h.push("SYSCALL", 4128);
    h.push("SYSCALL", 4129);
    h.push("DAEMON_END", 5665);
    h.flush_all();
    let out = h.take();
    assert_eq!(Harness::lost_total(&out), 0);
    assert_eq!(h.c.stats().resets, 0);
    assert!(matches!(&out[0], Output::Event(e) if e.items == vec![start]
        && e.reason == FlushReason::SingleRecord));
    assert_eq!(out.len(), 4);
}

#[test]
fn unstamped_records_stand_alone_and_are_not_tracked() {
    let mut h = Harness::new(cfg());
    h.push("SYSCALL", 77);
    let odd = h.push_header(&header(None, "UNKNOWN[1329]", 0, AuditTime::default()));
    let events = h.take_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].items, vec![odd]);
    h.push("SYSCALL", 78);
    h.flush_all();
    assert_eq!(Harness::lost_total(&h.take()), 0);
    assert_eq!(h.c.stats().resets, 0);
}

#[test]
fn node_table_stays_bounded_and_loses_no_item() {
    let mut h = Harness::new(cfg());
    let names: Vec<&'static [u8]> = (0..nodes::MAX_NODES + 10)
        .map(|i| &*Box::leak(format!("host-{i}").into_bytes().into_boxed_slice()))
        .collect();
    for name in &names {
        h.push_on(Some(name), "SYSCALL", 1);
    }
    for name in &names {
        h.push_on(Some(name), "PATH", 1);
    }
    h.flush_all();
    let mut seen: Vec<usize> = h.take_events().into_iter().flat_map(|e| e.items).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..h.next).collect::<Vec<_>>());
    assert!(h.c.stats().nodes_evicted > 0);
    assert!(h.c.nodes.len() <= nodes::MAX_NODES);
}
