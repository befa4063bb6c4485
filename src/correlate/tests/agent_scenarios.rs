//! Scenario tests of the agent join: verdicts, wrappers, denies, ordering.

use super::scenarios::{hook_execs, session_start, wrapper, SID};
use super::*;

/// The full tool call, verdict line first (the usual order when the hooks file is read first).
#[test]
fn a_verdict_joins_its_wrapper_execve_and_the_wrappers_children() {
    let mut c = Correlator::new(&offline());
    let mut events = session_start();
    events.push(verdict(
        1,
        T0 + 40,
        "audit-log",
        "allow",
        "toolu_1",
        "ls -la ~",
        112,
        111,
    ));
    events.extend(hook_execs(4, T0 + 35, 111, 112));
    events.push(
        exec(
            6,
            T0 + 50,
            113,
            110,
            "/usr/bin/bash",
            &["/bin/bash", "-c", &wrapper("ls -la ~")],
        )
        .event(),
    );
    events.push(
        exec(
            7,
            T0 + 51,
            114,
            113,
            "/usr/bin/ls",
            &["ls", "-la", "/home/carol"],
        )
        .event(),
    );
    events.push(exec(8, T0 + 60, 115, 110, "/usr/bin/node", &["node", "mcp.js"]).event());
    let out = run_all(&mut c, events, Instant::now());

    let w = by_pid(&out, 113).agent.as_ref().unwrap();
    assert_eq!(w.session_id, SID);
    assert_eq!(
        (w.tool_use_id.as_deref(), w.tool.as_deref(), w.relation),
        (Some("toolu_1"), Some("Bash"), "tool_call")
    );
    assert_eq!(w.agent_pid, Some(110));
    assert_eq!(w.decisions.len(), 1);
    assert_eq!(
        (w.decisions[0].hook.as_str(), w.decisions[0].decision),
        ("audit-log", Decision::Allow)
    );
    assert!(!w.denied_but_executed);

    let ls = by_pid(&out, 114).agent.as_ref().unwrap();
    assert_eq!(
        (ls.tool_use_id.as_deref(), ls.relation),
        (Some("toolu_1"), "tool_call_descendant")
    );
    assert!(ls.decisions.is_empty());
    assert!(by_pid(&out, 114).ssm.is_some());

    // Later children of the agent outside the tool call carry the agent session.
    let node = by_pid(&out, 115).agent.as_ref().unwrap();
    assert_eq!(
        (
            node.session_id.as_str(),
            node.relation,
            node.tool_use_id.as_deref()
        ),
        (SID, "agent_descendant", None)
    );

    let v = out
        .iter()
        .find(|e| e.kind == EventKind::HookVerdict)
        .unwrap();
    let va = v.agent.as_ref().unwrap();
    assert_eq!((va.relation, va.exec_seen), ("verdict", Some(true)));
    assert_eq!(va.agent_pid, Some(110));
    let p = v.process.as_ref().unwrap();
    assert_eq!((p.pid, p.ppid, p.known_from), (112, Some(111), "audit"));
    let chain: Vec<u32> = v.ancestry.as_ref().unwrap().iter().map(|r| r.pid).collect();
    assert_eq!(chain[..4], [111, 110, 101, 100]);
    assert_eq!(
        v.ssm.as_ref().unwrap().session_id,
        "carol-0a0b0c0d0e0f01234"
    );
}

/// Audit first: the wrapper and its child wait for the verdict, and keep their order.
#[test]
fn a_wrapper_waits_for_its_verdict_and_its_source_keeps_order() {
    let t = Instant::now();
    let mut c = Correlator::new(&offline());
    let mut out = c.correlate(session_start(), t);
    assert_eq!(out.len(), 3);
    let mut batch = hook_execs(4, T0 + 35, 111, 112);
    batch.push(
        exec(
            6,
            T0 + 50,
            113,
            110,
            "/usr/bin/bash",
            &["/bin/bash", "-c", &wrapper("cat /etc/os-release | head -2")],
        )
        .event(),
    );
    batch.push(
        exec(
            7,
            T0 + 51,
            114,
            113,
            "/usr/bin/cat",
            &["cat", "/etc/os-release"],
        )
        .event(),
    );
    batch.push(exec(8, T0 + 52, 200, 1, "/usr/sbin/cron", &["cron"]).event());
    out = c.correlate(batch, t);
    assert_eq!(
        out.len(),
        2,
        "the hook's two execs leave; the wrapper waits, and so does what follows it"
    );
    assert_eq!(c.held(), 3);
    assert!(c.tick(t + Duration::from_millis(500)).is_empty());
    let released = c.correlate(
        vec![verdict(
            1,
            T0 + 40,
            "audit-log",
            "allow",
            "toolu_2",
            "cat /etc/os-release | head -2",
            112,
            111,
        )],
        t + Duration::from_millis(600),
    );
    let pids: Vec<Option<u32>> = released
        .iter()
        .map(|(e, _)| e.process.as_ref().map(|p| p.pid))
        .collect();
    assert_eq!(pids, [Some(113), Some(114), Some(200), Some(112)]);
    assert_eq!(
        released[0].0.agent.as_ref().unwrap().tool_use_id.as_deref(),
        Some("toolu_2")
    );
    assert_eq!(
        released[1].0.agent.as_ref().unwrap().tool_use_id.as_deref(),
        Some("toolu_2")
    );
    assert_eq!(c.held(), 0);
}

