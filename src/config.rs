//! The daemon's configuration: a TOML file, validated into typed structs.
//!
//! Enters: the file's text. Leaves: a [`Config`] or an error naming the file, line, column and key
//! (unknown keys are errors: a misspelt option must never be silently ignored).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Host name put in every event and in sink object names; `"auto"` (default) asks the OS.
    #[serde(default = "default_host")]
    pub host: String,
    /// Where checkpoints and sink state live.
    pub data_dir: PathBuf,
    /// How often the checkpoint file is rewritten while offsets move (and once at shutdown).
    #[serde(default = "default_checkpoint_interval_ms")]
    pub checkpoint_interval_ms: u64,
    #[serde(default)]
    pub sources: Sources,
    #[serde(default)]
    pub coalesce: CoalesceSettings,
    #[serde(default)]
    pub output: OutputSettings,
    /// Process tree, SSM session, agent tool call and history joins (`crate::correlate`).
    #[serde(default)]
    pub correlate: crate::correlate::CorrelateSettings,
    /// User and group names, host identity (IMDSv2 or static), static tags (`crate::enrich`).
    #[serde(default)]
    pub enrich: crate::enrich::EnrichSettings,
    /// The alert rule set (`crate::alerts`).
    #[serde(default)]
    pub alerts: crate::alerts::AlertSettings,
    /// Secret redaction (`crate::redact`); on by default.
    #[serde(default)]
    pub redaction: crate::redact::RedactionSettings,
    /// Defaults for the `auditrail hook` subcommand (`crate::hook_cmd`).
    #[serde(default)]
    pub hook: crate::hook_cmd::HookSettings,
    pub sinks: Sinks,
}

/// Inputs. Each kind is optional; at least one must be configured.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sources {
    /// auditd logs (`/var/log/audit/audit.log`).
    pub audit: Option<FileSource>,
    /// syslog files (`/var/log/messages`, `/var/log/secure`): history lines and the rest.
    pub syslog: Option<FileSource>,
    /// Hook verdict logs written by `auditrail hook` and other PreToolUse hooks.
    pub hooks: Option<FileSource>,
    /// A unix datagram socket receiving syslog messages directly.
    pub syslog_socket: Option<SocketSource>,
}

/// Where a file source starts in a file it has never seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReadFrom {
    #[default]
    Beginning,
    End,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSource {
    pub paths: Vec<PathBuf>,
    #[serde(default)]
    pub read_from: ReadFrom,
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketSource {
    pub path: PathBuf,
    #[serde(default = "default_max_line_bytes")]
    pub max_message_bytes: usize,
}

/// How audit records are grouped into events (see `coalesce`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoalesceSettings {
    pub max_in_flight: usize,
    pub grace_ms: u64,
    pub timeout_ms: u64,
    pub lookahead: usize,
    pub remember_flushed: usize,
}

impl Default for CoalesceSettings {
    fn default() -> Self {
        CoalesceSettings {
            max_in_flight: 4096,
            grace_ms: 200,
            timeout_ms: 3000,
            lookahead: 64,
            remember_flushed: 4096,
        }
    }
}

/// What each event carries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSettings {
    /// Keep the raw input lines in every event (`raw`). Error events always keep theirs.
    pub include_raw: bool,
}

/// Outputs. Every event goes to every configured sink.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sinks {
    pub local_dir: Option<LocalDirSinkSettings>,
    pub stdout: Option<StdoutSinkSettings>,
    /// Amazon Data Firehose `PutRecordBatch`; keys and defaults: `auditrail_sinks::FirehoseConfig`.
    pub firehose: Option<auditrail_sinks::FirehoseConfig>,
    /// CloudWatch Logs `PutLogEvents`; keys and defaults: `auditrail_sinks::CloudWatchConfig`.
    pub cloudwatch: Option<auditrail_sinks::CloudWatchConfig>,
    /// Sinks that receive only events with alerts (besides every sink above, which gets them
    /// too): a separate delivery stream, log group/stream or directory for the alert table.
    #[serde(default)]
    pub alerts: AlertSinks,
}

