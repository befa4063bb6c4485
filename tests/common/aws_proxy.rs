//! A strict, fault-injecting HTTP/1.1 proxy in front of moto, for the AWS sink tests.
//!
//! Enters: the daemon's AWS requests (`PutRecordBatch`, `PutLogEvents`, ...) on 127.0.0.1.
//! Leaves: the same requests forwarded to moto (minus the records/events it refuses), answers
//! rewritten per the test's [`Plan`] — partial failures with per-record `ErrorCode`, throttling,
//! `ServiceUnavailableException`, 5xx, dropped connections, `rejectedLogEventsInfo`,
//! `ResourceNotFoundException` — and an [`Observed`] log of every call: what it carried, which
//! fault it got, and whether its answer reached the client. Guarantees: every request is checked
//! against the documented AWS limits (moto checks almost none); each breach is recorded in
//! `Observed::violations` (the tests assert it stays empty): a strict AWS.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};

use crate::aws_checks::{inspect, rewrite_request, rewrite_response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to one call.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// PutRecordBatch: records whose index `% every == 0` are refused (not forwarded) with
    /// `ErrorCode: ServiceUnavailableException`; the rest go to moto.
    Partial { every: usize },
    /// Answered with this status and error type, not forwarded.
    Error { status: u16, code: &'static str },
    /// Connection closed before forwarding: nothing applied, no answer.
    DropBeforeForward,
    /// Forwarded (applied by moto), then the connection is closed without an answer.
    DropAfterForward,
    /// PutLogEvents: the first `too_old` and last `too_new` events are not forwarded and are
    /// reported in `rejectedLogEventsInfo`.
    Reject { too_old: usize, too_new: usize },
}

/// Faults by (operation, 1-based call number of that operation).
#[derive(Clone, Debug, Default)]
pub struct Plan(HashMap<(String, usize), Fault>);

impl Plan {
    pub fn on(mut self, op: &str, call: usize, fault: Fault) -> Self {
        self.0.insert((op.to_owned(), call), fault);
        self
    }
}

/// How a call ended, seen from the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The answer was written to the client.
    Answered,
    /// Nothing was forwarded and no success answered (error faults, drop before forward).
    NotForwarded,
    /// Forwarded but the client never got the answer: moto may have applied it.
    Unconfirmed,
}

/// A Firehose record or a CloudWatch event in a call.
#[derive(Clone, Debug)]
pub struct Item {
    /// Hash of the record data / message.
    pub hash: u64,
    /// Event ids inside.
    pub ids: Vec<String>,
    /// Audit serials of the events inside.
    pub serials: Vec<u64>,
    /// Refused or rejected by the proxy (never forwarded).
    pub refused: bool,
}

#[derive(Clone, Debug)]
pub struct Call {
    pub op: String,
    pub number: usize,
    pub fault: Option<Fault>,
    pub items: Vec<Item>,
    pub outcome: Outcome,
    /// HTTP status answered (0 when nothing was answered).
    pub status: u16,
}

impl Call {
    /// Answered with success: forwarded items were accepted, refused ones reported as such.
    pub fn succeeded(&self) -> bool {
        self.outcome == Outcome::Answered && self.status == 200
    }
}

/// Everything the proxy saw.
#[derive(Debug, Default)]
pub struct Observed {
    pub calls: Vec<Call>,
    pub violations: Vec<String>,
    counts: HashMap<String, usize>,
}

impl Observed {
    pub fn calls_of(&self, op: &str) -> impl Iterator<Item = &Call> {
        let op = op.to_owned();
        self.calls.iter().filter(move |c| c.op == op)
    }
}

