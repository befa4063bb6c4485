//! Correlation: joins every event to the process tree, the SSM session, the agent tool call and
//! the shell behind a history line.
//!
//! Enters: built events in input order ([`Correlator::correlate`]), a clock tick
//! ([`Correlator::tick`]) and shutdown ([`Correlator::flush`]). Leaves: the same events, each
//! exactly once, with `process`, `parent`, `ancestry`, `ssm` and `agent` filled where known (and
//! `history.repeat`/`duplicate_of`). Guarantees: bounded memory (process table, maps, held
//! events); an event waits at most `hold_ms` (and only while fewer than `max_held` wait); events
//! of one source leave in input order; no panics on any input.
//!
//! # What gets what (JSON names)
//! - **Audit events with a SYSCALL** (execve or any other syscall): `process` {`pid`, `ppid`,
//!   `exe`, `comm`, `args`, `command_line`, `args_truncated`, `cwd`, `uid`, `euid`, `gid`, `auid`,
//!   `ses`, `tty`, `start_time`, `known_from` (`audit`|`proc`|`verdict`), `user`, `audit_user`
//!   (the last two are left to enrichment)}; `parent` {`pid`, `exe`, `command_line` (≤256
//!   bytes)}; `ancestry` [{`pid`, `exe`}…] nearest first, at most `ancestry_depth`. Where the
//!   chain breaks (a parent that never exec'd, offline), the last element is `{pid, "unknown":
//!   true}` — "ancestry unknown from here", never a guess; `parent` is then that same element.
//!   Unset ids (4294967295) are omitted.
//! - `ssm` {`session_id`, `principal`, `worker_pid`, `matched_by`: `ancestry` | `audit_session`}
//!   on every event whose process descends from an SSM session worker (the worker included), or
//!   whose audit `ses` was seen inside a session before.
//! - `agent` {`session_id`, `tool_use_id`, `tool`, `relation`, `agent_pid`, `decisions`
//!   [{`hook`, `event`, `decision`, `reason`}], `exec_seen`, `denied_but_executed`}. `relation`:
//!   `tool_call` (the Bash tool's wrapper execve, joined to its verdicts: it alone carries
//!   `decisions`), `tool_call_descendant` (processes under that wrapper), `agent_process` (the
//!   agent itself) and `agent_descendant` (under it, outside a joined tool call) once a join has
//!   shown which process is the agent, `verdict`
//!   (a `hook_verdict` event: all verdicts of its `tool_use_id` known so far in `decisions`;
//!   `exec_seen` for a Bash PreToolUse verdict: whether its execve had been seen when it was
//!   shipped — `false` is the "denied/asked and never ran" case).
//! - **`agent.denied_but_executed: true`** (the `hook_bypass` alert keys on it): a tool call with
//!   a PreToolUse `deny` verdict whose execve happened anyway. Set on exactly one event per such
//!   tool call: the wrapper execve if the deny was known when it left, else the deny verdict.
//! - **History events**: `process`/`parent`/`ancestry`/`ssm`/`agent` of the *shell*: the seed's
//!   line names its `logger` (`bash[PID]`), whose execve argv carries the same `USER:TTY:COMMAND`
//!   and whose parent is the shell; bash's own `HISTORY: PID=…` names the shell directly.
//! - **Hook verdict events**: `process` is the hook process (verdict `pid`, if the table knows it
//!   with parent `ppid`; else `{pid, ppid, known_from: "verdict"}`), with its ancestry and `ssm`.
//!
//! # Decisions
//! - **Process table** (`table`): fed by successful execve (SYSCALL+EXECVE) and, to know that a
//!   pid exists, by every other SYSCALL record. A pid seen with another parent is a new process
//!   (pid reuse) unless re-parented to pid 1 with the same `ses` and uid. Labels (SSM session,
//!   agent session, tool call) are copied from the parent when a process is first seen and kept
//!   across exec. An `exit_group` record marks the entry exited (evicted first); nothing is
//!   removed sooner, because history lines arrive after their `logger` has exited.
//! - **Live vs offline** (`[correlate] proc`): `/proc` is read (seeding at start, and on a miss,
//!   following unknown parents up) only for events stamped within `live_window_ms` of the wall
//!   clock, and a `/proc` process that started after the event is not used (pid reuse). A
//!   replayed file therefore gets `unknown` links, not guesses.
//! - **Waiting** (`hold`): a Bash PreToolUse verdict waits for its execve, audit events under a
//!   not-yet-joined wrapper wait for its verdict, a seed history line waits for its logger's
//!   execve — each at most `hold_ms`, one FIFO per source, and only if the partner's source is
//!   configured ([`Correlator::with_sources`]). Joins made after an event left still label later
//!   events (the tool call stays joinable for `tool_call_window_ms`).
//! - **Agent join** (`agent`, `wrapper`): see those modules; the hook's own process and its
//!   `sh -c` are not labelled as the tool call (they ran before it), but get `agent_descendant`
//!   once the agent is known. Joined tool calls whose verdict came late (after the wrapper left)
//!   still label the wrapper's later descendants.
//! - **Memory**: process table `max_processes`; held events `max_held`; tool calls, wrapper
//!   calls, `ses` ids, shells' last history lines and `/proc` misses 1024–4096 each, oldest
//!   forgotten first.

