//! Deterministic workload generator: realistic auditd, syslog and hook-verdict streams for
//! benchmarks, fuzz seeds and end-to-end tests (`auditrail generate`).
//!
//! In: a [`WorkloadConfig`] (seed, size, mix). Out: three byte streams written to any
//! [`Write`] — `audit.log` in RAW format (no EOE records, as auditd writes files, unless
//! [`Mix::eoe`]), rsyslog `messages` in the traditional file format with history-security.sh
//! lines, and one JSON hook verdict per line — plus a [`WorkloadSummary`].
//! Guarantees: the same config gives the same bytes on every run and platform (own SplitMix64,
//! no clock, no OS randomness); audit serials increase and times never go backwards; records are
//! encoded exactly as the kernel does (hex for unsafe strings, split `aN[i]` arguments over 7,500
//! bytes, 128-byte PROCTITLE). Stops at the first event boundary at or past the requested size.

mod agent;
mod audit_fmt;
mod catalog;
mod logins;
mod records;
mod rng;
mod session;
mod shell;
mod sim;
mod sudo;
mod text_fmt;

use std::io::{self, Write};

pub use audit_fmt::{EventLines, Stamp, MAX_EXECVE_AUDIT_LEN, MAX_PROCTITLE_AUDIT_LEN};
pub use rng::SplitMix64;

/// How much to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadSize {
    /// Stop after this many audit events (distinct serials).
    Events(u64),
    /// Stop once `audit.log` holds at least this many bytes.
    AuditBytes(u64),
}

/// Proportions of the different activities. Fractions are probabilities in `0.0..=1.0`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mix {
    /// Share of all audit events whose EXECVE carries one argument of `long_arg_bytes` (an
    /// agent writing a file through a heredoc), split into `aN[i]` hex chunks. Default 1%.
    pub long_arg_fraction: f64,
    /// Size of such a long argument's heredoc body. Default 16 KiB.
    pub long_arg_bytes: usize,
    /// Chance that an event which runs concurrently with the next (pipeline elements) has its
    /// records interleaved with the next event's, as the kernel writes them. Default 5%.
    pub interleave_fraction: f64,
    /// Chance that a network-using command also logs a connect(2) with its SOCKADDR.
    pub connect_fraction: f64,
    /// Chance that a typed command starts an agent (`claude`) instead.
    pub agent_fraction: f64,
    /// Chance that the hook denies an agent's tool call.
    pub deny_fraction: f64,
    /// Share of sessions that are ssh logins (the rest: SSM-like sessions, cron jobs).
    pub ssh_fraction: f64,
    /// Share of sessions that are cron jobs.
    pub cron_fraction: f64,
    /// Chance of an unrelated syslog line before a typed command.
    pub chatter_fraction: f64,
    /// Write an EOE record after each multi-record event (auditd does not in files).
    pub eoe: bool,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            long_arg_fraction: 0.01,
            long_arg_bytes: 16 * 1024,
            interleave_fraction: 0.05,
            connect_fraction: 0.3,
            agent_fraction: 0.1,
            deny_fraction: 0.05,
            ssh_fraction: 0.25,
            cron_fraction: 0.1,
            chatter_fraction: 0.1,
            eoe: false,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadConfig {
    pub seed: u64,
    pub size: WorkloadSize,
    pub mix: Mix,
}

impl WorkloadConfig {
    /// The default mix, sized in bytes of `audit.log`.
    pub fn with_audit_bytes(seed: u64, bytes: u64) -> Self {
        WorkloadConfig {
            seed,
            size: WorkloadSize::AuditBytes(bytes),
            mix: Mix::default(),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkloadSummary {
    /// Audit events (distinct serials).
    pub events: u64,
    pub audit_records: u64,
    pub audit_bytes: u64,
    /// Events that are a successful execve.
    pub execve_events: u64,
    /// Execve events with an argument longer than one EXECVE record (split `aN[i]` chunks).
    pub long_arg_events: u64,
    pub connect_events: u64,
    /// Single-record user-space events (PAM, USER_CMD, LOGIN …).
    pub user_records: u64,
    /// Pairs of events whose records were interleaved.
    pub interleaved_pairs: u64,
    pub sessions: u64,
    pub agent_runs: u64,
    pub syslog_lines: u64,
    pub syslog_bytes: u64,
    /// history-security.sh lines among `syslog_lines`.
    pub history_lines: u64,
    pub hook_lines: u64,
    pub hook_bytes: u64,
}

/// Writes the workload described by `cfg` to the three streams.
pub fn generate(
    cfg: &WorkloadConfig,
    audit: &mut dyn Write,
    syslog: &mut dyn Write,
    hooks: &mut dyn Write,
) -> io::Result<WorkloadSummary> {
    let empty = matches!(
        cfg.size,
        WorkloadSize::Events(0) | WorkloadSize::AuditBytes(0)
    );
    let mut sim = sim::Sim::new(cfg, audit, syslog, hooks);
    if !empty {
        match sim.run() {
            Ok(()) | Err(sim::Halt::Done) => {}
            Err(sim::Halt::Io(e)) => return Err(e),
        }
    }
    sim.finish()?;
    Ok(sim.summary.clone())
}

/// Generates into memory: `(audit.log, messages, hooks)` bytes and the summary.
pub fn generate_to_vecs(cfg: &WorkloadConfig) -> (Vec<u8>, Vec<u8>, Vec<u8>, WorkloadSummary) {
    let (mut audit, mut syslog, mut hooks) = (Vec::new(), Vec::new(), Vec::new());
    // Writing to a Vec cannot fail.
    let summary = generate(cfg, &mut audit, &mut syslog, &mut hooks).unwrap_or_default();
    (audit, syslog, hooks, summary)
}

/// Parses a size such as `100MB`, `512KiB`, `1.5GB`, `64k` or `4096` into bytes. Decimal units
/// (`k`/`KB`, `M`/`MB`, `G`/`GB`) are powers of 1000, binary ones (`KiB`, `MiB`, `GiB`) of 1024.
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("size `{text}`: expected a number, e.g. 100MB"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => return Err(format!("size `{text}`: unknown unit `{other}`")),
    };
    let bytes = value * multiplier as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("size `{text}` is out of range"));
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests;
