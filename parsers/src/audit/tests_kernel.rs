//! Record shapes written by the kernel (SYSCALL, EXECVE, CWD, PATH, PROCTITLE, SOCKADDR,
//! CONFIG_CHANGE), with `node=`, ENRICHED fields, `\r` line ends and go-libaudit's stray quote.

use super::*;

fn record(line: &[u8]) -> Record<'_> {
    match parse_record(line) {
        Ok(r) => r,
        Err(e) => panic!("{e} in {}", String::from_utf8_lossy(line)),
    }
}

fn text<'a>(body: &Body<'a>, key: &str) -> Option<Cow<'a, [u8]>> {
    body.text_of(key.as_bytes())
}

#[test]
fn syscall() {
    let line = b"type=SYSCALL msg=audit(1795383371.676:4129): arch=c000003e syscall=44 success=yes exit=1076 a0=3 a1=7ffc2faa21d0 a2=434 a3=0 items=0 ppid=18154 pid=18185 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"auditctl\" exe=\"/usr/sbin/auditctl\" key=(null)";
    let r = record(line);
    assert_eq!(r.header.rtype, RecordType::Named("SYSCALL"));
    assert_eq!(r.header.time.as_millis(), 1_795_383_371_676);
    assert_eq!(r.header.serial, 4129);
    assert_eq!(r.body.fields.len(), 25);
    assert_eq!(r.body.get(b"arch"), Some(&Value::Bare(b"c000003e")));
    assert_eq!(r.body.u64_of(b"syscall"), Some(44));
    assert_eq!(r.body.get(b"a1"), Some(&Value::Bare(b"7ffc2faa21d0")));
    assert_eq!(r.body.get(b"tty"), Some(&Value::Bare(b"(none)")));
    assert_eq!(
        text(&r.body, "exe").as_deref(),
        Some(&b"/usr/sbin/auditctl"[..])
    );
    assert_eq!(r.body.get(b"key"), Some(&Value::Null));
    assert_eq!((r.body.text, r.body.enriched.len()), (None, 0));
}

#[test]
fn syscall_failed_with_negative_exit_and_hex_exe() {
    let line = b"type=SYSCALL msg=audit(1490995752.404:20614537): arch=c000003e syscall=2 success=no exit=-13 a0=5555665d91b0 ppid=1240 pid=1287 comm=\"charon\" exe=2F7573722F6C6962657865632F7374726F6E677377616E2F636861726F6E202864656C6574656429 key=(null)";
    let r = record(line);
    assert_eq!(r.body.get(b"exit").and_then(Value::as_i64), Some(-13));
    assert_eq!(
        text(&r.body, "exe").as_deref(),
        Some(&b"/usr/libexec/strongswan/charon (deleted)"[..])
    );
}

#[test]
fn execve_with_quoted_hex_and_split_arguments() {
    let line = b"type=EXECVE msg=audit(1795383372.180:4207): argc=4 a0=\"grep\" a1=2D2D636F6C6F723D6175746F a2=\"-i\" a3=\"x\"";
    let r = record(line);
    assert_eq!(r.body.u64_of(b"argc"), Some(4));
    assert_eq!(r.body.get(b"a0"), Some(&Value::Quoted(b"grep")));
    // aN is not an untrusted-string key outside EXECVE decoding (crate::execve): stays raw here.
    assert_eq!(
        r.body.get(b"a1"),
        Some(&Value::Bare(b"2D2D636F6C6F723D6175746F"))
    );

    let mut split =
        b"type=EXECVE msg=audit(1615150974.493:21028): argc=2 a0=\"/bin/echo\" a1_len=16384 a1[0]="
            .to_vec();
    split.extend(b"62".repeat(4000));
    split.extend(b" a1[1]=");
    split.extend(b"61".repeat(4000));
    let r = record(&split);
    let keys: Vec<&[u8]> = r.body.fields.iter().map(|f| f.key).collect();
    assert_eq!(keys, [&b"argc"[..], b"a0", b"a1_len", b"a1[0]", b"a1[1]"]);
    assert_eq!(r.body.u64_of(b"a1_len"), Some(16384));
    match r.body.get(b"a1[1]") {
        Some(Value::Bare(hex_arg)) => assert_eq!(hex::decode(hex_arg), Some(vec![b'a'; 4000])),
        other => panic!("a1[1] = {other:?}"),
    }
}

#[test]
fn cwd_after_two_spaces() {
    let r = record(b"type=CWD msg=audit(1170021493.977:293):  cwd=\"/var/spool/postfix\"");
    assert_eq!(r.body.fields.len(), 1);
    assert_eq!(
        text(&r.body, "cwd").as_deref(),
        Some(&b"/var/spool/postfix"[..])
    );
}

#[test]
fn path_with_hex_name() {
    let line = b"type=PATH msg=audit(1795383371.676:4131): item=0 name=2F746D702F6D7920646972 inode=1193 dev=fe:00 mode=040755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0";
    let r = record(line);
    assert_eq!(r.body.fields.len(), 14);
    assert_eq!(text(&r.body, "name").as_deref(), Some(&b"/tmp/my dir"[..]));
    assert_eq!(r.body.get(b"dev"), Some(&Value::Bare(b"fe:00")));
    assert_eq!(r.body.get(b"nametype"), Some(&Value::Bare(b"NORMAL")));
}

