//! The command rules: what in one [`Invocation`] is a privileged container, a history evasion,
//! audit tampering or a privilege escalation command.
//!
//! In: an invocation and the configured lists. Out: `Some(detail)` — a short, fixed-vocabulary
//! description of what matched (flag names, the program, the path; never whole command lines) —
//! or `None`. Pure functions; linear in the invocation.

use super::invocation::{base_name, Invocation};
use super::shell_words::RedirectOp;

/// The lists the command rules match against (built-ins plus configured extras).
#[derive(Debug, Clone)]
pub struct Lists {
    /// Programs whose use is a privilege escalation (`sudo`, `su` …), by base name.
    pub privilege_commands: Vec<String>,
    /// Host paths whose bind mount into a container is an escape (`/`, `/etc` …).
    pub sensitive_mounts: Vec<String>,
    /// Base names of shell history files.
    pub history_files: Vec<String>,
}

pub const DEFAULT_PRIVILEGE_COMMANDS: &[&str] = &[
    "sudo", "su", "sudoedit", "doas", "pkexec", "setcap", "chroot", "nsenter", "unshare", "capsh",
    "setpriv",
];

pub const DEFAULT_SENSITIVE_MOUNTS: &[&str] = &[
    "/",
    "/etc",
    "/var",
    "/root",
    "/home",
    "/proc",
    "/sys",
    "/boot",
    "/dev",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
];

pub const DEFAULT_HISTORY_FILES: &[&str] = &[
    ".bash_history",
    ".zsh_history",
    ".zhistory",
    ".sh_history",
    ".history",
    ".ash_history",
    ".mksh_history",
    "fish_history",
];

/// Capabilities whose grant to a container is an escape path.
const DANGEROUS_CAPS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "DAC_READ_SEARCH",
];

/// Host namespaces a container must not share.
const HOST_NAMESPACE_OPTS: &[&str] = &[
    "--pid",
    "--network",
    "--net",
    "--ipc",
    "--uts",
    "--userns",
    "--cgroupns",
];

/// `docker run` options that take no value (everything else long takes one).
const DOCKER_BOOL_OPTS: &[&str] = &[
    "--rm",
    "--privileged",
    "--init",
    "--detach",
    "--interactive",
    "--tty",
    "--read-only",
    "--publish-all",
    "--no-healthcheck",
    "--oom-kill-disable",
    "--quiet",
    "--help",
    "--sig-proxy",
    "--disable-content-trust",
    "--replace",
    "--http-proxy",
    "--rmi",
    "--no-hosts",
    "--tls-verify",
];

/// Short `docker run` options that take no value; they may be grouped (`-dit`).
const DOCKER_BOOL_SHORT: &str = "ditPq";

/// Global `docker`/`podman` options (before the subcommand) that take a value.
const DOCKER_GLOBAL_VALUE_OPTS: &[&str] = &[
    "-H",
    "--host",
    "-c",
    "--context",
    "--config",
    "-l",
    "--log-level",
    "--tlscacert",
    "--tlscert",
    "--tlskey",
    "--url",
    "--connection",
    "--identity",
    "--root",
    "--runroot",
    "--storage-driver",
    "--cgroup-manager",
];

/// `docker run|create`, `docker container run|create`, `podman …`, `nerdctl …` with a flag that
/// breaks the container boundary.
pub fn docker_privileged(inv: &Invocation, lists: &Lists) -> Option<String> {
    if !matches!(inv.program(), "docker" | "podman" | "nerdctl") {
        return None;
    }
    let args = inv.args();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if !a.starts_with('-') {
            break;
        }
        i += if DOCKER_GLOBAL_VALUE_OPTS.contains(&a.as_str()) {
            2
        } else {
            1
        };
    }
    match args.get(i).map(String::as_str) {
        Some("run" | "create") => i += 1,
        Some("container")
            if matches!(args.get(i + 1).map(String::as_str), Some("run" | "create")) =>
        {
            i += 2
        }
        _ => return None,
    }
    let mut found: Vec<String> = Vec::new();
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "--" || !a.starts_with('-') || a == "-" {
            break; // the image: what follows is the container's command
        }
        let (flag, value) = if let Some((f, v)) = a.split_once('=') {
            (f.to_string(), Some(v.to_string()))
        } else if a.starts_with("--") {
            if DOCKER_BOOL_OPTS.contains(&a.as_str()) {
                (a.clone(), None)
            } else {
                i += 1;
                (a.clone(), args.get(i - 1).cloned())
            }
        } else if a[1..].chars().all(|c| DOCKER_BOOL_SHORT.contains(c)) {
            continue;
        } else if a.len() > 2 {
            (a[..2].to_string(), Some(a[2..].to_string())) // -v/:/host
        } else {
            i += 1;
            (a.clone(), args.get(i - 1).cloned())
        };
        if let Some(what) = docker_flag_finding(&flag, value.as_deref(), lists) {
            if !found.contains(&what) {
                found.push(what);
            }
        }
    }
    (!found.is_empty()).then(|| format!("{} {}", inv.program(), found.join(", ")))
}

