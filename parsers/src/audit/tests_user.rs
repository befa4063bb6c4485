//! Record shapes written by user space and by auditd itself: `msg='…'` lists (USER_CMD,
//! USER_LOGIN in today's and 2007's forms, CRED_ACQ, SERVICE_START), free-text DAEMON_* records,
//! and an ENRICHED user record.

use super::*;

fn record(line: &[u8]) -> Record<'_> {
    match parse_record(line) {
        Ok(r) => r,
        Err(e) => panic!("{e} in {}", String::from_utf8_lossy(line)),
    }
}

fn nested<'r, 'a>(r: &'r Record<'a>) -> &'r Body<'a> {
    match r.body.nested() {
        Some(n) => n,
        None => panic!("no msg='…' in {r:?}"),
    }
}

#[test]
fn user_cmd_with_hex_cmd() {
    let line = b"type=USER_CMD msg=audit(1481077231.363:475): pid=1382 uid=1000 auid=1000 ses=3 subj=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 msg='cwd=\"/home/andrew_kroh\" cmd=2E2F6D657472696362656174202D63206D622E6465762E796D6C terminal=pts/0 res=success'";
    let r = record(line);
    assert_eq!(r.body.u64_of(b"pid"), Some(1382));
    let msg = nested(&r);
    assert_eq!(
        msg.text_of(b"cwd").as_deref(),
        Some(&b"/home/andrew_kroh"[..])
    );
    assert_eq!(
        msg.text_of(b"cmd").as_deref(),
        Some(&b"./metricbeat -c mb.dev.yml"[..])
    );
    assert_eq!(msg.get(b"res"), Some(&Value::Bare(b"success")));
    assert_eq!(msg.text, None);
}

#[test]
fn user_login_current_form() {
    let line = b"type=USER_LOGIN msg=audit(1492896301.818:19955): pid=12635 uid=0 auid=4294967295 ses=4294967295 msg='op=login acct=28696E76616C6964207573657229 exe=\"/usr/sbin/sshd\" hostname=? addr=179.38.151.221 terminal=sshd res=failed'";
    let r = record(line);
    let msg = nested(&r);
    assert_eq!(
        msg.text_of(b"acct").as_deref(),
        Some(&b"(invalid user)"[..])
    );
    assert_eq!(msg.get(b"hostname"), Some(&Value::Unset));
    assert_eq!(msg.get(b"res"), Some(&Value::Bare(b"failed")));
}

#[test]
fn user_login_old_free_forms() {
    let line = b"type=USER_LOGIN msg=audit(1170021601.345:300): user pid=13018 uid=0 auid=500 msg='uid=500: exe=\"/usr/sbin/sshd\" (hostname=10.0.0.2, addr=10.0.0.2, terminal=/dev/pts/1 res=success)'";
    let r = record(line);
    assert_eq!(r.body.text, Some(&b"user"[..]));
    assert_eq!(r.body.u64_of(b"auid"), Some(500));
    let msg = nested(&r);
    assert_eq!(msg.get(b"uid"), Some(&Value::Bare(b"500:")));
    assert_eq!(msg.text_of(b"exe").as_deref(), Some(&b"/usr/sbin/sshd"[..]));
    assert_eq!(msg.text, Some(&b"(hostname=10.0.0.2,"[..]));
    assert_eq!(msg.get(b"terminal"), Some(&Value::Bare(b"/dev/pts/1")));

    let pam = b"type=USER_ACCT msg=audit(1170021601.340:294): user pid=13015 uid=0 auid=4294967295 subj=system_u:system_r:crond_t:s0-s0:c0.c1023 msg='PAM: accounting acct=root : exe=\"/usr/sbin/crond\" hostname=? addr=? terminal=cron res=success'";
    let r = record(pam);
    let msg = nested(&r);
    assert_eq!(msg.text, Some(&b"PAM: accounting acct=root :"[..]));
    assert_eq!(msg.get(b"acct"), Some(&Value::Bare(b"root")));
    assert_eq!(msg.get(b"terminal"), Some(&Value::Bare(b"cron")));

    let login = record(b"type=LOGIN msg=audit(1170021601.343:296): login pid=13015 uid=0 old auid=4294967295 new auid=0");
    assert_eq!(
        login.body.text,
        Some(&b"login pid=13015 uid=0 old auid=4294967295 new"[..])
    );
}

#[test]
fn cred_acq_pam_setcred() {
    let line = b"type=CRED_ACQ msg=audit(1725004861.996:747421): pid=26752 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:setcred grantors=pam_env,pam_unix acct=\"root\" exe=\"/usr/sbin/crond\" hostname=? addr=? terminal=cron res=success'";
    let r = record(line);
    let msg = nested(&r);
    assert_eq!(msg.get(b"op"), Some(&Value::Bare(b"PAM:setcred")));
    assert_eq!(
        msg.get(b"grantors"),
        Some(&Value::Bare(b"pam_env,pam_unix"))
    );
    assert_eq!(msg.text_of(b"acct").as_deref(), Some(&b"root"[..]));
    assert_eq!(msg.fields.len(), 8);
    assert_eq!(msg.text, None);
}

