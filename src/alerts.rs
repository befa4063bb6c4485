//! Security alerts: the real-time alert table of the security approval, as a built-in,
//! configurable rule set evaluated on every event.
//!
//! In: an event after correlation, before redaction (rules need the real text). Out: its
//! `alerts` — `{rule, severity, summary}`, at most one per rule per event, with stable rule ids
//! ([`RULES`], documented in `docs/schema.md`). Command rules read an execve's argv, a history
//! line's command and a Bash PreToolUse hook verdict's command, through a small shell parser
//! ([`shell_words`], [`invocation`]) that sees through `sudo`, `env`, `bash -c '…'`, `eval …`.
//! Guarantees: bounded state (the per-shell history memory), linear work per event, no panics.

pub mod invocation;
pub mod rules;
pub mod shell_words;

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use auditrail_parsers::hook::{Decision, HookEvent};

use self::invocation::{from_argv, from_command_line, Invocation};
use self::rules::Lists;
use crate::event::Event;

/// How serious an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// One alert raised on an event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Alert {
    /// The rule's stable id ([`RULES`]).
    pub rule: &'static str,
    pub severity: Severity,
    /// What matched, in a few words: flags, program names, hook names — never a whole command.
    pub summary: String,
}

/// A built-in rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleId {
    HookDenied,
    PromptInjection,
    HookBypass,
    DockerPrivileged,
    HistoryEvasion,
    HistoryEmptyCommand,
    AuditTampering,
    PrivilegeEscalation,
}

/// Every rule: id, default severity, what it flags.
pub const RULES: &[(RuleId, &str, Severity, &str)] = &[
    (
        RuleId::HookDenied,
        "hook_denied",
        Severity::Medium,
        "a hook verdict `deny` (any hook)",
    ),
    (
        RuleId::PromptInjection,
        "prompt_injection",
        Severity::High,
        "a `prompt-injection` hook verdict `deny` or `ask`",
    ),
    (
        RuleId::HookBypass,
        "hook_bypass",
        Severity::Critical,
        "a command ran although a PreToolUse hook denied it",
    ),
    (
        RuleId::DockerPrivileged,
        "docker_privileged",
        Severity::High,
        "a container started with host privileges",
    ),
    (
        RuleId::HistoryEvasion,
        "history_evasion",
        Severity::High,
        "shell history disabled, cleared or destroyed",
    ),
    (
        RuleId::HistoryEmptyCommand,
        "history_empty_command",
        Severity::Medium,
        "an empty history line after non-empty ones from the same shell",
    ),
    (
        RuleId::AuditTampering,
        "audit_tampering",
        Severity::Critical,
        "auditing stopped, its rules removed, or its logs or configuration changed",
    ),
    (
        RuleId::PrivilegeEscalation,
        "privilege_escalation",
        Severity::Medium,
        "a program from the privilege escalation deny list",
    ),
];

impl RuleId {
    pub fn id(self) -> &'static str {
        RULES
            .iter()
            .find(|r| r.0 == self)
            .map_or("unknown", |r| r.1)
    }
    fn index(self) -> usize {
        RULES.iter().position(|r| r.0 == self).unwrap_or(0)
    }
}

/// `[alerts]` in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    /// Evaluate rules at all (default `true`).
    pub enabled: bool,
    /// Per rule (by id): `enabled`, `severity`.
    pub rules: BTreeMap<String, RuleSettings>,
    /// Added to the privilege escalation deny list.
    pub extra_privilege_commands: Vec<String>,
    /// Added to the host paths whose bind mount into a container is flagged.
    pub extra_sensitive_mounts: Vec<String>,
    /// Added to the history file names (`.bash_history` …).
    pub extra_history_files: Vec<String>,
    /// Audit watch keys whose events are audit tampering (replaces the default).
    pub audit_watch_keys: Vec<String>,
    /// Hook names whose `deny`/`ask` verdicts report a prompt injection (replaces the default).
    pub prompt_injection_hooks: Vec<String>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            enabled: true,
            rules: BTreeMap::new(),
            extra_privilege_commands: Vec::new(),
            extra_sensitive_mounts: Vec::new(),
            extra_history_files: Vec::new(),
            audit_watch_keys: vec!["audit_config".into()],
            prompt_injection_hooks: vec!["prompt-injection".into()],
        }
    }
}

