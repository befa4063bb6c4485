//! What the AWS sinks share: connection settings ([`AwsConnection`]), the SDK configuration built
//! from them, error classification, and oversized-event truncation.
//!
//! Enters: a sink's region / endpoint / timeout settings; SDK errors. Leaves: an `SdkConfig`
//! whose credentials and region come from the standard AWS chain (environment, profile, web
//! identity, ECS, EC2 instance role via IMDSv2) unless overridden, with rustls (*ring*) TLS, the
//! SDK's own retries **off** (the shared [`RetryPolicy`](crate::RetryPolicy) is the one retry
//! mechanism, so every attempt is counted and backed off the same way) and bounded timeouts;
//! and [`SendError`]s. Guarantees: a request never hangs longer than its timeouts; throttling,
//! 5xx and transport errors are `Retriable`, errors an operator must fix are `Fatal`.

mod truncate;

pub(crate) use truncate::truncate_event;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_firehose::config::http::HttpResponse;
use aws_sdk_firehose::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use serde::{Deserialize, Serialize};

use crate::SendError;

/// How an AWS sink reaches its service (built from the sink's config keys of the same names).
/// Region and credentials come from the standard chain unless set here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsConnection {
    /// Region, e.g. `"eu-west-1"`; default: `AWS_REGION`, the profile, then IMDS.
    pub region: Option<String>,
    /// Endpoint override (VPC interface endpoints, tests), e.g. `"http://127.0.0.1:4566"`.
    pub endpoint_url: Option<String>,
    /// Longest one request attempt may take, milliseconds (default 30,000).
    pub request_timeout_ms: u64,
    /// Longest a TCP/TLS connect may take, milliseconds (default 5,000).
    pub connect_timeout_ms: u64,
}

impl Default for AwsConnection {
    fn default() -> Self {
        Self {
            region: None,
            endpoint_url: None,
            request_timeout_ms: 30_000,
            connect_timeout_ms: 5_000,
        }
    }
}

impl AwsConnection {
    /// Configuration mistakes, each as one sentence naming the key under `section`.
    pub fn problems(&self, section: &str) -> Vec<String> {
        let mut problems = Vec::new();
        if self.request_timeout_ms == 0 || self.connect_timeout_ms == 0 {
            problems.push(format!(
                "{section}: request_timeout_ms and connect_timeout_ms must be > 0"
            ));
        }
        if let Some(url) = &self.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push(format!(
                    "{section}.endpoint_url must start with http:// or https:// (got {url:?})"
                ));
            }
        }
        if self.region.as_deref().is_some_and(str::is_empty) {
            problems.push(format!("{section}.region is empty"));
        }
        problems
    }

    /// The SDK configuration for one sink (credentials are resolved lazily, on first request).
    pub(crate) async fn sdk_config(&self) -> SdkConfig {
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_millis(self.connect_timeout_ms))
            .operation_attempt_timeout(Duration::from_millis(self.request_timeout_ms))
            .operation_timeout(Duration::from_millis(self.request_timeout_ms))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts);
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url.clone());
        }
        loader.load().await
    }
}

/// Batch limits of an AWS sink (`[sinks.NAME.batch]`); the sink's hard limits still apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsBatchConfig {
    /// Most events per batch.
    pub max_events: usize,
    /// Most uncompressed bytes per batch.
    pub max_bytes: usize,
    /// Longest a batch waits for more events, milliseconds.
    pub max_age_ms: u64,
}

impl AwsBatchConfig {
    /// As [`BatchLimits`](crate::BatchLimits).
    pub fn limits(&self) -> crate::BatchLimits {
        crate::BatchLimits {
            max_events: self.max_events,
            max_bytes: self.max_bytes,
            max_age: std::time::Duration::from_millis(self.max_age_ms),
        }
    }
}

pub(crate) fn default_request_timeout_ms() -> u64 {
    30_000
}
pub(crate) fn default_connect_timeout_ms() -> u64 {
    5_000
}
/// Error codes worth retrying as is (throttling, overload, server faults, credentials that a
/// refresh fixes).
const RETRIABLE_CODES: &[&str] = &[
    "ServiceUnavailableException",
    "ServiceUnavailable",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "ProvisionedThroughputExceededException",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceErrorException",
    "ExpiredTokenException",
    "ExpiredToken",
];

/// The error code of a service error, if the error is one.
pub(crate) fn error_code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// Classifies an SDK error: transport failures, timeouts, unparsable responses, throttling and
/// 5xx are `Retriable`; other service errors (permissions, a missing stream, invalid input) and
/// requests that could not be built are `Fatal`.
pub(crate) fn classify<E>(what: &str, err: &SdkError<E, HttpResponse>) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = format!("{what}: {}", DisplayErrorContext(err));
    match err {
        SdkError::ConstructionFailure(_) => SendError::Fatal(message),
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let retriable = status >= 500
                || status == 429
                || service
                    .err()
                    .code()
                    .is_some_and(|code| RETRIABLE_CODES.contains(&code));
            if retriable {
                SendError::Retriable(message)
            } else {
                SendError::Fatal(message)
            }
        }
        // Timeouts, dispatch (connect, TLS, reset) and response (truncated, unparsable) errors.
        _ => SendError::Retriable(message),
    }
}
