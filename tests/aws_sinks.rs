//! The AWS sinks against a real AWS-protocol server: the daemon binary ships a generated audit
//! log to moto through a strict, fault-injecting proxy (tests/common/aws_proxy.rs), and the tests
//! read everything back (Firehose → S3 objects, CloudWatch → GetLogEvents) to prove: every event
//! arrives, exactly once except events of calls whose acceptance was never confirmed, only
//! refused Firehose records are re-sent, rejections are counted, no request breaks an AWS limit,
//! and an outage during log rotation loses nothing.

#[path = "common/aws_checks.rs"]
mod aws_checks;
#[path = "common/aws_proxy.rs"]
mod aws_proxy;
#[path = "common/aws_run.rs"]
mod aws_run;
mod common;
#[path = "common/moto.rs"]
mod moto;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::process::Command;
use std::time::Duration;

use aws_proxy::{AwsProxy, Fault, Plan};
use aws_run::*;
use common::{stop_daemon, wait_until};
use moto::Moto;
use serde_json::Value;

#[test]
fn firehose_resends_only_refused_records_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let moto = Moto::start();
    moto.admin(&[
        "setup-firehose",
        "audit-fh",
        "audit-fh-bucket",
        "UNCOMPRESSED",
    ]);
    let op = "PutRecordBatch";
    let plan = Plan::default()
        .on(op, 1, Fault::Partial { every: 3 })
        .on(
            op,
            2,
            Fault::Error {
                status: 400,
                code: "ServiceUnavailableException",
            },
        )
        .on(
            op,
            3,
            Fault::Error {
                status: 400,
                code: "ThrottlingException",
            },
        )
        .on(
            op,
            4,
            Fault::Error {
                status: 500,
                code: "InternalFailure",
            },
        )
        .on(op, 5, Fault::DropBeforeForward)
        .on(op, 6, Fault::DropAfterForward)
        .on(op, 7, Fault::Partial { every: 2 })
        .on(
            op,
            9,
            Fault::Error {
                status: 503,
                code: "ServiceUnavailable",
            },
        )
        .on(op, 10, Fault::Partial { every: 1 });
    let proxy = AwsProxy::start(moto.port, plan);
    let input = generate(dir.path(), 21, 0, "0.01");
    let size = write_input(dir.path(), &input.bytes);
    let sinks = format!(
        r#"[sinks.firehose]
delivery_stream = "audit-fh"
endpoint_url = "{}"
max_record_bytes = 8192
request_timeout_ms = 5000
[sinks.firehose.batch]
max_events = 100000
max_bytes = 262144
max_age_ms = 300
"#,
        proxy.endpoint()
    );
    let log = run_to_end(dir.path(), &config(dir.path(), &sinks), size);

    let observed = proxy.observed();
    assert!(
        observed.violations.is_empty(),
        "limit violations: {:?}",
        observed.violations
    );
    // Only refused records are re-sent: no record appears again once a call accepted it.
    let (mut accepted, mut refused) = (HashSet::new(), HashSet::new());
    for call in observed.calls_of(op) {
        for item in &call.items {
            assert!(
                !accepted.contains(&item.hash),
                "call #{}: an accepted record was re-sent",
                call.number
            );
        }
        if call.succeeded() {
            for item in &call.items {
                if item.refused {
                    refused.insert(item.hash);
                } else {
                    accepted.insert(item.hash);
                }
            }
        }
    }
    assert!(!refused.is_empty(), "no partial failure was injected");
    assert!(
        refused.iter().all(|h| accepted.contains(h)),
        "a refused record was never accepted"
    );
    let refused_items: usize = observed
        .calls_of(op)
        .filter(|c| c.succeeded())
        .map(|c| c.items.iter().filter(|i| i.refused).count())
        .sum();
    let calls = observed.calls_of(op).count();
    drop(observed);

    let objects = moto.s3_objects("audit-fh-bucket", dir.path());
    let events = s3_events(&objects);
    let unconfirmed = unconfirmed_ids(&proxy, op);
    assert!(
        !unconfirmed.is_empty(),
        "the dropped-after-forward call carried events"
    );
    let duplicates = assert_complete(
        "firehose",
        &events,
        &input.serials,
        (&HashSet::new(), &HashSet::new()),
        &unconfirmed,
    );

    // Concatenated gzip members (several records in one object) read as one stream by gzip -dc.
    let multi = objects
        .iter()
        .find(|o| {
            let mut first = Vec::new();
            let _ = flate2::read::GzDecoder::new(&o[..]).read_to_end(&mut first);
            let mut all = Vec::new();
            let _ = flate2::read::MultiGzDecoder::new(&o[..]).read_to_end(&mut all);
            all.len() > first.len()
        })
        .expect("an object holding several gzip records");
    let object_path = dir.path().join("multi-member.gz");
    std::fs::write(&object_path, multi).expect("write object");
    let gunzipped = Command::new("gzip")
        .arg("-dc")
        .arg(&object_path)
        .output()
        .expect("gzip -dc");
    assert!(gunzipped.status.success());
    let mut expected = Vec::new();
    flate2::read::MultiGzDecoder::new(&multi[..])
        .read_to_end(&mut expected)
        .expect("gunzip");
    assert_eq!(gunzipped.stdout, expected, "gzip -dc reads every member");

    let stats = sink_stats(&log, "firehose:");
    let (ids, _) = tally(&events);
    assert_eq!(
        stats["events_sent"].as_u64(),
        Some(ids.len() as u64),
        "sent = distinct events in S3"
    );
    assert_eq!(
        stats["metrics"]["records_failed"].as_u64(),
        Some(refused_items as u64)
    );
    assert!(stats["retries"].as_u64().unwrap_or(0) >= 9, "{stats}");
    assert!(
        log.contains("Firehose delivery stream found"),
        "healthcheck not reported"
    );
    assert!(
        !log.contains("compressed twice"),
        "no double-compression warning for UNCOMPRESSED"
    );
    eprintln!(
        "firehose: {} events, {} objects, {calls} calls, {refused_items} refused records re-sent, \
         {duplicates} duplicates (unconfirmed events: {}), events/record {:.1}",
        events.len(),
        objects.len(),
        unconfirmed.len(),
        ids.len() as f64 / stats["metrics"]["records_sent"].as_f64().unwrap_or(1.0)
    );
}

