//! An agent session: `claude` started from an interactive shell, then tool calls. Each call runs
//! the PreToolUse hook (`/bin/sh -c /opt/security/audit-log.sh`, which logs a verdict line) and,
//! when allowed, the agent's Bash tool wrapper with the command inside `eval '…'`.
//!
//! In: the shell the agent was typed into. Out: events, history lines and hook verdicts through
//! the [`Sim`]. Long heredoc commands (the "long-hex mix") come from here: they are the only
//! source of arguments over 7,500 bytes, so their share is kept at `Mix::long_arg_fraction` of
//! all events by quota.

use super::catalog;
use super::session::{argv, Host, Shell, DESTINATIONS};
use super::shell;
use super::sim::{hex_digits, Halt, Launch, Proc, Sim};
use super::text_fmt::{iso8601, HookVerdict};

/// Longest `command` a verdict line carries (lines stay under 4,096 bytes).
const MAX_HOOK_COMMAND: usize = 3_000;

/// What the hooks of one tool call are told.
struct ToolCall<'a> {
    session_id: &'a str,
    tool_use_id: &'a str,
    transcript_path: &'a str,
    command: &'a str,
}

impl Sim<'_> {
    pub(super) fn agent_run(&mut self, sh: &Shell, host: &Host) -> Result<(), Halt> {
        let i = self.rng.below(catalog::AGENT_INVOCATIONS.len() as u64) as usize;
        let words = catalog::AGENT_INVOCATIONS[i];
        let line = words
            .iter()
            .map(|w| {
                if w.contains(' ') {
                    format!("\"{w}\"")
                } else {
                    (*w).to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        self.history(sh, &line)?;
        let p = &sh.proc_;
        let pid = self.new_pid();
        let claude = self.exec(
            Launch {
                pid,
                ppid: p.pid,
                creds: &p.creds,
                cwd: &p.cwd,
            },
            "/usr/local/bin/claude",
            argv(words),
            false,
        )?;
        self.summary.agent_runs += 1;
        let session_id = format!(
            "{}-{}-4{}-{}{}-{}",
            hex_digits(&mut self.rng, 8),
            hex_digits(&mut self.rng, 4),
            hex_digits(&mut self.rng, 3),
            ['8', '9', 'a', 'b'][self.rng.below(4) as usize],
            hex_digits(&mut self.rng, 3),
            hex_digits(&mut self.rng, 12)
        );
        let tag: String = (0..6).map(|_| self.base62().to_ascii_lowercase()).collect();
        let snapshot = format!(
            "{}/.claude/shell-snapshots/snapshot-bash-{}-{tag}.sh",
            sh.home, self.clock
        );
        let transcript = format!(
            "{}/.claude/projects/{}/{session_id}.jsonl",
            sh.home,
            sh.home.replace('/', "-")
        );
        let calls = self.rng.range(2, 12);
        for _ in 0..calls {
            self.tick(1_500, 20_000);
            if self.rng.chance(self.mix.connect_fraction) {
                let (ip, port) = DESTINATIONS[3];
                self.connect(&claude, ip, port)?;
            }
            let long = self.long_arg_due();
            let denied = !long && self.rng.chance(self.mix.deny_fraction);
            let command = if long {
                self.long_heredoc()
            } else if denied {
                let i = self.rng.below(catalog::DENIED_AGENT_COMMANDS.len() as u64) as usize;
                catalog::DENIED_AGENT_COMMANDS[i].to_string()
            } else {
                let i = self.rng.below(catalog::AGENT_COMMANDS.len() as u64) as usize;
                catalog::AGENT_COMMANDS[i].to_string()
            };
            let tool_use_id: String = (0..22).map(|_| self.base62()).collect();
            let call = ToolCall {
                session_id: &session_id,
                tool_use_id: &format!("toolu_01{tool_use_id}"),
                transcript_path: &transcript,
                command: &command,
            };
            self.hook(&claude, &call, "audit-log", None)?;
            let dlp_reason =
                denied.then_some("rule dangerous-command matched in tool_input.command");
            self.hook(&claude, &call, "dlp-scan", dlp_reason)?;
            if denied {
                continue;
            }
            let wrapped = format!(
                "source {snapshot} 2>/dev/null || true && eval '{}' < /dev/null && pwd -P >| /tmp/claude-{}-cwd",
                command.replace('\'', "'\\''"),
                hex_digits(&mut self.rng, 4)
            );
            let pid = self.new_pid();
            let bash_argv = vec![b"/bin/bash".to_vec(), b"-c".to_vec(), wrapped.into_bytes()];
            let bash = self.exec(
                Launch {
                    pid,
                    ppid: claude.pid,
                    creds: &claude.creds,
                    cwd: &claude.cwd,
                },
                "/bin/bash",
                bash_argv,
                false,
            )?;
            let execs = if long {
                vec![argv(&["cat"])]
            } else {
                shell::split(&command, &sh.home).execs
            };
            let count = execs.len();
            for (i, program) in execs.into_iter().enumerate() {
                self.run_program(&bash, host, None, program, i + 1 < count)?;
            }
        }
        self.tick(200, 3_000);
        self.history(sh, &line)
    }

    /// One PreToolUse hook: `/bin/sh -c SCRIPT` → `/bin/sh SCRIPT` → `cat` (reads the payload),
    /// and the verdict line the script writes (`pid` = the script, `ppid` = the `sh -c`).
    fn hook(
        &mut self,
        agent: &Proc,
        call: &ToolCall<'_>,
        name: &str,
        deny: Option<&str>,
    ) -> Result<(), Halt> {
        let script = format!("/opt/security/{name}.sh");
        let (creds, cwd) = (&agent.creds, &agent.cwd);
        let pid = self.new_pid();
        let sh = self.exec(
            Launch {
                pid,
                ppid: agent.pid,
                creds,
                cwd,
            },
            "/bin/sh",
            argv(&["/bin/sh", "-c", &script]),
            false,
        )?;
        let pid = self.new_pid();
        let hook = self.exec(
            Launch {
                pid,
                ppid: sh.pid,
                creds,
                cwd,
            },
            &script,
            argv(&["/bin/sh", &script]),
            false,
        )?;
        let pid = self.new_pid();
        self.exec(
            Launch {
                pid,
                ppid: hook.pid,
                creds,
                cwd,
            },
            "/usr/bin/cat",
            argv(&["cat"]),
            false,
        )?;
        self.tick(3, 40);
        let mut command = call.command;
        let truncated = command.len() > MAX_HOOK_COMMAND;
        if truncated {
            let mut cut = MAX_HOOK_COMMAND;
            while !command.is_char_boundary(cut) {
                cut -= 1;
            }
            command = &command[..cut];
        }
        let host_cwd = cwd.clone();
        self.hook_line(&HookVerdict {
            v: 1,
            time: iso8601(self.clock),
            hook: name,
            event: "PreToolUse",
            decision: if deny.is_some() { "deny" } else { "allow" },
            reason: deny,
            session_id: call.session_id,
            tool_use_id: call.tool_use_id,
            tool_name: "Bash",
            command,
            cwd: &host_cwd,
            pid: hook.pid,
            ppid: sh.pid,
            transcript_path: call.transcript_path,
            permission_mode: "default",
            truncated,
        })
    }

    /// True when the share of events with a long argument is below `Mix::long_arg_fraction`.
    fn long_arg_due(&self) -> bool {
        let want = self.mix.long_arg_fraction * self.summary.events as f64;
        self.mix.long_arg_bytes > 0 && (self.summary.long_arg_events as f64) < want
    }

    /// `cat > FILE <<'EOF'` with about `Mix::long_arg_bytes` of source text.
    fn long_heredoc(&mut self) -> String {
        let target = self.mix.long_arg_bytes;
        let mut body = String::with_capacity(target + 64);
        while body.len() < target {
            let i = self.rng.below(catalog::SOURCE_LINES.len() as u64) as usize;
            body.push_str(catalog::SOURCE_LINES[i]);
        }
        let mut cut = target;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
        let n = self.rng.below(1000);
        format!("cat > src/generated_{n}.py <<'EOF'\n{body}\nEOF")
    }
}
