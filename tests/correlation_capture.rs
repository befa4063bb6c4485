//! End-to-end correlation over the real VM capture (../shared/corpus/auditrail-vm-capture): its
//! audit.log, messages and hook payloads (turned into verdict lines) through the real daemon.
//! carol's SSM session, the agent's three Bash tool calls and the history lines must come out
//! joined. The capture is days old, so the daemon treats it as offline (no /proc).

mod common;
mod correlation_common;

use std::collections::HashMap;
use std::path::PathBuf;

use correlation_common::*;
use serde_json::Value;

const SSM: &str = "carol-0a0b0c0d0e0f01234";
const AGENT: &str = "8c35adc1-4b2e-4f0a-9d3c-0a1b2c3d4e5f";

fn capture_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/auditrail-vm-capture");
    d.join("audit.log").exists().then_some(d)
}

fn run() -> Option<Vec<Value>> {
    let Some(cap) = capture_dir() else {
        eprintln!("SKIPPED correlation_capture: ../shared/corpus/auditrail-vm-capture is absent");
        return None;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let audit_text = std::fs::read_to_string(cap.join("audit.log")).expect("audit.log");
    let tsv = std::fs::read_to_string(cap.join("hook-payloads.tsv")).expect("payloads");
    let verdicts = dir.path().join("verdicts.log");
    std::fs::write(&verdicts, verdicts_from_payloads(&tsv, &audit_text)).expect("verdicts");
    Some(run_daemon(
        dir.path(),
        &cap.join("audit.log"),
        &cap.join("messages"),
        &verdicts,
    ))
}

#[test]
fn the_vm_capture_comes_out_correlated() {
    let Some(events) = run() else { return };

    // The session worker starts the session; everything carol runs carries it.
    let worker = exec_of(&events, 18188, "ssm-session-worker");
    assert_eq!(worker["ssm"]["session_id"], SSM);
    assert_eq!(worker["ssm"]["principal"], "carol");
    assert_eq!(worker["ssm"]["worker_pid"], 18188);
    assert_eq!(worker["ssm"]["matched_by"], "ancestry");
    for (pid, argv0) in [
        (18189, "script"),
        (18191, "bash"),
        (18200, "uname"),
        (18209, "git"),
        (18218, "env"),
        (18223, "wc"),
        (18240, "claude"),
        (18245, "ls"),
        (18250, "cat"),
        (18251, "head"),
        (18199, "logger"),
    ] {
        let e = exec_of(&events, pid, argv0);
        assert_eq!(e["ssm"]["session_id"], SSM, "{argv0} ({pid})");
        assert_eq!(e["process"]["pid"], pid);
        assert_eq!(e["process"]["known_from"], "audit");
    }
    // Process, parent and ancestry of a command of carol's shell.
    let uname = exec_of(&events, 18200, "uname");
    assert_eq!(uname["process"]["exe"], "/usr/bin/uname");
    assert_eq!(uname["process"]["args"], serde_json::json!(["uname", "-a"]));
    assert_eq!(uname["process"]["uid"], 1003);
    assert_eq!(uname["parent"]["pid"], 18191);
    assert_eq!(uname["parent"]["exe"], "/usr/bin/bash");
    assert_eq!(ancestry_pids(uname), [18191, 18190, 18189, 18188, 18187]);
    assert_eq!(uname["ancestry"][1]["exe"], "/usr/sbin/runuser");
    assert_eq!(uname["ancestry"][3]["exe"], "/usr/bin/ssm-session-worker");
    assert_eq!(
        uname["ancestry"][4],
        serde_json::json!({"pid": 18187, "unknown": true})
    );

    // `$(tty)` runs in a subshell that never exec'd: offline, its ancestry is unknown.
    let tty = exec_of(&events, 18194, "tty");
    assert_eq!(
        tty["parent"],
        serde_json::json!({"pid": 18193, "unknown": true})
    );
    assert!(tty["ssm"].is_null(), "not guessed: {tty}");

    agent_tool_calls(&events);
    history_lines(&events);
}

fn agent_tool_calls(events: &[Value]) {
    let calls = [(18244, 18245, "ls"), (18249, 18250, "cat"), (18255, 0, "")];
    for (i, (wrapper, child, child_argv0)) in calls.into_iter().enumerate() {
        let tool_use_id = format!("toolu_01HOLDOUT000{}", i + 1);
        let w = exec_of(events, wrapper, "/bin/bash");
        let a = &w["agent"];
        assert_eq!(a["session_id"], AGENT, "{w}");
        assert_eq!(a["tool_use_id"], tool_use_id.as_str());
        assert_eq!(a["tool"], "Bash");
        assert_eq!(a["relation"], "tool_call");
        assert_eq!(a["agent_pid"], 18240);
        assert_eq!(
            a["decisions"],
            serde_json::json!([{"hook": "audit-log", "event": "PreToolUse", "decision": "allow"}])
        );
        assert!(a.get("denied_but_executed").is_none());
        assert_eq!(w["ssm"]["session_id"], SSM);
        if child != 0 {
            let c = exec_of(events, child, child_argv0);
            assert_eq!(c["agent"]["tool_use_id"], tool_use_id.as_str());
            assert_eq!(c["agent"]["relation"], "tool_call_descendant");
            assert_eq!(c["agent"]["session_id"], AGENT);
            assert!(c["agent"].get("decisions").is_none());
        }
    }
    // `cat /etc/os-release | head -2`: both pipeline elements belong to call 2.
    let head = exec_of(events, 18251, "head");
    assert_eq!(head["agent"]["tool_use_id"], "toolu_01HOLDOUT0002");
    assert_eq!(ancestry_pids(head)[..2], [18249, 18240]);

    // The hooks of calls 2 and 3 run after the agent is known: agent session, no tool call.
    for pid in [18246, 18252] {
        let sh = exec_of(events, pid, "/bin/sh");
        assert_eq!(sh["agent"]["relation"], "agent_descendant", "{sh}");
        assert_eq!(sh["agent"]["session_id"], AGENT);
        assert!(sh["agent"].get("tool_use_id").is_none());
    }

    // The verdict events: joined to their execve, described by their hook process.
    let verdicts = of_kind(events, "hook_verdict");
    assert_eq!(verdicts.len(), 3);
    for v in verdicts {
        let (pid, ppid) = (
            v["hook"]["pid"].as_u64().unwrap(),
            v["hook"]["ppid"].as_u64().unwrap(),
        );
        assert_eq!(v["agent"]["relation"], "verdict");
        assert_eq!(v["agent"]["exec_seen"], true, "{v}");
        assert_eq!(v["agent"]["agent_pid"], 18240);
        assert_eq!(v["agent"]["tool_use_id"], v["hook"]["tool_use_id"]);
        assert_eq!(v["process"]["pid"], pid);
        assert_eq!(v["process"]["known_from"], "audit");
        assert_eq!(
            v["process"]["args"],
            serde_json::json!(["/bin/sh", "/opt/security/audit-log.sh"])
        );
        assert_eq!(v["parent"]["pid"], ppid);
        assert_eq!(ancestry_pids(v)[1], 18240);
        assert_eq!(v["ssm"]["session_id"], SSM);
    }
    assert!(events
        .iter()
        .all(|e| e["agent"]["denied_but_executed"].is_null()));
}

fn history_lines(events: &[Value]) {
    let history = of_kind(events, "history");
    assert_eq!(history.len(), 15);
    // Repeats per logger pid: the DEBUG trap logs each command twice, `env | wc -l` three times.
    let expected: HashMap<u64, u64> = [
        (18195, 0),
        (18199, 0),
        (18204, 1),
        (18208, 0),
        (18213, 1),
        (18217, 0),
        (18222, 1),
        (18227, 2),
        (18231, 0),
        (18235, 1),
        (18239, 0),
        (18259, 1),
        (18263, 0),
        (18268, 1),
        (18272, 0),
    ]
    .into_iter()
    .collect();
    let by_logger: HashMap<u64, &Value> = history
        .iter()
        .map(|h| (h["history"]["logger_pid"].as_u64().unwrap(), *h))
        .collect();
    for h in &history {
        let logger = h["history"]["logger_pid"].as_u64().unwrap();
        assert_eq!(h["process"]["pid"], 18191, "joined to carol's shell: {h}");
        assert_eq!(h["process"]["exe"], "/usr/bin/bash");
        assert_eq!(h["parent"]["pid"], 18190);
        assert_eq!(h["ssm"]["session_id"], SSM);
        assert!(h["agent"].is_null());
        let repeat = h["history"]["repeat"].as_u64().unwrap_or(0);
        assert_eq!(repeat, expected[&logger], "logger {logger}: {h}");
        if repeat > 0 {
            let first = expected
                .iter()
                .filter(|(l, r)| **r == 0 && **l < logger)
                .map(|(l, _)| *l)
                .max()
                .unwrap();
            assert_eq!(h["history"]["duplicate_of"], by_logger[&first]["id"]);
        } else {
            assert!(h["history"]["duplicate_of"].is_null());
        }
    }
    assert_eq!(by_logger[&18195]["history"]["empty"], true);
}
