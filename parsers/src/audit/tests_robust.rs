//! Garbage input, property tests (no panic on any bytes; `parse_record` agrees with
//! `parse_header` and with the stamp it was given) and an ignored throughput check:
//! `cargo test --release -p auditrail-parsers --lib audit::tests_robust -- --ignored --nocapture`.

use super::*;
use proptest::prelude::*;

#[test]
fn garbage_is_an_error_not_a_panic() {
    let long_garbage = vec![b'x'; 1 << 20];
    let cases: &[&[u8]] = &[
        b"",
        b"\r",
        b"   ",
        b"\x00\x01\x02\xff",
        b"Nov  2 10:00:00 host sshd[1]: Accepted publickey",
        b"type=",
        b"type=SYSCALL msg=audit(",
        b"type=SYSCALL msg=audit(1700000000.123:",
        b"type=SYSCALL msg=audit(1700000000.123:42",
        b"type=SYSCALL msg=audit(.123:42):",
        b"type=SYSCALL msg=audit(1700000000:42):",
        b"type=SYSCALL\x1dmsg=audit(1.000:1):",
        b"type=UNKNOWN[] msg=audit(1.000:1):",
        b"node=a",
        &long_garbage,
    ];
    for line in cases {
        let err = parse_record(line).unwrap_err();
        assert_eq!(Some(err.clone()), parse_header(line).err());
        assert!(err.offset <= line.len());
    }
}

#[test]
fn error_points_at_the_malformed_stamp() {
    let e = parse_record(b"type=SYSCALL msg=audit(17x.000:1): a=1").unwrap_err();
    assert_eq!(e.what, "malformed `msg=audit(SECONDS.MILLIS:SERIAL)`");
    assert_eq!(e.offset, 25);
    assert!(e.near.starts_with("x.000:1)"), "{}", e.near);
}

#[test]
fn huge_bodies_parse_in_linear_time() {
    // 1 MB of tokens that each open something never closed: `"`, `'`, `{ `, free text, `=`.
    for unit in [
        &b"a=\"x "[..],
        b"m='x ",
        b"s={ x ",
        b"word ",
        b"k= ",
        b"k=6",
    ] {
        let mut line = b"type=SYSCALL msg=audit(1.000:1): ".to_vec();
        while line.len() < 1 << 20 {
            line.extend_from_slice(unit);
        }
        let started = std::time::Instant::now();
        let r = parse_record(&line).unwrap();
        assert!(r.body.fields.len() + usize::from(r.body.text.is_some()) >= 1);
        // Generous bound (debug build, shared machine); quadratic behaviour would take minutes.
        assert!(
            started.elapsed().as_secs() < 5,
            "{unit:?} took {:?}",
            started.elapsed()
        );
    }
}

fn type_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Z][A-Z0-9_]{0,20}",
        (0u32..100_000).prop_map(|n| format!("UNKNOWN[{n}]"))
    ]
}

proptest! {
    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..600)) {
        let header = parse_header(&input);
        let record = parse_record(&input);
        prop_assert_eq!(header.is_ok(), record.is_ok());
    }

    #[test]
    fn random_bodies_after_a_valid_header_always_parse(
        body in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut line = b"type=USER_CMD msg=audit(1700000000.001:9): ".to_vec();
        line.extend_from_slice(&body);
        let r = parse_record(&line);
        prop_assert!(r.is_ok(), "{:?}", r);
    }

    #[test]
    fn parse_record_agrees_with_parse_header(
        node in proptest::option::of("[a-z0-9.-]{1,16}"),
        rtype in type_name(),
        secs in any::<u64>(),
        millis in 0u16..1000,
        serial in any::<u64>(),
        colon in any::<bool>(),
        body in "[ -~\u{1d}]{0,200}",
    ) {
        let node_part = node.as_ref().map(|n| format!("node={n} ")).unwrap_or_default();
        let sep = if colon { ":" } else { "" };
        let line = format!("{node_part}type={rtype} msg=audit({secs}.{millis:03}:{serial}){sep} {body}");
        let record = parse_record(line.as_bytes()).unwrap();
        let header = parse_header(line.as_bytes()).unwrap();
        prop_assert_eq!(&record.header, &header);
        prop_assert_eq!(header.node, node.as_deref().map(str::as_bytes));
        prop_assert_eq!(header.rtype.to_name(), rtype.as_str());
        prop_assert_eq!(header.time, AuditTime { secs, millis });
        prop_assert_eq!(header.serial, serial);
        prop_assert_eq!(&line.as_bytes()[header.body_start..], body.trim_start_matches(' ').as_bytes());
    }
}

