//! Reads one process's facts from a `/proc` tree (the real one, or a fake one in tests).
//!
//! Enters: a pid. Leaves: a [`ProcSnapshot`] (parent, start time, `exe`, `cmdline`, uids, login
//! uid and audit session) or `None` when the process is gone or its files are unreadable.
//! Guarantees: bounded reads (a huge `cmdline` is cut), no panics on odd contents (a `comm`
//! with spaces or parentheses in `stat` is handled by splitting after the last `)`).

use std::io::Read;
use std::path::{Path, PathBuf};

/// `/proc` counts start times in USER_HZ ticks, which Linux fixes at 100 per second on every
/// architecture it exports them for.
const USER_HZ: i64 = 100;
/// At most this much of `cmdline` is read.
const MAX_CMDLINE: u64 = 16 * 1024;

/// What `/proc/PID/*` says about a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcSnapshot {
    pub pid: u32,
    pub ppid: u32,
    /// When the process started (fork time), ms since the epoch; about ±1 s (boot time is
    /// whole seconds).
    pub start_ms: i64,
    pub exe: Option<String>,
    pub comm: Option<String>,
    pub args: Vec<String>,
    pub uid: Option<u32>,
    pub euid: Option<u32>,
    pub gid: Option<u32>,
    pub auid: Option<u32>,
    pub ses: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct ProcReader {
    root: PathBuf,
    boot_ms: i64,
}

impl ProcReader {
    /// A reader of `root`, or `None` if `root/stat` has no `btime` (no procfs there).
    pub(crate) fn new(root: &Path) -> Option<Self> {
        let stat = read_small(&root.join("stat"), 64 * 1024)?;
        let btime = stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse::<i64>()
            .ok()?;
        Some(ProcReader {
            root: root.to_path_buf(),
            boot_ms: btime.checked_mul(1000)?,
        })
    }

    /// Every numeric entry of the tree.
    pub(crate) fn pids(&self) -> Vec<u32> {
        let Ok(rd) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .collect()
    }