/// `[alerts.rules.<id>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSettings {
    #[serde(default = "yes")]
    pub enabled: bool,
    pub severity: Option<Severity>,
}

fn yes() -> bool {
    true
}

impl AlertSettings {
    /// Problems with these settings, for the configuration check.
    pub fn problems(&self) -> Vec<String> {
        self.rules
            .keys()
            .filter(|k| !RULES.iter().any(|r| r.1 == k.as_str()))
            .map(|k| {
                let known: Vec<&str> = RULES.iter().map(|r| r.1).collect();
                format!(
                    "alerts.rules: unknown rule {k:?} (known: {})",
                    known.join(", ")
                )
            })
            .collect()
    }
}

/// Remembered per shell for `history_empty_command`: did it log a non-empty command last?
const MAX_SHELLS: usize = 4096;

/// Evaluates the rules; keeps the little state the history rule needs.
#[derive(Debug)]
pub struct AlertEngine {
    enabled: bool,
    /// Per rule (index in [`RULES`]): its severity, or `None` when disabled.
    severity: Vec<Option<Severity>>,
    lists: Lists,
    watch_keys: Vec<String>,
    injection_hooks: Vec<String>,
    shells: HashMap<String, bool>,
    shell_order: VecDeque<String>,
}

impl Default for AlertEngine {
    fn default() -> Self {
        AlertEngine::new(&AlertSettings::default())
    }
}

impl AlertEngine {
    pub fn new(settings: &AlertSettings) -> Self {
        let severity = RULES
            .iter()
            .map(|(_, id, default, _)| match settings.rules.get(*id) {
                Some(r) if !r.enabled => None,
                Some(r) => Some(r.severity.unwrap_or(*default)),
                None => Some(*default),
            })
            .collect();
        let with = |defaults: &[&str], extra: &[String]| -> Vec<String> {
            defaults
                .iter()
                .map(|s| s.to_string())
                .chain(extra.iter().cloned())
                .collect()
        };
        AlertEngine {
            enabled: settings.enabled,
            severity,
            lists: Lists {
                privilege_commands: with(
                    rules::DEFAULT_PRIVILEGE_COMMANDS,
                    &settings.extra_privilege_commands,
                ),
                sensitive_mounts: with(
                    rules::DEFAULT_SENSITIVE_MOUNTS,
                    &settings.extra_sensitive_mounts,
                ),
                history_files: with(rules::DEFAULT_HISTORY_FILES, &settings.extra_history_files),
            },
            watch_keys: settings.audit_watch_keys.clone(),
            injection_hooks: settings.prompt_injection_hooks.clone(),
            shells: HashMap::new(),
            shell_order: VecDeque::new(),
        }
    }

