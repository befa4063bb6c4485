//! Packing events into Firehose records, and records into `PutRecordBatch` calls.
//!
//! Enters: a batch's events (in order), the record compression and the per-record byte limit.
//! Leaves: records, each holding many complete NDJSON lines — one gzip member per record, or
//! plain NDJSON — and call plans over any subset of them. Guarantees: every record's data is at
//! most `max_record_bytes` (checked after compression, before base64); every event is in exactly
//! one record, in order, whole or (only when it alone cannot fit) truncated with a marker; every
//! call holds at most [`MAX_RECORDS_PER_CALL`] records and [`MAX_BYTES_PER_CALL`] data bytes.
//!
//! Gzip sizes are tracked exactly without compressing twice: the encoder is sync-flushed only
//! when the worst case of what was written since the last flush could cross the limit, so the
//! compressed size so far is then known to the byte; a record closes when even a flushed encoder
//! leaves too little room.

use std::io::Write;
use std::ops::Range;

use bytes::Bytes;
use flate2::write::GzEncoder;

use crate::aws::truncate_event;
use crate::EncodedEvent;

/// Firehose's limit on one record's data, before base64 (1,000 KiB).
pub const MAX_RECORD_BYTES: usize = 1_000 * 1024;
/// Firehose's limit on records per `PutRecordBatch`.
pub const MAX_RECORDS_PER_CALL: usize = 500;
/// Firehose's limit on the data of one `PutRecordBatch` (4 MiB).
pub const MAX_BYTES_PER_CALL: usize = 4 * 1024 * 1024;

/// One packed record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PackedRecord {
    /// The record's data: NDJSON lines, gzip-compressed or plain.
    pub data: Bytes,
    /// Number of events (lines) in it.
    pub events: usize,
}

/// The records of one batch.
#[derive(Debug, Default)]
pub(crate) struct Packing {
    pub records: Vec<PackedRecord>,
    /// Events that had to be truncated to fit a record.
    pub truncated: u64,
}

/// Packs `events` into records of at most `max_record_bytes` (clamped to
/// `[1 KiB, MAX_RECORD_BYTES]`); `gzip_level` `None` = plain NDJSON.
pub(crate) fn pack_events(
    events: &[EncodedEvent],
    gzip_level: Option<u32>,
    max_record_bytes: usize,
) -> Packing {
    let max = max_record_bytes.clamp(1024, MAX_RECORD_BYTES);
    let mut packing = Packing::default();
    // Lines that cannot fit in a record on their own are truncated first.
    let lines: Vec<Bytes> = events
        .iter()
        .map(|event| {
            let line_cost = match gzip_level {
                None => event.json.len() + 1,
                Some(_) => worst_case_gzip(event.json.len() + 1) + GZIP_FRAME_BYTES,
            };
            if line_cost <= max {
                return event.json.clone();
            }
            if let Some(level) = gzip_level {
                // Oversized but perhaps compressible: it fits if it compresses below the limit.
                let alone = gzip_lines(std::slice::from_ref(&event.json), level);
                if alone.len() <= max {
                    return event.json.clone();
                }
            }
            packing.truncated += 1;
            let budget = match gzip_level {
                None => max - 1,
                Some(_) => max - GZIP_FRAME_BYTES - max / 256 - 256,
            };
            Bytes::from(truncate_event(&event.json, budget))
        })
        .collect();
    match gzip_level {
        None => pack_plain(&lines, max, &mut packing.records),
        Some(level) => pack_gzip(&lines, level, max, &mut packing.records),
    }
    packing
}

/// Gzip header (10) + trailer (8) + a final empty block, rounded up.
const GZIP_FRAME_BYTES: usize = 32;

/// An upper bound of what `raw` bytes become in deflate output (deflate falls back to stored
/// blocks, 5 bytes per 64 KiB; a wide margin for block headers).
fn worst_case_gzip(raw: usize) -> usize {
    raw + raw / 256 + 128
}

fn pack_plain(lines: &[Bytes], max: usize, out: &mut Vec<PackedRecord>) {
    let mut data: Vec<u8> = Vec::new();
    let mut events = 0;
    for line in lines {
        if events > 0 && data.len() + line.len() + 1 > max {
            out.push(PackedRecord {
                data: Bytes::from(std::mem::take(&mut data)),
                events,
            });
            events = 0;
        }
        data.extend_from_slice(line);
        data.push(b'\n');
        events += 1;
    }
    if events > 0 {
        out.push(PackedRecord {
            data: Bytes::from(data),
            events,
        });
    }
}

/// One gzip record being filled.
struct GzipRecord {
    encoder: GzEncoder<Vec<u8>>,
    /// Compressed bytes known exactly (header included), as of the last flush.
    flushed: usize,
    /// Raw bytes written since the last flush.
    unflushed: usize,
    /// Lines in the record, as a range of the batch's lines.
    lines: Range<usize>,
}

