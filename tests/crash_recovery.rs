//! Crash test: the real daemon over a generated audit log, killed with SIGKILL at random moments
//! many times and restarted. Afterwards every input event must have reached the local sink at
//! least once, and duplicates must stay within what was unacknowledged at each crash.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::*;

/// Every audit serial in `log`, with the offset just after its last record's line.
fn input_serials(log: &[u8]) -> HashMap<u64, u64> {
    let mut ends = HashMap::new();
    let mut offset = 0u64;
    for l in log.split_inclusive(|&b| b == b'\n') {
        offset += l.len() as u64;
        let Ok(l) = std::str::from_utf8(l) else {
            continue;
        };
        let serial = (|| {
            let start = l.find("msg=audit(")? + "msg=audit(".len();
            let rest = &l[start..];
            let colon = rest.find(':')?;
            let close = rest.find(')')?;
            rest[colon + 1..close].parse::<u64>().ok()
        })();
        if let Some(s) = serial {
            ends.insert(s, offset);
        }
    }
    ends
}

/// Distinct audit serials (original events, not continuations) the sink holds.
fn shipped_serials(out: &std::path::Path) -> HashSet<u64> {
    read_sink_events(out)
        .iter()
        .filter(|e| e["coalesce"]["continuation"] == false)
        .filter_map(|e| e["audit"]["serial"].as_u64())
        .collect()
}

/// A tiny deterministic PRNG (splitmix64) so a failing run can be repeated.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = generate_workload(&dir.path().join("in"), 11, "6MB");
    let bytes = std::fs::read(&log).expect("read log");
    let size = bytes.len() as u64;
    let serials = input_serials(&bytes);
    assert!(
        serials.len() > 3_000,
        "workload too small: {}",
        serials.len()
    );

    // Small batches and queues keep the unacknowledged window small and the test meaningful.
    let config = audit_config(dir.path(), &[&log], "");
    let state = dir.path().join("state");
    let out = dir.path().join("out");
    let daemon_log = dir.path().join("daemon.log");

    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let mut rng = Rng(seed);
    let mut kills = 0;
    let mut offsets_at_kill = Vec::new();
    // At each kill, the events shipped but not covered by the checkpoint are exactly what the
    // restart may send again: their sum bounds the duplicates.
    let mut resend_window = 0usize;
    for _ in 0..12 {
        let mut child = spawn_daemon(&config, &daemon_log);
        std::thread::sleep(Duration::from_millis(rng.range(200, 1500)));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        kills += 1;
        let offset = checkpoint_offset(&state, "audit.log").unwrap_or(0);
        offsets_at_kill.push(offset);
        let shipped = shipped_serials(&out);
        resend_window += shipped
            .iter()
            .filter(|s| serials.get(s).is_some_and(|&end| end > offset))
            .count();
        if offset == size {
            break;
        }
    }
    // Checkpoints only move forward across crashes.
    assert!(
        offsets_at_kill.windows(2).all(|w| w[0] <= w[1]),
        "checkpoint went backwards: {offsets_at_kill:?}"
    );

    // A final run to the end of the input, then a clean stop.
    let mut child = spawn_daemon(&config, &daemon_log);
    let done = wait_until(Duration::from_secs(120), || {
        checkpoint_offset(&state, "audit.log") == Some(size)
    });
    assert!(
        stop_daemon(&mut child, Duration::from_secs(30)),
        "clean stop"
    );
    assert!(
        done,
        "checkpoint never reached the end ({:?} of {size}); log:\n{}",
        checkpoint_offset(&state, "audit.log"),
        std::fs::read_to_string(&daemon_log).unwrap_or_default()
    );

    let events = read_sink_events(&out);
    let mut per_id: HashMap<String, u32> = HashMap::new();
    let mut seen_serials = HashSet::new();
    for e in &events {
        if e["kind"] == "audit" && e["coalesce"]["continuation"] == false {
            *per_id
                .entry(e["id"].as_str().unwrap_or("").to_string())
                .or_default() += 1;
        }
        if let Some(s) = e["audit"]["serial"].as_u64() {
            seen_serials.insert(s);
        }
    }
    let missing: Vec<_> = serials
        .keys()
        .filter(|s| !seen_serials.contains(*s))
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} input events never reached the sink, e.g. {missing:?}",
        serials
            .keys()
            .filter(|s| !seen_serials.contains(*s))
            .count(),
        serials.len()
    );
    let duplicates: usize = per_id.values().map(|&n| n as usize - 1).sum();
    eprintln!(
        "crash test: {} input events, {kills} kills, {} events shipped, {duplicates} duplicates \
         (unacknowledged at the kills: {resend_window}), checkpoints at kills: {offsets_at_kill:?}",
        serials.len(),
        events.len(),
    );
    assert!(
        kills >= 3,
        "the daemon finished before being killed often enough"
    );
    assert!(
        offsets_at_kill.iter().any(|&o| o > 0 && o < size),
        "no kill landed mid-file with a checkpoint: the test proved little"
    );
    assert!(
        duplicates <= resend_window,
        "{duplicates} duplicates exceed the {resend_window} events unacknowledged at the kills"
    );
}
