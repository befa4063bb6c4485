//! The whole data flow on one page.
//!
//! ```text
//!  tailers (one task per file source) ─┐ TailEvent::Lines            bounded
//!  syslog socket ──────────────────────┤ SocketMessage               channels
//!                                      ▼
//!  process: parse → coalesce → build → encode → route ──► sink task ×N: batch → gzip → send (retry)
//!     │ registers lines + event seqs                             │ SinkAck (seqs durably accepted)
//!     ▼                                                          ▼
//!  AckTracker ◄─────────────────────────── ack task: releases lines, saves checkpoints
//! ```
//!
//! Every channel is bounded: a slow sink fills its channel, the process stage waits on it, the
//! tailers wait on the process stage and stop reading. A file offset is checkpointed only when
//! every sink acknowledged every event built from bytes before it (`acks`), so a crash at any
//! point re-reads at most the unacknowledged tail; event ids make those repeats recognisable.
//!
//! Shutdown (SIGTERM/SIGINT → the `shutdown` watch): tailers stop reading; the process stage
//! flushes open audit events and drops its sink senders; sinks flush and deliver; the ack task
//! saves the final checkpoint. A sink that cannot deliver within `shutdown_timeout` is abandoned:
//! its events were never acknowledged, so they are read again after the restart.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use auditrail_sinks::{
    run_sink_with, BatchLimits, CloudWatchSink, Compression, DriverOptions, EncodedEvent,
    FirehoseSink, LocalDirConfig, LocalDirSink, RetryPolicy, Sink, SinkAck, SinkStats, StdoutSink,
};

use crate::acks::AckTracker;
use crate::checkpoint::{CheckpointStore, Checkpoints};
use crate::coalesce::CoalesceConfig;
use crate::config::{BatchSettings, CompressionSetting, Config, FileSource, ReadFrom};
use crate::correlate::Correlator;
use crate::enrich::Enricher;
use crate::process::{Processor, ProcessorParts, SharedTracker, SinkRoute, SourceKind};
use crate::source::syslog_socket::{self, SocketConfig, SocketMessage};
use crate::source::{self, run_tailer, FileId, TailConfig, TailEvent};

/// Capacity of the tailers → process channel, in messages of up to a few hundred lines.
const TAIL_QUEUE: usize = 16;
/// Capacity of each sink's channel, in events.
const SINK_QUEUE: usize = 8192;
/// How often open audit events are checked for grace/timeout.
const TICK: Duration = Duration::from_millis(100);
/// Checkpoints of files not seen for this long are dropped (rotated away and deleted long ago).
const CHECKPOINT_RETENTION_MS: u64 = 30 * 24 * 3600 * 1000;

/// What a run did; returned after a clean shutdown.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub lines: u64,
    pub events: u64,
    pub parse_errors: u64,
    pub lost_events: u64,
    pub sinks: Vec<SinkStats>,
}

/// The running sinks: each one's event channel and task, and the channel they all ack into.
struct SinkSet {
    txs: Vec<SinkRoute>,
    tasks: Vec<JoinHandle<SinkStats>>,
    acks: mpsc::Sender<SinkAck>,
}

impl SinkSet {
    /// Starts the shared driver for `sink`; its index is its position in `txs`.
    fn spawn<S: Sink + Clone + 'static>(&mut self, sink: S, options: DriverOptions) {
        self.spawn_routed(sink, options, false);
    }

    /// Same, for a sink that receives only events with alerts when `alerts_only`.
    fn spawn_routed<S: Sink + Clone + 'static>(
        &mut self,
        sink: S,
        options: DriverOptions,
        alerts_only: bool,
    ) {
        let (tx, rx) = mpsc::channel::<EncodedEvent>(SINK_QUEUE);
        let index = self.txs.len();
        self.txs.push(SinkRoute { tx, alerts_only });
        self.tasks.push(tokio::spawn(run_sink_with(
            index,
            sink,
            options,
            rx,
            self.acks.clone(),
        )));
    }
}

/// How a run ends.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How long a shutdown may wait for sinks to deliver what is in flight.
    pub shutdown_timeout: Duration,
    /// Stop by itself once every input file has been read to its end (replay, benchmarks).
    pub stop_at_eof: bool,
}

