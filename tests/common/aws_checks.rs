//! The checks and rewrites of tests/common/aws_proxy.rs: what a Firehose or CloudWatch call
//! carries ([`Item`]s), its violations of the documented AWS limits, and the request/answer
//! rewrites that inject partial failures and rejections.
#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Read;

use base64::Engine;
use serde_json::{json, Value};

use crate::aws_proxy::{Fault, Item};

/// Documented limits (Firehose PutRecordBatch, CloudWatch PutLogEvents).
const FIREHOSE_MAX_RECORDS: usize = 500;
const FIREHOSE_MAX_RECORD_BYTES: usize = 1_000 * 1024;
const FIREHOSE_MAX_CALL_BYTES: usize = 4 * 1024 * 1024;
const LOGS_MAX_EVENTS: usize = 10_000;
const LOGS_MAX_BYTES: usize = 1_048_576;
const LOGS_EVENT_OVERHEAD: usize = 26;
const LOGS_MAX_SPAN_MS: i64 = 24 * 3600 * 1000;

pub fn hash_of(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// An item of the events in NDJSON `text` (each line an object with `id`).
pub fn item_of(data: &[u8], text: &str) -> Item {
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    Item {
        hash: hash_of(data),
        ids: events
            .iter()
            .filter_map(|v| v["id"].as_str().map(str::to_owned))
            .collect(),
        serials: events
            .iter()
            .filter_map(|v| v["audit"]["serial"].as_u64())
            .collect(),
        refused: false,
    }
}

/// A Firehose record's NDJSON text (gunzipped if gzip); violations for broken records.
pub fn record_text(data: &[u8], violations: &mut Vec<String>) -> String {
    let mut text = String::new();
    if data.starts_with(&[0x1f, 0x8b]) {
        if let Err(e) = flate2::read::MultiGzDecoder::new(data).read_to_string(&mut text) {
            violations.push(format!("record is not valid gzip: {e}"));
        }
    } else {
        text = String::from_utf8_lossy(data).into_owned();
    }
    if !text.ends_with('\n')
        || text
            .lines()
            .any(|l| serde_json::from_str::<Value>(l).is_err())
    {
        violations.push("record does not hold complete NDJSON lines".into());
    }
    text
}

/// The call's items and any limit violations.
pub fn inspect(op: &str, json: &Value) -> (Vec<Item>, Vec<String>) {
    let mut violations = Vec::new();
    let mut items = Vec::new();
    match op {
        "PutRecordBatch" => {
            let records = json["Records"].as_array().cloned().unwrap_or_default();
            if records.is_empty() || records.len() > FIREHOSE_MAX_RECORDS {
                violations.push(format!(
                    "{} records (1..={FIREHOSE_MAX_RECORDS})",
                    records.len()
                ));
            }
            let mut total = 0;
            for record in &records {
                let encoded = record["Data"].as_str().unwrap_or("");
                let data = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .unwrap_or_else(|e| {
                        violations.push(format!("bad base64: {e}"));
                        Vec::new()
                    });
                if data.len() > FIREHOSE_MAX_RECORD_BYTES {
                    violations.push(format!("record of {} bytes", data.len()));
                }
                total += data.len();
                let text = record_text(&data, &mut violations);
                items.push(item_of(&data, &text));
            }
            if total > FIREHOSE_MAX_CALL_BYTES {
                violations.push(format!("{total} bytes in one call"));
            }
        }
        "PutLogEvents" => {
            let events = json["logEvents"].as_array().cloned().unwrap_or_default();
            if events.is_empty() || events.len() > LOGS_MAX_EVENTS {
                violations.push(format!("{} events (1..={LOGS_MAX_EVENTS})", events.len()));
            }
            if json.get("sequenceToken").is_some() {
                violations.push("sequenceToken sent (obsolete)".into());
            }
            let mut bytes = 0;
            let times: Vec<i64> = events
                .iter()
                .map(|e| e["timestamp"].as_i64().unwrap_or(0))
                .collect();
            for event in &events {
                let message = event["message"].as_str().unwrap_or("");
                bytes += message.len() + LOGS_EVENT_OVERHEAD;
                items.push(item_of(message.as_bytes(), message));
            }
            if bytes > LOGS_MAX_BYTES {
                violations.push(format!("{bytes} bytes counting 26 per event"));
            }
            if times.windows(2).any(|w| w[0] > w[1]) {
                violations.push("events not sorted by timestamp".into());
            }
            if let (Some(min), Some(max)) = (times.iter().min(), times.iter().max()) {
                if max - min > LOGS_MAX_SPAN_MS {
                    violations.push(format!("batch spans {} ms", max - min));
                }
            }
        }
        _ => {}
    }
    (items, violations)
}

/// The request body without the refused items (None: forward as is).
pub fn rewrite_request(op: &str, json: &Value, refused: &[bool]) -> Option<Vec<u8>> {
    if !refused.iter().any(|&r| r) {
        return None;
    }
    let key = if op == "PutRecordBatch" {
        "Records"
    } else {
        "logEvents"
    };
    let mut json = json.clone();
    let kept: Vec<Value> = json[key]
        .as_array()?
        .iter()
        .zip(refused)
        .filter(|(_, &r)| !r)
        .map(|(v, _)| v.clone())
        .collect();
    json[key] = Value::Array(kept);
    serde_json::to_vec(&json).ok()
}

/// moto's success answer rewritten to report the refused items.
pub fn rewrite_response(fault: &Option<Fault>, refused: &[bool], moto: &[u8]) -> Option<Vec<u8>> {
    let mut json: Value = serde_json::from_slice(moto).ok()?;
    match fault {
        Some(Fault::Partial { .. }) => {
            let mut accepted = json["RequestResponses"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter();
            let responses: Vec<Value> = refused
                .iter()
                .map(|&r| {
                    if r {
                        json!({"ErrorCode": "ServiceUnavailableException",
                               "ErrorMessage": "injected partial failure"})
                    } else {
                        accepted.next().unwrap_or(json!({"RecordId": "missing"}))
                    }
                })
                .collect();
            json["FailedPutCount"] = json!(refused.iter().filter(|&&r| r).count());
            json["Encrypted"] = json!(false);
            json["RequestResponses"] = Value::Array(responses);
        }
        Some(Fault::Reject { too_old, too_new }) => {
            let mut info = serde_json::Map::new();
            if *too_old > 0 {
                info.insert("tooOldLogEventEndIndex".into(), json!(too_old));
            }
            if *too_new > 0 {
                let start = refused.len().saturating_sub(*too_new).max(*too_old);
                info.insert("tooNewLogEventStartIndex".into(), json!(start));
            }
            json["rejectedLogEventsInfo"] = Value::Object(info);
        }
        _ => return None,
    }
    serde_json::to_vec(&json).ok()
}
