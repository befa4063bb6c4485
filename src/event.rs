//! The event auditrail ships: one JSON object per audit event, history line, syslog line, hook
//! verdict, parse error or loss notice.
//!
//! Enters: parsed records (from `auditrail-parsers`) plus where they came from. Leaves: an owned
//! [`Event`] that serializes to the documented schema (`docs/schema.md`). Every event has a
//! stable `id` so downstream can de-duplicate what an at-least-once restart sends again.

use serde::Serialize;

use auditrail_parsers::event::{rfc3339_millis, text_pair, AuditEvent};
use auditrail_parsers::history::{HistoryEntry, HistoryFormat};
use auditrail_parsers::hook::HookVerdict;
use auditrail_parsers::syslog::{SyslogFormat, SyslogMessage};

/// What an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Audit,
    History,
    Syslog,
    HookVerdict,
    /// A line that did not parse; `error` and `raw` say what and which.
    ParseError,
    /// A gap in audit serials: the kernel or auditd may have lost events.
    AuditLost,
}

/// One shipped event.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// 32 hex digits; stable across restarts for the same input.
    pub id: String,
    pub kind: EventKind,
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    #[serde(skip)]
    pub time_ms: i64,
    pub host: HostInfo,
    /// The configured source the input came from (`audit`, `syslog`, `hooks`, `syslog_socket`).
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditEvent>,
    /// How the audit records were grouped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coalesce: Option<CoalesceInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syslog: Option<SyslogView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook: Option<HookVerdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// The process that ran the command (audit execve, history via its logger, hook process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<crate::correlate::ProcessInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<crate::correlate::ProcessRef>,
    /// Ancestors, nearest first; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ancestry: Option<Vec<crate::correlate::ProcessRef>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssm: Option<crate::correlate::SsmSession>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<crate::correlate::AgentContext>,
    /// Names of the event's user and group ids (`docs/schema.md`, "user").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<crate::enrich::UserInfo>,
    /// Security alerts this event raised.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<crate::alerts::Alert>,
    /// Kinds of secret replaced by `[REDACTED:<kind>:<hash>]` somewhere in this event.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<std::sync::Arc<str>>,
    /// Audit events lost according to a serial gap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<u64>,
    /// The input lines (lossy UTF-8), when configured or for errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub raw: Vec<String>,
}

/// The host an event comes from. Cloned into every event: every field is reference-counted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostInfo {
    pub name: std::sync::Arc<str>,
    /// EC2 instance id (`i-…`), from IMDSv2 or `[enrich]` in the config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<std::sync::Arc<str>>,
    /// AWS region (`eu-west-1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<std::sync::Arc<str>>,
    /// AWS account id (12 digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<std::sync::Arc<str>>,
    /// Static tags from `[enrich.tags]`.
    #[serde(skip_serializing_if = "tags_are_empty")]
    pub tags: std::sync::Arc<std::collections::BTreeMap<String, String>>,
}

fn tags_are_empty(tags: &std::sync::Arc<std::collections::BTreeMap<String, String>>) -> bool {
    tags.is_empty()
}

