//! Unit tests of the correlator: hand-built events in the real parsers' shapes (audit lines as
//! auditd writes them, verdict JSON per docs/hook-verdicts.md, rsyslog history lines).

use std::time::{Duration, Instant};

use auditrail_parsers::event::build_event_from_lines;
use auditrail_parsers::history::parse_history;
use auditrail_parsers::hook::parse_hook_verdict;
use auditrail_parsers::syslog::parse_syslog;

use super::*;
use crate::event::{Event, EventId, EventKind, HistoryView, HostInfo};

mod agent_scenarios;
mod props;
mod scenarios;

const T0: i64 = 1_795_383_371_000;

fn host() -> HostInfo {
    HostInfo::named("h")
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02X}")).collect()
}

/// One process event as auditd writes it (RAW format, no EOE).
#[derive(Clone)]
struct Exec<'a> {
    serial: u64,
    ms: i64,
    pid: u32,
    ppid: u32,
    exe: &'a str,
    args: &'a [&'a str],
    uid: u32,
    ses: u32,
    success: bool,
    syscall: u32,
}

fn exec<'a>(
    serial: u64,
    ms: i64,
    pid: u32,
    ppid: u32,
    exe: &'a str,
    args: &'a [&'a str],
) -> Exec<'a> {
    Exec {
        serial,
        ms,
        pid,
        ppid,
        exe,
        args,
        uid: 1003,
        ses: u32::MAX,
        success: true,
        syscall: 59,
    }
}

impl Exec<'_> {
    fn lines(&self) -> Vec<String> {
        let stamp = format!(
            "msg=audit({}.{:03}:{})",
            self.ms / 1000,
            self.ms % 1000,
            self.serial
        );
        let comm: String = self
            .exe
            .rsplit('/')
            .next()
            .unwrap_or("")
            .chars()
            .take(15)
            .collect();
        let mut out = vec![format!(
            "type=SYSCALL {stamp}: arch=c000003e syscall={} success={} exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid={} pid={} auid=4294967295 uid={u} gid={u} euid={u} suid={u} fsuid={u} egid={u} sgid={u} fsgid={u} tty=pts0 ses={} comm=\"{comm}\" exe=\"{}\" key=\"command_execution\"",
            self.syscall,
            if self.success { "yes" } else { "no" },
            self.ppid,
            self.pid,
            self.ses,
            self.exe,
            u = self.uid,
        )];
        if self.success && self.syscall == 59 {
            let args: Vec<String> = self
                .args
                .iter()
                .enumerate()
                .map(|(i, a)| format!("a{i}={}", hex(a)))
                .collect();
            out.push(format!(
                "type=EXECVE {stamp}: argc={} {}",
                self.args.len(),
                args.join(" ")
            ));
            out.push(format!("type=CWD {stamp}: cwd=\"/home/carol\""));
        }
        out
    }

    fn event(&self) -> Pending {
        audit_event(&self.lines())
    }
}

fn audit_event(lines: &[String]) -> Pending {
    let refs: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    let (a, errors) = build_event_from_lines(&refs);
    assert!(errors.is_empty(), "{errors:?}");
    let ms = a.time.secs * 1000 + u64::from(a.time.millis);
    let id = EventId::audit("h", None, ms, a.serial);
    let mut ev = Event::new(EventKind::Audit, id, ms as i64, &host(), "audit");
    ev.audit = Some(a);
    (ev, Vec::new())
}

#[allow(clippy::too_many_arguments)]
fn verdict(
    n: u64,
    ms: i64,
    hook: &str,
    decision: &str,
    tool_use_id: &str,
    command: &str,
    pid: u32,
    ppid: u32,
) -> Pending {
    let time = auditrail_parsers::event::rfc3339_millis(ms as u64);
    let line = serde_json::json!({
        "v": 1, "time": time, "hook": hook, "event": "PreToolUse", "decision": decision,
        "session_id": "8c35adc1-4b2e-4f0a-9d3c-0a1b2c3d4e5f", "tool_use_id": tool_use_id,
        "tool_name": "Bash", "command": command, "cwd": "/home/carol", "pid": pid, "ppid": ppid,
    })
    .to_string();
    let v = parse_hook_verdict(line.as_bytes()).unwrap();
    let mut ev = Event::new(
        EventKind::HookVerdict,
        EventId::line("h", 2, n),
        ms,
        &host(),
        "hooks",
    );
    ev.hook = Some(v);
    (ev, Vec::new())
}

