//! Live correlation: a real kernel audit + rsyslog capture of a scripted SSM-like session
//! (../shared/capture/run-capture.sh), then the real daemon over what it recorded.
//!
//! The session: the stand-in `ssm-session-worker dora-0123456789abcdef0` starts dora's shell
//! (history-security.sh logging every command); dora runs a pipeline, then the stand-in agent
//! makes three Bash tool calls. Their PreToolUse hook (HOOK_CMD) runs the real `auditrail hook`
//! (always `allow`) and a policy stand-in answering allow, deny and ask — the stand-in agent runs
//! all three anyway, so the deny is a real bypass — and the third spawns children of children;
//! finally the hooks run for a tool call that never executes (deny). Every correlated field is
//! checked.
//!
//! Kernel audit state is global: the test takes the machine-wide lock, and skips (printing why)
//! when not root, when gcc/auditd/rsyslogd are missing, or when the kernel refuses audit.

mod common;
mod correlation_common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use correlation_common::*;
use serde_json::Value;

const SSM: &str = "dora-0123456789abcdef0";
const AGENT: &str = "8c35adc1-4b2e-4f0a-9d3c-0a1b2c3d4e5f";

fn skip(reason: &str) {
    eprintln!("SKIPPED correlation_live: {reason}");
}

fn ok(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The PreToolUse hook the agent runs: the real `auditrail hook` records the call (`audit-log`,
/// always `allow`), then a stand-in policy hook (`policy`) writes its own verdict line
/// (docs/hook-verdicts.md) with a decision per tool call, its own pid and parent pid, in one
/// write. The recorder runs as a child of this script, so its parent is a shell, as with a real
/// wrapper script.
fn hook_script(auditrail: &Path, verdicts: &Path) -> String {
    format!(
        r#"#!/bin/sh
payload=$(cat)
printf '%s' "$payload" | {auditrail} hook --log {verdicts} --name audit-log
field() {{ printf '%s' "$payload" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }}
id=$(field tool_use_id)
sid=$(field session_id)
cmd=$(printf '%s' "$payload" | sed -n 's/.*"command":"\(.*\)","description".*/\1/p')
case "$id" in
  toolu_01HOLDOUT0001) d=allow; r='' ;;
  toolu_01HOLDOUT0002) d=deny; r=',"reason":"rule no-network matched"' ;;
  toolu_01HOLDOUT0003) d=ask; r=',"reason":"rule ask-shell matched"' ;;
  *) d=deny; r=',"reason":"rule destructive matched"' ;;
esac
now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
printf '{{"v":1,"time":"%s","hook":"policy","event":"PreToolUse","decision":"%s"%s,"session_id":"%s","tool_use_id":"%s","tool_name":"Bash","command":"%s","cwd":"/tmp","pid":%s,"ppid":%s}}\n' \
  "$now" "$d" "$r" "$sid" "$id" "$cmd" "$$" "$PPID" >> {verdicts}
exit 0
"#,
        auditrail = auditrail.display(),
        verdicts = verdicts.display()
    )
}

fn session_commands(hook: &Path) -> String {
    format!(
        r#"echo hello | tr a-z A-Z
unset HISTFILE
docker run --privileged -v /:/host alpine true
claude "ls -la /tmp" "cat /etc/hostname | wc -c" "sh -c 'id; uname -r'"
printf '%s\n' '{{"session_id":"{AGENT}","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{{"command":"rm -rf /srv/data","description":"x"}},"tool_use_id":"toolu_01DENIEDONLY1"}}' | /bin/sh -c {hook}
exit
"#,
        hook = hook.display()
    )
}

