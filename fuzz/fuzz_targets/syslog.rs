//! Fuzz target: syslog lines (RFC 3164 as rsyslog writes files, RSYSLOG_FileFormat, RFC 5424).
//! `parse_syslog` and `unescape_rsyslog` never panic; a parsed message borrows from the line.
#![no_main]

use auditrail_parsers::syslog::{parse_syslog, unescape_rsyslog};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        if let Ok(msg) = parse_syslog(line) {
            assert!(msg.message.len() <= line.len());
            let unescaped = unescape_rsyslog(msg.message);
            assert!(unescaped.len() <= msg.message.len());
            if let Some(ts) = &msg.timestamp {
                let _ = format!("{ts:?}");
            }
        }
    }
    let _ = unescape_rsyslog(data);
});
