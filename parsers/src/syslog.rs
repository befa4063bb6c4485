//! One syslog line, as a file holds it or a socket receives it, split into its header fields.
//!
//! Three shapes are recognised:
//! - RFC 3164 as rsyslog writes files (`RSYSLOG_TraditionalFileFormat`) and as `syslog(3)` and
//!   `logger` send to `/dev/log`: `[<PRI>]Mmm dd hh:mm:ss [HOST ]TAG[[PID]][:] MSG`;
//! - the same layout with an RFC 3339 time stamp (`RSYSLOG_FileFormat`);
//! - RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]`.
//!
//! [`parse_syslog`] borrows every field from the line and decodes nothing: the message keeps
//! rsyslog's `#NNN` control-character escapes until [`unescape_rsyslog`] is asked. It never
//! panics, runs in time linear in the line and keeps non-UTF-8 bytes. RFC 3164 has no year and no
//! zone: [`SyslogTimestamp::to_epoch_seconds`] takes both from the caller.
//!
//! **Hostname heuristic** (RFC 3164 layouts). A file written by rsyslog always has a HOST, but a
//! message received on a socket (`<13>Nov 22 21:36:11 tag[1]: msg`) or written by some patched
//! shells may lack it. Like rsyslog's own parser, the first word is taken as HOST only if it is
//! followed by a space (or ends the line) and looks like a host name: letters, digits, `.`, `_`,
//! `-` ending in a letter or digit, or an IPv6 address (hex digits, `.`, two or more `:`, bare or
//! in `[…]`). So `-bash:`, `sshd[42]:` and `rsyslogd:` are tags, never hosts. The price, shared
//! with rsyslog: a host-less line whose tag has neither `[pid]` nor `:` (`<13>Nov 22 21:36:11 app
//! hello`) reads as HOST `app`, TAG `hello`.
//!
//! **Tag.** As in rsyslog, the TAG runs to the first `:` or space; a trailing `[PROCID]` is split
//! off; one space after the `:` belongs to the layout, not to the message.

mod rfc5424;
#[cfg(test)]
pub(crate) mod tests;
mod timestamp;

use std::borrow::Cow;

use memchr::memchr;
use nom::bytes::complete::take_while_m_n;
use nom::character::complete::char;
use nom::combinator::map_opt;
use nom::sequence::delimited;
use nom::IResult;

use crate::error::ParseError;

pub use timestamp::{infer_year, parse_rfc3339, SyslogTimestamp};

/// The header shape a line was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyslogFormat {
    /// `Mmm dd hh:mm:ss` layout: RFC 3164, `RSYSLOG_TraditionalFileFormat`, `syslog(3)`.
    Rfc3164,
    /// RFC 3339 time stamp in the RFC 3164 layout: `RSYSLOG_FileFormat`.
    RsyslogFileFormat,
    /// `<PRI>1 …`: RFC 5424 (also `RSYSLOG_SyslogProtocol23Format`).
    Rfc5424,
}

/// One parsed syslog line. Every slice borrows from the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogMessage<'a> {
    pub format: SyslogFormat,
    /// `PRI >> 3`, when the line carries a `<PRI>` (files written by rsyslog do not).
    pub facility: Option<u8>,
    /// `PRI & 7`, when the line carries a `<PRI>`.
    pub severity: Option<u8>,
    /// `None` only for an RFC 5424 NILVALUE (`-`).
    pub timestamp: Option<SyslogTimestamp<'a>>,
    /// `None` when absent (see the module's hostname heuristic) or `-` (RFC 5424).
    pub hostname: Option<&'a [u8]>,
    /// The TAG without `[PROCID]` and `:` (`bash`, `-bash`), or RFC 5424's APP-NAME.
    pub app_name: Option<&'a [u8]>,
    /// The text between the TAG's `[` and `]`, or RFC 5424's PROCID, as written.
    pub procid: Option<&'a [u8]>,
    /// `procid` when it is a decimal number that fits a `u32`.
    pub pid: Option<u32>,
    /// RFC 5424's MSGID.
    pub msgid: Option<&'a [u8]>,
    /// RFC 5424's STRUCTURED-DATA, raw (`[id k="v"]…`); `None` for `-` and other formats.
    pub structured_data: Option<&'a [u8]>,
    /// The message as written: rsyslog's `#NNN` escapes intact (see [`unescape_rsyslog`]),
    /// an RFC 5424 BOM dropped, the line's trailing `\n` / `\r\n` dropped.
    pub message: &'a [u8],
}

