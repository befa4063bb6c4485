//! Live test with the real kernel: a private auditd writes real records of commands run here,
//! and the daemon tailing that log must emit exactly their events with the right argv.
//!
//! Kernel audit state is global: the test takes a machine-wide lock, adds only its own rule,
//! and restores the rule set and the `enabled` flag afterwards, even when it fails. It skips
//! (with a printed reason) when not root, when auditd is missing, or when the kernel refuses.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

const KEY: &str = "auditrail_live";

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn skip(reason: &str) {
    eprintln!("SKIPPED live_auditd: {reason}");
}

/// Kernel audit state to put back, and the private auditd to stop.
struct KernelAudit {
    was_enabled: String,
    auditd: Option<Child>,
    rule: Vec<String>,
}

impl Drop for KernelAudit {
    fn drop(&mut self) {
        let mut del = vec!["-d".to_string()];
        del.extend(self.rule.iter().skip(1).cloned());
        let _ = Command::new("auditctl")
            .args(&del)
            .stderr(Stdio::null())
            .status();
        if let Some(mut a) = self.auditd.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &a.id().to_string()])
                .status();
            let _ = a.wait();
        }
        let _ = Command::new("auditctl")
            .args(["-e", &self.was_enabled])
            .stdout(Stdio::null())
            .status();
    }
}