pub struct AwsProxy {
    pub port: u16,
    observed: Arc<Mutex<Observed>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AwsProxy {
    /// Listens on a free 127.0.0.1 port and forwards to moto on `upstream_port`.
    pub fn start(upstream_port: u16, plan: Plan) -> AwsProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let observed = Arc::new(Mutex::new(Observed::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::clone(&observed);
        let plan = Arc::new(plan);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("tokio listener");
                let accept = async {
                    loop {
                        let Ok((client, _)) = listener.accept().await else {
                            continue;
                        };
                        let (shared, plan) = (Arc::clone(&shared), Arc::clone(&plan));
                        tokio::spawn(serve(client, upstream_port, shared, plan));
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stopped => {}
                }
            });
        });
        AwsProxy {
            port,
            observed,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn observed(&self) -> MutexGuard<'_, Observed> {
        self.observed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request (head + Content-Length body); `None` at a clean EOF.
async fn read_request(client: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(head)) = parsed.parse(buf) {
            let headers: Vec<(String, String)> = parsed
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            let (method, path) = (parsed.method?.to_owned(), parsed.path?.to_owned());
            let length: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < head + length {
                if read_more(client, buf).await == 0 {
                    return None;
                }
            }
            let body = buf[head..head + length].to_vec();
            buf.drain(..head + length);
            return Some(Request {
                method,
                path,
                headers,
                body,
            });
        }
        if read_more(client, buf).await == 0 {
            return None;
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> usize {
    let mut chunk = [0u8; 64 * 1024];
    match stream.read(&mut chunk).await {
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            n
        }
        Err(_) => 0,
    }
}

/// Sends `request` (with `body`) to moto and returns (status, content-type, body).
async fn forward(
    port: u16,
    request: &Request,
    body: &[u8],
) -> std::io::Result<(u16, String, Vec<u8>)> {
    let mut upstream = TcpStream::connect(("127.0.0.1", port)).await?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for (name, value) in &request.headers {
        let skip = [
            "content-length",
            "connection",
            "transfer-encoding",
            "expect",
        ];
        if !skip.iter().any(|s| name.eq_ignore_ascii_case(s)) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    upstream.write_all(head.as_bytes()).await?;
    upstream.write_all(body).await?;
    let mut raw = Vec::new();
    upstream.read_to_end(&mut raw).await?;
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(head_len)) = parsed.parse(&raw) else {
        return Err(std::io::Error::other("bad upstream response"));
    };
    let status = parsed.code.unwrap_or(502);
    let find = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    let content_type = find("content-type").unwrap_or_else(|| "application/x-amz-json-1.1".into());
    let mut body = raw[head_len..].to_vec();
    if let Some(length) = find("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        body.truncate(length);
    }
    Ok((status, content_type, body))
}

async fn answer(client: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) -> bool {
    let reason = if status < 400 { "OK" } else { "Error" };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         x-amzn-RequestId: proxy\r\nConnection: keep-alive\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes()).await.is_ok() && client.write_all(body).await.is_ok()
}

/// Serves one client connection: requests in sequence until it closes.
async fn serve(
    mut client: TcpStream,
    upstream: u16,
    shared: Arc<Mutex<Observed>>,
    plan: Arc<Plan>,
) {
    let mut buf = Vec::new();
    while let Some(request) = read_request(&mut client, &mut buf).await {
        let op = request
            .header("x-amz-target")
            .and_then(|t| t.split('.').nth(1))
            .unwrap_or("other")
            .to_owned();
        let number = {
            let mut observed = shared.lock().unwrap_or_else(|p| p.into_inner());
            let count = observed.counts.entry(op.clone()).or_default();
            *count += 1;
            *count
        };
        let fault = plan.0.get(&(op.clone(), number)).cloned();
        let json: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let (mut items, violations) = inspect(&op, &json);
        // Which items the proxy refuses (not forwarded).
        let n = items.len();
        match &fault {
            Some(Fault::Partial { every }) => {
                for (i, item) in items.iter_mut().enumerate() {
                    item.refused = i % every.max(&1) == 0;
                }
            }
            Some(Fault::Reject { too_old, too_new }) => {
                for (i, item) in items.iter_mut().enumerate() {
                    item.refused = i < *too_old || i >= n.saturating_sub(*too_new);
                }
            }
            _ => {}
        }
        let record = |outcome: Outcome, status: u16, items: Vec<Item>| {
            let mut observed = shared.lock().unwrap_or_else(|p| p.into_inner());
            observed
                .violations
                .extend(violations.iter().map(|v| format!("{op} #{number}: {v}")));
            if op == "DescribeLogStreams" {
                observed.violations.push("DescribeLogStreams called".into());
            }
            if op != "other" {
                observed.calls.push(Call {
                    op: op.clone(),
                    number,
                    fault: fault.clone(),
                    items,
                    outcome,
                    status,
                });
            }
        };
        match &fault {
            Some(Fault::Error { status, code }) => {
                record(Outcome::NotForwarded, *status, items);
                let body = json!({"__type": code, "message": "injected by the test proxy"});
                let body = serde_json::to_vec(&body).unwrap_or_default();
                if !answer(&mut client, *status, "application/x-amz-json-1.1", &body).await {
                    return;
                }
                continue;
            }
            Some(Fault::DropBeforeForward) => {
                record(Outcome::NotForwarded, 0, items);
                return;
            }
            _ => {}
        }
        let refused: Vec<bool> = items.iter().map(|i| i.refused).collect();
        let body = rewrite_request(&op, &json, &refused).unwrap_or_else(|| request.body.clone());
        let all_refused = !refused.is_empty() && refused.iter().all(|&r| r);
        let upstream_answer = if all_refused {
            Ok((200, "application/x-amz-json-1.1".to_owned(), b"{}".to_vec()))
        } else {
            // Wait for moto, watching for the client giving up meanwhile.
            let forwarded = forward(upstream, &request, &body);
            tokio::pin!(forwarded);
            let mut probe = [0u8; 1024];
            loop {
                tokio::select! {
                    done = &mut forwarded => break done,
                    read = client.read(&mut probe) => match read {
                        Ok(0) | Err(_) => { record(Outcome::Unconfirmed, 0, items); return; }
                        Ok(k) => buf.extend_from_slice(&probe[..k]),
                    },
                }
            }
        };
        let Ok((status, content_type, moto_body)) = upstream_answer else {
            record(Outcome::NotForwarded, 0, items);
            return; // moto unreachable: the client sees a dropped connection
        };
        if fault == Some(Fault::DropAfterForward) {
            record(Outcome::Unconfirmed, 0, items);
            return;
        }
        let reply = if status == 200 {
            rewrite_response(&fault, &refused, &moto_body).unwrap_or(moto_body)
        } else {
            moto_body
        };
        let delivered = answer(&mut client, status, &content_type, &reply).await;
        let outcome = if delivered {
            Outcome::Answered
        } else {
            Outcome::Unconfirmed
        };
        record(outcome, status, items);
        if !delivered {
            return;
        }
    }
}