/// Realistic lines, about 1 MB, in the proportions a busy host writes them.
fn realistic_log() -> Vec<u8> {
    let lines: &[&[u8]] = &[
        b"type=SYSCALL msg=audit(1795383371.684:4148): arch=c000003e syscall=59 success=yes exit=0 a0=55d5c4a5b0a0 a1=55d5c4a5b1e0 a2=55d5c4a5b2b0 a3=8 items=2 ppid=18243 pid=18250 auid=1001 uid=1001 gid=1001 euid=1001 suid=1001 fsuid=1001 egid=1001 sgid=1001 fsgid=1001 tty=pts0 ses=4 comm=\"grep\" exe=\"/usr/bin/grep\" key=\"command_execution\"",
        b"type=EXECVE msg=audit(1795383371.684:4148): argc=4 a0=\"grep\" a1=\"--color=auto\" a2=\"-i\" a3=2F746D702F6D792066696C65",
        b"type=CWD msg=audit(1795383371.684:4148): cwd=\"/home/carol\"",
        b"type=PATH msg=audit(1795383371.684:4148): item=0 name=\"/usr/bin/grep\" inode=325901 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
        b"type=PATH msg=audit(1795383371.684:4148): item=1 name=\"/lib64/ld-linux-x86-64.so.2\" inode=325843 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
        b"type=PROCTITLE msg=audit(1795383371.684:4148): proctitle=67726570002D2D636F6C6F723D6175746F002D69002F746D702F6D792066696C65",
        b"type=USER_CMD msg=audit(1481077231.363:475): pid=1382 uid=1000 auid=1000 ses=3 subj=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 msg='cwd=\"/home/andrew_kroh\" cmd=2E2F6D657472696362656174202D63206D622E6465762E796D6C terminal=pts/0 res=success'",
        b"type=CRED_ACQ msg=audit(1725004861.996:747421): pid=26752 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:setcred grantors=pam_env,pam_unix acct=\"root\" exe=\"/usr/sbin/crond\" hostname=? addr=? terminal=cron res=success'\x1dUID=\"root\" AUID=\"unset\"",
    ];
    let mut log = Vec::new();
    while log.len() < 1 << 20 {
        for line in lines {
            log.extend_from_slice(line);
            log.push(b'\n');
        }
    }
    log
}

/// MB/s of `parse` over `lines`: the best and the median of `passes` timed passes of `rounds`
/// rounds each (the best is the least disturbed by other processes on a shared machine).
fn mb_per_sec(
    lines: &[&[u8]],
    passes: usize,
    rounds: usize,
    mut parse: impl FnMut(&[u8]),
) -> (f64, f64) {
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut rates: Vec<f64> = (0..passes)
        .map(|_| {
            let started = std::time::Instant::now();
            for _ in 0..rounds {
                for &line in lines {
                    parse(std::hint::black_box(line));
                }
            }
            (bytes * rounds) as f64 / 1e6 / started.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    (rates[passes - 1], rates[passes / 2])
}

#[test]
#[ignore = "throughput check; run with --release --ignored --nocapture"]
fn throughput() {
    let log = realistic_log();
    let lines: Vec<&[u8]> = log
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    // AUDIT_THROUGHPUT_ROUNDS=1 makes it short enough to run under `valgrind --tool=cachegrind`.
    let rounds = std::env::var("AUDIT_THROUGHPUT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50);
    let passes = 7;
    println!(
        "{} MB of realistic lines per pass, {passes} passes",
        log.len() * rounds / 1_000_000
    );
    let mut fields = 0usize;
    let (best, median) = mb_per_sec(&lines, passes, rounds, |line| {
        fields += parse_record(line).unwrap().body.fields.len();
    });
    println!("parse_record: best {best:.0} MB/s, median {median:.0} MB/s");
    let mut serials = 0u64;
    let (best, median) = mb_per_sec(&lines, passes, rounds, |line| {
        serials = serials.wrapping_add(parse_header(line).unwrap().serial);
    });
    println!("parse_header: best {best:.0} MB/s, median {median:.0} MB/s");
    assert_eq!(
        fields,
        passes
            * rounds
            * lines
                .iter()
                .map(|l| parse_record(l).unwrap().body.fields.len())
                .sum::<usize>()
    );
    assert!(serials > 0);
}
