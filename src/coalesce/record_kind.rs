//! Which record types end, open or stand outside an audit event, decided from the type alone.
//!
//! In: a [`RecordType`]. Out: a [`RecordKind`]. The decision follows where the kernel's numeric
//! ranges (`include/uapi/linux/audit.h`, `libaudit.h`) say a record comes from:
//!
//! | range | source | kind |
//! |---|---|---|
//! | 1005 `USER`, 1100–1199 (`USER_*`, `CRED_*`, `SERVICE_*`, `SYSTEM_*`, `ADD_USER` …), 2100–2999 (`ANOM_LOGIN_*` and other user-space `ANOM_*`, `RESP_*`, `USER_ROLE_CHANGE`, `CRYPTO_*` user, `VIRT_*`) | user space via netlink; the kernel logs them without a syscall context, so each gets a serial of its own | [`RecordKind::Standalone`] |
//! | 2000 `KERNEL` | kernel start-up, logged without a context | [`RecordKind::Standalone`] |
//! | 1200–1299 `DAEMON_*` | auditd itself, with auditd's *own* counter (the VM capture has `DAEMON_START …:5664` before kernel serial 4128) | [`RecordKind::Daemon`] |
//! | 1320 `EOE` | kernel, after the last record of a syscall event (plugins only; auditd does not write it to `audit.log`) | [`RecordKind::EndOfEvent`] |
//! | everything else: 1006 `LOGIN`, 13xx (`SYSCALL`, `CONFIG_CHANGE`, `BPF`, `NETFILTER_CFG` …), 14xx `AVC`, 15xx AppArmor, 17xx kernel `ANOM_*`, 18xx integrity | kernel, usually inside a syscall context, so other records share the serial | [`RecordKind::Part`] |
//!
//! Counter-examples that rule out a wider list: kernel `CONFIG_CHANGE` comes *before* a `SYSCALL`
//! of the same serial (VM capture, `auditctl -R`); `LOGIN` is followed by its `SYSCALL` (write to
//! `/proc/self/loginuid`); `AVC` precedes its `SYSCALL`; `ANOM_ABEND`/`ANOM_PROMISCUOUS` are logged
//! in the task's context and may share it. `PROCTITLE`, the last record of a kernel event, is not
//! used as an end marker (go-libaudit does): in files it can arrive after the next event's records
//! (VM capture, serial 4205), and a wrong "complete" splits an event while a missing one only costs
//! the grace period.

use auditrail_parsers::audit::RecordType;

/// How one record type takes part in event grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// Kernel record that shares its serial with others: grouped, flushed by the usual rules.
    Part,
    /// A user-space (or start-up) message: an event of its own, complete at once.
    Standalone,
    /// auditd's own `DAEMON_*` record: complete at once, and its serial is not a kernel serial.
    Daemon,
    /// `EOE`: the event with this serial is complete.
    EndOfEvent,
}

/// Kind of a record type (see the module table).
pub fn kind_of(rtype: &RecordType<'_>) -> RecordKind {
    match *rtype {
        RecordType::Named(name) => kind_of_name(name),
        RecordType::Unknown(number) => kind_of_number(number),
    }
}

/// Kind of a numeric type (`UNKNOWN[n]`), by the kernel's ranges.
pub fn kind_of_number(number: u32) -> RecordKind {
    match number {
        1320 => RecordKind::EndOfEvent,
        1200..=1299 => RecordKind::Daemon,
        1005 | 1100..=1199 | 2000 | 2100..=2999 => RecordKind::Standalone,
        _ => RecordKind::Part,
    }
}

/// Kind of a named type. Unknown names are kernel parts (the safe side: waiting costs latency,
/// a wrong standalone splits an event).
pub fn kind_of_name(name: &str) -> RecordKind {
    match name {
        // The common kernel records first: the hot path.
        "SYSCALL" | "PATH" | "CWD" | "PROCTITLE" | "EXECVE" | "SOCKADDR" => RecordKind::Part,
        "EOE" => RecordKind::EndOfEvent,
        "DAEMON_START" | "DAEMON_END" | "DAEMON_ABORT" | "DAEMON_CONFIG" | "DAEMON_RECONFIG"
        | "DAEMON_ROTATE" | "DAEMON_RESUME" | "DAEMON_ACCEPT" | "DAEMON_CLOSE" | "DAEMON_ERR" => {
            RecordKind::Daemon
        }
        _ if is_standalone_name(name) => RecordKind::Standalone,
        _ => RecordKind::Part,
    }
}