#[test]
fn firehose_plain_records_split_calls_at_500_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let moto = Moto::start();
    moto.admin(&[
        "setup-firehose",
        "audit-plain",
        "audit-plain-bucket",
        "GZIP",
    ]);
    let proxy = AwsProxy::start(moto.port, Plan::default());
    let input = generate(dir.path(), 22, 0, "0");
    let size = write_input(dir.path(), &input.bytes);
    let sinks = format!(
        r#"[sinks.firehose]
delivery_stream = "audit-plain"
endpoint_url = "{}"
compression = "none"
max_record_bytes = 8192
concurrency = 1
[sinks.firehose.batch]
max_events = 100000
max_bytes = 8388608
max_age_ms = 5000
"#,
        proxy.endpoint()
    );
    let log = run_to_end(dir.path(), &config(dir.path(), &sinks), size);
    let observed = proxy.observed();
    assert!(
        observed.violations.is_empty(),
        "limit violations: {:?}",
        observed.violations
    );
    let sizes: Vec<usize> = observed
        .calls_of("PutRecordBatch")
        .map(|c| c.items.len())
        .collect();
    assert!(
        sizes.contains(&500),
        "no batch needed a full call: {sizes:?}"
    );
    drop(observed);
    let events = s3_events(&moto.s3_objects("audit-plain-bucket", dir.path()));
    let duplicates = assert_complete(
        "plain",
        &events,
        &input.serials,
        (&HashSet::new(), &HashSet::new()),
        &HashMap::new(),
    );
    assert_eq!(duplicates, 0);
    assert!(
        !log.contains("compressed twice"),
        "plain records fit a GZIP destination"
    );
}

#[test]
fn firehose_healthcheck_warns_on_gzip_records_into_a_gzip_destination() {
    let dir = tempfile::tempdir().expect("tempdir");
    let moto = Moto::start();
    moto.admin(&[
        "setup-firehose",
        "audit-double",
        "audit-double-bucket",
        "GZIP",
    ]);
    let input = generate(dir.path(), 23, 0, "0.01");
    let head: Vec<u8> = input
        .bytes
        .split_inclusive(|&b| b == b'\n')
        .take(40)
        .flatten()
        .copied()
        .collect();
    let size = write_input(dir.path(), &head);
    let sinks = format!(
        "[sinks.firehose]\ndelivery_stream = \"audit-double\"\nendpoint_url = \"{}\"\nrequire_healthy = true\n[sinks.firehose.batch]\nmax_events = 1000\nmax_bytes = 1000000\nmax_age_ms = 100\n",
        moto.endpoint()
    );
    let log = run_to_end(dir.path(), &config(dir.path(), &sinks), size);
    let warning = log
        .lines()
        .find(|l| l.contains("compressed twice"))
        .unwrap_or_else(|| panic!("no double-compression warning in:\n{log}"));
    assert!(
        warning.contains("WARN") && warning.contains("UNCOMPRESSED"),
        "{warning}"
    );
}