/// Runs the capture; `None` (after printing why) when this machine cannot.
fn capture(dir: &Path) -> Option<PathBuf> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/capture/run-capture.sh");
    if !script.exists() {
        skip("../shared/capture/run-capture.sh is absent");
        return None;
    }
    if ok("id", &["-u"]).as_deref().map(str::trim) != Some("0") {
        skip("not root");
        return None;
    }
    for tool in ["gcc", "auditd", "auditctl", "rsyslogd"] {
        if ok("sh", &["-c", &format!("command -v {tool}")]).is_none() {
            skip(&format!(
                "{tool} missing (scripts/test.sh installs auditd and rsyslog)"
            ));
            return None;
        }
    }
    let Some(status) = ok("auditctl", &["-s"]) else {
        skip("`auditctl -s` refused: no kernel audit here");
        return None;
    };
    if status
        .lines()
        .any(|l| l.starts_with("pid ") && l.trim() != "pid 0")
    {
        skip("another auditd is running; not touching its state");
        return None;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).ok()?;
    let verdicts = dir.join("verdicts.log");
    std::fs::write(&verdicts, "").ok()?;
    std::fs::set_permissions(&verdicts, std::fs::Permissions::from_mode(0o666)).ok()?;
    // A copy the session user can run whatever the permissions of the build directory.
    let auditrail = dir.join("auditrail");
    std::fs::copy(common::auditrail_bin(), &auditrail).ok()?;
    std::fs::set_permissions(&auditrail, std::fs::Permissions::from_mode(0o755)).ok()?;
    let hook = dir.join("hook.sh");
    std::fs::write(&hook, hook_script(&auditrail, &verdicts)).ok()?;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).ok()?;
    let commands = dir.join("dora.txt");
    std::fs::write(&commands, session_commands(&hook)).ok()?;
    let out = dir.join("capture");
    let run = Command::new("bash")
        .arg(&script)
        .arg(&out)
        .arg("RAW")
        .arg(format!("dora:{SSM}:{}", commands.display()))
        .env("HOOK_CMD", &hook)
        .output()
        .ok()?;
    let audit = std::fs::read_to_string(out.join("audit.log")).unwrap_or_default();
    if !run.status.success() || !audit.contains("type=EXECVE") {
        skip(&format!(
            "the capture recorded no execve (exit {:?}): {}",
            run.status.code(),
            String::from_utf8_lossy(&run.stderr)
        ));
        return None;
    }
    Some(out)
}

