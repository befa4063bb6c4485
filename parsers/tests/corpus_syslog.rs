//! The syslog, bash-history and hook-payload parsers against real files in `shared/corpus`:
//! every syslog line must parse, history lines are counted by format, and the VM capture's seed
//! history lines and hook payloads must come out as the session typed them. Each test skips, saying
//! why, when the corpus is not there.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use auditrail_parsers::history::{parse_history, HistoryEntry, HistoryFormat};
use auditrail_parsers::hook::parse_hook_payload;
use auditrail_parsers::syslog::parse_syslog;

fn corpus(sub: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus")
        .join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipping: corpus folder {} is absent", dir.display());
        None
    }
}

/// The file's lines without their `\n` (a last line without one included).
fn lines(path: &Path) -> Vec<Vec<u8>> {
    let bytes = fs::read(path).unwrap();
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    lines
}

/// Every syslog file of the corpus: the bash-history samples and the capture's `messages`.
fn syslog_files() -> Option<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus("syslog-bash-history")?)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files.push(corpus("auditrail-vm-capture")?.join("messages"));
    Some(files)
}

fn seed_entries(path: &Path) -> Vec<HistoryEntry> {
    lines(path)
        .iter()
        .filter_map(|line| parse_history(&parse_syslog(line).unwrap()))
        .filter(|e| e.format == HistoryFormat::Seed)
        .collect()
}

#[test]
fn every_corpus_syslog_line_parses_and_history_is_counted() {
    let Some(files) = syslog_files() else { return };
    let mut failures = Vec::new();
    let mut by_format: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for path in &files {
        for (n, line) in lines(path).iter().enumerate() {
            total += 1;
            let msg = match parse_syslog(line) {
                Ok(msg) => msg,
                Err(e) => {
                    failures.push(format!("{}:{}: {e}", path.display(), n + 1));
                    continue;
                }
            };
            if let Some(h) = parse_history(&msg) {
                *by_format.entry(format!("{:?}", h.format)).or_default() += 1;
                println!(
                    "{:?} {}:{} pid={:?} uid={:?} user={:?} logger_pid={:?} command={:?}{}",
                    h.format,
                    path.file_name().unwrap().to_string_lossy(),
                    n + 1,
                    h.pid,
                    h.uid,
                    h.user.as_deref().map(String::from_utf8_lossy),
                    h.logger_pid,
                    String::from_utf8_lossy(&h.command),
                    if h.empty { " (empty)" } else { "" },
                );
            }
        }
    }
    println!(
        "{total} lines in {} files; history lines by format: {by_format:?}",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "unparsed lines:\n{}",
        failures.join("\n")
    );
    let count = |f: &str| by_format.get(f).copied().unwrap_or(0);
    assert_eq!(count("Seed"), 15);
    assert_eq!(count("BashHistory"), 7);
    assert_eq!(count("BashPatched"), 1);
}

#[test]
fn capture_messages_yield_the_session_commands_in_order() {
    let Some(dir) = corpus("auditrail-vm-capture") else {
        return;
    };
    let entries = seed_entries(&dir.join("messages"));
    let claude =
        r#"claude "ls -la ~" "cat /etc/os-release | head -2" "echo \"dq\" and \\\\ backslash""#;
    let printf = r#"printf 'tab\there "quoted" and spaces\n' > /dev/null"#;
    let expected = [
        "",
        "uname -a",
        "uname -a",
        "git --version",
        "git --version",
        "env | wc -l",
        "env | wc -l",
        "env | wc -l",
        printf,
        printf,
        claude,
        claude,
        "sudo -n true",
        "sudo -n true",
        "exit",
    ];
    let commands: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8(e.command.clone()).unwrap())
        .collect();
    assert_eq!(commands, expected);
    assert!(entries[0].empty && entries[1..].iter().all(|e| !e.empty));
    assert_eq!(entries[1].raw_command, b"#011 uname -a");
    for e in &entries {
        assert_eq!(e.user.as_deref(), Some(&b"carol"[..]));
        assert_eq!(e.tty.as_deref(), Some(&b"/dev/pts/0"[..]));
        assert!(!e.truncated && !e.malformed && e.pid.is_none());
    }
    let logger_pids: Vec<u32> = entries.iter().map(|e| e.logger_pid.unwrap()).collect();
    assert_eq!((logger_pids[0], logger_pids[14]), (18195, 18272));
    assert!(
        logger_pids.windows(2).all(|w| w[0] < w[1]),
        "{logger_pids:?}"
    );
}

#[test]
fn capture_hook_payloads_parse() {
    let Some(dir) = corpus("auditrail-vm-capture") else {
        return;
    };
    let rows = lines(&dir.join("hook-payloads.tsv"));
    let commands = [
        "ls -la ~",
        "cat /etc/os-release | head -2",
        r#"echo "dq" and \\ backslash"#,
    ];
    assert_eq!(rows.len(), 3);
    for (i, row) in rows.iter().enumerate() {
        let cols: Vec<&[u8]> = row.splitn(3, |&b| b == b'\t').collect();
        let [pid, ppid, json] = cols[..] else {
            panic!("row {i}: {cols:?}")
        };
        let pid: u32 = std::str::from_utf8(pid).unwrap().parse().unwrap();
        let ppid: u32 = std::str::from_utf8(ppid).unwrap().parse().unwrap();
        let p = parse_hook_payload(json).unwrap();
        println!(
            "{pid}\t{ppid}\t{:?} {:?}",
            p.tool_use_id, p.tool_input.command
        );
        assert_eq!(p.tool_use_id, Some(format!("toolu_01HOLDOUT{:04}", i + 1)));
        assert_eq!(p.session_id, "8c35adc1-4b2e-4f0a-9d3c-0a1b2c3d4e5f");
        assert_eq!(p.hook_event_name, "PreToolUse");
        assert_eq!(
            (p.tool_name.as_deref(), p.cwd.as_deref()),
            (Some("Bash"), Some("/home/ssm-user"))
        );
        assert_eq!(p.tool_input.command.as_deref(), Some(commands[i]));
        assert_eq!(
            p.tool_input.description,
            Some(format!("tool call {}", i + 1))
        );
        assert!(p.extra.is_empty() && p.tool_input.extra.is_empty());
    }
}
