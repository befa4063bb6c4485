//! Input sources: what the daemon reads lines from.
//!
//! In: configured file paths (and their rotated siblings on disk). Out: [`TailEvent`]s on a bounded
//! tokio channel — batches of [`Line`]s, each tagged with the content identity ([`FileId`]) of the
//! file it came from and the byte offset to resume from after it, plus lifecycle events
//! (`Opened`, `Finished`, `Truncated`) that the ack tracker needs to manage checkpoints.
//!
//! Guarantees (see [`tail`] for the details): every complete line of a tailed file is delivered
//! once per run, in file order, with exact offsets; a line without its '\n' is never delivered
//! unless its file was rotated away and is complete; restarting with the offsets of acknowledged
//! lines as `resume` continues exactly after them, across rotations that happened while stopped.

mod discover;
pub mod fingerprint;
mod split;
pub mod syslog_socket;
pub mod tail;
mod tailed_file;
mod watched_path;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use tail::{run_tailer, ReadFrom, TailConfig};

/// Identity of one file's content, independent of its name: survives rename-rotation.
///
/// Computed by [`fingerprint`] from the inode number and the file's first line (or first
/// [`fingerprint::PREFIX_BYTES`] bytes). Stable across daemon restarts and Rust versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileId(pub u64);

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// One line read from a file (without its '\n'; a trailing '\r' is kept).
#[derive(Debug, Clone)]
pub struct Line {
    /// Index of the source in the config.
    pub source: usize,
    pub file: FileId,
    /// Byte offset of the line's first byte.
    pub start: u64,
    /// Byte offset just after its '\n' (the offset to resume from). For the final line of a
    /// rotated-away file that had no '\n', the file's size.
    pub end: u64,
    pub bytes: bytes::Bytes,
    /// Cut at `max_line_bytes` (the rest of the line up to '\n' was skipped).
    pub truncated: bool,
}

/// What the tailer tells the pipeline besides lines.
///
/// Per file, events come in this order: `Opened` once, then any number of `Lines`, then at most
/// one of `Finished` / `Truncated`. After `Truncated` the same `FileId` may be `Opened` again
/// (copytruncate that rewrote an identical first line): treat it as a new file from offset 0.
/// Events of different files may interleave (a rotated-away file still being drained while its
/// successor is read), but each file's own events stay in order.
#[derive(Debug, Clone)]
pub enum TailEvent {
    /// Lines in file order, each with its own `file`; a batch holds up to 1024 lines from one
    /// read of at most 256 KiB (plus the completion of a line begun in the previous read).
    Lines(Vec<Line>),
    /// A file was identified and will be read from `start_offset`, which is authoritative for
    /// `file` (it replaces anything known about it). Everything before it is either already
    /// acknowledged (resume) or deliberately skipped (`ReadFrom::End`), so it is itself a safe
    /// checkpoint: persist it, so that a restart recognizes this file as already tailed.
    Opened {
        file: FileId,
        path: PathBuf,
        start_offset: u64,
    },
    /// A rotated-away (or deleted) file was fully read and closed: no more lines will come for it;
    /// its last line's `end` is the file's size. Keep its final checkpoint for a while (prune by
    /// age) instead of forgetting it at once: on restart the file, still on disk as `NAME.1`, is
    /// then recognized as fully read rather than taken for a rotation that happened while stopped.
    Finished { file: FileId },
    /// copytruncate seen: the file's content was cut below what was read. Lines not yet read are
    /// lost; forget the file's state and checkpoint. The new content of the same inode is
    /// announced by a fresh `Opened` (normally with a new `FileId`) and read from offset 0.
    Truncated { file: FileId },
}
