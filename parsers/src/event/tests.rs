//! Tests of event building: hand-built records, realistic lines through `parse_record`, JSON shape
//! snapshots, and laurel's samples compared with laurel's own JSON output.

use super::*;
use crate::audit::{Field, Header, RecordType};
use proptest::prelude::*;
use serde_json::json;

fn rec<'a>(rtype: &'a str, fields: &[(&'a [u8], Value<'a>)]) -> Record<'a> {
    Record {
        header: Header {
            node: None,
            rtype: RecordType::Named(rtype),
            time: AuditTime {
                secs: 1_700_000_000,
                millis: 5,
            },
            serial: 42,
            body_start: 0,
        },
        body: Body {
            fields: fields
                .iter()
                .map(|(key, value)| Field {
                    key,
                    value: value.clone(),
                })
                .collect(),
            ..Body::default()
        },
    }
}

fn to_json(event: &AuditEvent) -> serde_json::Value {
    serde_json::to_value(event).unwrap()
}

#[test]
fn merges_hand_built_records() {
    let records = [
        rec(
            "SYSCALL",
            &[
                (b"arch", Value::Bare(b"c000003e")),
                (b"syscall", Value::Bare(b"322")),
                (b"success", Value::Bare(b"no")),
                (b"exit", Value::Bare(b"-13")),
                (b"a0", Value::Bare(b"3")),
                (b"auid", Value::Bare(b"4294967295")),
                (b"uid", Value::Bare(b"1000")),
                (b"comm", Value::Bare(b"636166E9")), // "caf\xe9": not UTF-8
                (b"key", Value::Bare(b"7375646F0170726976")), // "sudo\x01priv"
                (b"pid", Value::Bare(b"not-a-number")),
            ],
        ),
        rec(
            "EXECVE",
            &[
                (b"argc", Value::Bare(b"2")),
                (b"a0", Value::Quoted(b"ls")),
                (b"a1", Value::Bare(b"2F746D702FFF20646972")),
            ],
        ),
        rec("CWD", &[(b"cwd", Value::Bare(b"2F746D702FFF20646972"))]),
        rec(
            "PATH",
            &[(b"item", Value::Bare(b"0")), (b"name", Value::Null)],
        ),
        rec("EOE", &[]),
    ];
    let event = build_event(&records);
    assert_eq!(
        to_json(&event),
        json!({
            "time": {"secs": 1_700_000_000u64, "millis": 5, "rfc3339": "2023-11-14T22:13:20.005Z"},
            "serial": 42,
            "record_types": ["SYSCALL", "EXECVE", "CWD", "PATH", "EOE"],
            "syscall": {
                "arch": "c000003e", "arch_name": "x86_64", "number": 322, "name": "execveat",
                "success": false, "exit": -13, "auid": null, "uid": 1000,
                "comm": "caf\u{fffd}", "comm_hex": "636166E9",
                "keys": ["sudo", "priv"],
                "extra": {"a0": "3", "pid": "not-a-number"}
            },
            "execve": {
                "argc": 2,
                "args": ["ls", "/tmp/\u{fffd} dir"],
                "args_hex": ["6C73", "2F746D702FFF20646972"],
                "command_line": "ls '/tmp/\u{fffd} dir'",
                "complete": true
            },
            "cwd": "/tmp/\u{fffd} dir",
            "cwd_hex": "2F746D702FFF20646972",
            "paths": [{"item": 0}]
        })
    );
}

#[test]
fn second_syscall_and_odd_cwd_go_to_other() {
    let records = [
        rec("SYSCALL", &[(b"syscall", Value::Bare(b"59"))]),
        rec("SYSCALL", &[(b"syscall", Value::Bare(b"60"))]),
        rec("CWD", &[(b"cwd", Value::Null)]),
        rec(
            "PROCTITLE",
            &[(b"proctitle", Value::Quoted(b"sh")), (b"x", Value::Unset)],
        ),
    ];
    let event = build_event(&records);
    assert_eq!(event.syscall.as_ref().unwrap().number, Some(59));
    assert_eq!(event.syscall.as_ref().unwrap().name, None); // no arch, no name
    assert_eq!(event.cwd, None);
    assert_eq!(event.proctitle, None);
    assert_eq!(
        serde_json::to_value(&event.other).unwrap(),
        json!([
            {"type": "SYSCALL", "fields": {"syscall": "60"}},
            {"type": "CWD", "fields": {"cwd": null}},
            {"type": "PROCTITLE", "fields": {"proctitle": "sh", "x": null}}
        ])
    );
}

#[test]
fn empty_input_gives_default_event() {
    let event = build_event(&[]);
    assert_eq!(event, AuditEvent::default());
    assert_eq!(to_json(&event)["time"]["rfc3339"], json!(""));
}

