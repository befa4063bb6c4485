//! [`StdoutSink`]: writes each batch as NDJSON lines to standard output, for debugging.
//!
//! Enters: [`Batch`]es (any compression or framing). Leaves: the decompressed NDJSON lines,
//! written with one `write_all` per batch (not per event) and flushed. Guarantees: `Ok` only after
//! the flush; a closed stdout (`EPIPE`) is `Fatal` — an operator must reconnect it — and other
//! write errors are `Retriable`.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use crate::{Batch, SendError, Sink};

/// Writes batches to stdout (or, for tests and embedding, any writer). Clones share the writer.
#[derive(Clone)]
pub struct StdoutSink {
    name: String,
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for StdoutSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdoutSink")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self::new()
    }
}

impl StdoutSink {
    /// A sink writing to the process's standard output.
    pub fn new() -> Self {
        Self::with_writer("stdout", io::stdout())
    }

    /// A sink writing to `writer` instead, named `name` in logs.
    pub fn with_writer(name: impl Into<String>, writer: impl Write + Send + 'static) -> Self {
        Self {
            name: name.into(),
            out: Arc::new(Mutex::new(Box::new(writer))),
        }
    }
}

impl Sink for StdoutSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&mut self, batch: &Batch) -> Result<(), SendError> {
        let lines = batch
            .ndjson()
            .map_err(|err| SendError::Fatal(format!("cannot decode batch body: {err}")))?;
        let out = Arc::clone(&self.out);
        let written = tokio::task::spawn_blocking(move || -> io::Result<()> {
            let mut out = out.lock().unwrap_or_else(PoisonError::into_inner);
            out.write_all(&lines)?;
            out.flush()
        })
        .await;
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) if err.kind() == io::ErrorKind::BrokenPipe => {
                Err(SendError::Fatal(format!("{} is closed: {err}", self.name)))
            }
            Ok(Err(err)) => Err(SendError::Retriable(format!(
                "writing to {}: {err}",
                self.name
            ))),
            Err(join) => Err(SendError::Retriable(format!("writer task failed: {join}"))),
        }
    }

    async fn healthcheck(&mut self) -> Result<(), SendError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BatchLimits, Batcher, Compression, EncodedEvent};
    use std::time::Duration;

    /// A writer that records each `write` call into a shared buffer.
    #[derive(Clone, Default)]
    struct Recorder {
        writes: Arc<Mutex<Vec<Vec<u8>>>>,
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    struct Failing(io::ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(self.0))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn batch(compression: Compression) -> Batch {
        let limits = BatchLimits {
            max_events: 10,
            max_bytes: 1 << 20,
            max_age: Duration::from_secs(1),
        };
        let mut batcher = Batcher::new(limits, compression);
        for seq in 0..3 {
            let json = format!(r#"{{"seq":{seq}}}"#);
            batcher.push(EncodedEvent {
                seq,
                time_ms: 0,
                json: json.into(),
            });
        }
        batcher.take().unwrap()
    }

    #[tokio::test]
    async fn writes_decompressed_lines_in_one_write_per_batch() {
        let recorder = Recorder::default();
        let mut sink = StdoutSink::with_writer("test", recorder.clone());
        sink.healthcheck().await.unwrap();
        sink.send(&batch(Compression::gzip())).await.unwrap();
        sink.send(&batch(Compression::None)).await.unwrap();
        let writes = recorder.writes.lock().unwrap().clone();
        assert_eq!(writes.len(), 2, "one write per batch");
        for write in writes {
            assert_eq!(write, b"{\"seq\":0}\n{\"seq\":1}\n{\"seq\":2}\n");
        }
    }

    #[tokio::test]
    async fn closed_stdout_is_fatal_other_errors_retriable() {
        let mut closed = StdoutSink::with_writer("closed", Failing(io::ErrorKind::BrokenPipe));
        let err = closed.send(&batch(Compression::None)).await.unwrap_err();
        assert!(matches!(err, SendError::Fatal(_)), "{err:?}");
        let mut full = StdoutSink::with_writer("full", Failing(io::ErrorKind::StorageFull));
        let err = full.send(&batch(Compression::None)).await.unwrap_err();
        assert!(err.is_retriable(), "{err:?}");
    }
}
