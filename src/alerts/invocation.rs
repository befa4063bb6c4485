//! From words to what actually runs: strips assignments and wrappers (`sudo`, `env`, `nohup`,
//! `timeout` …) and opens nested command strings (`bash -c '…'`, `su -c '…'`, `eval …`,
//! `script -c '…'`), so that `sudo env X=1 bash -c 'docker run --privileged alpine'` is seen as
//! `docker run --privileged alpine` run through `sudo`.
//!
//! In: an argument vector (an execve's argv) or a command line (history, hook). Out: the
//! [`Invocation`]s it contains. Guarantees: nesting is followed [`MAX_DEPTH`] levels deep; work
//! is linear in the input per level; never panics.

use super::shell_words::{split_commands, Redirect, SimpleCommand};

/// How many nested command strings are opened (`bash -c "… eval '…'"` is two).
pub const MAX_DEPTH: usize = 3;

/// One command as it will run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// `argv[0]` first; empty for a command that only assigns variables (`HISTSIZE=0`).
    pub argv: Vec<String>,
    /// `NAME=value` words before the command, and those given to `export`/`declare`/… .
    pub assignments: Vec<(String, String)>,
    pub redirects: Vec<Redirect>,
    /// Wrappers it ran through, outermost first, by base name (`sudo`, `env`, `bash` …).
    pub via: Vec<String>,
}

impl Invocation {
    /// Base name of `argv[0]` (`/usr/bin/docker` → `docker`).
    pub fn program(&self) -> &str {
        self.argv.first().map_or("", |a| base_name(a))
    }

    /// The arguments after `argv[0]`.
    pub fn args(&self) -> &[String] {
        self.argv.get(1..).unwrap_or(&[])
    }
}

/// The last path component.
pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The invocations of a command line.
pub fn from_command_line(line: &str) -> Vec<Invocation> {
    let mut out = Vec::new();
    push_line(line, &[], 0, &mut out);
    out
}

/// The invocations of an execve argument vector.
pub fn from_argv(argv: &[String]) -> Vec<Invocation> {
    let mut out = Vec::new();
    let cmd = SimpleCommand {
        words: argv.to_vec(),
        redirects: Vec::new(),
    };
    push_command(cmd, &[], 0, &mut out);
    out
}

fn push_line(line: &str, via: &[String], depth: usize, out: &mut Vec<Invocation>) {
    for cmd in split_commands(line) {
        push_command(cmd, via, depth, out);
    }
}

fn push_command(cmd: SimpleCommand, via: &[String], depth: usize, out: &mut Vec<Invocation>) {
    let mut inv = Invocation {
        argv: Vec::new(),
        assignments: Vec::new(),
        redirects: cmd.redirects,
        via: via.to_vec(),
    };
    let mut words = cmd.words.into_iter().peekable();
    // Reserved words that only introduce the command after them.
    while words.peek().is_some_and(|w| is_reserved(w)) {
        words.next();
    }
    let mut rest: Vec<String> = words.collect();
    loop {
        let start = leading_assignments(&rest, &mut inv.assignments);
        rest.drain(..start);
        let Some(first) = rest.first() else { break };
        let program = base_name(first).to_string();
        match unwrap(&program, &rest) {
            Unwrapped::Command(skip) => {
                inv.via.push(program);
                rest.drain(..skip.min(rest.len()));
            }
            Unwrapped::Split(skip, words) => {
                inv.via.push(program);
                rest.drain(..skip.min(rest.len()));
                let tail = std::mem::take(&mut rest);
                rest = words;
                rest.extend(tail);
            }
            Unwrapped::Nested(text) => {
                if depth < MAX_DEPTH {
                    let mut nested_via = inv.via.clone();
                    nested_via.push(program);
                    push_line(&text, &nested_via, depth + 1, out);
                }
                // The shell itself is an invocation too (its own options, e.g. `bash -c` under
                // `HISTFILE=/dev/null`).
                break;
            }
            Unwrapped::No => break,
        }
    }
    if matches!(
        rest.first().map(|w| base_name(w)),
        Some("export" | "declare" | "typeset" | "readonly" | "local")
    ) {
        for word in rest.iter().skip(1).filter(|w| !w.starts_with('-')) {
            if let Some((name, value)) = assignment(word) {
                inv.assignments.push((name.to_string(), value.to_string()));
            }
        }
    }
    inv.argv = rest;
    if !inv.argv.is_empty() || !inv.assignments.is_empty() || !inv.redirects.is_empty() {
        out.push(inv);
    }
}

