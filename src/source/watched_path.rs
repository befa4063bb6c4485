//! One configured path: the file currently at that path plus the rotated-away files still being
//! read to their end.
//!
//! In: polls (each a few `stat`/`pread` calls). Out: events pushed to the step's context.
//! Guarantees: files of one path are read in order — every rotated-away file to its current end
//! (oldest first) before the file now at the path; a rotated-away file stays open and is re-read
//! until it has been at end of file with no growth for the rotation grace period (writers such as
//! rsyslog keep writing to the old file until they reopen), then its incomplete last line (if
//! any) is emitted and it is `Finished`. A file appearing at the path after start is read from
//! its beginning. The same inode is never tailed twice by one source.

use std::collections::{HashSet, VecDeque};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::fingerprint::Growth;
use super::tailed_file::{StartRule, StepCtx, TailedFile};

#[derive(Debug)]
pub(crate) struct WatchedPath {
    pub path: PathBuf,
    pub current: Option<TailedFile>,
    /// Rotated-away files, oldest first.
    pub draining: VecDeque<TailedFile>,
    /// Last problem logged for this path, to log each distinct problem once.
    last_problem: Option<String>,
}

impl WatchedPath {
    pub fn new(path: PathBuf, current: Option<TailedFile>, draining: VecDeque<TailedFile>) -> Self {
        WatchedPath {
            path,
            current,
            draining,
            last_problem: None,
        }
    }

    /// (device, inode) of every open file of this path.
    pub fn inodes(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.current
            .iter()
            .chain(self.draining.iter())
            .map(|f| (f.dev, f.ino))
    }

    /// One poll: notices rotation/creation/truncation, then reads one chunk from the first file
    /// (in order) that has data. Returns whether anything was read.
    pub fn poll(
        &mut self,
        ctx: &mut StepCtx<'_>,
        others: &HashSet<(u64, u64)>,
        grace: Duration,
    ) -> bool {
        if let Err(e) = self.check_path(ctx, others) {
            self.problem(format!("cannot check {}: {e}", self.path.display()));
        }
        let now = Instant::now();
        let mut i = 0;
        while i < self.draining.len() {
            let f = &mut self.draining[i];
            let idle = now.duration_since(f.rotated_since.unwrap_or(now).max(f.last_read));
            let growth = if idle >= grace {
                Growth::Final
            } else {
                Growth::MayGrow
            };
            match f.identify(growth, ctx).and_then(|_| f.read_chunk(ctx)) {
                Ok(0) if idle >= grace => {
                    if let Some(done) = self.draining.remove(i) {
                        done.finish(ctx);
                    }
                    continue;
                }
                Ok(0) => {}
                Ok(_) => return true,
                Err(e) => {
                    let msg = format!("cannot read rotated file of {}: {e}", self.path.display());
                    self.problem(msg);
                }
            }
            i += 1;
        }
        let Some(f) = &mut self.current else {
            return false;
        };
        match f
            .identify(Growth::MayGrow, ctx)
            .and_then(|_| f.read_chunk(ctx))
        {
            Ok(n) => {
                if n > 0 {
                    self.last_problem = None;
                }
                n > 0
            }
            Err(e) => {
                self.problem(format!("cannot read {}: {e}", self.path.display()));
                false
            }
        }
    }

    /// Compares what the path leads to now with the current file.
    fn check_path(
        &mut self,
        ctx: &mut StepCtx<'_>,
        others: &HashSet<(u64, u64)>,
    ) -> io::Result<()> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) if m.is_file() => Some(m),
            Ok(_) => {
                self.problem(format!(
                    "{} is not a regular file; waiting",
                    self.path.display()
                ));
                None
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let Some(meta) = meta else {
            self.rotate_current();
            return Ok(());
        };
        let (dev, ino) = (meta.dev(), meta.ino());
        if let Some(f) = &mut self.current {
            if f.same_inode(dev, ino) {
                return f.check_truncation(ctx);
            }
        }
        self.rotate_current();
        // Renamed back: resume the same open file rather than opening a duplicate.
        if let Some(pos) = self.draining.iter().position(|f| f.same_inode(dev, ino)) {
            if let Some(mut f) = self.draining.remove(pos) {
                f.rotated_since = None;
                self.current = Some(f);
            }
            return Ok(());
        }
        if others.contains(&(dev, ino)) {
            return Ok(()); // still open under another path of this source; retry later
        }
        let f = TailedFile::open(&self.path, StartRule::Beginning)?;
        if others.contains(&(f.dev, f.ino)) {
            return Ok(());
        }
        tracing::info!(path = %self.path.display(), "new file at watched path");
        self.current = Some(f);
        self.last_problem = None;
        Ok(())
    }

    /// The path no longer leads to the current file: keep it open and read it to its end.
    fn rotate_current(&mut self) {
        if let Some(mut f) = self.current.take() {
            tracing::info!(path = %self.path.display(), "file rotated away or deleted; draining it");
            f.rotated_since = Some(Instant::now());
            self.draining.push_back(f);
        }
    }

    fn problem(&mut self, msg: String) {
        if self.last_problem.as_deref() != Some(msg.as_str()) {
            tracing::warn!("{msg}");
            self.last_problem = Some(msg);
        }
    }
}
