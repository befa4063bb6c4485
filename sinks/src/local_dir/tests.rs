//! LocalDirSink tests: keys, gzip round-trip, no temp files, unique seqs across instances and
//! restarts, never overwriting, and retriable errors on unwritable directories.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use flate2::read::MultiGzDecoder;

use super::*;
use crate::{seq_from_file_name, BatchLimits, Batcher, EncodedEvent};

/// 2026-11-25T10:47:55.123Z
const T: i64 = 1_795_603_675_123;

fn config(dir: &Path) -> LocalDirConfig {
    LocalDirConfig {
        dir: dir.to_path_buf(),
        prefix: "audit".into(),
        host: "web01".into(),
    }
}

fn batch(first_time_ms: i64, lines: &[&str], compression: Compression) -> Batch {
    let limits = BatchLimits {
        max_events: 1000,
        max_bytes: 1 << 20,
        max_age: Duration::from_secs(1),
    };
    let mut batcher = Batcher::new(limits, compression);
    for (i, line) in lines.iter().enumerate() {
        batcher.push(EncodedEvent {
            seq: i as u64,
            time_ms: first_time_ms + i as i64,
            json: line.to_string().into(),
        });
    }
    batcher.take().unwrap()
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn objects(dir: &Path) -> Vec<String> {
    files(dir)
        .into_iter()
        .filter(|f| !f.ends_with(STATE_FILE_NAME))
        .collect()
}

fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    MultiGzDecoder::new(fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[tokio::test]
async fn writes_the_batch_under_its_key_and_gzip_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let mut sink = LocalDirSink::new(config(tmp.path())).unwrap();
    sink.healthcheck().await.unwrap();
    let lines = [r#"{"type":"SYSCALL","n":1}"#, r#"{"type":"EXECVE","n":2}"#];
    sink.send(&batch(T, &lines, Compression::gzip()))
        .await
        .unwrap();
    sink.send(&batch(T + 86_400_000, &lines, Compression::None))
        .await
        .unwrap();

    assert_eq!(
        files(tmp.path()),
        vec![
            format!("audit/{STATE_FILE_NAME}"),
            "audit/year=2026/month=11/day=25/web01-20261125T104755.123Z-0.json.gz".to_owned(),
            "audit/year=2026/month=11/day=26/web01-20261126T104755.123Z-1.json".to_owned(),
        ],
        "only the objects and the state file; no temp or healthcheck files left"
    );
    let day = tmp.path().join("audit/year=2026/month=11");
    let expected = format!("{}\n{}\n", lines[0], lines[1]);
    assert_eq!(
        gunzip(&day.join("day=25/web01-20261125T104755.123Z-0.json.gz")),
        expected
    );
    assert_eq!(
        fs::read_to_string(day.join("day=26/web01-20261126T104755.123Z-1.json")).unwrap(),
        expected
    );
}

#[tokio::test]
async fn seqs_stay_unique_across_instances_and_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = LocalDirSink::new(config(tmp.path())).unwrap();
    let mut b = LocalDirSink::new(config(tmp.path())).unwrap();
    let same = batch(T, &["{}"], Compression::gzip());
    for _ in 0..3 {
        a.send(&same).await.unwrap();
        b.send(&same).await.unwrap();
    }
    drop((a, b));
    let mut restarted = LocalDirSink::new(config(tmp.path())).unwrap();
    restarted.send(&same).await.unwrap();

    let seqs: Vec<u64> = objects(tmp.path())
        .iter()
        .filter_map(|f| seq_from_file_name(f.rsplit('/').next().unwrap()))
        .collect();
    assert_eq!(seqs.len(), 7, "every batch is its own object");
    assert_eq!(
        seqs.iter().copied().collect::<BTreeSet<_>>(),
        (0..7).collect::<BTreeSet<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_instances_never_share_a_seq() {
    let tmp = tempfile::tempdir().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut sink = LocalDirSink::new(config(tmp.path())).unwrap();
        tasks.push(tokio::spawn(async move {
            let same = batch(T, &["{}"], Compression::None);
            for _ in 0..10 {
                sink.send(&same).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let names = objects(tmp.path());
    assert_eq!(names.len(), 40);
    let seqs: BTreeSet<u64> = names
        .iter()
        .filter_map(|f| seq_from_file_name(f.rsplit('/').next().unwrap()))
        .collect();
    assert_eq!(seqs, (0..40).collect::<BTreeSet<_>>());
}

#[tokio::test]
async fn lost_state_is_rebuilt_and_existing_objects_are_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let mut sink = LocalDirSink::new(config(tmp.path())).unwrap();
    sink.send(&batch(T, &[r#"{"first":1}"#], Compression::None))
        .await
        .unwrap();
    sink.send(&batch(T, &[r#"{"second":2}"#], Compression::None))
        .await
        .unwrap();
    let state = tmp.path().join("audit").join(STATE_FILE_NAME);

    // Deleted state: rebuilt by scanning, continues after the largest seq.
    fs::remove_file(&state).unwrap();
    sink.send(&batch(T, &[r#"{"third":3}"#], Compression::None))
        .await
        .unwrap();
    assert_eq!(fs::read_to_string(&state).unwrap().trim(), "3");

    // State rolled back (e.g. restored from an old backup): names 0..=2 exist, so the sink skips
    // them instead of overwriting.
    fs::write(&state, "0\n").unwrap();
    sink.send(&batch(T, &[r#"{"fourth":4}"#], Compression::None))
        .await
        .unwrap();
    let day = tmp.path().join("audit/year=2026/month=11/day=25");
    let read = |seq: u64| {
        fs::read_to_string(day.join(format!("web01-20261125T104755.123Z-{seq}.json"))).unwrap()
    };
    assert_eq!(read(0), "{\"first\":1}\n");
    assert_eq!(read(1), "{\"second\":2}\n");
    assert_eq!(read(2), "{\"third\":3}\n");
    assert_eq!(read(3), "{\"fourth\":4}\n");
    assert_eq!(objects(tmp.path()).len(), 4);
}

#[tokio::test]
async fn a_file_in_place_of_the_directory_is_retriable() {
    let tmp = tempfile::tempdir().unwrap();
    let blocker = tmp.path().join("not-a-dir");
    fs::write(&blocker, "x").unwrap();
    let mut sink = LocalDirSink::new(LocalDirConfig {
        dir: blocker.join("spool"),
        ..config(tmp.path())
    })
    .unwrap();
    let err = sink.healthcheck().await.unwrap_err();
    assert!(err.is_retriable(), "{err:?}");
    let err = sink
        .send(&batch(T, &["{}"], Compression::gzip()))
        .await
        .unwrap_err();
    assert!(err.is_retriable(), "{err:?}");

    // The operator fixes it: the same batch now goes through.
    fs::remove_file(&blocker).unwrap();
    sink.send(&batch(T, &["{}"], Compression::gzip()))
        .await
        .unwrap();
    assert_eq!(objects(tmp.path()).len(), 1);
}

#[tokio::test]
async fn a_read_only_directory_is_retriable() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("audit");
    fs::create_dir_all(&root).unwrap();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o555)).unwrap();
    if fs::write(root.join("probe"), "x").is_ok() {
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("skipped: running with CAP_DAC_OVERRIDE (root), permissions are not enforced");
        return;
    }
    let mut sink = LocalDirSink::new(config(tmp.path())).unwrap();
    let err = sink
        .send(&batch(T, &["{}"], Compression::gzip()))
        .await
        .unwrap_err();
    assert!(err.is_retriable(), "{err:?}");
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn invalid_configs_are_rejected() {
    let dir = Path::new("/tmp/x");
    for host in ["", ".hidden", "a/b", "a b", "h\u{e9}"] {
        let config = LocalDirConfig {
            host: host.into(),
            ..config(dir)
        };
        assert!(
            matches!(
                LocalDirSink::new(config),
                Err(LocalDirConfigError::InvalidHost(_))
            ),
            "{host:?}"
        );
    }
    for prefix in ["a/../b", "..", ".state", "a//b", "a/./b", "x\0"] {
        let config = LocalDirConfig {
            prefix: prefix.into(),
            ..config(dir)
        };
        assert!(
            matches!(
                LocalDirSink::new(config),
                Err(LocalDirConfigError::InvalidPrefix(_))
            ),
            "{prefix:?}"
        );
    }
    for prefix in ["", "/", "logs/audit/", "/audit", "year-2026=x"] {
        let config = LocalDirConfig {
            prefix: prefix.into(),
            ..config(dir)
        };
        assert!(LocalDirSink::new(config).is_ok(), "{prefix:?}");
    }
}