#[test]
fn user_space_record_keeps_nested_fields_and_decodes_cmd() {
    let nested = Body {
        fields: vec![
            Field {
                key: b"cwd",
                value: Value::Quoted(b"/root"),
            },
            Field {
                key: b"cmd",
                value: Value::Bare(b"6C73202D6C61202F726F6F74"),
            },
            Field {
                key: b"terminal",
                value: Value::Bare(b"pts/0"),
            },
        ],
        ..Body::default()
    };
    let mut record = rec(
        "USER_CMD",
        &[
            (b"pid", Value::Bare(b"1382")),
            (b"msg", Value::Nested(nested)),
        ],
    );
    record.body.enriched = vec![Field {
        key: b"AUID",
        value: Value::Quoted(b"carol"),
    }];
    let event = build_event(&[record]);
    assert_eq!(
        serde_json::to_value(&event.other).unwrap(),
        json!([{
            "type": "USER_CMD",
            "fields": {"pid": "1382", "cwd": "/root", "cmd": "ls -la /root", "terminal": "pts/0"},
            "enriched": {"AUID": "carol"}
        }])
    );
}

const SERIAL_4137: [&str; 6] = [
    "type=SYSCALL msg=audit(1795383371.680:4137): arch=c000003e syscall=59 success=yes exit=0 a0=559bbd8ec390 a1=559bbd8eca90 a2=559bbd8ec420 a3=d5b061ae8c6933ad items=2 ppid=18187 pid=18188 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"bash\" exe=\"/usr/bin/bash\" subj=unconfined key=\"command_execution\"",
    "type=EXECVE msg=audit(1795383371.680:4137): argc=3 a0=\"bash\" a1=\"-c\" a2=6563686F2027686927202626206964202D75",
    "type=CWD msg=audit(1795383371.680:4137): cwd=\"/home/carol\"",
    "type=PATH msg=audit(1795383371.680:4137): item=0 name=\"/usr/bin/bash\" inode=10199052 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
    "type=PATH msg=audit(1795383371.680:4137): item=1 name=\"/lib64/ld-linux-x86-64.so.2\" inode=325843 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
    "type=PROCTITLE msg=audit(1795383371.680:4137): proctitle=62617368002D63006563686F2027686927202626206964202D75",
];

#[test]
fn merges_realistic_execve_event() {
    let lines: Vec<&[u8]> = SERIAL_4137.iter().map(|l| l.as_bytes()).collect();
    let (event, errors) = build_event_from_lines(&lines);
    assert!(errors.is_empty(), "{errors:?}");
    let path_extra = json!({"rdev": "00:00", "cap_fp": "0", "cap_fi": "0", "cap_fe": "0",
                            "cap_fver": "0", "cap_frootid": "0"});
    assert_eq!(
        to_json(&event),
        json!({
            "time": {"secs": 1_795_383_371u64, "millis": 680, "rfc3339": "2026-11-22T21:36:11.680Z"},
            "serial": 4137,
            "record_types": ["SYSCALL", "EXECVE", "CWD", "PATH", "PATH", "PROCTITLE"],
            "syscall": {
                "arch": "c000003e", "arch_name": "x86_64", "number": 59, "name": "execve",
                "success": true, "exit": 0, "items": 2, "pid": 18188, "ppid": 18187,
                "auid": null, "uid": 0, "gid": 0, "euid": 0, "suid": 0, "fsuid": 0,
                "egid": 0, "sgid": 0, "fsgid": 0, "tty": "(none)", "ses": null,
                "comm": "bash", "exe": "/usr/bin/bash", "subj": "unconfined",
                "keys": ["command_execution"],
                "extra": {"a0": "559bbd8ec390", "a1": "559bbd8eca90", "a2": "559bbd8ec420",
                          "a3": "d5b061ae8c6933ad"}
            },
            "execve": {
                "argc": 3,
                "args": ["bash", "-c", "echo 'hi' && id -u"],
                "command_line": "bash -c 'echo '\\''hi'\\'' && id -u'",
                "complete": true
            },
            "cwd": "/home/carol",
            "paths": [
                {"item": 0, "name": "/usr/bin/bash", "inode": 10_199_052, "dev": "fe:00",
                 "mode": "0100755", "ouid": 0, "ogid": 0, "nametype": "NORMAL",
                 "extra": path_extra},
                {"item": 1, "name": "/lib64/ld-linux-x86-64.so.2", "inode": 325_843,
                 "dev": "fe:00", "mode": "0100755", "ouid": 0, "ogid": 0, "nametype": "NORMAL",
                 "extra": path_extra}
            ],
            "proctitle": {"argv": ["bash", "-c", "echo 'hi' && id -u"], "truncated": false}
        })
    );
}

