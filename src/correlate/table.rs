//! The process table: pid → what the audit log (and, live, `/proc`) says about that process,
//! with the labels it inherited (SSM session, agent session, agent tool call).
//!
//! Enters: facts from audit events (a successful execve replaces a process image; any other
//! syscall record shows that a pid exists) and, in live mode, `/proc` snapshots. Leaves:
//! entries, [`ProcessInfo`]/[`ProcessRef`] views and ancestry chains. Guarantees: at most
//! `max_processes` entries (exited ones, then least recently used, go first); a pid that shows up
//! with another parent is a new process (pid reuse), except a re-parenting to pid 1 with the same
//! audit session and uid; an entry read from `/proc` is used only for live events and only if the
//! process started before the event (a reused pid is not mistaken for the one the event meant).

use std::collections::HashMap;
use std::sync::Arc;

use auditrail_parsers::event::rfc3339_millis;
use auditrail_parsers::execve::shell_quote;

use super::bounded::BoundedMap;
use super::procfs::{ProcReader, ProcSnapshot};
use super::ssm::SsmMatcher;
use super::{ProcessInfo, ProcessRef, SsmSession};

/// An agent tool call's id in [`super::agent`].
pub(crate) type CallId = u64;

/// At most this many arguments, and this many bytes of them, are kept per process.
const MAX_ARGS: usize = 64;
const MAX_ARG_BYTES: usize = 2048;
/// A parent's command line in `parent` is cut to this many bytes.
const PARENT_CMDLINE_BYTES: usize = 256;
/// `/proc` start times are whole-second accurate; a process "started after the event" only if
/// it did so by more than this.
const PROC_START_SLACK_MS: i64 = 1000;
/// A pid `/proc` did not have is not looked up again for this long (event time), nor are more
/// than this many misses remembered.
const PROC_MISS_TTL_MS: u64 = 1000;
const MAX_PROC_MISSES: usize = 1024;
/// How far up [`ProcessTable::agent_of`] looks for an agent label.
const AGENT_WALK: usize = 8;
/// How far up a chain of unknown parents `/proc` is followed, and labels are looked for.
const MAX_WALK: usize = 32;

/// Labels a process inherits from its parent when it is created, and keeps across `exec`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Labels {
    pub ssm: Option<Arc<SsmSession>>,
    /// Set on an agent process once one of its tool calls is joined to a verdict.
    pub agent: Option<Arc<AgentLabel>>,
    /// The agent tool call (its Bash shell) this process belongs to.
    pub call: Option<CallId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AgentLabel {
    pub session_id: String,
    pub agent_pid: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Audit,
    Proc,
}

/// What one audit record says about its process.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    pub pid: u32,
    pub ppid: Option<u32>,
    pub exe: Option<String>,
    pub comm: Option<String>,
    /// Already capped by [`cap_args`].
    pub args: Vec<String>,
    pub args_truncated: bool,
    pub cwd: Option<String>,
    pub uid: Option<u32>,
    pub euid: Option<u32>,
    pub gid: Option<u32>,
    pub auid: Option<u32>,
    pub ses: Option<u32>,
    pub tty: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub facts: Facts,
    /// The execve's time (audit) or the process's start (`/proc`), ms since the epoch.
    pub start_ms: i64,
    pub origin: Origin,
    pub exited: bool,
    pub labels: Labels,
    touched: u64,
}

/// The time and liveness of the event a lookup is made for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub time_ms: i64,
    /// `/proc` may be consulted for this event.
    pub live: bool,
}

#[derive(Debug)]
pub(crate) struct ProcessTable {
    entries: HashMap<u32, Entry>,
    cap: usize,
    clock: u64,
    proc: Option<ProcReader>,
    ssm: SsmMatcher,
    /// Pids `/proc` could not give (gone, or newer than the event), with the event time of the
    /// miss: not read again for events within [`PROC_MISS_TTL_MS`] of it.
    proc_misses: BoundedMap<u32, i64>,
}

