//! Request preparation tests: time window filtering, sorting, truncation, per-source streams,
//! rejected-range mapping and configuration checks.

use bytes::Bytes;
use proptest::prelude::*;

use super::prepare::{prepare, rejected_ranges, render, unknown_placeholders};
use super::*;
use crate::EncodedEvent;

const NOW: i64 = 1_795_600_000_000;

fn event(seq: u64, time_ms: i64, source: &str) -> EncodedEvent {
    EncodedEvent {
        seq,
        time_ms,
        json: Bytes::from(format!(
            r#"{{"id":"e{seq}","source":"{source}","n":{seq}}}"#
        )),
    }
}

fn values() -> NameValues {
    NameValues {
        instance_id: "i-0abc".into(),
        hostname: "web01".into(),
    }
}

#[test]
fn events_outside_the_accepted_window_are_filtered_with_their_reason() {
    let events = vec![
        event(1, NOW - MAX_AGE_MS - 1, "audit"),
        event(2, NOW - 3 * 24 * 3600 * 1000, "audit"),
        event(3, NOW, "audit"),
        event(4, NOW + MAX_FUTURE_MS, "audit"),
        event(5, NOW + MAX_FUTURE_MS - 1, "audit"),
    ];
    let prepared = prepare(&events, NOW, None, ("g", "s"), &values());
    let seqs = |reason| -> Vec<u64> {
        prepared
            .filtered
            .get(reason)
            .map_or(vec![], |v| v.iter().map(|e| e.0).collect())
    };
    assert_eq!(seqs("too_old"), vec![1]);
    assert_eq!(seqs("too_new"), vec![4]);
    let sent: Vec<u64> = prepared.streams[0].events.iter().map(|e| e.seq).collect();
    assert_eq!(sent, vec![2, 3, 5]);
    // With a 1-day retention, event 2 (3 days old) is expired.
    let prepared = prepare(&events, NOW, Some(1), ("g", "s"), &values());
    assert_eq!(
        prepared.filtered["expired"]
            .iter()
            .map(|e| e.0)
            .collect::<Vec<_>>(),
        vec![2]
    );
}

#[test]
fn events_are_sorted_by_time_stably_and_split_per_source_stream() {
    let events = vec![
        event(1, NOW - 10, "audit"),
        event(2, NOW - 30, "syslog"),
        event(3, NOW - 20, "audit"),
        event(4, NOW - 20, "audit"),
        event(5, NOW - 40, "audit"),
    ];
    let prepared = prepare(
        &events,
        NOW,
        None,
        ("/auditrail/{source}", "{instance_id}/{hostname}"),
        &values(),
    );
    assert_eq!(prepared.streams.len(), 2);
    let audit = &prepared.streams[0];
    assert_eq!(
        (audit.log_group.as_str(), audit.log_stream.as_str()),
        ("/auditrail/audit", "i-0abc/web01")
    );
    let order: Vec<u64> = audit.events.iter().map(|e| e.seq).collect();
    assert_eq!(order, vec![5, 3, 4, 1]);
    assert_eq!(prepared.streams[1].log_group, "/auditrail/syslog");
}

#[test]
fn an_event_over_the_limit_is_truncated_to_fit_a_call() {
    let huge = EncodedEvent {
        seq: 7,
        time_ms: NOW,
        json: Bytes::from(format!(
            r#"{{"id":"big","raw":["{}"]}}"#,
            "z".repeat(MAX_BATCH_BYTES)
        )),
    };
    let prepared = prepare(
        std::slice::from_ref(&huge),
        NOW,
        None,
        ("g", "s"),
        &values(),
    );
    assert_eq!(prepared.truncated, 1);
    let sent = &prepared.streams[0].events[0];
    assert!(sent.cost() <= MAX_BATCH_BYTES, "{}", sent.cost());
    let v: serde_json::Value = serde_json::from_str(&sent.message).unwrap();
    assert_eq!(v["id"], "big");
    assert_eq!(v["auditrail_truncated"]["original_bytes"], huge.json.len());
}

#[test]
fn rejected_info_maps_to_disjoint_reason_ranges() {
    assert_eq!(rejected_ranges(10, None, None, None), vec![]);
    assert_eq!(
        rejected_ranges(10, Some(8), Some(3), Some(1)),
        vec![("expired", 0..1), ("too_old", 1..3), ("too_new", 8..10)]
    );
    // Nonsense indices are clamped, never panic.
    assert_eq!(
        rejected_ranges(4, Some(-5), Some(99), None),
        vec![("too_old", 0..4)]
    );
}

#[test]
fn names_are_rendered_and_sanitised() {
    assert_eq!(
        render("{hostname}:{source}*", &values(), "audit", false),
        "web01_audit_"
    );
    assert_eq!(render("/a b/{source}", &values(), "x", true), "/a_b/x");
    assert_eq!(render("", &values(), "", true), "_");
    assert_eq!(
        unknown_placeholders("{hostname}/{region}/{oops"),
        vec!["{region}", "{oops"]
    );
}

#[test]
fn config_problems_are_reported() {
    let mut config = CloudWatchConfig::new();
    config.log_stream = "{instance_id}/{az}".into();
    config.retention_days = Some(10);
    let problems = config.problems().join("\n");
    assert!(problems.contains("{az}"), "{problems}");
    assert!(
        problems.contains("set sinks.cloudwatch.instance_id"),
        "{problems}"
    );
    assert!(problems.contains("retention_days = 10"), "{problems}");
    assert!(CloudWatchConfig::new().problems().is_empty());
}

proptest! {
    #[test]
    fn every_event_is_sent_once_or_filtered_once(
        offsets in proptest::collection::vec(-20i64 * 24 * 3600 * 1000..4 * 3600 * 1000, 0..100),
    ) {
        let events: Vec<EncodedEvent> = offsets
            .iter()
            .enumerate()
            .map(|(i, &o)| event(i as u64, NOW + o, if i % 3 == 0 { "a" } else { "b" }))
            .collect();
        let prepared = prepare(&events, NOW, None, ("g/{source}", "s"), &values());
        let mut seen: Vec<u64> = prepared.streams.iter()
            .flat_map(|s| s.events.iter().map(|e| e.seq))
            .chain(prepared.filtered.values().flat_map(|v| v.iter().map(|e| e.0)))
            .collect();
        seen.sort_unstable();
        prop_assert_eq!(seen, (0..events.len() as u64).collect::<Vec<_>>());
        for stream in &prepared.streams {
            prop_assert!(stream.events.windows(2).all(|w| w[0].timestamp_ms <= w[1].timestamp_ms));
            prop_assert!(stream.events.iter().all(|e| e.timestamp_ms >= NOW - MAX_AGE_MS
                && e.timestamp_ms < NOW + MAX_FUTURE_MS));
        }
    }
}
