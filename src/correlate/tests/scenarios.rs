//! Scenario tests: SSM sessions, pid reuse, unknown ancestry, /proc, history, bounds.

use super::*;

const WORKER: &[&str] = &[
    "ssm-session-worker",
    "carol-0a0b0c0d0e0f01234",
    "i-0123456789abcdef0",
];
pub(super) const SID: &str = "8c35adc1-4b2e-4f0a-9d3c-0a1b2c3d4e5f";

pub(super) fn wrapper(command: &str) -> String {
    format!(
        "source /home/carol/.claude/shell-snapshots/snapshot-bash-1-ab.sh 2>/dev/null || true && eval '{}' < /dev/null && pwd -P >| /tmp/claude-a001-cwd",
        command.replace('\'', "'\\''")
    )
}

/// worker 100 → bash 101 → claude 110; the hook of a tool call runs as 111 (`sh -c`) → 112.
pub(super) fn session_start() -> Vec<Pending> {
    vec![
        exec(1, T0, 100, 99, "/usr/bin/ssm-session-worker", WORKER).event(),
        exec(2, T0 + 10, 101, 100, "/usr/bin/bash", &["bash", "-i"]).event(),
        exec(3, T0 + 20, 110, 101, "/usr/local/bin/claude", &["claude"]).event(),
    ]
}

pub(super) fn hook_execs(serial: u64, ms: i64, sh: u32, hook: u32) -> Vec<Pending> {
    vec![
        exec(
            serial,
            ms,
            sh,
            110,
            "/usr/bin/dash",
            &["/bin/sh", "-c", "/opt/security/audit-log.sh"],
        )
        .event(),
        exec(
            serial + 1,
            ms + 1,
            hook,
            sh,
            "/usr/bin/dash",
            &["/bin/sh", "/opt/security/audit-log.sh"],
        )
        .event(),
    ]
}

#[test]
fn ssm_labels_survive_exec_and_reach_every_descendant() {
    let mut c = Correlator::new(&offline());
    let mut events = session_start();
    // 102 is forked by bash and execs twice (bash -c 'cmd' execs cmd): labels are kept.
    events.push(
        exec(
            4,
            T0 + 30,
            102,
            101,
            "/usr/bin/bash",
            &["bash", "-c", "env"],
        )
        .event(),
    );
    events.push(exec(5, T0 + 31, 102, 101, "/usr/bin/env", &["env"]).event());
    events.push(exec(6, T0 + 32, 103, 102, "/usr/bin/id", &["id"]).event());
    let out = run_all(&mut c, events, Instant::now());
    for pid in [100, 101, 110, 103] {
        let ssm = by_pid(&out, pid).ssm.as_ref().unwrap();
        assert_eq!(ssm.session_id, "carol-0a0b0c0d0e0f01234");
        assert_eq!(ssm.principal.as_deref(), Some("carol"));
        assert_eq!(ssm.worker_pid, Some(100));
    }
    let env = out
        .iter()
        .rfind(|e| e.process.as_ref().is_some_and(|p| p.pid == 102))
        .unwrap();
    assert_eq!(
        env.process.as_ref().unwrap().exe.as_deref(),
        Some("/usr/bin/env")
    );
    assert!(env.ssm.is_some());
    let id = by_pid(&out, 103);
    let chain: Vec<u32> = id
        .ancestry
        .as_ref()
        .unwrap()
        .iter()
        .map(|r| r.pid)
        .collect();
    assert_eq!(chain, [102, 101, 100, 99]);
    assert!(id.ancestry.as_ref().unwrap()[3].unknown);
    assert_eq!(
        id.parent.as_ref().unwrap().exe.as_deref(),
        Some("/usr/bin/env")
    );
}