/// Names of the standalone types: 1005, 1100–1199, 2000, 2100–2999.
const STANDALONE_NAMES: &[&str] = &[
    "USER",
    // 1100–1199
    "USER_AUTH",
    "USER_ACCT",
    "USER_MGMT",
    "CRED_ACQ",
    "CRED_DISP",
    "USER_START",
    "USER_END",
    "USER_AVC",
    "USER_CHAUTHTOK",
    "USER_ERR",
    "CRED_REFR",
    "USYS_CONFIG",
    "USER_LOGIN",
    "USER_LOGOUT",
    "ADD_USER",
    "DEL_USER",
    "ADD_GROUP",
    "DEL_GROUP",
    "DAC_CHECK",
    "CHGRP_ID",
    "TEST",
    "TRUSTED_APP",
    "USER_SELINUX_ERR",
    "USER_CMD",
    "USER_TTY",
    "CHUSER_ID",
    "GRP_AUTH",
    "SYSTEM_BOOT",
    "SYSTEM_SHUTDOWN",
    "SYSTEM_RUNLEVEL",
    "SERVICE_START",
    "SERVICE_STOP",
    "GRP_MGMT",
    "GRP_CHAUTHTOK",
    "MAC_CHECK",
    "ACCT_LOCK",
    "ACCT_UNLOCK",
    "USER_DEVICE",
    "SOFTWARE_UPDATE",
    // 2000
    "KERNEL",
    // 2100–2199: user-space anomalies (not the kernel's 17xx ANOM_ABEND/ANOM_PROMISCUOUS/ANOM_LINK)
    "ANOM_LOGIN_FAILURES",
    "ANOM_LOGIN_TIME",
    "ANOM_LOGIN_SESSIONS",
    "ANOM_LOGIN_ACCT",
    "ANOM_LOGIN_LOCATION",
    "ANOM_MAX_DAC",
    "ANOM_MAX_MAC",
    "ANOM_AMTU_FAIL",
    "ANOM_RBAC_FAIL",
    "ANOM_RBAC_INTEGRITY_FAIL",
    "ANOM_CRYPTO_FAIL",
    "ANOM_ACCESS_FS",
    "ANOM_EXEC",
    "ANOM_MK_EXEC",
    "ANOM_ADD_ACCT",
    "ANOM_DEL_ACCT",
    "ANOM_MOD_ACCT",
    "ANOM_ROOT_TRANS",
    "ANOM_LOGIN_SERVICE",
    "ANOM_LOGIN_ROOT",
    "ANOM_ORIGIN_FAILURES",
    "ANOM_SESSION",
    // 2200–2299
    "RESP_ANOMALY",
    "RESP_ALERT",
    "RESP_KILL_PROC",
    "RESP_TERM_ACCESS",
    "RESP_ACCT_REMOTE",
    "RESP_ACCT_LOCK_TIMED",
    "RESP_ACCT_UNLOCK_TIMED",
    "RESP_ACCT_LOCK",
    "RESP_TERM_LOCK",
    "RESP_SEBOOL",
    "RESP_EXEC",
    "RESP_SINGLE",
    "RESP_HALT",
    "RESP_ORIGIN_BLOCK",
    "RESP_ORIGIN_BLOCK_TIMED",
    "RESP_ORIGIN_UNBLOCK_TIMED",
    // 2300–2399
    "USER_ROLE_CHANGE",
    "ROLE_ASSIGN",
    "ROLE_REMOVE",
    "LABEL_OVERRIDE",
    "LABEL_LEVEL_CHANGE",
    "USER_LABELED_EXPORT",
    "USER_UNLABELED_EXPORT",
    "DEV_ALLOC",
    "DEV_DEALLOC",
    "FS_RELABEL",
    "USER_MAC_POLICY_LOAD",
    "ROLE_MODIFY",
    "USER_MAC_CONFIG_CHANGE",
    "USER_MAC_STATUS",
    // 2400–2499
    "CRYPTO_TEST_USER",
    "CRYPTO_PARAM_CHANGE_USER",
    "CRYPTO_LOGIN",
    "CRYPTO_LOGOUT",
    "CRYPTO_KEY_USER",
    "CRYPTO_FAILURE_USER",
    "CRYPTO_REPLAY_USER",
    "CRYPTO_SESSION",
    "CRYPTO_IKE_SA",
    "CRYPTO_IPSEC_SA",
    // 2500–2599
    "VIRT_CONTROL",
    "VIRT_RESOURCE",
    "VIRT_MACHINE_ID",
    "VIRT_INTEGRITY_CHECK",
    "VIRT_CREATE",
    "VIRT_DESTROY",
    "VIRT_MIGRATE_IN",
    "VIRT_MIGRATE_OUT",
];

fn is_standalone_name(name: &str) -> bool {
    STANDALONE_NAMES.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_records_that_share_a_serial_are_parts() {
        for name in [
            "SYSCALL",
            "CONFIG_CHANGE",
            "LOGIN",
            "AVC",
            "ANOM_ABEND",
            "ANOM_PROMISCUOUS",
            "PROCTITLE",
            "BPRM_FCAPS",
            "NETFILTER_CFG",
            "SOME_FUTURE_TYPE",
        ] {
            assert_eq!(kind_of_name(name), RecordKind::Part, "{name}");
        }
        for number in [1006, 1300, 1305, 1334, 1400, 1701, 1800, 2001] {
            assert_eq!(kind_of_number(number), RecordKind::Part, "{number}");
        }
    }

    #[test]
    fn user_space_records_stand_alone() {
        for name in [
            "USER_LOGIN",
            "CRED_ACQ",
            "SERVICE_START",
            "USER",
            "ANOM_LOGIN_FAILURES",
            "USER_ROLE_CHANGE",
            "VIRT_CONTROL",
        ] {
            assert_eq!(kind_of_name(name), RecordKind::Standalone, "{name}");
        }
        for number in [1005, 1100, 1138, 1199, 2000, 2100, 2999] {
            assert_eq!(kind_of_number(number), RecordKind::Standalone, "{number}");
        }
    }

    #[test]
    fn daemon_and_eoe_records_are_recognised_by_name_and_number() {
        assert_eq!(kind_of_name("DAEMON_START"), RecordKind::Daemon);
        assert_eq!(kind_of_number(1205), RecordKind::Daemon);
        assert_eq!(kind_of_name("EOE"), RecordKind::EndOfEvent);
        assert_eq!(kind_of(&RecordType::Unknown(1320)), RecordKind::EndOfEvent);
    }
}
