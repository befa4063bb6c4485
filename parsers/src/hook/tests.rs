//! Tests of the hook verdict schema and of the hook payload shape.

use proptest::prelude::*;

use super::*;

const DOC: &str = include_str!("../../../docs/hook-verdicts.md");

fn documented_examples() -> Vec<&'static str> {
    let block = DOC
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/hook-verdicts.md has a ```json block");
    block.lines().collect()
}

const VERDICT: &str = r#"{"v":1,"time":"2026-11-22T21:36:11.482Z","hook":"audit-log","event":"PreToolUse","decision":"allow","session_id":"s-1","tool_use_id":"toolu_01X","tool_name":"Bash","command":"ls","cwd":"/home/carol","pid":10,"ppid":9}"#;

#[test]
fn documented_examples_parse() {
    let examples = documented_examples();
    assert_eq!(examples.len(), 2);
    let allow = parse_hook_verdict(examples[0].as_bytes()).unwrap();
    assert_eq!(
        (allow.hook.as_str(), allow.decision),
        ("audit-log", Decision::Allow)
    );
    assert_eq!(
        (allow.event, allow.pid, allow.ppid),
        (HookEvent::PreToolUse, 18242, 18241)
    );
    assert_eq!(allow.command.as_deref(), Some("ls -la ~"));
    assert_eq!(allow.permission_mode.as_deref(), Some("default"));
    assert!(allow.extra.is_empty() && !allow.truncated);
    let deny = parse_hook_verdict(examples[1].as_bytes()).unwrap();
    assert_eq!(
        (deny.hook.as_str(), deny.decision),
        ("dlp-scan", Decision::Deny)
    );
    assert!(deny.reason.unwrap().starts_with("rule aws-secret-key"));
    assert_eq!((deny.transcript_path, deny.exit_code), (None, None));
}

#[test]
fn verdict_serializes_back_to_the_same_json() {
    for line in documented_examples() {
        let verdict = parse_hook_verdict(line.as_bytes()).unwrap();
        let again: Value = serde_json::to_value(&verdict).unwrap();
        assert_eq!(again, serde_json::from_str::<Value>(line).unwrap());
    }
}

#[test]
fn unknown_fields_are_kept_and_written_back() {
    let line = VERDICT.replace(
        r#""pid":10"#,
        r#""pid":10,"model":"m-1","scores":{"pi":0.02}"#,
    );
    let verdict = parse_hook_verdict(format!("{line}\n").as_bytes()).unwrap();
    assert_eq!(verdict.extra.get("model"), Some(&Value::from("m-1")));
    assert_eq!(verdict.extra["scores"]["pi"], Value::from(0.02));
    let written = serde_json::to_string(&verdict).unwrap();
    assert_eq!(parse_hook_verdict(written.as_bytes()).unwrap(), verdict);
}

#[test]
fn posttooluse_with_exit_code_and_truncation_flag() {
    let line = VERDICT
        .replace("PreToolUse", "PostToolUse")
        .replace(r#""ppid":9"#, r#""ppid":9,"exit_code":-1,"truncated":true"#);
    let verdict = parse_hook_verdict(line.as_bytes()).unwrap();
    assert_eq!(
        (verdict.event, verdict.exit_code, verdict.truncated),
        (HookEvent::PostToolUse, Some(-1), true)
    );
    assert_eq!(verdict.time_epoch_millis(), Some(1_795_383_371_482));
}

#[test]
fn schema_violations_name_the_problem() {
    let cases = [
        (
            VERDICT.replace(r#""decision":"allow","#, ""),
            "hook verdict does not match the schema",
            "missing field `decision`",
        ),
        (
            VERDICT.replace(r#""allow""#, r#""maybe""#),
            "hook verdict does not match the schema",
            "unknown variant `maybe`",
        ),
        (
            VERDICT.replace(r#""pid":10"#, r#""pid":"10""#),
            "hook verdict does not match the schema",
            "invalid type: string \"10\"",
        ),
        (
            VERDICT.replace(r#""pid":10"#, r#""pid":-3"#),
            "hook verdict does not match the schema",
            "invalid value",
        ),
        (
            VERDICT.replace(r#""v":1"#, r#""v":2"#),
            "unsupported hook verdict version",
            "v is 2",
        ),
        (
            VERDICT.replace("2026-11-22T21:36:11.482Z", "yesterday"),
            "hook verdict time is not RFC 3339",
            "\"yesterday\"",
        ),
        (
            VERDICT[..40].to_string(),
            "hook verdict JSON ends early",
            "EOF",
        ),
        (
            VERDICT.replace(r#","hook""#, r#" "hook""#),
            "invalid hook verdict JSON",
            "expected `,` or `}`",
        ),
    ];
    for (line, what, detail) in cases {
        let err = parse_hook_verdict(line.as_bytes()).unwrap_err();
        assert_eq!(err.what, what, "{line}");
        let shown = err.detail.clone().unwrap_or_default();
        assert!(shown.contains(detail), "{shown:?} lacks {detail:?}");
        assert!(err.to_string().contains(detail));
    }
}

#[test]
fn syntax_error_offset_points_into_the_line() {
    let line = VERDICT.replace(r#","hook""#, r#" "hook""#);
    let err = parse_hook_verdict(line.as_bytes()).unwrap_err();
    let space = line.find(r#" "hook""#).unwrap();
    assert!(
        (space..=space + 2).contains(&err.offset),
        "offset {} vs {space}",
        err.offset
    );
    let err = parse_hook_verdict(b"{\n  \"v\": 1,\n  \"time\" 2\n}").unwrap_err();
    assert_eq!(err.offset, 21, "{err}");
}

#[test]
fn bash_pretooluse_payload() {
    let json = br#"{"session_id":"0b1c","transcript_path":"/home/carol/.claude/projects/-home-carol/0b1c.jsonl","cwd":"/home/carol","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"echo \"dq\" and \\\\ backslash","description":"Print","timeout":120000,"run_in_background":false},"tool_use_id":"toolu_01AB"}"#;
    let p = parse_hook_payload(json).unwrap();
    assert_eq!(
        (p.session_id.as_str(), p.event()),
        ("0b1c", Some(HookEvent::PreToolUse))
    );
    assert_eq!(p.cwd.as_deref(), Some("/home/carol"));
    assert_eq!(p.tool_name.as_deref(), Some("Bash"));
    assert_eq!(
        p.tool_input.command.as_deref(),
        Some(r#"echo "dq" and \\ backslash"#)
    );
    assert_eq!(
        (p.tool_input.timeout, p.tool_input.run_in_background),
        (Some(120_000), Some(false))
    );
    assert_eq!(p.tool_use_id.as_deref(), Some("toolu_01AB"));
    assert_eq!(p.tool_response, None);
}

#[test]
fn posttooluse_and_other_tools_keep_unknown_parts() {
    let json = br#"{"session_id":"s","hook_event_name":"PostToolUse","tool_name":"Read","tool_input":{"file_path":"/etc/hosts"},"tool_response":{"ok":true},"tool_use_id":"toolu_2","agent_id":"a7"}"#;
    let p = parse_hook_payload(json).unwrap();
    assert_eq!(p.event(), Some(HookEvent::PostToolUse));
    assert_eq!(p.tool_input.command, None);
    assert_eq!(p.tool_input.extra["file_path"], Value::from("/etc/hosts"));
    assert_eq!(p.tool_response, Some(serde_json::json!({"ok": true})));
    assert_eq!(p.extra["agent_id"], Value::from("a7"));
    let p = parse_hook_payload(
        br#"{"session_id":"s","hook_event_name":"UserPromptSubmit","prompt":"hi"}"#,
    )
    .unwrap();
    assert_eq!((p.event(), p.tool_input), (None, ToolInput::default()));
}

#[test]
fn bad_payloads_are_errors() {
    let err = parse_hook_payload(br#"{"hook_event_name":"PreToolUse"}"#).unwrap_err();
    assert_eq!(err.what, "hook payload does not match the expected shape");
    assert!(err.detail.unwrap().contains("missing field `session_id`"));
    let err = parse_hook_payload(b"\xff{}").unwrap_err();
    assert_eq!((err.what, err.offset), ("invalid hook payload JSON", 0));
}

proptest! {
    #[test]
    fn never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_hook_verdict(&bytes);
        let _ = parse_hook_payload(&bytes);
    }

    #[test]
    fn never_panics_on_mangled_verdicts(cut in 0usize..VERDICT.len(), junk in "[\\x00-\\x7f]{0,8}") {
        let line = format!("{}{junk}{}", &VERDICT[..cut], &VERDICT[cut..]);
        if let Ok(v) = parse_hook_verdict(line.as_bytes()) {
            prop_assert_eq!(v.v, HOOK_VERDICT_VERSION);
        }
    }
}
