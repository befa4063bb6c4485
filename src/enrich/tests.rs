use super::*;
use crate::correlate::ProcessInfo;
use crate::event::{EventId, EventKind, HistoryView};
use auditrail_parsers::event::{AuditEvent, Execve};
use auditrail_parsers::history::parse_history;
use auditrail_parsers::syslog::parse_syslog;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nssm-user:x:1001:1001::/home/ssm-user:/bin/bash\ncarol:x:1002:1002::/home/carol:/bin/bash\n";
const GROUP: &str = "root:x:0:\nssm-user:x:1001:\ncarol:x:1002:\nshadow:x:42:\n";

fn enricher(root: &std::path::Path) -> Enricher {
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/passwd"), PASSWD).unwrap();
    std::fs::write(root.join("etc/group"), GROUP).unwrap();
    let settings = EnrichSettings {
        users_root: root.to_path_buf(),
        ..EnrichSettings::default()
    };
    Enricher::from_settings(
        &settings,
        &AlertSettings::default(),
        &RedactionSettings::default(),
    )
    .unwrap()
}

fn execve_event(ids: [Id; 9], args: &[&str]) -> Event {
    let [uid, gid, euid, egid, suid, sgid, fsuid, fsgid, auid] = ids;
    let mut ev = Event::new(
        EventKind::Audit,
        EventId(7),
        0,
        &HostInfo::named("h"),
        "audit",
    );
    ev.audit = Some(AuditEvent {
        syscall: Some(Syscall {
            uid,
            gid,
            euid,
            egid,
            suid,
            sgid,
            fsuid,
            fsgid,
            auid,
            ..Syscall::default()
        }),
        execve: Some(Execve {
            args: args.iter().map(|a| a.to_string()).collect(),
            command_line: args.join(" "),
            ..Execve::default()
        }),
        ..AuditEvent::default()
    });
    ev
}

#[test]
fn syscall_ids_get_names_ecs_style() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = enricher(dir.path());
    let n = |v: u32| Some(Some(v));
    // sudo: real carol, effective root, audit id unset (-1).
    let mut ev = execve_event(
        [
            n(1002),
            n(1002),
            n(0),
            n(0),
            n(0),
            n(0),
            n(0),
            n(0),
            Some(None),
        ],
        &["id"],
    );
    e.enrich(&mut ev);
    let user = serde_json::to_value(ev.user.as_ref().unwrap()).unwrap();
    assert_eq!(
        user,
        serde_json::json!({
            "id": 1002, "name": "carol", "group": {"id": 1002, "name": "carol"},
            "effective": {"id": 0, "name": "root", "group": {"id": 0, "name": "root"}}
        })
    );
    // A setgid program: saved/filesystem ids that differ from the effective ones are named.
    let mut ev = execve_event(
        [
            n(1001),
            n(1001),
            n(1001),
            n(42),
            n(1001),
            n(1001),
            n(1001),
            n(42),
            n(1001),
        ],
        &["x"],
    );
    e.enrich(&mut ev);
    let user = ev.user.unwrap();
    assert_eq!(user.audit.unwrap().name.as_deref(), Some("ssm-user"));
    assert_eq!(
        user.effective.unwrap().group.unwrap().name.as_deref(),
        Some("shadow")
    );
    assert_eq!(user.saved.unwrap().group.unwrap().id, 1001);
    assert!(user.filesystem.is_none(), "same as effective");
    // An id with no passwd entry keeps its number only.
    let mut ev = execve_event(
        [n(5000), None, None, None, None, None, None, None, None],
        &["x"],
    );
    e.enrich(&mut ev);
    assert_eq!(
        serde_json::to_value(ev.user.unwrap()).unwrap(),
        serde_json::json!({"id": 5000})
    );
}

