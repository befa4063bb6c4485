//! One open file being tailed: identification, start offset, reading, truncation, finishing.
//!
//! In: an open `std::fs::File` (kept open across renames and deletes), the offsets already known
//! for file ids (resume), and the events list of the current step. Out: `Opened` once the file is
//! identified, `Lines` for each chunk read, `Truncated` when copytruncate is seen, `Finished` (after
//! the final partial line, if any) when the owner decides the file is done. Guarantees: nothing is
//! read before the file is identified; reads are positional (`pread`), so the file's own cursor
//! is irrelevant; all of this is blocking I/O to be run off the async runtime.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::fingerprint::{self, Fingerprint, Growth};
use super::split::{LineSplitter, LineTag};
use super::{FileId, Line, TailEvent};

/// Bytes read per `read` call.
pub(crate) const READ_CHUNK: usize = 256 * 1024;
/// At most this many lines per `TailEvent::Lines`.
pub(crate) const MAX_LINES_PER_BATCH: usize = 1024;

/// Where to start reading a file whose id has no known offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartRule {
    Beginning,
    /// Just after the last '\n' present when the file is identified.
    AfterLastNewline,
}

#[derive(Debug)]
struct Identity {
    fp: Fingerprint,
    splitter: LineSplitter,
}

/// An open file and its tailing state.
#[derive(Debug)]
pub(crate) struct TailedFile {
    file: File,
    pub dev: u64,
    pub ino: u64,
    /// The path it was opened through (reported in `Opened`).
    path: PathBuf,
    ident: Option<Identity>,
    start_rule: StartRule,
    /// When the watched path stopped leading to this file (rename, delete); `None` while current.
    pub rotated_since: Option<Instant>,
    /// Last time bytes were read (or the file was opened).
    pub last_read: Instant,
    /// Size seen at the last truncation check.
    last_size: u64,
}

/// Shared state of one step of a source's tailer.
pub(crate) struct StepCtx<'a> {
    pub source: usize,
    pub max_line_bytes: usize,
    /// Offsets to start from per file id: the resume map, updated with files finished this run.
    pub known: &'a mut HashMap<FileId, u64>,
    pub events: &'a mut Vec<TailEvent>,
}

impl StepCtx<'_> {
    fn push_lines(&mut self, mut lines: Vec<Line>) {
        while lines.len() > MAX_LINES_PER_BATCH {
            let rest = lines.split_off(MAX_LINES_PER_BATCH);
            self.events.push(TailEvent::Lines(lines));
            lines = rest;
        }
        if !lines.is_empty() {
            self.events.push(TailEvent::Lines(lines));
        }
    }
}

impl TailedFile {
    /// Opens `path` (following symlinks). The file is not read until identified.
    pub fn open(path: &Path, start_rule: StartRule) -> io::Result<Self> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::other(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        Ok(TailedFile {
            file,
            dev: meta.dev(),
            ino: meta.ino(),
            path: path.to_path_buf(),
            ident: None,
            start_rule,
            rotated_since: None,
            last_read: Instant::now(),
            last_size: meta.len(),
        })
    }

    /// The id the file would get if identified now (no event, no state change).
    pub fn peek_id(&self, growth: Growth) -> io::Result<Option<FileId>> {
        Ok(fingerprint::fingerprint(&self.file, self.ino, growth)?.map(|fp| fp.id))
    }

    /// Modification time, from the open file.
    pub fn modified(&self) -> io::Result<std::time::SystemTime> {
        self.file.metadata()?.modified()
    }

    pub fn set_start_rule(&mut self, rule: StartRule) {
        self.start_rule = rule;
    }

    pub fn same_inode(&self, dev: u64, ino: u64) -> bool {
        self.dev == dev && self.ino == ino
    }

    /// Identifies the file if possible and emits `Opened`. Returns whether it is identified.
    pub fn identify(&mut self, growth: Growth, ctx: &mut StepCtx<'_>) -> io::Result<bool> {
        if self.ident.is_some() {
            return Ok(true);
        }
        let Some(fp) = fingerprint::fingerprint(&self.file, self.ino, growth)? else {
            return Ok(false);
        };
        let size = self.file.metadata()?.len();
        let start = match ctx.known.get(&fp.id).copied() {
            Some(offset) if offset <= size => offset,
            Some(offset) => {
                tracing::warn!(file = %fp.id, path = %self.path.display(), offset, size,
                    "file is shorter than its checkpoint; reading it again from the start");
                0
            }
            None => match self.start_rule {
                StartRule::Beginning => 0,
                StartRule::AfterLastNewline => {
                    after_last_newline(&self.file, size, ctx.max_line_bytes)?
                }
            },
        };
        tracing::debug!(file = %fp.id, path = %self.path.display(), start, "tailing file");
        ctx.events.push(TailEvent::Opened {
            file: fp.id,
            path: self.path.clone(),
            start_offset: start,
        });
        self.last_size = size;
        self.ident = Some(Identity {
            fp,
            splitter: LineSplitter::new(start, ctx.max_line_bytes),
        });
        Ok(true)
    }

