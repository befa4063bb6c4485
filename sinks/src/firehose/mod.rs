//! [`FirehoseSink`]: ships batches to Amazon Data Firehose with `PutRecordBatch`.
//!
//! Enters: [`Batch`]es of events (record framing: the sink sees each event). Leaves: Firehose
//! records, each packing many NDJSON lines — one gzip member per record by default, plain NDJSON
//! as an option — of at most 1,000 KiB (before base64), sent in calls of at most 500 records and
//! 4 MiB (see `pack.rs`). Guarantees:
//! - `send` returns `Ok` only when Firehose accepted every record of the batch, so the batch's
//!   acknowledgement (and the daemon's checkpoint) moves only then.
//! - On `FailedPutCount > 0` only the failed records (by their index in `RequestResponses`) are
//!   sent again: `send` remembers which records of the batch were accepted and returns
//!   `Retriable`; the driver backs off with the shared [`RetryPolicy`](crate::RetryPolicy) and
//!   calls `send` again with the same batch, which sends only what is still pending.
//! - Throttling (`ServiceUnavailableException`), 5xx and transport errors are `Retriable`; a
//!   record whose acceptance was never confirmed (connection lost after sending) is sent again,
//!   the only source of duplicates.
//! - The health check (`DescribeDeliveryStream`) reports the stream's status and warns when gzip
//!   records go into a stream whose S3 destination compresses with GZIP again, naming the
//!   pairing that fits ([`compression_advice`]).
//!
//! Compression pairings: gzip records + an `UNCOMPRESSED` S3 destination is the cheaper one
//! (Firehose bills the bytes it ingests, ~10x fewer with gzip); the objects it writes are then
//! concatenated gzip members, which `gunzip`, `zcat` and SIEM loaders read as one stream. Plain
//! records + a `GZIP` destination also works (S3 objects are one gzip stream) but ingests ~10x
//! the bytes. Gzip records + a `GZIP` destination compresses twice: readers must gunzip twice.

mod pack;
#[cfg(test)]
mod tests;

pub use pack::{MAX_BYTES_PER_CALL, MAX_RECORDS_PER_CALL, MAX_RECORD_BYTES};

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::{CompressionFormat, Record};
use aws_sdk_firehose::Client;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::aws::{
    classify, default_connect_timeout_ms, default_request_timeout_ms, AwsBatchConfig, AwsConnection,
};
use crate::{Batch, Framing, SendError, Sink, SinkConstraints, SinkMetrics};
use pack::{pack_events, plan_calls, PackedRecord};

/// How record data is encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordCompression {
    /// One gzip member per record (default).
    #[default]
    Gzip,
    /// Plain NDJSON.
    None,
}

/// Configuration of a [`FirehoseSink`] (`[sinks.firehose]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirehoseConfig {
    /// Delivery stream name (DirectPut).
    pub delivery_stream: String,
    /// Record encoding: `"gzip"` (default) or `"none"`.
    #[serde(default)]
    pub compression: RecordCompression,
    /// zlib level 0–9 for gzip records (default 6).
    #[serde(default = "default_gzip_level")]
    pub gzip_level: u32,
    /// Largest record data in bytes, before base64 (default and maximum 1,024,000 = 1,000 KiB;
    /// lower only to test or to bound memory).
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
    /// Batches in flight at once (default 2; each batch may span several calls).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Refuse to start when the health check fails (default false: warn and keep retrying).
    #[serde(default)]
    pub require_healthy: bool,
    /// Region, e.g. `"eu-west-1"`; default: the standard chain (`AWS_REGION`, profile, IMDS).
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint override (VPC endpoint, tests), e.g. `"http://127.0.0.1:4566"`.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Longest one request attempt may take, milliseconds (default 30,000).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Longest a connect may take, milliseconds (default 5,000).
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Batching (default 100,000 events, 8 MiB uncompressed, 5 s).
    #[serde(default = "default_batch")]
    pub batch: AwsBatchConfig,
}

fn default_gzip_level() -> u32 {
    6
}
fn default_max_record_bytes() -> usize {
    MAX_RECORD_BYTES
}
fn default_concurrency() -> usize {
    2
}
fn default_batch() -> AwsBatchConfig {
    AwsBatchConfig {
        max_events: 100_000,
        max_bytes: 8 << 20,
        max_age_ms: 5_000,
    }
}

impl FirehoseConfig {
    /// A configuration with every default, for `delivery_stream`.
    pub fn new(delivery_stream: impl Into<String>) -> Self {
        Self {
            delivery_stream: delivery_stream.into(),
            compression: RecordCompression::Gzip,
            gzip_level: default_gzip_level(),
            max_record_bytes: default_max_record_bytes(),
            concurrency: default_concurrency(),
            require_healthy: false,
            region: None,
            endpoint_url: None,
            request_timeout_ms: default_request_timeout_ms(),
            connect_timeout_ms: default_connect_timeout_ms(),
            batch: default_batch(),
        }
    }

