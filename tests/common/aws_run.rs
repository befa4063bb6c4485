//! Helpers of tests/aws_sinks.rs: a generated audit log with times moved to now, daemon configs
//! and runs with AWS credentials for moto, the stats a sink logs at shutdown, reading S3 objects,
//! and the completeness/duplicate assertions shared by every AWS sink test.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::aws_proxy::{AwsProxy, Outcome};
use crate::common::{auditrail_bin, checkpoint_offset, stop_daemon, wait_until};
use crate::moto::AWS_ENV;

pub const DAY_SECS: u64 = 24 * 3600;

/// A generated audit log with times moved to just before now; the first `old` serials are moved
/// 15 days further back (CloudWatch would reject them).
pub struct Input {
    pub bytes: Vec<u8>,
    pub serials: HashSet<u64>,
    pub old_serials: HashSet<u64>,
}

pub fn serial_and_secs(line: &str) -> Option<(u64, u64, usize)> {
    let start = line.find("msg=audit(")? + "msg=audit(".len();
    let rest = &line[start..];
    let dot = rest.find('.')?;
    let colon = rest.find(':')?;
    let close = rest.find(')')?;
    Some((
        rest[colon + 1..close].parse().ok()?,
        rest[..dot].parse().ok()?,
        start,
    ))
}

pub fn generate(dir: &Path, seed: u64, old: usize, long_args: &str) -> Input {
    let out = dir.join("gen");
    let seed = seed.to_string();
    let status = Command::new(auditrail_bin())
        .args(["generate", "--size", "2MB", "--seed", &seed])
        .args(["--long-arg-fraction", long_args, "--out"])
        .arg(&out)
        .stderr(Stdio::null())
        .status()
        .expect("generate");
    assert!(status.success());
    let text = std::fs::read_to_string(out.join("audit.log")).expect("generated log");
    let last = text
        .lines()
        .filter_map(serial_and_secs)
        .map(|(_, secs, _)| secs)
        .max()
        .expect("timestamps");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let delta = (now - 120) as i64 - last as i64;
    let (mut bytes, mut serials, mut old_serials) = (Vec::new(), HashSet::new(), HashSet::new());
    for line in text.split_inclusive('\n') {
        let Some((serial, secs, at)) = serial_and_secs(line) else {
            bytes.extend_from_slice(line.as_bytes());
            continue;
        };
        if serials.len() < old || old_serials.contains(&serial) {
            old_serials.insert(serial);
        }
        serials.insert(serial);
        let back = if old_serials.contains(&serial) {
            15 * DAY_SECS as i64
        } else {
            0
        };
        let moved = (secs as i64 + delta - back).to_string();
        let digits = line[at..].find('.').unwrap_or(0);
        bytes.extend_from_slice(&line.as_bytes()[..at]);
        bytes.extend_from_slice(moved.as_bytes());
        bytes.extend_from_slice(&line.as_bytes()[at + digits..]);
    }
    Input {
        bytes,
        serials,
        old_serials,
    }
}

pub fn config(dir: &Path, sinks: &str) -> PathBuf {
    let text = format!(
        r#"host = "test-host"
data_dir = {state:?}
checkpoint_interval_ms = 100
[sources.audit]
paths = [{log:?}]
poll_interval_ms = 20
[coalesce]
grace_ms = 50
{sinks}
"#,
        state = dir.join("state").display().to_string(),
        log = dir.join("in/audit.log").display().to_string(),
    );
    let path = dir.join("auditrail.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

pub fn spawn(config: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("daemon log");
    Command::new(auditrail_bin())
        .args(["run", "--config"])
        .arg(config)
        .envs(AWS_ENV)
        .env("RUST_LOG", "info")
        .env("AUDITRAIL_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn auditrail")
}

/// Runs the daemon until the checkpoint of `in/audit.log` reaches `size`, then stops it.
pub fn run_to_end(dir: &Path, config: &Path, size: u64) -> String {
    let log = dir.join("daemon.log");
    let mut child = spawn(config, &log);
    let state = dir.join("state");
    let done = wait_until(Duration::from_secs(240), || {
        checkpoint_offset(&state, "audit.log") == Some(size)
    });
    let stopped = stop_daemon(&mut child, Duration::from_secs(30));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        done,
        "checkpoint never reached the end; daemon log:\n{text}"
    );
    assert!(stopped, "no clean stop; daemon log:\n{text}");
    text
}

/// The final stats a sink driver logged ("sink driver stopped"), by sink-name prefix.
pub fn sink_stats(daemon_log: &str, prefix: &str) -> Value {
    daemon_log
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "sink driver stopped")
        .filter(|v| {
            v["fields"]["sink"]
                .as_str()
                .is_some_and(|s| s.starts_with(prefix))
        })
        .find_map(|v| serde_json::from_str(v["fields"]["stats"].as_str()?).ok())
        .unwrap_or_else(|| panic!("no stats for {prefix} in:\n{daemon_log}"))
}

