//! Unit and property tests of history-line recognition, on lines shaped like the capture's
//! `messages` and the upstream/patched bash samples.

use proptest::prelude::*;

use super::*;
use crate::syslog::parse_syslog;
use crate::syslog::tests::{escape_like_rsyslog, has_escape_lookalike};

fn history_of(line: &[u8]) -> Option<HistoryEntry> {
    parse_history(&parse_syslog(line).unwrap())
}

#[test]
fn seed_line_from_capture() {
    let e = history_of(b"Nov 22 21:36:11 vm bash[18199]: carol:/dev/pts/0:#011 uname -a").unwrap();
    assert_eq!(e.format, HistoryFormat::Seed);
    assert_eq!(e.user.as_deref(), Some(&b"carol"[..]));
    assert_eq!(e.tty.as_deref(), Some(&b"/dev/pts/0"[..]));
    assert_eq!((e.logger_pid, e.pid, e.uid), (Some(18199), None, None));
    assert_eq!(e.command, b"uname -a");
    assert_eq!(e.raw_command, b"#011 uname -a");
    assert!(!e.empty && !e.truncated && !e.malformed);
}

#[test]
fn seed_empty_command_is_kept_and_flagged() {
    let e = history_of(b"Nov 22 21:36:11 vm bash[18195]: carol:/dev/pts/0:").unwrap();
    assert_eq!(
        (e.command.as_slice(), e.raw_command.as_slice()),
        (&b""[..], &b""[..])
    );
    assert!(e.empty && !e.malformed);
}

#[test]
fn seed_command_keeps_colons_quotes_and_inner_tabs() {
    let e = history_of(b"Nov 22 21:36:11 vm bash[7]: root:not a tty:#011 echo a:b:c#011\"q\" \\\\")
        .unwrap();
    assert_eq!(e.tty.as_deref(), Some(&b"not a tty"[..]));
    assert_eq!(e.command, b"echo a:b:c\t\"q\" \\\\");
}

#[test]
fn seed_edited_history_entry_marker_is_stripped() {
    let e = history_of(b"Nov 22 21:36:11 vm bash[7]: root:/dev/pts/1:#011*ls").unwrap();
    assert_eq!(
        (e.command.as_slice(), e.raw_command.as_slice()),
        (&b"ls"[..], &b"#011*ls"[..])
    );
}

#[test]
fn seed_truncation_is_judged_on_the_unescaped_message() {
    let head = b"Nov 22 21:36:11 vm bash[7]: root:/dev/pts/1:#011 ".to_vec();
    // "root:/dev/pts/1:" is 16 bytes, "\t " 2: 1006 more bytes make logger's 1024.
    let at_limit = [head.clone(), vec![b'x'; 1006]].concat();
    let below = [head, vec![b'x'; 1005]].concat();
    assert!(history_of(&at_limit).unwrap().truncated);
    assert!(!history_of(&below).unwrap().truncated);
}

#[test]
fn seed_without_separators_is_still_history_but_malformed() {
    let e = history_of(b"Nov 22 21:36:11 vm bash[9]: rm -rf /tmp/x").unwrap();
    assert_eq!(e.format, HistoryFormat::Seed);
    assert!(e.malformed);
    assert_eq!((e.user, e.tty), (None, None));
    assert_eq!(e.command, b"rm -rf /tmp/x");
}

#[test]
fn other_programs_are_not_history() {
    for line in [
        &b"Nov 22 21:36:11 vm runuser: pam_unix(runuser:session): session opened for user carol"[..],
        b"Nov 22 21:36:11 vm bash: carol:/dev/pts/0:#011 ls",
        b"Nov 22 21:36:11 vm bashful[3]: a:b:c",
        b"Nov 22 21:36:09 vm auditd[18179]: Init complete",
    ] {
        assert_eq!(history_of(line), None, "{}", String::from_utf8_lossy(line));
    }
}

#[test]
fn upstream_bash_history() {
    let e =
        history_of(b"Sep 20 20:12:49 -bash: HISTORY: PID=1722 UID=0 cat /var/log/syslog").unwrap();
    assert_eq!(e.format, HistoryFormat::BashHistory);
    assert_eq!((e.pid, e.uid, e.logger_pid), (Some(1722), Some(0), None));
    assert_eq!(e.command, b"cat /var/log/syslog");
    assert!(!e.empty && !e.truncated && !e.malformed);

    // The command is everything after UID=, even when it looks like fields.
    let e =
        history_of(b"Jul  7 21:36:38 h bash[5]: HISTORY: PID=5 UID=0 USER=x make#011all").unwrap();
    assert_eq!((e.format, e.user), (HistoryFormat::BashHistory, None));
    assert_eq!(e.command, b"USER=x make\tall");
    assert_eq!(e.raw_command, b"USER=x make#011all");
}

#[test]
fn upstream_truncated_and_empty() {
    let e = history_of(b"Jul  7 21:36:38 h bash: HISTORY (TRUNCATED): PID=5 UID=1000 echo aaaa")
        .unwrap();
    assert!(e.truncated);
    assert_eq!(e.command, b"echo aaaa");
    let e = history_of(b"Jul  7 21:36:38 h bash: HISTORY: PID=5 UID=1000 ").unwrap();
    assert!(e.empty && !e.malformed);
}

