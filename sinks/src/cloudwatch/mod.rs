//! [`CloudWatchSink`]: ships batches to CloudWatch Logs with `PutLogEvents`.
//!
//! Enters: [`Batch`]es (record framing: ≤ 10,000 events, ≤ 1,048,576 bytes counting 26 per
//! event, ≤ 24 h between the earliest and latest event — declared as the sink's constraints, so
//! the shared batcher enforces them). Leaves: one log event per auditrail event, one
//! `PutLogEvents` call per (log group, log stream) of the batch, sorted by timestamp (see
//! `prepare.rs`). Guarantees:
//! - No sequence tokens and no `DescribeLogStreams` (both obsolete; the latter is throttled at a
//!   low account quota). On `ResourceNotFoundException` the group and stream are created (when
//!   `create_missing`, with the optional KMS key and retention) and the call is sent again.
//! - Events CloudWatch would reject — outside `[now − 14 d, now + 2 h)` or older than the
//!   group's retention — are filtered before sending; `rejectedLogEventsInfo` is read on every
//!   response. Both are counted per reason (`too_old`, `too_new`, `expired`) and logged. They are
//!   acknowledged (no retry can ever make CloudWatch take them) but never counted as sent.
//! - Events larger than 1 MiB − 26 bytes are truncated with a marker field
//!   (`auditrail_truncated`) and counted, not dropped.
//! - `send` returns `Ok` only when every stream's call was answered with success; streams
//!   already accepted are not sent again when another stream's call failed.

mod prepare;
#[cfg(test)]
mod tests;

pub use prepare::{
    NameValues, EVENT_OVERHEAD_BYTES, MAX_AGE_MS, MAX_BATCH_BYTES, MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES, MAX_FUTURE_MS, PLACEHOLDERS,
};

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_cloudwatchlogs::Client;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::aws::{
    classify, default_connect_timeout_ms, default_request_timeout_ms, error_code, AwsBatchConfig,
    AwsConnection,
};
use crate::{Batch, Framing, SendError, Sink, SinkConstraints, SinkMetrics};
use prepare::{prepare, rejected_ranges, unknown_placeholders, StreamBatch};