/// Runs the daemon until `external_stop` turns true (and the pipeline has drained) or a stage
/// fails.
pub async fn run(
    cfg: Config,
    mut external_stop: watch::Receiver<bool>,
    opts: RunOptions,
) -> anyhow::Result<RunSummary> {
    let shutdown_timeout = opts.shutdown_timeout;
    // One stop signal for every stage: set by the caller (signals) or, in replay, at end of input.
    let (stop_tx, shutdown) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    {
        let stop_tx = stop_tx.clone();
        tokio::spawn(async move {
            while !*external_stop.borrow() {
                if external_stop.changed().await.is_err() {
                    return;
                }
            }
            let _ = stop_tx.send(true);
        });
    }
    // Host identity (IMDSv2 when enabled: one request, bounded by its timeout) and the per-event
    // enrichment (user names, alerts, redaction) are set up once, before anything is read.
    let host = crate::enrich::host_info(&cfg.host_name(), &cfg.enrich).await;
    let enricher = Enricher::from_settings(&cfg.enrich, &cfg.alerts, &cfg.redaction)
        .context("setting up enrichment")?;
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating data_dir {}", cfg.data_dir.display()))?;
    let store = CheckpointStore::open(cfg.checkpoint_path())?;
    let checkpoints = store.load()?;
    let resume = checkpoints.resume_offsets();

    // Sinks: one task each, fed by its own bounded channel, all acking into one channel.
    let (ack_tx, ack_rx) = mpsc::channel::<SinkAck>(1024);
    let mut sinks = SinkSet {
        txs: Vec::new(),
        tasks: Vec::new(),
        acks: ack_tx,
    };
    let retry = RetryPolicy::default();
    let options = |limits, compression, concurrency| DriverOptions {
        limits,
        compression,
        retry: retry.clone(),
        concurrency,
    };
    let alerts = &cfg.sinks.alerts;
    let local_dirs = [(&cfg.sinks.local_dir, false), (&alerts.local_dir, true)];
    for (s, alerts_only) in local_dirs {
        let Some(s) = s else { continue };
        let sink = LocalDirSink::new(LocalDirConfig {
            dir: s.dir.clone(),
            prefix: s.prefix.clone(),
            host: host.name.to_string(),
        })?;
        let compression = match s.compression {
            CompressionSetting::Gzip => Compression::Gzip {
                level: s.gzip_level,
            },
            CompressionSetting::None => Compression::None,
        };
        let opts = options(batch_limits(&s.batch), compression, 1);
        sinks.spawn_routed(sink, opts, alerts_only);
    }
    if let Some(s) = &cfg.sinks.stdout {
        let limits = batch_limits(&s.batch);
        sinks.spawn(StdoutSink::new(), options(limits, Compression::None, 1));
    }
    // AWS sinks: clients from the standard credential/region chain; their health check runs in
    // the driver (logged), or here first when `require_healthy` makes a failure fatal. Their
    // records are compressed by the sink itself, so the driver's batches stay plain.
    for (s, alerts_only) in [(&cfg.sinks.firehose, false), (&alerts.firehose, true)] {
        let Some(s) = s else { continue };
        let mut sink = FirehoseSink::new(s.clone())
            .await
            .map_err(|e| anyhow::anyhow!("sinks.firehose: {e}"))?;
        if s.require_healthy {
            sink.healthcheck()
                .await
                .context("sinks.firehose health check (require_healthy = true)")?;
        }
        let opts = options(s.batch.limits(), Compression::None, s.concurrency);
        sinks.spawn_routed(sink, opts, alerts_only);
    }
    for (s, alerts_only) in [(&cfg.sinks.cloudwatch, false), (&alerts.cloudwatch, true)] {
        let Some(s) = s else { continue };
        let mut sink = CloudWatchSink::new(s.clone(), &host.name)
            .await
            .map_err(|e| anyhow::anyhow!("sinks.cloudwatch: {e}"))?;
        if s.require_healthy {
            sink.healthcheck()
                .await
                .context("sinks.cloudwatch health check (require_healthy = true)")?;
        }
        let opts = options(s.batch.limits(), Compression::None, s.concurrency);
        sinks.spawn_routed(sink, opts, alerts_only);
    }
    let SinkSet {
        txs: sink_txs,
        tasks: sink_tasks,
        acks: ack_tx,
    } = sinks;
    drop(ack_tx);
    let tracker: SharedTracker = Arc::new(Mutex::new(AckTracker::new(sink_txs.len())));

    // Sources.
    let (tail_tx, mut tail_rx) = mpsc::channel::<TailEvent>(TAIL_QUEUE);
    let mut kinds = Vec::new();
    let mut source_tasks = Vec::new();
    let file_sources = [
        (SourceKind::Audit, &cfg.sources.audit),
        (SourceKind::Syslog, &cfg.sources.syslog),
        (SourceKind::Hooks, &cfg.sources.hooks),
    ];
    for (kind, src) in file_sources {
        let Some(src) = src else { continue };
        let tail_cfg = tail_config(kinds.len(), src);
        kinds.push(kind);
        source_tasks.push(tokio::spawn(run_tailer(
            tail_cfg,
            resume.clone(),
            tail_tx.clone(),
            shutdown.clone(),
        )));
    }
    drop(tail_tx);
    let (sock_tx, mut sock_rx) = mpsc::channel::<Vec<SocketMessage>>(TAIL_QUEUE);
    if let Some(s) = &cfg.sources.syslog_socket {
        let sock = syslog_socket::bind(&s.path)
            .with_context(|| format!("binding syslog socket {}", s.path.display()))?;
        let sock_cfg = SocketConfig {
            path: s.path.clone(),
            max_message_bytes: s.max_message_bytes,
        };
        let task = syslog_socket::run_syslog_socket(sock_cfg, sock, sock_tx, shutdown.clone());
        source_tasks.push(tokio::spawn(async move { Ok(task.await?) }));
    } else {
        drop(sock_tx);
    }

    if opts.stop_at_eof {
        tokio::spawn(stop_at_end_of_input(tracker.clone(), stop_tx.clone()));
    }

    // Acks → checkpoints.
    let every = Duration::from_millis(cfg.checkpoint_interval_ms);
    let ack_task = tokio::spawn(ack_loop(ack_rx, tracker.clone(), store, checkpoints, every));

    // Process: the one stage that sees every line.
    let mut processor = Processor::new(ProcessorParts {
        host,
        sources: kinds,
        include_raw: cfg.output.include_raw,
        coalesce: coalesce_config(&cfg),
        correlator: Correlator::new(&cfg.correlate)
            .with_sources(cfg.sources.audit.is_some(), cfg.sources.hooks.is_some()),
        enricher,
        tracker: tracker.clone(),
        sinks: sink_txs,
    });
    info!(
        sinks = sink_tasks.len(),
        sources = source_tasks.len(),
        "pipeline running"
    );
    let running = format!(
        "running: {} sources, {} sinks",
        source_tasks.len(),
        sink_tasks.len()
    );
    crate::systemd::ready(&running);
    // Pinged only from this loop's tick (see `crate::systemd`): a stuck loop stops the pings.
    let mut watchdog = crate::systemd::Watchdog::from_env();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut tails_open, mut socket_open) = (true, cfg.sources.syslog_socket.is_some());
    while tails_open || socket_open {
        let step = tokio::select! {
            ev = tail_rx.recv(), if tails_open => match ev {
                Some(ev) => processor.on_tail_event(ev).await,
                None => { tails_open = false; Ok(()) }
            },
            msgs = sock_rx.recv(), if socket_open => match msgs {
                Some(m) => processor.on_socket_messages(m).await,
                None => { socket_open = false; Ok(()) }
            },
            _ = tick.tick() => {
                let ticked = processor.tick(Instant::now()).await;
                let stats = processor.stats();
                watchdog.alive(Instant::now(), || {
                    format!("{running}; {} lines, {} events", stats.lines, stats.events)
                });
                ticked
            }
        };
        if let Err(e) = step {
            warn!("{e}; stopping");
            break;
        }
    }
    if let Err(e) = processor.finish().await {
        warn!("{e} while flushing");
    }
    let stats = processor.stats().clone();
    drop(processor); // closes the sink channels: sinks flush and return

    for t in source_tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!("source stopped with an error: {e:#}"),
            Err(e) => warn!("source task failed: {e}"),
        }
    }
    let drained = async {
        let mut sinks = Vec::new();
        for t in sink_tasks {
            if let Ok(s) = t.await {
                sinks.push(s);
            }
        }
        let saved = ack_task.await;
        (sinks, saved)
    };
    let (sinks, saved) = match tokio::time::timeout(shutdown_timeout, drained).await {
        Ok(done) => done,
        Err(_) => {
            warn!("sinks did not drain within {shutdown_timeout:?}; unacknowledged events will be re-read after restart");
            (Vec::new(), Ok(Ok(())))
        }
    };
    match saved {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warn!("final checkpoint not saved: {e:#}"),
        Err(e) => warn!("ack task failed: {e}"),
    }
    Ok(RunSummary {
        lines: stats.lines,
        events: stats.events,
        parse_errors: stats.parse_errors,
        lost_events: stats.lost_events,
        sinks,
    })
}

