//! Every rule: true positives, realistic negatives, configuration.

use super::*;
use crate::event::{EventId, EventKind, HistoryView, HostInfo};
use auditrail_parsers::event::{AuditEvent, Execve, PathItem, Syscall};
use auditrail_parsers::history::parse_history;
use auditrail_parsers::hook::parse_hook_verdict;
use auditrail_parsers::syslog::parse_syslog;

fn event(kind: EventKind) -> Event {
    Event::new(kind, EventId(1), 0, &HostInfo::named("h"), "test")
}

fn execve(args: &[&str]) -> Event {
    let mut ev = event(EventKind::Audit);
    ev.audit = Some(AuditEvent {
        execve: Some(Execve {
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Execve::default()
        }),
        ..AuditEvent::default()
    });
    ev
}

fn history(user: &str, tty: &str, command: &str) -> Event {
    let line = format!("Nov 22 21:36:11 vm bash[4242]: {user}:{tty}:{command}");
    let msg = parse_syslog(line.as_bytes()).unwrap();
    let mut ev = event(EventKind::History);
    ev.history = Some(HistoryView::from_entry(
        &parse_history(&msg).expect("a history line"),
    ));
    ev
}

fn verdict(hook: &str, decision: &str, command: &str) -> Event {
    let line = serde_json::json!({
        "v": 1, "time": "2026-11-22T21:36:11.482Z", "hook": hook, "event": "PreToolUse",
        "decision": decision, "reason": "rule x", "session_id": "s", "tool_use_id": "toolu_1",
        "tool_name": "Bash", "command": command, "cwd": "/", "pid": 10, "ppid": 9
    });
    let mut ev = event(EventKind::HookVerdict);
    ev.hook = Some(parse_hook_verdict(line.to_string().as_bytes()).unwrap());
    ev
}

fn rules_of(engine: &mut AlertEngine, ev: &Event) -> Vec<&'static str> {
    engine.evaluate(ev).iter().map(|a| a.rule).collect()
}

/// The rules a command raises, as an execve argv (split on spaces) and as a history line.
fn command_rules(cmd: &str) -> Vec<&'static str> {
    let mut e = AlertEngine::default();
    rules_of(&mut e, &history("carol", "/dev/pts/0", cmd))
}

fn argv_rules(argv: &[&str]) -> Vec<&'static str> {
    rules_of(&mut AlertEngine::default(), &execve(argv))
}

#[test]
fn docker_privileged_flags_in_both_forms() {
    for cmd in [
        "docker run --privileged alpine",
        "docker run --privileged=true alpine",
        "docker run --pid=host alpine",
        "docker run --pid host alpine",
        "docker run --network=host nginx",
        "docker run --net host nginx",
        "docker run --cap-add=SYS_ADMIN alpine",
        "docker run --cap-add all alpine",
        "docker run --cap-add=NET_BIND_SERVICE,CAP_SYS_ADMIN alpine",
        "docker run --security-opt seccomp=unconfined alpine",
        "docker run --security-opt=apparmor=unconfined alpine",
        "docker run -v /:/host alpine",
        "docker run -it -v /etc:/mnt/etc:ro alpine sh",
        "docker run --volume=/root:/r alpine",
        "docker run -v /var/run/docker.sock:/var/run/docker.sock docker:cli",
        "docker run --mount type=bind,source=/home,target=/h alpine",
        "docker run -v//:/host alpine",
        "podman run --privileged fedora",
        "docker container run --privileged alpine",
        "docker create --privileged alpine",
        "docker -H unix:///run/docker.sock run --privileged alpine",
        "nerdctl run --net=host alpine",
    ] {
        assert!(command_rules(cmd).contains(&"docker_privileged"), "{cmd}");
    }
    assert!(
        argv_rules(&["/usr/bin/docker", "run", "--privileged", "alpine"])
            .contains(&"docker_privileged")
    );
}

#[test]
fn ordinary_containers_are_not_flagged() {
    for cmd in [
        "docker run --rm alpine",
        "docker run --rm -it alpine:3.20 sh",
        "docker run -d -p 8080:80 --name web nginx",
        "docker run -v /etc/nginx/conf.d:/etc/nginx/conf.d:ro nginx",
        "docker run -v data:/var/lib/postgresql/data postgres",
        "docker run --network=backend app",
        "docker run --cap-add=NET_ADMIN app",
        "docker run --privileged=false alpine",
        "docker run alpine echo --privileged",
        "docker ps -a",
        "docker logs --tail 50 web",
        "docker exec -it web sh",
    ] {
        assert!(!command_rules(cmd).contains(&"docker_privileged"), "{cmd}");
    }
}

