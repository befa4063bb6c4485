//! Session scripts: what people, agents and daemons do on the simulated host, as process trees.
//!
//! In: a [`Sim`]. Out: events through the `Sim` primitives. Shapes follow the VM capture: an
//! SSM-like session (`ssm-session-worker <user>-<17 hex> i-…` → `script` → `runuser` → `bash -i`
//! with history-security.sh, which runs `tty` and `logger` around every command), an agent
//! (`claude` → hook `/bin/sh -c /opt/security/audit-log.sh` → `/bin/bash -c "source … && eval
//! '<cmd>' < /dev/null && pwd -P >| /tmp/claude-XXXX-cwd"`), sudo with its PAM records, ssh
//! logins with `LOGIN`/`USER_LOGIN`, cron jobs and unrelated syslog chatter.

use super::catalog::{self, User};
use super::shell;
use super::sim::{hex_digits, Creds, Halt, Launch, Proc, Sim, UNSET};

/// Long-running daemons that parent the sessions.
pub(super) struct Host {
    pub(super) agent_worker: Proc,
    pub(super) sshd: Proc,
    pub(super) crond: Proc,
    pub(super) shim: Proc,
}

/// An interactive shell with history-security.sh loaded.
pub(super) struct Shell {
    pub(super) proc_: Proc,
    pub(super) user: User,
    pub(super) home: String,
    pub(super) pts: u32,
}

/// Where network-using programs connect to.
pub(super) const DESTINATIONS: &[([u8; 4], u16)] = &[
    ([169, 254, 169, 254], 80),
    ([140, 82, 112, 3], 443),
    ([52, 216, 8, 75], 443),
    ([160, 79, 104, 10], 443),
    ([10, 0, 3, 17], 22),
    ([10, 0, 7, 42], 5432),
];
pub(super) const NETWORKED: &[&str] = &[
    "curl",
    "git",
    "aws",
    "kubectl",
    "ssh",
    "scp",
    "pip",
    "npm",
    "docker",
    "terraform",
    "openssl",
    "go",
    "cargo",
];
const HISTORY_RC: &str = "/etc/profile.d/history-security.sh";