#[test]
fn a_parent_that_never_execd_is_unknown_offline_not_guessed() {
    let mut c = Correlator::new(&offline());
    let mut events = session_start();
    // `$(tty)`: bash 101 forks 150 (never execs), which forks tty 151.
    events.push(exec(4, T0 + 30, 151, 150, "/usr/bin/tty", &["tty"]).event());
    let out = run_all(&mut c, events, Instant::now());
    let tty = by_pid(&out, 151);
    assert_eq!(
        tty.parent,
        Some(ProcessRef {
            pid: 150,
            unknown: true,
            ..ProcessRef::default()
        })
    );
    assert_eq!(tty.ancestry.as_ref().unwrap().len(), 1);
    assert!(
        tty.ssm.is_none(),
        "no guessing: the tree above 150 is unknown"
    );
}

#[test]
fn an_audit_session_seen_in_an_ssm_session_maps_later_events() {
    let mut c = Correlator::new(&offline());
    let mut shell = exec(2, T0 + 10, 101, 100, "/usr/bin/bash", &["bash", "-i"]);
    shell.ses = 7;
    let mut orphan = exec(3, T0 + 20, 300, 299, "/usr/bin/curl", &["curl", "x"]);
    orphan.ses = 7;
    let mut unset = exec(4, T0 + 30, 301, 298, "/usr/bin/curl", &["curl", "y"]);
    unset.ses = u32::MAX;
    let events = vec![
        exec(1, T0, 100, 99, "/usr/bin/ssm-session-worker", WORKER).event(),
        shell.event(),
        orphan.event(),
        unset.event(),
    ];
    let out = run_all(&mut c, events, Instant::now());
    assert_eq!(
        by_pid(&out, 101).ssm.as_ref().unwrap().matched_by,
        "ancestry"
    );
    let o = by_pid(&out, 300).ssm.as_ref().unwrap();
    assert_eq!(
        (o.session_id.as_str(), o.matched_by),
        ("carol-0a0b0c0d0e0f01234", "audit_session")
    );
    assert!(by_pid(&out, 301).ssm.is_none(), "ses unset never maps");
}

#[test]
fn a_reused_pid_with_another_parent_is_a_new_process() {
    let mut c = Correlator::new(&offline());
    let mut events = session_start();
    events.push(exec(4, T0 + 30, 120, 101, "/usr/bin/sleep", &["sleep", "1"]).event());
    // Later pid 120 belongs to a cron job (parent 5): no SSM label.
    events.push(exec(5, T0 + 90_000, 120, 5, "/usr/bin/logrotate", &["logrotate"]).event());
    let out = run_all(&mut c, events, Instant::now());
    let reused: Vec<&Event> = out
        .iter()
        .filter(|e| e.process.as_ref().is_some_and(|p| p.pid == 120))
        .collect();
    assert!(reused[0].ssm.is_some());
    assert!(reused[1].ssm.is_none());
    assert_eq!(reused[1].parent.as_ref().unwrap().pid, 5);
}

#[test]
fn a_failed_execve_shows_the_process_that_tried() {
    let mut c = Correlator::new(&offline());
    let mut events = session_start();
    let mut failed = exec(4, T0 + 30, 130, 101, "/usr/bin/bash", &[]);
    failed.success = false;
    events.push(failed.event());
    events.push(exec(5, T0 + 31, 130, 101, "/usr/bin/git", &["git", "status"]).event());
    let out = run_all(&mut c, events, Instant::now());
    let first = out
        .iter()
        .find(|e| e.process.as_ref().is_some_and(|p| p.pid == 130))
        .unwrap();
    assert_eq!(
        first.process.as_ref().unwrap().exe.as_deref(),
        Some("/usr/bin/bash")
    );
    assert!(first.process.as_ref().unwrap().args.is_empty());
    assert!(first.ssm.is_some());
}

