//! Start-up planning for one configured path: which files to read, in which order, from where.
//!
//! In: the configured path, `ReadFrom`, and the resume offsets by file id. Out: the file now at
//! the path (if any) and the rotated siblings to read first, oldest first. Rules:
//! - Siblings are the regular files in the same directory named `NAME.*` or `NAME-*`, except
//!   compressed ones (`.gz`, `.xz`, `.zst`, `.bz2`, `.lz4`, `.zip`); they are identified as final
//!   files (they no longer grow).
//! - If no file of this path (current or sibling) has a resume offset, the path was never tailed:
//!   the current file starts at `ReadFrom` (End = just after its last complete line) and siblings
//!   are ignored.
//! - Otherwise rotation may have happened while the daemon was stopped. Let `anchor` be the newest
//!   modification time among files with a resume offset. Siblings with a resume offset are read
//!   from it; siblings without one but modified at or after `anchor` were created by rotations
//!   while stopped and are read from offset 0; older unknown siblings are ignored (already read
//!   and forgotten, or predating the checkpoint). The current file, if unknown, starts at 0.
//! - A current file that cannot be identified yet (empty, or a short first line without '\n') is
//!   treated as new: it will be read from offset 0 once identified.

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::fingerprint::Growth;
use super::tail::ReadFrom;
use super::tailed_file::{StartRule, TailedFile};
use super::watched_path::WatchedPath;
use super::FileId;

const COMPRESSED_SUFFIXES: &[&str] = &[".gz", ".xz", ".zst", ".bz2", ".lz4", ".zip"];

/// Builds the start-up state of `path`. I/O problems are logged and the affected file skipped.
pub(crate) fn plan_path(
    path: &Path,
    read_from: ReadFrom,
    known: &HashMap<FileId, u64>,
) -> WatchedPath {
    let mut current = match TailedFile::open(path, StartRule::Beginning) {
        Ok(f) => Some(f),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), "cannot open: {e}");
            }
            None
        }
    };
    let current_id = current
        .as_ref()
        .and_then(|f| peek(path, f, Growth::MayGrow));
    let mut siblings: Vec<Sibling> = sibling_paths(path)
        .into_iter()
        .filter_map(|p| Sibling::open(p, current.as_ref()))
        .collect();

    let is_known = |id: Option<FileId>| id.is_some_and(|id| known.contains_key(&id));
    let current_mtime = current.as_ref().and_then(|f| f.modified().ok());
    let anchor = siblings
        .iter()
        .filter(|s| is_known(s.id))
        .map(|s| s.mtime)
        .chain(current_mtime.filter(|_| is_known(current_id)))
        .max();

    let Some(anchor) = anchor else {
        // Never tailed before: honour `read_from` for the file present now.
        if let (Some(f), ReadFrom::End, Some(_)) = (&mut current, read_from, current_id) {
            f.set_start_rule(StartRule::AfterLastNewline);
        }
        return WatchedPath::new(path.to_path_buf(), current, VecDeque::new());
    };

    siblings.retain(|s| is_known(s.id) || s.mtime >= anchor);
    siblings.sort_by(oldest_first);
    let now = Instant::now();
    let draining = siblings
        .into_iter()
        .map(|s| {
            tracing::info!(path = %s.path.display(), "reading rotated file left over from before start");
            let mut f = s.file;
            f.rotated_since = Some(now);
            f
        })
        .collect();
    WatchedPath::new(path.to_path_buf(), current, draining)
}

/// The id `f` would get now; errors are logged.
fn peek(path: &Path, f: &TailedFile, growth: Growth) -> Option<FileId> {
    match f.peek_id(growth) {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot fingerprint: {e}");
            None
        }
    }
}

struct Sibling {
    path: PathBuf,
    file: TailedFile,
    id: Option<FileId>,
    mtime: SystemTime,
}

impl Sibling {
    fn open(path: PathBuf, current: Option<&TailedFile>) -> Option<Sibling> {
        let file = TailedFile::open(&path, StartRule::Beginning).ok()?;
        if current.is_some_and(|c| c.same_inode(file.dev, file.ino)) {
            return None;
        }
        let mtime = file.modified().ok()?;
        let id = peek(&path, &file, Growth::Final);
        Some(Sibling {
            path,
            file,
            id,
            mtime,
        })
    }
}

/// Rotated siblings of `path`: `NAME.*` and `NAME-*` in the same directory, not compressed.
fn sibling_paths(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(OsStr::to_str)) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let dot = format!("{name}.");
    let dash = format!("{name}-");
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let file_name = e.file_name();
            let n = file_name.to_str()?;
            let rotated = n.starts_with(&dot) || n.starts_with(&dash);
            let compressed = COMPRESSED_SUFFIXES.iter().any(|s| n.ends_with(s));
            (rotated && !compressed).then(|| dir.join(n))
        })
        .collect()
}

/// Oldest first: by modification time, then `NAME.2` before `NAME.1`, then by name.
fn oldest_first(a: &Sibling, b: &Sibling) -> Ordering {
    a.mtime.cmp(&b.mtime).then_with(
        || match (numeric_suffix(&a.path), numeric_suffix(&b.path)) {
            (Some(x), Some(y)) => y.cmp(&x),
            _ => a.path.cmp(&b.path),
        },
    )
}

fn numeric_suffix(path: &Path) -> Option<u64> {
    path.extension()?.to_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siblings_match_rotation_names_only() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "audit.log",
            "audit.log.1",
            "audit.log.2.gz",
            "audit.log-20261125",
            "audit.log-20261124.zst",
            "auditXlog.1",
            "other.log.1",
        ] {
            std::fs::write(dir.path().join(n), b"x\n").unwrap();
        }
        let mut got: Vec<String> = sibling_paths(&dir.path().join("audit.log"))
            .into_iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        got.sort();
        assert_eq!(got, vec!["audit.log-20261125", "audit.log.1"]);
    }

    #[test]
    fn numeric_suffix_parses_only_numbers() {
        assert_eq!(numeric_suffix(Path::new("/a/audit.log.12")), Some(12));
        assert_eq!(numeric_suffix(Path::new("/a/messages-20261125")), None);
    }
}
