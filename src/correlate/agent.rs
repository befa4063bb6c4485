//! Agent tool calls: finding the command inside the agent's Bash-tool wrapper, and joining hook
//! verdicts to the wrapper's execve.
//!
//! Enters: wrapper execves (as *calls*: pid, parent, time, extracted command) and hook verdict
//! lines (grouped by `tool_use_id` into *tool calls*). Leaves: links call ↔ tool call, and the
//! [`AgentContext`] each event gets. Guarantees: every map and queue is bounded; matching is
//! first-come first-served (the oldest unmatched verdict meets the oldest unmatched call with the
//! same command), so two identical commands pair up in order; the `denied_but_executed` flag is
//! put on exactly one event per bypassed tool call (see `super` docs).
//!
//! A call and a tool call match when (1) the command the wrapper evaluates equals the verdict's
//! `command` (both trimmed), (2) the wrapper's parent is the hook's agent: the nearest process
//! from the hook's parent (`ppid`) up that is not a shell (hooks run under `/bin/sh -c`, maybe as
//! shell scripts) — or, when that chain is unknown, a process already known to run the verdict's
//! agent session — and (3) the wrapper started no more than 2 s before and
//! `tool_call_window_ms` after the verdict.

use std::collections::VecDeque;

use auditrail_parsers::hook::{Decision, HookEvent, HookVerdict};

use super::bounded::BoundedMap;
use super::ssm::basename;
use super::table::{CallId, Ctx, ProcessTable};
use super::{AgentContext, AgentDecision};

const MAX_TOOL_CALLS: usize = 4096;
const MAX_CALLS: usize = 4096;
const MAX_UNMATCHED: usize = 1024;
const MAX_DECISIONS: usize = 16;
/// Hook clocks (`date`) and kernel audit stamps may disagree slightly.
const CLOCK_SLACK_MS: i64 = 2000;

/// The verdicts of one `tool_use_id`.
#[derive(Debug)]
struct ToolCall {
    session_id: String,
    tool: String,
    /// The Bash command of a PreToolUse verdict (what the wrapper must evaluate).
    command: Option<String>,
    hook_ppid: u32,
    time_ms: i64,
    decisions: Vec<AgentDecision>,
    call: Option<CallId>,
    verdict_bypass_reported: bool,
}

impl ToolCall {
    fn denied(&self) -> bool {
        self.decisions
            .iter()
            .any(|d| d.event == HookEvent::PreToolUse && d.decision == Decision::Deny)
    }
}

/// A Bash-tool wrapper execve.
#[derive(Debug)]
struct Call {
    agent_pid: Option<u32>,
    time_ms: i64,
    command: String,
    tool_use_id: Option<String>,
    wrapper_released: bool,
    wrapper_bypass: bool,
}

/// A join made: the caller labels the agent process with the session.
pub(crate) struct Linked {
    pub session_id: String,
    pub agent_pid: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct AgentState {
    tool_calls: BoundedMap<String, ToolCall>,
    calls: BoundedMap<CallId, Call>,
    unmatched_calls: VecDeque<CallId>,
    unmatched_verdicts: VecDeque<String>,
    next_call: CallId,
    window_ms: i64,
}

impl AgentState {
    pub(crate) fn new(window_ms: u64) -> Self {
        AgentState {
            tool_calls: BoundedMap::new(MAX_TOOL_CALLS),
            calls: BoundedMap::new(MAX_CALLS),
            unmatched_calls: VecDeque::new(),
            unmatched_verdicts: VecDeque::new(),
            next_call: 1,
            window_ms: i64::try_from(window_ms).unwrap_or(i64::MAX / 4),
        }
    }

    /// Registers a wrapper execve and tries to join it to a waiting verdict.
    pub(crate) fn new_call(
        &mut self,
        agent_pid: Option<u32>,
        time_ms: i64,
        command: String,
        table: &ProcessTable,
        ctx: Ctx,
    ) -> (CallId, Option<Linked>) {
        let id = self.next_call;
        self.next_call += 1;
        self.calls.insert(
            id,
            Call {
                agent_pid,
                time_ms,
                command,
                tool_use_id: None,
                wrapper_released: false,
                wrapper_bypass: false,
            },
        );
        self.prune(time_ms);
        let found = self.unmatched_verdicts.iter().position(|tid| {
            let (Some(tc), Some(call)) = (self.tool_calls.get(tid), self.calls.get(&id)) else {
                return false;
            };
            compatible(tc, call, self.window_ms, table, ctx)
        });
        let linked = found.and_then(|i| {
            let tid = self.unmatched_verdicts.remove(i)?;
            self.link(id, &tid)
        });
        if linked.is_none() {
            push_bounded(&mut self.unmatched_calls, id);
        }
        (id, linked)
    }

