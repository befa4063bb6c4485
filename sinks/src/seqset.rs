//! [`SeqSet`]: a set of daemon event sequence numbers, stored as sorted, disjoint, non-adjacent
//! inclusive ranges.
//!
//! Enters: single seqs (`push`), ranges (`insert_range`) or other sets (`merge`), in any order.
//! Leaves: the ranges in ascending order (`ranges`), or every seq (`iter`).
//! Guarantees: the representation is canonical (two sets with the same members compare equal),
//! pushing increasing seqs is O(1) amortised, and nothing overflows at `u64::MAX`.

use std::ops::RangeInclusive;

/// A set of event seqs as sorted, merged inclusive ranges.
///
/// A sink may receive only a subset of all seqs (the daemon routes events), so a batch's set can
/// have holes; consecutive seqs collapse into one range.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SeqSet {
    /// Inclusive `(start, end)` pairs; sorted, and each starts at least 2 past the previous end.
    ranges: Vec<(u64, u64)>,
}

impl SeqSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one seq (a no-op when already present).
    pub fn push(&mut self, seq: u64) {
        self.insert_range(seq, seq);
    }

    /// Adds every seq in `start..=end`; an empty range (`start > end`) adds nothing.
    pub fn insert_range(&mut self, start: u64, end: u64) {
        if start > end {
            return;
        }
        // Fast path: appending at or touching the end (the common, in-order case).
        match self.ranges.last_mut() {
            None => {
                self.ranges.push((start, end));
                return;
            }
            Some(last) if start > last.1.saturating_add(1) => {
                self.ranges.push((start, end));
                return;
            }
            Some(last) if start >= last.0 => {
                last.1 = last.1.max(end);
                return;
            }
            Some(_) => {}
        }
        // General case: ranges[first..past] overlap or touch [start, end]; replace them by one.
        let first = self
            .ranges
            .partition_point(|&(_, e)| e.saturating_add(1) < start);
        let past = self
            .ranges
            .partition_point(|&(s, _)| s <= end.saturating_add(1));
        if first >= past {
            self.ranges.insert(first, (start, end));
            return;
        }
        let merged = (
            start.min(self.ranges[first].0),
            end.max(self.ranges[past - 1].1),
        );
        self.ranges.splice(first..past, std::iter::once(merged));
    }

    /// Adds every member of `other`.
    pub fn merge(&mut self, other: &SeqSet) {
        for &(start, end) in &other.ranges {
            self.insert_range(start, end);
        }
    }

    /// The ranges in ascending order; adjacent seqs are always in one range.
    pub fn ranges(&self) -> impl ExactSizeIterator<Item = RangeInclusive<u64>> + '_ {
        self.ranges.iter().map(|&(start, end)| start..=end)
    }

    /// Number of ranges (not of seqs).
    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// Number of seqs in the set (saturates at `u64::MAX` for the full range).
    pub fn len(&self) -> u64 {
        self.ranges.iter().fold(0u64, |total, &(start, end)| {
            total.saturating_add((end - start).saturating_add(1))
        })
    }

    /// True when the set has no member.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// True when `seq` is a member.
    pub fn contains(&self, seq: u64) -> bool {
        let index = self.ranges.partition_point(|&(_, end)| end < seq);
        self.ranges
            .get(index)
            .is_some_and(|&(start, _)| start <= seq)
    }

    /// The smallest member.
    pub fn first(&self) -> Option<u64> {
        self.ranges.first().map(|&(start, _)| start)
    }

    /// The largest member.
    pub fn last(&self) -> Option<u64> {
        self.ranges.last().map(|&(_, end)| end)
    }

    /// Every member in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.ranges().flatten()
    }
}

impl FromIterator<u64> for SeqSet {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        let mut set = SeqSet::new();
        set.extend(iter);
        set
    }
}

impl Extend<u64> for SeqSet {
    fn extend<I: IntoIterator<Item = u64>>(&mut self, iter: I) {
        for seq in iter {
            self.push(seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn ranges(set: &SeqSet) -> Vec<(u64, u64)> {
        set.ranges().map(|r| (*r.start(), *r.end())).collect()
    }

    #[test]
    fn consecutive_pushes_collapse_into_one_range() {
        let set: SeqSet = (5..=9).collect();
        assert_eq!(ranges(&set), vec![(5, 9)]);
        assert_eq!(set.len(), 5);
    }

    #[test]
    fn holes_make_separate_ranges_and_filling_a_hole_joins_them() {
        let mut set: SeqSet = [1, 2, 4, 5, 9].into_iter().collect();
        assert_eq!(ranges(&set), vec![(1, 2), (4, 5), (9, 9)]);
        set.push(3);
        assert_eq!(ranges(&set), vec![(1, 5), (9, 9)]);
        set.push(7);
        assert_eq!(ranges(&set), vec![(1, 5), (7, 7), (9, 9)]);
        set.insert_range(6, 8);
        assert_eq!(ranges(&set), vec![(1, 9)]);
    }

    #[test]
    fn merge_unions_two_sets() {
        let mut a: SeqSet = [1, 2, 10, 11].into_iter().collect();
        let b: SeqSet = [3, 5, 9, 20].into_iter().collect();
        a.merge(&b);
        assert_eq!(ranges(&a), vec![(1, 3), (5, 5), (9, 11), (20, 20)]);
        assert_eq!(a.len(), 8);
        assert!(a.contains(10) && !a.contains(4) && !a.contains(21));
        assert_eq!((a.first(), a.last()), (Some(1), Some(20)));
    }

    #[test]
    fn extremes_do_not_overflow() {
        let mut set = SeqSet::new();
        set.push(u64::MAX);
        set.push(u64::MAX - 1);
        set.push(0);
        assert_eq!(ranges(&set), vec![(0, 0), (u64::MAX - 1, u64::MAX)]);
        set.insert_range(0, u64::MAX);
        assert_eq!(set.len(), u64::MAX);
        assert_eq!(set.range_count(), 1);
        set.insert_range(9, 3);
        assert_eq!(set.range_count(), 1);
    }

    proptest! {
        #[test]
        fn behaves_like_a_btreeset(
            pushes in proptest::collection::vec(0u64..200, 0..200),
            ranges_in in proptest::collection::vec((0u64..200, 0u64..20), 0..10),
        ) {
            let mut set = SeqSet::new();
            let mut model = BTreeSet::new();
            for seq in pushes {
                set.push(seq);
                model.insert(seq);
            }
            let mut other = SeqSet::new();
            for (start, len) in ranges_in {
                other.insert_range(start, start + len);
                model.extend(start..=start + len);
            }
            set.merge(&other);
            prop_assert_eq!(set.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(set.len(), model.len() as u64);
            for w in ranges(&set).windows(2) {
                prop_assert!(w[0].1 + 1 < w[1].0, "ranges not merged: {:?}", w);
            }
            for probe in 0..230 {
                prop_assert_eq!(set.contains(probe), model.contains(&probe));
            }
        }
    }
}
