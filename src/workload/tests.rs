//! Tests of the workload generator: determinism, sizes, kernel-faithful encoding checked with
//! the project's own parsers, and consistency between the three streams.

use std::collections::{BTreeMap, HashMap, HashSet};

use auditrail_parsers::audit::{parse_header, parse_record};
use auditrail_parsers::execve::reassemble;
use auditrail_parsers::history::parse_history;
use auditrail_parsers::hook::parse_hook_verdict;
use auditrail_parsers::proctitle::parse_proctitle;
use auditrail_parsers::syslog::{parse_syslog, SyslogFormat};

use super::*;

fn events(seed: u64, n: u64, mix: Mix) -> (Vec<u8>, Vec<u8>, Vec<u8>, WorkloadSummary) {
    generate_to_vecs(&WorkloadConfig {
        seed,
        size: WorkloadSize::Events(n),
        mix,
    })
}

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = events(42, 3_000, Mix::default());
    let b = events(42, 3_000, Mix::default());
    assert_eq!(a, b);
    let c = events(43, 3_000, Mix::default());
    assert_ne!(a.0, c.0);
    assert_ne!(a.1, c.1);
}

#[test]
fn byte_size_is_honoured_at_an_event_boundary() {
    let target = 3_000_000;
    let (audit, _, _, summary) = generate_to_vecs(&WorkloadConfig::with_audit_bytes(7, target));
    assert!(audit.len() as u64 >= target, "{} < {target}", audit.len());
    // At most one event past the target (a long-argument event is ~40 KB).
    assert!((audit.len() as u64) < target + 64 * 1024, "{}", audit.len());
    assert_eq!(summary.audit_bytes, audit.len() as u64);
    assert_eq!(audit.last(), Some(&b'\n'));
}

#[test]
fn event_count_is_honoured_and_zero_means_nothing() {
    let (audit, _, _, summary) = events(3, 2_500, Mix::default());
    assert_eq!(summary.events, 2_500);
    let serials: HashSet<u64> = lines(&audit)
        .iter()
        .map(|l| parse_header(l).unwrap().serial)
        .collect();
    assert_eq!(serials.len(), 2_500);
    assert_eq!(summary.audit_records, lines(&audit).len() as u64);
    let (audit, syslog, hooks, summary) = events(3, 0, Mix::default());
    assert!(audit.is_empty() && syslog.is_empty() && hooks.is_empty());
    assert_eq!(summary, WorkloadSummary::default());
}

#[test]
fn every_audit_line_parses_and_serials_and_times_never_go_back() {
    let (audit, _, _, _) = events(11, 8_000, Mix::default());
    let mut first_seen: Vec<(u64, u64)> = Vec::new();
    let mut seen = HashSet::new();
    let mut types: HashSet<String> = HashSet::new();
    for line in lines(&audit) {
        let rec =
            parse_record(line).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
        assert!(rec.body.text.is_none(), "{}", String::from_utf8_lossy(line));
        types.insert(rec.header.rtype.to_name().into_owned());
        if seen.insert(rec.header.serial) {
            first_seen.push((rec.header.serial, rec.header.time.as_millis()));
        }
    }
    for pair in first_seen.windows(2) {
        assert!(pair[0].0 < pair[1].0, "serials {:?}", pair);
        assert!(pair[0].1 <= pair[1].1, "times {:?}", pair);
    }
    for t in [
        "SYSCALL",
        "EXECVE",
        "CWD",
        "PATH",
        "PROCTITLE",
        "SOCKADDR",
        "USER_ACCT",
        "USER_CMD",
        "USER_START",
        "USER_END",
        "CRED_ACQ",
        "CRED_DISP",
        "LOGIN",
        "USER_LOGIN",
    ] {
        assert!(types.contains(t), "no {t} record in {types:?}");
    }
    assert!(!types.contains("EOE"));
}