#[test]
fn process_names_are_filled_where_the_correlator_left_room() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = enricher(dir.path());
    let mut ev = Event::new(
        EventKind::HookVerdict,
        EventId(1),
        0,
        &HostInfo::named("h"),
        "hooks",
    );
    ev.process = Some(ProcessInfo {
        pid: 10,
        uid: Some(1002),
        auid: Some(1001),
        known_from: "proc",
        ..ProcessInfo::default()
    });
    e.enrich(&mut ev);
    let p = ev.process.unwrap();
    assert_eq!(p.user.as_deref(), Some("carol"));
    assert_eq!(p.audit_user.as_deref(), Some("ssm-user"));
    assert!(ev.user.is_none(), "no ids of its own");
}

#[test]
fn history_lines_get_the_uid_of_their_user() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = enricher(dir.path());
    let line = b"Nov 22 21:36:11 vm bash[4242]: carol:/dev/pts/0:ls";
    let msg = parse_syslog(line).unwrap();
    let mut ev = Event::new(
        EventKind::History,
        EventId(2),
        0,
        &HostInfo::named("h"),
        "syslog",
    );
    ev.history = Some(HistoryView::from_entry(&parse_history(&msg).unwrap()));
    e.enrich(&mut ev);
    let user = ev.user.unwrap();
    assert_eq!((user.id, user.name.as_deref()), (Some(1002), Some("carol")));
}

#[test]
fn alerts_see_the_real_text_and_redaction_comes_last() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = enricher(dir.path());
    let args = [
        "docker",
        "run",
        "-e",
        "DB_PASSWORD=hunter2",
        "--privileged",
        "alpine",
    ];
    let mut ev = execve_event(
        [None, None, None, None, None, None, None, None, None],
        &args,
    );
    e.enrich(&mut ev);
    assert_eq!(ev.alerts.len(), 1);
    assert_eq!(ev.alerts[0].rule, "docker_privileged");
    let x = ev.audit.as_ref().unwrap().execve.as_ref().unwrap();
    assert!(
        x.args[3].starts_with("DB_PASSWORD=[REDACTED:password:"),
        "{}",
        x.args[3]
    );
    assert!(!x.command_line.contains("hunter2"), "{}", x.command_line);
    assert_eq!(
        ev.redacted.iter().map(|k| &**k).collect::<Vec<_>>(),
        ["password"]
    );
    assert!(ev.has_alerts());
}

#[tokio::test]
async fn host_identity_from_config_and_tags() {
    let settings: EnrichSettings = toml::from_str(
        "instance_id = \"i-0abc\"\nregion = \"eu-west-1\"\naccount_id = \"123456789012\"\n[tags]\nteam = \"platform\"\nenv = \"prod\"\n",
    )
    .unwrap();
    let host = host_info("vm1", &settings).await;
    let json = serde_json::to_value(&host).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "name": "vm1", "instance_id": "i-0abc", "region": "eu-west-1",
            "account_id": "123456789012", "tags": {"env": "prod", "team": "platform"}
        })
    );
    // Nothing configured: only the name, and no IMDS request (it is off by default).
    let bare = host_info("vm1", &EnrichSettings::default()).await;
    assert_eq!(
        serde_json::to_value(&bare).unwrap(),
        serde_json::json!({"name": "vm1"})
    );
}

#[tokio::test]
async fn an_unreachable_imds_leaves_the_identity_out() {
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = EnrichSettings {
        region: Some("eu-west-1".into()),
        imds: ImdsSettings {
            enabled: true,
            endpoint: format!("http://127.0.0.1:{port}"),
            timeout_ms: 300,
        },
        ..EnrichSettings::default()
    };
    let host = host_info("vm1", &settings).await;
    assert_eq!(host.instance_id, None);
    assert_eq!(
        host.region.as_deref(),
        Some("eu-west-1"),
        "config still applies"
    );
}

#[test]
fn unknown_keys_are_rejected() {
    assert!(toml::from_str::<EnrichSettings>("user = true\n").is_err());
    assert!(toml::from_str::<EnrichSettings>("[imds]\nenable = true\n").is_err());
}
