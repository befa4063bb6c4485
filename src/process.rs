//! The processing stage: parse → coalesce → build → encode → route.
//!
//! Enters: batches of lines from the tailers and datagrams from the syslog socket. Leaves: one
//! [`EncodedEvent`] per event on every sink's bounded channel (awaiting a full channel is how
//! backpressure reaches the tailers), and, before that, the event's seq and input lines in the
//! [`AckTracker`], so a checkpoint never passes a line whose event is not yet delivered.
//!
//! Guarantees: every line read ends up in exactly one event (an audit event, a continuation, a
//! history/syslog/hook event, or a `parse_error` event carrying its raw bytes), so nothing read
//! is dropped without a trace; nothing here panics on input.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::mpsc;

use auditrail_parsers::audit::parse_header;
use auditrail_parsers::event::build_event_from_lines;
use auditrail_parsers::history::parse_history;
use auditrail_parsers::hook::parse_hook_verdict;
use auditrail_parsers::syslog::{infer_year, parse_syslog};
use auditrail_sinks::EncodedEvent;

use crate::acks::{AckTracker, LinePos};
use crate::coalesce::{CoalesceConfig, CoalescedEvent, Coalescer, FlushReason, Output};
use crate::correlate::{Correlator, Pending};
use crate::enrich::Enricher;
use crate::event::{
    CoalesceInfo, ErrorInfo, Event, EventId, EventKind, HistoryView, HostInfo, SyslogView,
};
use crate::source::syslog_socket::SocketMessage;
use crate::source::{FileId, Line, TailEvent};

/// What a configured source carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Audit,
    Syslog,
    Hooks,
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Audit => "audit",
            SourceKind::Syslog => "syslog",
            SourceKind::Hooks => "hooks",
        }
    }
}

/// Counters of the processing stage.
#[derive(Debug, Default, Clone)]
pub struct ProcessStats {
    pub lines: u64,
    pub bytes: u64,
    pub events: u64,
    pub parse_errors: u64,
    pub truncated_lines: u64,
    pub lost_events: u64,
}

/// A line held by the coalescer until its event is complete.
#[derive(Debug)]
struct HeldLine {
    pos: LinePos<FileId>,
    bytes: Bytes,
    truncated: bool,
}

/// The shared ack tracker (the ack task releases lines, this stage registers them).
pub type SharedTracker = Arc<Mutex<AckTracker<FileId>>>;

/// See the module doc.
pub struct Processor {
    host: HostInfo,
    sources: Vec<SourceKind>,
    include_raw: bool,
    coalescer: Coalescer<HeldLine>,
    tracker: SharedTracker,
    sinks: Vec<SinkRoute>,
    next_seq: u64,
    socket_counter: u64,
    coalesced: Vec<Output<HeldLine>>,
    /// Events built from input, in input order, not yet correlated.
    ready: Vec<Pending>,
    correlator: Correlator,
    enricher: Enricher,
    /// Serial gaps counted since the last `audit_lost` event.
    lost_unreported: u64,
    lost_reported_at: Option<Instant>,
    stats: ProcessStats,
}

/// What a [`Processor`] is made of: its settings, the stages after it, and where it sends.
pub struct ProcessorParts {
    pub host: HostInfo,
    /// The kind of each configured file source, by source index.
    pub sources: Vec<SourceKind>,
    pub include_raw: bool,
    pub coalesce: CoalesceConfig,
    pub correlator: Correlator,
    pub enricher: Enricher,
    pub tracker: SharedTracker,
    /// One bounded channel per sink.
    pub sinks: Vec<SinkRoute>,
}

/// Where events go: a sink's channel, and whether it takes only events with alerts.
pub struct SinkRoute {
    pub tx: mpsc::Sender<EncodedEvent>,
    pub alerts_only: bool,
}

impl Processor {
    pub fn new(parts: ProcessorParts) -> Self {
        let ProcessorParts {
            host,
            sources,
            include_raw,
            coalesce,
            correlator,
            enricher,
            tracker,
            sinks,
        } = parts;
        Processor {
            host,
            sources,
            include_raw,
            coalescer: Coalescer::new(coalesce),
            tracker,
            sinks,
            next_seq: 0,
            socket_counter: 0,
            coalesced: Vec::new(),
            ready: Vec::new(),
            correlator,
            enricher,
            lost_unreported: 0,
            lost_reported_at: None,
            stats: ProcessStats::default(),
        }
    }

    pub fn stats(&self) -> &ProcessStats {
        &self.stats
    }

