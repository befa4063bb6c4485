//! Enrichment: the last step before an event is encoded.
//!
//! In: a correlated [`Event`]. Out: the same event with user and group names next to its ids
//! (`user`, `process.user`, `process.audit_user`), its `alerts`, and then — last, because the
//! alert rules and the correlator need the real text — its secrets redacted (`redacted`). Host
//! identity (`host.instance_id`, `region`, `account_id`, `tags`) is not added per event: it is
//! resolved once at start-up by [`host_info`] (IMDSv2 and/or the config) and cloned into every
//! event by the process stage. Guarantees: no I/O per event but a stat of passwd/group every
//! `users_check_secs`; never panics.

pub mod imds;
pub mod users;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use auditrail_parsers::event::{Id, Syscall};

use crate::alerts::{AlertEngine, AlertSettings};
use crate::event::{Event, HostInfo};
use crate::redact::{RedactError, RedactionSettings, Redactor};

pub use self::imds::{ImdsSettings, InstanceIdentity};
use self::users::UserDb;

/// `[enrich]` in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichSettings {
    /// Add user and group names (default `true`).
    pub users: bool,
    /// Directory holding `etc/passwd` and `etc/group` (default `/`).
    pub users_root: PathBuf,
    /// How often the two files are checked for changes, in seconds (default 5).
    pub users_check_secs: u64,
    /// Host identity written in the config; wins over IMDS for the fields it sets.
    pub instance_id: Option<String>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    /// Static tags put in every event's `host.tags`.
    pub tags: BTreeMap<String, String>,
    pub imds: ImdsSettings,
}

impl Default for EnrichSettings {
    fn default() -> Self {
        EnrichSettings {
            users: true,
            users_root: PathBuf::from("/"),
            users_check_secs: 5,
            instance_id: None,
            region: None,
            account_id: None,
            tags: BTreeMap::new(),
            imds: ImdsSettings::default(),
        }
    }
}

/// A numeric id and its name (absent when the id has no entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedId {
    pub id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Arc<str>>,
}

/// A user id and name with its group (effective, saved, filesystem ids).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<NamedId>,
}

/// The event's user, ECS/Auditbeat style: `user.{id,name}` (real uid), `user.group` (gid),
/// `user.audit` (auid), `user.effective` (euid, egid), and `user.saved` / `user.filesystem` only
/// when they differ from the effective ids (setuid programs). Unset ids (`-1`) are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<NamedId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<NamedId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective: Option<UserRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved: Option<UserRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<UserRef>,
}

/// Names, alerts and redaction for every event (see the module doc).
#[derive(Debug)]
pub struct Enricher {
    users: Option<UserDb>,
    alerts: AlertEngine,
    redactor: Redactor,
}

impl Default for Enricher {
    fn default() -> Self {
        Enricher::new()
    }
}

impl Enricher {
    /// Built-in defaults: names from `/etc`, every alert rule, redaction on (unkeyed).
    pub fn new() -> Self {
        let s = EnrichSettings::default();
        Enricher {
            users: Some(UserDb::new(
                &s.users_root,
                Duration::from_secs(s.users_check_secs),
            )),
            alerts: AlertEngine::default(),
            redactor: Redactor::with_defaults(),
        }
    }

    /// From the configuration's `[enrich]`, `[alerts]` and `[redaction]` sections. Fails only if
    /// the redaction key file cannot be read or a pattern does not compile.
    pub fn from_settings(
        enrich: &EnrichSettings,
        alerts: &AlertSettings,
        redaction: &RedactionSettings,
    ) -> Result<Self, RedactError> {
        let check = Duration::from_secs(enrich.users_check_secs);
        Ok(Enricher {
            users: enrich.users.then(|| UserDb::new(&enrich.users_root, check)),
            alerts: AlertEngine::new(alerts),
            redactor: Redactor::new(redaction)?,
        })
    }

    /// Adds names and alerts to `event`, then redacts secrets in it.
    pub fn enrich(&mut self, event: &mut Event) {
        if let Some(db) = &mut self.users {
            db.refresh(Instant::now());
            add_names(db, event);
        }
        let alerts = self.alerts.evaluate(event);
        event.alerts.extend(alerts);
        self.redactor.redact_event(event);
    }
}