#[test]
fn patched_bash_fields() {
    let line = b"Jun  8 11:04:04 ip-192-168-1-188 -bash[15245]: HISTORY: IP=123.444.666.33 \
        PID=15245 PPID=15244 SID=15219 UID=0 USER=root LOGIN=ec2-user CMD=pwd";
    let e = history_of(line).unwrap();
    assert_eq!(e.format, HistoryFormat::BashPatched);
    assert_eq!(e.remote_ip.as_deref(), Some(&b"123.444.666.33"[..]));
    assert_eq!(
        (e.pid, e.ppid, e.session_id, e.uid),
        (Some(15245), Some(15244), Some(15219), Some(0))
    );
    assert_eq!(e.user.as_deref(), Some(&b"root"[..]));
    assert_eq!(e.login.as_deref(), Some(&b"ec2-user"[..]));
    assert_eq!(e.command, b"pwd");
    assert!(e.extra_fields.is_empty() && !e.malformed);

    let e = history_of(b"Jun  8 11:04:04 h -bash: HISTORY: PID=1 User=bob KEY=k7 CMD=ls -la CMD=x")
        .unwrap();
    assert_eq!(e.user.as_deref(), Some(&b"bob"[..]));
    assert_eq!(e.extra_fields, vec![(b"KEY".to_vec(), b"k7".to_vec())]);
    assert_eq!(e.command, b"ls -la CMD=x");
}

#[test]
fn patched_without_cmd_key_takes_first_plain_word_on() {
    let e = history_of(b"Jun  8 11:04:04 h -bash: HISTORY: PID=1 PPID=2 UID=0 ls -la").unwrap();
    assert_eq!((e.format, e.ppid), (HistoryFormat::BashPatched, Some(2)));
    assert_eq!(e.command, b"ls -la");
}

#[test]
fn history_without_pid_is_malformed_and_falls_back_to_syslog_pid() {
    let e = history_of(b"Jun  8 11:04:04 h -bash[77]: HISTORY: whoami").unwrap();
    assert_eq!((e.format, e.pid), (HistoryFormat::BashPatched, Some(77)));
    assert!(e.malformed);
    assert_eq!(e.command, b"whoami");
    let e = history_of(b"Jun  8 11:04:04 h -bash: HISTORY: PID=abc CMD=id").unwrap();
    assert!(e.malformed && e.pid.is_none());
}

#[test]
fn non_utf8_command_survives() {
    let e = history_of(b"Nov 22 21:36:11 vm bash[1]: u:/dev/pts/0:#011 echo caf\xe9\xff").unwrap();
    assert_eq!(e.command, b"echo caf\xe9\xff");
}

/// A line as `logger -t bash -i` + rsyslog's traditional file format would write it.
fn render_seed_line(
    month: &str,
    day: u8,
    pid: u32,
    user: &str,
    tty: &str,
    command: &[u8],
) -> Vec<u8> {
    let message = [format!("{user}:{tty}:\t ").as_bytes(), command].concat();
    let head = format!("{month} {day:>2} 21:36:11 vm bash[{pid}]: ");
    [head.into_bytes(), escape_like_rsyslog(&message)].concat()
}

proptest! {
    #[test]
    fn seed_lines_round_trip(
        month in prop::sample::select(vec!["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
            "Sep", "Oct", "Nov", "Dec"]),
        day in 1u8..=28,
        pid in 1u32..=4_194_304,
        user in "[a-z_][a-z0-9_-]{0,15}",
        tty in prop_oneof!["not a tty", "/dev/pts/[0-9]{1,3}", "/dev/tty[0-9]{1,2}"],
        command in proptest::collection::vec(1u8..=255, 0..600)
            .prop_filter("rsyslog cannot tell these from escapes", |c| !has_escape_lookalike(c))
            .prop_filter("$(…) strips trailing newlines", |c| c.last() != Some(&b'\n')),
    ) {
        let line = render_seed_line(month, day, pid, &user, &tty, &command);
        let entry = history_of(&line).unwrap();
        prop_assert_eq!(entry.format, HistoryFormat::Seed);
        prop_assert_eq!(entry.user, Some(user.into_bytes()));
        prop_assert_eq!(entry.tty, Some(tty.into_bytes()));
        prop_assert_eq!(entry.logger_pid, Some(pid));
        prop_assert_eq!(entry.empty, command.is_empty());
        prop_assert_eq!(entry.raw_command, escape_like_rsyslog(&[b"\t ", command.as_slice()].concat()));
        prop_assert_eq!(entry.command, command);
        prop_assert!(!entry.truncated && !entry.malformed);
    }

    #[test]
    fn any_bash_message_is_handled_without_panic(
        head in prop::sample::select(vec![&b"bash[1]: "[..], b"-bash: HISTORY: ",
            b"bash: HISTORY (TRUNCATED): ", b"x: HISTORY: PID=1 UID="]),
        tail in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let line = [&b"Nov 22 21:36:11 vm "[..], head, &tail].concat();
        if let Ok(msg) = parse_syslog(&line) {
            let entry = parse_history(&msg);
            prop_assert!(entry.is_some(), "{:?}", msg);
        }
    }
}