/// Retention periods CloudWatch accepts, in days.
pub const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Configuration of a [`CloudWatchSink`] (`[sinks.cloudwatch]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchConfig {
    /// Log group name template (default `"/auditrail/{source}"`); placeholders
    /// `{instance_id}`, `{hostname}`, `{source}`.
    #[serde(default = "default_log_group")]
    pub log_group: String,
    /// Log stream name template (default `"{hostname}"`).
    #[serde(default = "default_log_stream")]
    pub log_stream: String,
    /// Value of `{instance_id}` (until host identity comes from IMDS); required when a template
    /// uses it.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Create a missing group/stream on `ResourceNotFoundException` (default true); when false
    /// a missing stream is a fatal error, retried until an operator creates it.
    #[serde(default = "default_true")]
    pub create_missing: bool,
    /// Retention set on groups this sink creates (one of [`RETENTION_DAYS`]); events older than
    /// it are filtered as `expired`.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// KMS key ARN for groups this sink creates.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Batches in flight at once (default 4; parallel puts to one stream are allowed).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Refuse to start when the health check fails (default false).
    #[serde(default)]
    pub require_healthy: bool,
    /// Region; default: the standard chain.
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint override (VPC endpoint, tests).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Longest one request attempt may take, milliseconds (default 30,000).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Longest a connect may take, milliseconds (default 5,000).
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Batching (default 10,000 events, 1 MiB, 2 s; CloudWatch's limits always apply).
    #[serde(default = "default_batch")]
    pub batch: AwsBatchConfig,
}

fn default_log_group() -> String {
    "/auditrail/{source}".into()
}
fn default_log_stream() -> String {
    "{hostname}".into()
}
fn default_true() -> bool {
    true
}
fn default_concurrency() -> usize {
    4
}
fn default_batch() -> AwsBatchConfig {
    AwsBatchConfig {
        max_events: MAX_BATCH_EVENTS,
        max_bytes: MAX_BATCH_BYTES,
        max_age_ms: 2_000,
    }
}

impl CloudWatchConfig {
    /// A configuration with every default.
    pub fn new() -> Self {
        Self {
            log_group: default_log_group(),
            log_stream: default_log_stream(),
            instance_id: None,
            create_missing: true,
            retention_days: None,
            kms_key_id: None,
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
        let mut problems = self.connection().problems("sinks.cloudwatch");
        for (key, template) in [
            ("log_group", &self.log_group),
            ("log_stream", &self.log_stream),
        ] {
            if template.is_empty() {
                problems.push(format!("sinks.cloudwatch.{key} is empty"));
            }
            for word in unknown_placeholders(template) {
                problems.push(format!(
                    "sinks.cloudwatch.{key}: unknown placeholder {word} (known: {})",
                    PLACEHOLDERS.join(", ")
                ));
            }
            if template.contains("{instance_id}") && self.instance_id.is_none() {
                problems.push(format!(
                    "sinks.cloudwatch.{key} uses {{instance_id}}: set sinks.cloudwatch.instance_id"
                ));
            }
        }
        if let Some(days) = self.retention_days {
            if !RETENTION_DAYS.contains(&days) {
                problems.push(format!(
                    "sinks.cloudwatch.retention_days = {days} is not one of {RETENTION_DAYS:?}"
                ));
            }
        }
        if self.concurrency == 0 {
            problems.push("sinks.cloudwatch.concurrency must be > 0".into());
        }
        if self.batch.max_events == 0 || self.batch.max_bytes == 0 {
            problems.push("sinks.cloudwatch.batch limits must be > 0".into());
        }
        problems
    }
}

impl Default for CloudWatchConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Ships batches with `PutLogEvents`; see the module docs. Clones share the client.
#[derive(Clone, Debug)]
pub struct CloudWatchSink {
    name: String,
    client: Client,
    config: Arc<CloudWatchConfig>,
    values: Arc<NameValues>,
    /// The batch being delivered: its stream batches and which were accepted.
    pending: Option<PendingBatch>,
    metrics: SinkMetrics,
}

#[derive(Clone, Debug)]
struct PendingBatch {
    key: (Option<u64>, usize, usize),
    streams: Vec<StreamBatch>,
    done: Vec<bool>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl CloudWatchSink {
    /// Builds the client; `hostname` fills `{hostname}`. No request is made.
    pub async fn new(config: CloudWatchConfig, hostname: &str) -> Result<Self, String> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let sdk = config.connection().sdk_config().await;
        let values = NameValues {
            instance_id: config.instance_id.clone().unwrap_or_default(),
            hostname: hostname.to_owned(),
        };
        Ok(Self {
            name: format!("cloudwatch:{}", config.log_group),
            client: Client::new(&sdk),
            config: Arc::new(config),
            values: Arc::new(values),
            pending: None,
            metrics: SinkMetrics::default(),
        })
    }

    fn timed(&mut self, started: Instant, ok: bool) {
        self.metrics.record_request(started.elapsed(), ok);
    }

    /// One `PutLogEvents` call, creating the group/stream once if missing.
    async fn put_stream(&mut self, stream: &StreamBatch) -> Result<(), SendError> {
        let mut events = Vec::with_capacity(stream.events.len());
        for event in &stream.events {
            let built = InputLogEvent::builder()
                .timestamp(event.timestamp_ms)
                .message(event.message.clone())
                .build()
                .map_err(SendError::fatal)?;
            events.push(built);
        }
        let mut created = false;
        loop {
            let started = Instant::now();
            let answer = self
                .client
                .put_log_events()
                .log_group_name(&stream.log_group)
                .log_stream_name(&stream.log_stream)
                .set_log_events(Some(events.clone()))
                .send()
                .await;
            self.timed(started, answer.is_ok());
            let output = match answer {
                Ok(output) => output,
                Err(err) if error_code(&err) == Some("ResourceNotFoundException") && !created => {
                    if !self.config.create_missing {
                        return Err(classify("PutLogEvents (create_missing = false)", &err));
                    }
                    self.create(&stream.log_group, &stream.log_stream).await?;
                    created = true;
                    continue;
                }
                Err(err) => return Err(classify("PutLogEvents", &err)),
            };
            let sent = stream.events.len();
            let mut rejected = 0;
            let mut rejected_bytes = 0u64;
            if let Some(info) = output.rejected_log_events_info() {
                for (reason, range) in rejected_ranges(
                    sent,
                    info.too_new_log_event_start_index(),
                    info.too_old_log_event_end_index(),
                    info.expired_log_event_end_index(),
                ) {
                    let events = &stream.events[range.clone()];
                    rejected += events.len();
                    rejected_bytes += events.iter().map(|e| e.cost() as u64).sum::<u64>();
                    self.metrics.reject(reason, events.len() as u64);
                    tracing::warn!(sink = %self.name, reason, events = events.len(),
                        first_seq = events.first().map(|e| e.seq),
                        first_time_ms = events.first().map(|e| e.timestamp_ms),
                        last_time_ms = events.last().map(|e| e.timestamp_ms),
                        log_stream = %stream.log_stream,
                        "CloudWatch rejected events (counted as rejected, not sent)");
                    for event in events {
                        tracing::debug!(sink = %self.name, reason, seq = event.seq,
                            time_ms = event.timestamp_ms, "rejected event");
                    }
                }
            }
            let all_bytes: u64 = stream.events.iter().map(|e| e.cost() as u64).sum();
            self.metrics.records_sent += sent.saturating_sub(rejected) as u64;
            self.metrics.record_bytes_sent += all_bytes.saturating_sub(rejected_bytes);
            return Ok(());
        }
    }

    /// Creates the log group (with KMS key and retention) and the stream; "already exists" is
    /// success.
    async fn create(&mut self, group: &str, stream: &str) -> Result<(), SendError> {
        let started = Instant::now();
        let answer = self
            .client
            .create_log_group()
            .log_group_name(group)
            .set_kms_key_id(self.config.kms_key_id.clone())
            .send()
            .await;
        self.timed(started, answer.is_ok());
        let group_created = match answer {
            Ok(_) => true,
            Err(err) if error_code(&err) == Some("ResourceAlreadyExistsException") => false,
            Err(err) => return Err(classify("CreateLogGroup", &err)),
        };
        if group_created {
            tracing::info!(sink = %self.name, log_group = group, "log group created");
            if let Some(days) = self.config.retention_days {
                let started = Instant::now();
                let answer = self
                    .client
                    .put_retention_policy()
                    .log_group_name(group)
                    .retention_in_days(i32::try_from(days).unwrap_or(i32::MAX))
                    .send()
                    .await;
                self.timed(started, answer.is_ok());
                answer.map_err(|err| classify("PutRetentionPolicy", &err))?;
            }
        }
        let started = Instant::now();
        let answer = self
            .client
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await;
        self.timed(started, answer.is_ok());
        match answer {
            Ok(_) => {
                tracing::info!(sink = %self.name, log_group = group, log_stream = stream,
                    "log stream created");
                Ok(())
            }
            Err(err) if error_code(&err) == Some("ResourceAlreadyExistsException") => Ok(()),
            Err(err) => Err(classify("CreateLogStream", &err)),
        }
    }
}

impl Sink for CloudWatchSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn constraints(&self) -> SinkConstraints {
        SinkConstraints {
            max_events: Some(MAX_BATCH_EVENTS),
            max_bytes: Some(MAX_BATCH_BYTES),
            max_time_span: Some(Duration::from_secs(24 * 3600)),
            framing: Framing::Records {
                overhead_per_event: EVENT_OVERHEAD_BYTES,
            },
        }
    }

    async fn send(&mut self, batch: &Batch) -> Result<(), SendError> {
        let key = (batch.seqs.first(), batch.events, batch.raw_bytes);
        let pending = match self.pending.take() {
            Some(pending) if pending.key == key => pending,
            _ => {
                let names = (
                    self.config.log_group.as_str(),
                    self.config.log_stream.as_str(),
                );
                let prepared = prepare(
                    &batch.records,
                    now_ms(),
                    self.config.retention_days,
                    names,
                    &self.values,
                );
                self.metrics.events_truncated += prepared.truncated;
                if prepared.truncated > 0 {
                    tracing::warn!(sink = %self.name, events = prepared.truncated,
                        "events over 1 MiB - 26 bytes truncated (marker: auditrail_truncated)");
                }
                for (reason, events) in &prepared.filtered {
                    self.metrics.reject(reason, events.len() as u64);
                    tracing::warn!(sink = %self.name, reason, events = events.len(),
                        first_seq = events.first().map(|e| e.0),
                        first_time_ms = events.first().map(|e| e.1),
                        "events CloudWatch would reject were filtered (counted as rejected, \
                         not sent)");
                }
                let done = vec![false; prepared.streams.len()];
                PendingBatch {
                    key,
                    streams: prepared.streams,
                    done,
                }
            }
        };
        let mut pending = pending;
        for index in 0..pending.streams.len() {
            if pending.done[index] || pending.streams[index].events.is_empty() {
                continue;
            }
            let stream = pending.streams[index].clone();
            if let Err(err) = self.put_stream(&stream).await {
                self.pending = Some(pending);
                return Err(err);
            }
            pending.done[index] = true;
        }
        Ok(())
    }

    async fn healthcheck(&mut self) -> Result<(), SendError> {
        // The group name up to its first per-event placeholder: a prefix to look for.
        let template = &self.config.log_group;
        let fixed = template.split("{source}").next().unwrap_or_default();
        let prefix = prepare::render(fixed, &self.values, "", true);
        let exact = !template.contains("{source}");
        let prefix = prefix.trim_end_matches('_').to_owned();
        let started = Instant::now();
        let answer = self
            .client
            .describe_log_groups()
            .set_log_group_name_prefix((!prefix.is_empty()).then(|| prefix.clone()))
            .limit(50)
            .send()
            .await;
        self.timed(started, answer.is_ok());
        let output = answer.map_err(|err| classify("DescribeLogGroups", &err))?;
        let found = output
            .log_groups()
            .iter()
            .filter_map(|group| group.log_group_name())
            .filter(|name| !exact || *name == prefix)
            .count();
        if found > 0 || self.config.create_missing {
            tracing::info!(sink = %self.name, prefix, groups_found = found,
                create_missing = self.config.create_missing, "CloudWatch Logs reachable");
            Ok(())
        } else {
            Err(SendError::Fatal(format!(
                "no log group matches {prefix:?} and create_missing = false"
            )))
        }
    }

    fn take_metrics(&mut self) -> SinkMetrics {
        std::mem::take(&mut self.metrics)
    }
}