#[test]
fn history_lines_join_their_logger_and_shell_and_repeats_are_marked() {
    let t = Instant::now();
    let mut c = Correlator::new(&offline());
    c.correlate(session_start(), t);
    // The syslog line arrives before the audit event of its logger: it waits.
    let h1 = c.correlate(vec![history(1, T0 + 30, 140, "carol", "uname -a")], t);
    assert!(h1.is_empty());
    let args1 = logger_args("carol", "uname -a");
    let args1: Vec<&str> = args1.iter().map(String::as_str).collect();
    let mut out = c.correlate(
        vec![exec(4, T0 + 29, 140, 101, "/usr/bin/logger", &args1).event()],
        t,
    );
    // The logger's own execve, then the history line it explains.
    assert_eq!(out.len(), 2);
    let (h, _) = out.pop().unwrap();
    assert_eq!(h.kind, EventKind::History);
    let p = h.process.as_ref().unwrap();
    assert_eq!((p.pid, p.exe.as_deref()), (101, Some("/usr/bin/bash")));
    assert_eq!(h.parent.as_ref().unwrap().pid, 100);
    assert_eq!(
        h.ssm.as_ref().unwrap().session_id,
        "carol-0a0b0c0d0e0f01234"
    );
    assert_eq!(h.history.as_ref().unwrap().repeat, 0);
    // The second logging of the same command (already audited): joined at once, a repeat.
    let args2 = logger_args("carol", "uname -a");
    let args2: Vec<&str> = args2.iter().map(String::as_str).collect();
    c.correlate(
        vec![exec(5, T0 + 40, 141, 101, "/usr/bin/logger", &args2).event()],
        t,
    );
    let out = c.correlate(vec![history(2, T0 + 41, 141, "carol", "uname -a")], t);
    let h2 = &out[0].0;
    assert_eq!(h2.process.as_ref().unwrap().pid, 101);
    let hv = h2.history.as_ref().unwrap();
    assert_eq!(
        (hv.repeat, hv.duplicate_of.as_deref()),
        (1, Some(h.id.as_str()))
    );
    let j = json(h2);
    assert_eq!(j["history"]["repeat"], 1);
    assert_eq!(j["history"]["duplicate_of"], h.id.as_str());
}

#[test]
fn a_history_line_whose_logger_never_shows_leaves_after_the_hold_unjoined() {
    let t = Instant::now();
    let mut c = Correlator::new(&offline());
    c.correlate(session_start(), t);
    // pid 150 is a logger with a different message (an old, reused pid): not this line's.
    let other = logger_args("carol", "ls");
    let other: Vec<&str> = other.iter().map(String::as_str).collect();
    c.correlate(
        vec![exec(4, T0 + 29, 150, 101, "/usr/bin/logger", &other).event()],
        t,
    );
    assert!(c
        .correlate(vec![history(1, T0 + 30, 150, "carol", "unset HISTFILE")], t)
        .is_empty());
    let out = c.tick(t + Duration::from_secs(3));
    assert_eq!(out.len(), 1);
    assert!(out[0].0.process.is_none());
    assert_eq!(out[0].0.history.as_ref().unwrap().command, "unset HISTFILE");
}

#[test]
fn at_most_max_held_events_wait() {
    let t = Instant::now();
    let mut c = Correlator::new(&CorrelateSettings {
        max_held: 3,
        ..offline()
    });
    let mut released = 0;
    for i in 0..10u32 {
        released += c
            .correlate(vec![history(u64::from(i), T0, 1000 + i, "carol", "x")], t)
            .len();
        assert!(c.held() <= 3);
    }
    assert_eq!(released, 7);
    assert_eq!(c.flush().len(), 3);
}

