//! Fuzz target: EXECVE bodies. Each input line becomes the body of an EXECVE record (a header is
//! put in front of lines that lack one), and all of them are reassembled by one `ArgvBuilder`,
//! as the records of one event would be. Must never panic; the result must be self-consistent.
#![no_main]

use auditrail_parsers::audit::parse_record;
use auditrail_parsers::execve::{shell_quote, ArgvBuilder};
use libfuzzer_sys::fuzz_target;

const HEADER: &[u8] = b"type=EXECVE msg=audit(1795383371.760:4195): ";

fuzz_target!(|data: &[u8]| {
    let lines: Vec<Vec<u8>> = data
        .split(|&b| b == b'\n')
        .map(|body| {
            if body.starts_with(b"type=") {
                body.to_vec()
            } else {
                [HEADER, body].concat()
            }
        })
        .collect();
    let mut builder = ArgvBuilder::new();
    for line in &lines {
        if let Ok(record) = parse_record(line) {
            let _ = builder.push(&record.body);
        }
    }
    let argv = builder.finish();
    if argv.complete {
        if let Some(argc) = argv.argc {
            assert_eq!(argc as usize, argv.args.len());
        }
    }
    let _ = shell_quote(&argv.args);
});