    /// Records a verdict; a Bash PreToolUse verdict not yet joined is matched against waiting
    /// calls. Returns whether the verdict still waits for its execve, and any join made.
    pub(crate) fn add_verdict(
        &mut self,
        v: &HookVerdict,
        time_ms: i64,
        table: &ProcessTable,
        ctx: Ctx,
    ) -> (bool, Option<Linked>) {
        let decision = AgentDecision {
            hook: v.hook.clone(),
            event: v.event,
            decision: v.decision,
            reason: v.reason.clone(),
        };
        let is_pre_bash = v.event == HookEvent::PreToolUse && v.tool_name == "Bash";
        let command = v.command.clone().filter(|_| is_pre_bash);
        match self.tool_calls.get_mut(&v.tool_use_id) {
            Some(tc) => {
                if tc.decisions.len() < MAX_DECISIONS {
                    tc.decisions.push(decision);
                }
                if tc.command.is_none() && command.is_some() {
                    tc.command = command;
                    tc.hook_ppid = v.ppid;
                    tc.time_ms = time_ms;
                }
            }
            None => self.tool_calls.insert(
                v.tool_use_id.clone(),
                ToolCall {
                    session_id: v.session_id.clone(),
                    tool: v.tool_name.clone(),
                    command,
                    hook_ppid: v.ppid,
                    time_ms,
                    decisions: vec![decision],
                    call: None,
                    verdict_bypass_reported: false,
                },
            ),
        }
        let waits_for_exec = is_pre_bash
            && self
                .tool_calls
                .get(&v.tool_use_id)
                .is_some_and(|tc| tc.call.is_none() && tc.command.is_some());
        if !waits_for_exec {
            return (false, None);
        }
        self.prune(time_ms);
        let Some(tc) = self.tool_calls.get(&v.tool_use_id) else {
            return (false, None);
        };
        let found = self.unmatched_calls.iter().position(|cid| {
            self.calls
                .get(cid)
                .is_some_and(|call| compatible(tc, call, self.window_ms, table, ctx))
        });
        let linked = found.and_then(|i| {
            let cid = self.unmatched_calls.remove(i)?;
            self.link(cid, &v.tool_use_id)
        });
        if linked.is_none() && !self.unmatched_verdicts.contains(&v.tool_use_id) {
            push_bounded(&mut self.unmatched_verdicts, v.tool_use_id.clone());
        }
        (linked.is_none(), linked)
    }

    fn link(&mut self, cid: CallId, tid: &str) -> Option<Linked> {
        let tc = self.tool_calls.get_mut(&tid.to_string())?;
        let call = self.calls.get_mut(&cid)?;
        tc.call = Some(cid);
        call.tool_use_id = Some(tid.to_string());
        Some(Linked {
            session_id: tc.session_id.clone(),
            agent_pid: call.agent_pid,
        })
    }

    /// Forgets unmatched calls and verdicts too old to match anything arriving now.
    fn prune(&mut self, now_ms: i64) {
        let horizon = now_ms.saturating_sub(self.window_ms.saturating_add(CLOCK_SLACK_MS));
        let calls = &self.calls;
        self.unmatched_calls
            .retain(|c| calls.get(c).is_some_and(|c| c.time_ms >= horizon));
        let tcs = &self.tool_calls;
        self.unmatched_verdicts.retain(|t| {
            tcs.get(t)
                .is_some_and(|t| t.time_ms >= horizon && t.call.is_none())
        });
    }

    pub(crate) fn call_linked(&self, cid: CallId) -> bool {
        self.calls.get(&cid).is_none_or(|c| c.tool_use_id.is_some())
    }

    pub(crate) fn verdict_linked(&self, tid: &str) -> bool {
        self.tool_calls
            .get(&tid.to_string())
            .is_none_or(|t| t.call.is_some())
    }