#[test]
fn a_denied_command_that_runs_anyway_is_flagged_once() {
    for verdict_first in [true, false] {
        let mut c = Correlator::new(&offline());
        let mut events = session_start();
        let v = vec![
            verdict(
                1,
                T0 + 40,
                "audit-log",
                "allow",
                "toolu_3",
                "rm -rf /tmp/x",
                112,
                111,
            ),
            verdict(
                2,
                T0 + 41,
                "dlp-scan",
                "deny",
                "toolu_3",
                "rm -rf /tmp/x",
                122,
                121,
            ),
        ];
        let w = exec(
            6,
            T0 + 50,
            113,
            110,
            "/usr/bin/bash",
            &["/bin/bash", "-c", &wrapper("rm -rf /tmp/x")],
        )
        .event();
        events.extend(hook_execs(4, T0 + 35, 111, 112));
        events.extend(hook_execs(10, T0 + 36, 121, 122));
        // Hooks finish before the tool runs, so their lines come in one read of the verdict log.
        let mut batches: Vec<Vec<Pending>> = events.into_iter().map(|e| vec![e]).collect();
        if verdict_first {
            batches.push(v);
            batches.push(vec![w]);
        } else {
            batches.push(vec![w]);
            batches.push(v);
        }
        let t = Instant::now();
        let mut out: Vec<Event> = Vec::new();
        for b in batches {
            out.extend(c.correlate(b, t).into_iter().map(|(e, _)| e));
        }
        assert_eq!(c.held(), 0);
        let flagged: Vec<&Event> = out
            .iter()
            .filter(|e| e.agent.as_ref().is_some_and(|a| a.denied_but_executed))
            .collect();
        assert_eq!(flagged.len(), 1, "verdict_first={verdict_first}");
        assert_eq!(flagged[0].kind, EventKind::Audit);
        let a = by_pid(&out, 113).agent.as_ref().unwrap();
        assert_eq!(a.decisions.len(), 2);
        assert!(a
            .decisions
            .iter()
            .any(|d| d.decision == Decision::Deny && d.hook == "dlp-scan"));
        let j = json(by_pid(&out, 113));
        assert_eq!(j["agent"]["denied_but_executed"], true);
        assert_eq!(
            j["agent"]["decisions"][1],
            serde_json::json!({"hook": "dlp-scan", "event": "PreToolUse", "decision": "deny"})
        );
    }
}

#[test]
fn a_deny_learned_after_the_execve_left_flags_the_verdict() {
    let t = Instant::now();
    let mut c = Correlator::new(&offline());
    c.correlate(session_start(), t);
    c.correlate(
        vec![verdict(
            1,
            T0 + 40,
            "audit-log",
            "allow",
            "toolu_4",
            "curl x",
            112,
            111,
        )],
        t,
    );
    c.correlate(hook_execs(4, T0 + 35, 111, 112), t);
    let out = c.correlate(
        vec![exec(
            6,
            T0 + 50,
            113,
            110,
            "/usr/bin/bash",
            &["/bin/bash", "-c", &wrapper("curl x")],
        )
        .event()],
        t,
    );
    assert!(out
        .iter()
        .all(|(e, _)| e.agent.as_ref().is_none_or(|a| !a.denied_but_executed)));
    let late = c.correlate(
        vec![verdict(
            2,
            T0 + 41,
            "dlp-scan",
            "deny",
            "toolu_4",
            "curl x",
            122,
            121,
        )],
        t,
    );
    let a = late[0].0.agent.as_ref().unwrap();
    assert!(a.denied_but_executed);
    assert_eq!(a.exec_seen, Some(true));
}

