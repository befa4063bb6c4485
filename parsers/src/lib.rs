//! Pure parsers for everything auditrail reads: auditd records (RAW and ENRICHED), EXECVE and
//! PROCTITLE argument vectors, syslog lines (RFC 3164 as rsyslog writes files, RFC 5424), bash
//! history lines and PreToolUse hook verdicts.
//!
//! Bytes in, typed records out, no I/O. Every parser returns a [`ParseError`] instead of
//! panicking, runs in time linear in its input, and keeps non-UTF-8 bytes intact.
//!
//! ```
//! use auditrail_parsers::audit;
//! let line = b"type=CWD msg=audit(1700000000.123:42): cwd=\"/tmp\"";
//! let rec = audit::parse_record(line).unwrap();
//! assert_eq!(rec.header.serial, 42);
//! assert_eq!(rec.body.text_of(b"cwd").as_deref(), Some(&b"/tmp"[..]));
//! ```

pub mod audit;
pub mod error;
pub mod event;
pub mod execve;
pub mod hex;
pub mod history;
pub mod hook;
pub mod proctitle;
pub mod syslog;

pub use error::ParseError;
