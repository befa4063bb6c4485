//! `auditrail hook`: the agent's PreToolUse/PostToolUse hook that records, never decides.
//!
//! In: the hook payload on stdin (Claude Code's JSON), flags `--log FILE`, `--name NAME`,
//! `--config FILE` (its `[hook]` and `[redaction]` sections). Out: one verdict line
//! (`docs/hook-verdicts.md`, decision `allow`, this process's pid and ppid, the command with its
//! secrets redacted, under 4096 bytes) appended with one `write(2)` to an `O_APPEND` log.
//! Guarantees: nothing on stdout (the agent reads stdout as a decision); exit status 0 whatever
//! happens — a payload that does not parse or a log that cannot be written is reported on stderr
//! and the tool call goes on; no async runtime and no logging framework on this path (it runs
//! before every tool call: see `docs/hooks.md` for its cost).

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use auditrail_parsers::event::rfc3339_millis;
use auditrail_parsers::hook::{
    parse_hook_payload, Decision, HookPayload, HookVerdict, HOOK_VERDICT_VERSION,
};

use crate::redact::{RedactionSettings, Redactor};

/// `[hook]` in the configuration file: defaults for `auditrail hook`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HookSettings {
    /// The verdict log (default `/var/log/auditrail/hook-verdicts.log`).
    pub log: PathBuf,
    /// The hook name written in each verdict (default `audit-log`).
    pub name: String,
}

impl Default for HookSettings {
    fn default() -> Self {
        HookSettings {
            log: PathBuf::from(DEFAULT_LOG),
            name: "audit-log".into(),
        }
    }
}

pub const DEFAULT_LOG: &str = "/var/log/auditrail/hook-verdicts.log";
/// A verdict line, newline included, stays under `PIPE_BUF`.
pub const MAX_LINE: usize = 4095;
/// Stdin beyond this is read and dropped (a PostToolUse payload carries the tool's output).
const MAX_PAYLOAD: u64 = 64 << 20;

/// The hook's command-line options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookArgs {
    pub log: Option<PathBuf>,
    pub name: Option<String>,
    pub config: Option<PathBuf>,
}

impl HookArgs {
    /// Parses the words after `hook`. Never fails: an unknown or incomplete option is reported in
    /// the returned warnings (a hook that exits non-zero could block the agent).
    pub fn parse(args: &[OsString]) -> (HookArgs, Vec<String>) {
        let mut out = HookArgs::default();
        let mut warnings = Vec::new();
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            i += 1;
            let text = arg.to_string_lossy();
            let (flag, inline) = match text.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(OsString::from(v))),
                _ => (text.to_string(), None),
            };
            if !matches!(flag.as_str(), "--log" | "--name" | "--config") {
                warnings.push(format!("ignoring unknown argument {text:?}"));
                continue;
            }
            let value = match inline {
                Some(v) => v,
                None => match args.get(i) {
                    Some(v) => {
                        i += 1;
                        v.clone()
                    }
                    None => {
                        warnings.push(format!("{flag} needs a value"));
                        continue;
                    }
                },
            };
            match flag.as_str() {
                "--log" => out.log = Some(PathBuf::from(value)),
                "--name" => out.name = Some(value.to_string_lossy().into_owned()),
                _ => out.config = Some(PathBuf::from(value)),
            }
        }
        (out, warnings)
    }
}

/// Runs the hook: reads `stdin`, appends the verdict, reports problems on `stderr`. The caller
/// exits 0 whatever this returns; the return value says whether a line was written (tests).
pub fn run(args: &[OsString], stdin: impl Read, stderr: &mut dyn Write) -> bool {
    let (args, warnings) = HookArgs::parse(args);
    for w in warnings {
        let _ = writeln!(stderr, "auditrail hook: {w}");
    }
    let (settings, redaction) = settings_from(&args, stderr);
    let log = args.log.clone().unwrap_or(settings.log);
    let name = args.name.clone().unwrap_or(settings.name);

    let mut payload = Vec::new();
    let mut limited = stdin.take(MAX_PAYLOAD);
    if let Err(e) = limited.read_to_end(&mut payload) {
        let _ = writeln!(stderr, "auditrail hook: cannot read the payload: {e}");
        return false;
    }
    // Drain what is left so that the agent's write never fails on a closed pipe.
    let _ = std::io::copy(&mut limited.into_inner(), &mut std::io::sink());
    let payload = match parse_hook_payload(&payload) {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(stderr, "auditrail hook: {e}; no verdict written");
            return false;
        }
    };
    let Some(verdict) = verdict_for(&payload, &name, &redaction) else {
        let _ = writeln!(
            stderr,
            "auditrail hook: {} is not PreToolUse or PostToolUse; no verdict written",
            payload.hook_event_name
        );
        return false;
    };
    let line = match encode_line(verdict) {
        Ok(line) => line,
        Err(e) => {
            let _ = writeln!(stderr, "auditrail hook: cannot encode the verdict: {e}");
            return false;
        }
    };
    match append_line(&log, &line) {
        Ok(()) => true,
        Err(e) => {
            let _ = writeln!(
                stderr,
                "auditrail hook: cannot write the verdict to {}: {e} (the tool call goes on)",
                log.display()
            );
            false
        }
    }
}

