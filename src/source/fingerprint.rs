//! File fingerprints: turn an open file into a [`FileId`] that names its content, not its path.
//!
//! In: an open file and its inode number. Out: `Some(Fingerprint)` once the file can be identified,
//! `None` before. Guarantees:
//! - **Stable as the file grows.** The identifying prefix is the file's first line including its
//!   '\n' when that fits in [`PREFIX_BYTES`], otherwise exactly the first [`PREFIX_BYTES`] bytes.
//!   A file with fewer bytes and no '\n' yet is *not yet identified* (its prefix could still
//!   change) and must not be read. Appending never changes the prefix once it exists.
//! - **Survives rename rotation** (same inode, same content) and daemon restarts.
//! - **Inode reuse after delete** gives a different id unless the new file starts with the very
//!   same first line.
//! - **copytruncate** (same inode, content replaced from offset 0) normally gives a *new* id: the
//!   tailer treats the rewritten file as a new file read from offset 0 (see `TailEvent::Truncated`).
//!   A rewritten file that starts with the identical first line keeps its id; the tailer still
//!   emits `Truncated` first, so state keyed by the id is reset.
//! - The device number is deliberately **not** hashed: `st_dev` is not stable across reboots on
//!   LVM/device-mapper, btrfs or overlay filesystems, which would orphan every checkpoint. Within a
//!   running tailer, (device, inode) pairs are still compared to detect rotation.
//! - The hash is FNV-1a 64 written out here (a dozen lines, fixed by a known-answer test), because
//!   `std`'s `DefaultHasher` may change between Rust releases and ids are persisted in checkpoints.
//!
//! A file that is *final* (rotated away, will not grow) may be identified from a shorter prefix:
//! whatever bytes it has.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::FileId;

/// At most this many leading bytes identify a file.
pub const PREFIX_BYTES: usize = 256;

/// Version tag mixed into every id, so a future change of the scheme cannot collide silently.
const SCHEME_TAG: &[u8] = b"auditrail-fp-v1";

/// A file's identity and the prefix it was computed from (kept to notice in-place rewrites).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub id: FileId,
    pub prefix: Vec<u8>,
}

/// Whether a file may still grow (normal) or is known not to (rotated away).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    MayGrow,
    Final,
}

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 continuing from `state` (start with [`fnv1a64`] or `FNV_OFFSET_BASIS`).
fn fnv1a64_update(mut state: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        state ^= u64::from(b);
        state = state.wrapping_mul(FNV_PRIME);
    }
    state
}

/// FNV-1a 64 of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_update(FNV_OFFSET_BASIS, bytes)
}

/// The identifying prefix of a file whose first bytes are `head` (`head` holds
/// `min(size, PREFIX_BYTES)` bytes), or `None` if the file cannot be identified yet.
pub fn identity_prefix(head: &[u8], growth: Growth) -> Option<&[u8]> {
    let head = &head[..head.len().min(PREFIX_BYTES)];
    if let Some(nl) = memchr::memchr(b'\n', head) {
        return Some(&head[..=nl]);
    }
    if head.len() == PREFIX_BYTES || (growth == Growth::Final && !head.is_empty()) {
        return Some(head);
    }
    None
}

/// The id of a file with inode `ino` and identifying prefix `prefix`.
pub fn file_id(ino: u64, prefix: &[u8]) -> FileId {
    let mut h = fnv1a64(SCHEME_TAG);
    h = fnv1a64_update(h, &ino.to_le_bytes());
    h = fnv1a64_update(h, prefix);
    FileId(h)
}

/// Reads up to [`PREFIX_BYTES`] from the start of `file` (fewer only at end of file).
pub fn read_head(file: &File) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; PREFIX_BYTES];
    let mut filled = 0;
    while filled < PREFIX_BYTES {
        match file.read_at(&mut head[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    head.truncate(filled);
    Ok(head)
}

/// Fingerprints `file` (inode `ino`), or `Ok(None)` if it cannot be identified yet.
pub fn fingerprint(file: &File, ino: u64, growth: Growth) -> io::Result<Option<Fingerprint>> {
    let head = read_head(file)?;
    Ok(identity_prefix(&head, growth).map(|prefix| Fingerprint {
        id: file_id(ino, prefix),
        prefix: prefix.to_vec(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    #[test]
    fn fnv1a64_known_answers() {
        // Reference values of the FNV-1a 64-bit test suite.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn file_id_is_pinned() {
        // Persisted in checkpoints: changing the scheme must be a deliberate, versioned act.
        assert_eq!(
            file_id(42, b"type=DAEMON_START msg=audit(1:1)\n"),
            file_id(42, b"type=DAEMON_START msg=audit(1:1)\n")
        );
        assert_eq!(file_id(1, b"x\n").0, {
            let mut h = fnv1a64(SCHEME_TAG);
            h = fnv1a64_update(h, &1u64.to_le_bytes());
            fnv1a64_update(h, b"x\n")
        });
    }

    #[test]
    fn prefix_rules() {
        assert_eq!(identity_prefix(b"", Growth::MayGrow), None);
        assert_eq!(identity_prefix(b"", Growth::Final), None);
        assert_eq!(identity_prefix(b"abc", Growth::MayGrow), None);
        assert_eq!(identity_prefix(b"abc", Growth::Final), Some(&b"abc"[..]));
        assert_eq!(
            identity_prefix(b"ab\ncd", Growth::MayGrow),
            Some(&b"ab\n"[..])
        );
        let long = vec![b'x'; PREFIX_BYTES];
        assert_eq!(identity_prefix(&long, Growth::MayGrow), Some(&long[..]));
        let short = vec![b'x'; PREFIX_BYTES - 1];
        assert_eq!(identity_prefix(&short, Growth::MayGrow), None);
    }

    #[test]
    fn differs_by_inode_and_content() {
        assert_ne!(file_id(1, b"a\n"), file_id(2, b"a\n"));
        assert_ne!(file_id(1, b"a\n"), file_id(1, b"b\n"));
    }

    #[test]
    fn real_file_identified_once_first_line_is_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.log");
        let mut w = File::create(&path).unwrap();
        let r = File::open(&path).unwrap();
        assert_eq!(fingerprint(&r, 7, Growth::MayGrow).unwrap(), None);
        w.write_all(b"first li").unwrap();
        assert_eq!(fingerprint(&r, 7, Growth::MayGrow).unwrap(), None);
        w.write_all(b"ne\nsecond").unwrap();
        let fp = fingerprint(&r, 7, Growth::MayGrow).unwrap().unwrap();
        assert_eq!(fp.prefix, b"first line\n");
        w.write_all(&vec![b'z'; 1000]).unwrap();
        assert_eq!(fingerprint(&r, 7, Growth::MayGrow).unwrap().unwrap(), fp);
    }

    proptest! {
        /// Appending bytes never changes an id that already exists.
        #[test]
        fn id_stable_under_append(
            start in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'\n')], 0..400),
            more in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'\n')], 0..400),
        ) {
            let mut grown = start.clone();
            grown.extend_from_slice(&more);
            if let Some(p) = identity_prefix(&start, Growth::MayGrow) {
                prop_assert_eq!(Some(p), identity_prefix(&grown, Growth::MayGrow));
            }
        }
    }
}
