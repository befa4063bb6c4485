//! Unit and property tests of the syslog parser, on lines shaped like the capture's `messages`.

use proptest::prelude::*;

use super::*;

/// What rsyslog does to a message on receipt: control characters become `#` + 3 octal digits.
pub(crate) fn escape_like_rsyslog(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for &b in bytes {
        if b < 0x20 || b == 0x7f {
            out.extend_from_slice(format!("#{b:03o}").as_bytes());
        } else {
            out.push(b);
        }
    }
    out
}

/// True if `bytes` holds text that reads as an rsyslog escape (`#` + 3 octal digits of a control
/// byte): such text cannot survive an escape/unescape round trip.
pub(crate) fn has_escape_lookalike(bytes: &[u8]) -> bool {
    (0..bytes.len()).any(|i| escaped_control(bytes, i).is_some())
}

#[test]
fn rsyslog_traditional_file_line() {
    let m =
        parse_syslog(b"Nov 22 21:36:11 vm bash[18199]: carol:/dev/pts/0:#011 uname -a\n").unwrap();
    assert_eq!(m.format, SyslogFormat::Rfc3164);
    assert_eq!((m.facility, m.severity), (None, None));
    let ts = m.timestamp.unwrap();
    assert_eq!(ts.raw, b"Nov 22 21:36:11");
    assert_eq!((ts.year, ts.month, ts.day), (None, 11, 22));
    assert_eq!(
        (ts.hour, ts.minute, ts.second, ts.utc_offset_secs),
        (21, 36, 11, None)
    );
    assert_eq!(m.hostname, Some(&b"vm"[..]));
    assert_eq!(m.app_name, Some(&b"bash"[..]));
    assert_eq!(m.procid, Some(&b"18199"[..]));
    assert_eq!(m.pid, Some(18199));
    assert_eq!(m.message, b"carol:/dev/pts/0:#011 uname -a");
}

#[test]
fn tag_without_pid_and_message_starting_with_bracket() {
    let line =
        b"Nov 22 21:36:09 vm rsyslogd: [origin software=\"rsyslogd\" swVersion=\"8.2302.0\"] start";
    let m = parse_syslog(line).unwrap();
    assert_eq!(m.hostname, Some(&b"vm"[..]));
    assert_eq!(m.app_name, Some(&b"rsyslogd"[..]));
    assert_eq!((m.procid, m.pid), (None, None));
    assert!(m.message.starts_with(b"[origin software="));
}

#[test]
fn space_padded_and_zero_padded_days() {
    let m = parse_syslog(b"Nov  2 03:04:05 host cron[7]: job").unwrap();
    let ts = m.timestamp.unwrap();
    assert_eq!((ts.raw, ts.day), (&b"Nov  2 03:04:05"[..], 2));
    assert_eq!(
        parse_syslog(b"Jun 08 11:04:04 h x: y")
            .unwrap()
            .timestamp
            .unwrap()
            .day,
        8
    );
    assert_eq!(
        parse_syslog(b"Jun 8 11:04:04 h x: y")
            .unwrap()
            .timestamp
            .unwrap()
            .day,
        8
    );
}

#[test]
fn hostless_file_line_from_patched_bash() {
    let m = parse_syslog(b"Sep 20 20:12:49 -bash: HISTORY: PID=1722 UID=0 cat /var/log/syslog")
        .unwrap();
    assert_eq!(m.hostname, None);
    assert_eq!(m.app_name, Some(&b"-bash"[..]));
    assert_eq!(m.message, b"HISTORY: PID=1722 UID=0 cat /var/log/syslog");
}

#[test]
fn socket_line_with_pri_with_and_without_hostname() {
    let m = parse_syslog(b"<13>Nov 22 21:36:11 host tag[1]: msg").unwrap();
    assert_eq!((m.facility, m.severity), (Some(1), Some(5)));
    assert_eq!(m.hostname, Some(&b"host"[..]));
    assert_eq!(
        (m.app_name, m.pid, m.message),
        (Some(&b"tag"[..]), Some(1), &b"msg"[..])
    );

    // What `logger -p local1.notice -t bash -i` sends to /dev/log: no hostname.
    let m =
        parse_syslog(b"<141>Nov 22 21:36:11 bash[18199]: carol:/dev/pts/0:\t uname -a").unwrap();
    assert_eq!((m.facility, m.severity), (Some(17), Some(5)));
    assert_eq!(m.hostname, None);
    assert_eq!((m.app_name, m.pid), (Some(&b"bash"[..]), Some(18199)));
    assert_eq!(m.message, b"carol:/dev/pts/0:\t uname -a");

    // No space after the colon on a socket: the message starts right there.
    assert_eq!(
        parse_syslog(b"<13>Nov 22 21:36:11 tag:msg")
            .unwrap()
            .message,
        b"msg"
    );
}

