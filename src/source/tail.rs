//! File tail source: follows a source's configured files across rotation and restarts, and sends
//! their lines, with exact byte offsets, into a bounded channel.
//!
//! This is a hand-written poller rather than `linemux`/`notify`-based tailing, because it must
//! resume at a byte offset and identify files by content ([`super::fingerprint`]) so that an
//! offset checkpointed for `audit.log` is still found after `audit.log` became `audit.log.1`.
//!
//! In: [`TailConfig`], the resume offsets by [`FileId`] (all checkpoints may be passed; only ids of
//! files found on disk are used), a `Sender<TailEvent>` and a shutdown flag. Out: [`TailEvent`]s.
//! How it works: one async task; each step runs on the blocking pool (`spawn_blocking`) and does
//! positional 256 KiB reads with `memchr` splitting; lines are zero-copy slices of the read buffer.
//! When a step read nothing, the task sleeps `poll_interval` (idle cost: a `stat` and a `pread`
//! per open file per interval). Backpressure: the task awaits `send`, so a full channel stops
//! reading. Guarantees:
//! - Every complete line is sent once, in file order, with `end` = offset to resume from. Files of
//!   one path are read in rotation order: an old file to its end before the one that replaced it.
//! - A last line without '\n' is held until completed; it is sent without '\n' only when its file
//!   was rotated away (or deleted), read to the end and idle for the rotation grace period
//!   (max(1 s, 4 × poll_interval)), since it will then never be completed. Never at shutdown.
//! - Rename rotation, delete + re-create, copytruncate (`Truncated`, then the rewritten file from
//!   offset 0 under its new id), files that do not exist yet, and rotation while the daemon was
//!   stopped (see `discover`) are handled. Files appearing after start are read from offset 0;
//!   `read_from` applies only to files present at start that were never tailed.
//! - On shutdown (flag set to `true`, or its sender dropped) the task returns `Ok(())` promptly,
//!   even if the channel is full; an event not yet accepted by the channel is dropped, which is
//!   safe because its offsets were never acknowledged. It returns `Err` only if the channel
//!   closed without shutdown, or the blocking step panicked.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};

use super::discover::plan_path;
use super::tailed_file::StepCtx;
use super::watched_path::WatchedPath;
use super::{FileId, TailEvent};

/// Where to start in a file present at start-up that has no checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    #[default]
    Beginning,
    /// Just after the file's last complete line.
    End,
}

/// Default for [`TailConfig::max_line_bytes`].
pub const DEFAULT_MAX_LINE_BYTES: usize = 1024 * 1024;
/// Default for [`TailConfig::poll_interval`].
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// What one tailer follows.
#[derive(Debug, Clone)]
pub struct TailConfig {
    /// Index of the source in the config (copied into every [`super::Line`]).
    pub source: usize,
    /// The live paths (e.g. `/var/log/audit/audit.log`); rotated siblings are found next to them.
    pub paths: Vec<PathBuf>,
    pub read_from: ReadFrom,
    /// Longer lines are cut to this many bytes (`truncated = true`).
    pub max_line_bytes: usize,
    /// Sleep between polls when there is nothing to read.
    pub poll_interval: Duration,
}

impl TailConfig {
    /// A config with the defaults: `Beginning`, 1 MiB lines, 250 ms polling.
    pub fn new(source: usize, paths: Vec<PathBuf>) -> Self {
        TailConfig {
            source,
            paths,
            read_from: ReadFrom::Beginning,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }
}

/// Tails `cfg.paths` until shutdown. See the module doc for the guarantees.
pub async fn run_tailer(
    cfg: TailConfig,
    resume: HashMap<FileId, u64>,
    tx: mpsc::Sender<TailEvent>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let poll_interval = cfg.poll_interval.max(Duration::from_millis(1));
    let source = cfg.source;
    let mut tailer = SourceTailer::new(cfg, resume);
    loop {
        if *shutdown.borrow_and_update() {
            return Ok(());
        }
        let (back, step) = tokio::task::spawn_blocking(move || {
            let step = tailer.step();
            (tailer, step)
        })
        .await
        .with_context(|| format!("tailer of source {source} failed"))?;
        tailer = back;
        for event in step.events {
            tokio::select! {
                biased;
                _ = shutdown_requested(&mut shutdown) => return Ok(()),
                sent = tx.send(event) => {
                    if sent.is_err() {
                        if *shutdown.borrow() {
                            return Ok(());
                        }
                        anyhow::bail!("event channel of source {source} closed");
                    }
                }
            }
        }
        if !step.read_any {
            tokio::select! {
                _ = shutdown_requested(&mut shutdown) => return Ok(()),
                _ = tokio::time::sleep(poll_interval) => {}
            }
        }
    }
}

/// Resolves once shutdown is requested (flag `true`) or can no longer be signalled.
async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Result of one step.
struct Step {
    events: Vec<TailEvent>,
    /// Something was read: poll again without sleeping.
    read_any: bool,
}

/// All state of one source's tailer; moved into the blocking pool for each step.
struct SourceTailer {
    cfg: TailConfig,
    /// Offsets to start from per file id: resume offsets, plus files finished during this run.
    known: HashMap<FileId, u64>,
    paths: Vec<WatchedPath>,
    planned: bool,
    grace: Duration,
}

impl SourceTailer {
    fn new(cfg: TailConfig, resume: HashMap<FileId, u64>) -> Self {
        let grace = (cfg.poll_interval * 4).max(Duration::from_secs(1));
        SourceTailer {
            cfg,
            known: resume,
            paths: Vec::new(),
            planned: false,
            grace,
        }
    }

    /// Blocking: polls every path once (reading at most one chunk per path).
    fn step(&mut self) -> Step {
        if !self.planned {
            self.paths = self
                .cfg
                .paths
                .iter()
                .map(|p| plan_path(p, self.cfg.read_from, &self.known))
                .collect();
            self.planned = true;
        }
        let mut events = Vec::new();
        let mut read_any = false;
        for i in 0..self.paths.len() {
            let others: HashSet<(u64, u64)> = self
                .paths
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, p)| p.inodes())
                .collect();
            let mut ctx = StepCtx {
                source: self.cfg.source,
                max_line_bytes: self.cfg.max_line_bytes,
                known: &mut self.known,
                events: &mut events,
            };
            read_any |= self.paths[i].poll(&mut ctx, &others, self.grace);
        }
        Step { events, read_any }
    }
}
