//! Line splitting for one file: large reads at increasing offsets in, complete [`Line`]s out.
//!
//! In: chunks read by a caller-supplied positional read (one buffer per chunk, no per-line
//! syscalls). Out: lines without their '\n' as zero-copy slices of the chunk (`Bytes::slice`),
//! with exact start/end offsets. Guarantees: a line is emitted only once its '\n' was read; the
//! incomplete tail is kept (at most `max_line_bytes` of it) and completed by later reads; a line
//! longer than `max_line_bytes` is emitted once its '\n' arrives, as its first `max_line_bytes`
//! bytes with `truncated = true` and `end` just after that '\n'. Splitting uses `memchr`.

use std::io;

use bytes::Bytes;

use super::{FileId, Line};

/// Who the lines belong to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineTag {
    pub source: usize,
    pub file: FileId,
}

/// Splitting state of one file.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    max_line_bytes: usize,
    /// Offset of the first byte of the incomplete line: the offset to resume from.
    line_start: u64,
    /// Bytes of the incomplete line read so far (its first `max_line_bytes` if `skipping`).
    pending: Vec<u8>,
    /// The incomplete line is longer than `max_line_bytes`; bytes up to its '\n' are skipped.
    skipping: bool,
    /// Offset of the next byte to read.
    next_pos: u64,
}

impl LineSplitter {
    pub fn new(start: u64, max_line_bytes: usize) -> Self {
        LineSplitter {
            max_line_bytes: max_line_bytes.max(1),
            line_start: start,
            pending: Vec::new(),
            skipping: false,
            next_pos: start,
        }
    }

    /// Offset just after the last emitted line (where a restart would resume).
    #[cfg(test)]
    pub fn resume_offset(&self) -> u64 {
        self.line_start
    }

    /// Offset of the next byte to read (everything before it has been read).
    pub fn next_pos(&self) -> u64 {
        self.next_pos
    }

