//! Batch sequence numbers for the local-directory sink that stay unique across restarts and
//! across sink instances sharing a directory.
//!
//! Enters: a claim request. Leaves: a seq no other claim on the same state file ever returned.
//! Guarantees: the state file (`.auditrail-next-seq`, dot-prefixed so readers ignore it) holds the
//! next seq; each claim takes an exclusive `flock(2)` on it, reads, writes the successor and
//! fsyncs before returning, so a seq is durable before any object names it. A missing, empty or
//! corrupt state file (first start, crash mid-write, operator deletion) is rebuilt by scanning
//! the existing objects for the largest seq. Seqs may have gaps (a claim whose write failed).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

use crate::key::seq_from_file_name;

/// File name of the state file, in the sink's prefix directory.
pub const STATE_FILE_NAME: &str = ".auditrail-next-seq";

/// Hands out batch seqs; see the module docs.
#[derive(Debug)]
pub(crate) struct SeqAllocator {
    /// `DIR/PREFIX`: where the state file lives and the `year=` directories start.
    root: PathBuf,
}

impl SeqAllocator {
    pub(crate) fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// Claims the next seq (blocking: file I/O, lock, fsync).
    pub(crate) fn claim(&self) -> io::Result<u64> {
        fs::create_dir_all(&self.root)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.root.join(STATE_FILE_NAME))?;
        // Released when `file` is closed, including on every error path.
        flock(&file, FlockOperation::LockExclusive)?;
        let mut text = String::new();
        let stored = match file.read_to_string(&mut text) {
            Ok(_) => text.trim().parse::<u64>().ok(),
            Err(_) => None,
        };
        let seq = match stored {
            Some(seq) => seq,
            None => {
                let next = max_seq_in(&self.root)?.map_or(0, |max| max.saturating_add(1));
                tracing::info!(root = %self.root.display(), next,
                    "batch seq state missing or unreadable; rebuilt from existing objects");
                next
            }
        };
        let next = seq
            .checked_add(1)
            .ok_or_else(|| io::Error::other("batch sequence numbers exhausted"))?;
        file.seek(SeekFrom::Start(0))?;
        file.set_len(0)?;
        file.write_all(format!("{next}\n").as_bytes())?;
        file.sync_data()?;
        Ok(seq)
    }
}

/// The largest seq among object files under `root/year=*/month=*/day=*/`.
fn max_seq_in(root: &Path) -> io::Result<Option<u64>> {
    let mut max = None;
    for year in partition_dirs(root, "year=")? {
        for month in partition_dirs(&year, "month=")? {
            for day in partition_dirs(&month, "day=")? {
                for entry in fs::read_dir(&day)? {
                    let name = entry?.file_name();
                    let Some(name) = name.to_str() else { continue };
                    if name.starts_with('.') {
                        continue;
                    }
                    if let Some(seq) = seq_from_file_name(name) {
                        max = max.max(Some(seq));
                    }
                }
            }
        }
    }
    Ok(max)
}

/// Subdirectories of `dir` whose names start with `label`; none when `dir` is missing.
fn partition_dirs(dir: &Path, label: &str) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry?;
        let is_partition = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(label));
        if is_partition && entry.file_type()?.is_dir() {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

/// Opens a directory for `fsync`.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
