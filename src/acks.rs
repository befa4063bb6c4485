//! Ack tracking: which input bytes may be checkpointed.
//!
//! Enters: every line read (file, start, end), in file order; every emitted event (its seq and the
//! lines it was built from); every sink's ack of a set of seqs. Leaves: per file, the offset up to
//! which every line has been fully delivered — the only offset a checkpoint may hold.
//!
//! Guarantee: an offset never passes a line whose event some sink has not yet accepted, even when
//! events complete out of order (coalescing reorders them) and sinks ack out of order. Lines that
//! produce no event (blank lines, records merged into events already counted) are released by
//! [`AckTracker::release_line`] or by being part of an event.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::path::{Path, PathBuf};

use auditrail_sinks::SeqSet;

/// Where one line sits in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinePos<K> {
    pub file: K,
    pub start: u64,
}

/// Lines of one file still waiting for delivery, in read order.
#[derive(Debug)]
struct FileLines {
    /// `(start, end, done)` for every line read and not yet checkpointed.
    lines: VecDeque<(u64, u64, bool)>,
    /// Offset that is safe once every line in `lines` is done (end of the last line read).
    read_end: u64,
    /// Where the file was last seen (for the checkpoint file's readers).
    path: PathBuf,
}

impl FileLines {
    fn safe_offset(&self) -> u64 {
        self.lines
            .front()
            .map_or(self.read_end, |&(start, _, _)| start)
    }

    fn mark_done(&mut self, start: u64) -> bool {
        // Lines are in ascending `start` order: binary search.
        match self.lines.binary_search_by_key(&start, |&(s, _, _)| s) {
            Ok(i) => {
                self.lines[i].2 = true;
                while self.lines.front().is_some_and(|&(_, _, done)| done) {
                    self.lines.pop_front();
                }
                true
            }
            Err(_) => false,
        }
    }
}

/// An event sent to sinks and not yet acknowledged by all of them.
#[derive(Debug)]
struct PendingEvent<K> {
    lines: Vec<LinePos<K>>,
    /// Sinks that have not acknowledged it yet.
    waiting_for: u32,
}

/// Counts of what the tracker has seen; for metrics and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AckStats {
    pub lines_registered: u64,
    pub events_emitted: u64,
    pub events_acked: u64,
    /// Acks for seqs the tracker did not know (duplicates, or after a reset): ignored.
    pub unknown_acks: u64,
}

/// See the module doc.
#[derive(Debug)]
pub struct AckTracker<K> {
    sinks: u32,
    files: HashMap<K, FileLines>,
    pending: HashMap<u64, PendingEvent<K>>,
    stats: AckStats,
}

impl<K: Copy + Eq + Hash> AckTracker<K> {
    /// A tracker for events that must be acknowledged by `sinks` sinks each.
    pub fn new(sinks: usize) -> Self {
        AckTracker {
            sinks: u32::try_from(sinks.max(1)).unwrap_or(u32::MAX),
            files: HashMap::new(),
            pending: HashMap::new(),
            stats: AckStats::default(),
        }
    }

    /// Starts tracking `file`, found at `path`, at `offset` (where reading begins); forgets
    /// older state of it.
    pub fn open_file(&mut self, file: K, offset: u64, path: &Path) {
        self.files.insert(
            file,
            FileLines {
                lines: VecDeque::new(),
                read_end: offset,
                path: path.to_path_buf(),
            },
        );
    }

    /// Stops tracking `file` (rotated away and fully delivered, or truncated).
    pub fn forget_file(&mut self, file: K) {
        self.files.remove(&file);
    }

    /// Records that the line `[start, end)` of `file` was read. Lines of a file must be registered
    /// in file order.
    pub fn register_line(&mut self, file: K, start: u64, end: u64) {
        let f = self.files.entry(file).or_insert_with(|| FileLines {
            lines: VecDeque::new(),
            read_end: start,
            path: PathBuf::new(),
        });
        f.lines.push_back((start, end, false));
        f.read_end = end;
        self.stats.lines_registered += 1;
    }

    /// Releases a line that will produce no event of its own (blank, or dropped by policy).
    pub fn release_line(&mut self, pos: LinePos<K>) {
        if let Some(f) = self.files.get_mut(&pos.file) {
            f.mark_done(pos.start);
        }
    }

    /// Records that event `seq`, built from `lines`, was handed to every sink. Must be called
    /// before any sink can ack `seq`. An event with no lines (socket input) needs no tracking.
    pub fn event_emitted(&mut self, seq: u64, lines: Vec<LinePos<K>>) {
        self.event_emitted_to(seq, lines, self.sinks as usize);
    }

