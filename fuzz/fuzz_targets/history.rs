//! Fuzz target: bash history lines. The input is tried as a whole syslog line and as the message
//! of a `bash[PID]:` line (so that the fuzzer reaches the history formats quickly), then
//! `parse_history` runs on whatever parsed. Must never panic.
#![no_main]

use auditrail_parsers::history::parse_history;
use auditrail_parsers::syslog::parse_syslog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let as_message = [b"Nov 22 21:36:11 vm bash[18199]: ".as_slice(), data].concat();
    for line in [data, as_message.as_slice()] {
        if let Ok(msg) = parse_syslog(line) {
            if let Some(entry) = parse_history(&msg) {
                assert!(entry.raw_command.len() <= line.len());
            }
        }
    }
});
