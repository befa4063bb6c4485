//! Fuzz target: PROCTITLE values, given directly as bare and quoted values and through a whole
//! `type=PROCTITLE` record. Decoding never panics and never grows its input.
#![no_main]

use auditrail_parsers::audit::{parse_record, Value};
use auditrail_parsers::proctitle::{parse_proctitle, split_nul_joined};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for value in [Value::Bare(data), Value::Quoted(data)] {
        let title = parse_proctitle(&value);
        let decoded: usize = title.argv.iter().map(Vec::len).sum();
        assert!(decoded <= data.len());
    }
    let _ = split_nul_joined(data);
    let line = [
        b"type=PROCTITLE msg=audit(1795383371.760:4195): proctitle=".as_slice(),
        data,
    ]
    .concat();
    if let Ok(record) = parse_record(&line) {
        if let Some(value) = record.body.get(b"proctitle") {
            let _ = parse_proctitle(value);
        }
    }
});
