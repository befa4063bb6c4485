//! The per-event half of the correlator: what an event teaches the tables when it arrives
//! ([`Correlator::observe`]), and what it is given when it leaves ([`Correlator::finish`]).
//!
//! Enters: one event. Leaves: the wait it needs and, at release, the event with its correlated
//! fields. Audit events are described when they arrive (the table is then exactly as the kernel
//! had it); history and verdict events when they leave (their subject process comes from the
//! audit source, which may lag). Never panics: every id is converted with `try_from`.

use std::sync::Arc;

use auditrail_parsers::event::AuditEvent;

use super::agent::Linked;
use super::history::is_logger_of;
use super::hold::{Held, Note, Wait};
use super::table::{cap_args, AgentLabel, Ctx, Facts};
use super::wrapper;
use super::{AgentContext, Correlator, Pending, ProcessInfo};
use crate::event::{Event, EventKind};

impl Correlator {
    pub(super) fn observe(&mut self, ev: &mut Event) -> (Wait, Note) {
        match ev.kind {
            EventKind::Audit => self.observe_audit(ev),
            EventKind::HookVerdict => self.observe_verdict(ev),
            EventKind::History => self.observe_history(ev),
            _ => (Wait::Nothing, Note::Plain),
        }
    }

    fn observe_audit(&mut self, ev: &mut Event) -> (Wait, Note) {
        let plain = (Wait::Nothing, Note::Plain);
        if ev.coalesce.as_ref().is_some_and(|c| c.continuation) {
            return plain; // a late piece of an event already described
        }
        let Some(a) = &ev.audit else { return plain };
        let Some(facts) = facts_of(a) else {
            return plain;
        };
        let exec = is_exec(a);
        let exited = a
            .syscall
            .as_ref()
            .is_some_and(|s| s.name.as_deref() == Some("exit_group"));
        let ctx = self.ctx_for(ev.time_ms);
        let (pid, ppid) = (facts.pid, facts.ppid);
        let own = facts.clone();
        let mut wrapper = false;
        if exec {
            let tool_cmd = wrapper::tool_command(&facts.args);
            self.table.exec(facts, ctx);
            if let Some(cmd) = tool_cmd {
                let (cid, linked) = self.agent.new_call(ppid, ev.time_ms, cmd, &self.table, ctx);
                if let Some(e) = self.table.get_mut(pid, ctx) {
                    e.labels.call = Some(cid);
                }
                self.apply_link(linked, ctx);
                wrapper = true;
            }
        } else {
            self.table.observe(facts, ctx, exited);
        }
        self.ssm_by_ses(pid, ctx);
        let call = self.table.get(pid, ctx).and_then(|e| e.labels.call);
        if self.describe(ev, pid, ctx) {
            if let Some(p) = &mut ev.process {
                overlay(p, own);
            }
        }
        let wait = match call {
            Some(c) if self.verdict_source && !self.agent.call_linked(c) => Wait::Call(c),
            _ => Wait::Nothing,
        };
        let note = Note::Audit {
            pid,
            ctx,
            call,
            wrapper,
        };
        (wait, note)
    }

    fn observe_verdict(&mut self, ev: &mut Event) -> (Wait, Note) {
        let Some(v) = &ev.hook else {
            return (Wait::Nothing, Note::Plain);
        };
        let ctx = self.ctx_for(ev.time_ms);
        // Live: learn the hook's parents from /proc now, while they may still exist.
        self.table.resolve(v.ppid, ctx);
        let (waits, linked) = self.agent.add_verdict(v, ev.time_ms, &self.table, ctx);
        let wait = if waits && self.audit_source {
            Wait::Verdict(v.tool_use_id.clone())
        } else {
            Wait::Nothing
        };
        self.apply_link(linked, ctx);
        (wait, Note::Verdict { ctx })
    }

