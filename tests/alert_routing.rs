//! Alert routing: `[sinks.alerts.*]` sinks receive exactly the events that raised alerts, every
//! other sink receives everything, and checkpoints still reach the end of the input (an event
//! without alerts waits only for the sinks it was sent to).

mod common;

use std::collections::HashSet;
use std::process::Command;

use common::*;

#[test]
fn alert_sinks_get_exactly_the_alert_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = generate_workload(&dir.path().join("in"), 5, "1MB");
    let alerts_dir = dir.path().join("alerts");
    let extra = format!(
        "[sinks.alerts.local_dir]\ndir = {:?}\ncompression = \"none\"\n",
        alerts_dir.display().to_string()
    );
    let config = audit_config(dir.path(), &[&log], &extra);
    let daemon_log = dir.path().join("daemon.log");
    let out = Command::new(auditrail_bin())
        .args(["run", "--once", "--config"])
        .arg(&config)
        .stderr(std::fs::File::create(&daemon_log).expect("log"))
        .status()
        .expect("run");
    assert!(
        out.success(),
        "{}",
        std::fs::read_to_string(&daemon_log).unwrap_or_default()
    );
    let size = std::fs::metadata(&log).expect("stat").len();
    assert_eq!(
        checkpoint_offset(&dir.path().join("state"), "audit.log"),
        Some(size)
    );

    let all = read_sink_events(&dir.path().join("out"));
    let alerts = read_sink_events(&alerts_dir);
    let ids = |events: &[serde_json::Value]| -> HashSet<String> {
        events
            .iter()
            .filter_map(|e| e["id"].as_str().map(String::from))
            .collect()
    };
    let with_alerts: Vec<_> = all
        .iter()
        .filter(|e| e["alerts"].as_array().is_some_and(|a| !a.is_empty()))
        .cloned()
        .collect();
    assert!(
        !with_alerts.is_empty(),
        "the workload raised no alert (sudo/docker are in it)"
    );
    assert!(with_alerts.len() < all.len());
    assert_eq!(ids(&alerts), ids(&with_alerts));
    assert_eq!(alerts.len(), with_alerts.len(), "each alert event once");
}
