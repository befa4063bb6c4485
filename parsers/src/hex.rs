//! Linear-time hex decoding of the values auditd hex-encodes (untrusted strings).
//!
//! Unlike a `take_while_m_n` loop that re-scans the input for every byte pair, this walks the
//! input once: decoding an N-byte value costs O(N).

/// Decodes an even-length string of hex digits (either case). `None` if the length is odd or any
/// byte is not a hex digit.
pub fn decode(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 2);
    for pair in s.chunks_exact(2) {
        out.push((nibble(pair[0])? << 4) | nibble(pair[1])?);
    }
    Some(out)
}

/// True if `s` is non-empty, even-length and all hex digits: the shape auditd gives to an
/// untrusted string it had to encode.
pub fn is_hex(s: &[u8]) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.iter().all(u8::is_ascii_hexdigit)
}

/// Encodes bytes as upper-case hex, the way auditd does.
pub fn encode_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

#[inline]
fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_auditd_hex() {
        assert_eq!(decode(b"2F746D70").as_deref(), Some(&b"/tmp"[..]));
        assert_eq!(decode(b"2f746d70").as_deref(), Some(&b"/tmp"[..]));
        assert_eq!(decode(b"2F7"), None);
        assert_eq!(decode(b"2G"), None);
        assert!(!is_hex(b""));
        assert!(is_hex(b"00ff"));
    }

    proptest! {
        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert_eq!(decode(encode_upper(&bytes).as_bytes()), Some(bytes));
        }
    }
}