/// `[sinks.alerts.*]`: the same sink kinds, fed only with events that raised an alert.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSinks {
    pub local_dir: Option<LocalDirSinkSettings>,
    pub firehose: Option<auditrail_sinks::FirehoseConfig>,
    pub cloudwatch: Option<auditrail_sinks::CloudWatchConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CompressionSetting {
    None,
    #[default]
    Gzip,
}

/// Batch limits shared by all sinks' settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchSettings {
    pub max_events: usize,
    pub max_bytes: usize,
    pub max_age_ms: u64,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            max_events: 10_000,
            max_bytes: 4 << 20,
            max_age_ms: 1000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalDirSinkSettings {
    pub dir: PathBuf,
    #[serde(default = "default_prefix")]
    pub prefix: String,
    #[serde(default)]
    pub compression: CompressionSetting,
    #[serde(default = "default_gzip_level")]
    pub gzip_level: u32,
    #[serde(default)]
    pub batch: BatchSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutSinkSettings {
    #[serde(default = "default_stdout_batch")]
    pub batch: BatchSettings,
}

fn default_host() -> String {
    "auto".into()
}
fn default_checkpoint_interval_ms() -> u64 {
    1000
}
fn default_max_line_bytes() -> usize {
    1 << 20
}
fn default_poll_ms() -> u64 {
    250
}
fn default_prefix() -> String {
    "auditrail".into()
}
fn default_gzip_level() -> u32 {
    6
}
fn default_stdout_batch() -> BatchSettings {
    BatchSettings {
        max_events: 1000,
        max_bytes: 1 << 20,
        max_age_ms: 200,
    }
}

impl BatchSettings {
    pub fn max_age(&self) -> Duration {
        Duration::from_millis(self.max_age_ms)
    }
}

/// A configuration error, already formatted with file, line and column where known.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
        Self::parse(&text, path)
    }

    /// Parses and validates `text`; `path` names it in errors and resolves relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let cfg = Self::parse_unchecked(text, path).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            ConfigError(format!("{}:{line}:{col}: {}", path.display(), e.message()))
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// The typed parse alone (relative paths resolved against `path`'s directory), without the
    /// semantic checks of [`Config::problems`]; `auditrail validate` reports both separately.
    pub fn parse_unchecked(text: &str, path: &Path) -> Result<Config, toml::de::Error> {
        let mut cfg: Config = toml::from_str(text)?;
        cfg.resolve_relative_paths(path.parent().unwrap_or(Path::new(".")));
        Ok(cfg)
    }

    /// Relative paths in the file are relative to the file's directory, so a config works from
    /// any working directory.
    fn resolve_relative_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.data_dir);
        for src in [
            &mut self.sources.audit,
            &mut self.sources.syslog,
            &mut self.sources.hooks,
        ]
        .into_iter()
        .flatten()
        {
            src.paths.iter_mut().for_each(fix);
        }
        if let Some(s) = &mut self.sources.syslog_socket {
            fix(&mut s.path);
        }
        if let Some(s) = &mut self.sinks.alerts.local_dir {
            fix(&mut s.dir);
        }
        if let Some(s) = &mut self.sinks.local_dir {
            fix(&mut s.dir);
        }
        fix(&mut self.enrich.users_root);
        fix(&mut self.hook.log);
        if let Some(k) = &mut self.redaction.hash_key_file {
            fix(k);
        }
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            let p = path.display();
            Err(ConfigError(
                problems
                    .iter()
                    .map(|m| format!("{p}: {m}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ))
        }
    }

    /// Impossible or contradictory values, one sentence each starting with the key's dotted
    /// path where there is one (empty when the configuration is usable).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let s = &self.sources;
        if s.audit.is_none() && s.syslog.is_none() && s.hooks.is_none() && s.syslog_socket.is_none()
        {
            problems
                .push("no source configured: add [sources.audit] or another source".to_string());
        }
        for (name, src) in [
            ("audit", &s.audit),
            ("syslog", &s.syslog),
            ("hooks", &s.hooks),
        ] {
            if let Some(src) = src {
                if src.paths.is_empty() {
                    problems.push(format!("sources.{name}.paths is empty"));
                }
                if src.max_line_bytes < 1024 {
                    problems.push(format!("sources.{name}.max_line_bytes must be >= 1024"));
                }
            }
        }
        let sinks = &self.sinks;
        if sinks.local_dir.is_none()
            && sinks.stdout.is_none()
            && sinks.firehose.is_none()
            && sinks.cloudwatch.is_none()
        {
            problems.push(
                "no sink configured: add [sinks.local_dir], [sinks.stdout], [sinks.firehose] or \
                 [sinks.cloudwatch]"
                    .to_string(),
            );
        }
        problems.extend(sinks.firehose.iter().flat_map(|s| s.problems()));
        problems.extend(sinks.cloudwatch.iter().flat_map(|s| s.problems()));
        let batches = [
            ("local_dir", self.sinks.local_dir.as_ref().map(|s| &s.batch)),
            ("stdout", self.sinks.stdout.as_ref().map(|s| &s.batch)),
            (
                "alerts.local_dir",
                self.sinks.alerts.local_dir.as_ref().map(|s| &s.batch),
            ),
        ];
        for (name, batch) in batches {
            if let Some(b) = batch {
                if b.max_events == 0 || b.max_bytes == 0 {
                    problems.push(format!("sinks.{name}.batch limits must be > 0"));
                }
            }
        }
        if let Some(l) = &self.sinks.local_dir {
            if l.gzip_level > 9 {
                problems.push("sinks.local_dir.gzip_level must be 0..=9".to_string());
            }
        }
        if self.checkpoint_interval_ms == 0 {
            problems.push("checkpoint_interval_ms must be > 0".to_string());
        }
        if self.coalesce.max_in_flight == 0 {
            problems.push("coalesce.max_in_flight must be > 0".to_string());
        }
        problems.extend(self.correlate.problems());
        if self.enrich.imds.enabled && self.enrich.imds.timeout_ms == 0 {
            problems.push("enrich.imds.timeout_ms must be > 0".to_string());
        }
        problems.extend(self.alerts.problems());
        problems.extend(self.redaction.problems());
        // The alert sinks take the same keys; their messages name their own section.
        let alerts = &self.sinks.alerts;
        let alert_sink_problems = (alerts.firehose.iter().flat_map(|s| s.problems()))
            .chain(alerts.cloudwatch.iter().flat_map(|s| s.problems()));
        problems.extend(alert_sink_problems.map(|m| m.replacen("sinks.", "sinks.alerts.", 1)));
        problems
    }

    /// The host name events carry.
    pub fn host_name(&self) -> String {
        if self.host != "auto" {
            return self.host.clone();
        }
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into())
    }

    /// The checkpoint file.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.data_dir.join("checkpoints.json")
    }
}

