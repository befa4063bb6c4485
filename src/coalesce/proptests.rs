//! Property tests: grouping survives bounded reordering exactly; any reordering, with the clock
//! running, still hands every record back exactly once and never opens a key twice.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use auditrail_parsers::audit::AuditTime;
use proptest::prelude::*;
use proptest::sample::select;

use super::tests::header;
use super::*;

/// Kernel records that share a serial with others.
const PARTS: &[&str] = &[
    "SYSCALL",
    "EXECVE",
    "CWD",
    "PATH",
    "PROCTITLE",
    "SOCKADDR",
    "AVC",
    "CONFIG_CHANGE",
    "BPRM_FCAPS",
    "LOGIN",
    "ANOM_ABEND",
    "NETFILTER_CFG",
    "UNKNOWN[1334]",
];

/// User-space records, one per event.
const SINGLES: &[&str] = &[
    "USER_LOGIN",
    "CRED_ACQ",
    "USER_START",
    "SERVICE_START",
    "ANOM_LOGIN_FAILURES",
    "UNKNOWN[1105]",
];

const NODES: [Option<&[u8]>; 3] = [None, Some(b"alpha"), Some(b"beta")];

/// One generated event: its node (index into `NODES`) and record types in order.
#[derive(Debug, Clone)]
struct GenEvent {
    node: usize,
    types: Vec<&'static str>,
}

fn gen_event(nodes: usize) -> impl Strategy<Value = GenEvent> {
    let types = prop_oneof![
        1 => select(SINGLES).prop_map(|t| vec![t]),
        3 => proptest::collection::vec(select(PARTS), 1..=8),
    ];
    (0..nodes, types).prop_map(|(node, types)| GenEvent { node, types })
}

/// A record ready to push: where it belongs and its item number.
#[derive(Debug, Clone)]
struct GenRecord {
    node: usize,
    serial: u64,
    time: AuditTime,
    rtype: &'static str,
    item: usize,
}

/// The items of each event, by (node index, serial).
type ExpectedItems = HashMap<(usize, u64), Vec<usize>>;

/// Serials per node from `start` (32-bit, rolling over), one time stamp per event. Returns the
/// records of each event in order, and the expected items per (node, serial).
fn build(events: &[GenEvent], start: u64, eoe: &[bool]) -> (Vec<Vec<GenRecord>>, ExpectedItems) {
    let mut next_serial = [start; 3];
    let mut item = 0;
    let mut records = Vec::new();
    let mut expected = HashMap::new();
    for (i, ev) in events.iter().enumerate() {
        let serial = next_serial[ev.node] % (1 << 32);
        next_serial[ev.node] = serial + 1;
        let time = AuditTime {
            secs: 1_700_000_000 + i as u64 / 1000,
            millis: (i % 1000) as u16,
        };
        let mut types = ev.types.clone();
        if types.len() > 1 && eoe.get(i).copied().unwrap_or(false) {
            types.push("EOE");
        }
        let recs: Vec<GenRecord> = types
            .into_iter()
            .map(|rtype| {
                item += 1;
                GenRecord {
                    node: ev.node,
                    serial,
                    time,
                    rtype,
                    item: item - 1,
                }
            })
            .collect();
        expected.insert((ev.node, serial), recs.iter().map(|r| r.item).collect());
        records.push(recs);
    }
    (records, expected)
}

fn push(c: &mut Coalescer<usize>, r: &GenRecord, now: Instant, out: &mut Vec<Output<usize>>) {
    let h = header(NODES[r.node], r.rtype, r.serial, r.time);
    c.push(&h, r.item, now, out);
}