#[test]
fn cloudwatch_counts_rejections_creates_streams_and_survives_faults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let moto = Moto::start();
    let op = "PutLogEvents";
    // The first calls meet moto's own ResourceNotFoundException (nothing exists yet; with four
    // batches in flight, up to four of them): faults start after.
    let plan = Plan::default()
        .on(
            op,
            6,
            Fault::Reject {
                too_old: 5,
                too_new: 3,
            },
        )
        .on(
            op,
            7,
            Fault::Error {
                status: 400,
                code: "ThrottlingException",
            },
        )
        .on(
            op,
            8,
            Fault::Error {
                status: 400,
                code: "ServiceUnavailableException",
            },
        )
        .on(
            op,
            9,
            Fault::Error {
                status: 500,
                code: "InternalFailure",
            },
        )
        .on(op, 10, Fault::DropAfterForward)
        .on(
            op,
            11,
            Fault::Error {
                status: 400,
                code: "ResourceNotFoundException",
            },
        )
        .on(op, 12, Fault::DropBeforeForward)
        .on(
            op,
            14,
            Fault::Reject {
                too_old: 0,
                too_new: 2,
            },
        );
    let proxy = AwsProxy::start(moto.port, plan);
    let input = generate(dir.path(), 24, 25, "0.01");
    let size = write_input(dir.path(), &input.bytes);
    let sinks = format!(
        r#"[sinks.cloudwatch]
log_group = "/auditrail-test/{{source}}"
log_stream = "{{hostname}}-{{instance_id}}"
instance_id = "i-0123456789abcdef0"
retention_days = 30
endpoint_url = "{}"
request_timeout_ms = 5000
[sinks.cloudwatch.batch]
max_events = 400
max_bytes = 1048576
max_age_ms = 300
"#,
        proxy.endpoint()
    );
    let log = run_to_end(dir.path(), &config(dir.path(), &sinks), size);

    let observed = proxy.observed();
    assert!(
        observed.violations.is_empty(),
        "limit violations: {:?}",
        observed.violations
    );
    let (mut rejected_ids, mut rejected_serials) = (HashSet::new(), HashSet::new());
    let (mut proxy_old, mut proxy_new) = (0, 0);
    for call in observed.calls_of(op).filter(|c| c.succeeded()) {
        if let Some(Fault::Reject { too_old, .. }) = call.fault {
            let refused = call.items.iter().filter(|i| i.refused).count();
            proxy_old += too_old.min(refused);
            proxy_new += refused - too_old.min(refused);
            for item in call.items.iter().filter(|i| i.refused) {
                rejected_ids.extend(item.ids.iter().cloned());
                rejected_serials.extend(item.serials.iter().copied());
            }
        }
    }
    assert!(proxy_old > 0 && proxy_new > 0, "no rejection fault was hit");
    drop(observed);

    let events: Vec<Value> = moto
        .log_events("/auditrail-test/", dir.path())
        .iter()
        .map(|e| {
            assert_eq!(e["group"], "/auditrail-test/audit");
            assert_eq!(e["stream"], "test-host-i-0123456789abcdef0");
            serde_json::from_str(e["message"].as_str().expect("message")).expect("event json")
        })
        .collect();
    let (ids, _) = tally(&events);
    // A rejected event may only be stored if an earlier, unconfirmed call carried it.
    let unconfirmed = unconfirmed_ids(&proxy, op);
    let stored_rejected: Vec<&String> = rejected_ids
        .iter()
        .filter(|id| ids.contains_key(*id) && !unconfirmed.contains_key(*id))
        .collect();
    assert!(
        stored_rejected.is_empty(),
        "rejected events arrived: {stored_rejected:?}"
    );
    let duplicates = assert_complete(
        "cloudwatch",
        &events,
        &input.serials,
        (&rejected_serials, &input.old_serials),
        &unconfirmed,
    );

    let stats = sink_stats(&log, "cloudwatch:");
    let rejected = &stats["metrics"]["events_rejected"];
    let too_old = rejected["too_old"].as_u64().unwrap_or(0) as usize;
    assert!(
        too_old >= proxy_old + input.old_serials.len(),
        "too_old {too_old} < {proxy_old} answered + {} filtered serials: {stats}",
        input.old_serials.len()
    );
    assert_eq!(
        rejected["too_new"].as_u64(),
        Some(proxy_new as u64),
        "{stats}"
    );
    // Sent = stored, less rejected events stored by an unconfirmed earlier call.
    let stored_not_rejected = ids.keys().filter(|id| !rejected_ids.contains(*id)).count();
    assert_eq!(
        stats["events_sent"].as_u64(),
        Some(stored_not_rejected as u64),
        "sent = distinct events stored and not rejected"
    );
    assert!(log.contains("log group created") && log.contains("log stream created"));
    assert!(log.contains("CloudWatch rejected events") && log.contains("were filtered"));
    let groups: Value =
        serde_json::from_str(&moto.admin(&["log-groups", "/auditrail-test/"])).expect("groups");
    assert_eq!(groups[0]["retention"], 30, "{groups}");
    eprintln!(
        "cloudwatch: {} events stored, {too_old} too old, {proxy_new} too new, {duplicates} \
         duplicates (unconfirmed events: {})",
        events.len(),
        unconfirmed.len()
    );
}

