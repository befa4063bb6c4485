//! The simulated host: clock, serials, pids and the three output streams, plus the primitives
//! that write one audit event each (execve, failed execve, connect, PAM/user records).
//!
//! In: a [`WorkloadConfig`]. Out: bytes on the three writers, and a [`WorkloadSummary`]. Events
//! get increasing serials and non-decreasing times; an event flagged concurrent may be held and
//! interleaved record by record with the next one, as the kernel does for processes that exec
//! at the same moment. Stops with [`Halt::Done`] once the configured size is reached.

use std::io::{self, Write};

use super::audit_fmt::{EventLines, Stamp};
use super::rng::SplitMix64;
use super::text_fmt::{push_hook_line, push_syslog_line, HookVerdict};
use super::{Mix, WorkloadConfig, WorkloadSize, WorkloadSummary};

/// `auid`/`ses` of a process that never logged in.
pub const UNSET: u32 = u32::MAX;
/// Flush an output buffer to its writer past this size.
const FLUSH_BYTES: usize = 1 << 20;

/// Why generation stopped early.
#[derive(Debug)]
pub enum Halt {
    /// The configured size is reached.
    Done,
    Io(io::Error),
}

impl From<io::Error> for Halt {
    fn from(e: io::Error) -> Self {
        Halt::Io(e)
    }
}

/// Who a process runs as, where, and under which login.
#[derive(Debug, Clone)]
pub struct Creds {
    pub auid: u32,
    pub ses: u32,
    pub uid: u32,
    /// Effective ids differ from `uid` for set-uid programs (sudo).
    pub euid: u32,
    /// `pts0`, or `None` for `tty=(none)`.
    pub pts: Option<u32>,
}

impl Creds {
    pub fn root_daemon() -> Self {
        Creds {
            auid: UNSET,
            ses: UNSET,
            uid: 0,
            euid: 0,
            pts: None,
        }
    }
}

/// A running process as the log shows it.
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub creds: Creds,
    pub comm: String,
    pub exe: String,
    pub cwd: String,
    pub argv: Vec<Vec<u8>>,
}

/// Where an execve happens: the process (`pid`, child of `ppid`), its credentials and cwd.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    pub pid: u32,
    pub ppid: u32,
    pub creds: &'a Creds,
    pub cwd: &'a str,
}

pub struct Sim<'w> {
    pub rng: SplitMix64,
    pub mix: Mix,
    pub host: String,
    pub instance_id: String,
    /// Current time, epoch milliseconds.
    pub clock: u64,
    serial: u64,
    next_pid: u32,
    pub summary: WorkloadSummary,
    size: WorkloadSize,
    /// Audit bytes already handed to the writer.
    audit_flushed: u64,
    pub(super) ev: EventLines,
    held: Option<EventLines>,
    spare: EventLines,
    audit_buf: Vec<u8>,
    syslog_buf: Vec<u8>,
    hooks_buf: Vec<u8>,
    audit: &'w mut dyn Write,
    syslog: &'w mut dyn Write,
    hooks: &'w mut dyn Write,
}

impl<'w> Sim<'w> {
    pub fn new(
        cfg: &WorkloadConfig,
        audit: &'w mut dyn Write,
        syslog: &'w mut dyn Write,
        hooks: &'w mut dyn Write,
    ) -> Self {
        let mut rng = SplitMix64::new(cfg.seed);
        let host = format!("ip-10-0-{}-{}", rng.range(1, 254), rng.range(1, 254));
        let instance_id = format!("i-0{}", hex_digits(&mut rng, 16));
        // Late 2026, like the VM capture, spread over a few months by seed.
        let clock = 1_790_000_000_000 + rng.below(10_000_000_000);
        let serial = rng.range(100, 5_000_000);
        let next_pid = rng.range(2_000, 60_000) as u32;
        Sim {
            rng,
            mix: cfg.mix.clone(),
            host,
            instance_id,
            clock,
            serial,
            next_pid,
            summary: WorkloadSummary::default(),
            size: cfg.size,
            audit_flushed: 0,
            ev: EventLines::default(),
            held: None,
            spare: EventLines::default(),
            audit_buf: Vec::with_capacity(FLUSH_BYTES * 2),
            syslog_buf: Vec::with_capacity(FLUSH_BYTES),
            hooks_buf: Vec::new(),
            audit,
            syslog,
            hooks,
        }
    }

    /// A fresh pid (the kernel hands them out in increasing order, wrapping at pid_max).
    pub fn new_pid(&mut self) -> u32 {
        self.next_pid += 1 + self.rng.below(3) as u32;
        if self.next_pid >= 4_194_304 {
            self.next_pid = 300 + self.rng.below(100) as u32;
        }
        self.next_pid
    }

    /// Advances the clock by `lo..=hi` milliseconds.
    pub fn tick(&mut self, lo: u64, hi: u64) {
        self.clock += self.rng.range(lo, hi);
    }