/// A seed history line `bash[logger]: user:/dev/pts/0:#011 command`.
fn history(n: u64, ms: i64, logger: u32, user: &str, command: &str) -> Pending {
    let sep = if command.is_empty() { "" } else { "#011 " };
    let line = format!("Nov 22 21:36:11 vm bash[{logger}]: {user}:/dev/pts/0:{sep}{command}");
    let msg = parse_syslog(line.as_bytes()).unwrap();
    let h = parse_history(&msg).unwrap();
    let mut ev = Event::new(
        EventKind::History,
        EventId::line("h", 3, n),
        ms,
        &host(),
        "syslog",
    );
    ev.history = Some(HistoryView::from_entry(&h));
    (ev, Vec::new())
}

fn logger_args(user: &str, command: &str) -> Vec<String> {
    let sep = if command.is_empty() { "" } else { "\t " };
    ["logger", "-p", "local1.notice", "-t", "bash", "-i", "--"]
        .iter()
        .map(ToString::to_string)
        .chain([format!("{user}:/dev/pts/0:{sep}{command}")])
        .collect()
}

fn offline() -> CorrelateSettings {
    CorrelateSettings {
        proc: ProcMode::Never,
        hold_ms: 2000,
        ..CorrelateSettings::default()
    }
}

/// Feeds events one at a time at `now`; returns everything released, then flushes.
fn run_all(c: &mut Correlator, events: Vec<Pending>, now: Instant) -> Vec<Event> {
    let mut out = Vec::new();
    for e in events {
        out.extend(c.correlate(vec![e], now));
    }
    out.extend(c.flush());
    out.into_iter().map(|(e, _)| e).collect()
}

fn by_pid(events: &[Event], pid: u32) -> &Event {
    events
        .iter()
        .find(|e| {
            e.kind == EventKind::Audit
                && e.audit
                    .as_ref()
                    .and_then(|a| a.syscall.as_ref())
                    .and_then(|s| s.pid)
                    == Some(u64::from(pid))
        })
        .unwrap_or_else(|| panic!("no audit event of pid {pid}"))
}

fn json(e: &Event) -> serde_json::Value {
    serde_json::to_value(e).unwrap()
}

#[test]
fn disabled_correlator_passes_events_through() {
    let mut c = Correlator::new(&CorrelateSettings {
        enabled: false,
        ..offline()
    });
    let out = c.correlate(
        vec![exec(1, T0, 10, 1, "/bin/ls", &["ls"]).event()],
        Instant::now(),
    );
    assert_eq!(out.len(), 1);
    assert!(out[0].0.process.is_none());
}

#[test]
fn json_names_of_the_correlated_fields() {
    let mut c = Correlator::new(&offline());
    let events = vec![
        exec(
            1,
            T0,
            100,
            99,
            "/usr/bin/ssm-session-worker",
            &["ssm-session-worker", "carol-0a0b0c0d0e0f01234", "i-1"],
        )
        .event(),
        exec(2, T0 + 1, 101, 100, "/usr/bin/bash", &["bash", "-i"]).event(),
    ];
    let out = run_all(&mut c, events, Instant::now());
    let j = json(by_pid(&out, 101));
    assert_eq!(j["process"]["pid"], 101);
    assert_eq!(j["process"]["ppid"], 100);
    assert_eq!(j["process"]["exe"], "/usr/bin/bash");
    assert_eq!(j["process"]["args"], serde_json::json!(["bash", "-i"]));
    assert_eq!(j["process"]["command_line"], "bash -i");
    assert_eq!(j["process"]["cwd"], "/home/carol");
    assert_eq!(j["process"]["uid"], 1003);
    assert_eq!(j["process"]["known_from"], "audit");
    assert!(j["process"].get("auid").is_none(), "unset auid is omitted");
    assert_eq!(j["parent"]["pid"], 100);
    assert_eq!(j["parent"]["exe"], "/usr/bin/ssm-session-worker");
    assert_eq!(
        j["parent"]["command_line"],
        "ssm-session-worker carol-0a0b0c0d0e0f01234 i-1"
    );
    assert_eq!(j["ancestry"][0]["pid"], 100);
    assert_eq!(
        j["ancestry"][1],
        serde_json::json!({"pid": 99, "unknown": true})
    );
    assert_eq!(
        j["ssm"],
        serde_json::json!({"session_id": "carol-0a0b0c0d0e0f01234", "principal": "carol",
            "worker_pid": 100, "matched_by": "ancestry"})
    );
}