fn docker_flag_finding(flag: &str, value: Option<&str>, lists: &Lists) -> Option<String> {
    let v = value.unwrap_or("");
    match flag {
        "--privileged" if value.is_none_or(|v| v.eq_ignore_ascii_case("true")) => {
            Some("--privileged".into())
        }
        f if HOST_NAMESPACE_OPTS.contains(&f) && v == "host" => Some(format!("{f}=host")),
        "--cap-add" => v
            .split(',')
            .map(|c| c.trim().to_ascii_uppercase())
            .map(|c| c.strip_prefix("CAP_").map(str::to_string).unwrap_or(c))
            .find(|c| DANGEROUS_CAPS.contains(&c.as_str()))
            .map(|c| format!("--cap-add={c}")),
        "--security-opt" => {
            let v = v.to_ascii_lowercase();
            let unconfined = v.ends_with("=unconfined") || v.ends_with(":unconfined");
            let no_label = v == "label=disable" || v == "label:disable";
            (unconfined || no_label).then(|| format!("--security-opt={v}"))
        }
        "-v" | "--volume" => {
            let source = v.split(':').next().unwrap_or("");
            is_sensitive_mount(source, lists).then(|| format!("-v {source}"))
        }
        "--mount" => v
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| matches!(k.trim(), "source" | "src"))
            .map(|(_, s)| s.trim())
            .filter(|s| is_sensitive_mount(s, lists))
            .map(|s| format!("--mount source={s}")),
        _ => None,
    }
}

fn is_sensitive_mount(source: &str, lists: &Lists) -> bool {
    if !source.starts_with('/') {
        return false; // a named volume
    }
    let normalized = normalize_path(source);
    lists
        .sensitive_mounts
        .iter()
        .any(|m| normalize_path(m) == normalized)
}

