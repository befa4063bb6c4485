//! The events still being assembled: a slab with O(1) lookup by (node, serial), O(1) removal, and
//! two age orders (all nodes, and per node), both oldest first.
//!
//! In: new events and lookups. Out: the events themselves when removed. No scans: every
//! operation is O(1) (hash map plus intrusive doubly linked lists over slab indices).

use std::collections::HashMap;
use std::time::Instant;

use auditrail_parsers::audit::AuditTime;

/// Slab index, or `NIL`.
pub type Index = u32;
const NIL: Index = Index::MAX;

/// When a later serial of the same node was first seen while this event was open.
#[derive(Debug, Clone, Copy)]
pub struct NewerSeen {
    pub at: Instant,
    /// The node's event counter at that moment (lookahead counts from here).
    pub events_before: u64,
}

/// An event being assembled.
#[derive(Debug)]
pub struct OpenEvent<T> {
    pub node: u32,
    pub serial: u64,
    pub pos: u64,
    pub epoch: u32,
    pub time: AuditTime,
    pub items: Vec<T>,
    pub created_at: Instant,
    pub newer_seen: Option<NewerSeen>,
    pub continuation: bool,
}

#[derive(Debug, Clone, Copy)]
struct Links {
    prev: Index,
    next: Index,
}

const UNLINKED: Links = Links {
    prev: NIL,
    next: NIL,
};

#[derive(Debug)]
struct Slot<T> {
    event: Option<OpenEvent<T>>,
    all: Links,
    by_node: Links,
}

#[derive(Debug, Clone, Copy)]
struct Ends {
    head: Index,
    tail: Index,
}

const EMPTY: Ends = Ends {
    head: NIL,
    tail: NIL,
};

#[derive(Debug)]
pub struct OpenEvents<T> {
    slots: Vec<Slot<T>>,
    free: Vec<Index>,
    index: HashMap<(u32, u64), Index>,
    all: Ends,
    by_node: Vec<Ends>,
    per_node_len: Vec<usize>,
    len: usize,
    /// The last key found or inserted: records of one event usually follow each other.
    recent: Option<((u32, u64), Index)>,
}

fn some(i: Index) -> Option<Index> {
    (i != NIL).then_some(i)
}

