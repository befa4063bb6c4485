//! [`truncate_event`]: shortens an event too large for its destination's record limit into a
//! valid, smaller JSON object that says it was truncated.
//!
//! Enters: one event's JSON (any bytes) and a byte budget. Leaves: a JSON object of at most
//! `max_len` bytes (for `max_len >= MIN_TRUNCATED_LEN`) keeping the event's `id`, `kind`,
//! `time`, `source` and `host`, the marker `"auditrail_truncated": {"original_bytes": N}`, and as
//! much of the original JSON as fits, as the string `json_prefix`. Guarantees: never panics,
//! output is valid JSON without raw newlines, and it is never larger than the budget.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Smallest budget for which the marker alone always fits.
pub(crate) const MIN_TRUNCATED_LEN: usize = 128;

/// The top-level fields a truncated event keeps.
#[derive(Deserialize, Default)]
struct Head {
    id: Option<Value>,
    kind: Option<Value>,
    time: Option<Value>,
    source: Option<Value>,
    host: Option<Value>,
}

/// `json` shortened to at most `max_len` bytes (see the module docs).
pub(crate) fn truncate_event(json: &[u8], max_len: usize) -> Vec<u8> {
    let max_len = max_len.max(MIN_TRUNCATED_LEN);
    let head: Head = serde_json::from_slice(json).unwrap_or_default();
    let mut object = Map::new();
    for (key, value) in [
        ("id", head.id),
        ("kind", head.kind),
        ("time", head.time),
        ("source", head.source),
        ("host", head.host),
    ] {
        if let Some(value) = value {
            object.insert(key.to_owned(), value);
        }
    }
    let marker = serde_json::json!({ "original_bytes": json.len() });
    object.insert("auditrail_truncated".to_owned(), marker.clone());
    let mut out = serde_json::to_vec(&object).unwrap_or_default();
    if out.len() + r#","json_prefix":""}"#.len() > max_len {
        // Huge identifying fields: keep the marker alone.
        let mut bare = Map::new();
        bare.insert("auditrail_truncated".to_owned(), marker);
        out = serde_json::to_vec(&bare).unwrap_or_default();
        return out;
    }
    out.pop(); // the closing '}'
    out.extend_from_slice(br#","json_prefix":""#);
    let budget = max_len - out.len() - 2; // room for `"}`
    let text = String::from_utf8_lossy(json);
    let mut used = 0;
    let mut escaped = [0u8; 6];
    for ch in text.chars() {
        let piece: &[u8] = match ch {
            '"' => br#"\""#,
            '\\' => br"\\",
            '\n' => br"\n",
            '\r' => br"\r",
            '\t' => br"\t",
            c if (c as u32) < 0x20 => {
                let hex = format!("\\u{:04x}", c as u32);
                escaped.copy_from_slice(hex.as_bytes());
                &escaped
            }
            c => c.encode_utf8(&mut escaped).as_bytes(),
        };
        if used + piece.len() > budget {
            break;
        }
        used += piece.len();
        out.extend_from_slice(piece);
    }
    out.extend_from_slice(b"\"}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_identity_marker_and_a_prefix() {
        let big = format!(
            r#"{{"id":"abc","kind":"audit","time":"2026-11-25T10:00:00.000Z","source":"audit","host":{{"name":"h"}},"raw":["{}"]}}"#,
            "x".repeat(5_000)
        );
        let out = truncate_event(big.as_bytes(), 1_000);
        assert!(out.len() <= 1_000, "{}", out.len());
        assert!(out.len() > 900, "the budget is used: {}", out.len());
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["id"], "abc");
        assert_eq!(v["host"]["name"], "h");
        assert_eq!(v["auditrail_truncated"]["original_bytes"], big.len());
        assert!(big.starts_with(v["json_prefix"].as_str().unwrap()));
    }

    proptest! {
        #[test]
        fn output_is_valid_json_within_budget(
            json in proptest::collection::vec(any::<u8>(), 0..3_000),
            max_len in 0usize..2_000,
        ) {
            let out = truncate_event(&json, max_len);
            prop_assert!(out.len() <= max_len.max(MIN_TRUNCATED_LEN));
            prop_assert!(!out.contains(&b'\n'));
            let v: Value = serde_json::from_slice(&out).unwrap();
            prop_assert_eq!(&v["auditrail_truncated"]["original_bytes"], &Value::from(json.len()));
        }
    }
}
