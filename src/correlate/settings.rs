//! The `[correlate]` section of the configuration file.
//!
//! Enters: TOML (through `crate::config::Config`). Leaves: [`CorrelateSettings`] with every
//! default documented here and in `config/`; [`CorrelateSettings::problems`] lists values that
//! cannot work (the config loader reports them all at once).

use std::path::PathBuf;

use serde::Deserialize;

/// When the correlator may read `/proc` (the live process table of the host it runs on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ProcMode {
    /// Seed the table from `/proc` at start and look a missing parent up there, but only for
    /// events stamped within `live_window_ms` of the wall clock (a replayed file is not live).
    #[default]
    Auto,
    /// Always consult `/proc` (still never for a process that started after the event).
    Always,
    /// Never read `/proc`: ancestry comes from the audit log alone.
    Never,
}

/// `[correlate]`: joins of events to the process tree, SSM sessions, agent tool calls and
/// history lines. Every field has a default; an empty section (or none) is the documented
/// behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelateSettings {
    /// Off: events pass through unchanged (no `process`, `ssm`, `agent` …). Default on.
    pub enabled: bool,
    /// `/proc` use, see [`ProcMode`]. Default `auto`.
    pub proc: ProcMode,
    /// Where `/proc` is (tests point it at a fake tree). Default `/proc`.
    pub proc_root: PathBuf,
    /// An event is "live" (may consult `/proc`, mode `auto`) when its time is within this many
    /// milliseconds of the wall clock. Default 60 000.
    pub live_window_ms: u64,
    /// How long an event waits for its join partner from another source (a history line for
    /// its `logger` execve, a verdict for its tool call's execve and back) before it is shipped
    /// with whatever is known. Default 3000 (≥ `coalesce.timeout_ms`, so an execve flushed by
    /// timeout still meets its verdict).
    pub hold_ms: u64,
    /// At most this many events wait at once; beyond it the oldest go without waiting.
    /// Default 4096.
    pub max_held: usize,
    /// Process table bound (least recently used entries go first; exited ones before them).
    /// Default 32 768.
    pub max_processes: usize,
    /// Ancestors listed in `ancestry`, nearest first. Default 8.
    pub ancestry_depth: usize,
    /// Program names (basename of `exe` or `argv[0]`) of the SSM session worker.
    /// Default `["ssm-session-worker"]`.
    pub ssm_worker_names: Vec<String>,
    /// Regex that `argv[1]` of a worker must match to be a session id; a named group
    /// `principal` gives the principal. Default `^(?P<principal>.+)-[0-9a-f]{17}$`
    /// (`<principal>-<17 hex digits>`, e.g. `alice-0a1b2c3d4e5f67890`).
    pub ssm_session_id_pattern: String,
    /// An agent's Bash-tool execve may start at most this long after the PreToolUse verdict
    /// that allowed (or asked about) it. Default 120 000 (an `ask` waits for a human).
    pub tool_call_window_ms: u64,
}

impl Default for CorrelateSettings {
    fn default() -> Self {
        CorrelateSettings {
            enabled: true,
            proc: ProcMode::Auto,
            proc_root: PathBuf::from("/proc"),
            live_window_ms: 60_000,
            hold_ms: 3_000,
            max_held: 4096,
            max_processes: 32_768,
            ancestry_depth: 8,
            ssm_worker_names: vec!["ssm-session-worker".to_string()],
            ssm_session_id_pattern: DEFAULT_SSM_SESSION_ID_PATTERN.to_string(),
            tool_call_window_ms: 120_000,
        }
    }
}

/// See [`CorrelateSettings::ssm_session_id_pattern`].
pub const DEFAULT_SSM_SESSION_ID_PATTERN: &str = "^(?P<principal>.+)-[0-9a-f]{17}$";

impl CorrelateSettings {
    /// What is wrong with these settings, one message per problem (empty when fine).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(e) = regex::Regex::new(&self.ssm_session_id_pattern) {
            out.push(format!(
                "correlate.ssm_session_id_pattern is not a regex: {e}"
            ));
        }
        if self.ssm_worker_names.iter().any(String::is_empty) {
            out.push("correlate.ssm_worker_names has an empty name".to_string());
        }
        if self.max_processes < 64 {
            out.push("correlate.max_processes must be >= 64".to_string());
        }
        if self.max_held == 0 {
            out.push("correlate.max_held must be > 0".to_string());
        }
        if self.ancestry_depth == 0 || self.ancestry_depth > 64 {
            out.push("correlate.ancestry_depth must be 1..=64".to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    const BASE: &str =
        "data_dir = \"s\"\n[sources.audit]\npaths = [\"/a\"]\n[sinks.local_dir]\ndir = \"o\"\n";

    #[test]
    fn the_section_is_optional_and_documented_defaults_apply() {
        let cfg = Config::parse(BASE, Path::new("x.toml")).unwrap();
        let c = &cfg.correlate;
        assert!(c.enabled);
        assert_eq!(c.proc, ProcMode::Auto);
        assert_eq!(c.proc_root, PathBuf::from("/proc"));
        assert_eq!(
            (c.live_window_ms, c.hold_ms, c.max_held),
            (60_000, 3_000, 4096)
        );
        assert_eq!((c.max_processes, c.ancestry_depth), (32_768, 8));
        assert_eq!(c.ssm_worker_names, ["ssm-session-worker"]);
        assert_eq!(c.ssm_session_id_pattern, DEFAULT_SSM_SESSION_ID_PATTERN);
        assert_eq!(c.tool_call_window_ms, 120_000);
    }

    #[test]
    fn values_are_read_and_mistakes_reported() {
        let text = format!(
            "{BASE}[correlate]\nproc = \"never\"\nhold_ms = 500\nssm_worker_names = [\"w\"]\n"
        );
        let cfg = Config::parse(&text, Path::new("x.toml")).unwrap();
        assert_eq!(cfg.correlate.proc, ProcMode::Never);
        assert_eq!(cfg.correlate.hold_ms, 500);
        assert_eq!(cfg.correlate.ssm_worker_names, ["w"]);
        let err = Config::parse(
            &format!("{BASE}[correlate]\nhold = 1\n"),
            Path::new("x.toml"),
        )
        .unwrap_err()
        .0;
        assert!(err.contains("hold"), "{err}");
        let text = format!("{BASE}[correlate]\nssm_session_id_pattern = \"(\"\nmax_held = 0\n");
        let err = Config::parse(&text, Path::new("x.toml")).unwrap_err().0;
        assert!(
            err.contains("ssm_session_id_pattern") && err.contains("max_held"),
            "{err}"
        );
    }
}
