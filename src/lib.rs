//! auditrail: tails auditd and syslog, parses, coalesces, correlates and enriches events, and ships
//! them in batches to sinks, checkpointing input offsets only after every sink accepted them.
//!
//! The binary (`src/main.rs`) is thin glue over these modules; [`pipeline`] shows the whole flow:
//! [`source`] → [`process`] (parse, [`coalesce`], build [`event`]s) → sinks (`auditrail-sinks`) →
//! [`acks`] → [`checkpoint`].

pub mod acks;
pub mod alerts;
pub mod checkpoint;
pub mod coalesce;
pub mod config;
pub mod correlate;
pub mod enrich;
pub mod event;
pub mod hook_cmd;
pub mod parse_cmd;
pub mod pipeline;
pub mod process;
pub mod redact;
pub mod source;
pub mod systemd;
pub mod validate;
pub mod workload;