/// `[hook]` and the redactor from `--config`, or the defaults (a config that cannot be used is
/// reported, and the defaults used: redaction stays on).
fn settings_from(args: &HookArgs, stderr: &mut dyn Write) -> (HookSettings, Redactor) {
    let Some(path) = &args.config else {
        return (HookSettings::default(), Redactor::with_defaults());
    };
    let config = match crate::config::Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(stderr, "auditrail hook: {e}; using the defaults");
            return (HookSettings::default(), Redactor::with_defaults());
        }
    };
    let redactor = match Redactor::new(&config.redaction) {
        Ok(r) => r,
        Err(e) => {
            // Most likely the key file is readable by the daemon only: keep redacting, unkeyed.
            let _ = writeln!(stderr, "auditrail hook: {e}; redacting with unkeyed hashes");
            let unkeyed = RedactionSettings {
                hash_key_file: None,
                ..config.redaction.clone()
            };
            Redactor::new(&unkeyed).unwrap_or_else(|_| Redactor::with_defaults())
        }
    };
    (config.hook.clone(), redactor)
}

/// The verdict this hook records for `payload` (`None` for events other than Pre/PostToolUse).
pub fn verdict_for(payload: &HookPayload, name: &str, redactor: &Redactor) -> Option<HookVerdict> {
    let event = payload.event()?;
    let mut kinds = Vec::new();
    let command = payload
        .tool_input
        .command
        .as_ref()
        .map(|c| redactor.redact(c, &mut kinds).unwrap_or_else(|| c.clone()));
    let exit_code = payload.tool_response.as_ref().and_then(|r| {
        r.get("exit_code")
            .or_else(|| r.get("exitCode"))
            .and_then(serde_json::Value::as_i64)
            .and_then(|c| i32::try_from(c).ok())
    });
    Some(HookVerdict {
        v: HOOK_VERDICT_VERSION,
        time: rfc3339_millis(now_millis()),
        hook: name.to_string(),
        event,
        decision: Decision::Allow,
        reason: None,
        session_id: payload.session_id.clone(),
        tool_use_id: payload.tool_use_id.clone().unwrap_or_default(),
        tool_name: payload.tool_name.clone().unwrap_or_default(),
        command,
        cwd: payload.cwd.clone().unwrap_or_default(),
        pid: std::process::id(),
        ppid: std::os::unix::process::parent_id(),
        transcript_path: payload.transcript_path.clone(),
        permission_mode: payload.permission_mode.clone(),
        exit_code,
        truncated: false,
        extra: serde_json::Map::new(),
    })
}

/// One JSON line under [`MAX_LINE`] bytes: `command` (then `transcript_path`) is shortened on a
/// character boundary and `truncated` set if needed.
pub fn encode_line(mut verdict: HookVerdict) -> serde_json::Result<Vec<u8>> {
    for _ in 0..64 {
        let mut line = serde_json::to_vec(&verdict)?;
        line.push(b'\n');
        if line.len() <= MAX_LINE {
            return Ok(line);
        }
        let excess = line.len() - MAX_LINE;
        verdict.truncated = true;
        let field = match (&mut verdict.command, &mut verdict.transcript_path) {
            (Some(c), _) if !c.is_empty() => c,
            (_, Some(t)) if !t.is_empty() => t,
            _ => {
                // Nothing left to cut: the ids themselves are huge. Keep the line whole.
                return Ok(line);
            }
        };
        let mut keep = field.len().saturating_sub(excess.max(16));
        while !field.is_char_boundary(keep) {
            keep -= 1;
        }
        field.truncate(keep);
    }
    let mut line = serde_json::to_vec(&verdict)?;
    line.push(b'\n');
    Ok(line)
}

/// Appends `line` with one `write(2)` on an `O_APPEND` descriptor (created 0640 if missing).
pub fn append_line(path: &Path, line: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)?;
    let n = file.write(line)?;
    if n != line.len() {
        // End the torn line, so that the next hook's line starts on a line of its own (the
        // daemon reports the torn one as a parse error).
        let _ = file.write(b"\n");
        return Err(std::io::Error::other(format!(
            "short write: {n} of {} bytes",
            line.len()
        )));
    }
    Ok(())
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