impl GzipRecord {
    fn new(level: u32, start: usize) -> Self {
        Self {
            encoder: GzEncoder::new(Vec::new(), flate2::Compression::new(level.min(9))),
            flushed: 0,
            unflushed: 0,
            lines: start..start,
        }
    }

    /// Largest size the record could reach if `extra` more raw bytes were written and closed.
    fn bound_with(&self, extra: usize) -> usize {
        self.flushed + worst_case_gzip(self.unflushed + extra) + GZIP_FRAME_BYTES
    }

    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.encoder.write_all(line)?;
        self.encoder.write_all(b"\n")?;
        self.unflushed += line.len() + 1;
        self.lines.end += 1;
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.encoder.flush()?;
        self.flushed = self.encoder.get_ref().len();
        self.unflushed = 0;
        Ok(())
    }
}

fn pack_gzip(lines: &[Bytes], level: u32, max: usize, out: &mut Vec<PackedRecord>) {
    // An in-memory encoder does not fail; if it ever did, the slower path below still packs.
    if pack_gzip_streaming(lines, level, max, out).is_err() {
        tracing::error!("gzip encoder failed while packing records; packing one line at a time");
        out.clear();
        for line in lines {
            out.push(PackedRecord {
                data: Bytes::from(gzip_lines(std::slice::from_ref(line), level)),
                events: 1,
            });
        }
    }
}

fn pack_gzip_streaming(
    lines: &[Bytes],
    level: u32,
    max: usize,
    out: &mut Vec<PackedRecord>,
) -> std::io::Result<()> {
    // Stop flushing and close the record once this little room is left.
    let enough_room = (max / 64).max(256);
    let mut record = GzipRecord::new(level, 0);
    for (index, line) in lines.iter().enumerate() {
        loop {
            if record.bound_with(line.len() + 1) <= max {
                record.write_line(line)?;
                break;
            }
            if record.unflushed > 0 {
                record.flush()?;
                if max.saturating_sub(record.bound_with(0)) >= enough_room {
                    continue;
                }
            }
            // The record is full (an empty record always takes a line: oversized lines were
            // truncated or shown to compress below the limit).
            if record.lines.is_empty() {
                record.write_line(line)?;
                break;
            }
            close_gzip(record, lines, level, max, out)?;
            record = GzipRecord::new(level, index);
        }
    }
    if !record.lines.is_empty() {
        close_gzip(record, lines, level, max, out)?;
    }
    Ok(())
}

fn close_gzip(
    record: GzipRecord,
    lines: &[Bytes],
    level: u32,
    max: usize,
    out: &mut Vec<PackedRecord>,
) -> std::io::Result<()> {
    let range = record.lines.clone();
    let mut data = record.encoder.finish()?;
    if data.len() > max {
        // Each sync flush costs a few bytes: the same lines compressed in one go may fit. A lone
        // line always does (it was kept only if it fits alone, or truncated to fit).
        data = gzip_lines(&lines[range.clone()], level);
    }
    if data.len() <= max || range.len() == 1 {
        out.push(PackedRecord {
            data: Bytes::from(data),
            events: range.len(),
        });
        return Ok(());
    }
    // Not expected (the bound is conservative): split the lines in two and pack each half.
    tracing::warn!(
        bytes = data.len(),
        max,
        "a gzip record exceeded its bound; splitting it"
    );
    let middle = range.start + range.len() / 2;
    pack_gzip_streaming(&lines[range.start..middle], level, max, out)?;
    pack_gzip_streaming(&lines[middle..range.end], level, max, out)
}

/// `lines` as one gzip member of NDJSON.
pub(crate) fn gzip_lines(lines: &[Bytes], level: u32) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::new(level.min(9)));
    for line in lines {
        if encoder
            .write_all(line)
            .and_then(|()| encoder.write_all(b"\n"))
            .is_err()
        {
            break;
        }
    }
    encoder.finish().unwrap_or_default()
}

/// Groups the records `pending` (indices into `sizes`, in order) into calls of at most
/// [`MAX_RECORDS_PER_CALL`] records and [`MAX_BYTES_PER_CALL`] bytes.
pub(crate) fn plan_calls(pending: &[usize], sizes: &[usize]) -> Vec<Vec<usize>> {
    let mut calls = Vec::new();
    let mut call: Vec<usize> = Vec::new();
    let mut bytes = 0usize;
    for &index in pending {
        let size = sizes.get(index).copied().unwrap_or(0);
        if !call.is_empty()
            && (call.len() >= MAX_RECORDS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL)
        {
            calls.push(std::mem::take(&mut call));
            bytes = 0;
        }
        call.push(index);
        bytes += size;
    }
    if !call.is_empty() {
        calls.push(call);
    }
    calls
}
