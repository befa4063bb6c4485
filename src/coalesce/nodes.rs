//! The nodes (`node=NAME` prefixes, or none) seen so far, each with its serial tracker and
//! counters. Bounded: at most [`MAX_NODES`]; the owner evicts one to make room.
//!
//! In: a node name per record. Out: a small stable id (slot) per node, reused after eviction.

use std::collections::HashMap;
use std::time::Instant;

use super::serials::SerialTracker;

/// Most nodes tracked at once (each costs its serial window: 16 KiB at the default 4096).
pub const MAX_NODES: usize = 1024;

#[derive(Debug)]
pub struct Node {
    pub name: Option<Box<[u8]>>,
    pub serials: SerialTracker,
    /// Events started on this node (lookahead counts these).
    pub events: u64,
    pub last_activity: Option<Instant>,
    /// Lost serials found but not yet reported.
    pub pending_lost: u64,
    /// Table use counter at the last record (for eviction).
    pub last_used: u64,
}

#[derive(Debug)]
pub struct NodeTable {
    nodes: Vec<Option<Node>>,
    free: Vec<u32>,
    by_name: HashMap<Box<[u8]>, u32>,
    unnamed: Option<u32>,
    recent: Option<u32>,
    window: usize,
    uses: u64,
}

/// Outcome of [`NodeTable::lookup`].
pub enum Lookup {
    Found(u32),
    /// Not known and the table is full: evict one, then [`NodeTable::insert`].
    Full,
    /// Not known, room left: [`NodeTable::insert`].
    Absent,
}

impl NodeTable {
    pub fn new(window: usize) -> Self {
        NodeTable {
            nodes: Vec::new(),
            free: Vec::new(),
            by_name: HashMap::new(),
            unnamed: None,
            recent: None,
            window,
            uses: 0,
        }
    }

    pub fn lookup(&mut self, name: Option<&[u8]>) -> Lookup {
        self.uses += 1;
        let found = match self
            .recent
            .and_then(|i| self.nodes.get(i as usize)?.as_ref())
        {
            Some(n) if n.name.as_deref() == name => self.recent,
            _ => match name {
                None => self.unnamed,
                Some(name) => self.by_name.get(name).copied(),
            },
        };
        match found {
            Some(i) => {
                self.recent = Some(i);
                let uses = self.uses;
                if let Some(n) = self.get_mut(i) {
                    n.last_used = uses;
                }
                Lookup::Found(i)
            }
            None if self.len() >= MAX_NODES => Lookup::Full,
            None => Lookup::Absent,
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len() - self.free.len()
    }

    /// Ids are below this (some may be free).
    pub fn slot_count(&self) -> u32 {
        self.nodes.len() as u32
    }

    pub fn insert(&mut self, name: Option<&[u8]>) -> u32 {
        let node = Node {
            name: name.map(Box::from),
            serials: SerialTracker::new(self.window),
            events: 0,
            last_activity: None,
            pending_lost: 0,
            last_used: self.uses,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = Some(node);
                i
            }
            None => {
                self.nodes.push(Some(node));
                (self.nodes.len() - 1) as u32
            }
        };
        match name {
            None => self.unnamed = Some(i),
            Some(name) => {
                self.by_name.insert(Box::from(name), i);
            }
        }
        self.recent = Some(i);
        i
    }

    pub fn remove(&mut self, i: u32) -> Option<Node> {
        let node = self.nodes.get_mut(i as usize)?.take()?;
        match &node.name {
            None => self.unnamed = None,
            Some(name) => {
                self.by_name.remove(name);
            }
        }
        if self.recent == Some(i) {
            self.recent = None;
        }
        self.free.push(i);
        Some(node)
    }

    pub fn get(&self, i: u32) -> Option<&Node> {
        self.nodes.get(i as usize)?.as_ref()
    }

    pub fn get_mut(&mut self, i: u32) -> Option<&mut Node> {
        self.nodes.get_mut(i as usize)?.as_mut()
    }

    /// Ids of all nodes, in slot order.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_some())
            .map(|(i, _)| i as u32)
    }

    /// The least recently used node among those `evictable` accepts, else the least recently
    /// used of all. O(nodes): only when the table is full and a new node appears.
    pub fn eviction_victim(&self, evictable: impl Fn(u32) -> bool) -> Option<u32> {
        let by_age = |pick_any: bool| {
            self.ids()
                .filter(|&i| pick_any || evictable(i))
                .min_by_key(|&i| self.get(i).map_or(0, |n| n.last_used))
        };
        by_age(false).or_else(|| by_age(true))
    }
}