    /// Detects copytruncate (and other in-place rewrites): the file is shorter than what was read,
    /// or its identifying prefix changed. Emits `Truncated` and resets the file to unidentified,
    /// to be read from offset 0 once identified again.
    pub fn check_truncation(&mut self, ctx: &mut StepCtx<'_>) -> io::Result<()> {
        let size = self.file.metadata()?.len();
        let Some(ident) = &self.ident else {
            self.last_size = size;
            return Ok(());
        };
        let mut rewritten = size < ident.splitter.next_pos();
        if !rewritten && size != self.last_size {
            let head = fingerprint::read_head(&self.file)?;
            rewritten = !head.starts_with(&ident.fp.prefix);
        }
        self.last_size = size;
        if rewritten {
            let id = ident.fp.id;
            tracing::warn!(file = %id, path = %self.path.display(), size,
                "file truncated in place (copytruncate); restarting at offset 0");
            ctx.events.push(TailEvent::Truncated { file: id });
            ctx.known.remove(&id);
            self.ident = None;
            self.start_rule = StartRule::Beginning;
        }
        Ok(())
    }

    /// Reads one chunk if the file is identified; emits the lines it completes. Returns the
    /// number of bytes read (0 at end of file or while unidentified).
    pub fn read_chunk(&mut self, ctx: &mut StepCtx<'_>) -> io::Result<usize> {
        let Some(ident) = &mut self.ident else {
            return Ok(0);
        };
        let tag = LineTag {
            source: ctx.source,
            file: ident.fp.id,
        };
        // Idle polls cost one fstat; small appends get a small buffer.
        let size = self.file.metadata()?.len();
        let available = size.saturating_sub(ident.splitter.next_pos());
        if available == 0 {
            return Ok(0);
        }
        let chunk = usize::try_from(available).map_or(READ_CHUNK, |a| a.min(READ_CHUNK));
        let mut lines = Vec::new();
        let file = &self.file;
        let n = ident
            .splitter
            .read_chunk(chunk, tag, &mut lines, |buf, pos| file.read_at(buf, pos))?;
        if n > 0 {
            self.last_read = Instant::now();
        }
        ctx.push_lines(lines);
        Ok(n)
    }

    /// Ends tailing of a file that will not grow: emits its incomplete last line (if any) as a
    /// final line, remembers its end offset, and emits `Finished`.
    pub fn finish(mut self, ctx: &mut StepCtx<'_>) {
        let Some(ident) = &mut self.ident else {
            return;
        };
        let id = ident.fp.id;
        let tag = LineTag {
            source: ctx.source,
            file: id,
        };
        if let Some(line) = ident.splitter.take_final_line(tag) {
            ctx.push_lines(vec![line]);
        }
        ctx.known.insert(id, ident.splitter.next_pos());
        tracing::debug!(file = %id, path = %self.path.display(), "rotated file fully read");
        ctx.events.push(TailEvent::Finished { file: id });
    }
}

/// Offset just after the last '\n' among the last `max_line_bytes + 1` bytes of a file of `size`
/// bytes; 0 if the file has no '\n' and is that short, else `size`.
fn after_last_newline(file: &File, size: u64, max_line_bytes: usize) -> io::Result<u64> {
    let window = size.min(max_line_bytes as u64 + 1);
    let from = size - window;
    let mut buf = vec![0u8; window as usize];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], from + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(match memchr::memrchr(b'\n', &buf) {
        Some(nl) => from + nl as u64 + 1,
        None if from == 0 => 0,
        None => size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn after_last_newline_cases() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let mut w = File::create(&p).unwrap();
        w.write_all(b"ab\ncd\nef").unwrap();
        let f = File::open(&p).unwrap();
        assert_eq!(after_last_newline(&f, 8, 100).unwrap(), 6);
        assert_eq!(after_last_newline(&f, 8, 1).unwrap(), 8);
        assert_eq!(after_last_newline(&f, 2, 100).unwrap(), 0);
    }
}
