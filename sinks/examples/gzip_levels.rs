//! Measures gzip levels on a realistic NDJSON batch: the corpus's real audit records turned into
//! one JSON object per record (the fields as key/value strings), repeated with fresh seqs and
//! times up to a 10 MiB batch, pushed through the [`Batcher`] exactly as `run_sink` does.
//!
//! Run: `cargo run --release -p auditrail-sinks --example gzip_levels` (debug builds measure the
//! unoptimised compressor and mean nothing). Prints size ratio and MB/s of uncompressed input.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant as StdInstant};

use auditrail_sinks::{BatchLimits, Batcher, Compression, EncodedEvent};
use serde_json::{json, Map, Value};

const BATCH_BYTES: usize = 10 * 1024 * 1024;

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let records = audit_lines(&corpus);
    if records.is_empty() {
        println!("skipped: no audit records under {}", corpus.display());
        return;
    }
    let events = events(&records);
    let raw: usize = events.iter().map(|e| e.json.len() + 1).sum();
    println!(
        "{} distinct audit lines, {} events, {:.1} MiB NDJSON, {:.0} bytes/event",
        records.len(),
        events.len(),
        raw as f64 / 1048576.0,
        raw as f64 / events.len() as f64
    );
    for level in [1, 6, 9] {
        let mut best = Duration::MAX;
        let mut size = 0;
        for _ in 0..3 {
            let start = StdInstant::now();
            let mut batcher = Batcher::new(
                BatchLimits {
                    max_events: usize::MAX,
                    max_bytes: usize::MAX,
                    max_age: Duration::from_secs(3600),
                },
                Compression::Gzip { level },
            );
            for event in events.iter().cloned() {
                let _ = batcher.push(event);
            }
            let batch = batcher.take().expect("one batch");
            best = best.min(start.elapsed());
            size = batch.body.len();
        }
        println!(
            "gzip level {level}: {:>9} bytes, ratio {:5.1}x, {:6.1} MB/s (best of 3)",
            size,
            raw as f64 / size as f64,
            raw as f64 / 1e6 / best.as_secs_f64()
        );
    }
}

/// Every audit record line of the corpus files (`type=` or `node=` lines).
fn audit_lines(corpus: &Path) -> Vec<String> {
    let mut files = Vec::new();
    collect_files(corpus, &mut files);
    files.sort();
    let mut lines = Vec::new();
    for file in files {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        lines.extend(
            text.lines()
                .filter(|l| l.starts_with("type=") || l.starts_with("node="))
                .map(str::to_owned),
        );
    }
    lines
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// JSON events from the records, cycling through them until the batch is full.
fn events(records: &[String]) -> Vec<EncodedEvent> {
    let mut events = Vec::new();
    let mut bytes = 0;
    let mut seq = 0u64;
    let start_ms = 1_795_603_675_123i64;
    while bytes < BATCH_BYTES {
        let line = &records[seq as usize % records.len()];
        let mut fields = Map::new();
        for token in line.split_whitespace() {
            if let Some((key, value)) = token.split_once('=') {
                fields.insert(
                    key.to_owned(),
                    Value::String(value.trim_matches('"').to_owned()),
                );
            }
        }
        let time_ms = start_ms + (seq as i64) * 7;
        let object = json!({
            "seq": seq,
            "time": auditrail_sinks::basic_utc_timestamp(time_ms),
            "host": "ip-10-0-12-34.eu-west-1.compute.internal",
            "record_type": fields.get("type").cloned().unwrap_or(Value::Null),
            "fields": fields,
        });
        let json = serde_json::to_vec(&object).expect("serialisable");
        bytes += json.len() + 1;
        events.push(EncodedEvent {
            seq,
            time_ms,
            json: json.into(),
        });
        seq += 1;
    }
    events
}