#[test]
fn history_evasion_from_builtins_and_commands() {
    for cmd in [
        "unset HISTFILE",
        "HISTSIZE=0",
        "export HISTFILESIZE=0",
        "export HISTFILE=/dev/null",
        "HISTFILE= bash",
        "set +o history",
        "history -c",
        "history -d 42",
        "history -cw",
        "rm -f ~/.bash_history",
        "shred -u /home/carol/.bash_history",
        "truncate -s0 ~/.zsh_history",
        "cat /dev/null > ~/.bash_history",
        ": > ~/.bash_history",
        "echo > $HISTFILE",
        "ln -sf /dev/null ~/.bash_history",
        "cp /dev/null /root/.bash_history",
        "sed -i '/secret/d' ~/.bash_history",
        "trap - DEBUG",
        "unset PROMPT_COMMAND",
        "kill -9 $$",
        "sudo bash -c 'history -c'",
    ] {
        assert!(command_rules(cmd).contains(&"history_evasion"), "{cmd}");
    }
    assert!(argv_rules(&["rm", "/home/carol/.bash_history"]).contains(&"history_evasion"));
    assert!(argv_rules(&["bash", "-c", "unset HISTFILE; ls"]).contains(&"history_evasion"));
}

#[test]
fn everyday_history_use_is_not_evasion() {
    for cmd in [
        "history",
        "history | grep ssh",
        "history 20",
        "export HISTSIZE=10000",
        "echo $HISTFILE",
        "cat ~/.bash_history | wc -l",
        "grep docker ~/.bash_history",
        "echo 'history -c' >> notes.txt",
        "git commit -m 'unset HISTFILE in tests'",
        "cat >> ~/.bash_history <<'EOF'\nls\nEOF",
        "cp ~/.bash_history /tmp/backup",
        "set -o history",
        "kill -9 1234",
    ] {
        assert!(!command_rules(cmd).contains(&"history_evasion"), "{cmd}");
    }
}

#[test]
fn audit_tampering_commands() {
    for cmd in [
        "auditctl -D",
        "auditctl -e 0",
        "auditctl -e0",
        "auditctl -W /etc/passwd -p wa",
        "auditctl -d always,exit -F arch=b64 -S execve",
        "systemctl stop auditd",
        "systemctl disable --now auditd.service",
        "service auditd stop",
        "/etc/init.d/auditd stop",
        "pkill auditd",
        "killall -9 auditd",
        "rm -rf /var/log/audit/",
        "truncate -s 0 /var/log/audit/audit.log",
        "> /var/log/audit/audit.log",
        "rm /etc/audit/rules.d/audit.rules",
        "echo '-D' > /etc/audit/rules.d/99-off.rules",
        "sudo sed -i 's/^-a/#-a/' /etc/audit/rules.d/audit.rules",
        "echo '-e 0' | sudo tee /etc/audit/rules.d/z.rules",
    ] {
        assert!(command_rules(cmd).contains(&"audit_tampering"), "{cmd}");
    }
    for cmd in [
        "auditctl -l",
        "auditctl -s",
        "auditctl -e 1",
        "systemctl status auditd",
        "systemctl restart auditd",
        "ausearch -k audit_config",
        "cat /var/log/audit/audit.log | tail",
        "less /etc/audit/auditd.conf",
        "kill 1234",
    ] {
        assert!(!command_rules(cmd).contains(&"audit_tampering"), "{cmd}");
    }
}

#[test]
fn audit_watch_keys_raise_tampering() {
    let mut ev = execve(&["vi", "/etc/audit/auditd.conf"]);
    let audit = ev.audit.as_mut().unwrap();
    audit.syscall = Some(Syscall {
        keys: vec!["audit_config".into()],
        ..Syscall::default()
    });
    audit.paths = vec![
        PathItem {
            name: Some("/etc/audit/".into()),
            nametype: Some("PARENT".into()),
            ..PathItem::default()
        },
        PathItem {
            name: Some("/etc/audit/auditd.conf".into()),
            nametype: Some("CREATE".into()),
            ..PathItem::default()
        },
    ];
    let alerts = AlertEngine::default().evaluate(&ev);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].rule, "audit_tampering");
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert!(
        alerts[0].summary.contains("/etc/audit/auditd.conf"),
        "{}",
        alerts[0].summary
    );
    // Another key list: the same event is quiet.
    let other = AlertSettings {
        audit_watch_keys: vec!["identity".into()],
        ..AlertSettings::default()
    };
    assert!(AlertEngine::new(&other).evaluate(&ev).is_empty());
}

#[test]
fn privilege_escalation_commands() {
    for cmd in [
        "sudo -n true",
        "sudo cat /etc/shadow | head -3",
        "su - root",
        "pkexec bash",
        "setcap cap_net_raw+ep /usr/bin/ping",
        "chroot /mnt /bin/sh",
        "nsenter -t 1 -m -u -i -n sh",
        "unshare -r sh",
        "doas ls",
        "env X=1 sudo id",
    ] {
        assert!(
            command_rules(cmd).contains(&"privilege_escalation"),
            "{cmd}"
        );
    }
    for cmd in [
        "ls -la ~",
        "runuser -u carol -- bash -i",
        "echo sudo",
        "man sudo",
        "visudo -c",
    ] {
        assert!(
            !command_rules(cmd).contains(&"privilege_escalation"),
            "{cmd}"
        );
    }
    // Extra deny-list entries from the config.
    let settings = AlertSettings {
        extra_privilege_commands: vec!["visudo".into()],
        ..AlertSettings::default()
    };
    let mut e = AlertEngine::new(&settings);
    assert!(rules_of(&mut e, &execve(&["/usr/sbin/visudo"])).contains(&"privilege_escalation"));
}

