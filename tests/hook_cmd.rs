//! `auditrail hook` as the agent runs it: the real binary, a payload on stdin, a verdict line in
//! the log, nothing on stdout, exit status 0 whatever happens.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use auditrail_parsers::hook::{parse_hook_verdict, Decision, HookEvent, HookVerdict};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_auditrail"))
}

/// Runs `auditrail hook ARGS` with `stdin`; returns its output and pid.
fn run_hook(args: &[&str], stdin: &[u8]) -> (Output, u32) {
    let mut child = Command::new(bin())
        .arg("hook")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn auditrail hook");
    let pid = child.id();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    (child.wait_with_output().unwrap(), pid)
}

fn lines(log: &Path) -> Vec<HookVerdict> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(|l| {
            assert!(l.len() < 4096, "line of {} bytes", l.len());
            parse_hook_verdict(l.as_bytes()).unwrap_or_else(|e| panic!("{e}: {l}"))
        })
        .collect()
}

fn corpus_payloads() -> Option<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/auditrail-vm-capture/hook-payloads.tsv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping: {} is absent", path.display());
        return None;
    };
    Some(
        text.lines()
            .filter_map(|l| l.splitn(3, '\t').nth(2).map(str::to_string))
            .collect(),
    )
}

const PAYLOAD: &str = r#"{"session_id":"8c35adc1-4b2e-4f0a-9d3c-0a1b2c3d4e5f","transcript_path":"/home/ssm-user/.claude/projects/x.jsonl","cwd":"/home/ssm-user","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"psql --password hunter2 -h db","description":"d"},"tool_use_id":"toolu_01X"}"#;

#[test]
fn corpus_payloads_become_verdict_lines() {
    let Some(payloads) = corpus_payloads() else {
        return;
    };
    assert!(!payloads.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("verdicts.log");
    for (i, payload) in payloads.iter().enumerate() {
        let (out, pid) = run_hook(&["--log", log.to_str().unwrap()], payload.as_bytes());
        assert_eq!(out.status.code(), Some(0));
        assert!(
            out.stdout.is_empty(),
            "stdout: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            out.stderr.is_empty(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let written = lines(&log);
        assert_eq!(written.len(), i + 1, "one line per call");
        let v = &written[i];
        let p: serde_json::Value = serde_json::from_str(payload).unwrap();
        assert_eq!(v.v, 1);
        assert_eq!(v.hook, "audit-log");
        assert_eq!(v.event, HookEvent::PreToolUse);
        assert_eq!(v.decision, Decision::Allow);
        assert_eq!(v.session_id, p["session_id"].as_str().unwrap());
        assert_eq!(v.tool_use_id, p["tool_use_id"].as_str().unwrap());
        assert_eq!(v.tool_name, "Bash");
        assert_eq!(v.command.as_deref(), p["tool_input"]["command"].as_str());
        assert_eq!(v.cwd, p["cwd"].as_str().unwrap());
        assert_eq!(v.transcript_path.as_deref(), p["transcript_path"].as_str());
        assert_eq!(v.permission_mode.as_deref(), Some("default"));
        assert_eq!(v.pid, pid, "the hook's own pid");
        assert_eq!(v.ppid, std::process::id(), "its parent: this test");
        assert!(v.time_epoch_millis().is_some());
        assert!(!v.truncated);
    }
}

#[test]
fn an_unwritable_log_still_exits_0_and_says_so_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    // A log in a directory that does not exist (root can write anywhere, so no permission test).
    let log = dir.path().join("missing-dir/verdicts.log");
    let (out, _) = run_hook(&["--log", log.to_str().unwrap()], PAYLOAD.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write the verdict"), "{err}");
    // A directory where the file should be.
    let (out, _) = run_hook(&["--log", dir.path().to_str().unwrap()], PAYLOAD.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(!out.stderr.is_empty());
}

#[test]
fn bad_input_and_bad_arguments_never_fail_the_tool_call() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("v.log");
    let log_arg = log.to_str().unwrap();
    for (args, stdin) in [
        (vec!["--log", log_arg], &b"not json"[..]),
        (vec!["--log", log_arg], &b""[..]),
        (vec!["--log", log_arg, "--bogus"], PAYLOAD.as_bytes()),
        (vec!["--log", log_arg, "--name"], PAYLOAD.as_bytes()),
        (
            vec!["--log", log_arg, "--config", "/nonexistent.toml"],
            PAYLOAD.as_bytes(),
        ),
        (
            vec!["--log", log_arg],
            br#"{"session_id":"s","hook_event_name":"SessionStart"}"#,
        ),
    ] {
        let (out, _) = run_hook(&args, stdin);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: a problem is reported");
    }
    // The three calls with a good payload and a usable --log wrote their lines anyway.
    assert_eq!(lines(&log).len(), 3);
}

#[test]
fn secrets_are_redacted_before_they_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("v.log");
    let (out, _) = run_hook(&["--log", log.to_str().unwrap()], PAYLOAD.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    let v = &lines(&log)[0];
    let cmd = v.command.as_deref().unwrap();
    assert!(
        cmd.starts_with("psql --password [REDACTED:password:"),
        "{cmd}"
    );
    assert!(cmd.ends_with("] -h db"), "{cmd}");
}

#[test]
fn a_long_command_is_shortened_to_fit_one_atomic_write() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("v.log");
    let mut payload: serde_json::Value = serde_json::from_str(PAYLOAD).unwrap();
    let long = format!("cat > f <<'EOF'\n{}\nEOF", "é\"\\\n".repeat(3000));
    payload["tool_input"]["command"] = long.clone().into();
    let (out, _) = run_hook(
        &["--log", log.to_str().unwrap()],
        payload.to_string().as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0));
    let raw = std::fs::read(&log).unwrap();
    assert!(raw.len() <= 4095, "{} bytes", raw.len());
    let v = &lines(&log)[0];
    assert!(v.truncated);
    assert!(long.starts_with(v.command.as_deref().unwrap()));
}

