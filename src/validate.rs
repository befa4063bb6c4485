//! `auditrail validate`: every problem of a configuration file at once.
//!
//! Enters: a config file path. Leaves: a list of [`Problem`]s (errors and warnings), each with
//! the file's line:column where one is known and what would be valid, and an exit code
//! ([`EXIT_VALID`], [`EXIT_INVALID`], [`EXIT_UNREADABLE`], [`EXIT_SINK_UNHEALTHY`]).
//!
//! One mechanism, the serde structs of `crate::config`, decides what is known: the typed parse
//! is repeated, and after each serde error (unknown key, wrong type, unknown variant) the
//! offending entry is blanked out with spaces (same offsets, so positions stay those of the
//! original file) and the parse runs again, until it succeeds or an error cannot be isolated.
//! Then come the semantic checks (`Config::problems`), path checks and sink name checks. Nothing
//! is written except a probe file created and removed in directories that must be writable, and
//! whatever each sink's health check does under `--check-sinks`.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use auditrail_sinks::{CloudWatchSink, FirehoseSink, LocalDirConfig, LocalDirSink, Sink};
use toml_edit::{ImDocument, InlineTable, Item, Table, Value};

use crate::config::{line_col, Config};
use checks::{path_problems, sink_name_problems};

mod checks;

/// The configuration is valid (and, with `--check-sinks`, every sink is healthy).
pub const EXIT_VALID: u8 = 0;
/// The configuration has at least one error.
pub const EXIT_INVALID: u8 = 1;
/// The file cannot be read.
pub const EXIT_UNREADABLE: u8 = 2;
/// The configuration is valid but a sink's health check failed (`--check-sinks`).
pub const EXIT_SINK_UNHEALTHY: u8 = 3;

/// Longest one sink's health check may take.
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// How bad a [`Problem`] is: only errors make the configuration invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    /// Worth knowing, not fatal (e.g. a source file that does not exist yet).
    Warning,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    /// 1-based line and column in the file, where known.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl Problem {
    /// `FILE:LINE:COL: error: MESSAGE` (or `FILE: …` without a position).
    pub fn render(&self, path: &Path) -> String {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.position {
            Some((line, col)) => {
                format!("{}:{line}:{col}: {kind}: {}", path.display(), self.message)
            }
            None => format!("{}: {kind}: {}", path.display(), self.message),
        }
    }
}

/// Every problem of `text` (the contents of `path`), and the typed config when it parses.
pub fn check_text(text: &str, path: &Path) -> (Vec<Problem>, Option<Config>) {
    let mut problems = Vec::new();
    let cfg = typed_parse(text, path, &mut problems);
    let doc = ImDocument::parse(text).ok();
    let locate = |message: String, severity| Problem {
        severity,
        position: doc
            .as_ref()
            .and_then(|d| key_position(d.as_table(), &message))
            .map(|offset| line_col(text, offset)),
        message,
    };
    if cfg.is_none() {
        problems.push(Problem {
            severity: Severity::Warning,
            position: None,
            message: "value, path and sink checks need a file that parses: fix the errors above \
                      and run again"
                .to_string(),
        });
    }
    if let Some(cfg) = &cfg {
        problems.extend(
            cfg.problems()
                .into_iter()
                .map(|m| locate(m, Severity::Error)),
        );
        problems.extend(
            sink_name_problems(cfg)
                .into_iter()
                .map(|m| locate(m, Severity::Error)),
        );
        for (severity, message) in path_problems(cfg) {
            problems.push(locate(message, severity));
        }
    }
    (problems, cfg)
}

/// Runs `auditrail validate`: prints every problem to `out` and returns the exit code.
pub fn run(path: &Path, check_sinks: bool, out: &mut impl std::io::Write) -> u8 {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(out, "{}: cannot read: {e}", path.display());
            return EXIT_UNREADABLE;
        }
    };
    let (mut problems, cfg) = check_text(&text, path);
    // In file order, like a compiler; problems without a position last.
    problems.sort_by_key(|p| p.position.unwrap_or((usize::MAX, 0)));
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let mut report = String::new();
    for p in &problems {
        let _ = writeln!(report, "{}", p.render(path));
    }
    let cfg = match cfg {
        Some(cfg) if errors == 0 => cfg,
        _ => {
            let _ = write!(report, "{}: invalid: {errors} error(s)", path.display());
            let _ = writeln!(out, "{report}");
            return EXIT_INVALID;
        }
    };
    let _ = writeln!(out, "{report}{}: valid", path.display());
    if !check_sinks {
        return EXIT_VALID;
    }
    let results = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(healthcheck_sinks(&cfg)),
        Err(e) => vec![("runtime".to_string(), Err(e.to_string()))],
    };
    let mut healthy = true;
    for (name, result) in results {
        let line = match result {
            Ok(()) => format!("sink {name}: healthy"),
            Err(e) => {
                healthy = false;
                format!("sink {name}: health check failed: {e}")
            }
        };
        let _ = writeln!(out, "{line}");
    }
    if healthy {
        EXIT_VALID
    } else {
        EXIT_SINK_UNHEALTHY
    }
}