    pub(crate) fn read(&self, pid: u32) -> Option<ProcSnapshot> {
        if pid == 0 {
            return None;
        }
        let dir = self.root.join(pid.to_string());
        let stat = read_small(&dir.join("stat"), 4096)?;
        let (comm, ppid, start_ticks) = parse_stat(&stat)?;
        let status = read_small(&dir.join("status"), 16 * 1024).unwrap_or_default();
        let (uid, euid) = status_ids(&status, "Uid:");
        let (gid, _) = status_ids(&status, "Gid:");
        let args = read_small(&dir.join("cmdline"), MAX_CMDLINE)
            .map(|c| split_cmdline(&c))
            .unwrap_or_default();
        let exe = std::fs::read_link(dir.join("exe"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        Some(ProcSnapshot {
            pid,
            ppid,
            start_ms: self
                .boot_ms
                .saturating_add(start_ticks.saturating_mul(1000 / USER_HZ)),
            exe,
            comm: Some(comm),
            args,
            uid,
            euid,
            gid,
            auid: read_id(&dir.join("loginuid")),
            ses: read_id(&dir.join("sessionid")),
        })
    }
}

/// Up to `limit` bytes of a file, lossy UTF-8.
fn read_small(path: &Path, limit: u64) -> Option<String> {
    let f = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(limit).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// `cmdline`'s NUL-separated arguments (a kernel thread's is empty: no arguments).
fn split_cmdline(c: &str) -> Vec<String> {
    let c = c.strip_suffix('\0').unwrap_or(c);
    if c.is_empty() {
        return Vec::new();
    }
    c.split('\0').map(str::to_string).collect()
}

/// `(comm, ppid, starttime)` of a `stat` line: `pid (comm) state ppid … starttime(22nd) …`.
fn parse_stat(stat: &str) -> Option<(String, u32, i64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = stat.get(close + 1..)?.split_ascii_whitespace().collect();
    // rest[0] is field 3 (state), so field N is rest[N - 3].
    let ppid = rest.get(1)?.parse().ok()?;
    let start = rest.get(19)?.parse().ok()?;
    Some((comm, ppid, start))
}

/// Real and effective id from a `status` line such as `Uid:\t1000\t1000\t1000\t1000`.
fn status_ids(status: &str, key: &str) -> (Option<u32>, Option<u32>) {
    let Some(line) = status.lines().find_map(|l| l.strip_prefix(key)) else {
        return (None, None);
    };
    let mut it = line.split_ascii_whitespace().map(|v| v.parse::<u32>().ok());
    (it.next().flatten(), it.next().flatten())
}

/// `loginuid` / `sessionid`: a number, `4294967295` meaning unset.
fn read_id(path: &Path) -> Option<u32> {
    read_small(path, 64)?
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|&v| v != u32::MAX)
}

#[cfg(test)]
pub(crate) mod fake {
    //! A fake `/proc` tree for tests.
    use std::path::Path;

    /// Writes `root/stat` with `btime`.
    pub(crate) fn boot(root: &Path, btime: i64) {
        std::fs::create_dir_all(root).unwrap();
        std::fs::write(root.join("stat"), format!("cpu 1 2 3\nbtime {btime}\n")).unwrap();
    }

    /// Writes a process: `start_ticks` after boot, `args` as cmdline, `exe` as a symlink target.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn process(
        root: &Path,
        pid: u32,
        ppid: u32,
        comm: &str,
        start_ticks: i64,
        exe: &str,
        args: &[&str],
        uid: u32,
        auid: u32,
        ses: u32,
    ) {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let stat = format!(
            "{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 {start_ticks} 1000 100\n"
        );
        std::fs::write(dir.join("stat"), stat).unwrap();
        let mut cmdline = args.join("\0");
        cmdline.push('\0');
        std::fs::write(dir.join("cmdline"), cmdline).unwrap();
        std::fs::write(
            dir.join("status"),
            format!("Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{uid}\t{uid}\t{uid}\t{uid}\n"),
        )
        .unwrap();
        std::fs::write(dir.join("loginuid"), auid.to_string()).unwrap();
        std::fs::write(dir.join("sessionid"), ses.to_string()).unwrap();
        let _ = std::fs::remove_file(dir.join("exe"));
        std::os::unix::fs::symlink(exe, dir.join("exe")).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_fake_process() {
        let dir = tempfile::tempdir().unwrap();
        fake::boot(dir.path(), 1_000);
        fake::process(
            dir.path(),
            42,
            7,
            "my (odd) comm",
            250,
            "/usr/bin/bash",
            &["bash", "-c", "echo hi"],
            1003,
            u32::MAX,
            5,
        );
        let r = ProcReader::new(dir.path()).unwrap();
        let s = r.read(42).unwrap();
        assert_eq!(s.ppid, 7);
        assert_eq!(s.start_ms, 1_000_000 + 2_500);
        assert_eq!(s.comm.as_deref(), Some("my (odd) comm"));
        assert_eq!(s.args, ["bash", "-c", "echo hi"]);
        assert_eq!(s.exe.as_deref(), Some("/usr/bin/bash"));
        assert_eq!((s.uid, s.euid, s.gid), (Some(1003), Some(1003), Some(1003)));
        assert_eq!((s.auid, s.ses), (None, Some(5)));
        assert_eq!(r.pids(), vec![42]);
        assert!(r.read(43).is_none());
        assert!(r.read(0).is_none());
    }

    #[test]
    fn odd_stat_lines_do_not_parse() {
        assert!(parse_stat("").is_none());
        assert!(parse_stat("1 (x").is_none());
        assert!(parse_stat("1 x) S").is_none());
        assert!(parse_stat(")(").is_none());
    }

    #[test]
    fn the_real_proc_reads_this_process() {
        let Some(r) = ProcReader::new(Path::new("/proc")) else {
            eprintln!("SKIPPED: no /proc here");
            return;
        };
        let me = r.read(std::process::id()).expect("own /proc entry");
        assert_eq!(me.ppid, std::os::unix::process::parent_id());
        assert!(!me.args.is_empty());
    }
}
