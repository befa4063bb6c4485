//! One audit event, built from the records that share its `(node, serial)`: the typed fields of
//! SYSCALL, EXECVE, CWD, PATH and PROCTITLE merged, everything else kept as generic records.
//!
//! In: the parsed [`Record`]s of one event (the caller groups them), or its raw lines. Out: an
//! owned [`AuditEvent`] that serializes to JSON. Nothing is lost: a field with no typed slot goes
//! to the record's `extra` map, a record with no typed form (or a second SYSCALL/CWD/PROCTITLE) to
//! `other`. Only records with an empty body (e.g. `EOE`) are left out of `other`; their type is
//! still in `record_types`. Never panics; linear in the input.
//!
//! # JSON rules
//!
//! - Field names are `snake_case`. Keys of generic maps (`extra`, `other[].fields`) are the audit
//!   keys as written; `enriched` maps keep auditd's upper-case ENRICHED keys (`AUID`, `UID` …).
//! - Absent optional fields are omitted. User and group ids (`auid`, `uid` … `fsgid`, `ouid`,
//!   `ogid`) and `ses` are numbers; `4294967295` (unset, `-1`) is `null`.
//! - Text is a JSON string when it is valid UTF-8. When it is not, the string is a lossy copy
//!   (U+FFFD for bad bytes) and a sibling `<name>_hex` holds the exact bytes as upper-case hex.
//!   For lists (`execve.args`, `proctitle.argv`, `syscall.keys`) the sibling list (`args_hex` …)
//!   is present only when some item is not UTF-8, and then holds every item, index for index.
//! - Hex-encoded audit values (`proctitle`, `cmd`, `name`, `comm` …, EXECVE arguments) are
//!   decoded. In generic maps `(null)` and `?` are `null`, a nested `msg='…'` is flattened into
//!   the same map (its free text under `msg`), and a key repeated in one record becomes `key_2` ….
//! - `time` is `{secs, millis, rfc3339}`, the latter UTC with milliseconds.
//! - `syscall.keys` is the audit `key` split on `\x01`; `key=(null)` gives no `keys`.

mod fields;
mod syscalls;
mod time;
mod typed;

use serde::Serialize;

pub use self::fields::{text_list, text_pair, FieldMap};
pub use self::syscalls::{arch_name, syscall_name};
pub use self::time::{civil_from_days, rfc3339_millis};

use self::fields::MapBuilder;
use self::typed::{other_record, path_item, syscall};
use crate::audit::{parse_record, AuditTime, Body, Record, Value};
use crate::error::ParseError;
use crate::execve::{is_argv_key, shell_quote, ArgvBuilder};
use crate::proctitle::parse_proctitle;

/// A merged audit event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AuditEvent {
    pub time: EventTime,
    pub serial: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_hex: Option<String>,
    /// Every record's type, in input order, e.g. `["SYSCALL","EXECVE","CWD","PATH","PROCTITLE"]`.
    pub record_types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syscall: Option<Syscall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execve: Option<Execve>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd_hex: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<PathItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proctitle: Option<ProctitleArgv>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<OtherRecord>,
}

/// When the event happened: `msg=audit(SECS.MILLIS:…)`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct EventTime {
    pub secs: u64,
    pub millis: u16,
    /// `2021-03-07T21:02:54.493Z`.
    pub rfc3339: String,
}

impl From<AuditTime> for EventTime {
    fn from(t: AuditTime) -> Self {
        EventTime {
            secs: t.secs,
            millis: t.millis,
            rfc3339: rfc3339_millis(t.as_millis()),
        }
    }
}

/// A user or group id: absent (omitted), unset (`null`) or a number.
pub type Id = Option<Option<u32>>;

/// The SYSCALL record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Syscall {
    /// `arch=` as written, e.g. `c000003e`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auid: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub euid: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suid: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fsuid: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egid: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sgid: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fsgid: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ses: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subj: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subj_hex: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys_hex: Option<Vec<String>>,
    /// Fields without a typed slot (`a0`..`a3`, …) and repeats of typed ones.
    #[serde(skip_serializing_if = "FieldMap::is_empty")]
    pub extra: FieldMap,
    #[serde(skip_serializing_if = "FieldMap::is_empty")]
    pub enriched: FieldMap,
}

/// The EXECVE records, reassembled.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Execve {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argc: Option<u32>,
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args_hex: Option<Vec<String>>,
    /// The arguments as one POSIX shell command line ([`shell_quote`]).
    pub command_line: String,
    /// See [`crate::execve::Argv::complete`].
    pub complete: bool,
    /// Fields of EXECVE records that are not arguments, and their free text (`text`).
    #[serde(skip_serializing_if = "FieldMap::is_empty")]
    pub extra: FieldMap,
}