/// Events in S3 objects (gzip members or plain NDJSON).
pub fn s3_events(objects: &[Vec<u8>]) -> Vec<Value> {
    let mut events = Vec::new();
    for object in objects {
        let mut text = String::new();
        if object.starts_with(&[0x1f, 0x8b]) {
            flate2::read::MultiGzDecoder::new(&object[..])
                .read_to_string(&mut text)
                .expect("gzip object");
        } else {
            text = String::from_utf8(object.clone()).expect("utf8 object");
        }
        events.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).expect("json line")),
        );
    }
    events
}

/// Per-id counts and the audit serials seen.
pub fn tally(events: &[Value]) -> (HashMap<String, u32>, HashSet<u64>) {
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut serials = HashSet::new();
    for event in events {
        *ids.entry(event["id"].as_str().unwrap_or("").to_owned())
            .or_default() += 1;
        if let Some(serial) = event["audit"]["serial"].as_u64() {
            serials.insert(serial);
        }
    }
    (ids, serials)
}

/// How often each event id was in a forwarded item of a call whose answer never reached the
/// daemon (the only calls that may legitimately produce duplicates).
pub fn unconfirmed_ids(proxy: &AwsProxy, op: &str) -> HashMap<String, u32> {
    let mut counts = HashMap::new();
    for call in proxy
        .observed()
        .calls_of(op)
        .filter(|c| c.outcome == Outcome::Unconfirmed)
    {
        for item in call.items.iter().filter(|i| !i.refused) {
            for id in &item.ids {
                *counts.entry(id.clone()).or_default() += 1;
            }
        }
    }
    counts
}

/// Every input serial arrived except `excused` ones (which may), none of `forbidden` did, and no
/// id arrived more often than once plus its unconfirmed sends. Returns the number of duplicates.
pub fn assert_complete(
    what: &str,
    events: &[Value],
    input: &HashSet<u64>,
    (excused, forbidden): (&HashSet<u64>, &HashSet<u64>),
    unconfirmed: &HashMap<String, u32>,
) -> usize {
    let (ids, serials) = tally(events);
    let missing: Vec<&u64> = input
        .iter()
        .filter(|s| !excused.contains(s) && !forbidden.contains(s) && !serials.contains(s))
        .collect();
    assert!(
        missing.is_empty(),
        "{what}: {} of {} serials missing, e.g. {:?}",
        missing.len(),
        input.len(),
        &missing[..missing.len().min(5)]
    );
    let wrongly_present: Vec<&u64> = forbidden.iter().filter(|s| serials.contains(s)).collect();
    assert!(
        wrongly_present.is_empty(),
        "{what}: rejected serials arrived: {wrongly_present:?}"
    );
    let mut duplicates = 0;
    for (id, &count) in &ids {
        let allowed = 1 + unconfirmed.get(id).copied().unwrap_or(0);
        assert!(
            count <= allowed,
            "{what}: id {id} arrived {count} times (allowed {allowed})"
        );
        duplicates += (count - 1) as usize;
    }
    duplicates
}

/// Every checkpointed offset.
pub fn checkpoint_offsets(state: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(state.join("checkpoints.json")).unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    v["files"]
        .as_object()
        .map(|files| {
            files
                .values()
                .filter_map(|f| f["offset"].as_u64())
                .collect()
        })
        .unwrap_or_default()
}

pub fn write_input(dir: &Path, bytes: &[u8]) -> u64 {
    std::fs::create_dir_all(dir.join("in")).expect("in dir");
    std::fs::write(dir.join("in/audit.log"), bytes).expect("write log");
    bytes.len() as u64
}