    /// The agent context of an audit event in call `cid`'s process tree, if the call is joined.
    /// `wrapper_event` is true for the wrapper's own execve (it alone gets the decisions).
    pub(crate) fn context_for_call(
        &mut self,
        cid: CallId,
        wrapper_event: bool,
    ) -> Option<AgentContext> {
        let call = self.calls.get_mut(&cid)?;
        let denied = call
            .tool_use_id
            .as_ref()
            .and_then(|t| self.tool_calls.get(t))
            .is_some_and(ToolCall::denied);
        if wrapper_event && !call.wrapper_released {
            call.wrapper_released = true;
            call.wrapper_bypass = denied;
        }
        let agent_pid = call.agent_pid;
        let tc = self.tool_calls.get(call.tool_use_id.as_ref()?)?;
        Some(AgentContext {
            session_id: tc.session_id.clone(),
            tool_use_id: call.tool_use_id.clone(),
            tool: Some(tc.tool.clone()),
            relation: if wrapper_event {
                "tool_call"
            } else {
                "tool_call_descendant"
            },
            agent_pid,
            decisions: if wrapper_event {
                tc.decisions.clone()
            } else {
                Vec::new()
            },
            exec_seen: None,
            denied_but_executed: wrapper_event && denied,
        })
    }

    /// The agent context of a verdict event.
    pub(crate) fn context_for_verdict(&mut self, v: &HookVerdict) -> AgentContext {
        let mut ctx = AgentContext {
            session_id: v.session_id.clone(),
            tool_use_id: Some(v.tool_use_id.clone()),
            tool: Some(v.tool_name.clone()),
            relation: "verdict",
            agent_pid: None,
            decisions: Vec::new(),
            exec_seen: None,
            denied_but_executed: false,
        };
        let Some(tc) = self.tool_calls.get_mut(&v.tool_use_id) else {
            return ctx;
        };
        ctx.decisions = tc.decisions.clone();
        let is_pre_bash = v.event == HookEvent::PreToolUse && tc.command.is_some();
        if is_pre_bash {
            ctx.exec_seen = Some(tc.call.is_some());
        }
        let Some(call) = tc.call.and_then(|c| self.calls.get(&c)) else {
            return ctx;
        };
        ctx.agent_pid = call.agent_pid;
        // The wrapper's execve carries the flag if it knew of the deny when it was shipped;
        // otherwise (shipped before the deny arrived) this deny verdict does, once.
        let this_denies = v.event == HookEvent::PreToolUse && v.decision == Decision::Deny;
        if this_denies
            && call.wrapper_released
            && !call.wrapper_bypass
            && !tc.verdict_bypass_reported
        {
            tc.verdict_bypass_reported = true;
            ctx.denied_but_executed = true;
        }
        ctx
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, v: T) {
    if q.len() >= MAX_UNMATCHED {
        q.pop_front();
    }
    q.push_back(v);
}

/// See the module doc.
fn compatible(tc: &ToolCall, call: &Call, window_ms: i64, table: &ProcessTable, ctx: Ctx) -> bool {
    let Some(cmd) = &tc.command else {
        return false;
    };
    if tc.call.is_some() || call.tool_use_id.is_some() || cmd.trim() != call.command.trim() {
        return false;
    }
    let dt = call.time_ms.saturating_sub(tc.time_ms);
    if dt < -CLOCK_SLACK_MS || dt > window_ms {
        return false;
    }
    let Some(agent) = call.agent_pid else {
        return false;
    };
    match hook_agent(table, tc.hook_ppid, ctx) {
        Some(a) => a == agent,
        // The hook's chain is unknown: accept an agent already known to run this session.
        None => table
            .agent_of(agent, ctx)
            .is_some_and(|a| a.session_id == tc.session_id),
    }
}

/// The agent that ran a hook whose parent is `hook_ppid`: the nearest process, from that
/// parent up, that is not a shell (hooks run under `/bin/sh -c`, perhaps as shell scripts).
/// `None` if the chain is unknown before such a process is found.
fn hook_agent(table: &ProcessTable, hook_ppid: u32, ctx: Ctx) -> Option<u32> {
    let mut cur = hook_ppid;
    for _ in 0..4 {
        let e = table.get(cur, ctx)?;
        let program = e.facts.args.first().or(e.facts.exe.as_ref())?;
        let exe_is_shell = e.facts.exe.as_deref().is_some_and(is_shell);
        if !is_shell(program) && !exe_is_shell {
            return Some(cur);
        }
        cur = e.facts.ppid?;
    }
    None
}

fn is_shell(program: &str) -> bool {
    let name = basename(program);
    matches!(
        name.strip_prefix('-').unwrap_or(name),
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "busybox"
    )
}