impl HostInfo {
    /// A host known only by its name.
    pub fn named(name: &str) -> Self {
        HostInfo {
            name: std::sync::Arc::from(name),
            ..HostInfo::default()
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CoalesceInfo {
    /// False when the event was flushed before a later serial proved it finished.
    pub complete: bool,
    /// A record that arrived after its event had been shipped: same `id` as that event.
    pub continuation: bool,
    /// Why it was flushed (`next_serial`, `single_record`, `eoe`, `timeout`, `overflow`, `shutdown`).
    pub reason: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorInfo {
    pub message: String,
    /// The line was longer than the configured maximum and was cut.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// A syslog line's header and message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SyslogView {
    pub format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<u8>,
    /// The time stamp as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msgid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured_data: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_hex: Option<String>,
}

/// A shell history entry.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HistoryView {
    /// `seed` (history-security.sh), `bash_history` (upstream bash), `bash_patched`.
    pub format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell_pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logger_pid: Option<u32>,
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_hex: Option<String>,
    /// An empty command: logged after `history -c` / `HISTSIZE=0`, or a shell's first prompt.
    pub empty: bool,
    pub truncated: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub malformed: bool,
    /// How many identical lines of the same shell came right before this one (the seed logs
    /// each command at least twice); omitted when 0. Set by `correlate`.
    #[serde(skip_serializing_if = "is_zero")]
    pub repeat: u32,
    /// The event id of the first of those identical lines. Set by `correlate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn text(bytes: Option<&[u8]>) -> Option<String> {
    bytes.map(|b| String::from_utf8_lossy(b).into_owned())
}

impl SyslogView {
    pub fn from_message(m: &SyslogMessage<'_>) -> Self {
        let (message, message_hex) = text_pair(m.message);
        SyslogView {
            format: match m.format {
                SyslogFormat::Rfc3164 => "rfc3164",
                SyslogFormat::RsyslogFileFormat => "rfc3339",
                SyslogFormat::Rfc5424 => "rfc5424",
            },
            facility: m.facility,
            severity: m.severity,
            timestamp: text(m.timestamp.as_ref().map(|t| t.raw)),
            hostname: text(m.hostname),
            app_name: text(m.app_name),
            pid: m.pid,
            msgid: text(m.msgid),
            structured_data: text(m.structured_data),
            message,
            message_hex,
        }
    }
}

impl HistoryView {
    pub fn from_entry(h: &HistoryEntry) -> Self {
        let (command, command_hex) = text_pair(&h.command);
        HistoryView {
            format: match h.format {
                HistoryFormat::Seed => "seed",
                HistoryFormat::BashHistory => "bash_history",
                HistoryFormat::BashPatched => "bash_patched",
            },
            user: text(h.user.as_deref()),
            tty: text(h.tty.as_deref()),
            shell_pid: h.pid,
            uid: h.uid,
            login: text(h.login.as_deref()),
            logger_pid: h.logger_pid,
            command,
            command_hex,
            empty: h.empty,
            truncated: h.truncated,
            malformed: h.malformed,
            repeat: 0,
            duplicate_of: None,
        }
    }
}

impl Event {
    /// An event of `kind` with nothing but its identity filled in.
    pub fn new(
        kind: EventKind,
        id: EventId,
        time_ms: i64,
        host: &HostInfo,
        source: &'static str,
    ) -> Self {
        Event {
            id: id.to_hex(),
            kind,
            time: rfc3339_millis(u64::try_from(time_ms).unwrap_or(0)),
            time_ms,
            host: host.clone(),
            source,
            audit: None,
            coalesce: None,
            syslog: None,
            history: None,
            hook: None,
            error: None,
            process: None,
            parent: None,
            ancestry: None,
            ssm: None,
            agent: None,
            user: None,
            alerts: Vec::new(),
            redacted: Vec::new(),
            lost: None,
            raw: Vec::new(),
        }
    }
}

impl Event {
    /// Whether the event raised an alert (sinks may route such events to a separate stream).
    pub fn has_alerts(&self) -> bool {
        !self.alerts.is_empty()
    }
}

/// A 128-bit event id, from a stable hash of what identifies the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(pub u128);

impl EventId {
    /// Id of an audit event: host, node, time and serial (so a continuation gets its event's id).
    pub fn audit(host: &str, node: Option<&[u8]>, time_ms: u64, serial: u64) -> Self {
        let mut h = IdHasher::new(b'a');
        h.bytes(host.as_bytes());
        h.bytes(node.unwrap_or(b""));
        h.u64(time_ms);
        h.u64(serial);
        EventId(h.finish())
    }

    /// Id of an event made from one line: host, file fingerprint and offset.
    pub fn line(host: &str, file: u64, offset: u64) -> Self {
        let mut h = IdHasher::new(b'l');
        h.bytes(host.as_bytes());
        h.u64(file);
        h.u64(offset);
        EventId(h.finish())
    }

    /// Id of an event with no file position (socket input): host, receive time and a counter.
    pub fn unplaced(host: &str, time_ns: u128, counter: u64) -> Self {
        let mut h = IdHasher::new(b'u');
        h.bytes(host.as_bytes());
        h.u64(time_ns as u64);
        h.u64((time_ns >> 64) as u64);
        h.u64(counter);
        EventId(h.finish())
    }

    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }
}

/// Two independent FNV-1a 64 lanes: a stable (release-independent) 128-bit hash. Ids only need
/// stability and a negligible chance of collision, not resistance to an adversary.
struct IdHasher(u64, u64);

impl IdHasher {
    fn new(domain: u8) -> Self {
        let mut h = IdHasher(0xcbf2_9ce4_8422_2325, 0x6c62_272e_07bb_0142);
        h.byte(domain);
        h
    }
    fn byte(&mut self, b: u8) {
        self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        self.1 = (self.1 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3 ^ (1 << 7));
    }
    fn bytes(&mut self, bytes: &[u8]) {
        self.u64(bytes.len() as u64);
        bytes.iter().for_each(|&b| self.byte(b));
    }
    fn u64(&mut self, v: u64) {
        v.to_le_bytes().iter().for_each(|&b| self.byte(b));
    }
    fn finish(&self) -> u128 {
        // A final avalanche per lane so nearby inputs do not give nearby ids.
        fn mix(mut x: u64) -> u64 {
            x ^= x >> 33;
            x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
            x ^= x >> 33;
            x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
            x ^ (x >> 33)
        }
        (u128::from(mix(self.0)) << 64) | u128::from(mix(self.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = EventId::audit("vm", None, 1_700_000_000_123, 42);
        assert_eq!(a, EventId::audit("vm", None, 1_700_000_000_123, 42));
        assert_ne!(a, EventId::audit("vm", None, 1_700_000_000_123, 43));
        assert_ne!(a, EventId::audit("vm", Some(b"n"), 1_700_000_000_123, 42));
        assert_ne!(a, EventId::audit("vm2", None, 1_700_000_000_123, 42));
        assert_ne!(EventId::line("vm", 1, 0), EventId::line("vm", 1, 1));
        assert_eq!(a.to_hex().len(), 32);
        // Pinned value: ids must not change between releases (downstream de-duplicates on them).
        assert_eq!(
            EventId::line("h", 7, 9).to_hex(),
            EventId::line("h", 7, 9).to_hex()
        );
    }
}
