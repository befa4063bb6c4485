//! Every event the real daemon emits validates against `docs/event.schema.json` (JSON Schema
//! draft 2020-12, checked with the `jsonschema` crate): a generated workload, the real VM capture
//! with verdicts written by the real `auditrail hook`, and the other corpus logs.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> PathBuf {
    common::auditrail_bin()
}

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/event.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).expect("docs/event.schema.json is a valid schema")
}

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

/// Runs `auditrail run --once` over the given sources; returns every event it shipped.
fn run_daemon(dir: &Path, sources: &str, extra: &str) -> Vec<Value> {
    let out = dir.join("out");
    let config = dir.join("auditrail.toml");
    let text = format!(
        "host = \"schema-host\"\ndata_dir = {:?}\n{sources}\n{extra}\n[sinks.local_dir]\ndir = {:?}\ncompression = \"none\"\n",
        dir.join("state").display().to_string(),
        out.display().to_string(),
    );
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(bin())
        .args(["run", "--once", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("auditrail run --once did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "auditrail run failed:\n{err}");
    common::read_sink_events(&out)
}

/// Validates every event; returns them for further checks.
fn validate_all(events: Vec<Value>) -> Vec<Value> {
    assert!(!events.is_empty(), "the daemon shipped nothing");
    let validator = schema();
    let mut failures = Vec::new();
    for ev in &events {
        for error in validator.iter_errors(ev) {
            if failures.len() < 20 {
                failures.push(format!(
                    "{} at {}: {error}\n  event id {}",
                    ev["kind"],
                    error.instance_path(),
                    ev["id"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} events; failures:\n{}",
        events.len(),
        failures.join("\n")
    );
    events
}

fn count(events: &[Value], f: impl Fn(&Value) -> bool) -> usize {
    events.iter().filter(|e| f(e)).count()
}

fn toml_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn generated_workload_validates() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let status = Command::new(bin())
        .args(["generate", "--size", "1MB", "--seed", "7", "--out"])
        .arg(&work)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let sources = format!(
        "[sources.audit]\npaths = [{:?}]\n[sources.syslog]\npaths = [{:?}]\n[sources.hooks]\npaths = [{:?}]",
        work.join("audit.log").display().to_string(),
        work.join("messages").display().to_string(),
        work.join("hook-verdicts.log").display().to_string(),
    );
    let extra = "[enrich]\nregion = \"eu-west-1\"\n[enrich.tags]\nteam = \"platform\"";
    let events = validate_all(run_daemon(dir.path(), &sources, extra));
    for kind in ["audit", "history", "syslog", "hook_verdict"] {
        assert!(count(&events, |e| e["kind"] == kind) > 0, "no {kind} event");
    }
    assert!(count(&events, |e| e["host"]["tags"]["team"] == "platform") == events.len());
    assert!(
        count(&events, |e| e["alerts"].is_array()) > 0,
        "the workload runs sudo"
    );
    assert!(count(&events, |e| e["user"]["name"].is_string()) > 0);
}

#[test]
fn vm_capture_with_real_hook_verdicts_validates() {
    let Some(corpus) = corpus() else { return };
    let capture = corpus.join("auditrail-vm-capture");
    let dir = tempfile::tempdir().unwrap();
    let verdicts = dir.path().join("hook-verdicts.log");
    // The capture's payloads, recorded by the real hook, then two verdicts only other hooks write.
    let tsv = std::fs::read_to_string(capture.join("hook-payloads.tsv")).unwrap();
    for payload in tsv.lines().filter_map(|l| l.splitn(3, '\t').nth(2)) {
        let mut child = Command::new(bin())
            .args(["hook", "--log"])
            .arg(&verdicts)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(payload.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(&verdicts)
        .unwrap();
    for (hook, decision, command) in [
        (
            "dlp-scan",
            "deny",
            "curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig' https://x",
        ),
        ("prompt-injection", "ask", "cat README.md"),
    ] {
        let line = serde_json::json!({
            "v": 1, "time": "2026-12-02T06:05:00.000Z", "hook": hook, "event": "PreToolUse",
            "decision": decision, "reason": "rule r1", "session_id": "s1", "tool_use_id": "toolu_x",
            "tool_name": "Bash", "command": command, "cwd": "/", "pid": 1, "ppid": 1
        });
        writeln!(log, "{line}").unwrap();
    }
    let sources = format!(
        "[sources.audit]\npaths = [{:?}]\n[sources.syslog]\npaths = [{:?}]\n[sources.hooks]\npaths = [{:?}]",
        capture.join("audit.log").display().to_string(),
        capture.join("messages").display().to_string(),
        verdicts.display().to_string(),
    );
    let events = validate_all(run_daemon(
        dir.path(),
        &sources,
        "[output]\ninclude_raw = true",
    ));
    let rules: Vec<&str> = events
        .iter()
        .flat_map(|e| e["alerts"].as_array().into_iter().flatten())
        .filter_map(|a| a["rule"].as_str())
        .collect();
    for rule in ["hook_denied", "prompt_injection", "privilege_escalation"] {
        assert!(rules.contains(&rule), "no {rule} alert in {rules:?}");
    }
    let redacted = events
        .iter()
        .find(|e| e["redacted"].is_array())
        .expect("the bearer token was redacted");
    let text = redacted.to_string();
    assert!(!text.contains("eyJhbGciOiJIUzI1NiJ9.e30.sig"), "{text}");
    assert!(text.contains("[REDACTED:bearer_token:"), "{text}");
    assert_eq!(count(&events, |e| e["kind"] == "hook_verdict"), 5);
}

/// The corpus files concatenated into one file under `dir` (each ends with a newline: a tailer
/// never delivers an unterminated last line of a live file, so `--once` would wait for it).
fn concatenated(dir: &Path, name: &str, files: &[PathBuf]) -> PathBuf {
    let mut all = Vec::new();
    for f in files {
        let mut bytes = std::fs::read(f).unwrap();
        if !bytes.ends_with(b"\n") {
            bytes.push(b'\n');
        }
        all.extend(bytes);
    }
    let path = dir.join(name);
    std::fs::write(&path, all).unwrap();
    path
}

fn files_in(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.is_file()
            && p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| exts.contains(&x))
    });
    files.sort();
    files
}

#[test]
fn other_corpus_logs_validate() {
    let Some(corpus) = corpus() else { return };
    let dir = tempfile::tempdir().unwrap();
    let audit: Vec<PathBuf> = [
        "hillu_linux-audit-parser-rs",
        "threathunters-io_laurel",
        "elastic_go-libaudit/auparse/testdata",
        "elastic_go-libaudit/testdata",
    ]
    .iter()
    .flat_map(|sub| files_in(&corpus.join(sub), &["txt", "log"]))
    .collect();
    let syslog = files_in(&corpus.join("syslog-bash-history"), &["log"]);
    let sources = format!(
        "[sources.audit]\npaths = [{}]\n[sources.syslog]\npaths = [{}]",
        toml_paths(&[concatenated(dir.path(), "audit.log", &audit)]),
        toml_paths(&[concatenated(dir.path(), "messages", &syslog)]),
    );
    let events = validate_all(run_daemon(
        dir.path(),
        &sources,
        "[output]\ninclude_raw = true",
    ));
    assert!(count(&events, |e| e["kind"] == "audit") > 100);
}

#[test]
fn the_schema_rejects_what_the_daemon_must_not_emit() {
    let validator = schema();
    let good = serde_json::json!({
        "id": "0123456789abcdef0123456789abcdef", "kind": "syslog", "time": "2026-11-22T21:36:11.482Z",
        "host": {"name": "h"}, "source": "syslog", "syslog": {"format": "rfc3164", "message": "x"}
    });
    assert!(validator.is_valid(&good));
    let mut unknown = good.clone();
    unknown["usr"] = serde_json::json!({"name": "carol"});
    assert!(!validator.is_valid(&unknown), "an unknown top-level field");
    let mut bad_alert = good.clone();
    bad_alert["alerts"] =
        serde_json::json!([{"rule": "made_up", "severity": "high", "summary": "x"}]);
    assert!(!validator.is_valid(&bad_alert), "an undocumented rule id");
    let mut missing = good.clone();
    missing["kind"] = "audit".into();
    assert!(
        !validator.is_valid(&missing),
        "an audit event without `audit`"
    );
}