/// Collapses `//`, drops `.` components and a trailing `/` (keeps `/` itself).
fn normalize_path(p: &str) -> String {
    let parts: Vec<&str> = p
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// Disabling, clearing or destroying shell history, from a command or a builtin.
pub fn history_evasion(inv: &Invocation, lists: &Lists) -> Option<String> {
    for (name, value) in &inv.assignments {
        let v = value.trim();
        let finding = match name.as_str() {
            "HISTFILE" if v.is_empty() || v == "/dev/null" => Some(format!("HISTFILE={v}")),
            "HISTSIZE" | "HISTFILESIZE" if v == "0" => Some(format!("{name}=0")),
            "HISTIGNORE" if v == "*" || v.starts_with("*:") => Some(format!("HISTIGNORE={v}")),
            _ => None,
        };
        if finding.is_some() {
            return finding;
        }
    }
    let args = inv.args();
    let is_history_file = |w: &str| is_history_file(w, lists);
    let finding = match inv.program() {
        "unset" => args
            .iter()
            .find(|a| matches!(a.as_str(), "HISTFILE" | "PROMPT_COMMAND"))
            .map(|a| format!("unset {a}")),
        "set" => args
            .windows(2)
            .any(|w| w[0] == "+o" && w[1] == "history")
            .then(|| "set +o history".to_string()),
        "shopt" => (args.iter().any(|a| a == "-u") && args.iter().any(|a| a == "history"))
            .then(|| "shopt -u history".to_string()),
        "history" => args
            .iter()
            .find(|a| a.starts_with('-') && (a.contains('c') || a.contains('d')))
            .map(|a| format!("history {a}")),
        "trap" => {
            let disables = args.first().is_some_and(|a| a == "-" || a.is_empty());
            (disables && args.iter().any(|a| a == "DEBUG")).then(|| "trap - DEBUG".to_string())
        }
        "kill" => {
            let kill9 = args
                .iter()
                .any(|a| matches!(a.as_str(), "-9" | "-KILL" | "-SIGKILL"));
            (kill9 && args.iter().any(|a| a == "$$")).then(|| "kill -9 $$".to_string())
        }
        "rm" | "shred" | "unlink" | "srm" | "wipe" | "truncate" | "mv" => args
            .iter()
            .find(|a| !a.starts_with('-') && is_history_file(a))
            .map(|a| format!("{} {}", inv.program(), base_name(a))),
        "ln" | "cp" => {
            let target = args.last().filter(|a| is_history_file(a));
            let from_null = args.iter().any(|a| a == "/dev/null");
            target
                .filter(|_| from_null)
                .map(|t| format!("{} /dev/null {}", inv.program(), base_name(t)))
        }
        "sed" | "perl" => {
            let in_place = args
                .iter()
                .any(|a| a.starts_with("-i") || a == "--in-place");
            args.iter()
                .find(|a| in_place && is_history_file(a))
                .map(|a| format!("{} -i {}", inv.program(), base_name(a)))
        }
        _ => None,
    };
    finding.or_else(|| {
        inv.redirects
            .iter()
            .find(|r| r.op == RedirectOp::Truncate && is_history_file(&r.target))
            .map(|r| format!("truncating {}", base_name(&r.target)))
    })
}

fn is_history_file(word: &str, lists: &Lists) -> bool {
    word.contains("$HISTFILE")
        || word.contains("${HISTFILE}")
        || lists.history_files.iter().any(|h| base_name(word) == h)
}

/// Turning auditing off or destroying its logs and rules.
pub fn audit_tampering(inv: &Invocation) -> Option<String> {
    let args = inv.args();
    let program = inv.program();
    let names_auditd = |a: &String| a == "auditd" || a == "auditd.service";
    let finding = match program {
        "auditctl" => {
            let mut found = None;
            for (i, a) in args.iter().enumerate() {
                found = match a.as_str() {
                    "-D" => Some("auditctl -D".to_string()),
                    "-e0" => Some("auditctl -e 0".to_string()),
                    "-e" if args.get(i + 1).is_some_and(|v| v == "0") => {
                        Some("auditctl -e 0".to_string())
                    }
                    "-d" | "-W" => Some(format!("auditctl {a}")),
                    _ => None,
                };
                if found.is_some() {
                    break;
                }
            }
            found
        }
        "systemctl" => {
            let verb = args
                .iter()
                .find(|a| matches!(a.as_str(), "stop" | "disable" | "mask" | "kill"));
            verb.filter(|_| args.iter().any(names_auditd))
                .map(|v| format!("systemctl {v} auditd"))
        }
        "service" | "invoke-rc.d" => (args.first().is_some_and(names_auditd)
            && args.get(1).is_some_and(|v| v == "stop"))
        .then(|| format!("{program} auditd stop")),
        "auditd" if inv.argv[0].contains("init.d") && args.first().is_some_and(|v| v == "stop") => {
            Some("/etc/init.d/auditd stop".to_string())
        }
        "chkconfig" | "update-rc.d" => (args.iter().any(names_auditd)
            && args
                .iter()
                .any(|a| matches!(a.as_str(), "off" | "disable" | "remove")))
        .then(|| format!("{program} auditd off")),
        "kill" | "pkill" | "killall" => args
            .iter()
            .any(names_auditd)
            .then(|| format!("{program} auditd")),
        "rm" | "shred" | "unlink" | "truncate" | "mv" => args
            .iter()
            .find(|a| !a.starts_with('-') && (is_audit_log(a) || is_audit_config(a)))
            .map(|a| format!("{program} {a}")),
        "sed" | "perl" | "tee" | "cp" => {
            let writes =
                program == "tee" || program == "cp" || args.iter().any(|a| a.starts_with("-i"));
            let target = if program == "tee" || program == "cp" {
                args.iter().rev().find(|a| !a.starts_with('-'))
            } else {
                args.iter().find(|a| is_audit_config(a) || is_audit_log(a))
            };
            target
                .filter(|t| writes && (is_audit_config(t) || is_audit_log(t)))
                .map(|t| format!("{program} {t}"))
        }
        _ => None,
    };
    finding.or_else(|| {
        inv.redirects
            .iter()
            .find(|r| {
                matches!(r.op, RedirectOp::Truncate | RedirectOp::Append)
                    && (is_audit_log(&r.target) || is_audit_config(&r.target))
                    && !(r.op == RedirectOp::Append && is_audit_log(&r.target))
            })
            .map(|r| format!("writing {}", r.target))
    })
}

fn is_audit_log(path: &str) -> bool {
    path == "/var/log/audit" || path.starts_with("/var/log/audit/")
}

fn is_audit_config(path: &str) -> bool {
    path == "/etc/audit" || path.starts_with("/etc/audit/")
}

/// A program from the privilege escalation deny list, run directly or as a wrapper.
pub fn privilege_escalation(inv: &Invocation, lists: &Lists) -> Option<String> {
    let listed = |p: &str| lists.privilege_commands.iter().any(|c| c == p);
    inv.via
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(inv.program()))
        .find(|p| listed(p))
        .map(str::to_string)
}