/// Sets `stop` once every tracked file has been read to its current end, twice in a row. An
/// unterminated last line counts as the end: the tailer ships a line only with its newline, so it
/// stays unread (and unacknowledged) until it is completed.
async fn stop_at_end_of_input(tracker: SharedTracker, stop: Arc<watch::Sender<bool>>) {
    let mut settled = 0;
    let mut last: Vec<(u64, u64)> = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let positions: Vec<(u64, std::path::PathBuf)> = lock(&tracker)
            .read_positions()
            .map(|(_, end, path)| (end, path.to_path_buf()))
            .collect();
        // (read end, size) per file; a rotated-away file no longer at its path counts as read.
        let now: Vec<(u64, u64)> = positions
            .iter()
            .map(|(end, path)| (*end, std::fs::metadata(path).map_or(*end, |m| m.len())))
            .collect();
        let at_end = !now.is_empty()
            && now.iter().zip(&positions).all(|(&(end, size), (_, path))| {
                size <= end || (size - end < (1 << 20) && !has_newline_after(path, end))
            });
        settled = if at_end && now == last {
            settled + 1
        } else {
            0
        };
        last = now;
        if settled >= 2 {
            let _ = stop.send(true);
            return;
        }
    }
}

/// True if the file has a newline at or after `offset` (a complete line not yet read).
fn has_newline_after(path: &std::path::Path, offset: u64) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(offset))?;
            f.take(1 << 20).read_to_end(&mut buf)
        })
        .map_or(true, |_| buf.contains(&b'\n'))
}