/// Parses one syslog line (a trailing `\n` or `\r\n` is ignored).
pub fn parse_syslog(line: &[u8]) -> Result<SyslogMessage<'_>, ParseError> {
    let line = strip_line_end(line);
    let (after_pri, pri) = if line.first() == Some(&b'<') {
        let (rest, pri) = priority(line)
            .map_err(|e| ParseError::new("expected <PRI> of 0..=191", line, failed_at(line, &e)))?;
        (rest, Some(pri))
    } else {
        (line, None)
    };
    match pri {
        Some(pri) if rfc5424::looks_like(after_pri) => rfc5424::parse(line, after_pri, pri),
        _ => parse_rfc3164_layout(line, after_pri, pri),
    }
}

/// Turns rsyslog's control-character escapes back into bytes: `#` and exactly three octal digits
/// whose value is below 0x20 or is 0x7f (`#011` → TAB, `#177` → DEL). Any other `#` stays as it
/// is (`#1234` is `#123` + `4`; `#101` is text, since rsyslog never escapes `A`). A user who typed
/// `#011` literally cannot be told apart from a TAB: rsyslog does not escape `#`.
pub fn unescape_rsyslog(msg: &[u8]) -> Cow<'_, [u8]> {
    let mut unescaped: Option<Vec<u8>> = None;
    let mut copied_to = 0;
    let mut search_from = 0;
    while let Some(found) = memchr(b'#', &msg[search_from..]) {
        let at = search_from + found;
        match escaped_control(msg, at) {
            Some(byte) => {
                let out = unescaped.get_or_insert_with(|| Vec::with_capacity(msg.len()));
                out.extend_from_slice(&msg[copied_to..at]);
                out.push(byte);
                copied_to = at + 4;
                search_from = at + 4;
            }
            None => search_from = at + 1,
        }
    }
    match unescaped {
        None => Cow::Borrowed(msg),
        Some(mut out) => {
            out.extend_from_slice(&msg[copied_to..]);
            Cow::Owned(out)
        }
    }
}

/// The control byte that `msg[at..at + 4]` escapes, if it is `#` + three octal digits of one.
fn escaped_control(msg: &[u8], at: usize) -> Option<u8> {
    let [b'#', digits @ ..] = msg.get(at..at + 4)? else {
        return None;
    };
    let mut value: u16 = 0;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        value = value * 8 + u16::from(d - b'0');
    }
    (value < 0x20 || value == 0x7f).then_some(value as u8)
}

/// 1 to 10 ASCII digits that fit a `u32` (a PROCID, `[PID]`, `UID=`): no sign, no spaces.
pub(crate) fn parse_decimal_u32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 10 {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &c| {
        let d = c.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u32::from(d))
    })
}

/// Byte offset in `line` at which a nom parser over a suffix of `line` failed.
fn failed_at(line: &[u8], e: &nom::Err<nom::error::Error<&[u8]>>) -> usize {
    match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => line.len().saturating_sub(e.input.len()),
        nom::Err::Incomplete(_) => line.len(),
    }
}

/// `<PRI>`: 1 to 3 digits, at most 191.
fn priority(input: &[u8]) -> IResult<&[u8], u8> {
    let value = map_opt(
        take_while_m_n(1, 3, |c: u8| c.is_ascii_digit()),
        |d: &[u8]| {
            let v = d
                .iter()
                .fold(0u16, |acc, &c| acc * 10 + u16::from(c - b'0'));
            u8::try_from(v).ok().filter(|v| *v <= 191)
        },
    );
    delimited(char('<'), value, char('>'))(input)
}