/// A copy of the system's auditd.conf writing RAW records to `dir/audit.log`.
fn auditd_conf(dir: &Path) -> std::io::Result<PathBuf> {
    let conf_dir = dir.join("conf");
    std::fs::create_dir_all(&conf_dir)?;
    let system = std::fs::read_to_string("/etc/audit/auditd.conf").unwrap_or_default();
    let overridden = [
        "log_file",
        "log_format",
        "max_log_file",
        "max_log_file_action",
        "num_logs",
        "log_group",
        "write_logs",
        "space_left_action",
        "admin_space_left_action",
        "disk_full_action",
        "disk_error_action",
    ];
    let mut conf: String = system
        .lines()
        .filter(|l| {
            let key = l.split('=').next().unwrap_or("").trim();
            !overridden.contains(&key)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    conf.push_str(&format!(
        "log_file = {}\nlog_format = RAW\nmax_log_file = 1000\nmax_log_file_action = IGNORE\n\
         num_logs = 2\nlog_group = root\nwrite_logs = yes\nspace_left_action = IGNORE\n\
         admin_space_left_action = IGNORE\ndisk_full_action = IGNORE\ndisk_error_action = IGNORE\n",
        dir.join("audit.log").display()
    ));
    std::fs::write(conf_dir.join("auditd.conf"), conf)?;
    Ok(conf_dir)
}

#[test]
fn daemon_emits_exactly_the_commands_the_kernel_audited() {
    if run("id", &["-u"]).as_deref().map(str::trim) != Some("0") {
        return skip("not root");
    }
    if run("auditctl", &["-v"]).is_none() && run("auditctl", &["-s"]).is_none() {
        return skip("auditctl missing (scripts/test.sh installs Debian's auditd)");
    }
    let Some(status) = run("auditctl", &["-s"]) else {
        return skip("`auditctl -s` refused: no kernel audit here");
    };
    let lock = std::fs::File::create("/tmp/auditrail-kernel-audit.lock").expect("lock file");
    lock.lock().expect("take kernel audit lock");
    let status = run("auditctl", &["-s"]).unwrap_or(status);
    if status
        .lines()
        .any(|l| l.starts_with("pid ") && l.trim() != "pid 0")
    {
        return skip("another auditd is running; not touching its state");
    }
    let was_enabled = status
        .lines()
        .find_map(|l| l.strip_prefix("enabled "))
        .unwrap_or("0")
        .trim()
        .to_string();

    let dir = tempfile::tempdir().expect("tempdir");
    let conf_dir = auditd_conf(dir.path()).expect("auditd.conf");
    let rule: Vec<String> = [
        "-a",
        "always,exit",
        "-F",
        "arch=b64",
        "-S",
        "execve",
        "-k",
        KEY,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let mut kernel = KernelAudit {
        was_enabled,
        auditd: None,
        rule: rule.clone(),
    };
    let auditd = Command::new("auditd")
        .args(["-n", "-c"])
        .arg(&conf_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(auditd) = auditd else {
        return skip("cannot start auditd");
    };
    kernel.auditd = Some(auditd);
    let log = dir.path().join("audit.log");
    let registered = wait_until(Duration::from_secs(10), || {
        log.exists()
            && run("auditctl", &["-s"]).is_some_and(|s| s.lines().any(|l| l == "enabled 1"))
    });
    if !registered {
        return skip("private auditd did not start (kernel refused?)");
    }
    if run(
        "auditctl",
        &rule.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .is_none()
    {
        return skip("kernel refused the execve rule");
    }

    let config = audit_config(dir.path(), &[&log], "");
    let mut daemon = spawn_daemon(&config, &dir.path().join("daemon.log"));

    // Known commands, with arguments auditd must hex-encode (space, tab, quote, non-UTF-8).
    let nonce = format!("auditrail-live-{}", std::process::id());
    let commands: Vec<Vec<Vec<u8>>> = vec![
        vec![
            b"/bin/echo".to_vec(),
            nonce.clone().into_bytes(),
            b"two words".to_vec(),
        ],
        vec![
            b"/bin/echo".to_vec(),
            format!("{nonce}-2").into_bytes(),
            b"tab\there \"q\"".to_vec(),
        ],
        vec![
            b"/bin/echo".to_vec(),
            format!("{nonce}-3").into_bytes(),
            b"\xff\xfebytes".to_vec(),
        ],
    ];
    for argv in &commands {
        let status = Command::new(OsStr::from_bytes(&argv[0]))
            .args(argv[1..].iter().map(|a| OsStr::from_bytes(a)))
            .stdout(Stdio::null())
            .status()
            .expect("run command");
        assert!(status.success());
    }
    // auditd writes no EOE: an event is known complete once a later serial exists. One more
    // audited command makes sure the last of ours has one (else it ships, incomplete, on timeout).
    let _ = Command::new("/bin/true").status();

    let out = dir.path().join("out");
    let mine = |events: &[serde_json::Value]| -> Vec<serde_json::Value> {
        events
            .iter()
            .filter(|e| {
                e["audit"]["execve"]["args"]
                    .get(1)
                    .and_then(|a| a.as_str())
                    .is_some_and(|a| a.starts_with(&nonce))
            })
            .cloned()
            .collect()
    };
    let arrived = wait_until(Duration::from_secs(30), || {
        mine(&read_sink_events(&out)).len() >= commands.len()
    });
    drop(kernel); // rule removed, auditd stopped, enabled restored
    assert!(
        stop_daemon(&mut daemon, Duration::from_secs(15)),
        "daemon did not stop cleanly"
    );
    let events = mine(&read_sink_events(&out));
    assert!(
        arrived,
        "only {} of {} events arrived; daemon log:\n{}",
        events.len(),
        commands.len(),
        std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default()
    );

    assert_eq!(
        events.len(),
        commands.len(),
        "exactly one event per command: {events:#?}"
    );
    for argv in &commands {
        let want: Vec<String> = argv
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let ev = events
            .iter()
            .find(|e| e["audit"]["execve"]["args"][1] == want[1].as_str())
            .unwrap_or_else(|| panic!("no event for {want:?}"));
        let audit = &ev["audit"];
        assert_eq!(audit["execve"]["args"], serde_json::json!(want));
        assert_eq!(audit["execve"]["complete"], true);
        assert_eq!(audit["syscall"]["name"], "execve");
        assert_eq!(audit["syscall"]["success"], true);
        assert_eq!(audit["syscall"]["keys"], serde_json::json!([KEY]));
        assert_eq!(ev["coalesce"]["complete"], true, "{ev}");
        let exe = audit["syscall"]["exe"].as_str().unwrap_or("");
        assert!(exe.ends_with("/echo"), "exe {exe}");
        let types: Vec<&str> = audit["record_types"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
            .unwrap_or_default();
        for t in ["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE"] {
            assert!(types.contains(&t), "{t} missing from {types:?}");
        }
        // Non-UTF-8 bytes survive exactly, as hex.
        if argv[2].contains(&0xff) {
            let hex = audit["execve"]["args_hex"][2].as_str().unwrap_or("");
            assert_eq!(hex, "FFFE6279746573");
        }
    }
}