    /// Reads one chunk of up to `chunk` bytes with `read(buf, offset)` and appends the lines it
    /// completes to `out`. Returns the number of bytes read; 0 means end of file.
    pub fn read_chunk<F>(
        &mut self,
        chunk: usize,
        tag: LineTag,
        out: &mut Vec<Line>,
        mut read: F,
    ) -> io::Result<usize>
    where
        F: FnMut(&mut [u8], u64) -> io::Result<usize>,
    {
        // The incomplete line is re-joined with the new bytes so lines stay contiguous slices.
        let mut buf = if self.skipping {
            Vec::new()
        } else {
            std::mem::take(&mut self.pending)
        };
        let keep = buf.len();
        buf.resize(keep + chunk.max(1), 0);
        let n = loop {
            match read(&mut buf[keep..], self.next_pos) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.restore_pending(buf, keep);
                    return Err(e);
                }
            }
        };
        if n == 0 {
            self.restore_pending(buf, keep);
            return Ok(0);
        }
        buf.truncate(keep + n);
        let base = self.next_pos - keep as u64;
        self.next_pos += n as u64;
        self.split(Bytes::from(buf), base, tag, out);
        Ok(n)
    }

    fn restore_pending(&mut self, mut buf: Vec<u8>, keep: usize) {
        if !self.skipping {
            buf.truncate(keep);
            self.pending = buf;
        }
    }

    /// Splits `data`, which starts at file offset `base` (the start of the pending line, unless
    /// skipping).
    fn split(&mut self, data: Bytes, base: u64, tag: LineTag, out: &mut Vec<Line>) {
        let mut line_begin = 0usize;
        if self.skipping {
            let Some(nl) = memchr::memchr(b'\n', &data) else {
                return;
            };
            out.push(Line {
                source: tag.source,
                file: tag.file,
                start: self.line_start,
                end: base + nl as u64 + 1,
                bytes: Bytes::from(std::mem::take(&mut self.pending)),
                truncated: true,
            });
            self.skipping = false;
            line_begin = nl + 1;
        }
        let scan_from = line_begin;
        for rel in memchr::memchr_iter(b'\n', &data[scan_from..]) {
            let nl = scan_from + rel;
            let len = nl - line_begin;
            let truncated = len > self.max_line_bytes;
            let cut = if truncated {
                line_begin + self.max_line_bytes
            } else {
                nl
            };
            out.push(Line {
                source: tag.source,
                file: tag.file,
                start: base + line_begin as u64,
                end: base + nl as u64 + 1,
                bytes: data.slice(line_begin..cut),
                truncated,
            });
            line_begin = nl + 1;
        }
        self.line_start = base + line_begin as u64;
        let rest = &data[line_begin..];
        if rest.len() > self.max_line_bytes {
            self.pending = rest[..self.max_line_bytes].to_vec();
            self.skipping = true;
        } else {
            self.pending = rest.to_vec();
        }
    }

    /// Takes the incomplete last line as a final line ending at the current read position, for a
    /// file that will never grow again. `None` if there is none.
    pub fn take_final_line(&mut self, tag: LineTag) -> Option<Line> {
        if self.pending.is_empty() && !self.skipping {
            return None;
        }
        let line = Line {
            source: tag.source,
            file: tag.file,
            start: self.line_start,
            end: self.next_pos,
            bytes: Bytes::from(std::mem::take(&mut self.pending)),
            truncated: self.skipping,
        };
        self.skipping = false;
        self.line_start = self.next_pos;
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TAG: LineTag = LineTag {
        source: 3,
        file: FileId(9),
    };

    /// Reference: (start, end, bytes, truncated) of every complete line, plus the final rest.
    fn reference(data: &[u8], start: usize, max: usize) -> Vec<(u64, u64, Vec<u8>, bool)> {
        let mut lines = Vec::new();
        let mut begin = start;
        for (i, &b) in data.iter().enumerate().skip(start) {
            if b == b'\n' {
                let len = i - begin;
                let keep = len.min(max);
                lines.push((
                    begin as u64,
                    i as u64 + 1,
                    data[begin..begin + keep].to_vec(),
                    len > max,
                ));
                begin = i + 1;
            }
        }
        if begin < data.len() {
            let len = data.len() - begin;
            let keep = len.min(max);
            lines.push((
                begin as u64,
                data.len() as u64,
                data[begin..begin + keep].to_vec(),
                len > max,
            ));
        }
        lines
    }

    fn run(
        data: &[u8],
        start: usize,
        max: usize,
        chunks: &[usize],
    ) -> Vec<(u64, u64, Vec<u8>, bool)> {
        let mut s = LineSplitter::new(start as u64, max);
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let chunk = chunks.get(i % chunks.len().max(1)).copied().unwrap_or(7);
            i += 1;
            let n = s
                .read_chunk(chunk, TAG, &mut out, |buf, pos| {
                    let pos = pos as usize;
                    let n = buf.len().min(data.len() - pos);
                    buf[..n].copy_from_slice(&data[pos..pos + n]);
                    Ok(n)
                })
                .unwrap();
            if n == 0 {
                break;
            }
        }
        // Nothing incomplete is emitted before the end, and the resume offset is a line end.
        let last_nl = data
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(start, |p| (p + 1).max(start));
        assert_eq!(s.resume_offset(), last_nl as u64);
        out.extend(s.take_final_line(TAG));
        assert!(s.take_final_line(TAG).is_none());
        out.iter()
            .map(|l| {
                assert_eq!((l.source, l.file), (3, FileId(9)));
                (l.start, l.end, l.bytes.to_vec(), l.truncated)
            })
            .collect()
    }

    #[test]
    fn splits_and_keeps_cr_and_empty_lines() {
        let data = b"a\r\n\nbc\nrest";
        let got = run(data, 0, 100, &[3]);
        assert_eq!(
            got,
            vec![
                (0, 3, b"a\r".to_vec(), false),
                (3, 4, b"".to_vec(), false),
                (4, 7, b"bc".to_vec(), false),
                (7, 11, b"rest".to_vec(), false),
            ]
        );
    }

    #[test]
    fn long_line_is_truncated_and_next_line_is_intact() {
        let mut data = vec![b'x'; 50];
        data.push(b'\n');
        data.extend_from_slice(b"ok\n");
        let got = run(&data, 0, 10, &[4]);
        assert_eq!(
            got,
            vec![
                (0, 51, vec![b'x'; 10], true),
                (51, 54, b"ok".to_vec(), false)
            ]
        );
    }

    #[test]
    fn line_of_exactly_max_is_not_truncated() {
        let got = run(b"abcd\nabcde\n", 0, 4, &[2]);
        assert_eq!(
            got,
            vec![
                (0, 5, b"abcd".to_vec(), false),
                (5, 11, b"abcd".to_vec(), true)
            ]
        );
    }

    #[test]
    fn io_error_keeps_state() {
        let mut s = LineSplitter::new(0, 100);
        let mut out = Vec::new();
        s.read_chunk(4, TAG, &mut out, |buf, _| {
            buf[..3].copy_from_slice(b"abc");
            Ok(3)
        })
        .unwrap();
        let err = s.read_chunk(4, TAG, &mut out, |_, _| Err(io::Error::other("boom")));
        assert!(err.is_err());
        s.read_chunk(4, TAG, &mut out, |buf, pos| {
            assert_eq!(pos, 3);
            buf[..2].copy_from_slice(b"d\n");
            Ok(2)
        })
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(&out[0].bytes[..], b"abcd");
        assert_eq!((out[0].start, out[0].end), (0, 5));
    }

    proptest! {
        #[test]
        fn matches_reference_for_any_chunking(
            data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>(), Just(b'a')], 0..600),
            start_frac in 0usize..100,
            max in 1usize..40,
            chunks in proptest::collection::vec(1usize..50, 1..8),
        ) {
            // Start at a line boundary, as resume offsets always are.
            let cand = data.len() * start_frac / 100;
            let start = data[..cand].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            prop_assert_eq!(run(&data, start, max, &chunks), reference(&data, start, max));
        }
    }
}