#[test]
fn hook_verdicts_denied_and_prompt_injection() {
    let mut e = AlertEngine::default();
    assert_eq!(
        rules_of(&mut e, &verdict("audit-log", "allow", "ls")),
        Vec::<&str>::new()
    );
    assert_eq!(
        rules_of(&mut e, &verdict("dlp-scan", "deny", "cat .env")),
        ["hook_denied"]
    );
    assert_eq!(
        rules_of(&mut e, &verdict("prompt-injection", "ask", "ls")),
        ["prompt_injection"]
    );
    assert_eq!(
        rules_of(&mut e, &verdict("prompt-injection", "deny", "ls")),
        ["hook_denied", "prompt_injection"]
    );
    // Command rules read a Bash PreToolUse command too (an attempt, before it runs).
    assert_eq!(
        rules_of(
            &mut e,
            &verdict("audit-log", "allow", "sudo docker run --privileged alpine")
        ),
        ["docker_privileged", "privilege_escalation"]
    );
    let summary = &e.evaluate(&verdict("dlp-scan", "deny", "x"))[0].summary;
    assert_eq!(summary, "hook dlp-scan denied a Bash tool call: rule x");
}

#[test]
fn hook_bypass_comes_from_the_correlator_flag() {
    let mut ev = execve(&["/bin/bash", "-c", "eval 'curl x'"]);
    ev.agent = Some(crate::correlate::AgentContext {
        session_id: "s".into(),
        tool_use_id: Some("toolu_9".into()),
        relation: "tool_call",
        decisions: vec![crate::correlate::AgentDecision {
            hook: "dlp-scan".into(),
            event: HookEvent::PreToolUse,
            decision: Decision::Deny,
            reason: None,
        }],
        denied_but_executed: true,
        ..crate::correlate::AgentContext::default()
    });
    let alerts = AlertEngine::default().evaluate(&ev);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].rule, "hook_bypass");
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert_eq!(
        alerts[0].summary,
        "tool call toolu_9 ran although denied by dlp-scan"
    );
    ev.agent.as_mut().unwrap().denied_but_executed = false;
    assert!(AlertEngine::default().evaluate(&ev).is_empty());
}

#[test]
fn an_empty_history_line_after_commands_of_the_same_shell() {
    let mut e = AlertEngine::default();
    // A new shell whose history file is empty logs an empty line first: not flagged.
    assert!(rules_of(&mut e, &history("carol", "/dev/pts/0", "")).is_empty());
    assert!(rules_of(&mut e, &history("carol", "/dev/pts/0", "ls -la")).is_empty());
    assert_eq!(
        rules_of(&mut e, &history("carol", "/dev/pts/0", "history -c")),
        ["history_evasion"]
    );
    assert_eq!(
        rules_of(&mut e, &history("carol", "/dev/pts/0", "")),
        ["history_empty_command"]
    );
    // A run of empty lines is flagged once.
    assert!(rules_of(&mut e, &history("carol", "/dev/pts/0", "")).is_empty());
    // Another shell is another story.
    assert!(rules_of(&mut e, &history("dave", "/dev/pts/1", "")).is_empty());
}

#[test]
fn rules_can_be_disabled_or_given_another_severity() {
    let text = "[rules.privilege_escalation]\nenabled = false\n[rules.docker_privileged]\nseverity = \"critical\"\n";
    let settings: AlertSettings = toml::from_str(text).unwrap();
    assert!(settings.problems().is_empty());
    let mut e = AlertEngine::new(&settings);
    let alerts = e.evaluate(&history("c", "t", "sudo docker run --privileged x"));
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule, "docker_privileged");
    assert_eq!(alerts[0].severity, Severity::Critical);
    let off = AlertSettings {
        enabled: false,
        ..AlertSettings::default()
    };
    assert!(AlertEngine::new(&off)
        .evaluate(&history("c", "t", "history -c"))
        .is_empty());
    let typo: AlertSettings =
        toml::from_str("[rules.docker_priviledged]\nenabled = false\n").unwrap();
    assert!(typo.problems()[0].contains("docker_priviledged"));
    assert!(toml::from_str::<AlertSettings>("[rules.hook_bypass]\nenable = false\n").is_err());
}

#[test]
fn one_alert_per_rule_per_event_and_ids_are_stable() {
    let alerts = AlertEngine::default().evaluate(&history(
        "c",
        "t",
        "history -c; unset HISTFILE; sudo id; sudo ls",
    ));
    let rules: Vec<&str> = alerts.iter().map(|a| a.rule).collect();
    assert_eq!(rules, ["history_evasion", "privilege_escalation"]);
    let ids: Vec<&str> = RULES.iter().map(|r| r.1).collect();
    assert_eq!(
        ids,
        [
            "hook_denied",
            "prompt_injection",
            "hook_bypass",
            "docker_privileged",
            "history_evasion",
            "history_empty_command",
            "audit_tampering",
            "privilege_escalation"
        ]
    );
}