mod agent;
mod bounded;
mod history;
mod hold;
mod observe;
mod procfs;
mod settings;
mod ssm;
mod table;
mod wrapper;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use auditrail_parsers::hook::{Decision, HookEvent};

pub use self::settings::{CorrelateSettings, ProcMode, DEFAULT_SSM_SESSION_ID_PATTERN};

use self::agent::AgentState;
use self::history::Repeats;
use self::hold::Queues;
use self::ssm::{SesMap, SsmMatcher};
use self::table::{Ctx, ProcessTable};

/// The process that ran an event's command (see the module doc for the fields).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    /// At most 64 arguments and 2 KiB of them (`args_truncated` says if cut).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// `args` as one POSIX shell command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub args_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub euid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ses: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    /// When the current program image started (the execve), or for a process read from `/proc`
    /// when the process started. RFC 3339 UTC, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Where these facts come from: `audit`, `proc` or `verdict`.
    pub known_from: &'static str,
    /// Name of `uid` (filled by enrichment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Name of `auid` (filled by enrichment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_user: Option<String>,
}

/// A short reference to another process (parent, ancestor).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ProcessRef {
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// Parent only: its command line, cut to 256 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    /// Nothing is known about this pid (it never exec'd, or its exec predates the log): the
    /// chain ends here.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unknown: bool,
}

/// The SSM session an event belongs to.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SsmSession {
    /// The worker's `argv[1]`, e.g. `alice-0a1b2c3d4e5f67890`.
    pub session_id: String,
    /// The part before the 17 hex digits (the pattern's `principal` group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_pid: Option<u32>,
    /// `ancestry` (descends from the worker) or `audit_session` (its `ses` was seen in one).
    pub matched_by: &'static str,
}

/// One hook's verdict on a tool call.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AgentDecision {
    pub hook: String,
    pub event: HookEvent,
    pub decision: Decision,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The agent session and tool call an event belongs to (see the module doc).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AgentContext {
    pub session_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// `tool_call`, `tool_call_descendant`, `agent_descendant` or `verdict`.
    pub relation: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_pid: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<AgentDecision>,
    /// Verdict events of a Bash PreToolUse: whether the command's execve had been seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec_seen: Option<bool>,
    /// A PreToolUse hook said `deny` and the command ran anyway (alert `hook_bypass`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub denied_but_executed: bool,
}

/// An event and the input lines it was built from, as the process stage hands them around.
pub type Pending = (
    crate::event::Event,
    Vec<crate::acks::LinePos<crate::source::FileId>>,
);

/// Joins events to the process tree, SSM sessions, agent tool calls and history (module doc).
#[derive(Debug)]
pub struct Correlator {
    enabled: bool,
    proc_mode: ProcMode,
    live_window_ms: u64,
    hold: Duration,
    ancestry_depth: usize,
    table: ProcessTable,
    ses: SesMap,
    agent: AgentState,
    repeats: Repeats,
    held: Queues,
    /// An audit source is configured: verdicts and history lines may wait for an execve.
    audit_source: bool,
    /// A hook verdict source is configured: a tool call's execve may wait for its verdict.
    verdict_source: bool,
    /// Wall clock, ms since the epoch (replaceable in tests).
    wall_ms: fn() -> i64,
}