    /// Handles one message from a tailer.
    pub async fn on_tail_event(&mut self, ev: TailEvent) -> Result<(), SinksGone> {
        match ev {
            TailEvent::Lines(lines) => {
                {
                    let mut t = lock(&self.tracker);
                    for l in &lines {
                        t.register_line(l.file, l.start, l.end);
                    }
                }
                let now = Instant::now();
                for line in lines {
                    self.on_line(line, now);
                }
            }
            TailEvent::Opened {
                file,
                path,
                start_offset,
            } => lock(&self.tracker).open_file(file, start_offset, &path),
            TailEvent::Finished { .. } => {}
            TailEvent::Truncated { file } => lock(&self.tracker).forget_file(file),
        }
        self.route_ready().await
    }

    /// Handles datagrams from the syslog socket (acknowledged on receipt: no file position).
    pub async fn on_socket_messages(&mut self, msgs: Vec<SocketMessage>) -> Result<(), SinksGone> {
        for m in msgs {
            self.stats.lines += 1;
            self.stats.bytes += m.bytes.len() as u64;
            let now = now_ns();
            self.socket_counter += 1;
            let id = EventId::unplaced(&self.host.name, now, self.socket_counter);
            let ev = self.syslog_event(&m.bytes, m.truncated, id, "syslog_socket");
            self.ready.push((ev, Vec::new()));
        }
        self.route_ready().await
    }

    /// Periodic maintenance: flushes audit events whose grace or timeout has passed.
    pub async fn tick(&mut self, now: Instant) -> Result<(), SinksGone> {
        let mut out = std::mem::take(&mut self.coalesced);
        self.coalescer.maintain(now, &mut out);
        self.coalesced = out;
        self.drain_coalesced();
        if self
            .lost_reported_at
            .is_none_or(|at| now.duration_since(at) >= LOST_REPORT_INTERVAL)
        {
            self.report_lost(now);
        }
        let released = self.correlator.tick(now);
        self.route_ready().await?;
        self.route(released).await
    }

    /// End of input: flushes every open audit event and every event held for a join.
    pub async fn finish(&mut self) -> Result<(), SinksGone> {
        let mut out = std::mem::take(&mut self.coalesced);
        self.coalescer.flush_all(&mut out);
        self.coalesced = out;
        self.drain_coalesced();
        self.report_lost(Instant::now());
        self.route_ready().await?;
        let held = self.correlator.flush();
        self.route(held).await
    }

    fn on_line(&mut self, line: Line, now: Instant) {
        self.stats.lines += 1;
        self.stats.bytes += line.bytes.len() as u64;
        if line.truncated {
            self.stats.truncated_lines += 1;
        }
        let kind = self
            .sources
            .get(line.source)
            .copied()
            .unwrap_or(SourceKind::Syslog);
        let pos = LinePos {
            file: line.file,
            start: line.start,
        };
        let id = EventId::line(&self.host.name, line.file.0, line.start);
        match kind {
            SourceKind::Audit => self.on_audit_line(line, pos, id, now),
            SourceKind::Syslog => {
                let ev = self.syslog_event(&line.bytes, line.truncated, id, kind.name());
                self.ready.push((ev, vec![pos]));
            }
            SourceKind::Hooks => {
                let ev = match parse_hook_verdict(&line.bytes) {
                    Ok(v) => {
                        let time = v.time_epoch_millis().unwrap_or_else(now_ms);
                        let mut ev = self.new_event(EventKind::HookVerdict, id, time, kind.name());
                        ev.hook = Some(v);
                        self.raw_if_configured(&mut ev, &line.bytes);
                        ev
                    }
                    Err(e) => self.error_event(
                        id,
                        kind.name(),
                        e.to_string(),
                        &line.bytes,
                        line.truncated,
                    ),
                };
                self.ready.push((ev, vec![pos]));
            }
        }
    }

    fn on_audit_line(&mut self, line: Line, pos: LinePos<FileId>, id: EventId, now: Instant) {
        if line.bytes.iter().all(u8::is_ascii_whitespace) {
            lock(&self.tracker).release_line(pos);
            return;
        }
        match parse_header(&line.bytes) {
            Ok(header) => {
                let held = HeldLine {
                    pos,
                    bytes: line.bytes.clone(),
                    truncated: line.truncated,
                };
                let mut out = std::mem::take(&mut self.coalesced);
                self.coalescer.push(&header, held, now, &mut out);
                self.coalesced = out;
                self.drain_coalesced();
            }
            Err(e) => {
                let ev = self.error_event(id, "audit", e.to_string(), &line.bytes, line.truncated);
                self.ready.push((ev, vec![pos]));
            }
        }
    }

