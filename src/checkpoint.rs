//! Checkpoint store: the input offsets that are safe to resume from, persisted in one small file.
//!
//! In: [`Checkpoints`] (per [`FileId`]: offset, last known path, update time) from the ack tracker,
//! which sets an offset only once every sink acknowledged the events from the bytes before it.
//! Out: the same map at the next start ([`Checkpoints::resume_offsets`] feeds `run_tailer`).
//! Guarantees: `save` replaces the file atomically (temp file in the same directory, write,
//! fsync, rename, fsync of the directory), so a crash leaves the old or the new checkpoints, never
//! a mix; every failure (disk full, read-only or vanished directory) is returned as an error,
//! never a panic. `load` returns an empty set for a missing file and an error — never a silent
//! reset — for an unreadable, corrupt or future-version file.
//!
//! File format (JSON, version 1):
//! `{"version":1,"files":{"<FileId as decimal u64>":{"offset":N,"path":"...","updated_unix_ms":N}}}`

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::source::FileId;

/// Version of the on-disk format written by this build.
pub const FORMAT_VERSION: u32 = 1;

/// Errors of the checkpoint store. Each names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint store {path}: {action} failed: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(
        "checkpoint file {path} is corrupt ({source}); refusing to reset it because that would \
         re-send or skip input: repair it, or remove it to start over from `read_from`"
    )]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "checkpoint file {path} has format version {found}, this build reads version {FORMAT_VERSION}"
    )]
    UnsupportedVersion { path: PathBuf, found: u64 },
    #[error("cannot encode checkpoints: {0}")]
    Encode(#[source] serde_json::Error),
}

/// The saved position of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCheckpoint {
    /// Resume offset: every byte before it was delivered to and acknowledged by all sinks.
    pub offset: u64,
    /// Last path the file was known under (informational; files are found by [`FileId`]).
    #[serde(with = "lossy_path")]
    pub path: PathBuf,
    /// When the offset was last set, in milliseconds since the Unix epoch.
    pub updated_unix_ms: u64,
}

/// All saved positions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoints {
    pub files: BTreeMap<FileId, FileCheckpoint>,
}

impl Checkpoints {
    pub fn new() -> Self {
        Self::default()
    }

    /// The saved offset of `file`.
    pub fn offset_of(&self, file: FileId) -> Option<u64> {
        self.files.get(&file).map(|c| c.offset)
    }

    /// Records `offset` for `file` (last seen at `path`), stamped with the current time.
    pub fn set(&mut self, file: FileId, offset: u64, path: &Path) {
        self.files.insert(
            file,
            FileCheckpoint {
                offset,
                path: path.to_path_buf(),
                updated_unix_ms: unix_ms_now(),
            },
        );
    }

    /// Drops `file` (e.g. after it was `Finished` and acknowledged, or `Truncated`).
    pub fn forget(&mut self, file: FileId) -> Option<FileCheckpoint> {
        self.files.remove(&file)
    }

    /// Drops entries not updated since `cutoff_unix_ms`; returns how many were dropped.
    pub fn forget_older_than(&mut self, cutoff_unix_ms: u64) -> usize {
        let before = self.files.len();
        self.files
            .retain(|_, c| c.updated_unix_ms >= cutoff_unix_ms);
        before - self.files.len()
    }

    /// The offsets in the shape `run_tailer` takes as `resume`.
    pub fn resume_offsets(&self) -> HashMap<FileId, u64> {
        self.files.iter().map(|(id, c)| (*id, c.offset)).collect()
    }
}

/// The on-disk document.
#[derive(Serialize, Deserialize)]
struct Document {
    version: u64,
    files: BTreeMap<FileId, FileCheckpoint>,
}

/// Only the version, read first so a future format is reported as such, not as corruption.
#[derive(Deserialize)]
struct VersionOnly {
    version: u64,
}

/// Names of temporary files get a per-process counter so concurrent saves never share one.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The checkpoint file of the daemon.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    path: PathBuf,
}