    fn observe_history(&mut self, ev: &mut Event) -> (Wait, Note) {
        let Some(h) = &ev.history else {
            return (Wait::Nothing, Note::Plain);
        };
        let ctx = self.ctx_for(ev.time_ms);
        let wait = match (h.format, h.logger_pid) {
            ("seed", Some(logger)) if self.audit_source => {
                let found = self
                    .table
                    .get(logger, ctx)
                    .is_some_and(|e| is_logger_of(&e.facts.args, e.facts.args_truncated, h));
                if found {
                    Wait::Nothing
                } else {
                    Wait::Logger(logger)
                }
            }
            _ => Wait::Nothing,
        };
        (wait, Note::History { ctx })
    }

    /// Gives a leaving event what it waited for.
    pub(super) fn finish(&mut self, h: Held) -> Pending {
        let (mut ev, lines) = h.pending;
        match h.note {
            Note::Plain => {}
            Note::Audit {
                pid,
                ctx,
                call,
                wrapper,
            } => ev.agent = self.agent_for(pid, ctx, call, wrapper),
            Note::Verdict { ctx } => self.finish_verdict(&mut ev, ctx),
            Note::History { ctx } => self.finish_history(&mut ev, ctx),
        }
        (ev, lines)
    }

    fn finish_verdict(&mut self, ev: &mut Event, ctx: Ctx) {
        let Some(v) = &ev.hook else { return };
        let (pid, ppid) = (v.pid, v.ppid);
        let agent = self.agent.context_for_verdict(v);
        ev.agent = Some(agent);
        self.table.resolve(pid, ctx);
        let known = self
            .table
            .get(pid, ctx)
            .is_some_and(|e| e.facts.ppid == Some(ppid));
        if known && self.describe(ev, pid, ctx) {
            return;
        }
        ev.process = Some(ProcessInfo {
            pid,
            ppid: Some(ppid),
            known_from: "verdict",
            ..ProcessInfo::default()
        });
        let (parent, chain) = self.table.ancestry(Some(ppid), ctx, self.ancestry_depth);
        ev.parent = parent;
        ev.ancestry = (!chain.is_empty()).then_some(chain);
        ev.ssm = self
            .table
            .get(ppid, ctx)
            .and_then(|e| e.labels.ssm.as_deref().cloned());
    }

    fn finish_history(&mut self, ev: &mut Event, ctx: Ctx) {
        let Some(h) = &ev.history else { return };
        let shell = match h.format {
            "seed" => h.logger_pid.and_then(|l| {
                let e = self.table.get(l, ctx)?;
                is_logger_of(&e.facts.args, e.facts.args_truncated, h)
                    .then_some(e.facts.ppid)
                    .flatten()
            }),
            _ => h.shell_pid,
        };
        let key = match (h.format, &h.user, &h.tty, h.shell_pid) {
            ("seed", u, t, _) => format!(
                "tty:{}:{}",
                u.as_deref().unwrap_or(""),
                t.as_deref().unwrap_or("")
            ),
            (_, _, _, Some(p)) => format!("pid:{p}"),
            (_, u, _, None) => format!("user:{}", u.as_deref().unwrap_or("")),
        };
        if let Some(shell) = shell {
            self.table.resolve(shell, ctx);
            if self.describe(ev, shell, ctx) {
                let call = self.table.get(shell, ctx).and_then(|e| e.labels.call);
                ev.agent = self.agent_for(shell, ctx, call, false);
            }
        }
        let id = ev.id.clone();
        if let Some(h) = &mut ev.history {
            self.repeats.mark(key, h, &id);
        }
    }

    /// Sets `process`, `parent`, `ancestry` and `ssm` from the table's entry for `pid`.
    fn describe(&mut self, ev: &mut Event, pid: u32, ctx: Ctx) -> bool {
        let Some(e) = self.table.get(pid, ctx) else {
            return false;
        };
        let info = e.info();
        let ppid = e.facts.ppid;
        let ssm = e
            .labels
            .ssm
            .clone()
            .or_else(|| self.ses.lookup(e.facts.ses));
        let (parent, chain) = self.table.ancestry(ppid, ctx, self.ancestry_depth);
        ev.process = Some(info);
        ev.parent = parent;
        ev.ancestry = (!chain.is_empty()).then_some(chain);
        ev.ssm = ssm.as_deref().cloned();
        true
    }

