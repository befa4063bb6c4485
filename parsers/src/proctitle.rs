//! PROCTITLE: the process's command line as the kernel saw it, truncated by auditd at 128 bytes.
//!
//! In: the `proctitle=` [`Value`] of a PROCTITLE record. Out: a [`Proctitle`], the argument vector
//! as exact bytes. The kernel writes `proctitle="word"` when the command line is one printable
//! word, else upper-case hex of the arguments joined by NUL bytes. A terminating NUL ends the last
//! argument rather than starting an empty one. The 128-byte cap is normal, so the last argument is
//! often cut short; [`Proctitle::truncated`] says when the length makes that likely.
//! Never fails: a bare token that is not hex is taken as one literal argument; `(null)`, `?` and
//! nested values give an empty vector. Linear time; output no larger than the input.

use crate::audit::Value;
use crate::hex;

/// Longest command line the kernel logs in a PROCTITLE record (`MAX_PROCTITLE_AUDIT_LEN`).
pub const MAX_PROCTITLE_LEN: usize = 128;

/// A decoded `proctitle=` value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Proctitle {
    /// The arguments, exact bytes.
    pub argv: Vec<Vec<u8>>,
    /// The decoded command line is [`MAX_PROCTITLE_LEN`] bytes or longer: almost certainly cut.
    pub truncated: bool,
}

/// Decodes a `proctitle=` value into its argument vector.
pub fn parse_proctitle(value: &Value) -> Proctitle {
    let bytes = match *value {
        Value::Quoted(q) => {
            return Proctitle {
                argv: vec![q.to_vec()],
                truncated: q.len() >= MAX_PROCTITLE_LEN,
            }
        }
        Value::Bare(b) => match hex::decode(b) {
            Some(decoded) => decoded,
            None => {
                return Proctitle {
                    argv: vec![b.to_vec()],
                    truncated: false,
                }
            }
        },
        Value::Null | Value::Unset | Value::Nested(_) => return Proctitle::default(),
    };
    Proctitle {
        truncated: bytes.len() >= MAX_PROCTITLE_LEN,
        argv: split_nul_joined(&bytes),
    }
}

/// Splits NUL-joined arguments; one trailing NUL terminates the last argument.
pub fn split_nul_joined(bytes: &[u8]) -> Vec<Vec<u8>> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let body = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    body.split(|&b| b == 0).map(<[u8]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::parse_record;

    #[test]
    fn quoted_is_one_word() {
        let p = parse_proctitle(&Value::Quoted(b"whoami"));
        assert_eq!(p.argv, vec![b"whoami".to_vec()]);
        assert!(!p.truncated);
    }

    #[test]
    fn hex_is_nul_joined_argv() {
        // "ssm-session-worker\0carol-0a0b…\0i-0123…" from the VM capture.
        let p = parse_proctitle(&Value::Bare(
            b"73736D2D73657373696F6E2D776F726B6572006361726F6C2D306130623063306430653066303132333400692D3031323334353637383961626364656630",
        ));
        assert_eq!(
            p.argv,
            vec![
                b"ssm-session-worker".to_vec(),
                b"carol-0a0b0c0d0e0f01234".to_vec(),
                b"i-0123456789abcdef0".to_vec()
            ]
        );
        assert!(!p.truncated);
    }

    #[test]
    fn keeps_empty_and_non_utf8_arguments() {
        let p = parse_proctitle(&Value::Bare(b"6563686F0000FF2000"));
        assert_eq!(
            p.argv,
            vec![b"echo".to_vec(), b"".to_vec(), b"\xff ".to_vec()]
        );
    }

    #[test]
    fn truncated_at_128_bytes() {
        let mut cmdline = b"/bin/echo\0".to_vec();
        cmdline.resize(MAX_PROCTITLE_LEN, b'a');
        let hexed = hex::encode_upper(&cmdline);
        let p = parse_proctitle(&Value::Bare(hexed.as_bytes()));
        assert!(p.truncated);
        assert_eq!(p.argv.len(), 2);
        assert_eq!(p.argv[1], vec![b'a'; MAX_PROCTITLE_LEN - 10]);
    }

    #[test]
    fn odd_or_non_hex_bare_is_literal_and_null_is_empty() {
        assert_eq!(
            parse_proctitle(&Value::Bare(b"abc")).argv,
            vec![b"abc".to_vec()]
        );
        assert_eq!(
            parse_proctitle(&Value::Bare(b"zz")).argv,
            vec![b"zz".to_vec()]
        );
        assert!(parse_proctitle(&Value::Null).argv.is_empty());
        assert!(parse_proctitle(&Value::Unset).argv.is_empty());
        assert!(parse_proctitle(&Value::Bare(b"")).argv.is_empty());
    }

    #[test]
    fn through_parse_record() {
        let line = b"type=PROCTITLE msg=audit(1626611363.720:348501): proctitle=7065726C002D650075736520536F636B6574";
        let rec = parse_record(line).unwrap();
        let p = parse_proctitle(rec.body.get(b"proctitle").unwrap());
        assert_eq!(
            p.argv,
            vec![b"perl".to_vec(), b"-e".to_vec(), b"use Socket".to_vec()]
        );
    }
}