fn is_reserved(word: &str) -> bool {
    matches!(
        word,
        "!" | "{"
            | "}"
            | "if"
            | "then"
            | "else"
            | "elif"
            | "fi"
            | "do"
            | "done"
            | "while"
            | "until"
            | "time"
            | "esac"
    )
}

/// `NAME=value` → (`NAME`, `value`).
pub fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    let ok = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some((name, value))
}

/// How many leading words of `words` are assignments (added to `into`).
fn leading_assignments(words: &[String], into: &mut Vec<(String, String)>) -> usize {
    let mut n = 0;
    for w in words {
        match assignment(w) {
            Some((name, value)) => into.push((name.to_string(), value.to_string())),
            None => break,
        }
        n += 1;
    }
    n
}

enum Unwrapped {
    /// A wrapper: the command starts after this many words.
    Command(usize),
    /// `env -S 'a b'`: skip this many words, then these words come first.
    Split(usize, Vec<String>),
    /// A command string to parse (`bash -c STR`, `eval …`).
    Nested(String),
    No,
}

/// What wrapper `program` (with its whole argv in `words`) runs, if it is one.
fn unwrap(program: &str, words: &[String]) -> Unwrapped {
    let args = &words[1..];
    match program {
        // `sudo -s`/`-i` with no command runs a shell: nothing more to see there. sudo's own
        // `NAME=value` words stop the options and are read as the command's assignments.
        "sudo" => after_options(args, SUDO_VALUE_OPTS)
            .map_or(Unwrapped::No, |i| Unwrapped::Command(i + 1)),
        "doas" => {
            after_options(args, &["-u", "-C"]).map_or(Unwrapped::No, |i| Unwrapped::Command(i + 1))
        }
        "pkexec" => {
            after_options(args, &["--user"]).map_or(Unwrapped::No, |i| Unwrapped::Command(i + 1))
        }
        "nohup" | "builtin" | "exec" | "command" | "setsid" | "stdbuf" | "nice" | "ionice"
        | "chrt" | "taskset" | "unshare" | "setpriv" | "nsenter" | "time" | "strace" | "ltrace" => {
            let value_opts: &[&str] = match program {
                "nice" => &["-n", "--adjustment"],
                "ionice" => &["-c", "-n", "-p", "-P", "-u"],
                "stdbuf" => &["-i", "-o", "-e"],
                "exec" => &["-a"],
                "nsenter" => &[
                    "-t", "--target", "-S", "--setuid", "-G", "--setgid", "-w", "--wd",
                ],
                "setpriv" => &[
                    "--reuid",
                    "--regid",
                    "--groups",
                    "--inh-caps",
                    "--ambient-caps",
                    "--bounding-set",
                    "--securebits",
                    "--selinux-label",
                    "--apparmor-profile",
                ],
                "strace" | "ltrace" => &["-e", "-o", "-p", "-s", "-u", "-E", "-P", "-a"],
                _ => &[],
            };
            // `command -v x` only looks a name up.
            if program == "command" && args.iter().any(|a| a == "-v" || a == "-V") {
                return Unwrapped::No;
            }
            let positional = after_options(args, value_opts);
            match (program, positional) {
                ("chrt" | "taskset", Some(i)) => Unwrapped::Command(i + 2),
                (_, Some(i)) => Unwrapped::Command(i + 1),
                (_, None) => Unwrapped::No,
            }
        }
        "timeout" => after_options(args, &["-s", "--signal", "-k", "--kill-after"])
            .map_or(Unwrapped::No, |i| Unwrapped::Command(i + 2)),
        "chroot" => after_options(args, &["--userspec", "--groups"])
            .map_or(Unwrapped::No, |i| Unwrapped::Command(i + 2)),
        "env" => unwrap_env(args),
        "su" | "runuser" => match option_value(args, &["-c", "--command"]) {
            Some(cmd) => Unwrapped::Nested(cmd.to_string()),
            None if program == "runuser" => match args.iter().position(|a| a == "--") {
                Some(i) => Unwrapped::Command(i + 2),
                None => Unwrapped::No,
            },
            None => Unwrapped::No,
        },
        "bash" | "sh" | "dash" | "zsh" | "ksh" | "ash" | "mksh" | "busybox" => shell_command(args),
        "script" => match option_value(args, &["-c", "--command"]) {
            Some(cmd) => Unwrapped::Nested(cmd.to_string()),
            None => Unwrapped::No,
        },
        "eval" if !args.is_empty() => Unwrapped::Nested(args.join(" ")),
        _ => Unwrapped::No,
    }
}

