//! A map with a size bound: inserting beyond `cap` forgets the oldest-inserted keys.
//!
//! Enters: keys and values. Leaves: lookups. Guarantees: never more than `cap` entries; each
//! operation is O(1) amortized (the insertion-order queue is compacted when stale keys pile up).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

#[derive(Debug)]
pub(crate) struct BoundedMap<K, V> {
    cap: usize,
    map: HashMap<K, (u64, V)>,
    /// Keys in insertion order with their insertion stamp; a stamp that no longer matches the
    /// map's is stale (the key was removed or re-inserted).
    order: VecDeque<(u64, K)>,
    next: u64,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    pub(crate) fn new(cap: usize) -> Self {
        BoundedMap {
            cap: cap.max(1),
            map: HashMap::new(),
            order: VecDeque::new(),
            next: 0,
        }
    }

    pub(crate) fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|(_, v)| v)
    }

    pub(crate) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k).map(|(_, v)| v)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Inserts (or replaces, making it the newest) and evicts the oldest beyond the bound.
    pub(crate) fn insert(&mut self, k: K, v: V) {
        let stamp = self.next;
        self.next += 1;
        self.map.insert(k.clone(), (stamp, v));
        self.order.push_back((stamp, k));
        while self.map.len() > self.cap {
            let Some((s, old)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|(cur, _)| *cur == s) {
                self.map.remove(&old);
            }
        }
        if self.order.len() > 2 * self.cap + 16 {
            let map = &self.map;
            self.order
                .retain(|(s, key)| map.get(key).is_some_and(|(cur, _)| cur == s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_cap_and_forgets_the_oldest() {
        let mut m = BoundedMap::new(3);
        for i in 0..10 {
            m.insert(i, i * 10);
        }
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(&9), Some(&90));
        assert_eq!(m.get(&6), None);
        // Re-inserting makes a key the newest.
        m.insert(7, 1);
        m.insert(100, 0);
        assert_eq!(m.get(&7), Some(&1));
        assert_eq!(m.get(&8), None);
        assert!(m.order.len() <= 2 * 3 + 16);
    }
}