    /// Region, endpoint and timeouts.
    pub fn connection(&self) -> AwsConnection {
        AwsConnection {
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            request_timeout_ms: self.request_timeout_ms,
            connect_timeout_ms: self.connect_timeout_ms,
        }
    }

    /// Configuration mistakes, one sentence each (empty when usable).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = self.connection().problems("sinks.firehose");
        let name_ok = (1..=64).contains(&self.delivery_stream.len())
            && self
                .delivery_stream
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !name_ok {
            problems.push(format!(
                "sinks.firehose.delivery_stream {:?} is not a stream name (1-64 of a-z A-Z 0-9 _ . -)",
                self.delivery_stream
            ));
        }
        if self.gzip_level > 9 {
            problems.push("sinks.firehose.gzip_level must be 0..=9".into());
        }
        if !(1024..=MAX_RECORD_BYTES).contains(&self.max_record_bytes) {
            problems.push(format!(
                "sinks.firehose.max_record_bytes must be 1024..={MAX_RECORD_BYTES}"
            ));
        }
        if self.concurrency == 0 {
            problems.push("sinks.firehose.concurrency must be > 0".into());
        }
        if self.batch.max_events == 0 || self.batch.max_bytes == 0 {
            problems.push("sinks.firehose.batch limits must be > 0".into());
        }
        problems
    }
}

/// What to tell an operator about a record/destination compression pairing, if anything.
pub fn compression_advice(records: RecordCompression, destination: &str) -> Option<String> {
    match (records, destination) {
        (RecordCompression::Gzip, "GZIP") => Some(
            "gzip records into a GZIP destination are compressed twice (readers must gunzip \
             twice). Either set the S3 destination's compression_format = \"UNCOMPRESSED\" and \
             keep gzip records (cheaper: Firehose bills ingested bytes; objects are concatenated \
             gzip members that gunzip/zcat read as one stream), or set compression = \"none\" \
             here and keep GZIP (~10x the ingested bytes)"
                .into(),
        ),
        (RecordCompression::Gzip, "UNCOMPRESSED") | (RecordCompression::None, "GZIP") => None,
        (RecordCompression::None, "UNCOMPRESSED") => Some(
            "plain records into an UNCOMPRESSED destination: objects are plain NDJSON; gzip \
             records (compression = \"gzip\") would cut ingested bytes ~10x"
                .into(),
        ),
        (RecordCompression::Gzip, other) => Some(format!(
            "gzip records into a {other} destination: S3 objects will hold gzip members \
             compressed again by {other}; UNCOMPRESSED fits gzip records"
        )),
        (RecordCompression::None, _) => None,
    }
}

/// Ships batches with `PutRecordBatch`; see the module docs. Clones share the client.
#[derive(Clone, Debug)]
pub struct FirehoseSink {
    name: String,
    client: Client,
    config: Arc<FirehoseConfig>,
    /// The batch being delivered: its records and which were accepted.
    pending: Option<PendingBatch>,
    metrics: SinkMetrics,
}

/// Progress on one batch, kept across `send` attempts.
#[derive(Clone, Debug)]
struct PendingBatch {
    /// Identity of the batch (first seq, events, bytes).
    key: (Option<u64>, usize, usize),
    records: Vec<PackedRecord>,
    accepted: Vec<bool>,
}

impl FirehoseSink {
    /// Builds the client (region and credentials from the standard chain unless configured).
    /// No request is made; the driver's health check makes the first.
    pub async fn new(config: FirehoseConfig) -> Result<Self, String> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let sdk = config.connection().sdk_config().await;
        Ok(Self {
            name: format!("firehose:{}", config.delivery_stream),
            client: Client::new(&sdk),
            config: Arc::new(config),
            pending: None,
            metrics: SinkMetrics::default(),
        })
    }

    fn gzip_level(&self) -> Option<u32> {
        match self.config.compression {
            RecordCompression::Gzip => Some(self.config.gzip_level),
            RecordCompression::None => None,
        }
    }

    /// One `PutRecordBatch` of the records `call`; marks the accepted ones. Returns the error
    /// codes of refused records, or the call's error.
    async fn put(
        &mut self,
        call: &[usize],
        pending: &mut PendingBatch,
    ) -> Result<BTreeMap<String, u64>, SendError> {
        let mut records = Vec::with_capacity(call.len());
        for &index in call {
            let data = pending.records[index].data.to_vec();
            let record = Record::builder()
                .data(Blob::new(data))
                .build()
                .map_err(SendError::fatal)?;
            records.push(record);
        }
        let started = Instant::now();
        let answer = self
            .client
            .put_record_batch()
            .delivery_stream_name(&self.config.delivery_stream)
            .set_records(Some(records))
            .send()
            .await;
        self.metrics
            .record_request(started.elapsed(), answer.is_ok());
        let output = answer.map_err(|err| classify("PutRecordBatch", &err))?;
        let responses = output.request_responses();
        let mut refused = BTreeMap::new();
        if responses.len() != call.len() {
            // Cannot tell which records landed: all stay pending (may duplicate, never lose).
            tracing::error!(sink = %self.name, sent = call.len(), answers = responses.len(),
                "PutRecordBatch answered for a different number of records; re-sending them all");
            refused.insert("MismatchedResponse".to_owned(), call.len() as u64);
            return Ok(refused);
        }
        for (&index, response) in call.iter().zip(responses) {
            match response.error_code() {
                None => {
                    pending.accepted[index] = true;
                    self.metrics.records_sent += 1;
                    self.metrics.record_bytes_sent += pending.records[index].data.len() as u64;
                }
                Some(code) => {
                    *refused.entry(code.to_owned()).or_default() += 1;
                    self.metrics.records_failed += 1;
                    tracing::debug!(sink = %self.name, record = index, code,
                        message = response.error_message().unwrap_or(""), "record refused");
                }
            }
        }
        let counted: u64 = refused.values().sum();
        if i64::from(output.failed_put_count()) != counted as i64 {
            tracing::warn!(sink = %self.name, failed_put_count = output.failed_put_count(),
                refused = counted, "FailedPutCount disagrees with the per-record error codes; \
                trusting the per-record codes");
        }
        Ok(refused)
    }
}