#[test]
fn post_tool_use_name_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("from-config.log");
    let config = dir.path().join("auditrail.toml");
    std::fs::write(
        &config,
        "data_dir = \"state\"\n[sources.hooks]\npaths = [\"from-config.log\"]\n[sinks.stdout]\n[hook]\nlog = \"from-config.log\"\nname = \"audit-post\"\n",
    )
    .unwrap();
    let mut payload: serde_json::Value = serde_json::from_str(PAYLOAD).unwrap();
    payload["hook_event_name"] = "PostToolUse".into();
    payload["tool_response"] = serde_json::json!({"stdout": "ok", "exit_code": 3});
    let (out, _) = run_hook(
        &["--config", config.to_str().unwrap()],
        payload.to_string().as_bytes(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = &lines(&log)[0];
    assert_eq!(v.hook, "audit-post");
    assert_eq!(v.event, HookEvent::PostToolUse);
    assert_eq!(v.exit_code, Some(3));
    assert!(
        !serde_json::to_string(v).unwrap().contains("\"stdout\""),
        "tool_response is not copied"
    );
    // --name wins over the config.
    let (out, _) = run_hook(
        &[
            "--config",
            config.to_str().unwrap(),
            "--name",
            "prompt-injection",
        ],
        payload.to_string().as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(lines(&log)[1].hook, "prompt-injection");
}

#[test]
fn concurrent_hooks_never_tear_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("v.log");
    let log_arg = log.to_str().unwrap().to_string();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let log_arg = log_arg.clone();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let (out, _) = run_hook(&["--log", &log_arg], PAYLOAD.as_bytes());
                    assert_eq!(out.status.code(), Some(0));
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(lines(&log).len(), 40);
}

/// The hook runs before every tool call. The budget is 10 ms in a release build (see
/// docs/hooks.md for measured figures); this debug-build test only guards against a gross
/// regression (a runtime or a network call on this path) with a loose bound.
#[test]
fn a_call_is_fast() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("v.log");
    let runs = 20;
    let started = Instant::now();
    for _ in 0..runs {
        let (out, _) = run_hook(&["--log", log.to_str().unwrap()], PAYLOAD.as_bytes());
        assert_eq!(out.status.code(), Some(0));
    }
    let mean = started.elapsed() / runs;
    eprintln!("auditrail hook (debug build): mean {mean:?} per call");
    assert!(mean < Duration::from_millis(200), "mean {mean:?}");
}
