//! The shell-word splitter and the wrapper/nesting logic.

use super::invocation::{from_argv, from_command_line, Invocation, MAX_DEPTH};
use super::shell_words::{split_commands, RedirectOp};
use proptest::prelude::*;

fn words(line: &str) -> Vec<Vec<String>> {
    split_commands(line).into_iter().map(|c| c.words).collect()
}

fn argvs(invs: &[Invocation]) -> Vec<String> {
    invs.iter().map(|i| i.argv.join(" ")).collect()
}

#[test]
fn quotes_and_escapes() {
    assert_eq!(
        words(r#"echo 'a b' "c \"d\" \$e" f\ g"#),
        [["echo", "a b", "c \"d\" $e", "f g"]]
    );
    assert_eq!(words(r#"printf $'a\tb\n' ''"#), [["printf", "a\tb\n", ""]]);
    assert_eq!(words("echo \"unclosed"), [["echo", "unclosed"]]);
    assert_eq!(words("echo a\\\nb"), [["echo", "ab"]]);
    assert_eq!(words(r#"echo "back\slash""#), [["echo", "back\\slash"]]);
}

#[test]
fn separators_split_commands() {
    assert_eq!(
        words("a 1; b 2 && c || d | e |& f & g\nh"),
        [
            vec!["a", "1"],
            vec!["b", "2"],
            vec!["c"],
            vec!["d"],
            vec!["e"],
            vec!["f"],
            vec!["g"],
            vec!["h"]
        ]
    );
    assert_eq!(words("(cd /tmp; ls)"), [vec!["cd", "/tmp"], vec!["ls"]]);
    assert_eq!(
        words("echo 'a; b' \"c && d\""),
        [["echo", "a; b", "c && d"]]
    );
    assert_eq!(words("ls # rm -rf /"), [["ls"]]);
    assert_eq!(words("echo a#b"), [["echo", "a#b"]]);
}

#[test]
fn substitutions_stay_in_their_word() {
    assert_eq!(
        words("echo $(date; id) `uname -a` x"),
        [["echo", "$(date; id)", "`uname -a`", "x"]]
    );
    assert_eq!(words("v=$(echo \"$(id)\")"), [["v=$(echo \"$(id)\")"]]);
}

#[test]
fn redirections_are_kept_apart() {
    let cmds =
        split_commands("cat /dev/null > ~/.bash_history 2>&1; echo x >> log; : >| f; cmd &> out");
    assert_eq!(cmds[0].words, ["cat", "/dev/null"]);
    assert_eq!(cmds[0].redirects[0].op, RedirectOp::Truncate);
    assert_eq!(cmds[0].redirects[0].target, "~/.bash_history");
    assert_eq!(cmds[0].redirects[1].op, RedirectOp::Other);
    assert_eq!(cmds[1].redirects[0].op, RedirectOp::Append);
    assert_eq!(cmds[2].words, [":"]);
    assert_eq!(cmds[2].redirects[0].op, RedirectOp::Truncate);
    assert_eq!(cmds[3].redirects[0].op, RedirectOp::Truncate);
    assert_eq!(cmds[3].redirects[0].target, "out");
    // `2>` is a redirection of fd 2, not the word "2".
    assert_eq!(split_commands("ls 2> err")[0].words, ["ls"]);
    assert_eq!(split_commands("echo > 'a b'")[0].redirects[0].target, "a b");
}

#[test]
fn here_document_bodies_are_not_commands() {
    let cmds = split_commands("cat > notes.txt <<'EOF'\nhistory -c\nunset HISTFILE\nEOF\nls -l");
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    assert_eq!(cmds[0].words, ["cat"]);
    assert_eq!(cmds[1].words, ["ls", "-l"]);
    let tabbed = split_commands("cat <<-END\n\thistory -c\n\tEND\nid");
    assert_eq!(tabbed.len(), 2, "{tabbed:?}");
    assert_eq!(tabbed[1].words, ["id"]);
    // A here-string is not a here-document.
    assert_eq!(split_commands("cat <<< 'x'\nid").len(), 2);
}

#[test]
fn wrappers_are_seen_through() {
    let invs = from_command_line("sudo -u root env -i X=1 nohup docker run --privileged alpine");
    let docker = invs.iter().find(|i| i.program() == "docker").unwrap();
    assert_eq!(docker.via, ["sudo", "env", "nohup"]);
    assert_eq!(docker.assignments, [("X".to_string(), "1".to_string())]);
    assert_eq!(docker.args(), ["run", "--privileged", "alpine"]);
    let t = from_command_line("timeout -s KILL 10 nice -n 5 rm -f ~/.bash_history");
    assert_eq!(argvs(&t), ["rm -f ~/.bash_history"]);
    assert_eq!(t[0].via, ["timeout", "nice"]);
    assert_eq!(argvs(&from_command_line("sudo -s")), ["sudo -s"]);
    assert_eq!(
        argvs(&from_command_line("command -v docker")),
        ["command -v docker"]
    );
    assert_eq!(
        argvs(&from_command_line("env -S 'history -c' x")),
        ["history -c x"]
    );
    assert_eq!(
        argvs(&from_command_line("if true; then history -c; fi")),
        ["true", "history -c"]
    );
}

#[test]
fn nested_command_strings_are_opened() {
    let invs = from_command_line("sudo bash -c 'unset HISTFILE; docker run --pid=host x'");
    let programs: Vec<&str> = invs.iter().map(Invocation::program).collect();
    assert_eq!(programs, ["unset", "docker", "bash"]);
    assert_eq!(invs[1].via, ["sudo", "bash"]);
    assert_eq!(
        argvs(&from_command_line("su - alice -c 'history -c'"))[0],
        "history -c"
    );
    assert_eq!(
        argvs(&from_command_line("runuser -u carol -- bash -i")),
        ["bash -i"]
    );
    assert_eq!(
        argvs(&from_command_line("script -q -c 'auditctl -D' /dev/null"))[0],
        "auditctl -D"
    );
    assert_eq!(
        argvs(&from_command_line("bash -o pipefail -lc 'id'"))[0],
        "id"
    );
    // A script file is not a command string.
    assert_eq!(
        argvs(&from_command_line("bash ./deploy.sh -c x")),
        ["bash ./deploy.sh -c x"]
    );
}

#[test]
fn the_agent_bash_tool_wrapper_is_opened_to_the_command() {
    // The exec form of Claude Code's Bash tool: bash -c "source … && eval '<cmd>' < /dev/null && pwd -P >| …".
    let argv: Vec<String> = [
        "/bin/bash",
        "-c",
        "source /home/carol/.claude/shell-snapshots/snapshot-bash-1.sh 2>/dev/null || true && eval 'docker run --privileged -v /:/host alpine '\\''echo hi'\\''' < /dev/null && pwd -P >| /tmp/claude-1a2b-cwd",
    ]
    .map(String::from)
    .into();
    let invs = from_argv(&argv);
    let docker = invs
        .iter()
        .find(|i| i.program() == "docker")
        .expect("docker seen");
    assert_eq!(
        docker.args(),
        ["run", "--privileged", "-v", "/:/host", "alpine", "echo hi"]
    );
    assert_eq!(docker.via, ["bash", "eval"]);
}

#[test]
fn nesting_stops_at_the_depth_limit() {
    let mut line = "history -c".to_string();
    for _ in 0..MAX_DEPTH + 1 {
        line = format!("bash -c {}", shell_single_quote(&line));
    }
    assert!(from_command_line(&line)
        .iter()
        .all(|i| i.program() != "history"));
    let mut line = "history -c".to_string();
    for _ in 0..MAX_DEPTH {
        line = format!("bash -c {}", shell_single_quote(&line));
    }
    assert!(from_command_line(&line)
        .iter()
        .any(|i| i.program() == "history"));
}

fn shell_single_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[test]
fn export_and_friends_assign() {
    let inv = &from_command_line("export HISTFILE=/dev/null HISTSIZE=0")[0];
    assert_eq!(inv.assignments.len(), 2);
    let inv = &from_command_line("HISTFILESIZE=0")[0];
    assert!(inv.argv.is_empty());
    assert_eq!(inv.assignments[0].0, "HISTFILESIZE");
    assert!(from_command_line("declare -x HISTSIZE=0")[0].assignments[0].1 == "0");
}

proptest! {
    #[test]
    fn never_panics(line in "\\PC{0,300}") {
        let _ = from_command_line(&line);
    }

    #[test]
    fn never_panics_on_shell_soup(line in "[a-z$'\"\\\\;&|<>()`# \n=-]{0,200}") {
        let _ = from_command_line(&line);
    }
}