#[test]
fn tag_without_colon_ends_at_space() {
    let m = parse_syslog(b"<13>Nov 22 21:36:11 host app hello world").unwrap();
    assert_eq!(m.hostname, Some(&b"host"[..]));
    assert_eq!(
        (m.app_name, m.message),
        (Some(&b"app"[..]), &b"hello world"[..])
    );
}

#[test]
fn ipv6_hostnames_are_hosts_tags_are_not() {
    let m = parse_syslog(b"Nov 22 21:36:11 fe80::1 sshd[1]: x").unwrap();
    assert_eq!(m.hostname, Some(&b"fe80::1"[..]));
    let m = parse_syslog(b"Nov 22 21:36:11 [2001:db8::2] sshd[1]: x").unwrap();
    assert_eq!(m.hostname, Some(&b"[2001:db8::2]"[..]));
    let m = parse_syslog(b"Nov 22 21:36:11 kernel: x").unwrap();
    assert_eq!((m.hostname, m.app_name), (None, Some(&b"kernel"[..])));
}

#[test]
fn rsyslog_file_format_with_rfc3339_time() {
    let line = b"2026-11-22T21:36:11.123456+00:00 vm sshd[42]: Accepted publickey for carol";
    let m = parse_syslog(line).unwrap();
    assert_eq!(m.format, SyslogFormat::RsyslogFileFormat);
    let ts = m.timestamp.unwrap();
    assert_eq!(ts.raw, b"2026-11-22T21:36:11.123456+00:00");
    assert_eq!((ts.year, ts.month, ts.day), (Some(2026), 11, 22));
    assert_eq!((ts.nanos, ts.utc_offset_secs), (123_456_000, Some(0)));
    assert_eq!(ts.to_epoch_seconds(1970, 0), Some(1_795_383_371));
    assert_eq!((m.hostname, m.pid), (Some(&b"vm"[..]), Some(42)));
    assert_eq!(m.message, b"Accepted publickey for carol");

    let m = parse_syslog(b"2026-11-22T16:36:11-05:00 vm x: y").unwrap();
    assert_eq!(
        m.timestamp.unwrap().to_epoch_seconds(1970, 0),
        Some(1_795_383_371)
    );
}

