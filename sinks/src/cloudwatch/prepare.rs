//! Turning a batch into `PutLogEvents` requests, and reading what CloudWatch rejected.
//!
//! Enters: a batch's events, the current time, name templates. Leaves: one [`StreamBatch`] per
//! (log group, log stream) — events sorted by timestamp, each at most
//! [`MAX_EVENT_BYTES`] (larger ones truncated with a marker) — plus the events filtered out
//! because CloudWatch would reject them (outside `[now − 14 d, now + 2 h)`, or older than the
//! group's retention). Guarantees: every event of the batch is either in exactly one stream batch
//! or counted as filtered with its reason; a stream batch of a batch that respected the call
//! limits (≤ 10,000 events, ≤ 1,048,576 bytes counting 26 per event, ≤ 24 h span) respects
//! them too, since it is a subset whose truncated events only shrank.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use crate::aws::truncate_event;
use crate::EncodedEvent;

/// CloudWatch's per-event overhead counted against the batch size.
pub const EVENT_OVERHEAD_BYTES: usize = 26;
/// CloudWatch's limit on one `PutLogEvents` call, overhead included.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// CloudWatch's limit on events per call.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// Largest message: one event alone must fit in a call.
pub const MAX_EVENT_BYTES: usize = MAX_BATCH_BYTES - EVENT_OVERHEAD_BYTES;
/// Events older than this (relative to now) are rejected as too old.
pub const MAX_AGE_MS: i64 = 14 * 24 * 3600 * 1000;
/// Events further in the future than this are rejected as too new.
pub const MAX_FUTURE_MS: i64 = 2 * 3600 * 1000;

/// The placeholders a log group or stream template may use.
pub const PLACEHOLDERS: [&str; 3] = ["{instance_id}", "{hostname}", "{source}"];

/// Values substituted into name templates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameValues {
    /// `{instance_id}`.
    pub instance_id: String,
    /// `{hostname}`.
    pub hostname: String,
}

/// The placeholders-like words in `template` that are not known placeholders.
pub(crate) fn unknown_placeholders(template: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        match after.find('}') {
            Some(close) => {
                let word = &after[..=close];
                if !PLACEHOLDERS.contains(&word) {
                    unknown.push(word.to_owned());
                }
                rest = &after[close + 1..];
            }
            None => {
                unknown.push(after.to_owned());
                break;
            }
        }
    }
    unknown
}

/// `template` with its placeholders replaced; characters CloudWatch does not allow in names
/// become `_` (`log_group` additionally restricts to `[A-Za-z0-9_./#-]`), the result is cut to
/// 512 bytes and never empty.
pub(crate) fn render(template: &str, values: &NameValues, source: &str, log_group: bool) -> String {
    let filled = template
        .replace("{instance_id}", &values.instance_id)
        .replace("{hostname}", &values.hostname)
        .replace("{source}", source);
    let mut name: String = filled
        .chars()
        .map(|c| {
            let allowed = if log_group {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | '#')
            } else {
                !matches!(c, ':' | '*') && !c.is_control()
            };
            if allowed {
                c
            } else {
                '_'
            }
        })
        .collect();
    while name.len() > 512 {
        name.pop();
    }
    if name.is_empty() {
        name.push('_');
    }
    name
}

/// One event ready for `PutLogEvents`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogEvent {
    pub seq: u64,
    pub timestamp_ms: i64,
    pub message: String,
}

impl LogEvent {
    /// Bytes CloudWatch counts for it.
    pub fn cost(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD_BYTES
    }
}

/// The events of one batch bound for one log stream, sorted by timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StreamBatch {
    pub log_group: String,
    pub log_stream: String,
    pub events: Vec<LogEvent>,
}

/// A batch split per stream, and what was filtered out.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    pub streams: Vec<StreamBatch>,
    /// Filtered events by reason (`too_old`, `too_new`, `expired`), as (seq, timestamp).
    pub filtered: BTreeMap<&'static str, Vec<(u64, i64)>>,
    pub truncated: u64,
}

