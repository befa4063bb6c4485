//! Packing tests: record and call limits, order, gzip members that read as one stream.

use std::io::Read;

use bytes::Bytes;
use flate2::read::MultiGzDecoder;
use proptest::prelude::*;

use super::pack::{pack_events, plan_calls};
use super::*;
use crate::EncodedEvent;

fn event(seq: u64, len: usize) -> EncodedEvent {
    // Pseudo-random digits: compressible like real events, not trivially.
    let mut state = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let body: String = (0..len.saturating_sub(20))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 16) as u8)
        })
        .collect();
    EncodedEvent {
        seq,
        time_ms: 1_795_600_000_000 + seq as i64,
        json: Bytes::from(format!(r#"{{"seq":{seq},"x":"{body}"}}"#)),
    }
}

fn unpack(records: &[PackedRecord], gzip: bool) -> String {
    let mut all = Vec::new();
    for record in records {
        all.extend_from_slice(&record.data);
    }
    if !gzip {
        return String::from_utf8(all).unwrap();
    }
    // Records concatenated, as Firehose writes them into one object: one gzip stream to readers.
    let mut text = String::new();
    MultiGzDecoder::new(&all[..])
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn expected(events: &[EncodedEvent]) -> String {
    events
        .iter()
        .map(|e| format!("{}\n", std::str::from_utf8(&e.json).unwrap()))
        .collect()
}

#[test]
fn gzip_records_fill_close_to_the_limit_and_never_exceed_it() {
    let events: Vec<EncodedEvent> = (0..20_000).map(|s| event(s, 400)).collect();
    let max = 64 * 1024;
    let packing = pack_events(&events, Some(6), max);
    assert_eq!(packing.truncated, 0);
    assert!(packing.records.len() > 2, "{}", packing.records.len());
    for record in &packing.records[..packing.records.len() - 1] {
        assert!(record.data.len() <= max, "{} > {max}", record.data.len());
        assert!(
            record.data.len() > max * 9 / 10,
            "a full record uses its room: {}",
            record.data.len()
        );
    }
    let per_record: usize = packing.records.iter().map(|r| r.events).sum();
    assert_eq!(per_record, events.len());
    assert_eq!(unpack(&packing.records, true), expected(&events));
}

#[test]
fn plain_records_are_exactly_bounded() {
    let events: Vec<EncodedEvent> = (0..300).map(|s| event(s, 300)).collect();
    let packing = pack_events(&events, None, 4096);
    for record in &packing.records {
        assert!(record.data.len() <= 4096);
        assert!(record.data.ends_with(b"\n"));
    }
    assert_eq!(unpack(&packing.records, false), expected(&events));
}

#[test]
fn an_event_too_large_for_any_record_is_truncated_with_a_marker() {
    let events = vec![event(1, 100), event(2, 5_000), event(3, 100)];
    for gzip in [None, Some(1)] {
        let packing = pack_events(&events, gzip, 1024);
        assert_eq!(packing.truncated, 1, "{gzip:?}");
        let text = unpack(&packing.records, gzip.is_some());
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[1]["auditrail_truncated"]["original_bytes"],
            events[1].json.len()
        );
        assert!(packing.records.iter().all(|r| r.data.len() <= 1024));
    }
}

#[test]
fn a_large_compressible_event_is_kept_whole_when_it_compresses_below_the_limit() {
    let big = EncodedEvent {
        seq: 9,
        time_ms: 0,
        json: Bytes::from(format!(r#"{{"a":"{}"}}"#, "ab".repeat(1_000_000))),
    };
    let packing = pack_events(std::slice::from_ref(&big), Some(6), MAX_RECORD_BYTES);
    assert_eq!(packing.truncated, 0);
    assert_eq!(packing.records.len(), 1);
    assert_eq!(unpack(&packing.records, true), expected(&[big]));
}

#[test]
fn calls_respect_record_count_and_byte_limits() {
    let sizes = vec![10_000; 1_200];
    let pending: Vec<usize> = (0..1_200).collect();
    let calls = plan_calls(&pending, &sizes);
    assert!(calls.iter().all(|c| c.len() <= MAX_RECORDS_PER_CALL));
    let big = vec![MAX_RECORD_BYTES; 9];
    let calls = plan_calls(&(0..9).collect::<Vec<_>>(), &big);
    assert_eq!(
        calls.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![4, 4, 1]
    );
    for call in &calls {
        assert!(call.iter().map(|&i| big[i]).sum::<usize>() <= MAX_BYTES_PER_CALL);
    }
    // Only pending records are planned, in order.
    assert_eq!(plan_calls(&[3, 7], &big), vec![vec![3, 7]]);
}

#[test]
fn advice_names_the_fitting_pairing() {
    let double = compression_advice(RecordCompression::Gzip, "GZIP").unwrap();
    assert!(double.contains("UNCOMPRESSED") && double.contains("compressed twice"));
    assert_eq!(
        compression_advice(RecordCompression::Gzip, "UNCOMPRESSED"),
        None
    );
    assert_eq!(compression_advice(RecordCompression::None, "GZIP"), None);
}

#[test]
fn config_problems_are_reported() {
    let mut config = FirehoseConfig::new("bad name!");
    config.max_record_bytes = 2_000_000;
    config.endpoint_url = Some("localhost:1".into());
    let problems = config.problems().join("\n");
    assert!(problems.contains("delivery_stream"), "{problems}");
    assert!(problems.contains("max_record_bytes"), "{problems}");
    assert!(problems.contains("endpoint_url"), "{problems}");
    assert!(FirehoseConfig::new("audit-stream").problems().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn packing_keeps_every_event_in_order_within_limits(
        lens in proptest::collection::vec(10usize..6_000, 1..200),
        max in 1024usize..20_000,
        gzip in any::<bool>(),
    ) {
        let events: Vec<EncodedEvent> =
            lens.iter().enumerate().map(|(i, &len)| event(i as u64, len)).collect();
        let level = gzip.then_some(6);
        let packing = pack_events(&events, level, max);
        prop_assert!(packing.records.iter().all(|r| r.data.len() <= max && r.events > 0));
        prop_assert_eq!(packing.records.iter().map(|r| r.events).sum::<usize>(), events.len());
        if packing.truncated == 0 {
            prop_assert_eq!(unpack(&packing.records, gzip), expected(&events));
        } else {
            prop_assert_eq!(unpack(&packing.records, gzip).lines().count(), events.len());
        }
    }
}
