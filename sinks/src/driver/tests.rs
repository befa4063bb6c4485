//! run_sink tests on a paused clock: retries and acks, fatal errors, giving up, age flushes,
//! backpressure and shutdown.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

use super::*;

#[derive(Clone, Default)]
struct Shared {
    attempts: Arc<AtomicU32>,
    healthchecks: Arc<AtomicU32>,
    /// While true every send fails.
    failing: Arc<AtomicBool>,
    delivered: Arc<Mutex<Vec<Vec<u64>>>>,
    /// Sends running now, and the most ever running at once while `failing`.
    running: Arc<AtomicU32>,
    max_running_while_failing: Arc<AtomicU32>,
}

/// Fails the first `fail_each_batch` attempts of every batch (and every attempt while
/// `failing`), optionally waiting for a permit before answering. The driver sends each batch
/// through a fresh clone, so `failures_of_this_batch` counts per batch.
#[derive(Clone)]
struct TestSink {
    shared: Shared,
    fail_each_batch: u32,
    fatal: bool,
    failures_of_this_batch: u32,
    gate: Option<Arc<Semaphore>>,
}

impl TestSink {
    fn new(shared: &Shared, fail_each_batch: u32) -> Self {
        Self {
            shared: shared.clone(),
            fail_each_batch,
            fatal: false,
            failures_of_this_batch: 0,
            gate: None,
        }
    }
}

impl Sink for TestSink {
    fn name(&self) -> &str {
        "test"
    }

    async fn send(&mut self, batch: &Batch) -> Result<(), SendError> {
        self.shared.attempts.fetch_add(1, Ordering::SeqCst);
        if self.shared.failing.load(Ordering::SeqCst) {
            // A hung server: the attempt times out after 5 s; overlapping attempts are counted.
            let running = self.shared.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.shared
                .max_running_while_failing
                .fetch_max(running, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(5)).await;
            self.shared.running.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some(gate) = &self.gate {
            gate.acquire().await.map_err(SendError::fatal)?.forget();
        }
        if self.shared.failing.load(Ordering::SeqCst)
            || self.failures_of_this_batch < self.fail_each_batch
        {
            self.failures_of_this_batch += 1;
            let message = format!("attempt failed ({})", self.failures_of_this_batch);
            return Err(if self.fatal {
                SendError::Fatal(message)
            } else {
                SendError::Retriable(message)
            });
        }
        self.failures_of_this_batch = 0;
        self.shared
            .delivered
            .lock()
            .unwrap()
            .push(batch.seqs.iter().collect());
        Ok(())
    }

    async fn healthcheck(&mut self) -> Result<(), SendError> {
        self.shared.healthchecks.fetch_add(1, Ordering::SeqCst);
        Err(SendError::Retriable(
            "healthcheck failure is only logged".into(),
        ))
    }
}

fn event(seq: u64) -> EncodedEvent {
    EncodedEvent {
        seq,
        time_ms: 1_000 + seq as i64,
        json: format!(r#"{{"seq":{seq}}}"#).into(),
    }
}

fn limits(max_events: usize, max_age_secs: u64) -> BatchLimits {
    BatchLimits {
        max_events,
        max_bytes: 1 << 20,
        max_age: Duration::from_secs(max_age_secs),
    }
}

/// Spawns a driver for any sink: also proves `run_sink` is spawnable for a generic `S`.
fn spawn_driver<S: Sink + Clone + 'static>(
    sink: S,
    limits: BatchLimits,
    retry: RetryPolicy,
    capacity: usize,
) -> (
    mpsc::Sender<EncodedEvent>,
    mpsc::Receiver<SinkAck>,
    JoinHandle<SinkStats>,
) {
    let (events, rx) = mpsc::channel(capacity);
    let (acks_tx, acks) = mpsc::channel(1024);
    let handle = tokio::spawn(run_sink(
        7,
        sink,
        limits,
        Compression::None,
        retry,
        rx,
        acks_tx,
    ));
    (events, acks, handle)
}

fn drain(acks: &mut mpsc::Receiver<SinkAck>) -> Vec<SinkAck> {
    let mut out = Vec::new();
    while let Ok(ack) = acks.try_recv() {
        out.push(ack);
    }
    out
}

#[tokio::test(start_paused = true)]
async fn retries_until_success_and_acks_each_seq_exactly_once() {
    let shared = Shared::default();
    let sink = TestSink::new(&shared, 2);
    let (events, mut acks, handle) = spawn_driver(sink, limits(3, 60), RetryPolicy::default(), 16);
    for seq in 0..10 {
        events.send(event(seq)).await.unwrap();
    }
    drop(events);
    let stats = handle.await.unwrap();

    let acks = drain(&mut acks);
    assert!(acks.iter().all(|ack| ack.sink == 7));
    let mut acked: Vec<u64> = acks.iter().flat_map(|ack| ack.seqs.iter()).collect();
    acked.sort_unstable();
    assert_eq!(
        acked,
        (0..10).collect::<Vec<_>>(),
        "every seq acked exactly once"
    );
    assert_eq!(
        *shared.delivered.lock().unwrap(),
        vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8], vec![9]]
    );
    assert_eq!(shared.attempts.load(Ordering::SeqCst), 12);
    assert_eq!(shared.healthchecks.load(Ordering::SeqCst), 1);
    assert_eq!((stats.retries, stats.errors, stats.fatal_errors), (8, 8, 0));
    assert_eq!((stats.batches_sent, stats.events_sent), (4, 10));
    let body_bytes: u64 = (0..10).map(|s| event(s).json.len() as u64 + 1).sum();
    assert_eq!(
        (stats.bytes_sent, stats.raw_bytes_sent),
        (body_bytes, body_bytes)
    );
    assert_eq!(stats.batches_dropped, 0);
}

