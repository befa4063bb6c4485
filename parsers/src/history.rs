//! Bash history lines carried in syslog messages. In: a parsed [`SyslogMessage`]. Out: an owned
//! [`HistoryEntry`], or `None` when the message is not a history line. Never panics, linear in
//! the message, keeps non-UTF-8 bytes.
//!
//! Three shapes are recognised:
//! - [`HistoryFormat::Seed`], from the deployment's `/etc/profile.d/history-security.sh`:
//!   `logger -p local1.notice -t bash -i -- "${USER}:$(tty):$(fc -ln -0)"`, so TAG `bash[PID]`
//!   where PID is the *logger* process's, and message `USER:TTY:\t COMMAND`. rsyslog writes the
//!   TAB as `#011`. USER and TTY (`/dev/pts/0`, `not a tty`) hold no `:`, so the first two colons
//!   end them and COMMAND keeps any further ones.
//! - [`HistoryFormat::BashHistory`], upstream bash built with `SYSLOG_HISTORY`:
//!   `HISTORY: PID=1722 UID=0 COMMAND` (or `HISTORY (TRUNCATED): …`), TAG `bash`/`-bash`.
//! - [`HistoryFormat::BashPatched`], forks that change the fields, e.g.
//!   `HISTORY: IP=… PID=… PPID=… SID=… UID=… USER=… LOGIN=… CMD=COMMAND`.
//!
//! **What counts as history.** A message starting `HISTORY: ` or `HISTORY (TRUNCATED): ` is
//! bash's, whatever its TAG. Otherwise a message whose TAG is exactly `bash` with a `[PID]` is the
//! seed's (bash's own lines always start with `HISTORY`); the facility (`local1`) is not checked
//! because rsyslog's files do not carry it. A seed message without the two `:` separators is still
//! returned, flagged [`HistoryEntry::malformed`], with the whole message as its command: dropping
//! it would hide a command from the audit trail. A `HISTORY` line without a numeric `PID=` is
//! flagged malformed too.
//!
//! **Truncation.** `logger` cuts a message argument at 1024 bytes (`--size`, default 1 KiB), so
//! a seed message that unescapes to 1024 bytes or more is flagged [`HistoryEntry::truncated`]; a
//! command that is exactly that long by itself is flagged too (it cannot be told apart). Bash
//! marks its own truncation with `HISTORY (TRUNCATED):`.

use memchr::memchr;

use crate::syslog::{parse_decimal_u32, unescape_rsyslog, SyslogMessage};

/// The byte limit at which `logger` cuts a message argument (util-linux default `--size`).
pub const LOGGER_MESSAGE_LIMIT: usize = 1024;

/// Which program wrote the history line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryFormat {
    /// `USER:TTY:\t COMMAND` from history-security.sh via `logger -t bash -i`.
    Seed,
    /// Upstream bash `SYSLOG_HISTORY`: `HISTORY: PID=… UID=… COMMAND`.
    BashHistory,
    /// A patched bash with other `KEY=VALUE` fields, the command usually in `CMD=`.
    BashPatched,
}

/// One command from a shell's history, as a syslog message reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub format: HistoryFormat,
    /// Seed: `${USER}`; BashPatched: `USER=`.
    pub user: Option<Vec<u8>>,
    /// Seed: `$(tty)` (`/dev/pts/0`, `not a tty`); BashPatched: `TTY=` if present.
    pub tty: Option<Vec<u8>>,
    /// The shell's pid: `PID=`, or the syslog `[PID]` of a bash line without one. Seed lines do
    /// not carry it (their `[PID]` is logger's; the logger's parent in the audit log is the shell).
    pub pid: Option<u32>,
    /// `PPID=` (BashPatched).
    pub ppid: Option<u32>,
    /// `SID=`, the shell's session id (BashPatched).
    pub session_id: Option<u32>,
    /// `UID=`.
    pub uid: Option<u32>,
    /// `LOGIN=`, the login name (BashPatched).
    pub login: Option<Vec<u8>>,
    /// `IP=`, the remote address (BashPatched), as written.
    pub remote_ip: Option<Vec<u8>>,
    /// Seed: the syslog `[PID]`, i.e. the `logger` process.
    pub logger_pid: Option<u32>,
    /// Other `KEY=VALUE` fields of a patched bash, in order, as written.
    pub extra_fields: Vec<(Vec<u8>, Vec<u8>)>,
    /// The command, rsyslog escapes undone; for Seed without `fc`'s leading `\t ` (or `\t*`, which
    /// fc writes for an edited history entry).
    pub command: Vec<u8>,
    /// The command's bytes exactly as in the message (escapes and `#011 ` kept).
    pub raw_command: Vec<u8>,
    /// The command is empty: after `history -c`, with `HISTSIZE=0`, or for a shell's first prompt.
    pub empty: bool,
    /// The message was probably cut (see the module doc).
    pub truncated: bool,
    /// The message did not have its format's fields; see the module doc for what is kept.
    pub malformed: bool,
}

/// The history entry a syslog message carries, or `None` if it is not a history line.
pub fn parse_history(msg: &SyslogMessage<'_>) -> Option<HistoryEntry> {
    if let Some(entry) = parse_bash_history(msg) {
        return Some(entry);
    }
    if msg.app_name == Some(b"bash".as_slice()) && msg.pid.is_some() {
        return Some(parse_seed(msg));
    }
    None
}

