//! Privileged commands: `sudo CMD` (the set-uid exec, sudo's PAM and `USER_CMD` records, its
//! syslog lines, then CMD as root) and the container runtime a `docker run` starts.
//!
//! In: the shell and the command's argv. Out: events and syslog lines through the [`Sim`].

use super::audit_fmt::push_untrusted;
use super::catalog;
use super::session::{argv, Host, Shell};
use super::sim::{hex_digits, Creds, Halt, Launch, Proc, Sim};

impl Sim<'_> {
    pub(super) fn sudo(
        &mut self,
        parent: &Proc,
        host: &Host,
        sh: &Shell,
        program: Vec<Vec<u8>>,
        concurrent: bool,
    ) -> Result<(), Halt> {
        let mut first = 1;
        while first < program.len() && program[first].starts_with(b"-") {
            first += if program[first] == b"-u" { 2 } else { 1 };
        }
        let inner: Vec<Vec<u8>> = program.get(first..).unwrap_or_default().to_vec();
        let sudo_creds = Creds {
            euid: 0,
            ..parent.creds.clone()
        };
        let pid = self.new_pid();
        let sudo = self.exec(
            Launch {
                pid,
                ppid: parent.pid,
                creds: &sudo_creds,
                cwd: &parent.cwd,
            },
            "/usr/bin/sudo",
            program,
            // sudo's own records follow unless it has nothing to run.
            concurrent && inner.is_empty(),
        )?;
        let Some(inner_name) = inner.first() else {
            return Ok(());
        };
        let inner_path = catalog::exec_path(&String::from_utf8_lossy(inner_name));
        let mut command = inner_path.clone().into_bytes();
        for arg in &inner[1..] {
            command.push(b' ');
            command.extend_from_slice(arg);
        }
        let (user, exe) = (sh.user.name, "/usr/bin/sudo");
        let terminal = format!("/dev/pts/{}", sh.pts);
        let m = Sim::pam_msg(
            "accounting",
            "pam_unix,pam_localuser",
            user,
            exe,
            "?",
            &terminal,
        );
        self.user_record("USER_ACCT", &sudo, &m)?;
        let mut m = b"cwd=".to_vec();
        push_untrusted(&mut m, parent.cwd.as_bytes());
        m.extend_from_slice(b" cmd=");
        push_untrusted(&mut m, &command);
        m.extend_from_slice(
            format!(" exe=\"{exe}\" terminal=pts/{} res=success", sh.pts).as_bytes(),
        );
        self.user_record("USER_CMD", &sudo, &m)?;
        let m = Sim::pam_msg("setcred", "pam_env,pam_unix", "root", exe, "?", &terminal);
        self.user_record("CRED_REFR", &sudo, &m)?;
        let grantors = "pam_keyinit,pam_limits,pam_unix";
        let m = Sim::pam_msg("session_open", grantors, "root", exe, "?", &terminal);
        self.user_record("USER_START", &sudo, &m)?;
        let mut line = format!(
            "   {user} : TTY=pts/{} ; PWD={} ; USER=root ; COMMAND=",
            sh.pts, parent.cwd
        )
        .into_bytes();
        line.extend_from_slice(&command);
        self.syslog("sudo", Some(sudo.pid), &line)?;
        let msg = format!(
            "pam_unix(sudo:session): session opened for user root(uid=0) by {user}(uid={})",
            sh.user.uid
        );
        self.syslog("sudo", Some(sudo.pid), msg.as_bytes())?;
        let mut as_root = sudo.clone();
        as_root.creds.uid = 0;
        as_root.creds.euid = 0;
        self.run_program(&as_root, host, None, inner, false)?;
        self.tick(10, 2_000);
        let m = Sim::pam_msg("session_close", grantors, "root", exe, "?", &terminal);
        self.user_record("USER_END", &sudo, &m)?;
        let m = Sim::pam_msg("setcred", "pam_env,pam_unix", "root", exe, "?", &terminal);
        self.user_record("CRED_DISP", &sudo, &m)?;
        self.syslog(
            "sudo",
            Some(sudo.pid),
            b"pam_unix(sudo:session): session closed for user root",
        )
    }

    /// The container runtime starting a container for `docker run` (a daemon, no login).
    pub(super) fn runc(&mut self, host: &Host) -> Result<(), Halt> {
        let id = hex_digits(&mut self.rng, 64);
        let bundle = format!("/run/containerd/io.containerd.runtime.v2.task/moby/{id}");
        let log = format!("{bundle}/log.json");
        let pidfile = format!("{bundle}/init.pid");
        let runc_argv = argv(&[
            "runc",
            "--root",
            "/var/run/docker/runtime-runc/moby",
            "--log",
            &log,
            "--log-format",
            "json",
            "create",
            "--bundle",
            &bundle,
            "--pid-file",
            &pidfile,
            &id,
        ]);
        let pid = self.new_pid();
        let root = Creds::root_daemon();
        self.exec(
            Launch {
                pid,
                ppid: host.shim.pid,
                creds: &root,
                cwd: &bundle,
            },
            "/usr/bin/runc",
            runc_argv,
            false,
        )?;
        Ok(())
    }
}
