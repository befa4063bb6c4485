//! Every audit line of the shared corpus (`/work/shared/corpus`, read-only, other projects' real
//! logs) must parse with `audit::parse_record`. Audit lines are the lines of files that hold
//! `type=`/`node=` lines (comment and blank lines skipped), and the `type=`/`node=` lines inside
//! the YAML block scalars of go-libaudit's `aucoalesce/testdata/*.yaml`. JSON, syslog and other
//! non-audit files are skipped. Prints the count per record type (`--nocapture`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use auditrail_parsers::audit::{self, Record, Value};

/// One audit line and where it came from.
struct AuditLine {
    file: PathBuf,
    line_no: usize,
    bytes: Vec<u8>,
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: corpus not found at {}", dir.display());
        None
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn is_audit_start(line: &[u8]) -> bool {
    line.starts_with(b"type=") || line.starts_with(b"node=")
}

/// Files that are not audit logs even though some may mention `type=`.
fn is_skipped(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let in_dir = |d: &str| path.components().any(|c| c.as_os_str() == d);
    name.ends_with(".json")
        || name.starts_with("README")
        || name.starts_with("SOURCE")
        || name == "hook-payloads.tsv"
        || in_dir("syslog-bash-history")
        || (in_dir("auditrail-vm-capture") && name == "messages")
}

fn audit_lines(corpus: &Path) -> Vec<AuditLine> {
    let mut files = Vec::new();
    files_under(corpus, &mut files);
    let mut lines = Vec::new();
    for file in files.into_iter().filter(|f| !is_skipped(f)) {
        let content = std::fs::read(&file).unwrap();
        let yaml = file.extension().is_some_and(|e| e == "yaml");
        let raw_lines: Vec<&[u8]> = content.split(|&b| b == b'\n').collect();
        if !yaml && !raw_lines.iter().any(|l| is_audit_start(l)) {
            continue;
        }
        for (i, line) in raw_lines.iter().enumerate() {
            let line: &[u8] = if yaml { line.trim_ascii_start() } else { line };
            let wanted = if yaml {
                is_audit_start(line)
            } else {
                !line.trim_ascii().is_empty() && !line.starts_with(b"#")
            };
            if wanted {
                lines.push(AuditLine {
                    file: file.clone(),
                    line_no: i + 1,
                    bytes: line.to_vec(),
                });
            }
        }
    }
    lines
}

fn relative<'p>(path: &'p Path, corpus: &Path) -> &'p Path {
    path.strip_prefix(corpus).unwrap_or(path)
}

#[test]
fn every_audit_line_of_the_corpus_parses() {
    let Some(corpus) = corpus_dir() else { return };
    let lines = audit_lines(&corpus);
    assert!(lines.len() > 1000, "only {} audit lines found", lines.len());
    let mut failures = Vec::new();
    let mut per_type: BTreeMap<String, usize> = BTreeMap::new();
    for line in &lines {
        match audit::parse_record(&line.bytes) {
            Ok(r) => {
                *per_type
                    .entry(r.header.rtype.to_name().into_owned())
                    .or_default() += 1
            }
            Err(e) => failures.push(format!(
                "{}:{}: {e}",
                relative(&line.file, &corpus).display(),
                line.line_no
            )),
        }
    }
    println!(
        "{} audit lines, {} record types:",
        lines.len(),
        per_type.len()
    );
    for (rtype, count) in &per_type {
        println!("{count:>6} {rtype}");
    }
    assert!(
        failures.is_empty(),
        "{} lines failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn lines_of(corpus: &Path, file: &str) -> Vec<AuditLine> {
    audit_lines(corpus)
        .into_iter()
        .filter(|l| relative(&l.file, corpus) == Path::new(file))
        .collect()
}

fn parsed(lines: &[AuditLine]) -> Vec<Record<'_>> {
    lines
        .iter()
        .map(|l| audit::parse_record(&l.bytes).unwrap())
        .collect()
}

