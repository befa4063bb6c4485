//! auditd records as written to `audit.log` (`log_format = RAW` or `ENRICHED`), one line each:
//!
//! ```text
//! [node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): key=value key="quoted" … [\x1dKEY="interpreted" …]
//! ```
//!
//! [`parse_header`] reads only the header (cheap; the coalescer's key), [`parse_record`] the whole
//! line. Values borrow from the input; nothing is decoded until asked ([`Body::text_of`]).
//! Any record type is accepted; a body that does not follow the `key=value` grammar (free-text
//! `DAEMON_*` records, `msg='PAM: …'`) is kept verbatim in [`Body::text`]. Every line with a
//! valid header parses, including `type=UNKNOWN[1329] msg=?` (no stamp: time 0, serial 0, body
//! `msg=?`); only a line without one is a [`ParseError`]. Parsing is linear in the line's length.
//! The parsing lives in `audit/header.rs` (nom) and `audit/body.rs` (memchr loops).

use std::borrow::Cow;

use crate::error::ParseError;
use crate::hex;

mod body;
mod header;
#[cfg(test)]
mod tests_kernel;
#[cfg(test)]
mod tests_robust;
#[cfg(test)]
mod tests_user;

/// The record type: a name such as `SYSCALL`, or the number of an `UNKNOWN[1327]` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType<'a> {
    Named(&'a str),
    Unknown(u32),
}

impl RecordType<'_> {
    /// True for `Named(name)`.
    pub fn is(&self, name: &str) -> bool {
        matches!(self, RecordType::Named(n) if *n == name)
    }

    /// `SYSCALL`, or `UNKNOWN[1327]`.
    pub fn to_name(&self) -> Cow<'_, str> {
        match self {
            RecordType::Named(n) => Cow::Borrowed(n),
            RecordType::Unknown(n) => Cow::Owned(format!("UNKNOWN[{n}]")),
        }
    }
}

/// `msg=audit(SECONDS.MILLIS:SERIAL)`: the event's time stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AuditTime {
    pub secs: u64,
    pub millis: u16,
}

impl AuditTime {
    /// Milliseconds since the Unix epoch.
    pub fn as_millis(&self) -> u64 {
        self.secs
            .saturating_mul(1000)
            .saturating_add(u64::from(self.millis))
    }
}

/// Everything before the body: enough to group records into events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// `node=NAME` prefix, if any.
    pub node: Option<&'a [u8]>,
    pub rtype: RecordType<'a>,
    pub time: AuditTime,
    pub serial: u64,
    /// Byte offset in the line where the body starts (after `): `, or the line's end).
    pub body_start: usize,
}

/// One `key=value` pair. Keys are bytes as written (`a1[0]`, `a0`, `cap_fp`, `ARCH` …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    pub key: &'a [u8],
    pub value: Value<'a>,
}

