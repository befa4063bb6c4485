//! `auditrail parse FILE…`: every input line as one JSON object on stdout.
//!
//! Enters: files (or `-` for stdin) holding audit records, syslog lines or hook verdict lines, in
//! any mix. Leaves: one JSON object per line — the typed record, or `{"error": …, "raw": …}` — and a
//! summary on stderr. Only I/O errors make it fail; bad lines are output, counted, and skipped.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use serde::Serialize;

use auditrail_parsers::audit::parse_record;
use auditrail_parsers::event::{build_event, AuditEvent};
use auditrail_parsers::history::parse_history;
use auditrail_parsers::hook::{parse_hook_verdict, HookVerdict};
use auditrail_parsers::syslog::parse_syslog;

use crate::event::{HistoryView, SyslogView};

/// One output line.
#[derive(Serialize)]
#[serde(untagged)]
enum Parsed {
    Audit {
        kind: &'static str,
        record_type: String,
        audit: Box<AuditEvent>,
    },
    Syslog {
        kind: &'static str,
        syslog: SyslogView,
        #[serde(skip_serializing_if = "Option::is_none")]
        history: Option<HistoryView>,
    },
    Hook {
        kind: &'static str,
        hook: HookVerdict,
    },
    Error {
        error: String,
        raw: String,
    },
}

/// Counts printed at the end.
#[derive(Debug, Default)]
pub struct ParseSummary {
    pub lines: u64,
    pub errors: u64,
    /// Audit record types, `syslog`, `history:<format>`, `hook_verdict`.
    pub by_type: BTreeMap<String, u64>,
}

/// Parses one line into its output form and counts it.
fn parse_line(line: &[u8], summary: &mut ParseSummary) -> Parsed {
    summary.lines += 1;
    let trimmed = line.trim_ascii_start();
    let parsed = if trimmed.starts_with(b"type=") || trimmed.starts_with(b"node=") {
        match parse_record(trimmed) {
            Ok(rec) => Parsed::Audit {
                kind: "audit_record",
                record_type: rec.header.rtype.to_name().into_owned(),
                audit: Box::new(build_event(std::slice::from_ref(&rec))),
            },
            Err(e) => error(e.to_string(), line),
        }
    } else if trimmed.starts_with(b"{") {
        match parse_hook_verdict(trimmed) {
            Ok(v) => Parsed::Hook {
                kind: "hook_verdict",
                hook: v,
            },
            Err(e) => error(e.to_string(), line),
        }
    } else {
        match parse_syslog(line) {
            Ok(msg) => {
                let history = parse_history(&msg).map(|h| HistoryView::from_entry(&h));
                Parsed::Syslog {
                    kind: if history.is_some() {
                        "history"
                    } else {
                        "syslog"
                    },
                    syslog: SyslogView::from_message(&msg),
                    history,
                }
            }
            Err(e) => error(e.to_string(), line),
        }
    };
    let key = match &parsed {
        Parsed::Audit { record_type, .. } => record_type.clone(),
        Parsed::Syslog {
            history: Some(h), ..
        } => format!("history:{}", h.format),
        Parsed::Syslog { .. } => "syslog".into(),
        Parsed::Hook { .. } => "hook_verdict".into(),
        Parsed::Error { .. } => {
            summary.errors += 1;
            "error".into()
        }
    };
    *summary.by_type.entry(key).or_default() += 1;
    parsed
}

fn error(message: String, line: &[u8]) -> Parsed {
    Parsed::Error {
        error: message,
        raw: String::from_utf8_lossy(line).into_owned(),
    }
}

/// Parses every line of `input` to `out`.
pub fn parse_stream(
    input: impl Read,
    out: &mut impl Write,
    summary: &mut ParseSummary,
) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let mut l = line.as_slice();
        if let [rest @ .., b'\n'] = l {
            l = rest;
        }
        if let [rest @ .., b'\r'] = l {
            l = rest;
        }
        if l.is_empty() {
            continue;
        }
        let parsed = parse_line(l, summary);
        serde_json::to_writer(&mut *out, &parsed).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
}

/// `auditrail parse FILE…`. Returns the summary; errors only on I/O failure.
pub fn run(files: &[PathBuf]) -> io::Result<ParseSummary> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut summary = ParseSummary::default();
    for f in files {
        if f.as_os_str() == "-" {
            parse_stream(io::stdin().lock(), &mut out, &mut summary)?;
        } else {
            let file = std::fs::File::open(f)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", f.display())))?;
            parse_stream(file, &mut out, &mut summary)?;
        }
    }
    out.flush()?;
    Ok(summary)
}

impl std::fmt::Display for ParseSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "lines: {}  errors: {}", self.lines, self.errors)?;
        for (k, n) in &self.by_type {
            writeln!(f, "  {k:<24} {n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> (Vec<serde_json::Value>, ParseSummary) {
        let mut out = Vec::new();
        let mut summary = ParseSummary::default();
        parse_stream(input, &mut out, &mut summary).unwrap();
        let values = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        (values, summary)
    }

    #[test]
    fn mixed_input_one_object_per_line() {
        let input = b"type=CWD msg=audit(1700000000.123:42): cwd=\"/tmp\"\n\
Nov 22 21:36:11 vm bash[18199]: carol:/dev/pts/0:#011 uname -a\n\
\xff\xfe garbage\n\
{\"v\":1,\"time\":\"2026-11-22T21:36:11.000Z\",\"hook\":\"dlp-scan\",\"event\":\"PreToolUse\",\"decision\":\"deny\",\"session_id\":\"s\",\"tool_use_id\":\"t\",\"tool_name\":\"Bash\",\"cwd\":\"/\",\"pid\":1,\"ppid\":2}\n\
type=SYSCALL msg=audit(1700000000.123:43): arch=c000003e syscall=59";
        let (values, summary) = parse_all(input);
        assert_eq!(values.len(), 5);
        assert_eq!(values[0]["record_type"], "CWD");
        assert_eq!(values[0]["audit"]["cwd"], "/tmp");
        assert_eq!(values[1]["kind"], "history");
        assert_eq!(values[1]["history"]["command"], "uname -a");
        assert_eq!(values[1]["history"]["user"], "carol");
        assert!(values[2]["error"].is_string(), "{}", values[2]);
        assert_eq!(values[2]["raw"], "\u{fffd}\u{fffd} garbage");
        assert_eq!(values[3]["hook"]["decision"], "deny");
        assert_eq!(values[4]["audit"]["syscall"]["name"], "execve");
        assert_eq!(summary.lines, 5);
        assert_eq!(summary.errors, 1);
        assert_eq!(summary.by_type["CWD"], 1);
        assert_eq!(summary.by_type["history:seed"], 1);
    }
}
