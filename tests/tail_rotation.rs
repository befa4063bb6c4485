//! Integration tests of the file tail source on a real filesystem: exactly-once delivery with
//! exact offsets across appends, rename rotation, copytruncate, delete + re-create, rotation while
//! stopped, partial lines, overlong lines, binary bytes and `ReadFrom::End`.
//!
//! Every test checks the whole event stream with `check_stream`: per file, `Opened` comes first
//! and each line starts exactly where the previous one ended (nothing missed, nothing repeated),
//! and each line's bytes are what the file holds at those offsets. Waits are bounded by a timeout
//! and end as soon as the expected events arrived; "nothing more" is shown by a marker line
//! written last.

#[path = "tail_rotation/harness.rs"]
mod harness;

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::time::Duration;

use auditrail::source::{run_tailer, FileId, ReadFrom, TailEvent};
use harness::*;
use tokio::sync::{mpsc, watch};

#[tokio::test]
async fn plain_append_delivers_each_line_once_with_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, b"one\ntwo\n");
    let mut t = start(config(&[&log]), HashMap::new(), 16);
    t.until_line("two").await;
    append(&log, b"three\n\nfive\r\n");
    append(&log, b"END\n");
    t.until_line("END").await;
    let events = t.stop().await;
    assert_eq!(texts(&events), ["one", "two", "three", "", "five\r", "END"]);
    let id = id_of(&events, &log);
    assert_eq!(opened(&events), [(id, log.clone(), 0)]);
    check_stream(
        &events,
        &HashMap::from([(id, fs::read(&log).unwrap())]),
        1 << 20,
    );
    assert_eq!(
        lines(&events).last().unwrap().end,
        fs::metadata(&log).unwrap().len()
    );
}

#[tokio::test]
async fn rename_rotation_reads_old_file_to_end_then_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let old = dir.path().join("audit.log.1");
    append(&log, b"a1\na2\n");
    let mut t = start(config(&[&log]), HashMap::new(), 16);
    t.until_line("a2").await;
    // The writer keeps its fd: lines land in the old file after the rename, as with rsyslog.
    let mut writer = OpenOptions::new().append(true).open(&log).unwrap();
    writer.write_all(b"a3\n").unwrap();
    fs::rename(&log, &old).unwrap();
    writer.write_all(b"a4\nlast-without-newline").unwrap();
    append(&log, b"b1\nb2\n");
    t.until_line("b2").await;
    let a = opened(&t.events)[0].0;
    t.until("Finished of the old file", |evs| {
        has_event(
            evs,
            |e| matches!(e, TailEvent::Finished { file } if *file == a),
        )
    })
    .await;
    append(&log, b"END\n");
    t.until_line("END").await;
    let events = t.stop().await;
    assert_eq!(texts(&events)[..4], ["a1", "a2", "a3", "a4"]);
    let b = opened(&events)[1].0;
    assert_ne!(a, b);
    let of = |id: FileId| -> Vec<String> {
        lines(&events)
            .iter()
            .filter(|l| l.file == id)
            .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
            .collect()
    };
    assert_eq!(of(a), ["a1", "a2", "a3", "a4", "last-without-newline"]);
    assert_eq!(of(b), ["b1", "b2", "END"]);
    // The old file's complete lines all came before the new file's first line.
    let all = lines(&events);
    let first_b = all.iter().position(|l| l.file == b).unwrap();
    assert_eq!(first_b, 4);
    // The final partial line ends at the old file's size: its checkpoint covers the whole file.
    let last_a = all.iter().rfind(|l| l.file == a).unwrap();
    assert_eq!(last_a.end, fs::metadata(&old).unwrap().len());
    check_stream(
        &events,
        &HashMap::from([(a, fs::read(&old).unwrap()), (b, fs::read(&log).unwrap())]),
        1 << 20,
    );
}

#[tokio::test]
async fn copytruncate_restarts_at_zero_under_a_new_id() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("messages");
    append(&log, b"m1 first line of the old content\nm2\n");
    let mut t = start(config(&[&log]), HashMap::new(), 16);
    t.until_line("m2").await;
    let a = id_of(&t.events, &log);
    // logrotate copytruncate: copy, then truncate the same inode to 0; the writer goes on.
    fs::copy(&log, dir.path().join("messages.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    t.until("Truncated", |evs| {
        has_event(
            evs,
            |e| matches!(e, TailEvent::Truncated { file } if *file == a),
        )
    })
    .await;
    append(&log, b"n1\nn2\n");
    t.until_line("n2").await;
    let events = t.stop().await;
    let b = id_of(&events, &log);
    assert_ne!(a, b);
    assert_eq!(opened(&events).last().unwrap().2, 0);
    assert_eq!(
        texts(&events),
        ["m1 first line of the old content", "m2", "n1", "n2"]
    );
    check_stream(
        &events,
        &HashMap::from([(b, fs::read(&log).unwrap())]),
        1 << 20,
    );
}