/// One PATH record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PathItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// As written, octal: `0100755`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ouid: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ogid: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nametype: Option<String>,
    /// `rdev`, `cap_*`, `obj` … and repeats of typed fields.
    #[serde(skip_serializing_if = "FieldMap::is_empty")]
    pub extra: FieldMap,
    #[serde(skip_serializing_if = "FieldMap::is_empty")]
    pub enriched: FieldMap,
}

/// The PROCTITLE record's argument vector.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ProctitleArgv {
    pub argv: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv_hex: Option<Vec<String>>,
    /// 128 bytes or more: auditd's cap, so the last argument is probably cut.
    pub truncated: bool,
}

/// Any record without a typed form, fields kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct OtherRecord {
    #[serde(rename = "type")]
    pub record_type: String,
    pub fields: FieldMap,
    /// Free text that is not `key=value` (daemon records), verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_hex: Option<String>,
    #[serde(skip_serializing_if = "FieldMap::is_empty")]
    pub enriched: FieldMap,
}

/// Builds the event from its records (all of one `(node, serial)`; time, serial and node come
/// from the first). An empty slice gives a default event.
pub fn build_event(records: &[Record]) -> AuditEvent {
    build_event_reporting(records, &mut Vec::new())
}

/// Parses each line with [`parse_record`] and builds the event from those that parse. Returns
/// the event and the errors of the lines that did not parse, followed by any EXECVE field that
/// could not be used (see [`ArgvBuilder::push`]).
pub fn build_event_from_lines(lines: &[&[u8]]) -> (AuditEvent, Vec<ParseError>) {
    let mut errors = Vec::new();
    let records: Vec<Record> = lines
        .iter()
        .filter_map(|line| parse_record(line).map_err(|e| errors.push(e)).ok())
        .collect();
    let event = build_event_reporting(&records, &mut errors);
    (event, errors)
}

fn build_event_reporting(records: &[Record], errors: &mut Vec<ParseError>) -> AuditEvent {
    let mut event = AuditEvent::default();
    if let Some(first) = records.first() {
        event.time = first.header.time.into();
        event.serial = first.header.serial;
        if let Some(node) = first.header.node {
            (event.node, event.node_hex) = split_pair(text_pair(node));
        }
    }
    let mut argv = ArgvBuilder::new();
    let mut execve_extra = MapBuilder::default();
    let mut saw_execve = false;
    for record in records {
        let rtype = record.header.rtype;
        event.record_types.push(rtype.to_name().into_owned());
        let body = &record.body;
        let typed = if rtype.is("SYSCALL") && event.syscall.is_none() {
            event.syscall = Some(syscall(body));
            true
        } else if rtype.is("EXECVE") {
            saw_execve = true;
            if let Err(e) = argv.push(body) {
                errors.push(e);
            }
            for field in body.fields.iter().filter(|f| !is_argv_key(f.key)) {
                execve_extra.value(field.key, &field.value);
            }
            if let Some(text) = body.text {
                execve_extra.text("text", text);
            }
            true
        } else if rtype.is("CWD") && event.cwd.is_none() {
            match sole_field(body, b"cwd").and_then(|v| v.text(b"cwd")) {
                Some(cwd) => {
                    (event.cwd, event.cwd_hex) = split_pair(text_pair(&cwd));
                    true
                }
                None => false,
            }
        } else if rtype.is("PATH") {
            event.paths.push(path_item(body));
            true
        } else if rtype.is("PROCTITLE") && event.proctitle.is_none() {
            match sole_field(body, b"proctitle") {
                Some(value) => {
                    let p = parse_proctitle(value);
                    let (argv, argv_hex) = text_list(&p.argv);
                    event.proctitle = Some(ProctitleArgv {
                        argv,
                        argv_hex,
                        truncated: p.truncated,
                    });
                    true
                }
                None => false,
            }
        } else {
            false
        };
        if !typed && !is_empty_body(body) {
            event.other.push(other_record(record));
        }
    }
    if saw_execve {
        let argv = argv.finish();
        let (args, args_hex) = text_list(&argv.args);
        event.execve = Some(Execve {
            argc: argv.argc,
            args,
            args_hex,
            command_line: shell_quote(&argv.args),
            complete: argv.complete,
            extra: execve_extra.finish(),
        });
    }
    event
}

/// A text pair as two optional fields.
fn split_pair((text, hex): (String, Option<String>)) -> (Option<String>, Option<String>) {
    (Some(text), hex)
}

/// The value of `key` if it is the body's only content.
fn sole_field<'b, 'a>(body: &'b Body<'a>, key: &[u8]) -> Option<&'b Value<'a>> {
    match (body.fields.as_slice(), body.enriched.is_empty(), body.text) {
        ([field], true, None) if field.key == key => Some(&field.value),
        _ => None,
    }
}

fn is_empty_body(body: &Body) -> bool {
    body.fields.is_empty() && body.enriched.is_empty() && body.text.is_none()
}

#[cfg(test)]
mod tests;