#[test]
fn rfc5424_with_structured_data_and_bom() {
    let line = b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 \
        [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]\
        [examplePriority@32473 class=\"high\"] \xEF\xBB\xBFAn application event log entry";
    let m = parse_syslog(line).unwrap();
    assert_eq!(m.format, SyslogFormat::Rfc5424);
    assert_eq!((m.facility, m.severity), (Some(20), Some(5)));
    let ts = m.timestamp.unwrap();
    assert_eq!(
        (ts.nanos, ts.to_epoch_seconds(0, 0)),
        (3_000_000, Some(1_065_910_455))
    );
    assert_eq!(m.hostname, Some(&b"mymachine.example.com"[..]));
    assert_eq!(m.app_name, Some(&b"evntslog"[..]));
    assert_eq!((m.procid, m.pid), (None, None));
    assert_eq!(m.msgid, Some(&b"ID47"[..]));
    assert_eq!(
        m.structured_data,
        Some(
            &b"[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]\
               [examplePriority@32473 class=\"high\"]"[..]
        )
    );
    assert_eq!(m.message, b"An application event log entry");
}

#[test]
fn rfc5424_escapes_inside_param_values() {
    let line = br#"<14>1 2026-11-22T21:36:11Z vm app 42 - [meta@1 a="x\]y\"z" b="\\"] msg"#;
    let m = parse_syslog(line).unwrap();
    assert_eq!(
        m.structured_data,
        Some(&br#"[meta@1 a="x\]y\"z" b="\\"]"#[..])
    );
    assert_eq!((m.pid, m.msgid, m.message), (Some(42), None, &b"msg"[..]));
}

#[test]
fn rfc5424_all_nil_and_no_message() {
    let m = parse_syslog(b"<34>1 - - - - - -").unwrap();
    assert_eq!(m.timestamp, None);
    assert_eq!(
        (m.hostname, m.app_name, m.procid, m.msgid),
        (None, None, None, None)
    );
    assert_eq!((m.structured_data, m.message), (None, &b""[..]));
    let m = parse_syslog(b"<34>1 - host su - ID47 - 'su root' failed").unwrap();
    assert_eq!(m.message, b"'su root' failed");
}

#[test]
fn rejects_what_is_not_syslog() {
    let cases: &[(&[u8], &str)] = &[
        (b"<192>Nov 22 21:36:11 h t: m", "expected <PRI> of 0..=191"),
        (b"<13", "expected <PRI> of 0..=191"),
        (
            b"Foo 22 21:36:11 h t: m",
            "expected RFC 3164 or RFC 3339 time stamp",
        ),
        (
            b"Nov 22 25:36:11 h t: m",
            "expected RFC 3164 or RFC 3339 time stamp",
        ),
        (b"Nov 22 21:36:11:h t: m", "expected space after time stamp"),
        (
            b"2026-13-01T00:00:00Z h t: m",
            "expected RFC 3164 or RFC 3339 time stamp",
        ),
        (
            b"<13>1 2026-11-22T21:36:11Z h a p m [id x=\"1] m",
            "malformed RFC 5424 STRUCTURED-DATA",
        ),
        (
            b"<13>1 2026-11-22T21:36:11Z h a p m [id]msg",
            "expected space before RFC 5424 MSG",
        ),
        (
            b"<13>1 2026-11-22T21:36:11Z h a",
            "expected RFC 5424 APP-NAME",
        ),
        (b"", "expected RFC 3164 or RFC 3339 time stamp"),
    ];
    for (line, what) in cases {
        let err = parse_syslog(line).unwrap_err();
        assert_eq!(err.what, *what, "{}", String::from_utf8_lossy(line));
    }
    let err = parse_syslog(b"<13>1 2026-11-22T21:36:11Z h a p m [id x=\"1] m").unwrap_err();
    assert_eq!(err.offset, 46, "{err}");
}

#[test]
fn line_end_dropped_and_non_utf8_kept() {
    let m = parse_syslog(b"Nov 22 21:36:11 vm t: caf\xe9 \xff\r\n").unwrap();
    assert_eq!(m.message, b"caf\xe9 \xff");
}

#[test]
fn unescape_turns_control_escapes_into_bytes_only() {
    assert_eq!(&*unescape_rsyslog(b"#011 uname -a"), b"\t uname -a");
    assert_eq!(&*unescape_rsyslog(b"a#0111"), b"a\t1");
    assert_eq!(&*unescape_rsyslog(b"##011#177#000"), b"#\t\x7f\0");
    assert_eq!(&*unescape_rsyslog(b"line1#012line2"), b"line1\nline2");
    for untouched in [
        &b"#101"[..],
        b"#12",
        b"#",
        b"x#",
        b"#08a",
        b"#377",
        b"# 011",
        b"issue #40",
    ] {
        assert!(
            matches!(unescape_rsyslog(untouched), Cow::Borrowed(_)),
            "{untouched:?}"
        );
    }
}

#[test]
fn rfc3164_epoch_needs_year_and_zone_from_caller() {
    let ts = parse_syslog(b"Nov 22 21:36:11 vm x: y")
        .unwrap()
        .timestamp
        .unwrap();
    assert_eq!(ts.to_epoch_seconds(2026, 0), Some(1_795_383_371));
    assert_eq!(ts.to_epoch_seconds(2026, 3600), Some(1_795_383_371 - 3600));
    let leap = parse_syslog(b"Feb 29 00:00:00 vm x: y")
        .unwrap()
        .timestamp
        .unwrap();
    assert_eq!(leap.to_epoch_seconds(2024, 0), Some(1_709_164_800));
    assert_eq!(leap.to_epoch_seconds(2025, 0), None);
    let eve = parse_rfc3339(b"1969-12-31T23:59:59Z").unwrap();
    assert_eq!(eve.to_epoch_seconds(0, 0), Some(-1));
}

#[test]
fn year_inference_around_new_year() {
    assert_eq!(infer_year(12, 2027, 1), 2026);
    assert_eq!(infer_year(1, 2027, 1), 2027);
    assert_eq!(infer_year(2, 2027, 1), 2027);
    assert_eq!(infer_year(6, 2027, 11), 2027);
}

#[test]
fn parse_rfc3339_wants_the_whole_input() {
    assert_eq!(
        parse_rfc3339(b"2026-11-22T21:36:11.123Z").unwrap().nanos,
        123_000_000
    );
    assert!(parse_rfc3339(b"2026-11-22T21:36:11.123Z ").is_err());
    assert!(parse_rfc3339(b"2026-11-22T21:36:11.1234567890Z").is_err());
    assert!(parse_rfc3339(b"2026-11-22 21:36:11Z").is_err());
}

proptest! {
    #[test]
    fn never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_syslog(&bytes);
        let _ = unescape_rsyslog(&bytes);
    }

    #[test]
    fn never_panics_after_valid_looking_headers(
        prefix in prop::sample::select(vec![
            &b"<13>1 "[..], b"<13>1 - h a p m ", b"<13>1 - h a p m [x", b"Nov 22 21:36:11 ",
            b"<13>Nov  2 21:36:11 ", b"2026-11-22T21:36:11Z ", b"<13>2026-11-22T21:36:11.5+01:00",
        ]),
        tail in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let line = [prefix, &tail].concat();
        if let Ok(m) = parse_syslog(&line) {
            // Whatever was parsed borrows from the line.
            prop_assert!(m.message.len() <= line.len());
        }
    }

    #[test]
    fn escape_then_unescape_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        prop_assume!(!has_escape_lookalike(&bytes));
        let escaped = escape_like_rsyslog(&bytes);
        prop_assert_eq!(unescape_rsyslog(&escaped).into_owned(), bytes);
    }
}
