//! EXECVE argument vectors, reassembled across the EXECVE records of one event.
//!
//! In: the [`Body`] of every EXECVE record of one event, in the order auditd wrote them, fed to an
//! [`ArgvBuilder`]. Out: an [`Argv`]: the arguments as exact bytes, `argc`, and whether the set is
//! `complete`.
//!
//! What the kernel writes (`audit_log_execve_info`):
//! - `argc=N` once, in the first record;
//! - `aN="text"` for an argument without space, `"`, control or non-ASCII byte, else `aN=HEX`
//!   (upper-case hex of the bytes). A bare token is decoded when it is even-length hex, else kept as
//!   written;
//! - an argument too long for the space left in a record as `aN_len=LEN aN[0]=… aN[1]=…`, the chunks
//!   possibly continued in the next EXECVE record of the same serial. Chunks of an argument longer
//!   than the kernel's 7500-byte buffer are hex, and `LEN` is the hex length (2 × bytes); a shorter
//!   argument that merely did not fit may be split as quoted chunks, and `LEN` is then its byte
//!   length. Either way `LEN` is the total length of the chunks as written, which is what is checked.
//!
//! Guarantees: time linear in the number of input bytes when records come in order (pieces given
//! out of order are sorted, O(n log n) in the number of fields); memory a small multiple of the
//! input: nothing is ever allocated from `argc` or `aN_len`. Missing, duplicated or mis-sized pieces
//! never fail: what exists is kept and [`Argv::complete`] is false.

use crate::audit::{Body, Value};
use crate::error::ParseError;
use crate::hex;

/// A reassembled argument vector.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Argv {
    /// The arguments present, in argument order, as exact bytes.
    pub args: Vec<Vec<u8>>,
    /// `argc=` as written, if present and a valid number.
    pub argc: Option<u32>,
    /// True when `argc` is known, `a0`..`a(argc-1)` are all present exactly once, and every split
    /// argument has all its chunks with lengths adding up to its `aN_len`.
    pub complete: bool,
}

/// Collects the EXECVE records of one event; [`ArgvBuilder::finish`] reassembles them.
#[derive(Debug, Default)]
pub struct ArgvBuilder {
    argc: Option<u32>,
    pieces: Vec<Piece>,
    /// `(argument index, aN_len)` as written.
    declared_lens: Vec<(u32, u64)>,
    /// Set when something was wrong that finishing cannot detect (bad key, conflicting argc …).
    flawed: bool,
}

/// One `aN=` or `aN[i]=` value, decoded.
#[derive(Debug)]
struct Piece {
    arg: u32,
    /// `None` for `aN=`, `Some(i)` for `aN[i]=`.
    chunk: Option<u32>,
    bytes: Vec<u8>,
    /// Length of the value as written (hex digits, or bytes between the quotes).
    written_len: usize,
}

/// What an EXECVE key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArgKey {
    Argc,
    Arg(u32),
    Len(u32),
    Chunk(u32, u32),
}

/// True if `key` is one of EXECVE's own keys (`argc`, `aN`, `aN_len`, `aN[i]`), i.e. one that
/// [`ArgvBuilder::push`] consumes. Other keys in an EXECVE record are ignored by the builder.
pub fn is_argv_key(key: &[u8]) -> bool {
    matches!(classify(key), Ok(Some(_)))
}