const SUDO_VALUE_OPTS: &[&str] = &[
    "-u",
    "-g",
    "-C",
    "-D",
    "-h",
    "-p",
    "-r",
    "-t",
    "-U",
    "-T",
    "-R",
    "--user",
    "--group",
    "--close-from",
    "--chdir",
    "--host",
    "--prompt",
    "--role",
    "--type",
    "--other-user",
    "--command-timeout",
    "--chroot",
];

/// Index (in `args`) of the first positional argument after options; `value_opts` take the
/// next word as their value (unless written `--opt=value`); `--` ends the options.
fn after_options(args: &[String], value_opts: &[&str]) -> Option<usize> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "--" {
            return (i + 1 < args.len()).then_some(i + 1);
        }
        if a.starts_with('-') && a.len() > 1 {
            let takes_value = value_opts.contains(&a.as_str());
            i += if takes_value { 2 } else { 1 };
            continue;
        }
        return Some(i);
    }
    None
}

/// The value of the first of `names` (`-c VALUE`, `--command=VALUE`).
fn option_value<'a>(args: &'a [String], names: &[&str]) -> Option<&'a str> {
    for (i, a) in args.iter().enumerate() {
        for name in names {
            if a == name {
                return args.get(i + 1).map(String::as_str);
            }
            if let Some(v) = a.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                return Some(v);
            }
        }
    }
    None
}

/// `bash [-opts] -c STRING …` (also `-lc`, `-ec`, `busybox sh -c`).
fn shell_command(args: &[String]) -> Unwrapped {
    let mut wants_command = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if i == 1 && (a == "sh" || a == "ash") {
            continue; // busybox sh
        }
        if a == "-o" || a == "+o" || a == "-O" || a == "+O" || a == "--rcfile" || a == "--init-file"
        {
            i += 1;
            continue;
        }
        if a.starts_with('-') || a.starts_with('+') {
            if !a.starts_with("--") && a.contains('c') && a.starts_with('-') {
                wants_command = true;
            }
            continue;
        }
        return if wants_command {
            Unwrapped::Nested(a.clone())
        } else {
            Unwrapped::No // a script file
        };
    }
    Unwrapped::No
}

/// `env [-i] [-u NAME] [-C DIR] [-S STRING] [NAME=value…] command`: the wrapper ends at the
/// first assignment or command (assignments are then read as the command's own).
fn unwrap_env(args: &[String]) -> Unwrapped {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "--" => return Unwrapped::Command(i + 2),
            "-u" | "--unset" | "-C" | "--chdir" => i += 2,
            "-S" | "--split-string" => {
                let words = args
                    .get(i + 1)
                    .map(|s| s.split_whitespace().map(str::to_string).collect())
                    .unwrap_or_default();
                return Unwrapped::Split(i + 3, words);
            }
            _ if a.starts_with('-') && a.len() > 1 => i += 1,
            _ => return Unwrapped::Command(i + 1),
        }
    }
    Unwrapped::No
}