    fn drain_coalesced(&mut self) {
        let outputs = std::mem::take(&mut self.coalesced);
        for out in outputs {
            match out {
                Output::Event(ev) => {
                    let built = self.audit_event(ev);
                    self.ready.push(built);
                }
                Output::Lost { count, .. } => {
                    // Serial gaps are frequent (auditd's counter also moves for events no rule
                    // logs): report them as one summed event per interval, not one per gap.
                    self.stats.lost_events += count;
                    self.lost_unreported += count;
                }
            }
        }
    }

    /// Emits one `audit_lost` event for the serial gaps counted since the last one.
    fn report_lost(&mut self, now: Instant) {
        if self.lost_unreported == 0 {
            return;
        }
        let count = std::mem::take(&mut self.lost_unreported);
        self.lost_reported_at = Some(now);
        let id = EventId::unplaced(&self.host.name, now_ns(), count);
        let mut ev = self.new_event(EventKind::AuditLost, id, now_ms(), "audit");
        ev.lost = Some(count);
        self.ready.push((ev, Vec::new()));
    }

    fn audit_event(&mut self, ev: CoalescedEvent<HeldLine>) -> (Event, Vec<LinePos<FileId>>) {
        let lines: Vec<&[u8]> = ev.items.iter().map(|h| &h.bytes[..]).collect();
        let (audit, errors) = build_event_from_lines(&lines);
        let time_ms = ev.time.as_millis();
        let id = EventId::audit(&self.host.name, ev.node.as_deref(), time_ms, ev.serial);
        let mut out = self.new_event(
            EventKind::Audit,
            id,
            i64::try_from(time_ms).unwrap_or(0),
            "audit",
        );
        out.audit = Some(audit);
        out.coalesce = Some(CoalesceInfo {
            complete: ev.complete,
            continuation: ev.continuation,
            reason: reason_name(ev.reason),
        });
        let truncated = ev.items.iter().any(|h| h.truncated);
        if !errors.is_empty() || truncated {
            self.stats.parse_errors += errors.len() as u64;
            let mut message: Vec<String> = errors.iter().map(ToString::to_string).collect();
            if truncated {
                message.push("a record was longer than max_line_bytes and was cut".into());
            }
            out.error = Some(ErrorInfo {
                message: message.join("; "),
                truncated,
            });
        }
        if self.include_raw || !errors.is_empty() {
            out.raw = lines
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect();
        }
        let positions = ev.items.iter().map(|h| h.pos).collect();
        (out, positions)
    }

    fn syslog_event(
        &mut self,
        bytes: &[u8],
        truncated: bool,
        id: EventId,
        source: &'static str,
    ) -> Event {
        match parse_syslog(bytes) {
            Ok(msg) => {
                let time = syslog_time_ms(&msg).unwrap_or_else(now_ms);
                let history = parse_history(&msg);
                let kind = if history.is_some() {
                    EventKind::History
                } else {
                    EventKind::Syslog
                };
                let mut ev = self.new_event(kind, id, time, source);
                ev.syslog = Some(SyslogView::from_message(&msg));
                ev.history = history.as_ref().map(HistoryView::from_entry);
                if truncated {
                    ev.error = Some(ErrorInfo {
                        message: "line longer than the configured maximum; cut".into(),
                        truncated,
                    });
                }
                self.raw_if_configured(&mut ev, bytes);
                ev
            }
            Err(e) => self.error_event(id, source, e.to_string(), bytes, truncated),
        }
    }

    fn error_event(
        &mut self,
        id: EventId,
        source: &'static str,
        message: String,
        raw: &[u8],
        truncated: bool,
    ) -> Event {
        self.stats.parse_errors += 1;
        let mut ev = self.new_event(EventKind::ParseError, id, now_ms(), source);
        ev.error = Some(ErrorInfo { message, truncated });
        // Keep the raw bytes, capped so that one huge bad line cannot make a huge event.
        let cap = raw.len().min(MAX_RAW_ERROR_BYTES);
        ev.raw = vec![String::from_utf8_lossy(&raw[..cap]).into_owned()];
        ev
    }

    fn raw_if_configured(&self, ev: &mut Event, raw: &[u8]) {
        if self.include_raw {
            ev.raw = vec![String::from_utf8_lossy(raw).into_owned()];
        }
    }