impl ArgvBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the arguments of one EXECVE record. Fields other than EXECVE's own are ignored.
    ///
    /// Every usable field is taken even when the result is `Err`: the error names the first field
    /// that could not be used (a malformed `aN…` key, a non-numeric `argc` or `aN_len`, a nested
    /// value), and the final [`Argv`] is then not complete.
    pub fn push(&mut self, body: &Body) -> Result<(), ParseError> {
        let mut first_error = None;
        for field in &body.fields {
            if let Err(what) = self.take(field.key, &field.value) {
                self.flawed = true;
                first_error.get_or_insert_with(|| ParseError::new(what, field.key, 0));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn take(&mut self, key: &[u8], value: &Value) -> Result<(), &'static str> {
        let Some(kind) = classify(key)? else {
            return Ok(());
        };
        match kind {
            ArgKey::Argc => {
                let argc = value
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or("EXECVE `argc` is not a number")?;
                match self.argc {
                    None => self.argc = Some(argc),
                    Some(seen) if seen == argc => {}
                    Some(_) => return Err("EXECVE `argc` given twice with different values"),
                }
            }
            ArgKey::Len(arg) => {
                let len = value.as_u64().ok_or("EXECVE `aN_len` is not a number")?;
                self.declared_lens.push((arg, len));
            }
            ArgKey::Arg(arg) => self.pieces.push(piece(arg, None, value)?),
            ArgKey::Chunk(arg, i) => self.pieces.push(piece(arg, Some(i), value)?),
        }
        Ok(())
    }

    /// Reassembles the arguments. Linear when pieces came in order.
    pub fn finish(self) -> Argv {
        let ArgvBuilder {
            argc,
            mut pieces,
            mut declared_lens,
            mut flawed,
        } = self;
        // Stable sorts: O(n) on already ordered input; `aN=` sorts before `aN[0]=`.
        pieces.sort_by_key(|p| (p.arg, p.chunk.map_or(0, |c| u64::from(c) + 1)));
        declared_lens.sort_by_key(|&(arg, _)| arg);

        let mut args = Vec::new();
        let mut lens = declared_lens.into_iter().peekable();
        let mut pieces = pieces.into_iter().peekable();
        let mut expected_arg: u32 = 0;
        while let Some(first) = pieces.next() {
            let arg = first.arg;
            if arg != expected_arg {
                flawed = true; // a gap: an argument is missing
            }
            expected_arg = arg.saturating_add(1);

            // The declared length(s) of this argument; lengths of arguments without pieces are
            // skipped (their argument is missing, which the gap check catches).
            let mut declared = None;
            while let Some(&(len_arg, len)) = lens.peek() {
                if len_arg > arg {
                    break;
                }
                lens.next();
                if len_arg == arg {
                    if declared.is_some_and(|d| d != len) {
                        flawed = true;
                    }
                    declared.get_or_insert(len);
                }
            }

            let mut written = first.written_len as u64;
            let mut next_chunk = match first.chunk {
                None => None,
                Some(0) => Some(1),
                Some(_) => {
                    flawed = true; // chunk 0 is missing
                    first.chunk.map(|c| c.saturating_add(1))
                }
            };
            let plain = first.chunk.is_none();
            let mut bytes = first.bytes;
            while let Some(more) = pieces.next_if(|p| p.arg == arg) {
                match (next_chunk, more.chunk) {
                    (Some(expected), Some(c)) if c == expected => {}
                    (Some(expected), Some(c)) if c > expected => flawed = true, // gap
                    _ => {
                        flawed = true; // duplicate, or `aN=` beside `aN[i]=`: keep the first
                        continue;
                    }
                }
                next_chunk = more.chunk.map(|c| c.saturating_add(1));
                written = written.saturating_add(more.written_len as u64);
                bytes.extend_from_slice(&more.bytes);
            }
            match declared {
                Some(len) if len != written => flawed = true,
                None if !plain => flawed = true, // chunks without `aN_len`
                _ => {}
            }
            args.push(bytes);
        }
        if lens.next().is_some() {
            flawed = true; // a length for an argument that never came
        }
        let complete = !flawed && argc.is_some_and(|n| u64::from(n) == args.len() as u64);
        Argv {
            args,
            argc,
            complete,
        }
    }
}

/// Reassembles the EXECVE records of one event in one call; errors are folded into `complete`.
pub fn reassemble<'a, 'b>(bodies: impl IntoIterator<Item = &'b Body<'a>>) -> Argv
where
    'a: 'b,
{
    let mut builder = ArgvBuilder::new();
    for body in bodies {
        let _ = builder.push(body);
    }
    builder.finish()
}

fn piece(arg: u32, chunk: Option<u32>, value: &Value) -> Result<Piece, &'static str> {
    let (bytes, written_len) = match *value {
        Value::Quoted(q) => (q.to_vec(), q.len()),
        // Empty, odd-length or non-hex bare tokens are kept as written.
        Value::Bare(b) => (hex::decode(b).unwrap_or_else(|| b.to_vec()), b.len()),
        Value::Null => (b"(null)".to_vec(), 6),
        Value::Unset => (b"?".to_vec(), 1),
        Value::Nested(_) => return Err("EXECVE argument holds a nested `'…'` value"),
    };
    Ok(Piece {
        arg,
        chunk,
        bytes,
        written_len,
    })
}

/// `Ok(None)`: not an EXECVE key. `Err`: looks like an argument key (`a` + digit) but is malformed.
fn classify(key: &[u8]) -> Result<Option<ArgKey>, &'static str> {
    if key == b"argc" {
        return Ok(Some(ArgKey::Argc));
    }
    let rest = match key {
        [b'a', rest @ ..] if rest.first().is_some_and(u8::is_ascii_digit) => rest,
        _ => return Ok(None),
    };
    const BAD: &str = "malformed EXECVE argument key";
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let arg = parse_u32(&rest[..digits]).ok_or(BAD)?;
    match &rest[digits..] {
        b"" => Ok(Some(ArgKey::Arg(arg))),
        b"_len" => Ok(Some(ArgKey::Len(arg))),
        [b'[', inner @ .., b']'] => Ok(Some(ArgKey::Chunk(arg, parse_u32(inner).ok_or(BAD)?))),
        _ => Err(BAD),
    }
}

fn parse_u32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Renders `args` as one POSIX shell command line: words made only of `A-Z a-z 0-9 _ - . / , : = @
/// % +` as is, every other word (and the empty word) in single quotes, a `'` inside as `'\''`.
/// Bytes that are not UTF-8 become U+FFFD (the exact bytes live in the argument vector).
pub fn shell_quote(args: &[Vec<u8>]) -> String {
    let mut out = String::with_capacity(args.iter().map(|a| a.len() + 3).sum());
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let word = String::from_utf8_lossy(arg);
        if !word.is_empty() && word.bytes().all(is_shell_safe) {
            out.push_str(&word);
        } else {
            out.push('\'');
            for c in word.chars() {
                if c == '\'' {
                    out.push_str("'\\''");
                } else {
                    out.push(c);
                }
            }
            out.push('\'');
        }
    }
    out
}

fn is_shell_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_-./,:=@%+".contains(&b)
}

#[cfg(test)]
mod tests;