#[test]
fn vm_capture_facts() {
    let Some(corpus) = corpus_dir() else { return };
    let lines = lines_of(&corpus, "auditrail-vm-capture/audit.log");
    assert_eq!(lines.len(), 566);
    let records = parsed(&lines);
    let execve = records
        .iter()
        .filter(|r| r.header.rtype.is("EXECVE"))
        .count();
    assert_eq!(execve, 58);
    let first = &records[0];
    assert!(first.header.rtype.is("DAEMON_START"));
    assert_eq!(first.body.get(b"format"), Some(&Value::Bare(b"raw")));
    // RAW format: no ENRICHED fields anywhere, no EOE records.
    assert!(records.iter().all(|r| r.body.enriched.is_empty()));
    assert!(!records.iter().any(|r| r.header.rtype.is("EOE")));
    let head = records
        .iter()
        .find(|r| r.header.rtype.is("EXECVE") && r.body.get(b"a0") == Some(&Value::Quoted(b"head")))
        .unwrap();
    assert_eq!(head.header.serial, 4205);
    assert_eq!(head.body.get(b"a1"), Some(&Value::Quoted(b"-2")));
}

#[test]
fn go_libaudit_stray_quote_key_decodes() {
    let Some(corpus) = corpus_dir() else { return };
    let lines = lines_of(
        &corpus,
        "elastic_go-libaudit/auparse/testdata/audit-ubuntu17.log",
    );
    let records = parsed(&lines);
    let syscall = records
        .iter()
        .find(|r| r.header.rtype.is("SYSCALL"))
        .unwrap();
    assert_eq!(syscall.header.serial, 106081);
    assert_eq!(
        syscall.body.text_of(b"key").as_deref(),
        Some(&b"exec\x0164bit"[..])
    );
}

#[test]
fn laurel_enriched_and_odd_lines() {
    let Some(corpus) = corpus_dir() else { return };
    let lines = lines_of(&corpus, "threathunters-io_laurel/record-execve.txt");
    let records = parsed(&lines);
    assert!(records.iter().all(|r| r.header.node == Some(&b"work"[..])));
    let syscall = records
        .iter()
        .find(|r| r.header.rtype.is("SYSCALL"))
        .unwrap();
    assert_eq!(
        syscall.body.get_enriched(b"SYSCALL"),
        Some(&Value::Bare(b"execve"))
    );
    assert_eq!(
        syscall.body.get_enriched(b"AUID"),
        Some(&Value::Quoted(b"user"))
    );

    let long = lines_of(&corpus, "threathunters-io_laurel/record-execve-long.txt");
    let records = parsed(&long);
    let execve = records
        .iter()
        .find(|r| r.header.rtype.is("EXECVE"))
        .unwrap();
    assert_eq!(execve.body.u64_of(b"a1_len"), Some(16384));
    assert!(execve.body.get(b"a1[0]").is_some());
}

#[test]
fn go_libaudit_odd_headers() {
    let Some(corpus) = corpus_dir() else { return };
    let lines = lines_of(
        &corpus,
        "elastic_go-libaudit/auparse/testdata/audit-rhel7.log",
    );
    let records = parsed(&lines);
    let config = records
        .iter()
        .find(|r| r.header.rtype.is("DAEMON_CONFIG"))
        .unwrap();
    assert_eq!(config.header.serial, 34);
    assert_eq!(config.body.text, Some(&b"config changed,"[..]));
    assert_eq!(config.body.get(b"res"), Some(&Value::Bare(b"success")));
    let unknown = records
        .iter()
        .find(|r| r.header.rtype == audit::RecordType::Unknown(1329))
        .unwrap();
    assert_eq!(
        (unknown.header.serial, unknown.header.time.as_millis()),
        (0, 0)
    );
    assert_eq!(unknown.body.get(b"msg"), Some(&Value::Unset));
}

#[test]
fn yaml_block_scalars_yield_their_audit_lines() {
    let Some(corpus) = corpus_dir() else { return };
    let yaml_lines: Vec<AuditLine> = audit_lines(&corpus)
        .into_iter()
        .filter(|l| l.file.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert_eq!(yaml_lines.len(), 123);
    let abend = lines_of(
        &corpus,
        "elastic_go-libaudit/aucoalesce/testdata/random-internet.yaml",
    );
    let records = parsed(&abend);
    assert!(records[0].header.rtype.is("ANOM_ABEND"));
    assert_eq!(abend[0].line_no, 4);
    assert_eq!(records[0].header.serial, 911150);
    assert_eq!(
        records[0].body.text_of(b"reason").as_deref(),
        Some(&b"memory violation"[..])
    );
}