/// Applies sink acks to the tracker and saves checkpoints: periodically while running, and once
/// more when every sink has finished.
async fn ack_loop(
    mut acks: mpsc::Receiver<SinkAck>,
    tracker: SharedTracker,
    store: CheckpointStore,
    mut checkpoints: Checkpoints,
    every: Duration,
) -> anyhow::Result<()> {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ack = acks.recv() => match ack {
                Some(ack) => lock(&tracker).sink_acked(&ack.seqs),
                None => break,
            },
            _ = interval.tick() => {
                if let Err(e) = save_checkpoints(&tracker, &store, &mut checkpoints) {
                    // Keep running: the next save may succeed (disk full clears); offsets only
                    // lag, nothing is lost.
                    warn!("checkpoint not saved: {e:#}");
                }
            }
        }
    }
    save_checkpoints(&tracker, &store, &mut checkpoints)
}

fn save_checkpoints(
    tracker: &SharedTracker,
    store: &CheckpointStore,
    checkpoints: &mut Checkpoints,
) -> anyhow::Result<()> {
    let mut changed = false;
    for (file, offset, path) in lock(tracker).safe_offsets() {
        if checkpoints.offset_of(file) != Some(offset) {
            checkpoints.set(file, offset, path);
            changed = true;
        }
    }
    let cutoff = unix_ms().saturating_sub(CHECKPOINT_RETENTION_MS);
    changed |= checkpoints.forget_older_than(cutoff) > 0;
    if changed {
        store.save(checkpoints)?;
    }
    Ok(())
}

fn lock(t: &SharedTracker) -> std::sync::MutexGuard<'_, AckTracker<FileId>> {
    t.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn tail_config(index: usize, src: &FileSource) -> TailConfig {
    let mut t = TailConfig::new(index, src.paths.clone());
    t.read_from = match src.read_from {
        ReadFrom::Beginning => source::ReadFrom::Beginning,
        ReadFrom::End => source::ReadFrom::End,
    };
    t.max_line_bytes = src.max_line_bytes;
    t.poll_interval = Duration::from_millis(src.poll_interval_ms);
    t
}

fn batch_limits(b: &BatchSettings) -> BatchLimits {
    BatchLimits {
        max_events: b.max_events,
        max_bytes: b.max_bytes,
        max_age: b.max_age(),
    }
}

fn coalesce_config(cfg: &Config) -> CoalesceConfig {
    let c = &cfg.coalesce;
    CoalesceConfig {
        max_in_flight: c.max_in_flight,
        grace: Duration::from_millis(c.grace_ms),
        timeout: Duration::from_millis(c.timeout_ms),
        lookahead: c.lookahead,
        remember_flushed: c.remember_flushed,
    }
}