/// Builds every configured sink as the pipeline does and runs its health check.
pub async fn healthcheck_sinks(cfg: &Config) -> Vec<(String, Result<(), String>)> {
    async fn check<S: Sink>(mut sink: S) -> (String, Result<(), String>) {
        let name = sink.name().to_string();
        let result = match tokio::time::timeout(HEALTHCHECK_TIMEOUT, sink.healthcheck()).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {HEALTHCHECK_TIMEOUT:?}")),
        };
        (name, result)
    }
    let host = cfg.host_name();
    let sinks = &cfg.sinks;
    let mut results = Vec::new();
    for (key, s) in [
        ("sinks.local_dir", &sinks.local_dir),
        ("sinks.alerts.local_dir", &sinks.alerts.local_dir),
    ] {
        let Some(s) = s else { continue };
        match LocalDirSink::new(local_dir_config(s, &host)) {
            Ok(sink) => results.push(check(sink).await),
            Err(e) => results.push((key.to_string(), Err(e.to_string()))),
        }
    }
    if sinks.stdout.is_some() {
        results.push(check(auditrail_sinks::StdoutSink::new()).await);
    }
    for (key, s) in [
        ("sinks.firehose", &sinks.firehose),
        ("sinks.alerts.firehose", &sinks.alerts.firehose),
    ] {
        let Some(s) = s else { continue };
        match FirehoseSink::new(s.clone()).await {
            Ok(sink) => results.push(check(sink).await),
            Err(e) => results.push((key.to_string(), Err(e))),
        }
    }
    for (key, s) in [
        ("sinks.cloudwatch", &sinks.cloudwatch),
        ("sinks.alerts.cloudwatch", &sinks.alerts.cloudwatch),
    ] {
        let Some(s) = s else { continue };
        match CloudWatchSink::new(s.clone(), &host).await {
            Ok(sink) => results.push(check(sink).await),
            Err(e) => results.push((key.to_string(), Err(e))),
        }
    }
    results
}

fn local_dir_config(s: &crate::config::LocalDirSinkSettings, host: &str) -> LocalDirConfig {
    LocalDirConfig {
        dir: s.dir.clone(),
        prefix: s.prefix.clone(),
        host: host.to_string(),
    }
}

/// The typed parse, repeated past each isolable serde error (see the module docs).
fn typed_parse(text: &str, path: &Path, problems: &mut Vec<Problem>) -> Option<Config> {
    let mut work = text.to_string();
    let mut blanked: Vec<String> = Vec::new();
    // Each round blanks at least one entry, so the file's size bounds the rounds.
    for _ in 0..=text.len() {
        let err = match Config::parse_unchecked(&work, path) {
            Ok(cfg) => return Some(cfg),
            Err(e) => e,
        };
        let message = err.message().trim().replace('\n', "; ");
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next());
        if missing.is_some_and(|name| blanked.iter().any(|b| b.rsplit('.').next() == Some(name))) {
            // A required key already reported with a wrong value.
            return None;
        }
        let span = err.span();
        let entry = span.as_ref().and_then(|s| {
            let doc = ImDocument::parse(work.as_str()).ok()?;
            entry_at(doc.as_table(), &work, s.start, "")
        });
        let position = span.map(|s| line_col(text, s.start));
        let Some((range, key)) = entry.filter(|_| missing.is_none()) else {
            problems.push(Problem {
                severity: Severity::Error,
                position,
                message,
            });
            return None;
        };
        let message = if message.contains(&format!("`{}`", leaf(&key))) {
            message
        } else {
            format!("{key}: {message}")
        };
        problems.push(Problem {
            severity: Severity::Error,
            position,
            message,
        });
        blank(&mut work, range);
        blanked.push(key);
    }
    None
}

