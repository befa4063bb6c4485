//! Helpers of the correlation end-to-end tests: run the real daemon over an audit log, a syslog
//! file and a hook verdict log, turn recorded hook payloads into verdict lines, find events.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::{checkpoint_offset, read_sink_events, spawn_daemon, stop_daemon, wait_until};

/// Runs `auditrail run` over the three files until every byte of them is checkpointed (so every
/// event, held ones included, was shipped), stops it, and returns what the sink holds.
pub fn run_daemon(dir: &Path, audit: &Path, messages: &Path, verdicts: &Path) -> Vec<Value> {
    let config = dir.join("auditrail.toml");
    let q = |p: &Path| format!("{:?}", p.display().to_string());
    let text = format!(
        r#"host = "vm"
data_dir = {state}
checkpoint_interval_ms = 100
[sources.audit]
paths = [{audit}]
poll_interval_ms = 20
[sources.syslog]
paths = [{messages}]
poll_interval_ms = 20
[sources.hooks]
paths = [{verdicts}]
poll_interval_ms = 20
[coalesce]
grace_ms = 50
[correlate]
hold_ms = 1500
[sinks.local_dir]
dir = {out}
[sinks.local_dir.batch]
max_events = 500
max_age_ms = 100
"#,
        state = q(&dir.join("state")),
        out = q(&dir.join("out")),
        audit = q(audit),
        messages = q(messages),
        verdicts = q(verdicts),
    );
    std::fs::write(&config, text).expect("write config");
    let log = dir.join("daemon.log");
    let mut child = spawn_daemon(&config, &log);
    let files = [
        ("audit", audit),
        ("messages", messages),
        ("verdicts", verdicts),
    ];
    let state = dir.join("state");
    let done = wait_until(Duration::from_secs(30), || {
        files.iter().all(|(_, p)| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            size == 0 || checkpoint_offset(&state, name) == Some(size)
        })
    });
    let clean = stop_daemon(&mut child, Duration::from_secs(10));
    let daemon_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        done,
        "inputs not fully shipped within 30 s; daemon log:\n{daemon_log}"
    );
    assert!(clean, "daemon did not stop cleanly; log:\n{daemon_log}");
    read_sink_events(&dir.join("out"))
}

/// The time (`msg=audit(SECS.MS:…)`, as RFC 3339) of the first audit record of process `pid`.
fn first_record_time(audit_log: &str, pid: u32) -> Option<String> {
    let needle = format!(" pid={pid} ");
    let line = audit_log.lines().find(|l| l.contains(&needle))?;
    let start = line.find("msg=audit(")? + "msg=audit(".len();
    let stamp = &line[start..start + line[start..].find(':')?];
    let (secs, ms) = stamp.split_once('.')?;
    let millis = secs.parse::<u64>().ok()? * 1000 + ms.parse::<u64>().ok()?;
    Some(auditrail_parsers::event::rfc3339_millis(millis))
}

/// Turns `hook-payloads.tsv` (`PID\tPPID\tPAYLOAD-JSON` per PreToolUse call, as the capture's
/// stand-in hook recorded them) into verdict lines of docs/hook-verdicts.md, as the `audit-log`
/// hook would have written them: decision `allow`, time = the hook process's first audit record.
pub fn verdicts_from_payloads(tsv: &str, audit_log: &str) -> String {
    let mut out = String::new();
    for line in tsv.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.splitn(3, '\t');
        let (Some(pid), Some(ppid), Some(json)) = (parts.next(), parts.next(), parts.next()) else {
            panic!("bad payload line {line:?}");
        };
        let pid: u32 = pid.parse().expect("pid");
        let ppid: u32 = ppid.parse().expect("ppid");
        let p: Value = serde_json::from_str(json).expect("payload JSON");
        let mut v = serde_json::json!({
            "v": 1,
            "time": first_record_time(audit_log, pid).expect("hook pid in audit.log"),
            "hook": "audit-log",
            "event": p["hook_event_name"],
            "decision": "allow",
            "session_id": p["session_id"],
            "tool_use_id": p["tool_use_id"],
            "tool_name": p["tool_name"],
            "cwd": p["cwd"],
            "pid": pid,
            "ppid": ppid,
            "transcript_path": p["transcript_path"],
            "permission_mode": p["permission_mode"],
        });
        if let Some(c) = p["tool_input"]["command"].as_str() {
            v["command"] = Value::from(c);
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

/// Audit events of process `pid` (original events, not continuations), in sink order.
pub fn audit_of(events: &[Value], pid: u64) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["kind"] == "audit" && e["coalesce"]["continuation"] != true)
        .filter(|e| e["audit"]["syscall"]["pid"].as_u64() == Some(pid))
        .collect()
}

/// The successful execve event of `pid` whose argv starts with `argv0`.
pub fn exec_of<'a>(events: &'a [Value], pid: u64, argv0: &str) -> &'a Value {
    audit_of(events, pid)
        .into_iter()
        .find(|e| e["audit"]["execve"]["args"][0] == argv0)
        .unwrap_or_else(|| panic!("no execve of {argv0} by pid {pid}"))
}

/// The successful execve events whose `argv[0]` ends with `name`.
pub fn execs_named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["kind"] == "audit" && e["audit"]["syscall"]["success"] == true)
        .filter(|e| {
            e["audit"]["execve"]["args"][0]
                .as_str()
                .is_some_and(|a| a.rsplit('/').next() == Some(name))
        })
        .collect()
}

pub fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

/// The pids of `ancestry`, nearest first.
pub fn ancestry_pids(e: &Value) -> Vec<u64> {
    e["ancestry"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["pid"].as_u64()).collect())
        .unwrap_or_default()
}
