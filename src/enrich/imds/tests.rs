//! Against a tiny local server that behaves like IMDSv2 (token required), on 127.0.0.1 only.

use super::*;
use tokio::net::TcpListener;

const TOKEN: &str = "AQAEAFakeToken==";
const DOCUMENT: &str = r#"{"accountId":"123456789012","architecture":"x86_64","availabilityZone":"eu-west-1a","imageId":"ami-0abc","instanceId":"i-0123456789abcdef0","instanceType":"t3.micro","region":"eu-west-1","version":"2017-09-30"}"#;

/// Serves `connections` requests like IMDSv2; returns the requests it saw.
async fn fake_imds(connections: usize) -> (String, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        for _ in 0..connections {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let mut len = 0;
            while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                let n = sock.read(&mut buf[len..]).await.unwrap();
                if n == 0 {
                    break;
                }
                len += n;
            }
            let request = String::from_utf8_lossy(&buf[..len]).to_string();
            let lower = request.to_ascii_lowercase();
            let (status, body) = if request.starts_with("PUT /latest/api/token ")
                && lower.contains("x-aws-ec2-metadata-token-ttl-seconds: ")
            {
                ("200 OK", TOKEN.to_string())
            } else if request.starts_with("GET /latest/dynamic/instance-identity/document ")
                && lower.contains(&format!(
                    "x-aws-ec2-metadata-token: {}",
                    TOKEN.to_ascii_lowercase()
                ))
            {
                ("200 OK", DOCUMENT.to_string())
            } else {
                ("401 Unauthorized", String::new())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(response.as_bytes()).await.unwrap();
            seen.push(request);
        }
        seen
    });
    (endpoint, task)
}

fn settings(endpoint: &str, timeout_ms: u64) -> ImdsSettings {
    ImdsSettings {
        enabled: true,
        endpoint: endpoint.to_string(),
        timeout_ms,
    }
}

#[tokio::test]
async fn reads_the_identity_with_a_token() {
    let (endpoint, server) = fake_imds(2).await;
    let id = fetch_identity(&settings(&endpoint, 2000)).await.unwrap();
    assert_eq!(id.instance_id.as_deref(), Some("i-0123456789abcdef0"));
    assert_eq!(id.region.as_deref(), Some("eu-west-1"));
    assert_eq!(id.account_id.as_deref(), Some("123456789012"));
    let seen = server.await.unwrap();
    assert!(
        seen[0].starts_with("PUT /latest/api/token HTTP/1.1\r\n"),
        "{}",
        seen[0]
    );
    assert!(
        seen[1].contains(&format!("X-aws-ec2-metadata-token: {TOKEN}\r\n")),
        "{}",
        seen[1]
    );
}

#[tokio::test]
async fn a_refused_token_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = sock.read(&mut buf).await;
        let _ = sock
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .await;
    });
    let err = fetch_identity(&settings(&endpoint, 2000))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ImdsError::Status { status: 403, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn a_silent_server_times_out_quickly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(sock);
    });
    let started = std::time::Instant::now();
    let err = fetch_identity(&settings(&endpoint, 150)).await.unwrap_err();
    assert!(matches!(err, ImdsError::Timeout(150)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    hold.abort();
}

#[tokio::test]
async fn no_server_is_an_error_not_a_hang() {
    // Bind then drop: the port is (almost certainly) closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = fetch_identity(&settings(&format!("http://127.0.0.1:{port}"), 1000)).await;
    assert!(err.is_err());
}

#[test]
fn endpoints_parse() {
    assert_eq!(
        parse_endpoint("http://169.254.169.254").unwrap(),
        ("169.254.169.254".into(), 80)
    );
    assert_eq!(
        parse_endpoint("http://127.0.0.1:8080/").unwrap(),
        ("127.0.0.1".into(), 8080)
    );
    assert_eq!(
        parse_endpoint("http://[fd00:ec2::254]").unwrap(),
        ("fd00:ec2::254".into(), 80)
    );
    assert_eq!(
        parse_endpoint("http://[fd00:ec2::254]:81").unwrap(),
        ("fd00:ec2::254".into(), 81)
    );
    assert!(parse_endpoint("https://169.254.169.254").is_err());
    assert!(parse_endpoint("http://host/path").is_err());
}