#[test]
fn proctitle_hex_with_nul_separators() {
    let line = b"type=PROCTITLE msg=audit(1795383369.684:4128): proctitle=617564697464002D6E002D63";
    let r = record(line);
    assert_eq!(
        text(&r.body, "proctitle").as_deref(),
        Some(&b"auditd\0-n\0-c"[..])
    );
    let quoted = record(b"type=PROCTITLE msg=audit(1615114232.375:15558): proctitle=\"whoami\"");
    assert_eq!(
        text(&quoted.body, "proctitle").as_deref(),
        Some(&b"whoami"[..])
    );
}

#[test]
fn sockaddr_stays_raw_hex() {
    let line =
        b"type=SOCKADDR msg=audit(1783860945.368:6104005): saddr=02000050C0A800010000000000000000";
    let r = record(line);
    assert_eq!(
        r.body.get(b"saddr"),
        Some(&Value::Bare(b"02000050C0A800010000000000000000"))
    );
    // `saddr` is not an untrusted string: its text is the hex itself.
    assert_eq!(text(&r.body, "saddr").map(|t| t.len()), Some(32));
}

#[test]
fn config_change_with_quoted_key() {
    let line = b"type=CONFIG_CHANGE msg=audit(1492732670.795:12517): auid=1001 ses=67 op=\"remove_rule\" key=\"key=container-create\" list=4 res=1";
    let r = record(line);
    assert_eq!(r.body.get(b"op"), Some(&Value::Quoted(b"remove_rule")));
    assert_eq!(
        text(&r.body, "key").as_deref(),
        Some(&b"key=container-create"[..])
    );
    assert_eq!(r.body.u64_of(b"res"), Some(1));
}

#[test]
fn node_prefix() {
    let line = b"node=work type=CWD msg=audit(1615114232.375:15558): cwd=\"/home/user/tmp\"";
    let r = record(line);
    assert_eq!(r.header.node, Some(&b"work"[..]));
    assert_eq!(r.header.rtype.to_name(), "CWD");
    assert_eq!(
        text(&r.body, "cwd").as_deref(),
        Some(&b"/home/user/tmp"[..])
    );
}

#[test]
fn enriched_kernel_record() {
    let line = b"node=work type=SYSCALL msg=audit(1615114232.375:15558): arch=c000003e syscall=59 success=yes exit=0 items=2 ppid=10883 pid=10884 auid=1000 uid=0 tty=pts1 ses=1 comm=\"whoami\" exe=\"/usr/bin/whoami\" key=(null)\x1dARCH=x86_64 SYSCALL=execve AUID=\"user\" UID=\"root\"";
    let r = record(line);
    assert_eq!(r.body.fields.last().map(|f| f.key), Some(&b"key"[..]));
    assert_eq!(r.body.get(b"key"), Some(&Value::Null));
    assert_eq!(r.body.enriched.len(), 4);
    assert_eq!(
        r.body.get_enriched(b"SYSCALL"),
        Some(&Value::Bare(b"execve"))
    );
    assert_eq!(r.body.get_enriched(b"AUID"), Some(&Value::Quoted(b"user")));
    assert_eq!(r.body.get(b"AUID"), None);
}

#[test]
fn enriched_sockaddr_braces() {
    let line = b"type=SOCKADDR msg=audit(1661853391.646:4486226): saddr=100000000000000000000000\x1dSADDR={ fam=netlink nlnk-fam=16 nlnk-pid=0 }";
    let r = record(line);
    assert_eq!(
        r.body.get_enriched(b"SADDR"),
        Some(&Value::Bare(b"{ fam=netlink nlnk-fam=16 nlnk-pid=0 }"))
    );
}

#[test]
fn carriage_return_is_not_part_of_the_body() {
    let r = record(b"type=CWD msg=audit(1700000000.123:42): cwd=\"/tmp\"\r");
    assert_eq!(r.body.get(b"cwd"), Some(&Value::Quoted(b"/tmp")));
    let r = record(b"type=SYSCALL msg=audit(1700000000.123:42): success=yes key=(null)\r");
    assert_eq!(r.body.get(b"key"), Some(&Value::Null));
}

#[test]
fn stray_quote_after_hex_key() {
    let line = b"type=SYSCALL msg=audit(1515619721.392:106081): arch=c000003e syscall=59 success=yes exit=0 comm=\"grep\" exe=\"/bin/grep\" key=65786563013634626974\"";
    let r = record(line);
    assert_eq!(
        r.body.get(b"key"),
        Some(&Value::Bare(b"65786563013634626974"))
    );
    assert_eq!(text(&r.body, "key").as_deref(), Some(&b"exec\x0164bit"[..]));
}

#[test]
fn unknown_with_and_without_stamp() {
    let r = record(b"type=UNKNOWN[1334] msg=audit(1626883065.201:216697): prog-id=45 op=UNLOAD");
    assert_eq!(r.header.rtype, RecordType::Unknown(1334));
    assert_eq!(r.body.get(b"prog-id"), Some(&Value::Bare(b"45")));

    let r = record(b"type=UNKNOWN[1329] msg=?");
    assert_eq!(r.header.rtype, RecordType::Unknown(1329));
    assert_eq!((r.header.time.as_millis(), r.header.serial), (0, 0));
    assert_eq!(
        r.body.fields,
        vec![Field {
            key: b"msg",
            value: Value::Unset
        }]
    );
}

#[test]
fn non_utf8_bytes_survive() {
    let line = b"type=AVC msg=audit(1.000:1): name=\"caf\xe9\" comm=\xff\xfe path=x";
    let r = record(line);
    assert_eq!(r.body.get(b"name"), Some(&Value::Quoted(b"caf\xe9")));
    assert_eq!(r.body.get(b"comm"), Some(&Value::Bare(b"\xff\xfe")));
}