#[tokio::test(start_paused = true)]
async fn acks_arrive_only_after_the_sink_succeeds() {
    let shared = Shared::default();
    shared.failing.store(true, Ordering::SeqCst);
    let sink = TestSink::new(&shared, 0);
    let (events, mut acks, handle) = spawn_driver(sink, limits(2, 60), RetryPolicy::default(), 16);
    events.send(event(1)).await.unwrap();
    events.send(event(2)).await.unwrap();
    // Ten minutes of failing: many attempts, no ack.
    tokio::time::sleep(Duration::from_secs(600)).await;
    let attempts = shared.attempts.load(Ordering::SeqCst);
    assert!(attempts > 5, "only {attempts} attempts");
    assert!(drain(&mut acks).is_empty(), "acked while failing");

    shared.failing.store(false, Ordering::SeqCst);
    let ack = acks.recv().await.unwrap();
    assert_eq!(ack.seqs.iter().collect::<Vec<_>>(), vec![1, 2]);
    drop(events);
    let stats = handle.await.unwrap();
    let attempts = shared.attempts.load(Ordering::SeqCst) as u64;
    assert_eq!(stats.retries, attempts - 1);
    assert_eq!(stats.errors, attempts - 1);
    assert_eq!(stats.batches_sent, 1);
    assert!(drain(&mut acks).is_empty(), "acked twice");
}