/// Groups an audit stream's records by serial, in order of first appearance.
fn by_serial(audit: &[u8]) -> Vec<(u64, Vec<&[u8]>)> {
    let mut order = Vec::new();
    let mut groups: HashMap<u64, Vec<&[u8]>> = HashMap::new();
    for line in lines(audit) {
        let serial = parse_header(line).unwrap().serial;
        groups.entry(serial).or_insert_with(|| {
            order.push(serial);
            Vec::new()
        });
        groups.get_mut(&serial).unwrap().push(line);
    }
    order
        .into_iter()
        .map(|s| (s, groups.remove(&s).unwrap()))
        .collect()
}

#[test]
fn execve_arguments_reassemble_and_agree_with_proctitle() {
    let mix = Mix {
        long_arg_fraction: 0.02,
        ..Mix::default()
    };
    let (audit, _, _, summary) = events(5, 6_000, mix);
    assert!(summary.long_arg_events > 0);
    let mut checked = 0;
    let mut split = 0;
    for (_, group) in by_serial(&audit) {
        let recs: Vec<_> = group.iter().map(|l| parse_record(l).unwrap()).collect();
        let execve: Vec<_> = recs
            .iter()
            .filter(|r| r.header.rtype.is("EXECVE"))
            .collect();
        if execve.is_empty() {
            continue;
        }
        if execve.len() > 1 {
            split += 1;
        }
        let argv = reassemble(execve.iter().map(|r| &r.body));
        assert!(argv.complete, "{:?}", String::from_utf8_lossy(group[1]));
        assert_eq!(argv.argc, Some(argv.args.len() as u32));
        let title = recs
            .iter()
            .find(|r| r.header.rtype.is("PROCTITLE"))
            .unwrap();
        let title = parse_proctitle(title.body.get(b"proctitle").unwrap());
        let mut joined = argv.args.join(&0u8);
        joined.truncate(MAX_PROCTITLE_AUDIT_LEN);
        while joined.last() == Some(&0) {
            joined.pop();
        }
        assert_eq!(title.argv.join(&0u8), joined);
        checked += 1;
    }
    assert!(checked > 3_000, "{checked}");
    assert_eq!(split, summary.long_arg_events);
}

#[test]
fn long_argument_share_follows_the_mix() {
    let (audit, _, _, summary) = events(9, 20_000, Mix::default());
    let share = summary.long_arg_events as f64 / summary.events as f64;
    assert!((0.008..=0.012).contains(&share), "{share}");
    let len_lines = lines(&audit)
        .iter()
        .filter(|l| l.windows(5).any(|w| w == b"_len="))
        .count();
    assert_eq!(len_lines as u64, summary.long_arg_events);
    let none = events(
        9,
        5_000,
        Mix {
            long_arg_fraction: 0.0,
            ..Mix::default()
        },
    )
    .3;
    assert_eq!(none.long_arg_events, 0);
}

#[test]
fn event_count_is_exact_when_the_last_event_could_be_interleaved() {
    let mix = Mix {
        interleave_fraction: 1.0,
        ..Mix::default()
    };
    for n in 300..400 {
        let (audit, _, _, summary) = events(2, n, mix.clone());
        assert_eq!(summary.events, n);
        let serials: HashSet<u64> = lines(&audit)
            .iter()
            .map(|l| parse_header(l).unwrap().serial)
            .collect();
        assert_eq!(serials.len() as u64, n);
    }
}

#[test]
fn interleaving_and_eoe_are_controlled_by_the_mix() {
    let mix = Mix {
        interleave_fraction: 1.0,
        ..Mix::default()
    };
    let (audit, _, _, summary) = events(21, 5_000, mix);
    assert!(summary.interleaved_pairs > 10);

    let serials: Vec<u64> = lines(&audit)
        .iter()
        .map(|l| parse_header(l).unwrap().serial)
        .collect();
    assert!(
        serials.windows(2).any(|w| w[1] < w[0]),
        "no record went back to an earlier serial"
    );
    let off = events(
        21,
        5_000,
        Mix {
            interleave_fraction: 0.0,
            ..Mix::default()
        },
    );
    assert_eq!(off.3.interleaved_pairs, 0);
    let serials: Vec<u64> = lines(&off.0)
        .iter()
        .map(|l| parse_header(l).unwrap().serial)
        .collect();
    assert!(serials.windows(2).all(|w| w[1] >= w[0]));

    let (audit, _, _, _) = events(
        21,
        2_000,
        Mix {
            eoe: true,
            ..Mix::default()
        },
    );
    for (_, group) in by_serial(&audit) {
        let multi = group.len() > 1;
        let ends_with_eoe = group.last().unwrap().starts_with(b"type=EOE ");
        assert_eq!(
            multi,
            ends_with_eoe,
            "{}",
            String::from_utf8_lossy(group[0])
        );
    }
}