/// `TIMESTAMP [HOST ]TAG MSG` after an optional `<PRI>`, the time stamp RFC 3164 or RFC 3339.
fn parse_rfc3164_layout<'a>(
    line: &'a [u8],
    after_pri: &'a [u8],
    pri: Option<u8>,
) -> Result<SyslogMessage<'a>, ParseError> {
    let starts_with_year = after_pri.len() > 4
        && after_pri[..4].iter().all(u8::is_ascii_digit)
        && after_pri[4] == b'-';
    let (format, parsed) = if starts_with_year {
        (
            SyslogFormat::RsyslogFileFormat,
            timestamp::rfc3339(after_pri),
        )
    } else {
        (SyslogFormat::Rfc3164, timestamp::rfc3164(after_pri))
    };
    let (rest, timestamp) = parsed.map_err(|e| {
        ParseError::new(
            "expected RFC 3164 or RFC 3339 time stamp",
            line,
            failed_at(line, &e),
        )
    })?;
    let rest = match rest.split_first() {
        None => rest,
        Some((b' ', after)) => after,
        Some(_) => {
            let at = line.len() - rest.len();
            return Err(ParseError::new("expected space after time stamp", line, at));
        }
    };
    let (hostname, rest) = split_hostname(rest);
    let (tag, message) = split_tag(rest);
    let (app_name, procid) = tag.map_or((None, None), split_procid);
    Ok(SyslogMessage {
        format,
        facility: pri.map(|p| p >> 3),
        severity: pri.map(|p| p & 7),
        timestamp: Some(timestamp),
        hostname,
        app_name,
        procid,
        pid: procid.and_then(parse_decimal_u32),
        msgid: None,
        structured_data: None,
        message,
    })
}

/// The first word as HOST if it looks like one (see the module doc), and what follows it.
fn split_hostname(rest: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let end = memchr(b' ', rest).unwrap_or(rest.len());
    let word = &rest[..end];
    if looks_like_hostname(word) {
        (Some(word), rest.get(end + 1..).unwrap_or_default())
    } else {
        (None, rest)
    }
}

fn looks_like_hostname(word: &[u8]) -> bool {
    let Some(&last) = word.last() else {
        return false;
    };
    let is_ipv6 = |w: &[u8]| {
        w.iter()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, b':' | b'.'))
            && w.iter().filter(|&&c| c == b':').count() >= 2
    };
    if let Some(inner) = word.strip_prefix(b"[").and_then(|w| w.strip_suffix(b"]")) {
        return is_ipv6(inner);
    }
    let name_like = word
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    (name_like && last.is_ascii_alphanumeric())
        || (is_ipv6(word) && (last.is_ascii_hexdigit() || word.ends_with(b"::")))
}

/// TAG (up to the first `:` or space) and the message after it.
fn split_tag(rest: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let end = rest
        .iter()
        .position(|&c| c == b':' || c == b' ')
        .unwrap_or(rest.len());
    let tag = &rest[..end];
    let message = match rest.get(end) {
        Some(b':') => {
            let after = &rest[end + 1..];
            after.strip_prefix(b" ").unwrap_or(after)
        }
        Some(_) => &rest[end + 1..],
        None => &rest[end..],
    };
    ((!tag.is_empty()).then_some(tag), message)
}

/// `name[procid]` → (`name`, `procid`); any other tag is all name.
fn split_procid(tag: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let bracketed = tag
        .strip_suffix(b"]")
        .and_then(|t| memchr(b'[', t).map(|open| (&t[..open], &t[open + 1..])));
    let (name, procid) = match bracketed {
        Some((name, procid)) => (name, Some(procid)),
        None => (tag, None),
    };
    ((!name.is_empty()).then_some(name), procid)
}

fn strip_line_end(line: &[u8]) -> &[u8] {
    match line.strip_suffix(b"\n") {
        Some(l) => l.strip_suffix(b"\r").unwrap_or(l),
        None => line,
    }
}