    /// A process's SSM label teaches the `ses` map; a process without one may get it from there.
    fn ssm_by_ses(&mut self, pid: u32, ctx: Ctx) {
        let Some(e) = self.table.get_mut(pid, ctx) else {
            return;
        };
        match &e.labels.ssm {
            Some(s) => self.ses.learn(e.facts.ses, s),
            None => e.labels.ssm = self.ses.lookup(e.facts.ses),
        }
    }

    /// A verdict joined a tool call: its agent process is now known to run that session.
    fn apply_link(&mut self, linked: Option<Linked>, ctx: Ctx) {
        let Some(Linked {
            session_id,
            agent_pid: Some(agent_pid),
        }) = linked
        else {
            return;
        };
        if let Some(e) = self.table.get_mut(agent_pid, ctx) {
            e.labels.agent = Some(Arc::new(AgentLabel {
                session_id,
                agent_pid,
            }));
        }
    }

    /// The agent context of process `pid`: its joined tool call's, else the agent session of
    /// the nearest agent process above it.
    fn agent_for(
        &mut self,
        pid: u32,
        ctx: Ctx,
        call: Option<u64>,
        wrapper: bool,
    ) -> Option<AgentContext> {
        if let Some(c) = call.and_then(|c| self.agent.context_for_call(c, wrapper)) {
            return Some(c);
        }
        let a = self.table.agent_of(pid, ctx)?;
        Some(AgentContext {
            session_id: a.session_id.clone(),
            relation: if a.agent_pid == pid {
                "agent_process"
            } else {
                "agent_descendant"
            },
            agent_pid: Some(a.agent_pid),
            ..AgentContext::default()
        })
    }
}

/// A successful execve: the process now runs the image the EXECVE record describes.
fn is_exec(a: &AuditEvent) -> bool {
    a.execve.is_some() && a.syscall.as_ref().is_some_and(|s| s.success == Some(true))
}

/// What the event's SYSCALL (and EXECVE, CWD) records say about its process.
fn facts_of(a: &AuditEvent) -> Option<Facts> {
    let sc = a.syscall.as_ref()?;
    let pid = u32::try_from(sc.pid?).ok()?;
    let (args, args_truncated) = match (&a.execve, is_exec(a)) {
        (Some(x), true) => cap_args(&x.args),
        _ => (Vec::new(), false),
    };
    Some(Facts {
        pid,
        ppid: sc.ppid.and_then(|p| u32::try_from(p).ok()),
        exe: sc.exe.clone(),
        comm: sc.comm.clone(),
        args,
        args_truncated,
        cwd: a.cwd.clone(),
        uid: sc.uid.flatten(),
        euid: sc.euid.flatten(),
        gid: sc.gid.flatten(),
        auid: sc.auid.flatten(),
        ses: sc.ses.flatten(),
        tty: sc.tty.clone().filter(|t| t != "(none)"),
    })
}

/// The event's own record is fresher than the table's entry (uid after setuid, cwd after cd).
fn overlay(p: &mut ProcessInfo, f: Facts) {
    fn set<T>(dst: &mut Option<T>, src: Option<T>) {
        if src.is_some() {
            *dst = src;
        }
    }
    set(&mut p.ppid, f.ppid);
    set(&mut p.exe, f.exe);
    set(&mut p.comm, f.comm);
    set(&mut p.cwd, f.cwd);
    set(&mut p.uid, f.uid);
    set(&mut p.euid, f.euid);
    set(&mut p.gid, f.gid);
    set(&mut p.auid, f.auid);
    set(&mut p.ses, f.ses);
    set(&mut p.tty, f.tty);
}
