//! Renders audit records the way the kernel and auditd write them to `audit.log` (RAW format).
//!
//! In: record contents (argument vectors, paths, ids). Out: bytes appended to an [`EventLines`],
//! one `\n`-terminated line per record, with the line ends remembered so that two events can be
//! interleaved record by record. Encoding follows the kernel: untrusted strings are quoted unless
//! they hold `"`, a byte below 0x21 or above 0x7e, then upper-case hex; EXECVE arguments are split
//! into `aN_len=`/`aN[i]=` chunks exactly as `audit_log_execve_info` does (7,500-byte records);
//! PROCTITLE is the NUL-joined command line cut at 128 bytes with trailing NULs trimmed.

use std::io::Write;

/// The kernel's `MAX_EXECVE_AUDIT_LEN`: the byte budget of one EXECVE record's arguments.
pub const MAX_EXECVE_AUDIT_LEN: usize = 7500;
/// The kernel's `MAX_PROCTITLE_AUDIT_LEN`.
pub const MAX_PROCTITLE_AUDIT_LEN: usize = 128;
/// `sizeof(abuf)` in `audit_log_execve_info`: room reserved for one argument's `aN…=` prefix.
const EXECVE_ABUF: usize = 96;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// The `msg=audit(SECONDS.MILLIS:SERIAL)` stamp shared by the records of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub millis: u64,
    pub serial: u64,
}

/// The records of one event (or of a few), as bytes plus the end offset of every line.
#[derive(Debug, Default)]
pub struct EventLines {
    pub buf: Vec<u8>,
    pub ends: Vec<usize>,
    /// No field written yet in the current record (the header ends with a space already).
    fresh: bool,
}

impl EventLines {
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    pub fn records(&self) -> usize {
        self.ends.len()
    }

    /// Line `i`, newline included.
    pub fn line(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }

    /// Starts a record: `type=TYPE msg=audit(S.mmm:N): ` (with the kernel's trailing space; field
    /// writers add a space before every field but the first).
    pub fn begin(&mut self, rtype: &str, stamp: Stamp) {
        self.buf.extend_from_slice(b"type=");
        self.buf.extend_from_slice(rtype.as_bytes());
        self.buf.extend_from_slice(b" msg=audit(");
        push_u64(&mut self.buf, stamp.millis / 1000);
        self.buf.push(b'.');
        let ms = stamp.millis % 1000;
        self.buf.push(b'0' + (ms / 100) as u8);
        self.buf.push(b'0' + (ms / 10 % 10) as u8);
        self.buf.push(b'0' + (ms % 10) as u8);
        self.buf.push(b':');
        push_u64(&mut self.buf, stamp.serial);
        self.buf.extend_from_slice(b"): ");
        self.fresh = true;
    }

    /// Ends the current record.
    pub fn end(&mut self) {
        self.buf.push(b'\n');
        self.ends.push(self.buf.len());
    }

    /// ` key=` (a field's start).
    pub fn key(&mut self, key: &str) -> &mut Self {
        if !std::mem::take(&mut self.fresh) {
            self.buf.push(b' ');
        }
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.push(b'=');
        self
    }

    /// ` key=value` with the value written as is.
    pub fn raw(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        self.buf.extend_from_slice(value.as_bytes());
        self
    }

    /// ` key=123`.
    pub fn num(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        push_u64(&mut self.buf, value);
        self
    }

    /// ` key=-2` and the like.
    pub fn signed(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        if value < 0 {
            self.buf.push(b'-');
        }
        push_u64(&mut self.buf, value.unsigned_abs());
        self
    }

    /// ` key=7ffc2faa21d0` (lower-case hex, as SYSCALL's `aN` registers).
    pub fn hex_lower(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        let _ = write!(self.buf, "{value:x}");
        self
    }

    /// ` key="text"`, or ` key=HEX` when the kernel would encode it (untrusted string).
    pub fn untrusted(&mut self, key: &str, value: &[u8]) -> &mut Self {
        self.key(key);
        push_untrusted(&mut self.buf, value);
        self
    }

    /// ` key="text"` without any encoding check (trusted text such as `key="command_execution"`).
    pub fn quoted(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        self.buf.push(b'"');
        self.buf.extend_from_slice(value.as_bytes());
        self.buf.push(b'"');
        self
    }

