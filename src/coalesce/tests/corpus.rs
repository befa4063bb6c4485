//! Replays real logs from `../shared/corpus` (skipped with a message when absent).

use std::path::{Path, PathBuf};
use std::time::Instant;

use auditrail_parsers::audit::parse_header;

use super::super::*;

fn corpus_file(relative: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(relative);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipping: {} is absent", path.display());
        None
    }
}

struct Replay {
    /// Events as (serial, number of records, continuation), in output order.
    events: Vec<(u64, usize, bool)>,
    reasons: Vec<FlushReason>,
    lost: u64,
    /// Items handed back, sorted: must be every record number once.
    items: Vec<usize>,
    records: usize,
}

/// Pushes every record of the file (blank and `#` lines skipped) at one instant, then
/// `flush_all`: an offline replay that never waits on the clock.
fn replay(relative: &str, cfg: CoalesceConfig) -> Option<Replay> {
    let data = std::fs::read(corpus_file(relative)?).unwrap();
    let mut c = Coalescer::new(cfg);
    let now = Instant::now();
    let mut out = Vec::new();
    let mut records = 0;
    for line in data.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) || line.starts_with(b"#") {
            continue;
        }
        let header = parse_header(line).unwrap();
        c.push(&header, records, now, &mut out);
        records += 1;
    }
    c.flush_all(&mut out);
    assert_eq!(c.in_flight(), 0);
    let mut replay = Replay {
        events: Vec::new(),
        reasons: Vec::new(),
        lost: 0,
        items: Vec::new(),
        records,
    };
    for o in out {
        match o {
            Output::Event(e) => {
                replay
                    .events
                    .push((e.serial, e.items.len(), e.continuation));
                replay.reasons.push(e.reason);
                replay.items.extend(e.items);
            }
            Output::Lost { count, .. } => replay.lost += count,
        }
    }
    replay.items.sort_unstable();
    assert_eq!(replay.items, (0..records).collect::<Vec<_>>(), "{relative}");
    Some(replay)
}

fn go_libaudit(file: &str, lookahead: usize) -> Option<Replay> {
    // go-libaudit's own test uses 5 events in flight.
    let cfg = CoalesceConfig {
        max_in_flight: 5,
        lookahead,
        ..CoalesceConfig::default()
    };
    replay(&format!("elastic_go-libaudit/testdata/{file}"), cfg)
}

fn whole(events: &[(u64, usize)]) -> Vec<(u64, usize, bool)> {
    events.iter().map(|&(s, n)| (s, n, false)).collect()
}

#[test]
fn go_libaudit_normal_and_out_of_order_logs() {
    let expected = whole(&[(58, 2), (59, 5), (60, 5), (61, 4), (62, 1)]);
    for lookahead in [1, 64] {
        for file in ["normal.log", "out_of_order.log"] {
            let Some(r) = go_libaudit(file, lookahead) else {
                return;
            };
            assert_eq!(r.events, expected, "{file}, lookahead {lookahead}");
            assert_eq!(r.lost, 0, "{file}");
        }
    }
}

#[test]
fn go_libaudit_lost_messages_log() {
    let Some(r) = go_libaudit("lost_messages.log", 64) else {
        return;
    };
    let expected = whole(&[(49, 2), (59, 5), (60, 5), (61, 4), (62, 1)]);
    assert_eq!(r.events, expected);
    assert_eq!(r.lost, 9, "serials 50..=58");
}

#[test]
fn go_libaudit_rollover_log() {
    let Some(r) = go_libaudit("rollover.log", 64) else {
        return;
    };
    let expected = whole(&[
        (4_294_967_294, 1),
        (4_294_967_295, 1),
        (0, 1),
        (1, 1),
        (2, 1),
    ]);
    assert_eq!(r.events, expected);
    assert_eq!(r.lost, 0);
}

#[test]
fn out_of_order_log_without_lookahead_yields_continuations_not_new_events() {
    // Lookahead 0: an event is complete as soon as a later serial appears, so the late PATH of
    // 60 and of 61 come after their events were handed out.
    let Some(r) = go_libaudit("out_of_order.log", 0) else {
        return;
    };
    let firsts: Vec<u64> = r.events.iter().filter(|e| !e.2).map(|e| e.0).collect();
    assert_eq!(
        firsts,
        vec![58, 59, 60, 61, 62],
        "one non-continuation event each"
    );
    let continuations: Vec<(u64, usize, bool)> = r.events.iter().copied().filter(|e| e.2).collect();
    assert_eq!(continuations, vec![(60, 1, true), (61, 1, true)]);
    assert_eq!(r.lost, 0);
}

#[test]
fn vm_capture_groups_every_event_once() {
    let Some(r) = replay("auditrail-vm-capture/audit.log", CoalesceConfig::default()) else {
        return;
    };
    // 110 kernel serials 4128..=4237 (one PROCTITLE arrives after the next event) and two
    // DAEMON_* records with auditd's own serials 5664 and 5665.
    assert_eq!(r.records, 566);
    assert_eq!(r.events.len(), 112);
    assert!(r.events.iter().all(|e| !e.2), "no continuation");
    assert_eq!(r.lost, 0);
    let single = r
        .reasons
        .iter()
        .filter(|&&x| x == FlushReason::SingleRecord)
        .count();
    assert_eq!(
        single, 6,
        "CRED_ACQ, USER_START, USER_END, CRED_DISP, DAEMON_START, DAEMON_END"
    );
    let config_change = r.events.iter().find(|e| e.0 == 4129).map(|e| e.1);
    assert_eq!(
        config_change,
        Some(3),
        "CONFIG_CHANGE + SYSCALL + PROCTITLE"
    );
    let late_proctitle = r.events.iter().find(|e| e.0 == 4205).map(|e| e.1);
    assert_eq!(late_proctitle, Some(6));
}

#[test]
fn laurel_reordered_stream_with_eoe() {
    let Some(r) = replay(
        "threathunters-io_laurel/shell-proc-trace-reordered.txt",
        CoalesceConfig::default(),
    ) else {
        return;
    };
    assert_eq!(r.events.len(), 9);
    assert!(r.reasons.iter().all(|&x| x == FlushReason::Eoe));
    assert!(r.events.iter().all(|e| !e.2));
    assert_eq!(r.lost, 0);
}

#[test]
fn laurel_reversed_records_and_a_missing_serial() {
    let Some(r) = replay(
        "threathunters-io_laurel/fork-sleep-exec.txt",
        CoalesceConfig::default(),
    ) else {
        return;
    };
    assert_eq!(
        r.events,
        whole(&[(6_104_005, 6), (6_104_007, 1), (6_104_008, 6)])
    );
    assert_eq!(r.lost, 1, "serial 6104006");
}