#[test]
fn enriched_node_and_null_key() {
    let lines: [&[u8]; 3] = [
        b"node=work type=SYSCALL msg=audit(1615114232.375:15558): arch=c000003e syscall=59 success=yes exit=0 auid=1000 uid=0 comm=\"whoami\" key=(null)\x1dARCH=x86_64 SYSCALL=execve AUID=\"user\" UID=\"root\"",
        b"node=work type=PATH msg=audit(1615114232.375:15558): item=0 name=\"/usr/bin/whoami\" ouid=0\x1dOUID=\"root\"",
        b"node=work type=EOE msg=audit(1615114232.375:15558):",
    ];
    let (event, errors) = build_event_from_lines(&lines);
    assert!(errors.is_empty(), "{errors:?}");
    let got = to_json(&event);
    assert_eq!(got["node"], json!("work"));
    assert_eq!(
        got["syscall"]["enriched"],
        json!({"ARCH": "x86_64", "SYSCALL": "execve", "AUID": "user", "UID": "root"})
    );
    assert_eq!(got["syscall"]["name"], json!("execve"));
    assert!(got["syscall"].get("keys").is_none());
    assert!(got["syscall"].get("extra").is_none());
    assert_eq!(got["paths"][0]["enriched"], json!({"OUID": "root"}));
    assert!(got.get("other").is_none(), "EOE is not kept in `other`");
    assert_eq!(got["record_types"], json!(["SYSCALL", "PATH", "EOE"]));
}

#[test]
fn bad_lines_are_skipped_and_reported() {
    let lines: [&[u8]; 3] = [
        b"this is not an audit record",
        SERIAL_4137[2].as_bytes(),
        b"type=EXECVE msg=audit(1795383371.680:4137): argc=1 a0=\"x\" a1[zz]=00",
    ];
    let (event, errors) = build_event_from_lines(&lines);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[1].what, "malformed EXECVE argument key");
    assert_eq!(event.record_types, vec!["CWD", "EXECVE"]);
    assert_eq!(event.cwd.as_deref(), Some("/home/carol"));
    let execve = event.execve.unwrap();
    assert_eq!(execve.args, vec!["x"]);
    assert!(!execve.complete);
    assert_eq!(execve.extra.get("a1[zz]"), Some(&json!("00")));
}

fn laurel_dir() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/threathunters-io_laurel");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: corpus not found at {}", dir.display());
        None
    }
}

/// laurel's samples: our event against laurel's own JSON, where the shapes line up.
#[test]
fn agrees_with_laurel_output() {
    let Some(dir) = laurel_dir() else { return };
    for name in [
        "record-execve",
        "record-execve-long",
        "record-perl-reverse-shell",
    ] {
        let text = std::fs::read(dir.join(format!("{name}.txt"))).unwrap();
        let laurel: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.json"))).unwrap())
                .unwrap();
        let lines: Vec<&[u8]> = text
            .split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let (event, errors) = build_event_from_lines(&lines);
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let ours = to_json(&event);
        assert_eq!(
            ours["execve"]["args"], laurel["EXECVE"]["ARGV"],
            "{name}: args"
        );
        assert_eq!(ours["execve"]["argc"], laurel["EXECVE"]["argc"], "{name}");
        assert_eq!(ours["execve"]["complete"], json!(true), "{name}");
        assert_eq!(
            ours["proctitle"]["argv"], laurel["PROCTITLE"]["ARGV"],
            "{name}: proctitle"
        );
        assert_eq!(ours["cwd"], laurel["CWD"]["cwd"], "{name}: cwd");
        let (sys, theirs) = (&ours["syscall"], &laurel["SYSCALL"]);
        for key in [
            "exit", "ppid", "pid", "auid", "uid", "euid", "ses", "tty", "comm", "exe",
        ] {
            assert_eq!(sys[key], theirs[key], "{name}: syscall.{key}");
        }
        assert_eq!(sys["number"], theirs["syscall"], "{name}");
        assert_eq!(sys["name"], theirs["SYSCALL"], "{name}");
        assert_eq!(sys["enriched"]["AUID"], theirs["AUID"], "{name}");
        let their_paths = laurel["PATH"].as_array().unwrap();
        assert_eq!(event.paths.len(), their_paths.len(), "{name}");
        for (ours, theirs) in ours["paths"].as_array().unwrap().iter().zip(their_paths) {
            for key in ["item", "name", "inode", "dev", "ouid", "nametype"] {
                assert_eq!(ours[key], theirs[key], "{name}: path.{key}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Mangled real lines never panic, and every line is either a record or an error.
    #[test]
    fn mangled_lines_never_panic(
        edits in proptest::collection::vec((0usize..6, 0usize..400, any::<u8>()), 0..8),
    ) {
        let mut lines: Vec<Vec<u8>> = SERIAL_4137.iter().map(|l| l.as_bytes().to_vec()).collect();
        for (line, at, byte) in edits {
            let l = &mut lines[line];
            let at = at.min(l.len().saturating_sub(1));
            if let Some(b) = l.get_mut(at) {
                *b = byte;
            }
        }
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let (event, errors) = build_event_from_lines(&refs);
        prop_assert!(event.record_types.len() <= refs.len());
        prop_assert!(event.record_types.len() + errors.len() >= refs.len());
        serde_json::to_string(&event).unwrap();
    }
}
