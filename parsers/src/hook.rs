//! Agent hook records: the verdict lines that PreToolUse/PostToolUse hooks append (one JSON object
//! per line, schema in `docs/hook-verdicts.md`), and the JSON payload a Claude Code hook reads on
//! stdin.
//!
//! In: one line / one payload as bytes. Out: owned [`HookVerdict`] / [`HookPayload`], or a
//! [`ParseError`] whose `what` names the kind of failure and whose `detail` carries serde's
//! message ("missing field `decision`"). Unknown fields are kept in `extra` maps, so a newer
//! writer's additions survive a parse/serialize round trip; a different schema version `v` is
//! rejected. Never panics; serde_json parses in linear time.

use memchr::memchr_iter;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ParseError;
use crate::syslog::parse_rfc3339;

/// The schema version this crate reads and writes.
pub const HOOK_VERDICT_VERSION: u32 = 1;

/// The hook event a verdict was given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HookEvent {
    PreToolUse,
    PostToolUse,
}

/// What the hook decided about the tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Ask,
    Deny,
}

/// One verdict line. Field meanings: `docs/hook-verdicts.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookVerdict {
    /// Schema version, [`HOOK_VERDICT_VERSION`].
    pub v: u32,
    /// When the hook decided: RFC 3339, written in UTC with milliseconds.
    pub time: String,
    /// The hook's name: `audit-log`, `dlp-scan`, `prompt-injection`, …
    pub hook: String,
    pub event: HookEvent,
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The agent's session id.
    pub session_id: String,
    pub tool_use_id: String,
    pub tool_name: String,
    /// The Bash tool's `tool_input.command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    pub cwd: String,
    /// The hook process's pid.
    pub pid: u32,
    /// The hook process's parent pid (the `sh -c` the agent started it with).
    pub ppid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<String>,
    /// The tool's exit code (PostToolUse), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// True if the writer shortened `command` or `reason` to keep the line short.
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// Fields this version does not know, kept as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl HookVerdict {
    /// `time` as milliseconds since the Unix epoch (`None` only if `time` was altered after
    /// parsing: [`parse_hook_verdict`] rejects an unparseable one).
    pub fn time_epoch_millis(&self) -> Option<i64> {
        let ts = parse_rfc3339(self.time.as_bytes()).ok()?;
        let secs = ts.to_epoch_seconds(1970, 0)?;
        Some(secs * 1000 + i64::from(ts.nanos / 1_000_000))
    }
}

/// What a Claude Code hook reads on stdin (PreToolUse, PostToolUse; other events parse too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookPayload {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<String>,
    /// `PreToolUse`, `PostToolUse`, … (see [`HookPayload::event`]).
    pub hook_event_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    #[serde(default)]
    pub tool_input: ToolInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// PostToolUse: the tool's result, as the agent sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_response: Option<Value>,
    /// Fields not listed above, kept as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl HookPayload {
    /// `hook_event_name` if it is an event verdicts are written for.
    pub fn event(&self) -> Option<HookEvent> {
        match self.hook_event_name.as_str() {
            "PreToolUse" => Some(HookEvent::PreToolUse),
            "PostToolUse" => Some(HookEvent::PostToolUse),
            _ => None,
        }
    }
}

/// A tool call's input. The Bash tool's fields are named; other tools' (`file_path`, …) are in
/// `extra`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_in_background: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Parses one verdict line (a trailing newline is fine). Rejects another schema version and a
/// `time` that is not RFC 3339.
pub fn parse_hook_verdict(line: &[u8]) -> Result<HookVerdict, ParseError> {
    const WHATS: JsonWhats = JsonWhats {
        syntax: "invalid hook verdict JSON",
        eof: "hook verdict JSON ends early",
        data: "hook verdict does not match the schema",
    };
    let verdict: HookVerdict = serde_json::from_slice(line).map_err(|e| WHATS.error(line, &e))?;
    if verdict.v != HOOK_VERDICT_VERSION {
        return Err(
            ParseError::new("unsupported hook verdict version", line, 0).with_detail(format!(
                "v is {}, this reader knows {HOOK_VERDICT_VERSION}",
                verdict.v
            )),
        );
    }
    if let Err(e) = parse_rfc3339(verdict.time.as_bytes()) {
        let detail = format!("time {:?}: {e}", verdict.time);
        return Err(
            ParseError::new("hook verdict time is not RFC 3339", line, 0).with_detail(detail),
        );
    }
    Ok(verdict)
}

/// Parses the JSON a Claude Code hook receives on stdin.
pub fn parse_hook_payload(json: &[u8]) -> Result<HookPayload, ParseError> {
    const WHATS: JsonWhats = JsonWhats {
        syntax: "invalid hook payload JSON",
        eof: "hook payload JSON ends early",
        data: "hook payload does not match the expected shape",
    };
    serde_json::from_slice(json).map_err(|e| WHATS.error(json, &e))
}

/// The fixed `what` of each kind of serde_json failure.
struct JsonWhats {
    syntax: &'static str,
    eof: &'static str,
    data: &'static str,
}

impl JsonWhats {
    fn error(&self, input: &[u8], e: &serde_json::Error) -> ParseError {
        use serde_json::error::Category;
        let what = match e.classify() {
            Category::Syntax | Category::Io => self.syntax,
            Category::Eof => self.eof,
            Category::Data => self.data,
        };
        ParseError::new(what, input, byte_offset(input, e.line(), e.column()))
            .with_detail(e.to_string())
    }
}

/// The byte offset of serde_json's one-based `line` and (byte) `column`.
fn byte_offset(input: &[u8], line: usize, column: usize) -> usize {
    let line_start = match line.checked_sub(2) {
        None => 0,
        Some(newlines_before) => memchr_iter(b'\n', input)
            .nth(newlines_before)
            .map_or(input.len(), |nl| nl + 1),
    };
    line_start.saturating_add(column.saturating_sub(1))
}

#[cfg(test)]
mod tests;