    /// Appends bytes verbatim (for `msg='…'` bodies).
    pub fn text(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// The EXECVE record(s) of `argv`: `argc=N a0=… a1=…`, continued in further EXECVE records
    /// (`):  a1[1]=…`, two spaces, as the kernel writes) when the arguments exceed one record.
    pub fn execve(&mut self, stamp: Stamp, argv: &[&[u8]]) {
        self.begin("EXECVE", stamp);
        self.num("argc", argv.len() as u64);
        let mut len_rem = MAX_EXECVE_AUDIT_LEN;
        for (index, arg) in argv.iter().enumerate() {
            self.execve_arg(stamp, index, arg, &mut len_rem);
        }
        self.end();
    }

    /// One argument of `audit_log_execve_info`, simulated on the whole argument in memory.
    fn execve_arg(&mut self, stamp: Stamp, index: usize, arg: &[u8], len_rem: &mut usize) {
        let mut fetched = 0usize; // bytes of `arg` copied into the kernel's buffer so far
        let mut buf_start = 0usize; // first byte of `arg` still in the buffer, not yet logged
        let mut len_buf = 0usize;
        let mut len_abuf = 0usize;
        let mut len_full = arg.len();
        let mut require_data = true;
        let mut encode = false;
        let mut iter = 0usize;
        loop {
            if require_data {
                let room = MAX_EXECVE_AUDIT_LEN - len_buf;
                let avail = arg.len() - fetched;
                let got;
                if avail >= room {
                    got = room;
                    encode = true;
                    if iter == 0 {
                        len_full *= 2;
                    }
                } else {
                    got = avail;
                    require_data = false;
                    if !encode {
                        encode = contains_control(&arg[buf_start..buf_start + len_buf + got]);
                    }
                    if len_full < MAX_EXECVE_AUDIT_LEN {
                        len_full = if encode {
                            (len_buf + got) * 2
                        } else {
                            len_buf + got
                        };
                    }
                }
                fetched += got;
                len_buf += got;
                len_abuf = if encode { len_buf * 2 } else { len_buf + 2 };
            }
            if EXECVE_ABUF + 8 > *len_rem {
                *len_rem = MAX_EXECVE_AUDIT_LEN;
                self.end();
                self.begin("EXECVE", stamp);
            }
            let prefix_start = self.buf.len();
            self.buf.extend_from_slice(b" a");
            push_u64(&mut self.buf, index as u64);
            if require_data || iter > 0 || len_abuf + EXECVE_ABUF > *len_rem {
                if iter == 0 {
                    self.buf.extend_from_slice(b"_len=");
                    push_u64(&mut self.buf, len_full as u64);
                    self.buf.extend_from_slice(b" a");
                    push_u64(&mut self.buf, index as u64);
                }
                self.buf.push(b'[');
                push_u64(&mut self.buf, iter as u64);
                self.buf.extend_from_slice(b"]=");
                iter += 1;
            } else {
                self.buf.push(b'=');
            }
            *len_rem -= self.buf.len() - prefix_start;
            let mut take = len_buf;
            let chunk_start = buf_start;
            if encode {
                if len_abuf > *len_rem {
                    take = *len_rem / 2;
                }
                push_hex(&mut self.buf, &arg[chunk_start..chunk_start + take]);
                *len_rem -= take * 2;
                len_abuf -= take * 2;
            } else {
                if len_abuf > *len_rem {
                    take = *len_rem - 2;
                }
                self.buf.push(b'"');
                self.buf
                    .extend_from_slice(&arg[chunk_start..chunk_start + take]);
                self.buf.push(b'"');
                *len_rem -= take + 2;
                len_abuf -= take;
            }
            len_buf -= take;
            buf_start += take;
            if len_buf == 0 && !require_data {
                return;
            }
        }
    }

    /// The PROCTITLE record of `argv`.
    pub fn proctitle(&mut self, stamp: Stamp, argv: &[&[u8]]) {
        let mut cmdline = [0u8; MAX_PROCTITLE_AUDIT_LEN];
        let mut len = 0;
        'args: for arg in argv {
            for &b in arg.iter().chain(std::iter::once(&0u8)) {
                if len == MAX_PROCTITLE_AUDIT_LEN {
                    break 'args;
                }
                cmdline[len] = b;
                len += 1;
            }
        }
        while len > 0 && cmdline[len - 1] == 0 {
            len -= 1;
        }
        self.begin("PROCTITLE", stamp);
        self.untrusted("proctitle", &cmdline[..len]);
        self.end();
    }
}

