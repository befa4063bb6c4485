//! Test harness of `tail_rotation`: runs a tailer on real files, collects its events, and checks
//! the whole event stream for exactly-once delivery with exact offsets (`check_stream`).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use auditrail::source::{run_tailer, FileId, Line, ReadFrom, TailConfig, TailEvent};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub const WAIT: Duration = Duration::from_secs(15);

pub struct Tailer {
    pub rx: mpsc::Receiver<TailEvent>,
    pub shutdown: watch::Sender<bool>,
    pub task: JoinHandle<anyhow::Result<()>>,
    pub events: Vec<TailEvent>,
}

pub fn config(paths: &[&Path]) -> TailConfig {
    TailConfig {
        source: 2,
        paths: paths.iter().map(|p| p.to_path_buf()).collect(),
        read_from: ReadFrom::Beginning,
        max_line_bytes: 1 << 20,
        poll_interval: Duration::from_millis(20),
    }
}

pub fn start(cfg: TailConfig, resume: HashMap<FileId, u64>, capacity: usize) -> Tailer {
    let (tx, rx) = mpsc::channel(capacity);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let task = tokio::spawn(run_tailer(cfg, resume, tx, shutdown_rx));
    Tailer {
        rx,
        shutdown,
        task,
        events: Vec::new(),
    }
}

impl Tailer {
    /// Receives events until `done(all events so far)` holds; panics after `WAIT`.
    pub async fn until(&mut self, what: &str, done: impl Fn(&[TailEvent]) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(&self.events) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(ev)) => self.events.push(ev),
                Ok(None) => panic!("channel closed while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}; got {:#?}",
                    summary(&self.events)
                ),
            }
        }
    }

    pub async fn until_line(&mut self, text: &str) {
        self.until(text, |evs| {
            lines(evs).iter().any(|l| &l.bytes[..] == text.as_bytes())
        })
        .await;
    }

    /// Requests shutdown, expects a prompt `Ok`, and collects what was still in the channel.
    pub async fn stop(mut self) -> Vec<TailEvent> {
        self.shutdown.send(true).unwrap();
        let res = tokio::time::timeout(WAIT, self.task)
            .await
            .expect("tailer did not stop");
        res.unwrap().unwrap();
        while let Ok(ev) = self.rx.try_recv() {
            self.events.push(ev);
        }
        self.events
    }
}

pub fn lines(events: &[TailEvent]) -> Vec<&Line> {
    events
        .iter()
        .flat_map(|e| match e {
            TailEvent::Lines(v) => v.iter().collect(),
            _ => Vec::new(),
        })
        .collect()
}

pub fn texts(events: &[TailEvent]) -> Vec<String> {
    lines(events)
        .iter()
        .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
        .collect()
}

pub fn summary(events: &[TailEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            TailEvent::Lines(v) => format!(
                "Lines({:?})",
                v.iter()
                    .map(
                        |l| String::from_utf8_lossy(&l.bytes[..l.bytes.len().min(40)]).into_owned()
                    )
                    .collect::<Vec<_>>()
            ),
            other => format!("{other:?}"),
        })
        .collect()
}

pub fn opened(events: &[TailEvent]) -> Vec<(FileId, PathBuf, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            TailEvent::Opened {
                file,
                path,
                start_offset,
            } => Some((*file, path.clone(), *start_offset)),
            _ => None,
        })
        .collect()
}

pub fn has_event(events: &[TailEvent], want: impl Fn(&TailEvent) -> bool) -> bool {
    events.iter().any(want)
}

/// Per file: `Opened` first, then lines back to back from its start offset, nothing after
/// `Finished`/`Truncated` until a new `Opened`. `content` maps a file id to its bytes (as far as
/// known) for checking each line against the file.
pub fn check_stream(events: &[TailEvent], content: &HashMap<FileId, Vec<u8>>, max_line: usize) {
    let mut next: HashMap<FileId, u64> = HashMap::new();
    for ev in events {
        match ev {
            TailEvent::Opened {
                file, start_offset, ..
            } => {
                assert!(
                    next.insert(*file, *start_offset).is_none(),
                    "{file} opened twice"
                );
            }
            TailEvent::Lines(v) => {
                assert!(!v.is_empty(), "empty batch");
                for l in v {
                    assert_eq!(l.source, 2);
                    let at = next
                        .get_mut(&l.file)
                        .unwrap_or_else(|| panic!("line of unopened {}", l.file));
                    assert_eq!(l.start, *at, "gap or repeat in {}", l.file);
                    assert!(l.end > l.start || l.bytes.is_empty());
                    *at = l.end;
                    if let Some(data) = content.get(&l.file) {
                        let raw = &data[l.start as usize..l.end as usize];
                        let body = raw.strip_suffix(b"\n").unwrap_or(raw);
                        if l.truncated {
                            assert_eq!(&l.bytes[..], &body[..max_line]);
                        } else {
                            assert_eq!(&l.bytes[..], body);
                        }
                    }
                }
            }
            TailEvent::Finished { file } | TailEvent::Truncated { file } => {
                assert!(
                    next.remove(file).is_some(),
                    "{file} ended without being opened"
                );
            }
        }
    }
}

pub fn append(path: &Path, data: &[u8]) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(data).unwrap();
}

pub fn id_of(events: &[TailEvent], path: &Path) -> FileId {
    opened(events)
        .into_iter()
        .rev()
        .find(|(_, p, _)| p == path)
        .unwrap_or_else(|| panic!("{} not opened", path.display()))
        .0
}

pub fn set_mtime(path: &Path, ago: Duration) {
    let f = File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - ago).unwrap();
}
