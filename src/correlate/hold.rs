//! Events waiting briefly for a join partner from another source.
//!
//! Enters: every event, in input order, with what it waits for ([`Wait`]) and a deadline.
//! Leaves: events in input order *per source* (one FIFO queue per `Event::source`): the head of a
//! queue leaves when its wait is over (the caller decides, [`Queues::release`]), its deadline
//! has passed, or more than `max` events are held (then the oldest deadline goes first). So an
//! event that waits delays the later events of its own source only, never by more than the
//! hold time. Guarantees: at most `max` events are held after every release; nothing is dropped.

use std::collections::VecDeque;
use std::time::Instant;

use super::table::{CallId, Ctx};
use super::Pending;

/// What an event waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wait {
    Nothing,
    /// An audit event in an agent tool call's process tree: the call's verdict.
    Call(CallId),
    /// A Bash PreToolUse verdict (its `tool_use_id`): the tool call's execve.
    Verdict(String),
    /// A history line: the execve of its `logger` (pid).
    Logger(u32),
}

/// What finishing an event needs when it leaves.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Note {
    Plain,
    Audit {
        pid: u32,
        ctx: Ctx,
        call: Option<CallId>,
        /// The agent's Bash-tool wrapper execve itself.
        wrapper: bool,
    },
    Verdict {
        ctx: Ctx,
    },
    History {
        ctx: Ctx,
    },
}

#[derive(Debug)]
pub(crate) struct Held {
    pub pending: Pending,
    pub wait: Wait,
    pub note: Note,
    pub deadline: Instant,
}

#[derive(Debug)]
pub(crate) struct Queues {
    queues: Vec<(&'static str, VecDeque<Held>)>,
    total: usize,
    max: usize,
}

impl Queues {
    pub(crate) fn new(max: usize) -> Self {
        Queues {
            queues: Vec::new(),
            total: 0,
            max: max.max(1),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.total
    }

    pub(crate) fn push(&mut self, h: Held) {
        let source = h.pending.0.source;
        let i = match self.queues.iter().position(|(s, _)| *s == source) {
            Some(i) => i,
            None => {
                self.queues.push((source, VecDeque::new()));
                self.queues.len() - 1
            }
        };
        if let Some((_, q)) = self.queues.get_mut(i) {
            q.push_back(h);
            self.total += 1;
        }
    }

    /// Takes out, queue by queue, every head that may leave: `ready` says its wait is over, or
    /// its deadline is at or before `now`, or `now` is `None` (flush everything), or too many are
    /// held.
    pub(crate) fn release(
        &mut self,
        now: Option<Instant>,
        mut ready: impl FnMut(&Held) -> bool,
    ) -> Vec<Held> {
        let mut out = Vec::new();
        for (_, q) in &mut self.queues {
            while let Some(h) = q.front() {
                let go = match now {
                    None => true,
                    Some(now) => h.deadline <= now || h.wait == Wait::Nothing || ready(h),
                };
                if !go {
                    break;
                }
                if let Some(h) = q.pop_front() {
                    out.push(h);
                    self.total = self.total.saturating_sub(1);
                }
            }
        }
        while self.total > self.max {
            let oldest = self
                .queues
                .iter()
                .enumerate()
                .filter_map(|(i, (_, q))| q.front().map(|h| (h.deadline, i)))
                .min();
            let Some((_, i)) = oldest else { break };
            let Some(h) = self.queues.get_mut(i).and_then(|(_, q)| q.pop_front()) else {
                break;
            };
            out.push(h);
            self.total = self.total.saturating_sub(1);
        }
        out
    }
}
