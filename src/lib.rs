//! auditrail: tails auditd and syslog, parses, coalesces, correlates and enriches events, and ships
//! them in batches to sinks, checkpointing input offsets only after every sink accepted them.
//!
//! The binary (`src/main.rs`) is thin glue over these modules; `pipeline` shows the whole flow.

pub mod checkpoint;
pub mod coalesce;
pub mod parse_cmd;
pub mod source;
pub mod workload;