/// 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
data_dir = "state"
[sources.audit]
paths = ["/var/log/audit/audit.log"]
[sinks.local_dir]
dir = "out"
"#;

    #[test]
    fn documented_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/auditrail.toml");
        Config::load(&path).unwrap();
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml");
        Config::load(&demo).unwrap();
    }

    #[test]
    fn minimal_config_gets_defaults_and_resolved_paths() {
        let cfg = Config::parse(MINIMAL, Path::new("/etc/auditrail/a.toml")).unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("/etc/auditrail/state"));
        let local = cfg.sinks.local_dir.unwrap();
        assert_eq!(local.dir, PathBuf::from("/etc/auditrail/out"));
        assert_eq!(local.compression, CompressionSetting::Gzip);
        assert_eq!(cfg.sources.audit.unwrap().read_from, ReadFrom::Beginning);
    }

    #[test]
    fn unknown_key_is_reported_with_file_line_and_key() {
        let text = MINIMAL.replace("dir = \"out\"", "dir = \"out\"\ncompresion = \"gzip\"");
        let err = Config::parse(&text, Path::new("x.toml")).unwrap_err().0;
        assert!(err.starts_with("x.toml:7:"), "{err}");
        assert!(err.contains("compresion"), "{err}");
    }

    #[test]
    fn impossible_values_are_all_reported() {
        let text = "data_dir = \"s\"\n[sinks.local_dir]\ndir = \"o\"\ngzip_level = 12\n";
        let err = Config::parse(text, Path::new("x.toml")).unwrap_err().0;
        assert!(err.contains("no source configured"), "{err}");
        assert!(err.contains("gzip_level"), "{err}");
    }
}