/// A field's value as written; nothing decoded yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// `key="text"`: the bytes between the quotes (auditd does not escape inside quotes).
    Quoted(&'a [u8]),
    /// `key=token`: an unquoted token. Numbers, ids, and also hex-encoded untrusted strings.
    Bare(&'a [u8]),
    /// `key=(null)`.
    Null,
    /// `key=?`.
    Unset,
    /// `msg='…'` of user-space records: a nested field list, and any text in it that does not
    /// follow the `key=value` grammar (e.g. `PAM: …`).
    Nested(Body<'a>),
}

/// A record's fields: the raw ones, the ENRICHED ones after `\x1d`, and any free text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Body<'a> {
    pub fields: Vec<Field<'a>>,
    /// Interpreted fields after the `\x1d` separator (`log_format = ENRICHED`), e.g. `UID="root"`.
    pub enriched: Vec<Field<'a>>,
    /// Text that is not `key=value` (free-text daemon records, `PAM: …`), verbatim.
    pub text: Option<&'a [u8]>,
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub header: Header<'a>,
    pub body: Body<'a>,
}

/// Keys whose bare values auditd hex-encodes when they hold a space, quote, control or non-ASCII
/// byte (audit userspace's "untrusted string" fields). EXECVE's `aN`/`aN[i]` are untrusted too, but
/// only in EXECVE records (SYSCALL's `a0`..`a3` are registers): see [`crate::execve`].
pub const UNTRUSTED_STRING_KEYS: &[&[u8]] = &[
    b"proctitle",
    b"name",
    b"comm",
    b"exe",
    b"cwd",
    b"data",
    b"path",
    b"key",
    b"cmd",
    b"acct",
    b"ocomm",
    b"watch",
    b"dir",
    b"vm",
    b"cgroup",
    b"new-chardev",
    b"old-chardev",
    b"new-disk",
    b"old-disk",
    b"new-fs",
    b"old-fs",
    b"new-net",
    b"old-net",
    b"new-rng",
    b"old-rng",
    b"root_dir",
    b"grp",
    b"new_group",
];

/// True if `key` names an untrusted-string field (outside EXECVE).
pub fn is_untrusted_string_key(key: &[u8]) -> bool {
    UNTRUSTED_STRING_KEYS.contains(&key)
}

impl<'a> Value<'a> {
    /// The value as text: quoted contents as is; a bare token of an untrusted-string `key` hex-
    /// decoded when it is valid hex, else as is; `(null)`/`?`/nested give `None`.
    pub fn text(&self, key: &[u8]) -> Option<Cow<'a, [u8]>> {
        match *self {
            Value::Quoted(q) => Some(Cow::Borrowed(q)),
            Value::Bare(b) => {
                if is_untrusted_string_key(key) && hex::is_hex(b) {
                    hex::decode(b).map(Cow::Owned)
                } else {
                    Some(Cow::Borrowed(b))
                }
            }
            Value::Null | Value::Unset | Value::Nested(_) => None,
        }
    }

    /// A bare token parsed as an unsigned decimal number.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Bare(b) | Value::Quoted(b) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        }
    }

    /// A bare token parsed as a signed decimal number (`exit=-13`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Bare(b) | Value::Quoted(b) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        }
    }
}

impl<'a> Body<'a> {
    /// The first raw field named `key`.
    pub fn get(&self, key: &[u8]) -> Option<&Value<'a>> {
        self.fields.iter().find(|f| f.key == key).map(|f| &f.value)
    }

    /// The first ENRICHED field named `key` (e.g. `b"AUID"`).
    pub fn get_enriched(&self, key: &[u8]) -> Option<&Value<'a>> {
        self.enriched
            .iter()
            .find(|f| f.key == key)
            .map(|f| &f.value)
    }

    /// `get(key)` decoded as text (see [`Value::text`]).
    pub fn text_of(&self, key: &[u8]) -> Option<Cow<'a, [u8]>> {
        self.get(key)?.text(key)
    }

    /// `get(key)` as an unsigned number.
    pub fn u64_of(&self, key: &[u8]) -> Option<u64> {
        self.get(key)?.as_u64()
    }

    /// The nested body of `msg='…'`, if this record has one.
    pub fn nested(&self) -> Option<&Body<'a>> {
        self.fields.iter().find_map(|f| match &f.value {
            Value::Nested(b) if f.key == b"msg" => Some(b),
            _ => None,
        })
    }
}

/// Parses only the header of an audit line. Cheap: no field splitting, cost independent of the
/// body's length. A trailing `\r` is ignored. A line whose `msg=` carries no `audit(…)` stamp
/// (`type=UNKNOWN[1329] msg=?`) gets time 0 and serial 0, with `body_start` at `msg=`.
pub fn parse_header(line: &[u8]) -> Result<Header<'_>, ParseError> {
    header::parse(line)
}

/// Parses a whole audit line into a [`Record`]. Fails only when the header does; any body is
/// accepted: tokens that are not `key=value` become [`Body::text`]. A trailing `\r` is not part
/// of the body.
pub fn parse_record(line: &[u8]) -> Result<Record<'_>, ParseError> {
    let header = header::parse(line)?;
    let line = header::trim_line_end(line);
    let (_, body) = body::body(&line[header.body_start..])
        .map_err(|_| ParseError::new("malformed body", line, header.body_start))?;
    Ok(Record { header, body })
}