impl Default for Correlator {
    fn default() -> Self {
        Correlator::new(&CorrelateSettings::default())
    }
}

impl Correlator {
    /// A correlator with these settings; reads `/proc` once to seed the table unless `proc` is
    /// `never` (or there is no procfs at `proc_root`).
    pub fn new(s: &CorrelateSettings) -> Self {
        let proc = match s.proc {
            ProcMode::Never => None,
            ProcMode::Auto | ProcMode::Always if s.enabled => procfs::ProcReader::new(&s.proc_root),
            _ => None,
        };
        let mut table = ProcessTable::new(s.max_processes, proc, SsmMatcher::new(s));
        let wall_ms = wall_clock_ms;
        table.seed_from_proc(wall_ms());
        Correlator {
            enabled: s.enabled,
            proc_mode: s.proc,
            live_window_ms: s.live_window_ms,
            hold: Duration::from_millis(s.hold_ms),
            ancestry_depth: s.ancestry_depth.clamp(1, 64),
            table,
            ses: SesMap::new(),
            agent: AgentState::new(s.tool_call_window_ms),
            repeats: Repeats::new(),
            held: Queues::new(s.max_held),
            audit_source: true,
            verdict_source: true,
            wall_ms,
        }
    }

    /// Says which sources feed this correlator (both by default): without an audit source no
    /// event waits for an execve, without a hook verdict source no execve waits for a verdict.
    pub fn with_sources(mut self, audit: bool, hook_verdicts: bool) -> Self {
        self.audit_source = audit;
        self.verdict_source = hook_verdicts;
        self
    }

    /// Takes events in input order; returns those ready to ship (possibly fewer: some may be held
    /// briefly for a join, and released by a later call or [`Correlator::tick`]).
    pub fn correlate(&mut self, events: Vec<Pending>, now: Instant) -> Vec<Pending> {
        if !self.enabled {
            return events;
        }
        let deadline = now.checked_add(self.hold).unwrap_or(now);
        for (mut ev, lines) in events {
            let (wait, note) = self.observe(&mut ev);
            self.held.push(hold::Held {
                pending: (ev, lines),
                wait,
                note,
                deadline,
            });
        }
        self.release(Some(now))
    }

    /// Releases held events whose wait is over.
    pub fn tick(&mut self, now: Instant) -> Vec<Pending> {
        self.release(Some(now))
    }

    /// Releases everything (shutdown).
    pub fn flush(&mut self) -> Vec<Pending> {
        self.release(None)
    }

    /// How many events are waiting.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// How many processes the table knows.
    pub fn known_processes(&self) -> usize {
        self.table.len()
    }

    fn ctx_for(&self, time_ms: i64) -> Ctx {
        let live = self.table.has_proc()
            && match self.proc_mode {
                ProcMode::Never => false,
                ProcMode::Always => true,
                ProcMode::Auto => (self.wall_ms)().abs_diff(time_ms) <= self.live_window_ms,
            };
        Ctx { time_ms, live }
    }

    fn release(&mut self, now: Option<Instant>) -> Vec<Pending> {
        let (agent, table) = (&self.agent, &self.table);
        let out = self.held.release(now, |h| match &h.wait {
            hold::Wait::Nothing => true,
            hold::Wait::Call(c) => agent.call_linked(*c),
            hold::Wait::Verdict(t) => agent.verdict_linked(t),
            hold::Wait::Logger(pid) => match (&h.note, &h.pending.0.history) {
                (hold::Note::History { ctx }, Some(hv)) => table.get(*pid, *ctx).is_some_and(|e| {
                    history::is_logger_of(&e.facts.args, e.facts.args_truncated, hv)
                }),
                _ => true,
            },
        });
        out.into_iter().map(|h| self.finish(h)).collect()
    }
}

fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
