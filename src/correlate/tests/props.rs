//! Property tests: any mix of events, in any order and timing, comes back exactly once; the
//! bounds hold after every call; nothing panics.

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Input {
    Exec {
        pid: u32,
        ppid: u32,
        prog: u8,
        cmd: u8,
        ses: u32,
        ok: bool,
    },
    Verdict {
        pid: u32,
        ppid: u32,
        cmd: u8,
        deny: bool,
        id: u8,
    },
    History {
        logger: u32,
        cmd: u8,
    },
    Tick(u16),
}

const COMMANDS: [&str; 4] = ["ls", "cat /etc/os-release | head -2", "echo 'q'", ""];

fn input() -> impl Strategy<Value = Input> {
    let pid = 1u32..40;
    prop_oneof![
        4 => (pid.clone(), pid.clone(), 0u8..5, 0u8..4, prop_oneof![Just(u32::MAX), 1u32..4], any::<bool>())
            .prop_map(|(pid, ppid, prog, cmd, ses, ok)| Input::Exec { pid, ppid, prog, cmd, ses, ok }),
        2 => (pid.clone(), pid.clone(), 0u8..4, any::<bool>(), 0u8..6)
            .prop_map(|(pid, ppid, cmd, deny, id)| Input::Verdict { pid, ppid, cmd, deny, id }),
        2 => (pid, 0u8..4).prop_map(|(logger, cmd)| Input::History { logger, cmd }),
        1 => (0u16..3000).prop_map(Input::Tick),
    ]
}

fn build(i: &Input, n: u64) -> Option<Pending> {
    let ms = T0 + n as i64 * 10;
    Some(match i {
        Input::Exec {
            pid,
            ppid,
            prog,
            cmd,
            ses,
            ok,
        } => {
            let command = COMMANDS[usize::from(*cmd)];
            let wrapped = format!("source /x/shell-snapshots/s.sh 2>/dev/null || true && eval '{}' < /dev/null && pwd -P >| /tmp/claude-1-cwd", command.replace('\'', "'\\''"));
            let logger = logger_args("carol", command);
            let args: Vec<&str> = match prog {
                0 => WORKER_ARGS.to_vec(),
                1 => vec!["/bin/bash", "-c", &wrapped],
                2 => logger.iter().map(String::as_str).collect(),
                3 => vec!["/bin/sh", "-c", "/opt/security/audit-log.sh"],
                _ => vec!["claude"],
            };
            let mut e = exec(n, ms, *pid, *ppid, "/usr/bin/x", &args);
            e.ses = *ses;
            e.success = *ok;
            e.event()
        }
        Input::Verdict {
            pid,
            ppid,
            cmd,
            deny,
            id,
        } => verdict(
            n,
            ms,
            "audit-log",
            if *deny { "deny" } else { "allow" },
            &format!("toolu_{id}"),
            COMMANDS[usize::from(*cmd)],
            *pid,
            *ppid,
        ),
        Input::History { logger, cmd } => {
            history(n, ms, *logger, "carol", COMMANDS[usize::from(*cmd)])
        }
        Input::Tick(_) => return None,
    })
}

const WORKER_ARGS: [&str; 3] = ["ssm-session-worker", "carol-0a0b0c0d0e0f01234", "i-1"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_event_comes_back_exactly_once_and_bounds_hold(
        inputs in prop::collection::vec(input(), 0..80),
        batch in 1usize..6,
    ) {
        let max_held = 5;
        let mut c = Correlator::new(&CorrelateSettings {
            max_held,
            max_processes: 64,
            ..offline()
        });
        let start = Instant::now();
        let mut now = start;
        let mut sent = Vec::new();
        let mut got: Vec<String> = Vec::new();
        let mut pending = Vec::new();
        for (n, i) in inputs.iter().enumerate() {
            if let Input::Tick(ms) = i {
                now += Duration::from_millis(u64::from(*ms));
                got.extend(c.tick(now).into_iter().map(|(e, _)| e.id));
            } else if let Some(p) = build(i, n as u64) {
                sent.push(p.0.id.clone());
                pending.push(p);
            }
            if pending.len() >= batch {
                got.extend(c.correlate(std::mem::take(&mut pending), now).into_iter().map(|(e, _)| e.id));
            }
            prop_assert!(c.held() <= max_held);
            prop_assert!(c.known_processes() <= 64);
        }
        got.extend(c.correlate(pending, now).into_iter().map(|(e, _)| e.id));
        got.extend(c.tick(now + Duration::from_secs(10)).into_iter().map(|(e, _)| e.id));
        prop_assert_eq!(c.held(), 0, "everything leaves once its hold is over");
        got.extend(c.flush().into_iter().map(|(e, _)| e.id));
        // Audit ids repeat for events with the same serial; compare as multisets.
        sent.sort();
        got.sort();
        prop_assert_eq!(sent, got);
    }
}
