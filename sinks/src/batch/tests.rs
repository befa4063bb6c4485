//! Batcher tests: limits by events, bytes, age and time span, oversized events, gzip round-trip,
//! and a property test that batches partition the input in order within their limits.

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use tokio::time::Instant;

use super::*;

fn event(seq: u64, time_ms: i64, json: &str) -> EncodedEvent {
    EncodedEvent {
        seq,
        time_ms,
        json: Bytes::copy_from_slice(json.as_bytes()),
    }
}

fn limits(max_events: usize, max_bytes: usize) -> BatchLimits {
    BatchLimits {
        max_events,
        max_bytes,
        max_age: Duration::from_secs(10),
    }
}

/// Pushes every event at `now`, collecting batches from `push_at`, `take_if_full` and a final
/// `take`.
fn run_batcher(batcher: &mut Batcher, events: Vec<EncodedEvent>, now: Instant) -> Vec<Batch> {
    let mut out = Vec::new();
    for event in events {
        out.extend(batcher.push_at(event, now));
        out.extend(batcher.take_if_full());
    }
    out.extend(batcher.take());
    out
}

fn lines(batch: &Batch) -> Vec<String> {
    let ndjson = batch.ndjson().unwrap();
    String::from_utf8(ndjson.to_vec())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn closes_on_max_events_as_soon_as_full() {
    let mut batcher = Batcher::new(limits(3, 1 << 20), Compression::None);
    let now = Instant::now();
    assert!(batcher.push_at(event(1, 10, "{}"), now).is_none());
    assert!(batcher.push_at(event(2, 11, "{}"), now).is_none());
    let batch = batcher.push_at(event(3, 12, "{}"), now).unwrap();
    assert_eq!(batch.events, 3);
    assert_eq!(batch.seqs.iter().collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!((batch.first_time_ms, batch.last_time_ms), (10, 12));
    assert_eq!(&batch.body[..], b"{}\n{}\n{}\n");
    assert!(batcher.is_empty());
}

#[test]
fn byte_limit_counts_the_newline() {
    // Each event costs 10 bytes ("{\"a\":1234}" is 10 + '\n' = 11). Two fit in 22, not in 21.
    let json = r#"{"a":1234}"#;
    assert_eq!(json.len(), 10);
    let mut batcher = Batcher::new(limits(100, 21), Compression::None);
    let now = Instant::now();
    assert!(batcher.push_at(event(1, 0, json), now).is_none());
    let batch = batcher.push_at(event(2, 0, json), now).unwrap();
    assert_eq!((batch.events, batch.raw_bytes), (1, 11));
    assert_eq!(batcher.buffered_events(), 1);

    let mut exact = Batcher::new(limits(100, 22), Compression::None);
    assert!(exact.push_at(event(1, 0, json), now).is_none());
    let batch = exact.push_at(event(2, 0, json), now).unwrap();
    assert_eq!(
        (batch.events, batch.raw_bytes, batch.body.len()),
        (2, 22, 22)
    );
}

#[test]
fn oversized_event_goes_alone_and_is_not_dropped() {
    let big = format!(r#"{{"x":"{}"}}"#, "y".repeat(100));
    let mut batcher = Batcher::new(limits(100, 50), Compression::None);
    let now = Instant::now();
    assert!(batcher.push_at(event(1, 0, "{}"), now).is_none());
    // The small open batch is closed; the big event opens (and fills) the next one.
    let first = batcher.push_at(event(2, 0, &big), now).unwrap();
    assert_eq!(first.events, 1);
    assert_eq!(lines(&first), vec!["{}"]);
    let alone = batcher.take_if_full().unwrap();
    assert_eq!(alone.events, 1);
    assert_eq!(alone.raw_bytes, big.len() + 1);
    assert_eq!(lines(&alone), vec![big.clone()]);
    // On an empty batcher the oversized event comes straight back.
    let again = batcher.push_at(event(3, 0, &big), now).unwrap();
    assert_eq!(again.seqs.iter().collect::<Vec<_>>(), vec![3]);
}

#[test]
fn closes_on_age_from_the_first_event() {
    let mut batcher = Batcher::new(limits(100, 1 << 20), Compression::None);
    let t0 = Instant::now();
    assert_eq!(batcher.deadline(), None);
    assert!(batcher
        .take_if_older(t0 + Duration::from_secs(100))
        .is_none());
    batcher.push_at(event(1, 0, "{}"), t0);
    batcher.push_at(event(2, 0, "{}"), t0 + Duration::from_secs(9));
    assert_eq!(batcher.deadline(), Some(t0 + Duration::from_secs(10)));
    assert!(batcher
        .take_if_older(t0 + Duration::from_millis(9_999))
        .is_none());
    let batch = batcher.take_if_older(t0 + Duration::from_secs(10)).unwrap();
    assert_eq!(batch.events, 2);
    assert_eq!(batcher.deadline(), None);
}

#[test]
fn gzip_body_decodes_to_exactly_the_pushed_lines() {
    let mut batcher = Batcher::new(limits(1000, 1 << 20), Compression::Gzip { level: 6 });
    let now = Instant::now();
    let pushed: Vec<String> = (0..200)
        .map(|i| format!(r#"{{"seq":{i},"msg":"audit event number {i}"}}"#))
        .collect();
    for (i, json) in pushed.iter().enumerate() {
        assert!(batcher.push_at(event(i as u64, 0, json), now).is_none());
    }
    let batch = batcher.take().unwrap();
    assert_eq!(batch.compression, Compression::Gzip { level: 6 });
    assert_eq!(&batch.body[..2], &[0x1f, 0x8b], "gzip magic");
    assert!(batch.body.len() < batch.raw_bytes / 3, "should compress");
    let expected: usize = pushed.iter().map(|l| l.len() + 1).sum();
    assert_eq!(batch.raw_bytes, expected);
    assert_eq!(lines(&batch), pushed);
}

#[test]
fn zero_limits_are_treated_as_one() {
    let mut batcher = Batcher::new(limits(0, 0), Compression::None);
    assert_eq!(
        (batcher.limits().max_events, batcher.limits().max_bytes),
        (1, 1)
    );
    let batch = batcher.push_at(event(1, 0, "{}"), Instant::now()).unwrap();
    assert_eq!(batch.events, 1);
}

#[test]
fn cloudwatch_like_constraints_count_overhead_and_span() {
    let constraints = SinkConstraints {
        max_events: Some(10_000),
        max_bytes: Some(100),
        max_time_span: Some(Duration::from_secs(24 * 3600)),
        framing: Framing::Records {
            overhead_per_event: 26,
        },
    };
    let mut batcher =
        Batcher::with_constraints(BatchLimits::default(), Compression::gzip(), &constraints);
    assert_eq!(batcher.limits().max_bytes, 100);
    let now = Instant::now();
    // 24 + 26 = 50 per event: two fit exactly, the third does not.
    let json = "x".repeat(24);
    assert!(batcher.push_at(event(1, 0, &json), now).is_none());
    let batch = batcher.push_at(event(2, 5, &json), now).unwrap();
    assert_eq!((batch.events, batch.raw_bytes), (2, 100));
    assert!(batch.body.is_empty());
    assert_eq!(batch.records.len(), 2);
    assert_eq!(batch.ndjson().unwrap().len(), 2 * 25);

    // Span: an event more than 24 h before the earliest closes the batch.
    let day_ms = 24 * 3600 * 1000;
    assert!(batcher.push_at(event(3, day_ms, "{}"), now).is_none());
    assert!(batcher.push_at(event(4, 0, "{}"), now).is_none()); // exactly 24 h: fits
    let batch = batcher.push_at(event(5, -1, "{}"), now).unwrap();
    assert_eq!(batch.seqs.iter().collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!((batch.min_time_ms, batch.max_time_ms), (0, day_ms));
    assert_eq!((batch.first_time_ms, batch.last_time_ms), (day_ms, 0));
}

fn arb_events() -> impl Strategy<Value = Vec<(String, i64)>> {
    proptest::collection::vec(("[ -~]{0,60}", -5_000i64..5_000), 0..80)
}

fn arb_compression() -> impl Strategy<Value = Compression> {
    prop_oneof![
        Just(Compression::None),
        (0u32..=12).prop_map(|level| Compression::Gzip { level }),
    ]
}

fn arb_constraints() -> impl Strategy<Value = SinkConstraints> {
    (
        proptest::option::of(1usize..10),
        proptest::option::of(0u64..3_000),
        prop_oneof![
            Just(Framing::Ndjson),
            (0usize..30).prop_map(|overhead_per_event| Framing::Records { overhead_per_event }),
        ],
    )
        .prop_map(|(max_events, span_ms, framing)| SinkConstraints {
            max_events,
            max_bytes: None,
            max_time_span: span_ms.map(Duration::from_millis),
            framing,
        })
}

proptest! {
    #[test]
    fn batches_partition_the_input_in_order_within_limits(
        input in arb_events(),
        max_events in 0usize..12,
        max_bytes in 0usize..400,
        compression in arb_compression(),
        constraints in arb_constraints(),
    ) {
        let events: Vec<EncodedEvent> = input
            .iter()
            .enumerate()
            .map(|(i, (json, time))| event(i as u64 * 2 + 7, *time, json))
            .collect();
        let mut batcher = Batcher::with_constraints(limits(max_events, max_bytes), compression, &constraints);
        let effective = batcher.limits();
        let batches = run_batcher(&mut batcher, events.clone(), Instant::now());

        let mut seqs = Vec::new();
        let mut decoded = Vec::new();
        for batch in &batches {
            prop_assert!(batch.events >= 1);
            prop_assert_eq!(batch.seqs.len(), batch.events as u64);
            prop_assert!(batch.events <= effective.max_events);
            prop_assert!(batch.raw_bytes <= effective.max_bytes || batch.events == 1,
                "batch of {} events has {} bytes > {}", batch.events, batch.raw_bytes, effective.max_bytes);
            let own: Vec<&EncodedEvent> = events.iter().filter(|e| batch.seqs.contains(e.seq)).collect();
            let cost: usize = own.iter().map(|e| constraints.framing.event_cost(e.json.len())).sum();
            prop_assert_eq!(batch.raw_bytes, cost);
            prop_assert_eq!(batch.first_time_ms, own[0].time_ms);
            prop_assert_eq!(batch.last_time_ms, own[own.len() - 1].time_ms);
            if let Some(span) = constraints.max_time_span {
                prop_assert!((batch.max_time_ms - batch.min_time_ms) as u128 <= span.as_millis() || batch.events == 1);
            }
            let ndjson = batch.ndjson().unwrap();
            if constraints.framing == Framing::Ndjson {
                prop_assert_eq!(ndjson.len(), batch.raw_bytes);
            }
            seqs.extend(batch.seqs.iter());
            decoded.extend_from_slice(&ndjson);
        }
        prop_assert_eq!(seqs, events.iter().map(|e| e.seq).collect::<Vec<_>>());
        let expected: Vec<u8> = events.iter().flat_map(|e| e.json.iter().copied().chain([b'\n'])).collect();
        prop_assert_eq!(decoded, expected);
    }
}
