//! [`LocalDirSink`], the embedded default sink: each batch becomes one file under an S3-like key
//! in a local directory (see [`object_key`](crate::object_key)).
//!
//! Enters: [`Batch`]es. Leaves: files `DIR/PREFIX/year=YYYY/month=MM/day=DD/HOST-<first event
//! time>-<seq>.json[.gz]`, date and time from the batch's first event, UTC. Guarantees: a file
//! appears whole or not at all (dot-prefixed temp file in the target directory, write, fsync,
//! hard-link to the final name, fsync the directory) and `send` returns `Ok` only after that;
//! an existing object is never overwritten (the hard link fails instead, and the next seq is
//! tried); `<seq>` is unique per `DIR/PREFIX` across restarts and concurrent instances (see
//! `seq.rs`). Every I/O error (disk full, permissions, a file where a directory should be) is
//! `Retriable`: the operator fixes the disk, the driver's retries then succeed.
//!
//! Readers must ignore dot-files: the state file `.auditrail-next-seq` and, after a crash between
//! link and unlink, a leftover `.NAME.tmp`. On filesystems without hard links (vfat, some network
//! filesystems) the sink falls back to "rename if the name is free", which is only safe when a
//! single process writes there.

mod seq;
#[cfg(test)]
mod tests;

pub use seq::STATE_FILE_NAME;

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::key::object_key;
use crate::{Batch, Compression, SendError, Sink};
use seq::{sync_dir, SeqAllocator};

/// How many seqs a write tries when final names already exist (only possible when the state file
/// was lost and objects with the same first event time exist).
const MAX_NAME_CLAIMS: usize = 16;

/// Configuration of a [`LocalDirSink`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalDirConfig {
    /// Base directory; created when missing.
    pub dir: PathBuf,
    /// Key prefix, e.g. `"audit"` or `"logs/audit"`; may be empty. No `.`/`..`/hidden/empty
    /// segments.
    #[serde(default)]
    pub prefix: String,
    /// Host name in file names: ASCII letters, digits, `.`, `-`, `_`; not starting with `.`.
    pub host: String,
}

/// A [`LocalDirConfig`] that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalDirConfigError {
    /// See [`LocalDirConfig::host`].
    #[error("invalid host {0:?}: use ASCII letters, digits, '.', '-', '_', not starting with '.'")]
    InvalidHost(String),
    /// See [`LocalDirConfig::prefix`].
    #[error("invalid prefix {0:?}: no empty, '.', '..' or dot-prefixed segments, no NUL or '\\'")]
    InvalidPrefix(String),
}

/// Writes each batch as one file; see the module docs. Clones share the seq allocator.
#[derive(Clone, Debug)]
pub struct LocalDirSink {
    name: String,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    /// Normalised: no leading or trailing `/`.
    prefix: String,
    host: String,
    seqs: SeqAllocator,
}

impl LocalDirSink {
    /// Validates `config`; touches no file (the directory is created on first use).
    pub fn new(config: LocalDirConfig) -> Result<Self, LocalDirConfigError> {
        let host_ok = !config.host.is_empty()
            && !config.host.starts_with('.')
            && config
                .host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !host_ok {
            return Err(LocalDirConfigError::InvalidHost(config.host));
        }
        let prefix = config.prefix.trim_matches('/').to_owned();
        let prefix_ok = prefix.is_empty()
            || prefix.split('/').all(|segment| {
                !segment.is_empty()
                    && !segment.starts_with('.')
                    && !segment.contains(['\0', '\\'])
                    && Path::new(segment).components().count() == 1
                    && matches!(
                        Path::new(segment).components().next(),
                        Some(Component::Normal(_))
                    )
            });
        if !prefix_ok {
            return Err(LocalDirConfigError::InvalidPrefix(config.prefix));
        }
        let root = config.dir.join(&prefix);
        Ok(Self {
            name: format!("local_dir:{}", root.display()),
            inner: Arc::new(Inner {
                dir: config.dir,
                prefix,
                host: config.host,
                seqs: SeqAllocator::new(root),
            }),
        })
    }

    /// `DIR/PREFIX`, under which the `year=` directories and the state file live.
    pub fn root(&self) -> PathBuf {
        self.inner.dir.join(&self.inner.prefix)
    }
}