#[test]
fn syslog_lines_parse_and_history_lines_match_logger_execs() {
    let (audit, syslog, _, summary) = events(13, 6_000, Mix::default());
    // pid of every logger exec → its message argument (argv[7]).
    let mut logger_message = HashMap::new();
    for (_, group) in by_serial(&audit) {
        let recs: Vec<_> = group.iter().map(|l| parse_record(l).unwrap()).collect();
        let Some(syscall) = recs.iter().find(|r| r.header.rtype.is("SYSCALL")) else {
            continue;
        };
        if syscall.body.text_of(b"comm").as_deref() != Some(b"logger") {
            continue;
        }
        let argv = reassemble(
            recs.iter()
                .filter(|r| r.header.rtype.is("EXECVE"))
                .map(|r| &r.body),
        );
        let pid = syscall.body.u64_of(b"pid").unwrap() as u32;
        logger_message.insert(pid, argv.args[7].clone());
    }
    let mut history = 0;
    for line in lines(&syslog) {
        let msg = parse_syslog(line).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(msg.format, SyslogFormat::Rfc3164);
        assert!(msg.hostname.is_some_and(|h| h.starts_with(b"ip-10-0-")));
        let Some(entry) = parse_history(&msg) else {
            continue;
        };
        let logged = &logger_message[&entry.logger_pid.unwrap()];
        let mut expected = entry.user.clone().unwrap();
        expected.push(b':');
        expected.extend_from_slice(entry.tty.as_deref().unwrap());
        expected.push(b':');
        if !entry.empty {
            expected.extend_from_slice(b"\t ");
            expected.extend_from_slice(&entry.command);
        }
        assert_eq!(logged, &expected, "{}", String::from_utf8_lossy(line));
        history += 1;
    }
    assert_eq!(history, summary.history_lines);
    assert!(history > 100);
}

#[test]
fn hook_verdicts_parse_and_name_audited_processes() {
    let (audit, _, hooks, summary) = events(17, 20_000, Mix::default());
    assert!(summary.hook_lines > 20, "{}", summary.hook_lines);
    let mut parent_of = BTreeMap::new();
    for line in lines(&audit) {
        let rec = parse_record(line).unwrap();
        if rec.header.rtype.is("SYSCALL") {
            parent_of.insert(
                rec.body.u64_of(b"pid").unwrap(),
                rec.body.u64_of(b"ppid").unwrap(),
            );
        }
    }
    let mut decisions = HashSet::new();
    for line in lines(&hooks) {
        assert!(line.len() < 4096);
        let v = parse_hook_verdict(line).unwrap();
        assert_eq!(
            parent_of.get(&u64::from(v.pid)),
            Some(&u64::from(v.ppid)),
            "{v:?}"
        );
        decisions.insert(format!("{:?}", v.decision));
    }
    assert_eq!(lines(&hooks).len() as u64, summary.hook_lines);
    assert!(
        decisions.contains("Allow") && decisions.contains("Deny"),
        "{decisions:?}"
    );
}

#[test]
fn byte_sizes_parse() {
    assert_eq!(parse_byte_size("100MB"), Ok(100_000_000));
    assert_eq!(parse_byte_size("100M"), Ok(100_000_000));
    assert_eq!(parse_byte_size("512KiB"), Ok(524_288));
    assert_eq!(parse_byte_size(" 1.5GB "), Ok(1_500_000_000));
    assert_eq!(parse_byte_size("4096"), Ok(4096));
    assert_eq!(parse_byte_size("2 mib"), Ok(2 << 20));
    assert!(parse_byte_size("MB").is_err());
    assert!(parse_byte_size("10 parsecs").is_err());
    assert!(parse_byte_size("").is_err());
}