/// `USER:TTY:\t COMMAND` (rsyslog-escaped).
fn parse_seed(msg: &SyslogMessage<'_>) -> HistoryEntry {
    let raw = msg.message;
    let mut entry = blank_entry(HistoryFormat::Seed);
    entry.logger_pid = msg.pid;
    entry.truncated = unescape_rsyslog(raw).len() >= LOGGER_MESSAGE_LIMIT;
    let mut parts = raw.splitn(3, |&c| c == b':');
    let raw_command = match (parts.next(), parts.next(), parts.next()) {
        (Some(user), Some(tty), Some(command)) => {
            entry.user = Some(unescape_rsyslog(user).into_owned());
            entry.tty = Some(unescape_rsyslog(tty).into_owned());
            command
        }
        _ => {
            entry.malformed = true;
            raw
        }
    };
    let command = unescape_rsyslog(raw_command);
    let command = command
        .strip_prefix(b"\t ")
        .or_else(|| command.strip_prefix(b"\t*"))
        .unwrap_or(&command);
    set_command(&mut entry, raw_command, command);
    entry
}

/// `HISTORY[ (TRUNCATED)]: …` in upstream or patched shape; `None` without that prefix.
fn parse_bash_history(msg: &SyslogMessage<'_>) -> Option<HistoryEntry> {
    let (truncated, fields) = if let Some(rest) = msg.message.strip_prefix(b"HISTORY: ") {
        (false, rest)
    } else {
        (true, msg.message.strip_prefix(b"HISTORY (TRUNCATED): ")?)
    };
    let mut entry = match upstream_fields(fields) {
        Some((pid, uid, raw_command)) => {
            let mut entry = blank_entry(HistoryFormat::BashHistory);
            entry.pid = Some(pid);
            entry.uid = Some(uid);
            set_command(&mut entry, raw_command, &unescape_rsyslog(raw_command));
            entry
        }
        None => patched_fields(fields),
    };
    entry.truncated = truncated;
    if entry.pid.is_none() {
        entry.malformed = true;
        entry.pid = msg.pid;
    }
    Some(entry)
}

/// `PID=digits UID=digits COMMAND`, exactly bash's `"HISTORY: PID=%d UID=%d %s"`.
fn upstream_fields(fields: &[u8]) -> Option<(u32, u32, &[u8])> {
    let (pid, rest) = next_token(fields);
    let (uid, command) = next_token(rest);
    let pid = parse_decimal_u32(pid.strip_prefix(b"PID=")?)?;
    let uid = parse_decimal_u32(uid.strip_prefix(b"UID=")?)?;
    Some((pid, uid, command))
}

/// `KEY=VALUE …` up to `CMD=COMMAND` (or up to the first word that is not `KEY=VALUE`).
fn patched_fields(fields: &[u8]) -> HistoryEntry {
    let mut entry = blank_entry(HistoryFormat::BashPatched);
    let mut rest = fields;
    let raw_command = loop {
        let (token, after) = next_token(rest);
        let Some((key, value)) = key_value(token) else {
            break rest;
        };
        if key.eq_ignore_ascii_case(b"CMD") || key.eq_ignore_ascii_case(b"COMMAND") {
            break &rest[key.len() + 1..];
        }
        let number = |entry: &mut HistoryEntry| {
            let n = parse_decimal_u32(value);
            entry.malformed |= n.is_none();
            n
        };
        let text = || Some(unescape_rsyslog(value).into_owned());
        match key.to_ascii_uppercase().as_slice() {
            b"PID" => entry.pid = number(&mut entry),
            b"PPID" => entry.ppid = number(&mut entry),
            b"SID" => entry.session_id = number(&mut entry),
            b"UID" => entry.uid = number(&mut entry),
            b"USER" => entry.user = text(),
            b"LOGIN" => entry.login = text(),
            b"TTY" => entry.tty = text(),
            b"IP" => entry.remote_ip = text(),
            _ => entry.extra_fields.push((key.to_vec(), value.to_vec())),
        }
        rest = after;
    };
    set_command(&mut entry, raw_command, &unescape_rsyslog(raw_command));
    entry
}

/// The word before the first space, and what follows that space.
fn next_token(s: &[u8]) -> (&[u8], &[u8]) {
    match memchr(b' ', s) {
        Some(space) => (&s[..space], &s[space + 1..]),
        None => (s, &s[s.len()..]),
    }
}

/// `KEY=VALUE` with KEY made of ASCII letters and `_`.
fn key_value(token: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = memchr(b'=', token)?;
    let key = &token[..eq];
    let is_key = !key.is_empty() && key.iter().all(|c| c.is_ascii_alphabetic() || *c == b'_');
    is_key.then(|| (key, &token[eq + 1..]))
}

fn set_command(entry: &mut HistoryEntry, raw_command: &[u8], command: &[u8]) {
    entry.raw_command = raw_command.to_vec();
    entry.command = command.to_vec();
    entry.empty = command.is_empty();
}

fn blank_entry(format: HistoryFormat) -> HistoryEntry {
    HistoryEntry {
        format,
        user: None,
        tty: None,
        pid: None,
        ppid: None,
        session_id: None,
        uid: None,
        login: None,
        remote_ip: None,
        logger_pid: None,
        extra_fields: Vec::new(),
        command: Vec::new(),
        raw_command: Vec::new(),
        empty: true,
        truncated: false,
        malformed: false,
    }
}

#[cfg(test)]
mod tests;
