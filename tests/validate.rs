//! `auditrail validate` through the real binary: every error of a broken config at once with its
//! line:column, the shipped configs valid, and each documented exit code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn validate(config: &Path, extra: &[&str]) -> (i32, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_auditrail"))
        .arg("validate")
        .arg("--config")
        .arg(config)
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), text)
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn every_error_is_reported_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("broken.toml");
    let text = format!(
        r#"data_dir = "{d}/state"
checkpoint_intervall_ms = 5
[sources.audit]
paths = ["{d}/audit.log"]
max_line_bytes = 10
[sinks.local_dir]
dir = "{d}/out"
gzip_level = "six"
colour = "blue"
"#,
        d = dir.path().display()
    );
    std::fs::write(&config, text).unwrap();
    let (code, out) = validate(&config, &[]);
    assert_eq!(code, 1, "{out}");
    let file = config.display().to_string();
    let expected = [
        // Two unknown keys, each with the keys that would be valid there.
        (
            "2:1: error: unknown field `checkpoint_intervall_ms`",
            "`checkpoint_interval_ms`",
        ),
        ("9:1: error: unknown field `colour`", "`compression`"),
        // A wrong type, naming the key and the expected type.
        (
            "8:14: error: sinks.local_dir.gzip_level: invalid type",
            "expected u32",
        ),
        // An impossible value, found by the semantic checks after the typed parse.
        (
            "5:1: error: sources.audit.max_line_bytes must be >= 1024",
            "",
        ),
    ];
    for (located, hint) in expected {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{file}:{located}")))
            .unwrap_or_else(|| panic!("missing {located:?} in:\n{out}"));
        assert!(line.contains(hint), "{line}");
    }
    assert!(out.contains("invalid: 4 error(s)"), "{out}");
}

#[test]
fn unknown_keys_inside_inline_tables_and_unknown_sections_are_all_found() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("broken.toml");
    let text = format!(
        "data_dir = \"{d}\"\n[sources.audit]\npaths = [\"{d}/a.log\"]\nread_from = \"middle\"\n\
         [sinks.local_dir]\ndir = \"{d}/out\"\nbatch = {{ max_events = 5, foo = 1 }}\n[bogus]\na = 1\n",
        d = dir.path().display()
    );
    std::fs::write(&config, text).unwrap();
    let (code, out) = validate(&config, &[]);
    assert_eq!(code, 1, "{out}");
    for located in [
        ":4:13: error: sources.audit.read_from: unknown variant `middle`, expected `beginning` or `end`",
        ":7:27: error: unknown field `foo`",
        ":8:2: error: unknown field `bogus`",
    ] {
        assert!(out.contains(located), "missing {located:?} in:\n{out}");
    }
}

#[test]
fn shipped_configs_are_valid() {
    for config in ["config/auditrail.toml", "config/demo.toml"] {
        let (code, out) = validate(&repo(config), &[]);
        assert_eq!(code, 0, "{config}: {out}");
        assert!(out.contains(": valid"), "{out}");
        assert!(!out.contains("error:"), "{out}");
    }
}

#[test]
fn unreadable_file_exits_2() {
    let (code, out) = validate(Path::new("/nonexistent/auditrail.toml"), &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot read"), "{out}");
}

#[test]
fn check_sinks_reports_healthy_and_failing_sinks() {
    let dir = tempfile::tempdir().unwrap();
    let healthy = dir.path().join("healthy.toml");
    let base = format!(
        "data_dir = \"{d}/state\"\n[sources.audit]\npaths = [\"{d}/audit.log\"]\n\
         [sinks.local_dir]\ndir = \"{d}/out\"\n",
        d = dir.path().display()
    );
    std::fs::write(&healthy, &base).unwrap();
    let (code, out) = validate(&healthy, &["--check-sinks"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("healthy"), "{out}");

    // A CloudWatch endpoint where nothing listens: valid config, failed health check.
    let failing = dir.path().join("failing.toml");
    let cloudwatch = "[sinks.cloudwatch]\nregion = \"eu-west-1\"\n\
         endpoint_url = \"http://127.0.0.1:9\"\nrequest_timeout_ms = 2000\nconnect_timeout_ms = 500\n";
    std::fs::write(&failing, format!("{base}{cloudwatch}")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_auditrail"))
        .args(["validate", "--check-sinks", "--config"])
        .arg(&failing)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("health check failed"), "{text}");
}
