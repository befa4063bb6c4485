//! Syslog socket source: a unix datagram socket (like `/dev/log`) receiving RFC 3164 / RFC 5424
//! messages, so that `logger` or journald's `ForwardToSyslog` can deliver to auditrail directly.
//!
//! Enters: datagrams. Leaves: [`SocketMessage`]s in batches on a bounded channel.
//!
//! Guarantee and its limit: there is nothing to re-read, so a message is acknowledged when it is
//! received. Messages received but not yet accepted by every sink are lost if the daemon is killed
//! (SIGKILL, OOM, power loss); a clean shutdown (SIGTERM) flushes them. While the pipeline is
//! backpressured the kernel queues datagrams and then blocks (or, for non-blocking senders, drops)
//! them: senders see it, nothing is dropped silently inside auditrail.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::net::UnixDatagram;
use tokio::sync::{mpsc, watch};

/// One received datagram, without a trailing newline.
#[derive(Debug, Clone)]
pub struct SocketMessage {
    pub bytes: Bytes,
    /// Longer than the configured maximum: cut.
    pub truncated: bool,
}

/// Settings of one socket source.
#[derive(Debug, Clone)]
pub struct SocketConfig {
    pub path: PathBuf,
    pub max_message_bytes: usize,
}

/// Binds the socket: removes a stale socket file first, makes it writable by every local user
/// (as `/dev/log` is).
pub fn bind(path: &Path) -> io::Result<UnixDatagram> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let sock = UnixDatagram::bind(path)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    Ok(sock)
}

/// Receives datagrams until `shutdown` turns true or the receiver is gone.
pub async fn run_syslog_socket(
    cfg: SocketConfig,
    sock: UnixDatagram,
    tx: mpsc::Sender<Vec<SocketMessage>>,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let max = cfg.max_message_bytes.max(1);
    // One byte more than the maximum tells a message of exactly `max` bytes from a longer one.
    let mut buf = vec![0u8; max + 1];
    loop {
        let n = tokio::select! {
            r = sock.recv(&mut buf) => r?,
            _ = shutdown.changed() => break,
        };
        let mut batch = vec![message(&buf[..n], max)];
        // Drain what is already queued so one channel send carries many messages.
        while batch.len() < 256 {
            match sock.try_recv(&mut buf) {
                Ok(n) => batch.push(message(&buf[..n], max)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if tx.send(batch).await.is_err() {
            break;
        }
    }
    let _ = std::fs::remove_file(&cfg.path);
    Ok(())
}

fn message(data: &[u8], max: usize) -> SocketMessage {
    let truncated = data.len() > max;
    let mut data = &data[..data.len().min(max)];
    while let [rest @ .., b'\n' | b'\0'] = data {
        data = rest;
    }
    SocketMessage {
        bytes: Bytes::copy_from_slice(data),
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn receives_datagrams_and_cuts_long_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let sock = bind(&path).unwrap();
        let (tx, mut rx) = mpsc::channel(4);
        let (stop_tx, stop_rx) = watch::channel(false);
        let cfg = SocketConfig {
            path: path.clone(),
            max_message_bytes: 64,
        };
        let task = tokio::spawn(run_syslog_socket(cfg, sock, tx, stop_rx));

        let client = std::os::unix::net::UnixDatagram::unbound().unwrap();
        client
            .send_to(
                b"<13>Nov 22 21:36:11 vm bash[1]: carol:/dev/pts/0:ls\n",
                &path,
            )
            .unwrap();
        client.send_to(&[b'x'; 100], &path).unwrap();
        client.send_to(b"\xff\xfe non-utf8", &path).unwrap();

        let mut got = Vec::new();
        while got.len() < 3 {
            let batch = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .unwrap()
                .unwrap();
            got.extend(batch);
        }
        assert_eq!(
            &got[0].bytes[..],
            b"<13>Nov 22 21:36:11 vm bash[1]: carol:/dev/pts/0:ls"
        );
        assert!(!got[0].truncated);
        assert_eq!(got[1].bytes.len(), 64);
        assert!(got[1].truncated);
        assert_eq!(&got[2].bytes[..], b"\xff\xfe non-utf8");

        stop_tx.send(true).unwrap();
        task.await.unwrap().unwrap();
        assert!(!path.exists(), "socket file removed at shutdown");
    }
}
