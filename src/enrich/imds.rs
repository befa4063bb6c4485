//! Host identity from the EC2 instance metadata service, version 2 (IMDSv2).
//!
//! In: `[enrich.imds]` (endpoint, timeout). Out: instance id, region and account id, read once
//! at start-up from `/latest/dynamic/instance-identity/document` with a session token from
//! `PUT /latest/api/token`, and kept for the life of the process. The socket's IP TTL is 1 (the
//! "hop limit 1" of IMDSv2: a request cannot be routed past the first hop), every step shares one
//! short deadline, and a response is read to at most 64 KiB. Plain HTTP/1.1 over a
//! `tokio::net::TcpStream` (the service speaks nothing else); no retries — a host without IMDS
//! costs one timeout at start-up and then ships events without the identity.

use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `[enrich.imds]` in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImdsSettings {
    /// Ask IMDS for the host identity at start-up (default `false`).
    pub enabled: bool,
    /// `http://host[:port]` (default `http://169.254.169.254`).
    pub endpoint: String,
    /// Deadline for the whole exchange (token and document), default 1000 ms.
    pub timeout_ms: u64,
}

impl Default for ImdsSettings {
    fn default() -> Self {
        ImdsSettings {
            enabled: false,
            endpoint: "http://169.254.169.254".into(),
            timeout_ms: 1000,
        }
    }
}

/// What IMDS says about this instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct InstanceIdentity {
    #[serde(rename = "instanceId")]
    pub instance_id: Option<String>,
    pub region: Option<String>,
    #[serde(rename = "accountId")]
    pub account_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImdsError {
    #[error("IMDS endpoint {0:?} is not http://host[:port]")]
    Endpoint(String),
    #[error("IMDS did not answer within {0} ms")]
    Timeout(u64),
    #[error("IMDS: {0}")]
    Io(#[from] std::io::Error),
    #[error("IMDS {what}: HTTP {status}")]
    Status { what: &'static str, status: u16 },
    #[error("IMDS {0}: malformed HTTP response")]
    Malformed(&'static str),
    #[error("IMDS identity document: {0}")]
    Document(#[from] serde_json::Error),
}

/// Token lifetime asked for; the token is used once, right away.
const TOKEN_TTL_SECS: u32 = 60;
const MAX_RESPONSE: usize = 64 * 1024;

/// Fetches the instance identity (token, then document) within `settings.timeout_ms`.
pub async fn fetch_identity(settings: &ImdsSettings) -> Result<InstanceIdentity, ImdsError> {
    let (host, port) = parse_endpoint(&settings.endpoint)?;
    let deadline = Duration::from_millis(settings.timeout_ms);
    let work = async {
        let token_request = format!(
            "PUT /latest/api/token HTTP/1.1\r\nHost: {host}\r\nX-aws-ec2-metadata-token-ttl-seconds: {TOKEN_TTL_SECS}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let token = exchange(&host, port, &token_request, "token").await?;
        let token = String::from_utf8_lossy(&token).trim().to_string();
        if token.is_empty() || token.contains(['\r', '\n']) {
            return Err(ImdsError::Malformed("token"));
        }
        let doc_request = format!(
            "GET /latest/dynamic/instance-identity/document HTTP/1.1\r\nHost: {host}\r\nX-aws-ec2-metadata-token: {token}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        );
        let body = exchange(&host, port, &doc_request, "identity document").await?;
        Ok(serde_json::from_slice::<InstanceIdentity>(&body)?)
    };
    tokio::time::timeout(deadline, work)
        .await
        .map_err(|_| ImdsError::Timeout(settings.timeout_ms))?
}

fn parse_endpoint(endpoint: &str) -> Result<(String, u16), ImdsError> {
    let bad = || ImdsError::Endpoint(endpoint.to_string());
    let rest = endpoint.strip_prefix("http://").ok_or_else(bad)?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(bad());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| bad())?,
        None => 80,
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// One request on a fresh connection; the body of a 200 answer.
async fn exchange(
    host: &str,
    port: u16,
    request: &str,
    what: &'static str,
) -> Result<Vec<u8>, ImdsError> {
    let mut stream = TcpStream::connect((host, port)).await?;
    // Hop limit 1 (IPv4 TTL). An IPv6 endpoint keeps the system default.
    let _ = stream.set_ttl(1);
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&chunk[..n]);
        if response.len() > MAX_RESPONSE {
            return Err(ImdsError::Malformed(what));
        }
        if complete_body(&response).is_some() {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut headers);
    let header_len = match parsed.parse(&response) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return Err(ImdsError::Malformed(what)),
    };
    let status = parsed.code.unwrap_or(0);
    if status != 200 {
        return Err(ImdsError::Status { what, status });
    }
    let declared = content_length(parsed.headers);
    let mut body = response.split_off(header_len);
    if let Some(len) = declared {
        if body.len() < len {
            return Err(ImdsError::Malformed(what));
        }
        body.truncate(len);
    }
    Ok(body)
}

fn content_length(headers: &[httparse::Header<'_>]) -> Option<usize> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .and_then(|v| v.trim().parse().ok())
}

/// `Some(())` once `response` holds its headers and a `Content-Length` body (so a server that
/// keeps the connection open is not waited on).
fn complete_body(response: &[u8]) -> Option<()> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(n) = parsed.parse(response).ok()? else {
        return None;
    };
    let len = content_length(parsed.headers)?;
    (response.len() >= n + len).then_some(())
}

#[cfg(test)]
mod tests;
