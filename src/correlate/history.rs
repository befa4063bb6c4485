//! History lines: finding the shell behind a line, and marking repeated lines.
//!
//! Enters: a [`HistoryView`] and the argv of the process its `logger_pid` names; history events
//! in release order. Leaves: whether that argv is the line's `logger` (so its parent is the
//! shell), and `history.repeat` / `history.duplicate_of` on repeated lines. Guarantees: the
//! repeat memory is bounded; comparisons are linear.
//!
//! **Repeats.** history-security.sh logs every command at least twice (the DEBUG trap fires for
//! the command and again for `PROMPT_COMMAND`, once more per pipeline element), so a line that
//! repeats the previous line of the same shell (same command) is marked: `repeat` counts the
//! identical lines before it, `duplicate_of` is the id of the first of them. A user typing the
//! same command twice in a row is marked the same way: the lines are all kept, so nothing is lost.

use super::bounded::BoundedMap;
use super::ssm::basename;
use crate::event::HistoryView;

const MAX_SHELLS: usize = 4096;

/// Is `args` the `logger` execve that wrote history line `h`? The seed runs
/// `logger -p local1.notice -t bash -i -- "USER:TTY:COMMAND"` (COMMAND is `fc -ln -0` output:
/// a TAB and a space before the command). `cut` says the argv was shortened by the table; a
/// line logger cut (`h.truncated`) matches on the common prefix too.
pub(crate) fn is_logger_of(args: &[String], cut: bool, h: &HistoryView) -> bool {
    if args.first().is_none_or(|a| basename(a) != "logger") {
        return false;
    }
    let message = match args.iter().position(|a| a == "--") {
        Some(i) => args.get(i + 1..).unwrap_or_default().join(" "),
        None => args.last().cloned().unwrap_or_default(),
    };
    let body = match (&h.user, &h.tty) {
        (Some(u), Some(t)) => {
            let Some(rest) = message
                .strip_prefix(u.as_str())
                .and_then(|r| r.strip_prefix(':'))
                .and_then(|r| r.strip_prefix(t.as_str()))
                .and_then(|r| r.strip_prefix(':'))
            else {
                return false;
            };
            rest.strip_prefix("\t ")
                .or_else(|| rest.strip_prefix("\t*"))
                .unwrap_or(rest)
        }
        _ => message.as_str(),
    };
    let command = h.command.as_str();
    if body == command {
        return true;
    }
    (cut || h.truncated)
        && !command.is_empty()
        && (body.starts_with(command) || command.starts_with(body))
}

/// The last history line of each shell.
#[derive(Debug)]
pub(crate) struct Repeats {
    last: BoundedMap<String, (String, String, u32)>,
}

impl Repeats {
    pub(crate) fn new() -> Self {
        Repeats {
            last: BoundedMap::new(MAX_SHELLS),
        }
    }

    /// Marks `h` (event `id`) if it repeats the previous line of `shell`.
    pub(crate) fn mark(&mut self, shell: String, h: &mut HistoryView, id: &str) {
        if let Some((command, first, n)) = self.last.get_mut(&shell) {
            if *command == h.command {
                *n += 1;
                h.repeat = *n;
                h.duplicate_of = Some(first.clone());
                return;
            }
        }
        self.last
            .insert(shell, (h.command.clone(), id.to_string(), 0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(user: Option<&str>, tty: Option<&str>, command: &str) -> HistoryView {
        HistoryView {
            format: "seed",
            user: user.map(Into::into),
            tty: tty.map(Into::into),
            shell_pid: None,
            uid: None,
            login: None,
            logger_pid: Some(1),
            command: command.into(),
            command_hex: None,
            empty: command.is_empty(),
            truncated: false,
            malformed: false,
            repeat: 0,
            duplicate_of: None,
        }
    }

    fn logger(msg: &str) -> Vec<String> {
        [
            "logger",
            "-p",
            "local1.notice",
            "-t",
            "bash",
            "-i",
            "--",
            msg,
        ]
        .iter()
        .map(ToString::to_string)
        .collect()
    }

    #[test]
    fn matches_the_seed_logger_argv() {
        let h = view(Some("carol"), Some("/dev/pts/0"), "uname -a");
        assert!(is_logger_of(
            &logger("carol:/dev/pts/0:\t uname -a"),
            false,
            &h
        ));
        assert!(!is_logger_of(
            &logger("carol:/dev/pts/0:\t uname"),
            false,
            &h
        ));
        assert!(!is_logger_of(
            &logger("dave:/dev/pts/0:\t uname -a"),
            false,
            &h
        ));
        let mut not_logger = logger("carol:/dev/pts/0:\t uname -a");
        not_logger[0] = "/usr/bin/cat".into();
        assert!(!is_logger_of(&not_logger, false, &h));
        // Empty command (history -c, first prompt).
        let e = view(Some("carol"), Some("/dev/pts/0"), "");
        assert!(is_logger_of(&logger("carol:/dev/pts/0:"), false, &e));
        // Cut argv: prefix match.
        assert!(is_logger_of(&logger("carol:/dev/pts/0:\t uname"), true, &h));
        // Malformed line: whole message.
        let m = view(None, None, "weird");
        assert!(is_logger_of(&logger("weird"), false, &m));
    }

    #[test]
    fn repeats_are_counted_per_shell() {
        let mut r = Repeats::new();
        let mut a = view(None, None, "ls");
        r.mark("pid:1".into(), &mut a, "e1");
        assert_eq!((a.repeat, a.duplicate_of.as_deref()), (0, None));
        let mut b = view(None, None, "ls");
        r.mark("pid:1".into(), &mut b, "e2");
        assert_eq!((b.repeat, b.duplicate_of.as_deref()), (1, Some("e1")));
        let mut other = view(None, None, "ls");
        r.mark("pid:2".into(), &mut other, "e3");
        assert_eq!(other.repeat, 0);
        let mut c = view(None, None, "ls");
        r.mark("pid:1".into(), &mut c, "e4");
        assert_eq!((c.repeat, c.duplicate_of.as_deref()), (2, Some("e1")));
        let mut d = view(None, None, "pwd");
        r.mark("pid:1".into(), &mut d, "e5");
        assert_eq!(d.repeat, 0);
    }
}
