//! The agent's Bash tool does not exec a command verbatim; it runs (zsh adds `setopt` steps; the
//! prefix varies by version):
//!
//! ```text
//! SHELL -c "source …/shell-snapshots/snapshot-….sh 2>/dev/null || true && eval 'COMMAND' < /dev/null && pwd -P >| /tmp/claude-XXXX-cwd"
//! ```
//!
//! This finds COMMAND in such an argv.
//!
//! Enters: an execve's argv. Leaves: the command the wrapper evaluates, or `None` for anything
//! else. Guarantees: linear in the script; unbalanced quotes give `None`; never panics.

use super::ssm::basename;

/// The command an agent's Bash-tool wrapper evaluates, or `None` if `args` is not such a
/// wrapper: `SHELL [-opts] -c SCRIPT` where SCRIPT has the wrapper's marks (a shell snapshot, or
/// `pwd -P >|` into the agent's cwd file) and an `eval WORD`; WORD is unquoted as the shell
/// would (`'…'`, `'\''`, `"…"`, backslashes).
pub(crate) fn tool_command(args: &[String]) -> Option<String> {
    let shell = basename(args.first()?);
    let shell = shell.strip_prefix('-').unwrap_or(shell);
    if !matches!(shell, "bash" | "sh" | "zsh" | "dash" | "ksh") {
        return None;
    }
    let script = command_string(args.get(1..)?)?;
    let marked = script.contains("shell-snapshots")
        || script.contains("pwd -P >|")
        || script.contains("/claude-");
    if !marked {
        return None;
    }
    eval_argument(script)
}

/// The SCRIPT of `-c` among a shell's arguments (options may precede it; `-o NAME` takes one).
fn command_string(rest: &[String]) -> Option<&str> {
    let mut has_c = false;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            return has_c.then(|| it.next().map(String::as_str)).flatten();
        }
        let is_opt = a.len() > 1 && (a.starts_with('-') || a.starts_with('+'));
        if !is_opt {
            return has_c.then_some(a.as_str());
        }
        if matches!(a.as_str(), "-o" | "+o" | "-O" | "+O") {
            it.next();
        } else if a.starts_with('-') && !a.starts_with("--") && a.contains('c') {
            has_c = true;
        }
    }
    None
}

/// The first `eval WORD` in a command position of `script`, WORD unquoted.
fn eval_argument(script: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = script.get(from..)?.find("eval ") {
        let at = from + i;
        let before = script.get(..at)?.chars().next_back();
        if before.is_none_or(|c| c.is_whitespace() || "&;|(".contains(c)) {
            return shell_word(script.get(at + 5..)?.trim_start());
        }
        from = at + 5;
    }
    None
}

/// One shell word at the start of `s`, quotes removed; `None` if empty or unterminated.
fn shell_word(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut any = false;
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || "<>|&;()".contains(c) {
            break;
        }
        chars.next();
        any = true;
        match c {
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    ch => out.push(ch),
                }
            },
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        n @ ('"' | '\\' | '$' | '`') => out.push(n),
                        '\n' => {}
                        n => {
                            out.push('\\');
                            out.push(n);
                        }
                    },
                    ch => out.push(ch),
                }
            },
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(n) => out.push(n),
            },
            ch => out.push(ch),
        }
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn extracts_the_command_from_the_bash_tool_wrapper() {
        let w = "source /home/u/.claude/shell-snapshots/snapshot-bash-1-ab.sh 2>/dev/null || true && eval 'ls -la ~' < /dev/null && pwd -P >| /tmp/claude-a001-cwd";
        assert_eq!(
            tool_command(&v(&["/bin/bash", "-c", w])).as_deref(),
            Some("ls -la ~")
        );
        let w = "source /x/shell-snapshots/s.sh 2>/dev/null || true && eval 'echo '\\''it'\\''s \"dq\" \\\\ x' < /dev/null && pwd -P >| /tmp/claude-1-cwd";
        assert_eq!(
            tool_command(&v(&["/bin/bash", "-c", w])).as_deref(),
            Some("echo 'it's \"dq\" \\\\ x")
        );
        // zsh with setopt steps and options before -c.
        let w = "source /x/shell-snapshots/snapshot-zsh-1.sh 2>/dev/null || true && setopt NO_EXTENDED_GLOB 2>/dev/null || true && eval \"git status\" < /dev/null && pwd -P >| /tmp/claude-2-cwd";
        assert_eq!(
            tool_command(&v(&["/bin/zsh", "-l", "-o", "x", "-c", w])).as_deref(),
            Some("git status")
        );
        assert_eq!(
            tool_command(&v(&[
                "bash",
                "-lc",
                "eval 'a b' && pwd -P >| /tmp/claude-3-cwd"
            ]))
            .as_deref(),
            Some("a b")
        );
    }

    #[test]
    fn ordinary_shells_are_not_wrappers() {
        assert!(tool_command(&v(&["/bin/bash", "-c", "eval 'ls'"])).is_none());
        assert!(tool_command(&v(&["/bin/sh", "-c", "/opt/security/audit-log.sh"])).is_none());
        assert!(tool_command(&v(&["/usr/bin/python3", "-c", "pwd -P >| eval 'x'"])).is_none());
        assert!(tool_command(&v(&["bash", "script.sh", "pwd -P >| eval 'x'"])).is_none());
        // Unterminated quote, no eval, empty word.
        let w = "source /x/shell-snapshots/s.sh && eval 'ls";
        assert!(tool_command(&v(&["bash", "-c", w])).is_none());
        assert!(tool_command(&v(&["bash", "-c", "source /x/shell-snapshots/s.sh"])).is_none());
        assert!(tool_command(&v(&["bash", "-c", "pwd -P >| x; medieval 'y'"])).is_none());
        assert!(tool_command(&v(&[])).is_none());
    }

    proptest::proptest! {
        #[test]
        fn any_command_survives_the_agents_quoting(cmd in "\\PC*", zsh: bool) {
            // The agent escapes single quotes as '\'' inside eval '…'.
            let quoted = cmd.replace('\'', "'\\''");
            let script = format!(
                "source /h/.claude/shell-snapshots/snapshot-x.sh 2>/dev/null || true && eval '{quoted}' < /dev/null && pwd -P >| /tmp/claude-9-cwd"
            );
            let shell = if zsh { "/bin/zsh" } else { "/bin/bash" };
            let got = tool_command(&v(&[shell, "-c", &script]));
            proptest::prop_assert_eq!(got.as_deref(), Some(cmd.as_str()));
        }

        #[test]
        fn odd_scripts_never_panic(script in "\\PC*") {
            let _ = tool_command(&v(&["bash", "-c", &format!("pwd -P >| x && eval {script}")]));
            let _ = shell_word(&script);
        }
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("a\\ b c").as_deref(), Some("a b"));
        assert_eq!(shell_word("'x'\"y\\\"z\"w;").as_deref(), Some("xy\"zw"));
        assert_eq!(shell_word("< x"), None);
        assert_eq!(shell_word("\"abc"), None);
    }
}
