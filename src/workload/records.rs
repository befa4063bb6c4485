//! The record writers: each call appends one audit event to the [`Sim`] — a successful or failed
//! execve (SYSCALL, EXECVE, CWD, PATH, PROCTITLE), a connect (SYSCALL, SOCKADDR, PROCTITLE), or a
//! single user-space record (PAM, USER_CMD, LOGIN).
//!
//! In: the process and what it did. Out: records encoded as the kernel and auditd encode them,
//! committed through [`Sim::commit`] (which may stop generation with [`Halt::Done`]).

use super::audit_fmt::{push_hex, push_u64, push_untrusted, Stamp, MAX_EXECVE_AUDIT_LEN};
use super::catalog;
use super::sim::{Halt, Launch, Proc, Sim, UNSET};

/// Deployment rule key of execve events.
const EXEC_KEY: &str = "command_execution";
/// Rule key of connect events.
const CONNECT_KEY: &str = "network_connect";

impl Sim<'_> {
    /// The SYSCALL record's common tail: `items=… ppid=… … key=…`.
    fn syscall_ids(&mut self, items: u32, proc_: &Proc, key: &str) {
        let c = &proc_.creds;
        let ev = &mut self.ev;
        ev.num("items", u64::from(items))
            .num("ppid", u64::from(proc_.ppid));
        ev.num("pid", u64::from(proc_.pid))
            .num("auid", u64::from(c.auid));
        let gid = u64::from(c.uid);
        let egid = u64::from(c.euid);
        ev.num("uid", u64::from(c.uid))
            .num("gid", gid)
            .num("euid", u64::from(c.euid));
        ev.num("suid", u64::from(c.euid))
            .num("fsuid", u64::from(c.euid));
        ev.num("egid", egid).num("sgid", egid).num("fsgid", egid);
        match c.pts {
            Some(n) => {
                ev.key("tty").text(b"pts");
                push_u64(&mut ev.buf, u64::from(n));
            }
            None => {
                ev.raw("tty", "(none)");
            }
        }
        ev.num("ses", u64::from(c.ses));
        ev.untrusted("comm", proc_.comm.as_bytes());
        ev.untrusted("exe", proc_.exe.as_bytes());
        ev.quoted("key", key);
    }

    /// A user-space address as SYSCALL's `aN` show them: heap (`55…`/`56…`) or stack (`7ff…`).
    fn pointer(&mut self) -> u64 {
        if self.rng.chance(0.6) {
            0x5500_0000_0000 + self.rng.below(0x2_0000_0000) * 16
        } else {
            0x7ff0_0000_0000 + self.rng.below(0xff_ffff_ffff) * 8
        }
    }

    /// A successful execve at `at` of `path` with `argv`: SYSCALL, EXECVE,
    /// CWD, PATH ×2, PROCTITLE. Returns the process as it now is.
    pub fn exec(
        &mut self,
        at: Launch<'_>,
        path: &str,
        argv: Vec<Vec<u8>>,
        concurrent: bool,
    ) -> Result<Proc, Halt> {
        let Launch {
            pid,
            ppid,
            creds,
            cwd,
        } = at;
        let exe = catalog::exe_of(path);
        let base = path.rsplit('/').next().unwrap_or(path);
        let comm: String = base.chars().take(15).collect();
        let proc_ = Proc {
            pid,
            ppid,
            creds: creds.clone(),
            comm,
            exe,
            cwd: cwd.to_string(),
            argv,
        };
        let stamp = self.stamp();
        let (a0, a1, a2, a3) = (
            self.pointer(),
            self.pointer(),
            self.pointer(),
            self.rng.next_u64() >> 1,
        );
        self.ev.begin("SYSCALL", stamp);
        self.ev
            .raw("arch", "c000003e")
            .num("syscall", 59)
            .raw("success", "yes")
            .num("exit", 0);
        self.ev
            .hex_lower("a0", a0)
            .hex_lower("a1", a1)
            .hex_lower("a2", a2)
            .hex_lower("a3", a3);
        self.syscall_ids(2, &proc_, EXEC_KEY);
        self.ev.end();
        let args: Vec<&[u8]> = proc_.argv.iter().map(Vec::as_slice).collect();
        self.ev.execve(stamp, &args);
        self.ev.begin("CWD", stamp);
        self.ev.untrusted("cwd", cwd.as_bytes());
        self.ev.end();
        let inode = 100_000 + fnv1a(path.as_bytes()) % 9_000_000;
        self.path_record(stamp, 0, path.as_bytes(), Some(inode));
        self.path_record(stamp, 1, b"/lib64/ld-linux-x86-64.so.2", Some(325_843));
        self.ev.proctitle(stamp, &args);
        self.summary.execve_events += 1;
        if args.iter().any(|a| a.len() > MAX_EXECVE_AUDIT_LEN) {
            self.summary.long_arg_events += 1;
        }
        self.commit(true, concurrent)?;
        Ok(proc_)
    }

    /// An execve of `path` by `proc_` that failed with ENOENT (execvp walking `$PATH`): the
    /// process keeps its old comm, exe and proctitle; no EXECVE record.
    pub fn failed_exec(&mut self, proc_: &Proc, path: &str) -> Result<(), Halt> {
        let stamp = self.stamp();
        let (a0, a1, a2, a3) = (
            self.pointer(),
            self.pointer(),
            self.pointer(),
            self.pointer(),
        );
        self.ev.begin("SYSCALL", stamp);
        self.ev
            .raw("arch", "c000003e")
            .num("syscall", 59)
            .raw("success", "no")
            .signed("exit", -2);
        self.ev
            .hex_lower("a0", a0)
            .hex_lower("a1", a1)
            .hex_lower("a2", a2)
            .hex_lower("a3", a3);
        self.syscall_ids(1, proc_, EXEC_KEY);
        self.ev.end();
        self.ev.begin("CWD", stamp);
        self.ev.untrusted("cwd", proc_.cwd.as_bytes());
        self.ev.end();
        self.path_record(stamp, 0, path.as_bytes(), None);
        let args: Vec<&[u8]> = proc_.argv.iter().map(Vec::as_slice).collect();
        self.ev.proctitle(stamp, &args);
        self.commit(true, false)
    }

    fn path_record(&mut self, stamp: Stamp, item: u32, name: &[u8], inode: Option<u64>) {
        self.ev.begin("PATH", stamp);
        self.ev.num("item", u64::from(item)).untrusted("name", name);
        match inode {
            Some(inode) => {
                self.ev
                    .num("inode", inode)
                    .raw("dev", "fe:00")
                    .raw("mode", "0100755");
                self.ev.num("ouid", 0).num("ogid", 0).raw("rdev", "00:00");
                self.ev.raw("nametype", "NORMAL");
            }
            None => {
                self.ev.raw("nametype", "UNKNOWN");
            }
        }
        self.ev
            .raw("cap_fp", "0")
            .raw("cap_fi", "0")
            .raw("cap_fe", "0");
        self.ev.raw("cap_fver", "0").raw("cap_frootid", "0");
        self.ev.end();
    }

    /// A connect(2) by `proc_` to `ip:port` (SYSCALL, SOCKADDR, PROCTITLE).
    pub fn connect(&mut self, proc_: &Proc, ip: [u8; 4], port: u16) -> Result<(), Halt> {
        let stamp = self.stamp();
        let in_progress = self.rng.chance(0.5);
        let (a1, fd) = (self.pointer(), self.rng.range(3, 40));
        self.ev.begin("SYSCALL", stamp);
        self.ev.raw("arch", "c000003e").num("syscall", 42);
        if in_progress {
            self.ev.raw("success", "no").signed("exit", -115);
        } else {
            self.ev.raw("success", "yes").num("exit", 0);
        }
        self.ev
            .hex_lower("a0", fd)
            .hex_lower("a1", a1)
            .hex_lower("a2", 0x10)
            .hex_lower("a3", 0);
        self.syscall_ids(0, proc_, CONNECT_KEY);
        self.ev.end();
        let mut sockaddr = [0u8; 16];
        sockaddr[0] = 2; // AF_INET, little-endian u16
        sockaddr[2..4].copy_from_slice(&port.to_be_bytes());
        sockaddr[4..8].copy_from_slice(&ip);
        self.ev.begin("SOCKADDR", stamp);
        self.ev.key("saddr");
        push_hex(&mut self.ev.buf, &sockaddr);
        self.ev.end();
        let args: Vec<&[u8]> = proc_.argv.iter().map(Vec::as_slice).collect();
        self.ev.proctitle(stamp, &args);
        self.summary.connect_events += 1;
        self.commit(true, false)
    }

    /// A user-space record (its own single-record event): `pid= uid= auid= ses= msg='…'`.
    /// `msg` is the inside of the quotes.
    pub fn user_record(&mut self, rtype: &str, proc_: &Proc, msg: &[u8]) -> Result<(), Halt> {
        let stamp = self.stamp();
        let c = &proc_.creds;
        self.ev.begin(rtype, stamp);
        self.ev
            .num("pid", u64::from(proc_.pid))
            .num("uid", u64::from(c.uid));
        self.ev
            .num("auid", u64::from(c.auid))
            .num("ses", u64::from(c.ses));
        self.ev.key("msg").text(b"'").text(msg).text(b"'");
        self.ev.end();
        self.summary.user_records += 1;
        self.commit(false, false)
    }

    /// A PAM record body: `op=PAM:… grantors=… acct="…" exe="…" hostname=… addr=… terminal=… res=…`.
    pub fn pam_msg(
        op: &str,
        grantors: &str,
        acct: &str,
        exe: &str,
        addr: &str,
        terminal: &str,
    ) -> Vec<u8> {
        let mut m = Vec::with_capacity(160);
        m.extend_from_slice(b"op=PAM:");
        m.extend_from_slice(op.as_bytes());
        m.extend_from_slice(b" grantors=");
        m.extend_from_slice(grantors.as_bytes());
        m.extend_from_slice(b" acct=");
        push_untrusted(&mut m, acct.as_bytes());
        m.extend_from_slice(b" exe=");
        push_untrusted(&mut m, exe.as_bytes());
        m.extend_from_slice(b" hostname=");
        m.extend_from_slice(addr.as_bytes());
        m.extend_from_slice(b" addr=");
        m.extend_from_slice(addr.as_bytes());
        m.extend_from_slice(b" terminal=");
        m.extend_from_slice(terminal.as_bytes());
        m.extend_from_slice(b" res=success");
        m
    }

    /// A LOGIN record (loginuid set by pam_loginuid).
    pub fn login_record(&mut self, pid: u32, auid: u32, ses: u32) -> Result<(), Halt> {
        let stamp = self.stamp();
        self.ev.begin("LOGIN", stamp);
        self.ev
            .num("pid", u64::from(pid))
            .num("uid", 0)
            .num("old-auid", u64::from(UNSET));
        self.ev
            .num("auid", u64::from(auid))
            .raw("tty", "(none)")
            .num("old-ses", u64::from(UNSET));
        self.ev.num("ses", u64::from(ses)).num("res", 1);
        self.ev.end();
        self.summary.user_records += 1;
        self.commit(false, false)
    }
}

/// FNV-1a, for stable per-path inode numbers.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
