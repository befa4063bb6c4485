//! Fuzz target: hook verdict lines and hook payloads (JSON). Parsing never panics, and a verdict
//! that parses survives a serialize/parse round trip unchanged.
#![no_main]

use auditrail_parsers::hook::{parse_hook_payload, parse_hook_verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(verdict) = parse_hook_verdict(data) {
        let _ = verdict.time_epoch_millis();
        if let Ok(json) = serde_json::to_vec(&verdict) {
            let again = parse_hook_verdict(&json).expect("a serialized verdict parses");
            assert_eq!(again, verdict);
        }
    }
    if let Ok(payload) = parse_hook_payload(data) {
        let _ = payload.event();
    }
});