#[tokio::test]
async fn copytruncate_noticed_even_when_file_regrew_past_old_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("messages");
    append(&log, b"old-1\nold-2\n");
    let mut t = start(config(&[&log]), HashMap::new(), 16);
    t.until_line("old-2").await;
    let a = id_of(&t.events, &log);
    // Truncate and write more than before in one go: only the changed first line shows it.
    let mut f = OpenOptions::new().write(true).open(&log).unwrap();
    f.set_len(0).unwrap();
    f.write_all(b"new-1 which is longer\nnew-2\n").unwrap();
    t.until_line("new-2").await;
    let events = t.stop().await;
    assert!(has_event(
        &events,
        |e| matches!(e, TailEvent::Truncated { file } if *file == a)
    ));
    assert_eq!(
        texts(&events),
        ["old-1", "old-2", "new-1 which is longer", "new-2"]
    );
    let b = id_of(&events, &log);
    assert_ne!(a, b);
    check_stream(
        &events,
        &HashMap::from([(b, fs::read(&log).unwrap())]),
        1 << 20,
    );
}

#[tokio::test]
async fn delete_and_recreate_switches_to_the_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("secure");
    append(&log, b"x1\nx2\n");
    let mut t = start(config(&[&log]), HashMap::new(), 16);
    t.until_line("x2").await;
    let a = id_of(&t.events, &log);
    fs::remove_file(&log).unwrap();
    append(&log, b"x1\ny2\n"); // same first line, new inode: a different file
    t.until_line("y2").await;
    t.until("Finished of the deleted file", |evs| {
        has_event(
            evs,
            |e| matches!(e, TailEvent::Finished { file } if *file == a),
        )
    })
    .await;
    let events = t.stop().await;
    let b = id_of(&events, &log);
    assert_ne!(a, b);
    assert_eq!(texts(&events), ["x1", "x2", "x1", "y2"]);
    check_stream(
        &events,
        &HashMap::from([(b, fs::read(&log).unwrap())]),
        1 << 20,
    );
}

#[tokio::test]
async fn rotation_while_stopped_resumes_in_rotated_files_then_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    // An old rotated file that was never tailed must stay ignored.
    let ancient = dir.path().join("audit.log.3");
    append(&ancient, b"ancient\n");
    set_mtime(&ancient, Duration::from_secs(86_400));
    append(&dir.path().join("audit.log.4.gz"), b"\x1f\x8b garbage");
    append(&log, b"a1\na2\n");

    let mut first = start(config(&[&log]), HashMap::new(), 16);
    first.until_line("a2").await;
    let run1 = first.stop().await;
    assert_eq!(texts(&run1), ["a1", "a2"]);
    let a = id_of(&run1, &log);
    let resume: HashMap<FileId, u64> = HashMap::from([(a, lines(&run1).last().unwrap().end)]);

    // While stopped: a3 lands in A; A -> .1; B gets b1; rotate again: .1 -> .2, B -> .1; C new.
    append(&log, b"a3\n");
    set_mtime(&log, Duration::from_secs(20));
    fs::rename(&log, dir.path().join("audit.log.1")).unwrap();
    append(&log, b"b1\nb2\n");
    set_mtime(&log, Duration::from_secs(10));
    fs::rename(
        dir.path().join("audit.log.1"),
        dir.path().join("audit.log.2"),
    )
    .unwrap();
    fs::rename(&log, dir.path().join("audit.log.1")).unwrap();
    append(&log, b"c1\n");

    let mut cfg = config(&[&log]);
    cfg.read_from = ReadFrom::End; // must not apply: this path was tailed before
    let mut second = start(cfg, resume.clone(), 16);
    second.until_line("c1").await;
    append(&log, b"END\n");
    second.until_line("END").await;
    let run2 = second.stop().await;
    assert_eq!(texts(&run2), ["a3", "b1", "b2", "c1", "END"]);
    let ids: Vec<FileId> = opened(&run2).iter().map(|o| o.0).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], a);
    assert_eq!(opened(&run2)[0].1, dir.path().join("audit.log.2"));
    assert_eq!(
        opened(&run2).iter().map(|o| o.2).collect::<Vec<_>>(),
        [resume[&a], 0, 0]
    );
    let content = HashMap::from([
        (a, fs::read(dir.path().join("audit.log.2")).unwrap()),
        (ids[1], fs::read(dir.path().join("audit.log.1")).unwrap()),
        (ids[2], fs::read(&log).unwrap()),
    ]);
    check_stream(&run2, &content, 1 << 20);
}