    /// Like [`AckTracker::event_emitted`], for an event handed to `sinks` sinks only (alert-only
    /// sinks do not get every event).
    pub fn event_emitted_to(&mut self, seq: u64, lines: Vec<LinePos<K>>, sinks: usize) {
        self.stats.events_emitted += 1;
        if lines.is_empty() || sinks == 0 {
            for pos in &lines {
                self.release_line(*pos);
            }
            self.stats.events_acked += 1;
            return;
        }
        self.pending.insert(
            seq,
            PendingEvent {
                lines,
                waiting_for: u32::try_from(sinks).unwrap_or(u32::MAX),
            },
        );
    }

    /// Records that one sink durably accepted `seqs`.
    pub fn sink_acked(&mut self, seqs: &SeqSet) {
        for seq in seqs.iter() {
            let Some(ev) = self.pending.get_mut(&seq) else {
                self.stats.unknown_acks += 1;
                continue;
            };
            ev.waiting_for = ev.waiting_for.saturating_sub(1);
            if ev.waiting_for > 0 {
                continue;
            }
            if let Some(ev) = self.pending.remove(&seq) {
                self.stats.events_acked += 1;
                for pos in ev.lines {
                    self.release_line(pos);
                }
            }
        }
    }

    /// The offset of `file` that a checkpoint may hold now.
    pub fn safe_offset(&self, file: K) -> Option<u64> {
        self.files.get(&file).map(FileLines::safe_offset)
    }

    /// Every tracked file with its safe offset and last known path.
    pub fn safe_offsets(&self) -> impl Iterator<Item = (K, u64, &Path)> + '_ {
        self.files
            .iter()
            .map(|(k, f)| (*k, f.safe_offset(), f.path.as_path()))
    }

    /// Every tracked file with how far it has been read and its last known path.
    pub fn read_positions(&self) -> impl Iterator<Item = (K, u64, &Path)> + '_ {
        self.files
            .iter()
            .map(|(k, f)| (*k, f.read_end, f.path.as_path()))
    }

    /// Events handed to sinks and not yet acknowledged by all of them.
    pub fn unacked_events(&self) -> usize {
        self.pending.len()
    }

    pub fn stats(&self) -> &AckStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(list: &[u64]) -> SeqSet {
        let mut s = SeqSet::default();
        for &q in list {
            s.push(q);
        }
        s
    }

    fn pos(start: u64) -> LinePos<u8> {
        LinePos { file: 1, start }
    }

    #[test]
    fn offset_advances_only_past_fully_acked_prefix() {
        let mut t = AckTracker::new(2);
        t.open_file(1u8, 0, Path::new("/f"));
        for (s, e) in [(0, 10), (10, 20), (20, 30)] {
            t.register_line(1, s, e);
        }
        // Event 0 = lines 0 and 20 (interleaved records), event 1 = line 10.
        t.event_emitted(0, vec![pos(0), pos(20)]);
        t.event_emitted(1, vec![pos(10)]);
        assert_eq!(t.safe_offset(1), Some(0));
        t.sink_acked(&seqs(&[1]));
        t.sink_acked(&seqs(&[1]));
        // Line 10 done, line 0 not: still 0.
        assert_eq!(t.safe_offset(1), Some(0));
        t.sink_acked(&seqs(&[0]));
        assert_eq!(t.safe_offset(1), Some(0), "one sink of two is not enough");
        t.sink_acked(&seqs(&[0]));
        assert_eq!(t.safe_offset(1), Some(30));
        assert_eq!(t.unacked_events(), 0);
    }

    #[test]
    fn released_lines_and_unknown_acks() {
        let mut t = AckTracker::new(1);
        t.open_file(1u8, 100, Path::new("/f"));
        assert_eq!(t.safe_offset(1), Some(100));
        t.register_line(1, 100, 101);
        t.register_line(1, 101, 150);
        t.release_line(pos(100));
        assert_eq!(t.safe_offset(1), Some(101));
        t.event_emitted(7, vec![pos(101)]);
        t.sink_acked(&seqs(&[7, 8]));
        assert_eq!(t.safe_offset(1), Some(150));
        assert_eq!(t.stats().unknown_acks, 1);
    }

    #[test]
    fn events_sent_to_fewer_sinks_need_only_their_acks() {
        let mut t = AckTracker::new(2);
        t.open_file(1u8, 0, Path::new("/f"));
        t.register_line(1, 0, 10);
        t.register_line(1, 10, 20);
        t.event_emitted_to(0, vec![pos(0)], 1); // no alert: the alert-only sink never sees it
        t.event_emitted(1, vec![pos(10)]);
        t.sink_acked(&seqs(&[0, 1]));
        assert_eq!(t.safe_offset(1), Some(10));
        t.sink_acked(&seqs(&[1]));
        assert_eq!(t.safe_offset(1), Some(20));
    }

    #[test]
    fn events_without_lines_need_no_ack() {
        let mut t: AckTracker<u8> = AckTracker::new(3);
        t.event_emitted(0, Vec::new());
        assert_eq!(t.unacked_events(), 0);
        assert_eq!(t.stats().events_acked, 1);
    }
}