    /// The alerts `ev` raises (none when alerts are disabled).
    pub fn evaluate(&mut self, ev: &Event) -> Vec<Alert> {
        if !self.enabled {
            return Vec::new();
        }
        let history_emptied = self.history_emptied(ev);
        let mut out = Alerts {
            severity: &self.severity,
            alerts: Vec::new(),
        };
        if history_emptied {
            out.raise(
                RuleId::HistoryEmptyCommand,
                "empty history line after commands: history cleared or disabled".to_string(),
            );
        }
        if let Some(h) = &ev.hook {
            let reason = h
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            if h.decision == Decision::Deny {
                out.raise(
                    RuleId::HookDenied,
                    format!("hook {} denied a {} tool call{reason}", h.hook, h.tool_name),
                );
            }
            let asks = matches!(h.decision, Decision::Deny | Decision::Ask);
            if asks && self.injection_hooks.contains(&h.hook) {
                let d = if h.decision == Decision::Deny {
                    "deny"
                } else {
                    "ask"
                };
                out.raise(
                    RuleId::PromptInjection,
                    format!("hook {} answered {d}{reason}", h.hook),
                );
            }
            if h.event == HookEvent::PreToolUse && h.tool_name == "Bash" {
                if let Some(cmd) = &h.command {
                    self.command_rules(&from_command_line(cmd), &mut out);
                }
            }
        }
        if let Some(agent) = ev.agent.as_ref().filter(|a| a.denied_but_executed) {
            let deniers: Vec<&str> = agent
                .decisions
                .iter()
                .filter(|d| d.decision == Decision::Deny)
                .map(|d| d.hook.as_str())
                .collect();
            let by = if deniers.is_empty() {
                String::new()
            } else {
                format!(" by {}", deniers.join(", "))
            };
            let call = agent.tool_use_id.as_deref().unwrap_or("?");
            out.raise(
                RuleId::HookBypass,
                format!("tool call {call} ran although denied{by}"),
            );
        }
        if let Some(audit) = &ev.audit {
            if let Some(sc) = &audit.syscall {
                if let Some(key) = sc.keys.iter().find(|k| self.watch_keys.contains(k)) {
                    let path = audit
                        .paths
                        .iter()
                        .filter(|p| p.nametype.as_deref() != Some("PARENT"))
                        .find_map(|p| p.name.as_deref())
                        .unwrap_or("?");
                    out.raise(
                        RuleId::AuditTampering,
                        format!("change to an audited path (key {key}): {path}"),
                    );
                }
            }
            if let Some(x) = &audit.execve {
                self.command_rules(&from_argv(&x.args), &mut out);
            }
        }
        if let Some(h) = ev.history.as_ref().filter(|h| !h.empty) {
            self.command_rules(&from_command_line(&h.command), &mut out);
        }
        out.alerts
    }

    fn command_rules(&self, invocations: &[Invocation], out: &mut Alerts<'_>) {
        for inv in invocations {
            if let Some(d) = rules::docker_privileged(inv, &self.lists) {
                out.raise(
                    RuleId::DockerPrivileged,
                    format!("privileged container: {d}"),
                );
            }
            if let Some(d) = rules::history_evasion(inv, &self.lists) {
                out.raise(RuleId::HistoryEvasion, format!("history evasion: {d}"));
            }
            if let Some(d) = rules::audit_tampering(inv) {
                out.raise(RuleId::AuditTampering, format!("audit tampering: {d}"));
            }
            if let Some(d) = rules::privilege_escalation(inv, &self.lists) {
                out.raise(
                    RuleId::PrivilegeEscalation,
                    format!("privilege escalation command: {d}"),
                );
            }
        }
    }

    /// An empty history line from a shell whose previous line was not empty: its history was
    /// cleared or switched off. A shell's first line is never flagged (a new shell with an empty
    /// history file logs an empty line at its first prompt), nor a run of empty lines twice.
    fn history_emptied(&mut self, ev: &Event) -> bool {
        let Some(h) = &ev.history else { return false };
        let shell = ev
            .process
            .as_ref()
            .map(|p| format!("pid:{}", p.pid))
            .or_else(|| h.shell_pid.map(|p| format!("pid:{p}")))
            .unwrap_or_else(|| {
                format!(
                    "tty:{}:{}",
                    h.user.as_deref().unwrap_or(""),
                    h.tty.as_deref().unwrap_or("")
                )
            });
        let previous_non_empty = self.shells.get(&shell).copied();
        if previous_non_empty.is_none() {
            if self.shell_order.len() >= MAX_SHELLS {
                if let Some(old) = self.shell_order.pop_front() {
                    self.shells.remove(&old);
                }
            }
            self.shell_order.push_back(shell.clone());
        }
        self.shells.insert(shell, !h.empty);
        h.empty && previous_non_empty == Some(true)
    }
}

/// The alerts of one event, one per rule.
struct Alerts<'a> {
    severity: &'a [Option<Severity>],
    alerts: Vec<Alert>,
}

impl Alerts<'_> {
    fn raise(&mut self, rule: RuleId, summary: String) {
        let Some(Some(severity)) = self.severity.get(rule.index()) else {
            return;
        };
        let id = rule.id();
        if self.alerts.iter().any(|a| a.rule == id) {
            return;
        }
        self.alerts.push(Alert {
            rule: id,
            severity: *severity,
            summary,
        });
    }
}

#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod tests;