#[test]
fn a_live_ssm_session_with_agent_tool_calls_is_correlated() {
    let lock = std::fs::File::create("/tmp/auditrail-kernel-audit.lock").expect("lock file");
    lock.lock().expect("take kernel audit lock");
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(out) = capture(dir.path()) else {
        return;
    };
    drop(lock);
    let events = run_daemon(
        dir.path(),
        &out.join("audit.log"),
        &out.join("messages"),
        &dir.path().join("verdicts.log"),
    );
    let dump = || {
        let path = dir.path().join("events.ndjson");
        let text: Vec<String> = events.iter().map(Value::to_string).collect();
        let _ = std::fs::write(&path, text.join("\n"));
        format!("(events in {})", path.display())
    };

    // The worker, dora's shell and what she runs: the SSM session.
    let worker = execs_named(&events, "ssm-session-worker");
    let worker = worker
        .iter()
        .find(|e| e["audit"]["execve"]["args"][1] == SSM)
        .expect("worker");
    let worker_pid = worker["process"]["pid"].as_u64().unwrap();
    assert_eq!(worker["ssm"]["session_id"], SSM);
    assert_eq!(worker["ssm"]["principal"], "dora");
    let shell = execs_named(&events, "bash")
        .into_iter()
        .find(|e| e["process"]["args"][2] == "--rcfile")
        .unwrap_or_else(|| panic!("dora's shell {}", dump()));
    let shell_pid = shell["process"]["pid"].as_u64().unwrap();
    assert_eq!(shell["ssm"]["session_id"], SSM);
    assert!(ancestry_pids(shell).contains(&worker_pid));
    let tr = &execs_named(&events, "tr")[0];
    assert_eq!(tr["parent"]["pid"], shell_pid);
    assert_eq!(tr["ssm"]["session_id"], SSM);
    assert!(tr["agent"].is_null());

    let claude = &execs_named(&events, "claude")[0];
    let agent_pid = claude["process"]["pid"].as_u64().unwrap();
    assert_eq!(claude["parent"]["pid"], shell_pid);

    // The three tool calls: wrapper execve, its decisions, its children.
    let wrappers: Vec<&Value> = execs_named(&events, "bash")
        .into_iter()
        .filter(|e| e["process"]["args"][1] == "-c" && e["parent"]["pid"] == agent_pid)
        .collect();
    assert_eq!(wrappers.len(), 3, "{}", dump());
    let expect = [
        ("toolu_01HOLDOUT0001", "allow", None),
        (
            "toolu_01HOLDOUT0002",
            "deny",
            Some("rule no-network matched"),
        ),
        ("toolu_01HOLDOUT0003", "ask", Some("rule ask-shell matched")),
    ];
    let mut wrapper_pids = Vec::new();
    for (tool_use_id, decision, reason) in expect {
        let w = wrappers
            .iter()
            .find(|w| w["agent"]["tool_use_id"] == tool_use_id)
            .unwrap_or_else(|| panic!("no wrapper joined to {tool_use_id} {}", dump()));
        let a = &w["agent"];
        assert_eq!(a["session_id"], AGENT);
        assert_eq!(
            (a["relation"].as_str(), a["tool"].as_str()),
            (Some("tool_call"), Some("Bash"))
        );
        assert_eq!(a["agent_pid"], agent_pid);
        // Both hooks' verdicts, as written: the recorder's and the policy's.
        let decisions: Vec<(&str, &str, &str, Option<&str>)> = a["decisions"]
            .as_array()
            .unwrap_or_else(|| panic!("no decisions on {w}"))
            .iter()
            .map(|d| {
                let s = |k: &str| d[k].as_str().unwrap_or("");
                (s("hook"), s("event"), s("decision"), d["reason"].as_str())
            })
            .collect();
        assert_eq!(
            decisions,
            [
                ("audit-log", "PreToolUse", "allow", None),
                ("policy", "PreToolUse", decision, reason)
            ],
            "{}",
            dump()
        );
        if decision != "deny" {
            assert!(a.get("denied_but_executed").is_none());
        }
        assert_eq!(w["ssm"]["session_id"], SSM);
        wrapper_pids.push(w["process"]["pid"].as_u64().unwrap());
    }
    // The denied call ran anyway: exactly one event says so — the wrapper's execve, or (if
    // the policy's deny was read after that execve had left) the deny verdict itself.
    let flagged: Vec<&Value> = events
        .iter()
        .filter(|e| e["agent"]["denied_but_executed"] == true)
        .collect();
    assert_eq!(
        flagged.len(),
        1,
        "one event per bypassed tool call {}",
        dump()
    );
    assert_eq!(flagged[0]["agent"]["tool_use_id"], "toolu_01HOLDOUT0002");
    let rules = |e: &Value| -> Vec<String> {
        e["alerts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["rule"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(
        rules(flagged[0]).contains(&"hook_bypass".to_string()),
        "{}",
        flagged[0]
    );
    // The builtin and the missing docker leave no execve: the history lines carry the alerts.
    let history = of_kind(&events, "history");
    let alerted = |command: &str, rule: &str| {
        history
            .iter()
            .any(|h| h["history"]["command"] == command && rules(h).iter().any(|r| r == rule))
    };
    assert!(alerted("unset HISTFILE", "history_evasion"), "{}", dump());
    assert!(
        alerted(
            "docker run --privileged -v /:/host alpine true",
            "docker_privileged"
        ),
        "{}",
        dump()
    );
    // Every verdict that denied got the hook_denied alert.
    for v in of_kind(&events, "hook_verdict") {
        if v["hook"]["decision"] == "deny" {
            assert!(rules(v).contains(&"hook_denied".to_string()), "{v}");
        }
    }
    assert!(
        flagged[0]["kind"] == "audit" || flagged[0]["hook"]["decision"] == "deny",
        "{}",
        flagged[0]
    );

    // Children (and grandchildren) of each wrapper carry its tool call.
    for (name, call) in [
        ("ls", 0),
        ("cat", 1),
        ("wc", 1),
        ("sh", 2),
        ("id", 2),
        ("uname", 2),
    ] {
        let e = execs_named(&events, name)
            .into_iter()
            .find(|e| ancestry_pids(e).contains(&wrapper_pids[call]))
            .unwrap_or_else(|| panic!("no {name} under tool call {} {}", call + 1, dump()));
        assert_eq!(e["agent"]["tool_use_id"], expect[call].0, "{name}");
        assert_eq!(e["agent"]["relation"], "tool_call_descendant");
        assert_eq!(e["agent"]["session_id"], AGENT);
        assert_eq!(e["ssm"]["session_id"], SSM);
        let chain = ancestry_pids(e);
        assert!(
            chain.contains(&agent_pid) && chain.contains(&shell_pid),
            "{name}: {chain:?}"
        );
    }
    let id = execs_named(&events, "id")
        .into_iter()
        .find(|e| ancestry_pids(e).contains(&wrapper_pids[2]))
        .unwrap();
    assert_eq!(
        id["parent"]["exe"].as_str().map(|e| e.ends_with("sh")),
        Some(true)
    );

    verdict_events(&events, shell_pid, agent_pid);
    history_events(&events, shell_pid, &dump);
}

fn verdict_events(events: &[Value], shell_pid: u64, agent_pid: u64) {
    let verdicts = of_kind(events, "hook_verdict");
    assert_eq!(verdicts.len(), 8, "two hooks for each of four tool calls");
    for v in &verdicts {
        let tool_use_id = v["hook"]["tool_use_id"].as_str().unwrap();
        let hook = v["hook"]["hook"].as_str().unwrap();
        let a = &v["agent"];
        assert_eq!(a["relation"], "verdict");
        assert_eq!(a["tool_use_id"], tool_use_id);
        assert_eq!(a["session_id"], AGENT);
        assert!(a["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["hook"] == hook && d["decision"] == v["hook"]["decision"]));
        // The process that wrote the line: the real recorder, or the policy script.
        assert_eq!(v["process"]["pid"], v["hook"]["pid"]);
        assert_eq!(v["process"]["known_from"], "audit", "{v}");
        let program = if hook == "audit-log" {
            "auditrail"
        } else {
            "hook.sh"
        };
        assert!(
            v["process"]["command_line"]
                .as_str()
                .unwrap()
                .contains(program),
            "{v}"
        );
        assert_eq!(v["parent"]["pid"], v["hook"]["ppid"]);
        assert_eq!(v["ssm"]["session_id"], SSM);
        let chain = ancestry_pids(v);
        if tool_use_id == "toolu_01DENIEDONLY1" {
            // Never run: its own events say so; its hooks ran from dora's shell.
            assert_eq!(a["exec_seen"], false);
            assert!(a["agent_pid"].is_null());
            assert!(chain.contains(&shell_pid) && !chain.contains(&agent_pid));
            assert!(a.get("denied_but_executed").is_none());
        } else {
            assert_eq!(a["exec_seen"], true);
            assert_eq!(a["agent_pid"], agent_pid);
            assert!(chain.contains(&agent_pid), "{chain:?}");
        }
    }
}

fn history_events(events: &[Value], shell_pid: u64, dump: &dyn Fn() -> String) {
    let history = of_kind(events, "history");
    assert!(history.len() >= 9, "{}", dump());
    for h in &history {
        assert_eq!(
            h["process"]["pid"], shell_pid,
            "history joined to dora's shell: {h}"
        );
        assert_eq!(h["ssm"]["session_id"], SSM);
        assert_eq!(h["history"]["user"], "dora");
    }
    // The pipeline is logged three times (once per element, once more for PROMPT_COMMAND).
    let mut pipeline: Vec<&&Value> = history
        .iter()
        .filter(|h| h["history"]["command"] == "echo hello | tr a-z A-Z")
        .collect();
    pipeline.sort_by_key(|h| h["history"]["repeat"].as_u64().unwrap_or(0));
    let repeats: Vec<u64> = pipeline
        .iter()
        .map(|h| h["history"]["repeat"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(repeats, [0, 1, 2], "{}", dump());
    assert_eq!(pipeline[2]["history"]["duplicate_of"], pipeline[0]["id"]);
}