fn known(id: Id) -> Option<u32> {
    id.flatten()
}

fn add_names(db: &UserDb, ev: &mut Event) {
    if let Some(p) = &mut ev.process {
        if p.user.is_none() {
            p.user = p.uid.and_then(|u| db.user_name(u)).map(|n| n.to_string());
        }
        if p.audit_user.is_none() {
            p.audit_user = p.auid.and_then(|u| db.user_name(u)).map(|n| n.to_string());
        }
    }
    if let Some(sc) = ev.audit.as_ref().and_then(|a| a.syscall.as_ref()) {
        ev.user = syscall_user(db, sc);
    } else if let Some(h) = &ev.history {
        let id = h
            .uid
            .or_else(|| h.user.as_deref().and_then(|n| db.uid_of(n)));
        let name = match (&h.user, id) {
            (Some(n), _) => Some(Arc::from(n.as_str())),
            (None, Some(id)) => db.user_name(id),
            (None, None) => None,
        };
        if id.is_some() || name.is_some() {
            ev.user = Some(UserInfo {
                id,
                name,
                ..UserInfo::default()
            });
        }
    }
}

fn syscall_user(db: &UserDb, sc: &Syscall) -> Option<UserInfo> {
    let group = |gid: Option<u32>| {
        gid.map(|id| NamedId {
            id,
            name: db.group_name(id),
        })
    };
    let user_ref = |uid: Option<u32>, gid: Option<u32>| {
        (uid.is_some() || gid.is_some()).then(|| UserRef {
            id: uid,
            name: uid.and_then(|u| db.user_name(u)),
            group: group(gid),
        })
    };
    let (uid, gid) = (known(sc.uid), known(sc.gid));
    let (euid, egid) = (known(sc.euid), known(sc.egid));
    let differs =
        |u: Option<u32>, g: Option<u32>| (u.is_some() && u != euid) || (g.is_some() && g != egid);
    let (suid, sgid) = (known(sc.suid), known(sc.sgid));
    let (fsuid, fsgid) = (known(sc.fsuid), known(sc.fsgid));
    let info = UserInfo {
        id: uid,
        name: uid.and_then(|u| db.user_name(u)),
        group: group(gid),
        audit: known(sc.auid).map(|id| NamedId {
            id,
            name: db.user_name(id),
        }),
        effective: user_ref(euid, egid),
        saved: if differs(suid, sgid) {
            user_ref(suid, sgid)
        } else {
            None
        },
        filesystem: if differs(fsuid, fsgid) {
            user_ref(fsuid, fsgid)
        } else {
            None
        },
    };
    (info != UserInfo::default()).then_some(info)
}

/// The host every event names: `host` from the config (or the OS), identity from the config
/// and, when `[enrich.imds] enabled`, from IMDSv2 (one request at start-up; a failure is logged
/// and the identity left out), and the static tags.
pub async fn host_info(name: &str, settings: &EnrichSettings) -> HostInfo {
    let mut identity = InstanceIdentity {
        instance_id: settings.instance_id.clone(),
        region: settings.region.clone(),
        account_id: settings.account_id.clone(),
    };
    let complete = identity.instance_id.is_some()
        && identity.region.is_some()
        && identity.account_id.is_some();
    if settings.imds.enabled && !complete {
        match imds::fetch_identity(&settings.imds).await {
            Ok(found) => {
                identity.instance_id = identity.instance_id.or(found.instance_id);
                identity.region = identity.region.or(found.region);
                identity.account_id = identity.account_id.or(found.account_id);
                tracing::info!(instance_id = ?identity.instance_id, "host identity from IMDSv2");
            }
            Err(e) => tracing::warn!("no host identity from IMDSv2: {e}"),
        }
    }
    let arc = |s: Option<String>| s.map(|s| Arc::<str>::from(s.as_str()));
    HostInfo {
        name: Arc::from(name),
        instance_id: arc(identity.instance_id),
        region: arc(identity.region),
        account_id: arc(identity.account_id),
        tags: Arc::new(settings.tags.clone()),
    }
}

#[cfg(test)]
mod tests;