fn leaf(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Replaces `range` of `text` with spaces, keeping newlines (and so every later position).
fn blank(text: &mut String, range: Range<usize>) {
    let Some(part) = text.get(range.clone()) else {
        return;
    };
    let spaces: String = part
        .chars()
        .map(|c| {
            if c == '\n' {
                "\n".to_string()
            } else {
                " ".repeat(c.len_utf8())
            }
        })
        .collect();
    text.replace_range(range, &spaces);
}

/// The byte range of the innermost entry (key = value, or a table header with its own keys)
/// covering `pos`, and its dotted key path.
fn entry_at(table: &Table, text: &str, pos: usize, prefix: &str) -> Option<(Range<usize>, String)> {
    for (name, item) in table.iter() {
        let path = join(prefix, name);
        let key_span = table.key(name).and_then(|k| k.span());
        match item {
            Item::Value(value) => {
                if let Value::InlineTable(t) = value {
                    if let Some(found) = inline_entry_at(t, text, pos, &path) {
                        return Some(found);
                    }
                }
                if let (Some(k), Some(v)) = (key_span, value.span()) {
                    if (k.start..v.end).contains(&pos) {
                        return Some((k.start..v.end, path));
                    }
                }
            }
            Item::Table(t) => {
                if let Some(found) = entry_at(t, text, pos, &path) {
                    return Some(found);
                }
                if key_span.as_ref().is_some_and(|k| k.contains(&pos)) {
                    return table_range(t, key_span).map(|r| (r, path));
                }
            }
            Item::ArrayOfTables(tables) => {
                for t in tables.iter() {
                    if let Some(found) = entry_at(t, text, pos, &path) {
                        return Some(found);
                    }
                    if t.span().is_some_and(|s| s.contains(&pos)) {
                        return table_range(t, None).map(|r| (r, path));
                    }
                }
            }
            Item::None => {}
        }
    }
    None
}

/// Same as [`entry_at`] inside `{ … }`; the range takes a neighbouring comma along so the
/// blanked table stays valid TOML.
fn inline_entry_at(
    table: &InlineTable,
    text: &str,
    pos: usize,
    prefix: &str,
) -> Option<(Range<usize>, String)> {
    for (name, value) in table.iter() {
        let path = join(prefix, name);
        if let Value::InlineTable(t) = value {
            if let Some(found) = inline_entry_at(t, text, pos, &path) {
                return Some(found);
            }
        }
        let (Some(k), Some(v)) = (table.key(name).and_then(|k| k.span()), value.span()) else {
            continue;
        };
        if !(k.start..v.end).contains(&pos) {
            continue;
        }
        let after = text.get(v.end..).unwrap_or("");
        let trimmed = after.trim_start();
        if trimmed.starts_with(',') {
            return Some((k.start..v.end + (after.len() - trimmed.len()) + 1, path));
        }
        let before = text.get(..k.start).unwrap_or("").trim_end();
        if before.ends_with(',') {
            return Some((before.len() - 1..v.end, path));
        }
        return Some((k.start..v.end, path));
    }
    None
}

/// A table's header and its own `key = value` lines (not its sub-tables, which have headers of
/// their own).
fn table_range(t: &Table, key_span: Option<Range<usize>>) -> Option<Range<usize>> {
    let start = t.span().or(key_span)?;
    let mut end = start.end;
    for (name, item) in t.iter() {
        if let Item::Value(v) = item {
            let key_end = t.key(name).and_then(|k| k.span()).map_or(0, |k| k.end);
            end = end.max(v.span().map_or(key_end, |s| s.end));
        }
    }
    Some(start.start..end)
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The offset of the key a message names in its first word (`sources.audit.paths: …`,
/// `coalesce.max_in_flight must be …`); the deepest key of that path present in the file.
fn key_position(root: &Table, message: &str) -> Option<usize> {
    let word = message
        .split_whitespace()
        .next()?
        .trim_end_matches([':', ',']);
    let mut best = None;
    let mut item: Option<&Item> = None;
    for name in word.split('.') {
        let found = match item {
            None => root.get_key_value(name),
            Some(Item::Table(t)) => t.get_key_value(name),
            Some(Item::Value(Value::InlineTable(t))) => t.get_key_value(name),
            Some(Item::ArrayOfTables(a)) => a.get(0).and_then(|t| t.get_key_value(name)),
            Some(_) => None,
        };
        let Some((key, next)) = found else {
            return best;
        };
        best = key.span().map(|s| s.start).or(best);
        item = Some(next);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanking_keeps_every_later_position_and_valid_toml() {
        let text = "a = { b = 1, c = \"é\" }\n[t]\nx = [1,\n 2]\ny = 3\n";
        let doc = ImDocument::parse(text).unwrap();
        let c = text.find("c =").unwrap();
        let (range, key) = entry_at(doc.as_table(), text, c, "").unwrap();
        assert_eq!(key, "a.c");
        let x = text.find("x =").unwrap();
        let (x_range, x_key) = entry_at(doc.as_table(), text, x + 6, "").unwrap();
        assert_eq!(x_key, "t.x");
        let mut work = text.to_string();
        blank(&mut work, range);
        blank(&mut work, x_range);
        assert_eq!(work.len(), text.len());
        assert_eq!(work.lines().count(), text.lines().count());
        let parsed: toml::Table = toml::from_str(&work).unwrap();
        assert_eq!(parsed["a"].as_table().unwrap().len(), 1);
        assert_eq!(
            parsed["t"].as_table().unwrap().keys().collect::<Vec<_>>(),
            ["y"]
        );
    }

    #[test]
    fn messages_are_located_by_their_leading_key_path() {
        let text = "data_dir = \"s\"\n[sinks.local_dir]\ndir = \"o\"\ngzip_level = 12\n";
        let doc = ImDocument::parse(text).unwrap();
        let at = key_position(doc.as_table(), "sinks.local_dir.gzip_level must be 0..=9");
        assert_eq!(at.map(|o| line_col(text, o)), Some((4, 1)));
        // A path only partly in the file points at its deepest present key.
        let at = key_position(doc.as_table(), "sinks.local_dir.batch limits must be > 0");
        assert_eq!(at.map(|o| line_col(text, o)), Some((2, 8)));
        assert_eq!(
            key_position(doc.as_table(), "no source configured: add"),
            None
        );
    }
}
