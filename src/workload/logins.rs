//! Logins that are not SSM sessions: an ssh login (sshd's PAM records, `LOGIN` setting the
//! loginuid, `USER_LOGIN`, then a login shell) and a cron job (crond's PAM records around
//! `/bin/sh -c JOB`).
//!
//! In: the host's daemons. Out: events and syslog lines through the [`Sim`].

use super::catalog;
use super::session::{argv, daemon, Host, Shell};
use super::shell;
use super::sim::{Creds, Halt, Launch, Sim};

impl Sim<'_> {
    pub(super) fn ssh_session(&mut self, host: &Host) -> Result<(), Halt> {
        self.summary.sessions += 1;
        let user = self.pick_user();
        let ses = self.summary.sessions as u32;
        let addr = format!("10.0.{}.{}", self.rng.range(0, 15), self.rng.range(2, 254));
        let pts = self.rng.below(4) as u32;
        let mut privsep = daemon(self.new_pid(), "sshd", "/usr/sbin/sshd", "sshd: [priv]");
        privsep.ppid = host.sshd.pid;
        let fingerprint: String = (0..43).map(|_| self.base62()).collect();
        let msg = format!(
            "Accepted publickey for {} from {addr} port {} ssh2: ED25519 SHA256:{fingerprint}",
            user.name,
            self.rng.range(32_768, 60_999)
        );
        self.syslog("sshd", Some(privsep.pid), msg.as_bytes())?;
        let exe = "/usr/sbin/sshd";
        let m = Sim::pam_msg(
            "accounting",
            "pam_unix,pam_localuser",
            user.name,
            exe,
            &addr,
            "ssh",
        );
        self.user_record("USER_ACCT", &privsep, &m)?;
        let m = Sim::pam_msg("setcred", "pam_env,pam_unix", user.name, exe, &addr, "ssh");
        self.user_record("CRED_ACQ", &privsep, &m)?;
        self.login_record(privsep.pid, user.uid, ses)?;
        privsep.creds.auid = user.uid;
        privsep.creds.ses = ses;
        let grantors = "pam_selinux,pam_loginuid,pam_keyinit,pam_limits,pam_systemd,pam_unix";
        let m = Sim::pam_msg("session_open", grantors, user.name, exe, &addr, "ssh");
        self.user_record("USER_START", &privsep, &m)?;
        let msg = format!(
            "pam_unix(sshd:session): session opened for user {}(uid={}) by (uid=0)",
            user.name, user.uid
        );
        self.syslog("sshd", Some(privsep.pid), msg.as_bytes())?;
        let msg = format!("New session {ses} of user {}.", user.name);
        self.syslog("systemd-logind", Some(host.sshd.pid - 1), msg.as_bytes())?;
        let m = format!(
            "op=login id={} exe=\"{exe}\" hostname=? addr={addr} terminal=/dev/pts/{pts} res=success",
            user.uid
        );
        self.user_record("USER_LOGIN", &privsep, m.as_bytes())?;
        let session_pid = self.new_pid();
        let creds = Creds {
            auid: user.uid,
            ses,
            uid: user.uid,
            euid: user.uid,
            pts: Some(pts),
        };
        let home = format!("/home/{}", user.name);
        let pid = self.new_pid();
        let proc_ = self.exec(
            Launch {
                pid,
                ppid: session_pid,
                creds: &creds,
                cwd: &home,
            },
            "/bin/bash",
            argv(&["-bash"]),
            false,
        )?;
        let mut sh = Shell {
            proc_,
            user,
            home,
            pts,
        };
        self.interactive(&mut sh, host)?;
        let m = Sim::pam_msg("session_close", grantors, user.name, exe, &addr, "ssh");
        self.user_record("USER_END", &privsep, &m)?;
        let m = Sim::pam_msg("setcred", "pam_env,pam_unix", user.name, exe, &addr, "ssh");
        self.user_record("CRED_DISP", &privsep, &m)?;
        let msg = format!(
            "pam_unix(sshd:session): session closed for user {}",
            user.name
        );
        self.syslog("sshd", Some(privsep.pid), msg.as_bytes())
    }

    pub(super) fn cron_job(&mut self, host: &Host) -> Result<(), Halt> {
        const JOBS: &[&str] = &[
            "/usr/lib64/sa/sa1 1 1",
            "run-parts /etc/cron.hourly",
            "/usr/local/bin/backup.sh --incremental > /dev/null 2>&1",
        ];
        self.summary.sessions += 1;
        let job = JOBS[self.rng.below(JOBS.len() as u64) as usize];
        let ses = self.summary.sessions as u32;
        let mut cron = host.crond.clone();
        cron.pid = self.new_pid();
        cron.ppid = host.crond.pid;
        let exe = "/usr/sbin/crond";
        let m = Sim::pam_msg(
            "accounting",
            "pam_access,pam_unix,pam_localuser",
            "root",
            exe,
            "?",
            "cron",
        );
        self.user_record("USER_ACCT", &cron, &m)?;
        let m = Sim::pam_msg("setcred", "pam_env,pam_unix", "root", exe, "?", "cron");
        self.user_record("CRED_ACQ", &cron, &m)?;
        self.login_record(cron.pid, 0, ses)?;
        cron.creds.auid = 0;
        cron.creds.ses = ses;
        let grantors = "pam_loginuid,pam_keyinit,pam_limits,pam_systemd,pam_unix";
        let m = Sim::pam_msg("session_open", grantors, "root", exe, "?", "cron");
        self.user_record("USER_START", &cron, &m)?;
        self.syslog(
            "CROND",
            Some(cron.pid),
            format!("(root) CMD ({job})").as_bytes(),
        )?;
        let pid = self.new_pid();
        let sh = self.exec(
            Launch {
                pid,
                ppid: cron.pid,
                creds: &cron.creds,
                cwd: "/root",
            },
            "/bin/sh",
            argv(&["/bin/sh", "-c", job]),
            false,
        )?;
        for program in shell::split(job, "/root").execs {
            let path = catalog::exec_path(&String::from_utf8_lossy(&program[0]));
            let pid = self.new_pid();
            self.exec(
                Launch {
                    pid,
                    ppid: sh.pid,
                    creds: &sh.creds,
                    cwd: "/root",
                },
                &path,
                program,
                false,
            )?;
        }
        self.tick(50, 2_000);
        let m = Sim::pam_msg("setcred", "pam_env,pam_unix", "root", exe, "?", "cron");
        self.user_record("CRED_DISP", &cron, &m)?;
        let m = Sim::pam_msg("session_close", grantors, "root", exe, "?", "cron");
        self.user_record("USER_END", &cron, &m)
    }
}
