//! config/auditrail.service checked by systemd's own tools (when installed), and the daemon's
//! sd_notify protocol observed on a unix datagram socket bound by the test.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The unit with its ExecStart/ExecStartPre pointing at the binary under test (verify checks
/// that the executable exists).
fn unit_for_test(dir: &Path) -> PathBuf {
    let unit = std::fs::read_to_string(repo("config/auditrail.service")).unwrap();
    let path = dir.join("auditrail.service");
    let unit = unit.replace("/usr/bin/auditrail", env!("CARGO_BIN_EXE_auditrail"));
    std::fs::write(&path, unit).unwrap();
    path
}

fn systemd_analyze() -> Option<&'static str> {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        println!("skipped: systemd-analyze not installed (Debian package `systemd`)");
    }
    found.then_some("systemd-analyze")
}

#[test]
fn unit_passes_systemd_analyze_verify() {
    let Some(tool) = systemd_analyze() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_test(dir.path());
    let out = Command::new(tool)
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("auditrail.service:"),
        "warnings about the unit: {stderr}"
    );
}

#[test]
fn unit_exposure_is_at_most_2() {
    let Some(tool) = systemd_analyze() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_test(dir.path());
    let out = Command::new(tool)
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let exposure: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for auditrail.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {text}"));
    println!("systemd-analyze security exposure: {exposure}");
    assert!(exposure <= 2.0, "{text}");
}

#[test]
fn daemon_notifies_ready_watchdog_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo("config/demo");
    let config = dir.path().join("auditrail.toml");
    std::fs::write(
        &config,
        format!(
            "host = \"test-host\"\ndata_dir = \"{d}/state\"\n\
             [sources.audit]\npaths = [\"{demo}/audit.log\"]\n\
             [sources.syslog]\npaths = [\"{demo}/messages\"]\n\
             [sinks.local_dir]\ndir = \"{d}/out\"\n",
            d = dir.path().display(),
            demo = demo.display()
        ),
    )
    .unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // systemd sets WATCHDOG_PID to the service's pid: `exec` keeps the shell's.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("WATCHDOG_PID=$$ exec \"$0\" run --config \"$1\"")
        .arg(env!("CARGO_BIN_EXE_auditrail"))
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let mut messages: Vec<String> = Vec::new();
    let receive_until = |wanted: &str, messages: &mut Vec<String>| {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = socket.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                let found = msg.lines().any(|l| l == wanted);
                messages.push(msg);
                if found {
                    return true;
                }
            }
        }
        false
    };
    let ready = receive_until("READY=1", &mut messages);
    let pinged = ready && receive_until("WATCHDOG=1", &mut messages);
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let stopping = receive_until("STOPPING=1", &mut messages);
    let status = child.wait().unwrap();
    assert!(ready, "no READY=1 in {messages:?}");
    assert!(
        messages[0].lines().any(|l| l.starts_with("STATUS=running")),
        "{messages:?}"
    );
    assert!(pinged, "no WATCHDOG=1 in {messages:?}");
    assert!(stopping, "no STOPPING=1 in {messages:?}");
    assert!(status.success(), "{status:?}");
}