/// Splits, filters, truncates and sorts `events` (see the module docs).
pub(crate) fn prepare(
    events: &[EncodedEvent],
    now_ms: i64,
    retention_days: Option<u32>,
    names: (&str, &str),
    values: &NameValues,
) -> Prepared {
    let (group_template, stream_template) = names;
    let per_source = group_template.contains("{source}") || stream_template.contains("{source}");
    let oldest_ok = now_ms.saturating_sub(MAX_AGE_MS);
    let retention_start = retention_days
        .map(|days| now_ms.saturating_sub(i64::from(days).saturating_mul(24 * 3600 * 1000)));
    let newest_ok = now_ms.saturating_add(MAX_FUTURE_MS);
    let mut prepared = Prepared::default();
    let mut streams: BTreeMap<(String, String), Vec<LogEvent>> = BTreeMap::new();
    for event in events {
        let reason = if event.time_ms < oldest_ok {
            Some("too_old")
        } else if retention_start.is_some_and(|start| event.time_ms < start) {
            Some("expired")
        } else if event.time_ms >= newest_ok {
            Some("too_new")
        } else {
            None
        };
        if let Some(reason) = reason {
            prepared
                .filtered
                .entry(reason)
                .or_default()
                .push((event.seq, event.time_ms));
            continue;
        }
        let source: Cow<'_, str> = if per_source {
            event_source(&event.json)
        } else {
            Cow::Borrowed("")
        };
        let key = (
            render(group_template, values, &source, true),
            render(stream_template, values, &source, false),
        );
        let json: Cow<'_, [u8]> = if event.json.len() > MAX_EVENT_BYTES {
            prepared.truncated += 1;
            Cow::Owned(truncate_event(&event.json, MAX_EVENT_BYTES))
        } else {
            Cow::Borrowed(&event.json)
        };
        let message = match String::from_utf8_lossy(&json) {
            Cow::Borrowed(text) => text.to_owned(),
            // Replacement characters can lengthen invalid UTF-8: re-check the limit.
            Cow::Owned(text) if text.len() > MAX_EVENT_BYTES => {
                prepared.truncated += 1;
                String::from_utf8_lossy(&truncate_event(text.as_bytes(), MAX_EVENT_BYTES))
                    .into_owned()
            }
            Cow::Owned(text) => text,
        };
        streams.entry(key).or_default().push(LogEvent {
            seq: event.seq,
            timestamp_ms: event.time_ms,
            message,
        });
    }
    prepared.streams = streams
        .into_iter()
        .map(|((log_group, log_stream), mut events)| {
            events.sort_by_key(|event| event.timestamp_ms); // stable: push order among equals
            StreamBatch {
                log_group,
                log_stream,
                events,
            }
        })
        .collect();
    prepared
}

/// The event's top-level `source` field (`"unknown"` when absent).
fn event_source(json: &[u8]) -> Cow<'_, str> {
    #[derive(Deserialize)]
    struct SourceOnly<'a> {
        #[serde(borrow)]
        source: Option<Cow<'a, str>>,
    }
    serde_json::from_slice::<SourceOnly<'_>>(json)
        .ok()
        .and_then(|s| s.source)
        .unwrap_or(Cow::Borrowed("unknown"))
}

/// CloudWatch's `rejectedLogEventsInfo` as index ranges of the events sent: reason → indices.
/// `too_new_start` is inclusive, the two end indices exclusive (per the API); out-of-range
/// indices are clamped. An event both expired and too old counts once, as expired.
pub(crate) fn rejected_ranges(
    sent: usize,
    too_new_start: Option<i32>,
    too_old_end: Option<i32>,
    expired_end: Option<i32>,
) -> Vec<(&'static str, std::ops::Range<usize>)> {
    let clamp =
        |index: Option<i32>| index.map(|i| usize::try_from(i.max(0)).unwrap_or(0).min(sent));
    let expired = clamp(expired_end).unwrap_or(0);
    let too_old = clamp(too_old_end).unwrap_or(0).max(expired);
    let too_new = clamp(too_new_start).unwrap_or(sent).max(too_old);
    let mut ranges = Vec::new();
    if expired > 0 {
        ranges.push(("expired", 0..expired));
    }
    if too_old > expired {
        ranges.push(("too_old", expired..too_old));
    }
    if too_new < sent {
        ranges.push(("too_new", too_new..sent));
    }
    ranges
}