fn node_index(name: &Option<Vec<u8>>) -> usize {
    NODES
        .iter()
        .position(|n| n.map(<[u8]>::to_vec) == *name)
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Each event's records stay in order and are displaced by at most lookahead/2 events:
    /// replayed without a clock, every event comes out whole, once, with nothing lost.
    #[test]
    fn bounded_reordering_reassembles_every_event(
        events in proptest::collection::vec(gen_event(3), 1..150),
        start in prop_oneof![Just(1u64), Just(u64::from(u32::MAX) - 40), 1u64..4_000_000_000],
        lookahead in select(&[2usize, 4, 8, 16, 64][..]),
        jitters in proptest::collection::vec(any::<u32>(), 1200),
        ties in proptest::collection::vec(any::<u32>(), 150),
    ) {
        let (records, expected) = build(&events, start, &[]);
        let reach = (lookahead / 2) as u64;
        let mut keyed = Vec::new();
        let mut j = 0;
        for (i, recs) in records.iter().enumerate() {
            let mut offsets: Vec<u64> = recs
                .iter()
                .map(|_| { j += 1; u64::from(jitters[(j - 1) % jitters.len()]) % (reach + 1) })
                .collect();
            offsets.sort_unstable();
            for (k, (r, off)) in recs.iter().zip(offsets).enumerate() {
                keyed.push(((i as u64 + off, ties[i % ties.len()], i, k), r.clone()));
            }
        }
        keyed.sort_by_key(|(key, _)| *key);

        let cfg = CoalesceConfig { lookahead, ..CoalesceConfig::default() };
        let mut c = Coalescer::new(cfg);
        let now = Instant::now();
        let mut out = Vec::new();
        for (_, r) in &keyed {
            push(&mut c, r, now, &mut out);
        }
        c.flush_all(&mut out);

        let mut got = HashMap::new();
        for o in out {
            match o {
                Output::Event(e) => {
                    prop_assert!(!e.continuation, "continuation for serial {}", e.serial);
                    let key = (node_index(&e.node), e.serial);
                    prop_assert!(got.insert(key, e.items).is_none(), "{:?} twice", key);
                }
                Output::Lost { count, .. } => prop_assert!(false, "lost {}", count),
            }
        }
        prop_assert_eq!(got, expected);
    }

    /// Any order, a running clock, small limits: every record comes back exactly once, in an
    /// event of its own (node, serial, time); a key starts at most one non-continuation event,
    /// and it comes first; memory stays within `max_in_flight`.
    #[test]
    fn any_reordering_hands_back_each_record_once(
        events in proptest::collection::vec(gen_event(2), 1..120),
        start in prop_oneof![Just(1u64), Just(u64::from(u32::MAX) - 40)],
        eoe in proptest::collection::vec(any::<bool>(), 120),
        order in proptest::collection::vec(any::<u64>(), 1100),
        steps in proptest::collection::vec((0u64..400, any::<bool>()), 1100),
        max_in_flight in 1usize..32,
        lookahead in 0usize..8,
        grace_ms in 0u64..300,
        timeout_ms in 300u64..2000,
        remember_flushed in select(&[64usize, 128, 4096][..]),
    ) {
        let (records, expected) = build(&events, start, &eoe);
        let mut all: Vec<GenRecord> = records.into_iter().flatten().collect();
        let mut keys: Vec<(u64, usize)> =
            (0..all.len()).map(|i| (order[i % order.len()], i)).collect();
        keys.sort_unstable();
        let shuffled: Vec<GenRecord> = keys.iter().map(|&(_, i)| all[i].clone()).collect();
        all.clear();

        let cfg = CoalesceConfig {
            max_in_flight,
            grace: Duration::from_millis(grace_ms),
            timeout: Duration::from_millis(timeout_ms),
            lookahead,
            remember_flushed,
        };
        let mut c = Coalescer::new(cfg);
        let mut now = Instant::now();
        let mut out = Vec::new();
        for (i, r) in shuffled.iter().enumerate() {
            let (dt, maintain) = steps[i % steps.len()];
            now += Duration::from_millis(dt);
            if maintain {
                c.maintain(now, &mut out);
            }
            push(&mut c, r, now, &mut out);
            prop_assert!(c.in_flight() <= max_in_flight);
        }
        c.flush_all(&mut out);
        prop_assert_eq!(c.in_flight(), 0);

        let owner: HashMap<usize, (usize, u64)> = expected
            .iter()
            .flat_map(|(&key, items)| items.iter().map(move |&i| (i, key)))
            .collect();
        let mut seen = vec![0u32; owner.len()];
        let mut firsts: HashMap<(usize, u64), bool> = HashMap::new();
        let mut lost = 0;
        let mut event_count = 0u64;
        for o in out {
            match o {
                Output::Event(e) => {
                    event_count += 1;
                    let key = (node_index(&e.node), e.serial);
                    for &item in &e.items {
                        seen[item] += 1;
                        prop_assert_eq!(owner[&item], key, "item {} in the wrong event", item);
                        let rec = shuffled.iter().find(|r| r.item == item).unwrap();
                        prop_assert_eq!(rec.time, e.time);
                    }
                    match firsts.get(&key) {
                        None => { firsts.insert(key, e.continuation); }
                        Some(_) => prop_assert!(e.continuation, "{:?} started twice", key),
                    }
                }
                Output::Lost { count, .. } => lost += count,
            }
        }
        prop_assert!(seen.iter().all(|&n| n == 1), "counts {:?}", seen);
        prop_assert!(lost <= expected.len() as u64, "bogus loss {}", lost);
        prop_assert_eq!(c.stats().events, event_count);
        prop_assert_eq!(c.stats().records, owner.len() as u64);
    }
}