pub(super) fn argv(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

pub(super) fn daemon(pid: u32, comm: &str, exe: &str, argv0: &str) -> Proc {
    Proc {
        pid,
        ppid: 1,
        creds: Creds::root_daemon(),
        comm: comm.to_string(),
        exe: exe.to_string(),
        cwd: "/".to_string(),
        argv: argv(&[argv0]),
    }
}

impl Sim<'_> {
    /// Sessions until the configured size is reached (always ends in `Err`).
    pub fn run(&mut self) -> Result<(), Halt> {
        let host = Host {
            agent_worker: daemon(
                self.new_pid(),
                "ssm-agent-worke",
                "/usr/bin/ssm-agent-worker",
                "/usr/bin/ssm-agent-worker",
            ),
            sshd: daemon(self.new_pid(), "sshd", "/usr/sbin/sshd", "/usr/sbin/sshd"),
            crond: daemon(
                self.new_pid(),
                "crond",
                "/usr/sbin/crond",
                "/usr/sbin/crond",
            ),
            shim: daemon(
                self.new_pid(),
                "containerd-shim",
                "/usr/bin/containerd-shim-runc-v2",
                "/usr/bin/containerd-shim-runc-v2",
            ),
        };
        loop {
            let roll = self.rng.unit();
            if roll < self.mix.cron_fraction {
                self.cron_job(&host)?;
            } else if roll < self.mix.cron_fraction + self.mix.ssh_fraction {
                self.ssh_session(&host)?;
            } else {
                self.ssm_session(&host)?;
            }
            self.tick(2_000, 300_000);
        }
    }

    pub(super) fn pick_user(&mut self) -> User {
        let i = self.rng.below(catalog::USERS.len() as u64) as usize;
        catalog::USERS[i]
    }

    fn ssm_session(&mut self, host: &Host) -> Result<(), Halt> {
        self.summary.sessions += 1;
        let user = self.pick_user();
        let session_id = format!("{}-{}", user.name, hex_digits(&mut self.rng, 17));
        let root = Creds::root_daemon();
        let worker_argv = argv(&["ssm-session-worker", &session_id, &self.instance_id]);
        let pid = self.new_pid();
        let worker = self.exec(
            Launch {
                pid,
                ppid: host.agent_worker.pid,
                creds: &root,
                cwd: "/",
            },
            "/usr/bin/ssm-session-worker",
            worker_argv,
            false,
        )?;
        let msg = format!("INFO [ssm-session-worker] [{session_id}] Session worker started");
        self.syslog(
            "amazon-ssm-agent",
            Some(host.agent_worker.pid),
            msg.as_bytes(),
        )?;
        let pts = self.rng.below(4) as u32;
        // execvp walks $PATH before it finds script(1): failed execs in the worker's image.
        let mut child = worker.clone();
        child.pid = self.new_pid();
        child.ppid = worker.pid;
        for dir in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin"] {
            self.failed_exec(&child, &format!("{dir}/script"))?;
        }
        let inner = format!(
            "runuser -u {} -- bash --noprofile --rcfile {HISTORY_RC} -i",
            user.name
        );
        let script_argv = argv(&["script", "-q", "-e", "-c", &inner, "/dev/null"]);
        let script = self.exec(
            Launch {
                pid: child.pid,
                ppid: worker.pid,
                creds: &root,
                cwd: "/",
            },
            "/usr/bin/script",
            script_argv,
            false,
        )?;
        let tty_root = Creds {
            pts: Some(pts),
            ..root
        };
        let sh_pid = self.new_pid();
        let sh_argv = argv(&["bash", "-c", &inner]);
        self.exec(
            Launch {
                pid: sh_pid,
                ppid: script.pid,
                creds: &tty_root,
                cwd: "/",
            },
            "/usr/bin/bash",
            sh_argv,
            false,
        )?;
        let ru_argv = argv(&[
            "runuser",
            "-u",
            user.name,
            "--",
            "bash",
            "--noprofile",
            "--rcfile",
            HISTORY_RC,
            "-i",
        ]);
        let runuser = self.exec(
            Launch {
                pid: sh_pid,
                ppid: script.pid,
                creds: &tty_root,
                cwd: "/",
            },
            "/usr/sbin/runuser",
            ru_argv,
            false,
        )?;
        let terminal = format!("/dev/pts/{pts}");
        let exe = "/usr/sbin/runuser";
        let m = Sim::pam_msg("setcred", "pam_rootok", user.name, exe, "?", &terminal);
        self.user_record("CRED_ACQ", &runuser, &m)?;
        let grantors = "pam_keyinit,pam_limits,pam_unix";
        let m = Sim::pam_msg("session_open", grantors, user.name, exe, "?", &terminal);
        self.user_record("USER_START", &runuser, &m)?;
        let msg = format!(
            "pam_unix(runuser:session): session opened for user {}(uid={}) by (uid=0)",
            user.name, user.uid
        );
        self.syslog("runuser", None, msg.as_bytes())?;
        let creds = Creds {
            auid: UNSET,
            ses: UNSET,
            uid: user.uid,
            euid: user.uid,
            pts: Some(pts),
        };
        let bash_argv = argv(&["bash", "--noprofile", "--rcfile", HISTORY_RC, "-i"]);
        let pid = self.new_pid();
        let proc_ = self.exec(
            Launch {
                pid,
                ppid: runuser.pid,
                creds: &creds,
                cwd: "/",
            },
            "/usr/bin/bash",
            bash_argv,
            false,
        )?;
        let mut sh = Shell {
            proc_,
            user,
            home: format!("/home/{}", user.name),
            pts,
        };
        self.interactive(&mut sh, host)?;
        let m = Sim::pam_msg("session_close", grantors, user.name, exe, "?", &terminal);
        self.user_record("USER_END", &runuser, &m)?;
        let m = Sim::pam_msg("setcred", "pam_rootok", user.name, exe, "?", &terminal);
        self.user_record("CRED_DISP", &runuser, &m)?;
        let msg = format!(
            "pam_unix(runuser:session): session closed for user {}",
            user.name
        );
        self.syslog("runuser", None, msg.as_bytes())
    }

    pub(super) fn interactive(&mut self, sh: &mut Shell, host: &Host) -> Result<(), Halt> {
        // The first prompt logs the history file's last entry (empty for a new user).
        self.history(sh, "")?;
        let commands = self.rng.range(3, 25);
        for _ in 0..commands {
            self.tick(800, 40_000);
            if self.rng.chance(self.mix.chatter_fraction) {
                self.chatter()?;
            }
            if self.rng.chance(self.mix.agent_fraction) {
                self.agent_run(sh, host)?;
            } else {
                let i = self.rng.below(catalog::HUMAN_COMMANDS.len() as u64) as usize;
                self.human_command(sh, host, catalog::HUMAN_COMMANDS[i])?;
            }
        }
        self.tick(500, 5_000);
        self.history(sh, "exit")
    }

    /// What history-security.sh does for one history entry: `tty`, then `logger … -- LINE`,
    /// which rsyslog writes as `bash[<logger pid>]: user:/dev/pts/N:#011 line`.
    pub(super) fn history(&mut self, sh: &Shell, line: &str) -> Result<(), Halt> {
        let mut msg = format!("{}:/dev/pts/{}:", sh.user.name, sh.pts);
        if !line.is_empty() {
            msg.push_str("\t ");
            msg.push_str(line);
        }
        let p = &sh.proc_;
        let pid = self.new_pid();
        self.exec(
            Launch {
                pid,
                ppid: p.pid,
                creds: &p.creds,
                cwd: &p.cwd,
            },
            "/usr/bin/tty",
            argv(&["tty"]),
            false,
        )?;
        let logger_argv = argv(&[
            "logger",
            "-p",
            "local1.notice",
            "-t",
            "bash",
            "-i",
            "--",
            &msg,
        ]);
        let logger_pid = self.new_pid();
        self.exec(
            Launch {
                pid: logger_pid,
                ppid: p.pid,
                creds: &p.creds,
                cwd: &p.cwd,
            },
            "/usr/bin/logger",
            logger_argv,
            false,
        )?;
        self.summary.history_lines += 1;
        self.syslog("bash", Some(logger_pid), msg.as_bytes())
    }

    fn human_command(&mut self, sh: &mut Shell, host: &Host, line: &str) -> Result<(), Halt> {
        let parsed = shell::split(line, &sh.home);
        for _ in 0..parsed.simple_commands.max(1) {
            self.history(sh, line)?;
        }
        // Pipeline elements exec at about the same time: each may interleave with the next.
        let count = parsed.execs.len();
        for (i, program) in parsed.execs.into_iter().enumerate() {
            self.run_program(&sh.proc_, host, Some(sh), program, i + 1 < count)?;
        }
        if let Some(dir) = line.strip_prefix("cd ") {
            let dir = dir.replace('~', &sh.home);
            sh.proc_.cwd = if dir.starts_with('/') {
                dir
            } else {
                format!("{}/{dir}", sh.home)
            };
        }
        self.tick(5, 3_000);
        self.history(sh, line)
    }

    /// Forks and execs `program` from `parent`; sudo and `docker run` bring their own events.
    pub(super) fn run_program(
        &mut self,
        parent: &Proc,
        host: &Host,
        sh: Option<&Shell>,
        program: Vec<Vec<u8>>,
        concurrent: bool,
    ) -> Result<(), Halt> {
        let name = String::from_utf8_lossy(&program[0]).into_owned();
        if name == "sudo" {
            if let Some(sh) = sh {
                return self.sudo(parent, host, sh, program, concurrent);
            }
        }
        let path = catalog::exec_path(&name);
        let is_docker_run = name == "docker" && program.get(1).is_some_and(|a| a == b"run");
        let connects =
            NETWORKED.contains(&name.as_str()) && self.rng.chance(self.mix.connect_fraction);
        let pid = self.new_pid();
        let p = self.exec(
            Launch {
                pid,
                ppid: parent.pid,
                creds: &parent.creds,
                cwd: &parent.cwd,
            },
            &path,
            program,
            // Its own connect follows: the same task cannot interleave with itself.
            concurrent && !connects,
        )?;
        if connects {
            let (ip, port) = DESTINATIONS[self.rng.below(DESTINATIONS.len() as u64) as usize];
            self.connect(&p, ip, port)?;
        }
        if is_docker_run {
            self.runc(host)?;
        }
        Ok(())
    }

    fn chatter(&mut self) -> Result<(), Halt> {
        let i = self.rng.below(catalog::SYSLOG_CHATTER.len() as u64) as usize;
        let (tag, has_pid, msg) = catalog::SYSLOG_CHATTER[i];
        let pid = has_pid.then(|| 300 + (tag.len() as u32 * 7919) % 3_000);
        self.syslog(tag, pid, msg.as_bytes())
    }

    pub(super) fn base62(&mut self) -> char {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        char::from(ALPHABET[self.rng.below(62) as usize])
    }
}
