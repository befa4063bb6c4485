//! Which fields of an [`Event`] are redacted, and how their `_hex` siblings follow.
//!
//! In: an enriched, correlated event. Out: the same event with secrets replaced in every field
//! that can carry command text (listed in `docs/schema.md`, "Secret redaction"), and the kinds
//! replaced in `event.redacted`. A `_hex` sibling of a redacted text (the exact bytes of a
//! non-UTF-8 value) is replaced by the hex of the redacted text: the secret must not survive in
//! hex, and the exact bytes of that one value are given up.

use std::sync::Arc;

use auditrail_parsers::event::{AuditEvent, FieldMap};
use auditrail_parsers::execve::shell_quote;

use super::{hex_upper, Redactor};
use crate::event::Event;

impl Redactor {
    /// Redacts every command-bearing field of `ev` and records the kinds in `ev.redacted`.
    pub fn redact_event(&self, ev: &mut Event) {
        if !self.is_enabled() {
            return;
        }
        let mut kinds = std::mem::take(&mut ev.redacted);
        if let Some(audit) = &mut ev.audit {
            self.redact_audit(audit, &mut kinds);
        }
        if let Some(h) = &mut ev.history {
            if self.redact_in_place(&mut h.command, &mut kinds) {
                if let Some(hex) = &mut h.command_hex {
                    *hex = hex_upper(&h.command);
                }
            }
        }
        if let Some(s) = &mut ev.syslog {
            if self.redact_in_place(&mut s.message, &mut kinds) {
                if let Some(hex) = &mut s.message_hex {
                    *hex = hex_upper(&s.message);
                }
            }
        }
        if let Some(h) = &mut ev.hook {
            if let Some(c) = &mut h.command {
                self.redact_in_place(c, &mut kinds);
            }
            if let Some(r) = &mut h.reason {
                self.redact_in_place(r, &mut kinds);
            }
        }
        self.redact_correlated(ev, &mut kinds);
        for line in &mut ev.raw {
            self.redact_raw_line(line, &mut kinds);
        }
        if let Some(e) = &mut ev.error {
            self.redact_in_place(&mut e.message, &mut kinds);
        }
        for alert in &mut ev.alerts {
            self.redact_in_place(&mut alert.summary, &mut kinds);
        }
        ev.redacted = kinds;
    }

    /// The correlator's copies of command text: `process.args`/`command_line`, the parent's and
    /// ancestors' command lines, the agent's decision reasons.
    fn redact_correlated(&self, ev: &mut Event, kinds: &mut Vec<Arc<str>>) {
        if let Some(p) = &mut ev.process {
            if !self.redact_words(&mut p.args, kinds).is_empty() {
                let argv: Vec<Vec<u8>> = p.args.iter().map(|a| a.as_bytes().to_vec()).collect();
                p.command_line = Some(shell_quote(&argv));
            }
            if let Some(c) = &mut p.command_line {
                self.redact_in_place(c, kinds);
            }
        }
        let refs = ev.parent.iter_mut().chain(ev.ancestry.iter_mut().flatten());
        for r in refs {
            if let Some(c) = &mut r.command_line {
                self.redact_in_place(c, kinds);
            }
        }
        if let Some(a) = &mut ev.agent {
            for d in &mut a.decisions {
                if let Some(r) = &mut d.reason {
                    self.redact_in_place(r, kinds);
                }
            }
        }
    }

    fn redact_audit(&self, audit: &mut AuditEvent, kinds: &mut Vec<Arc<str>>) {
        if let Some(x) = &mut audit.execve {
            let changed = self.redact_words(&mut x.args, kinds);
            if !changed.is_empty() {
                if let Some(hex) = &mut x.args_hex {
                    for i in changed {
                        if let (Some(h), Some(a)) = (hex.get_mut(i), x.args.get(i)) {
                            *h = hex_upper(a);
                        }
                    }
                }
                let argv: Vec<Vec<u8>> = x.args.iter().map(|a| a.as_bytes().to_vec()).collect();
                x.command_line = shell_quote(&argv);
            }
        }
        if let Some(p) = &mut audit.proctitle {
            let changed = self.redact_words(&mut p.argv, kinds);
            if let Some(hex) = &mut p.argv_hex {
                for i in changed {
                    if let (Some(h), Some(a)) = (hex.get_mut(i), p.argv.get(i)) {
                        *h = hex_upper(a);
                    }
                }
            }
        }
        for other in &mut audit.other {
            self.redact_field_map(&mut other.fields, kinds);
            if let Some(t) = &mut other.text {
                if self.redact_in_place(t, kinds) {
                    if let Some(hex) = &mut other.text_hex {
                        *hex = hex_upper(t);
                    }
                }
            }
        }
    }

    /// Every text value of a generic record (`USER_CMD`'s `cmd`, free text `msg` …).
    fn redact_field_map(&self, map: &mut FieldMap, kinds: &mut Vec<Arc<str>>) {
        let mut changed = Vec::new();
        for (key, value) in map.0.iter_mut() {
            if key.ends_with("_hex") {
                continue;
            }
            if let serde_json::Value::String(s) = value {
                if self.redact_in_place(s, kinds) {
                    changed.push((format!("{key}_hex"), hex_upper(s)));
                }
            }
        }
        for (hex_key, hex) in changed {
            if let Some(v) = map.0.get_mut(&hex_key) {
                *v = serde_json::Value::String(hex);
            }
        }
    }

    /// A raw input line: its text, and every `key=HEX` value (audit's encoding of arguments and
    /// titles with spaces or quotes), decoded, redacted and encoded again.
    pub fn redact_raw_line(&self, line: &mut String, kinds: &mut Vec<Arc<str>>) {
        self.redact_in_place(line, kinds);
        let mut out: Option<String> = None;
        let mut at = 0;
        let bytes = line.as_bytes();
        for eq in memchr::memchr_iter(b'=', bytes) {
            let start = eq + 1;
            if start < at {
                continue;
            }
            let len = bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b))
                .count();
            let end = start + len;
            let delimited = bytes.get(end).is_none_or(|b| b.is_ascii_whitespace());
            if len < 8 || len % 2 != 0 || !delimited {
                continue;
            }
            let Some(decoded) = decode_hex(&line[start..end]) else {
                continue;
            };
            let text = String::from_utf8_lossy(&decoded);
            if let Some(redacted) = self.redact(&text, kinds) {
                let o = out.get_or_insert_with(|| String::with_capacity(line.len()));
                o.push_str(&line[at..start]);
                o.push_str(&hex_upper(&redacted));
                at = end;
            }
        }
        if let Some(mut o) = out {
            o.push_str(&line[at..]);
            *line = o;
        }
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    hex.as_bytes()
        .chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}