#[tokio::test]
async fn restart_after_a_rotation_handled_while_running_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("secure");
    let rotated = dir.path().join("secure-20261125");
    append(&log, b"a1\n");
    let mut t = start(config(&[&log]), HashMap::new(), 16);
    t.until_line("a1").await;
    fs::rename(&log, &rotated).unwrap();
    append(&log, b"b1\n");
    t.until_line("b1").await;
    let a = opened(&t.events)[0].0;
    t.until("Finished", |evs| {
        has_event(evs, |e| matches!(e, TailEvent::Finished { .. }))
    })
    .await;
    let run1 = t.stop().await;
    let b = id_of(&run1, &log);
    let end_of = |id: FileId| lines(&run1).iter().rfind(|l| l.file == id).unwrap().end;
    set_mtime(&rotated, Duration::from_secs(60));

    // The ack tracker kept A's final checkpoint: A is opened at its end and finished, no lines.
    let resume = HashMap::from([(a, end_of(a)), (b, end_of(b))]);
    let mut t = start(config(&[&log]), resume, 16);
    append(&log, b"b2\n");
    t.until_line("b2").await;
    t.until("Finished", |evs| {
        has_event(
            evs,
            |e| matches!(e, TailEvent::Finished { file } if *file == a),
        )
    })
    .await;
    let run2 = t.stop().await;
    assert_eq!(texts(&run2), ["b2"]);
    assert!(opened(&run2).contains(&(a, rotated.clone(), end_of(a))));

    // The ack tracker forgot A: A is older than B, so it is left alone.
    let resume = HashMap::from([(b, lines(&run2).last().unwrap().end)]);
    let mut t = start(config(&[&log]), resume, 16);
    append(&log, b"b3\n");
    t.until_line("b3").await;
    let run3 = t.stop().await;
    assert_eq!(texts(&run3), ["b3"]);
    assert_eq!(opened(&run3).len(), 1);
}

#[tokio::test]
async fn partial_last_line_is_held_until_completed_and_never_sent_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, b"l1\npart");
    let mut t = start(config(&[&log]), HashMap::new(), 16);
    t.until_line("l1").await;
    append(&log, b"ial");
    append(&log, b" done\nl3\nunfinished");
    t.until_line("l3").await;
    let events = t.stop().await;
    assert_eq!(texts(&events), ["l1", "partial done", "l3"]);
    let id = id_of(&events, &log);
    check_stream(
        &events,
        &HashMap::from([(id, fs::read(&log).unwrap())]),
        1 << 20,
    );

    // Restarting from the last line's end picks the held line up once it is completed.
    let resume = HashMap::from([(id, lines(&events).last().unwrap().end)]);
    let mut t = start(config(&[&log]), resume, 16);
    append(&log, b" now\n");
    t.until_line("unfinished now").await;
    let events = t.stop().await;
    assert_eq!(texts(&events), ["unfinished now"]);
}

#[tokio::test]
async fn overlong_line_is_truncated_and_next_line_is_intact() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let mut big: Vec<u8> = (0..3 * 1024 * 1024)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    big.push(b'\n');
    append(&log, b"before\n");
    append(&log, &big);
    append(&log, b"after\n");
    let mut t = start(config(&[&log]), HashMap::new(), 16);
    t.until_line("after").await;
    let events = t.stop().await;
    let all = lines(&events);
    assert_eq!(all.len(), 3);
    assert!(!all[0].truncated && !all[2].truncated);
    assert!(all[1].truncated);
    assert_eq!(all[1].bytes.len(), 1 << 20);
    assert_eq!(&all[1].bytes[..], &big[..1 << 20]);
    assert_eq!((all[1].start, all[1].end), (7, 7 + big.len() as u64));
    let id = id_of(&events, &log);
    check_stream(
        &events,
        &HashMap::from([(id, fs::read(&log).unwrap())]),
        1 << 20,
    );
}

#[tokio::test]
async fn non_utf8_bytes_are_delivered_intact() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let raw: &[u8] = b"ok\n\xff\xfe\x00\xc3\x28 msg=\x80\r\n";
    append(&log, raw);
    let mut t = start(config(&[&log]), HashMap::new(), 16);
    t.until("two lines", |evs| lines(evs).len() == 2).await;
    let events = t.stop().await;
    assert_eq!(
        &lines(&events)[1].bytes[..],
        b"\xff\xfe\x00\xc3\x28 msg=\x80\r"
    );
}