#[test]
fn an_outage_during_rotation_loses_nothing_in_either_sink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let moto = Moto::start();
    moto.admin(&[
        "setup-firehose",
        "audit-outage",
        "audit-outage-bucket",
        "UNCOMPRESSED",
    ]);
    let proxy = AwsProxy::start(moto.port, Plan::default());
    let input = generate(dir.path(), 25, 0, "0.01");
    let lines: Vec<&[u8]> = input.bytes.split_inclusive(|&b| b == b'\n').collect();
    let (a, rest) = lines.split_at(lines.len() * 2 / 5);
    let (b, c) = rest.split_at(rest.len() / 2);
    let join = |part: &[&[u8]]| -> Vec<u8> { part.concat() };
    write_input(dir.path(), &join(a));
    let sinks = format!(
        r#"[sinks.firehose]
delivery_stream = "audit-outage"
endpoint_url = "{endpoint}"
request_timeout_ms = 2000
connect_timeout_ms = 1000
max_record_bytes = 16384
[sinks.firehose.batch]
max_events = 100000
max_bytes = 262144
max_age_ms = 300
[sinks.cloudwatch]
log_group = "/auditrail-outage/{{source}}"
endpoint_url = "{endpoint}"
request_timeout_ms = 2000
connect_timeout_ms = 1000
[sinks.cloudwatch.batch]
max_events = 1000
max_bytes = 1048576
max_age_ms = 300
"#,
        endpoint = proxy.endpoint()
    );
    let config = config(dir.path(), &sinks);
    let log_path = dir.path().join("daemon.log");
    let mut child = spawn(&config, &log_path);
    let answered = |op: &str| {
        proxy
            .observed()
            .calls_of(op)
            .filter(|c| c.succeeded())
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(60), || answered("PutRecordBatch") > 0
            && answered("PutLogEvents") > 1),
        "nothing shipped before the outage"
    );
    moto.suspend();
    let log = dir.path().join("in/audit.log");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &join(b)))
        .expect("append");
    std::fs::rename(&log, dir.path().join("in/audit.log.1")).expect("rotate");
    let c = join(c);
    std::fs::write(&log, &c).expect("new audit.log");
    std::thread::sleep(Duration::from_secs(6));
    let during = answered("PutRecordBatch") + answered("PutLogEvents");
    moto.resume();
    let state = dir.path().join("state");
    // Both files read to their ends and checkpointed: the rotated one and the new audit.log.
    let rotated_len = (join(a).len() + join(b).len()) as u64;
    let done = wait_until(Duration::from_secs(180), || {
        let offsets = checkpoint_offsets(&state);
        offsets.contains(&(c.len() as u64)) && offsets.contains(&rotated_len)
    });
    let stopped = stop_daemon(&mut child, Duration::from_secs(30));
    let daemon_log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        done && stopped,
        "did not finish after the outage; log:\n{daemon_log}"
    );
    assert!(
        daemon_log.contains("send failed; retrying"),
        "the outage was not felt"
    );
    assert!(
        proxy.observed().violations.is_empty(),
        "{:?}",
        proxy.observed().violations
    );

    let s3 = s3_events(&moto.s3_objects("audit-outage-bucket", dir.path()));
    let fh_dups = assert_complete(
        "firehose",
        &s3,
        &input.serials,
        (&HashSet::new(), &HashSet::new()),
        &unconfirmed_ids(&proxy, "PutRecordBatch"),
    );
    let cw: Vec<Value> = moto
        .log_events("/auditrail-outage/", dir.path())
        .iter()
        .map(|e| serde_json::from_str(e["message"].as_str().expect("message")).expect("json"))
        .collect();
    let cw_dups = assert_complete(
        "cloudwatch",
        &cw,
        &input.serials,
        (&HashSet::new(), &HashSet::new()),
        &unconfirmed_ids(&proxy, "PutLogEvents"),
    );
    eprintln!(
        "outage: {} serials; firehose {} events ({fh_dups} duplicates), cloudwatch {} events \
         ({cw_dups} duplicates); {during} calls answered before/while suspended",
        input.serials.len(),
        s3.len(),
        cw.len()
    );
}