#[tokio::test(start_paused = true)]
async fn fatal_errors_are_retried_not_dropped() {
    let shared = Shared::default();
    let sink = TestSink {
        fatal: true,
        ..TestSink::new(&shared, 3)
    };
    let (events, mut acks, handle) = spawn_driver(sink, limits(5, 60), RetryPolicy::default(), 16);
    events.send(event(4)).await.unwrap();
    drop(events);
    let stats = handle.await.unwrap();
    assert_eq!(drain(&mut acks).len(), 1);
    assert_eq!((stats.errors, stats.fatal_errors, stats.retries), (3, 3, 3));
    assert_eq!((stats.batches_sent, stats.batches_dropped), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_max_attempts_without_acking() {
    let shared = Shared::default();
    shared.failing.store(true, Ordering::SeqCst);
    let retry = RetryPolicy {
        max_attempts: Some(3),
        ..RetryPolicy::default()
    };
    let (events, mut acks, handle) =
        spawn_driver(TestSink::new(&shared, 0), limits(2, 60), retry, 16);
    for seq in 0..2 {
        events.send(event(seq)).await.unwrap();
    }
    drop(events);
    let stats = handle.await.unwrap();
    assert!(drain(&mut acks).is_empty());
    assert_eq!(shared.attempts.load(Ordering::SeqCst), 3);
    assert_eq!((stats.errors, stats.retries), (3, 2));
    assert_eq!((stats.batches_dropped, stats.events_dropped), (1, 2));
    assert_eq!(stats.batches_sent, 0);
}

#[tokio::test(start_paused = true)]
async fn sends_an_aged_batch_without_new_events() {
    let shared = Shared::default();
    let (events, mut acks, handle) = spawn_driver(
        TestSink::new(&shared, 0),
        limits(100, 5),
        RetryPolicy::default(),
        16,
    );
    events.send(event(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(4_900)).await;
    assert!(drain(&mut acks).is_empty(), "sent before max_age");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ack = acks.try_recv().expect("sent once max_age passed");
    assert_eq!(ack.seqs.iter().collect::<Vec<_>>(), vec![1]);
    drop(events);
    assert_eq!(handle.await.unwrap().batches_sent, 1);
}

#[tokio::test(start_paused = true)]
async fn stops_reading_while_the_sink_is_busy() {
    let shared = Shared::default();
    let gate = Arc::new(Semaphore::new(0));
    let sink = TestSink {
        gate: Some(Arc::clone(&gate)),
        ..TestSink::new(&shared, 0)
    };
    let (events, mut acks, handle) = spawn_driver(sink, limits(1, 60), RetryPolicy::default(), 2);
    events.send(event(0)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await; // the driver takes event 0 and blocks
    assert_eq!(shared.attempts.load(Ordering::SeqCst), 1);
    events.try_send(event(1)).unwrap();
    events.try_send(event(2)).unwrap();
    assert!(
        matches!(
            events.try_send(event(3)),
            Err(mpsc::error::TrySendError::Full(_))
        ),
        "the driver kept reading while its sink was busy"
    );
    gate.add_permits(100);
    drop(events);
    let stats = handle.await.unwrap();
    assert_eq!(stats.events_sent, 3);
    assert_eq!(drain(&mut acks).len(), 3);
}

#[tokio::test(start_paused = true)]
async fn flushes_the_open_batch_on_shutdown() {
    let shared = Shared::default();
    let (events, mut acks, handle) = spawn_driver(
        TestSink::new(&shared, 0),
        limits(100, 3600),
        RetryPolicy::default(),
        16,
    );
    for seq in [3, 5, 6] {
        events.send(event(seq)).await.unwrap();
    }
    drop(events);
    let stats = handle.await.unwrap();
    let acks = drain(&mut acks);
    assert_eq!(acks.len(), 1);
    assert_eq!(
        acks[0].seqs.ranges().collect::<Vec<_>>(),
        vec![3..=3, 5..=6]
    );
    assert_eq!((stats.batches_sent, stats.events_sent), (1, 3));
}

#[tokio::test(start_paused = true)]
async fn a_closed_ack_receiver_does_not_stop_delivery() {
    let shared = Shared::default();
    let (events, acks, handle) = spawn_driver(
        TestSink::new(&shared, 0),
        limits(1, 60),
        RetryPolicy::default(),
        16,
    );
    drop(acks);
    for seq in 0..3 {
        events.send(event(seq)).await.unwrap();
    }
    drop(events);
    assert_eq!(handle.await.unwrap().batches_sent, 3);
    assert_eq!(shared.delivered.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn sends_at_most_concurrency_batches_at_once_and_acks_them_all() {
    let shared = Shared::default();
    let gate = Arc::new(Semaphore::new(0));
    let sink = TestSink {
        gate: Some(Arc::clone(&gate)),
        ..TestSink::new(&shared, 0)
    };
    let (events, rx) = mpsc::channel(2);
    let (acks_tx, mut acks) = mpsc::channel(1024);
    let options = DriverOptions {
        limits: limits(1, 60),
        compression: Compression::None,
        retry: RetryPolicy::default(),
        concurrency: 3,
    };
    let handle = tokio::spawn(run_sink_with(1, sink, options, rx, acks_tx));
    let feeder = tokio::spawn(async move {
        for seq in 0..10 {
            events.send(event(seq)).await.unwrap();
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        shared.attempts.load(Ordering::SeqCst),
        3,
        "three batches in flight, no more"
    );
    assert!(!feeder.is_finished(), "the driver kept reading while full");
    gate.add_permits(1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        shared.attempts.load(Ordering::SeqCst),
        4,
        "a freed slot is refilled"
    );
    assert_eq!(drain(&mut acks).len(), 1);
    gate.add_permits(100);
    feeder.await.unwrap();
    let stats = handle.await.unwrap();
    let mut acked: Vec<u64> = drain(&mut acks)
        .iter()
        .flat_map(|ack| ack.seqs.iter())
        .collect();
    acked.sort_unstable();
    assert_eq!(acked, (1..10).collect::<Vec<_>>());
    assert_eq!((stats.batches_sent, stats.events_sent), (10, 10));
}

#[tokio::test(start_paused = true)]
async fn a_failing_sink_gets_one_attempt_at_a_time_then_full_concurrency_again() {
    let shared = Shared::default();
    let (events, rx) = mpsc::channel(64);
    let (acks_tx, mut acks) = mpsc::channel(1024);
    let options = DriverOptions {
        limits: limits(1, 60),
        compression: Compression::None,
        retry: RetryPolicy::default(),
        concurrency: 4,
    };
    let handle = tokio::spawn(run_sink_with(
        0,
        TestSink::new(&shared, 0),
        options,
        rx,
        acks_tx,
    ));
    shared.failing.store(true, Ordering::SeqCst);
    for seq in 0..8 {
        events.send(event(seq)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(120)).await;
    let attempts = shared.attempts.load(Ordering::SeqCst);
    assert!(attempts > 8, "retried while failing: {attempts}");
    // The four first attempts overlapped; every retry after the first failure ran alone.
    shared.max_running_while_failing.store(0, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(shared.max_running_while_failing.load(Ordering::SeqCst), 1);
    assert!(drain(&mut acks).is_empty());
    shared.failing.store(false, Ordering::SeqCst);
    drop(events);
    let stats = handle.await.unwrap();
    assert_eq!((stats.batches_sent, stats.events_sent), (8, 8));
    assert_eq!(drain(&mut acks).len(), 8);
}