impl CheckpointStore {
    /// Uses the file at `path`, creating its directory if missing, and removes temporary files
    /// left there by an interrupted save. The file itself need not exist.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, CheckpointError> {
        let path = path.into();
        let store = CheckpointStore { path };
        let dir = store.dir();
        fs::create_dir_all(&dir).map_err(|e| store.io("creating its directory", e))?;
        let prefix = store.temp_prefix();
        let entries = fs::read_dir(&dir).map_err(|e| store.io("listing its directory", e))?;
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&prefix))
            {
                if let Err(e) = fs::remove_file(entry.path()) {
                    tracing::warn!(path = %entry.path().display(), "cannot remove stale temp file: {e}");
                }
            }
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the checkpoints: empty if the file does not exist, an error if it cannot be read or
    /// is not a valid checkpoint file of a supported version.
    pub fn load(&self) -> Result<Checkpoints, CheckpointError> {
        let text = match fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Checkpoints::new()),
            Err(e) => return Err(self.io("reading", e)),
        };
        let corrupt = |source| CheckpointError::Corrupt {
            path: self.path.clone(),
            source,
        };
        let VersionOnly { version } = serde_json::from_slice(&text).map_err(corrupt)?;
        if version != u64::from(FORMAT_VERSION) {
            return Err(CheckpointError::UnsupportedVersion {
                path: self.path.clone(),
                found: version,
            });
        }
        let doc: Document = serde_json::from_slice(&text).map_err(corrupt)?;
        Ok(Checkpoints { files: doc.files })
    }

    /// Replaces the file with `checkpoints` atomically and durably.
    pub fn save(&self, checkpoints: &Checkpoints) -> Result<(), CheckpointError> {
        let doc = Document {
            version: u64::from(FORMAT_VERSION),
            files: checkpoints.files.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&doc).map_err(CheckpointError::Encode)?;
        bytes.push(b'\n');
        let dir = self.dir();
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!("{}{}.{n}", self.temp_prefix(), std::process::id()));
        let written =
            write_synced(&temp, &bytes).map_err(|e| self.io("writing a temporary file", e));
        let renamed = written.and_then(|()| {
            fs::rename(&temp, &self.path).map_err(|e| self.io("renaming the temporary file", e))
        });
        if let Err(e) = renamed {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| self.io("syncing its directory", e))
    }

    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// `.NAME.tmp.` — hidden, and specific to this checkpoint file.
    fn temp_prefix(&self) -> String {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!(".{name}.tmp.")
    }

    fn io(&self, action: &'static str, source: io::Error) -> CheckpointError {
        CheckpointError::Io {
            path: self.path.clone(),
            action,
            source,
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Paths are stored as strings; a non-UTF-8 path is stored lossily (it is informational only),
/// so it can never make saving fail.
mod lossy_path {
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&path.to_string_lossy())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        String::deserialize(d).map(PathBuf::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoints {
        let mut c = Checkpoints::new();
        c.set(
            FileId(u64::MAX),
            1234,
            Path::new("/var/log/audit/audit.log"),
        );
        c.set(FileId(7), 0, Path::new("/var/log/messages-20261125"));
        c
    }

    fn dir_names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn round_trip_and_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path().join("state/checkpoints.json")).unwrap();
        assert_eq!(store.load().unwrap(), Checkpoints::new());
        let c = sample();
        store.save(&c).unwrap();
        let back = store.load().unwrap();
        assert_eq!(back, c);
        assert_eq!(back.offset_of(FileId(u64::MAX)), Some(1234));
        assert_eq!(back.resume_offsets().get(&FileId(7)), Some(&0));
    }

    #[test]
    fn set_forget_and_prune() {
        let mut c = sample();
        c.set(FileId(7), 99, Path::new("/x"));
        assert_eq!(c.offset_of(FileId(7)), Some(99));
        assert_eq!(c.forget(FileId(7)).map(|f| f.offset), Some(99));
        assert_eq!(c.offset_of(FileId(7)), None);
        assert!(c.forget(FileId(7)).is_none());
        c.files.get_mut(&FileId(u64::MAX)).unwrap().updated_unix_ms = 10;
        c.set(FileId(1), 5, Path::new("/y"));
        assert_eq!(c.forget_older_than(11), 1);
        assert_eq!(c.files.keys().copied().collect::<Vec<_>>(), vec![FileId(1)]);
    }

    #[test]
    fn atomic_replace_leaves_only_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path().join("cp.json")).unwrap();
        let mut c = sample();
        for i in 0..5 {
            c.set(FileId(i), i * 10, Path::new("/var/log/secure"));
            store.save(&c).unwrap();
            assert_eq!(dir_names(dir.path()), vec!["cp.json"]);
            assert_eq!(store.load().unwrap(), c);
        }
    }

    #[test]
    fn open_removes_stale_temp_files_of_this_store_only() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".cp.json.tmp.123.0"), b"half").unwrap();
        fs::write(dir.path().join("unrelated"), b"keep").unwrap();
        let _store = CheckpointStore::open(dir.path().join("cp.json")).unwrap();
        assert_eq!(dir_names(dir.path()), vec!["unrelated"]);
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        let store = CheckpointStore::open(&path).unwrap();
        for bad in [
            &b"{\"version\":1,\"files\":{\"12\":{\"offset\":"[..],
            b"",
            b"[]",
            b"{\"files\":{}}",
        ] {
            fs::write(&path, bad).unwrap();
            let err = store.load().unwrap_err();
            assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
            assert!(err.to_string().contains("cp.json"), "{err}");
        }
        fs::write(&path, b"{\"version\":1,\"files\":{\"notanumber\":{}}}").unwrap();
        assert!(matches!(store.load(), Err(CheckpointError::Corrupt { .. })));
        // The corrupt file is left alone for a human to inspect.
        assert!(path.exists());
    }

    #[test]
    fn future_version_is_reported_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        fs::write(&path, b"{\"version\":2,\"files\":[1,2]}").unwrap();
        let err = CheckpointStore::open(&path).unwrap().load().unwrap_err();
        assert!(
            matches!(err, CheckpointError::UnsupportedVersion { found: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn format_is_versioned_json_with_decimal_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        let store = CheckpointStore::open(&path).unwrap();
        let mut c = Checkpoints::new();
        c.set(FileId(42), 10, Path::new("/a"));
        store.save(&c).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["files"]["42"]["offset"], 10);
        assert_eq!(v["files"]["42"]["path"], "/a");
    }

    #[test]
    fn non_utf8_path_does_not_break_save() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path().join("cp.json")).unwrap();
        let mut c = Checkpoints::new();
        c.set(
            FileId(1),
            3,
            Path::new(std::ffi::OsStr::from_bytes(b"/var/log/\xffbad")),
        );
        store.save(&c).unwrap();
        assert_eq!(store.load().unwrap().offset_of(FileId(1)), Some(3));
    }

    #[test]
    fn save_into_vanished_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("state");
        let store = CheckpointStore::open(sub.join("cp.json")).unwrap();
        fs::remove_dir(&sub).unwrap();
        let err = store.save(&sample()).unwrap_err();
        assert!(matches!(err, CheckpointError::Io { .. }), "{err}");
    }

    #[test]
    fn directory_that_is_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        fs::write(&file, b"x").unwrap();
        assert!(CheckpointStore::open(file.join("cp.json")).is_err());
    }

    #[test]
    fn save_into_read_only_directory_is_an_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path().join("cp.json")).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
        let probe = fs::write(dir.path().join("probe"), b"");
        if probe.is_ok() {
            fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
            eprintln!("skipped: running with CAP_DAC_OVERRIDE (root), a read-only mode does not stop writes");
            return;
        }
        let result = store.save(&sample());
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(result, Err(CheckpointError::Io { .. })));
        assert_eq!(dir_names(dir.path()), Vec::<String>::new());
    }
}
