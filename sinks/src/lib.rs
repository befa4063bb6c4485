//! The sinks of auditrail and the one batching/encoding/retry mechanism they share.
//!
//! Shaped after Vector: everything a destination does not care about lives once, here —
//! [`Batcher`] groups [`EncodedEvent`]s into [`Batch`]es by count, uncompressed size, age and
//! time span, streaming them into gzip as they arrive; [`RetryPolicy`] is one capped
//! exponential backoff with full jitter; [`run_sink`] drives a sink (read the channel, batch,
//! send with retry, acknowledge with a [`SinkAck`], flush on shutdown). A sink is a small module
//! implementing [`Sink`]: its config, turning a batch into a request, sending it, and saying which
//! errors are worth retrying ([`SendError`]); its API's hard limits (records per call, bytes per
//! call, per-event overhead, time span) are declared as [`SinkConstraints`].
//!
//! Sinks: [`LocalDirSink`] (the embedded default: one file per batch under an S3-like key, written
//! atomically), [`StdoutSink`] (debugging), [`FirehoseSink`] (`PutRecordBatch`, many events per
//! gzip record, only failed records re-sent) and [`CloudWatchSink`] (`PutLogEvents`, one log event
//! per event, rejections read and counted). Wire-level counters ([`SinkMetrics`]) of every sink
//! reach [`SinkStats`] through [`Sink::take_metrics`].
//!
//! Delivery is at-least-once: a batch is acknowledged only after the sink said it is durable, and
//! a failing batch is retried — by default forever, [`SendError::Fatal`] included (logged at error
//! level for an operator to fix) — rather than dropped. While a batch is in flight the driver
//! stops reading its bounded channel, so a slow sink pushes back on the daemon instead of
//! buffering.
//!
//! Byte limits count the uncompressed encoded size (`json + '\n'` per event for NDJSON); gzip
//! (level 6 by default, see [`Compression::DEFAULT_GZIP_LEVEL`] for measurements) is streamed as
//! events are pushed. An event larger than `max_bytes` travels alone in its own batch.
//!
//! # Example
//!
//! ```
//! use auditrail_sinks::{
//!     run_sink, BatchLimits, Compression, EncodedEvent, LocalDirConfig, LocalDirSink, RetryPolicy,
//! };
//! use tokio::sync::mpsc;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let tmp = tempfile::tempdir()?;
//! # let dir = tmp.path().to_path_buf();
//! let sink = LocalDirSink::new(LocalDirConfig { dir, prefix: "audit".into(), host: "web01".into() })?;
//! let (events, rx) = mpsc::channel(1024);
//! let (acks_tx, mut acks) = mpsc::channel(64);
//! let driver = tokio::spawn(run_sink(
//!     0, sink, BatchLimits::default(), Compression::gzip(), RetryPolicy::default(), rx, acks_tx,
//! ));
//!
//! let json = r#"{"type":"SYSCALL","syscall":"execve"}"#;
//! events.send(EncodedEvent { seq: 1, time_ms: 1_795_603_675_123, json: json.into() }).await?;
//! drop(events); // shutdown: the driver flushes the open batch, then returns its counters
//!
//! let stats = driver.await?;
//! let ack = acks.recv().await.ok_or("no ack")?;
//! assert!(ack.seqs.contains(1));
//! assert_eq!(stats.events_sent, 1);
//! // The batch is now DIR/audit/year=2026/month=11/day=25/web01-20261125T104755.123Z-0.json.gz
//! # assert!(tmp.path().join("audit/year=2026/month=11/day=25/web01-20261125T104755.123Z-0.json.gz").exists());
//! # Ok(())
//! # }
//! ```

mod aws;
mod batch;
pub mod cloudwatch;
mod driver;
mod event;
pub mod firehose;
mod key;
mod local_dir;
mod metrics;
mod retry;
mod seqset;
mod sink;
mod stdout;

pub use aws::{AwsBatchConfig, AwsConnection};
pub use batch::{Batch, BatchLimits, Batcher, Compression, Framing, SinkConstraints};
pub use cloudwatch::{CloudWatchConfig, CloudWatchSink, NameValues, RETENTION_DAYS};
pub use driver::{run_sink, run_sink_with, DriverOptions, SinkStats};
pub use event::{EncodedEvent, SinkAck};
pub use firehose::{
    compression_advice, FirehoseConfig, FirehoseSink, RecordCompression, MAX_BYTES_PER_CALL,
    MAX_RECORDS_PER_CALL, MAX_RECORD_BYTES,
};
pub use key::{basic_utc_timestamp, object_key, seq_from_file_name};
pub use local_dir::{LocalDirConfig, LocalDirConfigError, LocalDirSink, STATE_FILE_NAME};
pub use metrics::{LatencyStats, SinkMetrics, LATENCY_BUCKETS_MS};
pub use retry::RetryPolicy;
pub use seqset::SeqSet;
pub use sink::{SendError, Sink};
pub use stdout::StdoutSink;