/// True if the kernel would hex-encode `bytes` (`audit_string_contains_control`).
pub fn contains_control(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .any(|&b| b == b'"' || !(0x21..=0x7e).contains(&b))
}

/// `"text"` or upper-case hex, as `audit_log_n_untrustedstring` writes it.
pub fn push_untrusted(out: &mut Vec<u8>, value: &[u8]) {
    if contains_control(value) {
        push_hex(out, value);
    } else {
        out.push(b'"');
        out.extend_from_slice(value);
        out.push(b'"');
    }
}

/// Upper-case hex of `bytes`.
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(HEX_UPPER[usize::from(b >> 4)]);
        out.push(HEX_UPPER[usize::from(b & 0xf)]);
    }
}

/// Decimal digits of `v`.
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAMP: Stamp = Stamp {
        millis: 1_615_150_974_493,
        serial: 21_028,
    };

    fn lines(ev: &EventLines) -> Vec<String> {
        (0..ev.records())
            .map(|i| String::from_utf8_lossy(ev.line(i)).trim_end().to_string())
            .collect()
    }

    #[test]
    fn short_arguments_quoted_or_hex_like_the_kernel() {
        let mut ev = EventLines::default();
        ev.execve(
            STAMP,
            &[b"printf", b"tab\there", b"", b"caf\xc3\xa9", b"x\"y"],
        );
        assert_eq!(
            lines(&ev),
            vec![
                "type=EXECVE msg=audit(1615150974.493:21028): argc=5 a0=\"printf\" \
                 a1=7461620968657265 a2=\"\" a3=636166C3A9 a4=782279"
            ]
        );
    }

    #[test]
    fn long_argument_split_like_the_corpus_record() {
        // Same shape as laurel's record-execve-long.txt: an 8,192-byte plain argument is forced
        // to hex, a1_len counts hex digits, chunks of 7,464, 7,492 and 1,428 digits.
        let mut long = vec![b'a'; 8192];
        long[0] = b'b';
        let mut ev = EventLines::default();
        ev.execve(STAMP, &[b"/bin/echo", &long]);
        let got = lines(&ev);
        assert_eq!(got.len(), 3);
        let prefix = "type=EXECVE msg=audit(1615150974.493:21028): argc=2 a0=\"/bin/echo\" a1_len=16384 a1[0]=";
        assert!(got[0].starts_with(prefix));
        assert_eq!(got[0].len() - prefix.len(), 7464);
        let cont1 = "type=EXECVE msg=audit(1615150974.493:21028):  a1[1]=";
        assert!(got[1].starts_with(cont1));
        assert_eq!(got[1].len() - cont1.len(), 7492);
        let cont2 = "type=EXECVE msg=audit(1615150974.493:21028):  a1[2]=";
        assert_eq!(got[2].len() - cont2.len(), 1428);
        let hex: String = [
            &got[0][prefix.len()..],
            &got[1][cont1.len()..],
            &got[2][cont2.len()..],
        ]
        .concat();
        let decoded: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(decoded, long);
    }

    #[test]
    fn proctitle_quoted_word_or_capped_hex() {
        let mut ev = EventLines::default();
        ev.proctitle(STAMP, &[b"tty"]);
        let long = vec![b'z'; 300];
        ev.proctitle(STAMP, &[b"bash", b"-c", &long]);
        let got = lines(&ev);
        assert!(got[0].ends_with("proctitle=\"tty\""));
        let hex = got[1].rsplit('=').next().unwrap();
        assert_eq!(hex.len(), 2 * MAX_PROCTITLE_AUDIT_LEN);
        assert!(hex.starts_with("62617368002D63007A7A"));
    }

    #[test]
    fn header_pads_millis() {
        let mut ev = EventLines::default();
        ev.begin(
            "CWD",
            Stamp {
                millis: 1_700_000_000_007,
                serial: 9,
            },
        );
        ev.untrusted("cwd", b"/home/a b");
        ev.end();
        assert_eq!(
            lines(&ev),
            vec!["type=CWD msg=audit(1700000000.007:9): cwd=2F686F6D652F612062"]
        );
    }
}