    /// Starts a new event: a fresh serial (auditd's counter also moves for unlogged events).
    pub(super) fn stamp(&mut self) -> Stamp {
        self.tick(0, 4);
        self.serial += if self.rng.chance(0.2) {
            self.rng.range(2, 6)
        } else {
            1
        };
        self.ev.clear();
        Stamp {
            millis: self.clock,
            serial: self.serial,
        }
    }

    /// Finishes the event in `self.ev`; `concurrent` events may be interleaved with the next.
    pub(super) fn commit(&mut self, syscall_event: bool, concurrent: bool) -> Result<(), Halt> {
        if syscall_event && self.mix.eoe {
            let stamp = Stamp {
                millis: self.clock,
                serial: self.serial,
            };
            self.ev.begin("EOE", stamp);
            self.ev.end();
        }
        self.summary.events += 1;
        self.summary.audit_records += self.ev.records() as u64;
        if let Some(held) = self.held.take() {
            self.riffle(&held);
            self.spare = held;
            self.summary.interleaved_pairs += 1;
        } else if concurrent
            && !self.size_reached()
            && self.rng.chance(self.mix.interleave_fraction)
        {
            let next = std::mem::take(&mut self.spare);
            self.held = Some(std::mem::replace(&mut self.ev, next));
            return Ok(());
        } else {
            self.audit_buf.extend_from_slice(&self.ev.buf);
        }
        self.after_write()
    }

    /// Writes the held event's records and the current one's, merged in a random order that
    /// keeps each event's own order and starts with the held one.
    fn riffle(&mut self, held: &EventLines) {
        let (mut a, mut b) = (0, 0);
        while a < held.records() || b < self.ev.records() {
            let take_held =
                b == self.ev.records() || (a < held.records() && (a == 0 || self.rng.chance(0.5)));
            if take_held {
                self.audit_buf.extend_from_slice(held.line(a));
                a += 1;
            } else {
                self.audit_buf.extend_from_slice(self.ev.line(b));
                b += 1;
            }
        }
    }

    fn after_write(&mut self) -> Result<(), Halt> {
        self.summary.audit_bytes = self.audit_flushed + self.audit_buf.len() as u64;
        if self.audit_buf.len() >= FLUSH_BYTES {
            self.flush_audit()?;
        }
        if self.size_reached() && self.held.is_none() {
            return Err(Halt::Done);
        }
        Ok(())
    }

    /// The configured size is reached (an event that reaches it is never held back).
    fn size_reached(&self) -> bool {
        match self.size {
            WorkloadSize::Events(n) => self.summary.events >= n,
            WorkloadSize::AuditBytes(n) => self.summary.audit_bytes >= n,
        }
    }

    fn flush_audit(&mut self) -> io::Result<()> {
        self.audit.write_all(&self.audit_buf)?;
        self.audit_flushed += self.audit_buf.len() as u64;
        self.audit_buf.clear();
        Ok(())
    }

    /// Writes everything still buffered, including a held event.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(held) = self.held.take() {
            self.audit_buf.extend_from_slice(&held.buf);
        }
        self.flush_audit()?;
        self.summary.audit_bytes = self.audit_flushed;
        self.syslog.write_all(&self.syslog_buf)?;
        self.syslog_buf.clear();
        self.hooks.write_all(&self.hooks_buf)?;
        self.hooks_buf.clear();
        self.audit.flush()?;
        self.syslog.flush()?;
        self.hooks.flush()
    }

    /// One line of `messages`.
    pub fn syslog(&mut self, tag: &str, pid: Option<u32>, message: &[u8]) -> Result<(), Halt> {
        let before = self.syslog_buf.len();
        push_syslog_line(
            &mut self.syslog_buf,
            self.clock,
            &self.host,
            tag,
            pid,
            message,
        );
        self.summary.syslog_lines += 1;
        self.summary.syslog_bytes += (self.syslog_buf.len() - before) as u64;
        if self.syslog_buf.len() >= FLUSH_BYTES {
            self.syslog.write_all(&self.syslog_buf)?;
            self.syslog_buf.clear();
        }
        Ok(())
    }

    /// One line of the hook verdict log.
    pub fn hook_line(&mut self, verdict: &HookVerdict<'_>) -> Result<(), Halt> {
        let before = self.hooks_buf.len();
        push_hook_line(&mut self.hooks_buf, verdict);
        self.summary.hook_lines += 1;
        self.summary.hook_bytes += (self.hooks_buf.len() - before) as u64;
        if self.hooks_buf.len() >= FLUSH_BYTES {
            self.hooks.write_all(&self.hooks_buf)?;
            self.hooks_buf.clear();
        }
        Ok(())
    }
}

/// `n` lower-case hex digits.
pub fn hex_digits(rng: &mut SplitMix64, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
        .collect()
}