#[test]
fn service_start_enriched_after_closing_quote() {
    let line = b"type=SERVICE_START msg=audit(1661853391.646:4486226): pid=1 uid=0 auid=4294967295 ses=4294967295 subj=? msg='unit=apt-daily comm=\"systemd\" exe=\"/usr/lib/systemd/systemd\" hostname=? addr=? terminal=? res=success'\x1dUID=\"root\" AUID=\"unset\"";
    let r = record(line);
    assert_eq!(r.body.get(b"subj"), Some(&Value::Unset));
    let msg = nested(&r);
    assert_eq!(msg.get(b"unit"), Some(&Value::Bare(b"apt-daily")));
    assert_eq!(msg.get(b"res"), Some(&Value::Bare(b"success")));
    assert!(msg.enriched.is_empty());
    assert_eq!(r.body.get_enriched(b"UID"), Some(&Value::Quoted(b"root")));
    assert_eq!(r.body.get_enriched(b"AUID"), Some(&Value::Quoted(b"unset")));
}

#[test]
fn daemon_start_and_end_free_text() {
    let start = b"type=DAEMON_START msg=audit(1481076983.819:7798): auditd start, ver=2.4.1 format=raw kernel=3.10.0-327.36.3.el7.x86_64 auid=4294967295 pid=251 subj=system_u:system_r:auditd_t:s0 res=success";
    let r = record(start);
    assert_eq!(r.body.text, Some(&b"auditd start,"[..]));
    assert_eq!(r.body.get(b"ver"), Some(&Value::Bare(b"2.4.1")));
    assert_eq!(r.body.get(b"res"), Some(&Value::Bare(b"success")));

    let end = b"type=DAEMON_END msg=audit(1481078697.892:7799): auditd normal halt, sending auid=? pid=? subj=? res=success";
    let r = record(end);
    assert_eq!(r.body.text, Some(&b"auditd normal halt, sending"[..]));
    assert_eq!(r.body.get(b"pid"), Some(&Value::Unset));

    let exiting =
        record(b"type=DAEMON_END msg=audit(1481078697.892:7800): audit daemon is exiting");
    assert_eq!(exiting.body.text, Some(&b"audit daemon is exiting"[..]));
    assert!(exiting.body.fields.is_empty());

    let modern = b"type=DAEMON_END msg=audit(1640080836.094:7063): op=terminate auid=0 pid=27347 subj= res=success\x1dAUID=\"root\"";
    let r = record(modern);
    assert_eq!(r.body.get(b"subj"), Some(&Value::Bare(b"")));
    assert_eq!(r.body.get(b"res"), Some(&Value::Bare(b"success")));
    assert_eq!(r.body.get_enriched(b"AUID"), Some(&Value::Quoted(b"root")));
}

#[test]
fn daemon_config_without_colon() {
    let line = b"type=DAEMON_CONFIG msg=audit(1490239800.477:34) config changed, auid=0 pid=1512 subj=system_u:system_r:unconfined_service_t:s0 res=success";
    let r = record(line);
    assert_eq!(r.header.serial, 34);
    assert_eq!(r.body.text, Some(&b"config changed,"[..]));
    assert_eq!(r.body.u64_of(b"pid"), Some(1512));
}

#[test]
fn fields_after_the_nested_list_are_kept() {
    // A real interleaved write (linux-audit-parser's line-daemon-end-2).
    let line = b"type=DAEMON_END msg=audit(1724970459.096:8216): op=terminate auid=0 pid=12333 subj=24970459.090:670): pid=12323 uid=0 msg='op=PAM:session_open acct=\"root\" res=success' res=success";
    let r = record(line);
    assert_eq!(
        r.body.get(b"subj"),
        Some(&Value::Bare(b"24970459.090:670):"))
    );
    assert_eq!(r.body.text, None);
    assert_eq!(
        nested(&r).get(b"op"),
        Some(&Value::Bare(b"PAM:session_open"))
    );
    assert_eq!(r.body.fields.last().map(|f| f.key), Some(&b"res"[..]));
}

#[test]
fn user_avc_free_text_inside_msg() {
    let line = b"type=USER_AVC msg=audit(1490996115.123:4321): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='avc:  received policyload notice (seqno=2)  exe=\"/usr/lib/systemd/systemd\" sauid=0 hostname=? addr=? terminal=?'";
    let r = record(line);
    let msg = nested(&r);
    assert_eq!(
        msg.text,
        Some(&b"avc:  received policyload notice (seqno=2)"[..])
    );
    assert_eq!(
        msg.text_of(b"exe").as_deref(),
        Some(&b"/usr/lib/systemd/systemd"[..])
    );
}