impl ProcessTable {
    pub(crate) fn new(cap: usize, proc: Option<ProcReader>, ssm: SsmMatcher) -> Self {
        ProcessTable {
            entries: HashMap::new(),
            cap: cap.max(8),
            clock: 0,
            proc,
            ssm,
            proc_misses: BoundedMap::new(MAX_PROC_MISSES),
        }
    }

    pub(crate) fn has_proc(&self) -> bool {
        self.proc.is_some()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Fills the table with every process in `/proc`, parents before children.
    pub(crate) fn seed_from_proc(&mut self, now_ms: i64) {
        let Some(proc) = &self.proc else { return };
        let mut snaps: Vec<ProcSnapshot> = proc
            .pids()
            .into_iter()
            .take(self.cap)
            .filter_map(|p| proc.read(p))
            .collect();
        snaps.sort_by_key(|s| (s.start_ms, s.pid));
        let ctx = Ctx {
            time_ms: now_ms,
            live: true,
        };
        for s in snaps {
            self.insert_snapshot(s, ctx);
        }
    }

    /// The entry for `pid` that is valid for an event at `ctx`.
    pub(crate) fn get(&self, pid: u32, ctx: Ctx) -> Option<&Entry> {
        self.entries.get(&pid).filter(|e| valid(e, ctx))
    }

    pub(crate) fn get_mut(&mut self, pid: u32, ctx: Ctx) -> Option<&mut Entry> {
        self.entries.get_mut(&pid).filter(|e| valid(e, ctx))
    }

    /// Makes sure `pid` is known, reading it (and unknown ancestors) from `/proc` if allowed.
    pub(crate) fn resolve(&mut self, pid: u32, ctx: Ctx) -> bool {
        if pid == 0 {
            return false;
        }
        let mut missing = Vec::new();
        let mut cur = pid;
        for _ in 0..MAX_WALK {
            if self.get(cur, ctx).is_some() || !ctx.live {
                break;
            }
            let recent_miss = self
                .proc_misses
                .get(&cur)
                .is_some_and(|t| t.abs_diff(ctx.time_ms) < PROC_MISS_TTL_MS);
            let snap = match self.proc.as_ref().filter(|_| !recent_miss) {
                Some(p) => p.read(cur),
                None => None,
            };
            // Gone, or a newer process reusing the pid.
            let Some(snap) =
                snap.filter(|s| s.start_ms <= ctx.time_ms.saturating_add(PROC_START_SLACK_MS))
            else {
                if !recent_miss {
                    self.proc_misses.insert(cur, ctx.time_ms);
                }
                break;
            };
            cur = snap.ppid;
            missing.push(snap);
            if cur == 0 {
                break;
            }
        }
        for snap in missing.into_iter().rev() {
            self.insert_snapshot(snap, ctx);
        }
        self.touch(pid);
        self.get(pid, ctx).is_some()
    }

    /// A successful execve: `facts.pid` now runs a new image. Same process (labels kept) if the
    /// parent is the same; otherwise a new process inheriting its parent's labels.
    pub(crate) fn exec(&mut self, facts: Facts, ctx: Ctx) {
        let same = self
            .get(facts.pid, ctx)
            .filter(|e| same_process(e, &facts))
            .map(|e| e.labels.clone());
        let mut labels = match same {
            Some(l) => l,
            None => self.parent_labels(facts.ppid, ctx),
        };
        if let Some(s) = self
            .ssm
            .detect(facts.pid, facts.exe.as_deref(), &facts.args)
        {
            labels.ssm = Some(Arc::new(s));
        }
        self.insert(facts, ctx.time_ms, Origin::Audit, labels);
    }

    /// Any other syscall record: the pid exists with this parent. Creates an entry (labels from
    /// the parent) if the table has none for this process; otherwise only marks it used.
    pub(crate) fn observe(&mut self, facts: Facts, ctx: Ctx, exited: bool) {
        let pid = facts.pid;
        let known = self.get(pid, ctx).is_some_and(|e| same_process(e, &facts));
        if !known {
            let labels = self.parent_labels(facts.ppid, ctx);
            self.insert(facts, ctx.time_ms, Origin::Audit, labels);
        }
        self.touch(pid);
        if let Some(e) = self.entries.get_mut(&pid) {
            e.exited |= exited;
        }
    }

    fn parent_labels(&mut self, ppid: Option<u32>, ctx: Ctx) -> Labels {
        match ppid {
            Some(pp) if self.resolve(pp, ctx) => self
                .get(pp, ctx)
                .map(|e| e.labels.clone())
                .unwrap_or_default(),
            _ => Labels::default(),
        }
    }

    fn insert_snapshot(&mut self, s: ProcSnapshot, ctx: Ctx) {
        let mut labels = self.parent_labels(Some(s.ppid), ctx);
        if let Some(ssm) = self.ssm.detect(s.pid, s.exe.as_deref(), &s.args) {
            labels.ssm = Some(Arc::new(ssm));
        }
        let (args, args_truncated) = cap_args(&s.args);
        let facts = Facts {
            pid: s.pid,
            ppid: Some(s.ppid),
            exe: s.exe,
            comm: s.comm,
            args,
            args_truncated,
            cwd: None,
            uid: s.uid,
            euid: s.euid,
            gid: s.gid,
            auid: s.auid,
            ses: s.ses,
            tty: None,
        };
        self.insert(facts, s.start_ms, Origin::Proc, labels);
    }

    fn insert(&mut self, facts: Facts, start_ms: i64, origin: Origin, labels: Labels) {
        self.clock += 1;
        let pid = facts.pid;
        self.entries.insert(
            pid,
            Entry {
                facts,
                start_ms,
                origin,
                exited: false,
                labels,
                touched: self.clock,
            },
        );
        if self.entries.len() > self.cap {
            self.evict();
        }
    }

    fn touch(&mut self, pid: u32) {
        self.clock += 1;
        if let Some(e) = self.entries.get_mut(&pid) {
            e.touched = self.clock;
        }
    }

    /// Drops an eighth of the table: exited entries first, then the least recently used.
    fn evict(&mut self) {
        let mut order: Vec<(bool, u64, u32)> = self
            .entries
            .values()
            .map(|e| (!e.exited, e.touched, e.facts.pid))
            .collect();
        order.sort_unstable();
        let excess = self.entries.len().saturating_sub(self.cap - self.cap / 8);
        for (_, _, pid) in order.into_iter().take(excess) {
            self.entries.remove(&pid);
        }
    }

    /// `parent` and `ancestry` of a process whose parent is `ppid`: the chain of ancestors,
    /// nearest first, at most `depth` long; an unknown link ends it as `{pid, unknown: true}`.
    pub(crate) fn ancestry(
        &mut self,
        ppid: Option<u32>,
        ctx: Ctx,
        depth: usize,
    ) -> (Option<ProcessRef>, Vec<ProcessRef>) {
        let mut chain = Vec::new();
        let mut parent = None;
        let mut cur = ppid;
        while let Some(pp) = cur {
            if pp == 0 || chain.len() >= depth {
                break;
            }
            if !self.resolve(pp, ctx) {
                let unknown = ProcessRef {
                    pid: pp,
                    unknown: true,
                    ..ProcessRef::default()
                };
                parent.get_or_insert_with(|| unknown.clone());
                chain.push(unknown);
                break;
            }
            let Some(e) = self.get(pp, ctx) else { break };
            if parent.is_none() {
                parent = Some(e.parent_ref());
            }
            chain.push(ProcessRef {
                pid: pp,
                exe: e.facts.exe.clone(),
                ..ProcessRef::default()
            });
            cur = e.facts.ppid.filter(|&next| next != pp);
        }
        (parent, chain)
    }

    /// The agent session `pid` runs under: its own label or the nearest ancestor's (labels are
    /// copied to children when they appear, so this walk only matters for processes that
    /// appeared before their agent was known; a few levels suffice).
    pub(crate) fn agent_of(&self, pid: u32, ctx: Ctx) -> Option<Arc<AgentLabel>> {
        let mut cur = Some(pid);
        for _ in 0..AGENT_WALK {
            let e = self.get(cur?, ctx)?;
            if let Some(a) = &e.labels.agent {
                return Some(a.clone());
            }
            cur = e.facts.ppid.filter(|&p| p != 0 && Some(p) != cur);
        }
        None
    }
}

/// Is the process in `e` the one `facts` describe (rather than a new one reusing the pid)?
fn same_process(e: &Entry, facts: &Facts) -> bool {
    let f = &e.facts;
    if f.ppid == facts.ppid || facts.ppid.is_none() {
        return true;
    }
    // Re-parented to init after its parent died: the audit session and uid survive.
    facts.ppid == Some(1) && f.ses.is_some() && f.ses == facts.ses && f.uid == facts.uid
}

fn valid(e: &Entry, ctx: Ctx) -> bool {
    match e.origin {
        Origin::Audit => true,
        Origin::Proc => ctx.live && e.start_ms <= ctx.time_ms.saturating_add(PROC_START_SLACK_MS),
    }
}

/// At most [`MAX_ARGS`] arguments and [`MAX_ARG_BYTES`] bytes of `args`; true if anything was
/// cut.
pub(crate) fn cap_args(args: &[String]) -> (Vec<String>, bool) {
    let mut out = Vec::with_capacity(args.len().min(MAX_ARGS));
    let mut budget = MAX_ARG_BYTES;
    for a in args.iter().take(MAX_ARGS) {
        if a.len() > budget {
            let mut part = a.clone();
            truncate_at_char(&mut part, budget);
            if !part.is_empty() {
                out.push(part);
            }
            return (out, true);
        }
        budget -= a.len();
        out.push(a.clone());
    }
    (out, args.len() > MAX_ARGS)
}

pub(crate) fn truncate_at_char(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

fn command_line(args: &[String]) -> Option<String> {
    if args.is_empty() {
        return None;
    }
    let bytes: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    Some(shell_quote(&bytes))
}

impl Entry {
    /// The full view of this process (the subject of an event).
    pub(crate) fn info(&self) -> ProcessInfo {
        let f = &self.facts;
        ProcessInfo {
            pid: f.pid,
            ppid: f.ppid,
            exe: f.exe.clone(),
            comm: f.comm.clone(),
            args: f.args.clone(),
            command_line: command_line(&f.args),
            args_truncated: f.args_truncated,
            cwd: f.cwd.clone(),
            uid: f.uid,
            euid: f.euid,
            gid: f.gid,
            auid: f.auid,
            ses: f.ses,
            tty: f.tty.clone(),
            start_time: u64::try_from(self.start_ms).ok().map(rfc3339_millis),
            known_from: match self.origin {
                Origin::Audit => "audit",
                Origin::Proc => "proc",
            },
            user: None,
            audit_user: None,
        }
    }

    /// A short view for `parent`: pid, exe and a command line cut to 256 bytes.
    pub(crate) fn parent_ref(&self) -> ProcessRef {
        let mut cl = command_line(&self.facts.args);
        if let Some(c) = &mut cl {
            truncate_at_char(c, PARENT_CMDLINE_BYTES);
        }
        ProcessRef {
            pid: self.facts.pid,
            exe: self.facts.exe.clone(),
            command_line: cl,
            unknown: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_are_capped_on_char_boundaries() {
        let a: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let (c, cut) = cap_args(&a);
        assert!(cut);
        assert_eq!(c.len(), MAX_ARGS);
        let (c, cut) = cap_args(&["x".repeat(2000), "é".repeat(100)]);
        assert!(cut);
        assert_eq!(c.len(), 2);
        assert!(c[1].len() <= 48 && c[1].chars().all(|c| c == 'é'));
        let (c, cut) = cap_args(&["ls".to_string(), "-l".to_string()]);
        assert!(!cut);
        assert_eq!(c, ["ls", "-l"]);
    }
}