#[test]
fn live_mode_reads_unknown_parents_from_proc_but_not_newer_processes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let btime = T0 / 1000 - 1000;
    procfs::fake::boot(root, btime);
    // Worker 100 and shell 101 started before the daemon: known only through /proc.
    procfs::fake::process(
        root,
        100,
        99,
        "ssm-session-wor",
        100,
        "/usr/bin/ssm-session-worker",
        WORKER,
        0,
        u32::MAX,
        u32::MAX,
    );
    procfs::fake::process(
        root,
        101,
        100,
        "bash",
        200,
        "/usr/bin/bash",
        &["bash", "-i"],
        1003,
        u32::MAX,
        u32::MAX,
    );
    // 150 is a subshell that never exec'd, 160 a process that started after the events.
    procfs::fake::process(
        root,
        150,
        101,
        "bash",
        300,
        "/usr/bin/bash",
        &["bash", "-i"],
        1003,
        u32::MAX,
        u32::MAX,
    );
    procfs::fake::process(
        root,
        160,
        101,
        "later",
        500_000,
        "/usr/bin/later",
        &["later"],
        1003,
        u32::MAX,
        u32::MAX,
    );
    let settings = CorrelateSettings {
        proc: ProcMode::Always,
        proc_root: root.to_path_buf(),
        ..offline()
    };
    let mut c = Correlator::new(&settings);
    let events = vec![
        exec(1, T0, 151, 150, "/usr/bin/tty", &["tty"]).event(),
        exec(2, T0 + 1, 161, 160, "/usr/bin/id", &["id"]).event(),
    ];
    let out = run_all(&mut c, events, Instant::now());
    let tty = by_pid(&out, 151);
    let chain: Vec<(u32, bool)> = tty
        .ancestry
        .as_ref()
        .unwrap()
        .iter()
        .map(|r| (r.pid, r.unknown))
        .collect();
    assert_eq!(
        chain,
        [(150, false), (101, false), (100, false), (99, true)]
    );
    assert_eq!(
        tty.ssm.as_ref().unwrap().session_id,
        "carol-0a0b0c0d0e0f01234"
    );
    let id = by_pid(&out, 161);
    assert!(
        id.parent.as_ref().unwrap().unknown,
        "pid 160 started after the event"
    );
    assert!(id.ssm.is_none());

    // The same tree offline: /proc is not consulted.
    let mut c = Correlator::new(&CorrelateSettings {
        proc: ProcMode::Never,
        ..settings
    });
    let out = run_all(
        &mut c,
        vec![exec(1, T0, 151, 150, "/usr/bin/tty", &["tty"]).event()],
        Instant::now(),
    );
    assert!(by_pid(&out, 151).parent.as_ref().unwrap().unknown);
}

#[test]
fn the_table_stays_bounded() {
    let mut c = Correlator::new(&CorrelateSettings {
        max_processes: 64,
        ..offline()
    });
    let events: Vec<Pending> = (0..1000u32)
        .map(|i| {
            exec(
                u64::from(i),
                T0 + i64::from(i),
                1000 + i,
                999 + i,
                "/bin/x",
                &["x"],
            )
            .event()
        })
        .collect();
    let out = run_all(&mut c, events, Instant::now());
    assert_eq!(out.len(), 1000);
    assert!(c.known_processes() <= 64);
    // The most recent chain is still known.
    assert_eq!(out[999].ancestry.as_ref().unwrap()[0].pid, 1998);
}

#[test]
fn auto_mode_reads_proc_only_for_events_near_the_wall_clock() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    procfs::fake::boot(root, T0 / 1000 - 1000);
    procfs::fake::process(
        root,
        100,
        99,
        "ssm-session-wor",
        100,
        "/usr/bin/ssm-session-worker",
        WORKER,
        0,
        u32::MAX,
        u32::MAX,
    );
    procfs::fake::process(
        root,
        150,
        100,
        "bash",
        300,
        "/usr/bin/bash",
        &["bash", "-i"],
        1003,
        u32::MAX,
        u32::MAX,
    );
    let settings = CorrelateSettings {
        proc: ProcMode::Auto,
        proc_root: root.to_path_buf(),
        ..offline()
    };
    let event = || vec![exec(1, T0, 151, 150, "/usr/bin/tty", &["tty"]).event()];

    let mut live = Correlator::new(&settings);
    live.wall_ms = || T0 + 30_000;
    let out = run_all(&mut live, event(), Instant::now());
    assert!(!by_pid(&out, 151).parent.as_ref().unwrap().unknown);
    assert_eq!(
        by_pid(&out, 151).process.as_ref().unwrap().known_from,
        "audit"
    );
    assert_eq!(
        by_pid(&out, 151).ssm.as_ref().unwrap().worker_pid,
        Some(100)
    );

    let mut replay = Correlator::new(&settings);
    replay.wall_ms = || T0 + 86_400_000;
    let out = run_all(&mut replay, event(), Instant::now());
    assert!(
        by_pid(&out, 151).parent.as_ref().unwrap().unknown,
        "a day-old event is not live"
    );
    assert!(by_pid(&out, 151).ssm.is_none());
}
