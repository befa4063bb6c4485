//! Fuzz target: any bytes as audit.log lines. Every line goes through `parse_header` and
//! `parse_record` (and every field's text decoding); all lines together through
//! `build_event_from_lines`. Must never panic, whatever the input.
#![no_main]

use auditrail_parsers::audit::{parse_header, parse_record, Body, Value};
use auditrail_parsers::event::build_event_from_lines;
use libfuzzer_sys::fuzz_target;

fn touch_body(body: &Body) {
    for field in body.fields.iter().chain(&body.enriched) {
        let _ = field.value.text(field.key);
        let _ = field.value.as_u64();
        let _ = field.value.as_i64();
        if let Value::Nested(inner) = &field.value {
            touch_body(inner);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    for line in &lines {
        let header = parse_header(line);
        if let Ok(record) = parse_record(line) {
            // Both parsers agree on the header of a line they both accept.
            assert_eq!(header.as_ref().ok(), Some(&record.header));
            let _ = record.header.rtype.to_name();
            touch_body(&record.body);
        }
    }
    let (event, _errors) = build_event_from_lines(&lines);
    let _ = format!("{event:?}");
});
