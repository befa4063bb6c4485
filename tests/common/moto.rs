//! moto (a local AWS-protocol server) for the AWS sink tests: installed once into
//! `target/moto-venv` by `scripts/moto.sh install`, started per test on a free 127.0.0.1 port,
//! killed on drop; suspend/resume (SIGSTOP/SIGCONT) simulate an outage without losing its
//! in-memory state. `admin` runs `tests/common/moto_admin.py` (boto3) against it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment every AWS client in the tests gets (moto accepts any credentials; no IMDS).
pub const AWS_ENV: [(&str, &str); 6] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/dev/null"),
];

pub struct Moto {
    pub port: u16,
    child: Child,
    root: PathBuf,
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Installs moto into the cached venv (idempotent, serialised by a lock in the script).
fn install() -> PathBuf {
    let root = workspace();
    let status = Command::new("bash")
        .arg(root.join("scripts/moto.sh"))
        .arg("install")
        .status()
        .expect("run scripts/moto.sh install");
    assert!(
        status.success(),
        "installing moto[server] into target/moto-venv failed (needs python3 -m venv and PyPI)"
    );
    root
}

impl Moto {
    pub fn start() -> Moto {
        let root = install();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(root.join("target/moto-venv/bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn moto_server");
        let moto = Moto { port, child, root };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal}");
    }

    /// Freezes the server: connections are accepted by the kernel but never answered.
    pub fn suspend(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// Runs `moto_admin.py ENDPOINT args…` and returns its stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let output = Command::new(self.root.join("target/moto-venv/bin/python"))
            .arg(self.root.join("tests/common/moto_admin.py"))
            .arg(self.endpoint())
            .args(args)
            .envs(AWS_ENV)
            .output()
            .expect("run moto_admin.py");
        assert!(
            output.status.success(),
            "moto_admin.py {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Every object of `bucket`, as bytes.
    pub fn s3_objects(&self, bucket: &str, scratch: &Path) -> Vec<Vec<u8>> {
        let dir = scratch.join(format!("s3-{bucket}"));
        let _ = std::fs::remove_dir_all(&dir);
        self.admin(&["dump-s3", bucket, &dir.display().to_string()]);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read(f).expect("read object"))
            .collect()
    }

    /// Every log event of the groups starting with `prefix`, as JSON objects
    /// (`group`, `stream`, `timestamp`, `message`).
    pub fn log_events(&self, prefix: &str, scratch: &Path) -> Vec<serde_json::Value> {
        let file = scratch.join("log-events.ndjson");
        self.admin(&["dump-logs", prefix, &file.display().to_string()]);
        std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("dump line"))
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