impl<T> OpenEvents<T> {
    pub fn new() -> Self {
        OpenEvents {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::new(),
            all: EMPTY,
            by_node: Vec::new(),
            per_node_len: Vec::new(),
            len: 0,
            recent: None,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Open events of `node`.
    pub fn len_of_node(&self, node: u32) -> usize {
        self.per_node_len.get(node as usize).copied().unwrap_or(0)
    }

    pub fn find(&mut self, node: u32, serial: u64) -> Option<Index> {
        let key = (node, serial);
        if let Some((k, i)) = self.recent {
            if k == key {
                return Some(i);
            }
        }
        let i = *self.index.get(&key)?;
        self.recent = Some((key, i));
        Some(i)
    }

    pub fn get(&self, i: Index) -> Option<&OpenEvent<T>> {
        self.slots.get(i as usize)?.event.as_ref()
    }

    pub fn get_mut(&mut self, i: Index) -> Option<&mut OpenEvent<T>> {
        self.slots.get_mut(i as usize)?.event.as_mut()
    }

    /// Oldest open event of all nodes.
    pub fn oldest(&self) -> Option<Index> {
        some(self.all.head)
    }

    /// Oldest open event of `node`.
    pub fn oldest_of_node(&self, node: u32) -> Option<Index> {
        some(self.by_node.get(node as usize)?.head)
    }

    /// The next newer open event of the same node.
    pub fn next_of_node(&self, i: Index) -> Option<Index> {
        some(self.slots.get(i as usize)?.by_node.next)
    }

    /// Adds `event` as the newest. The caller guarantees its key is not open yet.
    pub fn insert(&mut self, event: OpenEvent<T>) -> Index {
        let key = (event.node, event.serial);
        let node = event.node as usize;
        let slot = Slot {
            event: Some(event),
            all: UNLINKED,
            by_node: UNLINKED,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as Index
            }
        };
        // Link at the tail of the global order.
        self.slots[i as usize].all.prev = self.all.tail;
        match some(self.all.tail) {
            Some(t) => self.slots[t as usize].all.next = i,
            None => self.all.head = i,
        }
        self.all.tail = i;
        // And of the node's order.
        if self.by_node.len() <= node {
            self.by_node.resize(node + 1, EMPTY);
            self.per_node_len.resize(node + 1, 0);
        }
        let ends = &mut self.by_node[node];
        let old_tail = ends.tail;
        ends.tail = i;
        if old_tail == NIL {
            ends.head = i;
        }
        self.slots[i as usize].by_node.prev = old_tail;
        if old_tail != NIL {
            self.slots[old_tail as usize].by_node.next = i;
        }
        self.per_node_len[node] += 1;
        self.index.insert(key, i);
        self.recent = Some((key, i));
        self.len += 1;
        i
    }

    /// Takes event `i` out of every order.
    pub fn remove(&mut self, i: Index) -> Option<OpenEvent<T>> {
        let slot = self.slots.get_mut(i as usize)?;
        let event = slot.event.take()?;
        let (all, by_node) = (slot.all, slot.by_node);
        slot.all = UNLINKED;
        slot.by_node = UNLINKED;
        match some(all.prev) {
            Some(p) => self.slots[p as usize].all.next = all.next,
            None => self.all.head = all.next,
        }
        match some(all.next) {
            Some(n) => self.slots[n as usize].all.prev = all.prev,
            None => self.all.tail = all.prev,
        }
        let node = event.node as usize;
        match some(by_node.prev) {
            Some(p) => self.slots[p as usize].by_node.next = by_node.next,
            None => self.by_node[node].head = by_node.next,
        }
        match some(by_node.next) {
            Some(n) => self.slots[n as usize].by_node.prev = by_node.prev,
            None => self.by_node[node].tail = by_node.prev,
        }
        self.per_node_len[node] -= 1;
        let key = (event.node, event.serial);
        self.index.remove(&key);
        if self.recent.is_some_and(|(k, _)| k == key) {
            self.recent = None;
        }
        self.free.push(i);
        self.len -= 1;
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(node: u32, serial: u64) -> OpenEvent<u64> {
        OpenEvent {
            node,
            serial,
            pos: serial,
            epoch: 0,
            time: AuditTime::default(),
            items: vec![serial],
            created_at: Instant::now(),
            newer_seen: None,
            continuation: false,
        }
    }

    fn node_order(open: &OpenEvents<u64>, node: u32) -> Vec<u64> {
        let mut out = Vec::new();
        let mut cur = open.oldest_of_node(node);
        while let Some(i) = cur {
            out.push(open.get(i).map(|e| e.serial).unwrap_or(0));
            cur = open.next_of_node(i);
        }
        out
    }

    #[test]
    fn removal_keeps_both_orders_and_reuses_slots() {
        let mut open = OpenEvents::new();
        let a = open.insert(event(0, 1));
        let b = open.insert(event(1, 2));
        let c = open.insert(event(0, 3));
        let d = open.insert(event(0, 4));
        assert_eq!(node_order(&open, 0), vec![1, 3, 4]);
        assert_eq!(open.remove(c).map(|e| e.serial), Some(3));
        assert_eq!(node_order(&open, 0), vec![1, 4]);
        assert_eq!(open.find(0, 3), None);
        assert_eq!(open.remove(a).map(|e| e.serial), Some(1));
        assert_eq!(open.oldest(), Some(b));
        assert_eq!(open.len_of_node(0), 1);
        let e = open.insert(event(0, 5));
        assert_eq!(e, a, "a freed slot is reused");
        assert_eq!(node_order(&open, 0), vec![4, 5]);
        assert_eq!(open.find(0, 4), Some(d));
        assert!(open.remove(a).is_some());
        assert!(open.remove(a).is_none(), "removing twice is a no-op");
        assert_eq!(open.len(), 2);
    }
}