impl Sink for LocalDirSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&mut self, batch: &Batch) -> Result<(), SendError> {
        // This sink asks for NDJSON framing; records (should a caller build them) are written
        // as plain NDJSON rather than lost.
        let (body, compression) = if batch.records.is_empty() {
            (batch.body.clone(), batch.compression)
        } else {
            (batch.ndjson().map_err(SendError::fatal)?, Compression::None)
        };
        let first_time_ms = batch.first_time_ms;
        let inner = Arc::clone(&self.inner);
        let written = tokio::task::spawn_blocking(move || {
            inner.write_object(first_time_ms, compression, &body)
        })
        .await;
        match written {
            Ok(Ok(path)) => {
                tracing::debug!(sink = %self.name, path = %path.display(), events = batch.events,
                    "batch written");
                Ok(())
            }
            Ok(Err(err)) => Err(SendError::Retriable(format!(
                "writing a batch under {}: {err}",
                self.inner.dir.display()
            ))),
            Err(join) => Err(SendError::Retriable(format!("writer task failed: {join}"))),
        }
    }

    async fn healthcheck(&mut self) -> Result<(), SendError> {
        let root = self.root();
        let probe = root.join(format!(
            ".auditrail-healthcheck-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let checked = tokio::task::spawn_blocking(move || -> io::Result<()> {
            fs::create_dir_all(&root)?;
            let created = OpenOptions::new().write(true).create_new(true).open(&probe);
            let removed = fs::remove_file(&probe);
            created.and(removed)
        })
        .await;
        match checked {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(SendError::Retriable(format!(
                "{} is not writable: {err}",
                self.root().display()
            ))),
            Err(join) => Err(SendError::Retriable(format!(
                "healthcheck task failed: {join}"
            ))),
        }
    }
}

impl Inner {
    /// Claims a seq and publishes `body` under its key (blocking); returns the final path.
    fn write_object(
        &self,
        first_time_ms: i64,
        compression: Compression,
        body: &[u8],
    ) -> io::Result<PathBuf> {
        for _ in 0..MAX_NAME_CLAIMS {
            let seq = self.seqs.claim()?;
            let key = object_key(&self.prefix, &self.host, first_time_ms, seq, compression);
            let path = self.dir.join(key);
            if publish(&self.dir, &path, body)? {
                return Ok(path);
            }
            tracing::warn!(path = %path.display(), "object already exists; trying the next seq");
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "every claimed object name already exists",
        ))
    }
}

/// Writes `body` to `path` atomically without overwriting; `Ok(false)` when `path` exists.
fn publish(base: &Path, path: &Path, body: &[u8]) -> io::Result<bool> {
    let (Some(parent), Some(file_name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::other("object key has no file name"));
    };
    ensure_dirs(base, parent)?;
    let temp = TempFile(parent.join(format!(".{}.tmp", file_name.to_string_lossy())));
    let mut file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp.0)
    {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            // Left by a crash: seqs are unique, so nobody else is writing this name.
            fs::remove_file(&temp.0)?;
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp.0)?
        }
        opened => opened?,
    };
    file.write_all(body)?;
    file.sync_all()?;
    drop(file);
    match fs::hard_link(&temp.0, path) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(err) if hard_links_unsupported(&err) => {
            if path.try_exists()? {
                return Ok(false);
            }
            fs::rename(&temp.0, path)?;
        }
        Err(err) => return Err(err),
    }
    drop(temp); // removes the temp name; the object stays under its final name
    sync_dir(parent)?;
    Ok(true)
}

fn hard_links_unsupported(err: &io::Error) -> bool {
    use rustix::io::Errno;
    err.kind() == io::ErrorKind::Unsupported
        || matches!(
            Errno::from_io_error(err),
            Some(Errno::PERM | Errno::OPNOTSUPP | Errno::NOSYS)
        )
}

/// Creates the directories from `base` down to `dir`, fsyncing the parent of each one created so
/// that the new entries survive a crash.
fn ensure_dirs(base: &Path, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(base)?;
    let relative = dir.strip_prefix(base).map_err(io::Error::other)?;
    let mut current = base.to_path_buf();
    for component in relative.components() {
        let parent = current.clone();
        current.push(component);
        match fs::create_dir(&current) {
            Ok(()) => sync_dir(&parent)?,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// A temp file path removed on drop (best effort; a no-op once renamed away).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Err(err) = fs::remove_file(&self.0) {
            if err.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %self.0.display(), error = %err, "cannot remove temp file");
            }
        }
    }
}