    fn new_event(&self, kind: EventKind, id: EventId, time_ms: i64, source: &'static str) -> Event {
        Event::new(kind, id, time_ms, &self.host, source)
    }

    /// Correlates the ready events and routes those the correlator releases.
    async fn route_ready(&mut self) -> Result<(), SinksGone> {
        if self.ready.is_empty() {
            return Ok(());
        }
        let ready = std::mem::take(&mut self.ready);
        let released = self.correlator.correlate(ready, Instant::now());
        self.route(released).await
    }

    /// Enriches each event, gives it a seq, registers it with the tracker, and sends it to every
    /// sink.
    async fn route(&mut self, ready: Vec<Pending>) -> Result<(), SinksGone> {
        if ready.is_empty() {
            return Ok(());
        }
        let mut encoded = Vec::with_capacity(ready.len());
        {
            let mut t = lock(&self.tracker);
            for (mut ev, lines) in ready {
                self.enricher.enrich(&mut ev);
                let seq = self.next_seq;
                self.next_seq += 1;
                let json = match serde_json::to_vec(&ev) {
                    Ok(j) => j,
                    // Serializing our own structs cannot fail in practice; never lose the line.
                    Err(e) => format!("{{\"id\":\"{}\",\"kind\":\"parse_error\",\"error\":{{\"message\":\"cannot encode: {e}\"}}}}", ev.id).into_bytes(),
                };
                let alert = ev.has_alerts();
                let targets = self
                    .sinks
                    .iter()
                    .filter(|s| alert || !s.alerts_only)
                    .count();
                t.event_emitted_to(seq, lines, targets);
                let json = Bytes::from(json);
                encoded.push((
                    EncodedEvent {
                        seq,
                        time_ms: ev.time_ms,
                        json,
                    },
                    alert,
                ));
            }
        }
        self.stats.events += encoded.len() as u64;
        for (ev, alert) in encoded {
            for sink in self.sinks.iter().filter(|s| alert || !s.alerts_only) {
                // Awaiting a full channel is the backpressure that stops the tailers.
                sink.tx.send(ev.clone()).await.map_err(|_| SinksGone)?;
            }
        }
        Ok(())
    }
}

/// A sink task ended while the pipeline still had events for it.
#[derive(Debug, thiserror::Error)]
#[error("a sink stopped accepting events")]
pub struct SinksGone;

/// Serial gaps are reported at most this often (summed).
const LOST_REPORT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Error events keep at most this much of their raw line.
const MAX_RAW_ERROR_BYTES: usize = 64 * 1024;

fn reason_name(r: FlushReason) -> &'static str {
    match r {
        FlushReason::Eoe => "eoe",
        FlushReason::SingleRecord => "single_record",
        FlushReason::NextSerial => "next_serial",
        FlushReason::Timeout => "timeout",
        FlushReason::Overflow => "overflow",
        FlushReason::Shutdown => "shutdown",
    }
}

fn lock(t: &SharedTracker) -> std::sync::MutexGuard<'_, AckTracker<FileId>> {
    // A poisoned lock means another task panicked mid-update; the state is still the best we have.
    t.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn now_ms() -> i64 {
    i64::try_from(now_ns() / 1_000_000).unwrap_or(i64::MAX)
}

/// The message's time; RFC 3164 stamps have no year or zone: this year (or last year for a
/// December stamp read in January) and UTC, the default of the hosts auditrail runs on.
fn syslog_time_ms(msg: &auditrail_parsers::syslog::SyslogMessage<'_>) -> Option<i64> {
    let ts = msg.timestamp.as_ref()?;
    let now_s = now_ms() / 1000;
    let (year, month) = civil_year_month(now_s);
    let year = infer_year(ts.month, year, month);
    let secs = ts.to_epoch_seconds(year, 0)?;
    Some(secs * 1000 + i64::from(ts.nanos / 1_000_000))
}

/// (year, month) of a Unix time, UTC.
fn civil_year_month(secs: i64) -> (i32, u8) {
    let days = u64::try_from(secs.div_euclid(86_400)).unwrap_or(0);
    let (year, month, _) = auditrail_parsers::event::civil_from_days(days);
    (i32::try_from(year).unwrap_or(1970), month as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_year_month(0), (1970, 1));
        assert_eq!(civil_year_month(1_795_383_369), (2026, 11));
        assert_eq!(civil_year_month(951_782_400), (2000, 2)); // 2000-02-29
    }
}
