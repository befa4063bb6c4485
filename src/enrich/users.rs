//! User and group names from `/etc/passwd` and `/etc/group` (under a configurable root).
//!
//! In: uid/gid numbers and user names. Out: names and ids, shared as `Arc<str>`. The files are
//! read at start and again when their modification time or size changes, checked at most every
//! `check_every` (a stat of two files, not a read, on the hot path). A missing or unreadable file
//! gives no names (ids stay); a malformed line is skipped. Guarantees: never panics; a lookup is
//! a hash map probe; memory is bounded by the files' size.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// What a file looked like when last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let md = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: md.modified().ok(),
        len: md.len(),
    })
}

/// Name ↔ id maps from passwd and group.
#[derive(Debug)]
pub struct UserDb {
    passwd_path: PathBuf,
    group_path: PathBuf,
    check_every: Duration,
    last_check: Option<Instant>,
    passwd_stamp: Option<Stamp>,
    group_stamp: Option<Stamp>,
    users: HashMap<u32, Arc<str>>,
    uids: HashMap<Arc<str>, u32>,
    groups: HashMap<u32, Arc<str>>,
}

impl UserDb {
    /// Reads `<root>/etc/passwd` and `<root>/etc/group`.
    pub fn new(root: &Path, check_every: Duration) -> Self {
        let mut db = UserDb {
            passwd_path: root.join("etc/passwd"),
            group_path: root.join("etc/group"),
            check_every,
            last_check: None,
            passwd_stamp: None,
            group_stamp: None,
            users: HashMap::new(),
            uids: HashMap::new(),
            groups: HashMap::new(),
        };
        db.refresh(Instant::now());
        db
    }

    /// Re-reads a file whose stamp changed, if `check_every` has passed since the last check.
    pub fn refresh(&mut self, now: Instant) {
        if let Some(last) = self.last_check {
            if now.saturating_duration_since(last) < self.check_every {
                return;
            }
        }
        self.last_check = Some(now);
        let p = stamp(&self.passwd_path);
        if p != self.passwd_stamp || self.passwd_stamp.is_none() {
            self.passwd_stamp = p;
            self.users.clear();
            self.uids.clear();
            for (name, id) in read_entries(&self.passwd_path) {
                self.uids.entry(name.clone()).or_insert(id);
                self.users.entry(id).or_insert(name);
            }
        }
        let g = stamp(&self.group_path);
        if g != self.group_stamp || self.group_stamp.is_none() {
            self.group_stamp = g;
            self.groups.clear();
            for (name, id) in read_entries(&self.group_path) {
                self.groups.entry(id).or_insert(name);
            }
        }
    }

    /// The name of user `uid` (the first line with that uid).
    pub fn user_name(&self, uid: u32) -> Option<Arc<str>> {
        self.users.get(&uid).cloned()
    }

    /// The uid of user `name`.
    pub fn uid_of(&self, name: &str) -> Option<u32> {
        self.uids.get(name).copied()
    }

    /// The name of group `gid`.
    pub fn group_name(&self, gid: u32) -> Option<Arc<str>> {
        self.groups.get(&gid).cloned()
    }
}

/// `(name, id)` of every well-formed line of a passwd or group file (`name:x:id:…`).
fn read_entries(path: &Path) -> Vec<(Arc<str>, u32)> {
    let Ok(text) = std::fs::read(path) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&text)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?.trim();
            let _password = fields.next()?;
            let id = fields.next()?.trim().parse::<u32>().ok()?;
            (!name.is_empty() && !name.starts_with('+') && !name.starts_with('-'))
                .then(|| (Arc::from(name), id))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, passwd: &str, group: &str) {
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/passwd"), passwd).unwrap();
        std::fs::write(root.join("etc/group"), group).unwrap();
    }

    #[test]
    fn reads_names_and_skips_malformed_lines() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken line\ncarol:x:1001:1001::/home/carol:/bin/bash\nalias:x:1001:1001::/:/bin/sh\n",
            "root:x:0:\ncarol:x:1001:\nbad:x:notanumber:\n",
        );
        let db = UserDb::new(dir.path(), Duration::from_secs(5));
        assert_eq!(db.user_name(0).as_deref(), Some("root"));
        assert_eq!(
            db.user_name(1001).as_deref(),
            Some("carol"),
            "first line wins"
        );
        assert_eq!(db.uid_of("alias"), Some(1001));
        assert_eq!(db.user_name(4242), None);
        assert_eq!(db.group_name(1001).as_deref(), Some("carol"));
        assert_eq!(db.group_name(7), None);
    }

    #[test]
    fn missing_files_give_no_names() {
        let dir = tempfile::tempdir().unwrap();
        let db = UserDb::new(dir.path(), Duration::from_secs(5));
        assert_eq!(db.user_name(0), None);
    }

    #[test]
    fn rereads_a_changed_file_only_after_the_check_interval() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "root:x:0:0::/:/bin/sh\n", "root:x:0:\n");
        let mut db = UserDb::new(dir.path(), Duration::from_secs(5));
        let t0 = Instant::now();
        db.refresh(t0);
        // A different size, so the change is seen even where mtime granularity is coarse.
        write(
            dir.path(),
            "root:x:0:0::/:/bin/sh\ndave:x:1002:1002::/home/dave:/bin/bash\n",
            "root:x:0:\ndave:x:1002:\n",
        );
        db.refresh(t0 + Duration::from_secs(1));
        assert_eq!(db.user_name(1002), None, "checked too soon");
        db.refresh(t0 + Duration::from_secs(6));
        assert_eq!(db.user_name(1002).as_deref(), Some("dave"));
        assert_eq!(db.group_name(1002).as_deref(), Some("dave"));
    }
}