#[tokio::test]
async fn read_from_end_skips_existing_lines_but_not_the_line_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("messages");
    append(&log, b"old1\nold2\npart");
    let mut cfg = config(&[&log]);
    cfg.read_from = ReadFrom::End;
    let mut t = start(cfg, HashMap::new(), 16);
    t.until("Opened", |evs| !opened(evs).is_empty()).await;
    append(&log, b"ial\nnew\n");
    t.until_line("new").await;
    let events = t.stop().await;
    assert_eq!(opened(&events)[0].2, 10);
    assert_eq!(texts(&events), ["partial", "new"]);
    let id = id_of(&events, &log);
    check_stream(
        &events,
        &HashMap::from([(id, fs::read(&log).unwrap())]),
        1 << 20,
    );
}

#[tokio::test]
async fn file_created_after_start_is_read_from_its_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("later").join("verdicts.log");
    let other = dir.path().join("messages");
    append(&other, b"present\n");
    let mut cfg = config(&[&other, &log]);
    cfg.read_from = ReadFrom::End;
    let mut t = start(cfg, HashMap::new(), 16);
    t.until("the present file", |evs| !opened(evs).is_empty())
        .await;
    append(&other, b"started\n");
    t.until_line("started").await; // start-up is over: `log` did not exist at start
    fs::create_dir(dir.path().join("later")).unwrap();
    append(&log, b"v");
    append(&log, b"1\nv2\n");
    t.until_line("v2").await;
    let events = t.stop().await;
    assert_eq!(texts(&events), ["started", "v1", "v2"]);
    assert_eq!(opened(&events)[1], (id_of(&events, &log), log.clone(), 0));
}

#[tokio::test]
async fn backpressure_delivers_everything_in_order_through_a_tiny_channel() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let mut data = Vec::new();
    for i in 0..20_000 {
        writeln!(
            data,
            "type=SYSCALL msg=audit(1700000000.{i:06}:{i}): syscall=59 success=yes"
        )
        .unwrap();
    }
    append(&log, &data);
    let mut t = start(config(&[&log]), HashMap::new(), 1);
    t.until("all lines", |evs| lines(evs).len() >= 20_000).await;
    append(&log, b"END\n");
    t.until_line("END").await;
    let events = t.stop().await;
    let all = texts(&events);
    assert_eq!(all.len(), 20_001);
    assert!(all[19_999].contains("1700000000.019999:19999"));
    let id = id_of(&events, &log);
    check_stream(
        &events,
        &HashMap::from([(id, fs::read(&log).unwrap())]),
        1 << 20,
    );
}

#[tokio::test]
async fn shutdown_is_prompt_even_when_the_channel_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, &b"line\n".repeat(100_000));
    let (tx, _rx) = mpsc::channel(1);
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(run_tailer(config(&[&log]), HashMap::new(), tx, stop_rx));
    // Wait until the tailer is blocked on the full channel.
    let deadline = tokio::time::Instant::now() + WAIT;
    while _rx.capacity() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "channel never filled"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(WAIT, task)
        .await
        .expect("not prompt")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn closed_channel_without_shutdown_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, b"x\n");
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    let (_stop, stop_rx) = watch::channel(false);
    let res = tokio::time::timeout(
        WAIT,
        run_tailer(config(&[&log]), HashMap::new(), tx, stop_rx),
    )
    .await;
    assert!(res.expect("did not return").is_err());
}

/// Throughput check, run by hand: `cargo test --release -p auditrail --test tail_rotation
/// throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let mut chunk = Vec::new();
    for i in 0..10_000 {
        writeln!(chunk, "type=SYSCALL msg=audit(1700000000.{i:06}:{i}): arch=c000003e syscall=59 success=yes exit=0 a0=55d5 a1=55d6 items=2 ppid=1 pid=2 auid=1000 uid=0 comm=\"bash\" exe=\"/usr/bin/bash\" key=\"exec\"").unwrap();
    }
    let mut f = File::create(&log).unwrap();
    let mut total = 0usize;
    while total < 512 << 20 {
        f.write_all(&chunk).unwrap();
        total += chunk.len();
    }
    drop(f);
    let (tx, mut rx) = mpsc::channel(64);
    let (_stop, stop_rx) = watch::channel(false);
    let began = std::time::Instant::now();
    tokio::spawn(run_tailer(config(&[&log]), HashMap::new(), tx, stop_rx));
    let (mut bytes, mut n) = (0usize, 0usize);
    while bytes < total {
        if let Some(TailEvent::Lines(v)) = rx.recv().await {
            n += v.len();
            bytes += v.iter().map(|l| l.bytes.len() + 1).sum::<usize>();
        }
    }
    let secs = began.elapsed().as_secs_f64();
    eprintln!("{n} lines, {:.0} MB/s", total as f64 / secs / 1e6);
}