#[test]
fn a_verdict_that_never_led_to_an_execve_leaves_after_the_hold() {
    let t = Instant::now();
    let mut c = Correlator::new(&offline());
    c.correlate(session_start(), t);
    c.correlate(hook_execs(4, T0 + 35, 111, 112), t);
    let held = c.correlate(
        vec![verdict(
            1,
            T0 + 40,
            "audit-log",
            "deny",
            "toolu_5",
            "sudo su",
            112,
            111,
        )],
        t,
    );
    assert!(held.is_empty());
    assert!(c.tick(t + Duration::from_millis(1999)).is_empty());
    let out = c.tick(t + Duration::from_millis(2000));
    assert_eq!(out.len(), 1);
    let a = out[0].0.agent.as_ref().unwrap();
    assert_eq!((a.exec_seen, a.denied_but_executed), (Some(false), false));
    assert_eq!(a.decisions[0].decision, Decision::Deny);
    assert_eq!(a.tool_use_id.as_deref(), Some("toolu_5"));
}

#[test]
fn a_wrapper_from_another_process_or_too_late_does_not_join() {
    let mut c = Correlator::new(&offline());
    let mut events = session_start();
    events.extend(hook_execs(4, T0 + 35, 111, 112));
    events.push(verdict(
        1,
        T0 + 40,
        "audit-log",
        "allow",
        "toolu_6",
        "make",
        112,
        111,
    ));
    // Same command, but run by the user's shell (101), not the agent (110).
    events.push(
        exec(
            6,
            T0 + 50,
            113,
            101,
            "/usr/bin/bash",
            &["/bin/bash", "-c", &wrapper("make")],
        )
        .event(),
    );
    // Right parent, but long after the window.
    events.push(
        exec(
            7,
            T0 + 500_000,
            114,
            110,
            "/usr/bin/bash",
            &["/bin/bash", "-c", &wrapper("make")],
        )
        .event(),
    );
    let out = run_all(&mut c, events, Instant::now());
    assert!(by_pid(&out, 113).agent.is_none());
    assert!(
        by_pid(&out, 114).agent.is_none(),
        "no join, so 110 is not known as an agent"
    );
    let v = out
        .iter()
        .find(|e| e.kind == EventKind::HookVerdict)
        .unwrap();
    assert_eq!(v.agent.as_ref().unwrap().exec_seen, Some(false));
}

#[test]
fn identical_commands_pair_up_in_order() {
    let mut c = Correlator::new(&offline());
    let mut events = session_start();
    events.extend(hook_execs(4, T0 + 35, 111, 112));
    events.push(verdict(
        1,
        T0 + 40,
        "audit-log",
        "allow",
        "toolu_a",
        "date",
        112,
        111,
    ));
    events.push(
        exec(
            6,
            T0 + 50,
            113,
            110,
            "/usr/bin/bash",
            &["/bin/bash", "-c", &wrapper("date")],
        )
        .event(),
    );
    events.extend(hook_execs(7, T0 + 60, 116, 117));
    events.push(verdict(
        2,
        T0 + 65,
        "audit-log",
        "allow",
        "toolu_b",
        "date",
        117,
        116,
    ));
    events.push(
        exec(
            9,
            T0 + 70,
            118,
            110,
            "/usr/bin/bash",
            &["/bin/bash", "-c", &wrapper("date")],
        )
        .event(),
    );
    let out = run_all(&mut c, events, Instant::now());
    assert_eq!(
        by_pid(&out, 113)
            .agent
            .as_ref()
            .unwrap()
            .tool_use_id
            .as_deref(),
        Some("toolu_a")
    );
    assert_eq!(
        by_pid(&out, 118)
            .agent
            .as_ref()
            .unwrap()
            .tool_use_id
            .as_deref(),
        Some("toolu_b")
    );
}

#[test]
fn nothing_waits_for_a_source_that_is_not_configured() {
    let t = Instant::now();
    // No hook verdict source: a tool call's execve leaves at once.
    let mut c = Correlator::new(&offline()).with_sources(true, false);
    c.correlate(session_start(), t);
    let script = wrapper("ls");
    let argv = ["/bin/bash", "-c", script.as_str()];
    let w = exec(6, T0 + 50, 113, 110, "/usr/bin/bash", &argv);
    assert_eq!(c.correlate(vec![w.event()], t).len(), 1);
    // No audit source: verdicts and history lines leave at once.
    let mut c = Correlator::new(&offline()).with_sources(false, true);
    let v = verdict(1, T0, "audit-log", "deny", "toolu_9", "ls", 112, 111);
    assert_eq!(c.correlate(vec![v], t).len(), 1);
    assert_eq!(
        c.correlate(vec![history(1, T0, 140, "carol", "ls")], t)
            .len(),
        1
    );
    // Both configured: all three wait.
    let mut c = Correlator::new(&offline());
    c.correlate(session_start(), t);
    assert!(c.correlate(vec![w.event()], t).is_empty());
    let v = verdict(2, T0, "audit-log", "deny", "toolu_10", "pwd", 112, 111);
    assert!(c.correlate(vec![v], t).is_empty());
    assert!(c
        .correlate(vec![history(2, T0, 141, "carol", "ls")], t)
        .is_empty());
}