impl Sink for FirehoseSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn constraints(&self) -> SinkConstraints {
        // The sink packs events itself: it sees each event (plus its newline) and splits the
        // batch into as many records and calls as needed.
        SinkConstraints {
            framing: Framing::Records {
                overhead_per_event: 1,
            },
            ..SinkConstraints::default()
        }
    }

    async fn send(&mut self, batch: &Batch) -> Result<(), SendError> {
        let key = (batch.seqs.first(), batch.events, batch.raw_bytes);
        let mut pending = match self.pending.take() {
            Some(pending) if pending.key == key => pending,
            _ => {
                let packing = pack_events(
                    &batch.records,
                    self.gzip_level(),
                    self.config.max_record_bytes,
                );
                self.metrics.events_truncated += packing.truncated;
                if packing.truncated > 0 {
                    tracing::warn!(sink = %self.name, events = packing.truncated,
                        "events larger than a record were truncated (marker: auditrail_truncated)");
                }
                let accepted = vec![false; packing.records.len()];
                PendingBatch {
                    key,
                    records: packing.records,
                    accepted,
                }
            }
        };
        let todo: Vec<usize> = (0..pending.records.len())
            .filter(|&index| !pending.accepted[index])
            .collect();
        let sizes: Vec<usize> = pending.records.iter().map(|r| r.data.len()).collect();
        let mut refused: BTreeMap<String, u64> = BTreeMap::new();
        for call in plan_calls(&todo, &sizes) {
            match self.put(&call, &mut pending).await {
                Ok(codes) => {
                    for (code, count) in codes {
                        *refused.entry(code).or_default() += count;
                    }
                }
                Err(err) => {
                    self.pending = Some(pending);
                    return Err(err);
                }
            }
        }
        if refused.is_empty() {
            return Ok(());
        }
        let failed: u64 = refused.values().sum();
        let total = pending.records.len();
        self.pending = Some(pending);
        Err(SendError::Retriable(format!(
            "Firehose refused {failed} of {total} records ({refused:?}); only those are sent again"
        )))
    }

    async fn healthcheck(&mut self) -> Result<(), SendError> {
        let started = Instant::now();
        let answer = self
            .client
            .describe_delivery_stream()
            .delivery_stream_name(&self.config.delivery_stream)
            .send()
            .await;
        self.metrics
            .record_request(started.elapsed(), answer.is_ok());
        let output = answer.map_err(|err| classify("DescribeDeliveryStream", &err))?;
        let Some(description) = output.delivery_stream_description() else {
            return Err(SendError::Retriable(
                "DescribeDeliveryStream returned no description".into(),
            ));
        };
        let status = description.delivery_stream_status().as_str().to_owned();
        let destination = description.destinations().iter().find_map(|destination| {
            destination
                .extended_s3_destination_description()
                .map(|d| d.compression_format())
                .or_else(|| {
                    destination
                        .s3_destination_description()
                        .map(|d| d.compression_format())
                })
        });
        let destination = destination.map_or("none (not S3)", CompressionFormat::as_str);
        let records = self.config.compression;
        match compression_advice(records, destination) {
            Some(advice) => tracing::warn!(sink = %self.name, status, destination_compression =
                destination, record_compression = ?records, "{advice}"),
            None => tracing::info!(sink = %self.name, status, destination_compression =
                destination, record_compression = ?records, "Firehose delivery stream found"),
        }
        if status == "ACTIVE" {
            Ok(())
        } else {
            Err(SendError::Retriable(format!(
                "delivery stream {} is {status}, not ACTIVE",
                self.config.delivery_stream
            )))
        }
    }

    fn take_metrics(&mut self) -> SinkMetrics {
        std::mem::take(&mut self.metrics)
    }
}
