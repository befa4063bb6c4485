//! File-system and sink-name checks of a typed [`Config`] for `auditrail validate`.
//!
//! Enters: a parsed configuration. Leaves: messages starting with the dotted key they concern
//! (so the caller can locate them in the file). Touches nothing but a probe file created and
//! removed in each directory that must be writable.

use std::path::{Path, PathBuf};

use auditrail_sinks::LocalDirSink;

use super::{local_dir_config, Severity};
use crate::config::Config;

/// Sink names the sinks themselves would refuse (local directory prefix, host in file names).
pub(super) fn sink_name_problems(cfg: &Config) -> Vec<String> {
    let host = cfg.host_name();
    let mut problems = Vec::new();
    for (key, s) in [
        ("sinks.local_dir", &cfg.sinks.local_dir),
        ("sinks.alerts.local_dir", &cfg.sinks.alerts.local_dir),
    ] {
        if let Some(s) = s {
            if let Err(e) = LocalDirSink::new(local_dir_config(s, &host)) {
                let field = match e {
                    auditrail_sinks::LocalDirConfigError::InvalidHost(_) => "host",
                    auditrail_sinks::LocalDirConfigError::InvalidPrefix(_) => "prefix",
                };
                let path = if field == "host" {
                    "host".to_string()
                } else {
                    format!("{key}.{field}")
                };
                problems.push(format!("{path}: {e} (used by {key})"));
            }
        }
    }
    problems
}

/// Files that must be readable and directories that must be writable (or creatable).
pub(super) fn path_problems(cfg: &Config) -> Vec<(Severity, String)> {
    let mut problems = Vec::new();
    let sources = [
        ("audit", &cfg.sources.audit),
        ("syslog", &cfg.sources.syslog),
        ("hooks", &cfg.sources.hooks),
    ];
    for (name, src) in sources {
        for p in src.iter().flat_map(|s| &s.paths) {
            if let Some(problem) = source_file_problem(p) {
                problems.push((problem.0, format!("sources.{name}.paths: {}", problem.1)));
            }
        }
    }
    if let Some(s) = &cfg.sources.syslog_socket {
        let dir = s.path.parent().unwrap_or(Path::new("."));
        if let Err(e) = writable_dir(dir) {
            problems.push((Severity::Error, format!("sources.syslog_socket.path: {e}")));
        }
    }
    let mut dirs = vec![("data_dir", cfg.data_dir.clone())];
    dirs.extend(
        cfg.sinks
            .local_dir
            .iter()
            .map(|s| ("sinks.local_dir.dir", s.dir.clone())),
    );
    let alert_dir = cfg.sinks.alerts.local_dir.iter();
    dirs.extend(alert_dir.map(|s| ("sinks.alerts.local_dir.dir", s.dir.clone())));
    for (key, dir) in dirs {
        if let Err(e) = writable_dir(&dir) {
            problems.push((Severity::Error, format!("{key}: {e}")));
        }
    }
    if cfg.enrich.users {
        let passwd = cfg.enrich.users_root.join("etc/passwd");
        if let Err(e) = std::fs::File::open(&passwd) {
            let msg = format!("enrich.users_root: cannot read {}: {e}", passwd.display());
            problems.push((Severity::Warning, msg));
        }
    }
    if let Some(key) = &cfg.redaction.hash_key_file {
        if let Err(e) = std::fs::File::open(key) {
            let msg = format!(
                "redaction.hash_key_file: cannot read {}: {e}",
                key.display()
            );
            problems.push((Severity::Error, msg));
        }
    }
    problems
}

/// A missing file is fine (it is read once it appears); a missing directory is suspicious; a
/// file that exists but cannot be read is an error.
fn source_file_problem(path: &Path) -> Option<(Severity, String)> {
    match std::fs::File::open(path) {
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = path.parent().unwrap_or(Path::new("."));
            (!dir.is_dir()).then(|| {
                let msg = format!(
                    "{}: neither the file nor its directory {} exists (it is read once it appears)",
                    path.display(),
                    dir.display()
                );
                (Severity::Warning, msg)
            })
        }
        Err(e) => Some((
            Severity::Error,
            format!(
                "{}: cannot read: {e} (the daemon needs read access)",
                path.display()
            ),
        )),
    }
}

/// `dir` exists and a file can be created in it, or its nearest existing ancestor is a
/// directory where it can be created.
fn writable_dir(dir: &Path) -> Result<(), String> {
    let mut existing: PathBuf = dir.to_path_buf();
    while !existing.exists() {
        match existing.parent() {
            Some(p) if !p.as_os_str().is_empty() => existing = p.to_path_buf(),
            _ => {
                existing = PathBuf::from(".");
                break;
            }
        }
    }
    if !existing.is_dir() {
        return Err(format!(
            "{}: {} is not a directory",
            dir.display(),
            existing.display()
        ));
    }
    let probe = existing.join(format!(".auditrail-validate-{}", std::process::id()));
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe);
    match created {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if existing == dir => Err(format!("{}: not writable: {e}", dir.display())),
        Err(e) => Err(format!(
            "{}: cannot be created in {}: {e}",
            dir.display(),
            existing.display()
        )),
    }
}
