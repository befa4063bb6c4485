//! Time stamps and line formats of the two text streams: rsyslog's traditional file format
//! (`Nov  2 21:36:11 host tag[pid]: message`, control bytes written as `#ooo`) and the hook
//! verdict JSON lines.
//!
//! In: epoch milliseconds, host, tag, message, verdict fields. Out: bytes appended to a `Vec<u8>`.
//! Times are UTC (the generated host runs in UTC). Never panics.

use serde::Serialize;

use super::audit_fmt::push_u64;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A UTC civil time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
}

/// Epoch milliseconds to UTC.
pub fn civil(epoch_millis: u64) -> Civil {
    let secs = epoch_millis / 1000;
    let rem = secs % 86_400;
    let (year, month, day) = auditrail_parsers::event::civil_from_days(secs / 86_400);
    let (year, month, day) = (year as i64, month as u32, day as u32);
    Civil {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem / 60 % 60) as u32,
        second: (rem % 60) as u32,
        millis: (epoch_millis % 1000) as u32,
    }
}

fn push_2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// One syslog line as rsyslog's `RSYSLOG_TraditionalFileFormat` writes it, newline included.
/// `pid` is omitted for tags that log without one (`kernel:`).
pub fn push_syslog_line(
    out: &mut Vec<u8>,
    epoch_millis: u64,
    host: &str,
    tag: &str,
    pid: Option<u32>,
    message: &[u8],
) {
    let t = civil(epoch_millis);
    out.extend_from_slice(MONTHS[(t.month as usize).saturating_sub(1) % 12].as_bytes());
    out.push(b' ');
    out.push(if t.day >= 10 {
        b'0' + (t.day / 10) as u8
    } else {
        b' '
    });
    out.push(b'0' + (t.day % 10) as u8);
    out.push(b' ');
    push_2(out, t.hour);
    out.push(b':');
    push_2(out, t.minute);
    out.push(b':');
    push_2(out, t.second);
    out.push(b' ');
    out.extend_from_slice(host.as_bytes());
    out.push(b' ');
    out.extend_from_slice(tag.as_bytes());
    if let Some(pid) = pid {
        out.push(b'[');
        push_u64(out, u64::from(pid));
        out.push(b']');
    }
    out.extend_from_slice(b": ");
    for &b in message {
        if b < 0x20 || b == 0x7f {
            // rsyslog's control-character escape: '#' and three octal digits.
            out.push(b'#');
            out.push(b'0' + (b >> 6));
            out.push(b'0' + ((b >> 3) & 7));
            out.push(b'0' + (b & 7));
        } else {
            out.push(b);
        }
    }
    out.push(b'\n');
}

/// `2026-11-22T21:36:11.123Z`.
pub fn iso8601(epoch_millis: u64) -> String {
    let t = civil(epoch_millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millis
    )
}

/// One hook verdict line, schema version 1 of `docs/hook-verdicts.md`.
#[derive(Debug, Serialize)]
pub struct HookVerdict<'a> {
    pub v: u32,
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    pub hook: &'a str,
    pub event: &'static str,
    pub decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    pub session_id: &'a str,
    pub tool_use_id: &'a str,
    pub tool_name: &'static str,
    pub command: &'a str,
    pub cwd: &'a str,
    pub pid: u32,
    pub ppid: u32,
    pub transcript_path: &'a str,
    pub permission_mode: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// Appends `verdict` as one JSON line.
pub fn push_hook_line(out: &mut Vec<u8>, verdict: &HookVerdict<'_>) {
    // Serializing plain strings and integers into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, verdict);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_matches_known_dates() {
        // 1795383371.676 is the VM capture's time: Sun 22 Nov 2026 21:36:11 UTC.
        let t = civil(1_795_383_371_676);
        assert_eq!((t.year, t.month, t.day), (2026, 11, 22));
        assert_eq!((t.hour, t.minute, t.second, t.millis), (21, 36, 11, 676));
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn syslog_line_like_rsyslog() {
        let mut out = Vec::new();
        push_syslog_line(
            &mut out,
            1_795_383_371_000,
            "vm",
            "bash",
            Some(18199),
            b"carol:/dev/pts/0:\t uname -a",
        );
        push_syslog_line(&mut out, 1_794_000_000_000, "vm", "kernel", None, b"x");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Nov 22 21:36:11 vm bash[18199]: carol:/dev/pts/0:#011 uname -a\n\
             Nov  6 21:20:00 vm kernel: x\n"
        );
    }
}
