//! Helpers shared by the integration tests: run the real daemon binary, read what its local
//! directory sink wrote.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The daemon binary cargo built for these tests.
pub fn auditrail_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_auditrail"))
}

/// Writes a generated workload (`auditrail generate`) into `out`; returns its `audit.log`.
pub fn generate_workload(out: &Path, seed: u64, size: &str) -> PathBuf {
    let status = Command::new(auditrail_bin())
        .args([
            "generate",
            "--seed",
            &seed.to_string(),
            "--size",
            size,
            "--out",
        ])
        .arg(out)
        .stderr(Stdio::null())
        .status()
        .expect("run auditrail generate");
    assert!(status.success(), "auditrail generate failed");
    out.join("audit.log")
}

/// Starts `auditrail run --config CONFIG`, stderr to `log` (appended).
pub fn spawn_daemon(config: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open daemon log");
    Command::new(auditrail_bin())
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn auditrail")
}

/// Sends SIGTERM and waits (bounded) for a clean exit; returns whether it exited successfully.
pub fn stop_daemon(child: &mut Child, within: Duration) -> bool {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// Every event in every object under `dir` (gzip or plain NDJSON), in file-name order.
pub fn read_sink_events(dir: &Path) -> Vec<serde_json::Value> {
    let mut files = Vec::new();
    collect_files(dir, &mut files);
    files.sort();
    let mut events = Vec::new();
    for f in files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue; // temp files and sink state
        }
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let text = if name.ends_with(".gz") {
            let mut s = String::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_string(&mut s)
                .unwrap_or_else(|e| panic!("{}: bad gzip: {e}", f.display()));
            s
        } else if name.ends_with(".json") {
            String::from_utf8(bytes).expect("utf8 ndjson")
        } else {
            continue;
        };
        for line in text.lines().filter(|l| !l.is_empty()) {
            events.push(
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{}: bad JSON line: {e}", f.display())),
            );
        }
    }
    events
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in rd.flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Polls `cond` every 50 ms until it holds or `within` passes.
pub fn wait_until(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The checkpointed offset of the file whose last known path ends with `name`.
pub fn checkpoint_offset(state_dir: &Path, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(state_dir.join("checkpoints.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["files"].as_object()?.values().find_map(|f| {
        let path = f["path"].as_str()?;
        path.ends_with(name).then(|| f["offset"].as_u64()).flatten()
    })
}

/// A config for the daemon: one audit file source, a local dir sink with small, fast batches.
pub fn audit_config(dir: &Path, audit_paths: &[&Path], extra: &str) -> PathBuf {
    let paths: Vec<String> = audit_paths
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    let text = format!(
        r#"host = "test-host"
data_dir = {state:?}
checkpoint_interval_ms = 100
[sources.audit]
paths = [{paths}]
poll_interval_ms = 20
[coalesce]
grace_ms = 50
[sinks.local_dir]
dir = {out:?}
[sinks.local_dir.batch]
max_events = 500
max_age_ms = 100
{extra}
"#,
        state = dir.join("state").display().to_string(),
        out = dir.join("out").display().to_string(),
        paths = paths.join(", "),
    );
    let path = dir.join("auditrail.toml");
    std::fs::write(&path, text).expect("write config");
    path
}
