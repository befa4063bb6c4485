//! SSM Session Manager sessions: recognising a session worker's execve, and the audit `ses` →
//! session map.
//!
//! Enters: a process's `exe` and argv; audit session ids seen inside sessions. Leaves: the
//! [`SsmSession`] a worker starts, or the one a `ses` was seen in. Guarantees: the id pattern is
//! a `regex` (linear time); the `ses` map is bounded; `ses` unset (`4294967295`, given here as
//! `None`) never maps.

use std::sync::Arc;

use regex::Regex;

use super::bounded::BoundedMap;
use super::settings::{CorrelateSettings, DEFAULT_SSM_SESSION_ID_PATTERN};
use super::SsmSession;

/// How many audit session ids are remembered.
const MAX_SES: usize = 4096;

#[derive(Debug)]
pub(crate) struct SsmMatcher {
    names: Vec<String>,
    /// `None` only if even the default failed to compile (it is tested; this keeps us panic-free).
    pattern: Option<Regex>,
}

impl SsmMatcher {
    pub(crate) fn new(s: &CorrelateSettings) -> Self {
        let pattern = Regex::new(&s.ssm_session_id_pattern)
            .or_else(|e| {
                tracing::warn!("correlate.ssm_session_id_pattern: {e}; using the default");
                Regex::new(DEFAULT_SSM_SESSION_ID_PATTERN)
            })
            .ok();
        SsmMatcher {
            names: s.ssm_worker_names.clone(),
            pattern,
        }
    }

    /// The session a process with this `exe` and argv starts, if it is a session worker.
    pub(crate) fn detect(
        &self,
        pid: u32,
        exe: Option<&str>,
        args: &[String],
    ) -> Option<SsmSession> {
        let named = |p: &str| self.names.iter().any(|n| n == basename(p));
        let is_worker = args.first().is_some_and(|a| named(a)) || exe.is_some_and(named);
        if !is_worker {
            return None;
        }
        let id = args.get(1)?;
        let caps = self.pattern.as_ref()?.captures(id)?;
        let principal = caps
            .name("principal")
            .map(|m| m.as_str().to_string())
            .filter(|p| !p.is_empty());
        Some(SsmSession {
            session_id: id.clone(),
            principal,
            worker_pid: Some(pid),
            matched_by: "ancestry",
        })
    }
}

/// The last path component (`/usr/bin/ssm-session-worker` → `ssm-session-worker`).
pub(crate) fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Audit session ids seen inside SSM sessions.
#[derive(Debug)]
pub(crate) struct SesMap {
    map: BoundedMap<u32, Arc<SsmSession>>,
}

impl SesMap {
    pub(crate) fn new() -> Self {
        SesMap {
            map: BoundedMap::new(MAX_SES),
        }
    }

    /// Records that audit session `ses` belongs to `session` (first sighting wins).
    pub(crate) fn learn(&mut self, ses: Option<u32>, session: &Arc<SsmSession>) {
        let Some(ses) = ses.filter(|&s| s != u32::MAX) else {
            return;
        };
        if self.map.get(&ses).is_none() {
            let mut s = SsmSession::clone(session);
            s.matched_by = "audit_session";
            self.map.insert(ses, Arc::new(s));
        }
    }

    pub(crate) fn lookup(&self, ses: Option<u32>) -> Option<Arc<SsmSession>> {
        self.map.get(&ses.filter(|&s| s != u32::MAX)?).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_default_pattern_finds_session_and_principal() {
        let m = SsmMatcher::new(&CorrelateSettings::default());
        let s = m
            .detect(
                7,
                Some("/usr/bin/ssm-session-worker"),
                &args(&["ssm-session-worker", "carol-0a0b0c0d0e0f01234", "i-0"]),
            )
            .unwrap();
        assert_eq!(s.session_id, "carol-0a0b0c0d0e0f01234");
        assert_eq!(s.principal.as_deref(), Some("carol"));
        assert_eq!(s.worker_pid, Some(7));
        let s = m
            .detect(
                1,
                None,
                &args(&["/x/ssm-session-worker", "a-b@c-0123456789abcdef0"]),
            )
            .unwrap();
        assert_eq!(s.principal.as_deref(), Some("a-b@c"));
        // Not a worker, or not a session id.
        assert!(m
            .detect(
                1,
                Some("/bin/bash"),
                &args(&["bash", "carol-0a0b0c0d0e0f01234"])
            )
            .is_none());
        assert!(m
            .detect(1, None, &args(&["ssm-session-worker", "carol-0A0B"]))
            .is_none());
        assert!(m.detect(1, None, &args(&["ssm-session-worker"])).is_none());
    }

    #[test]
    fn a_bad_configured_pattern_falls_back_to_the_default() {
        let s = CorrelateSettings {
            ssm_session_id_pattern: "(".into(),
            ..CorrelateSettings::default()
        };
        assert_eq!(s.problems().len(), 1);
        let m = SsmMatcher::new(&s);
        assert!(m
            .detect(
                1,
                None,
                &args(&["ssm-session-worker", "x-0123456789abcdef0"])
            )
            .is_some());
    }

    #[test]
    fn unset_ses_never_maps() {
        let mut map = SesMap::new();
        let s = Arc::new(SsmSession {
            session_id: "s".into(),
            principal: None,
            worker_pid: None,
            matched_by: "ancestry",
        });
        map.learn(None, &s);
        map.learn(Some(u32::MAX), &s);
        assert!(map.lookup(Some(u32::MAX)).is_none());
        map.learn(Some(12), &s);
        assert_eq!(map.lookup(Some(12)).unwrap().matched_by, "audit_session");
        assert!(map.lookup(None).is_none());
    }
}
