//! The one error type every parser returns: what went wrong, where, and the offending bytes
//! (abbreviated, escaped) so that an operator can find the line.

use std::fmt;

/// A parse failure. `offset` is the byte offset in the parser's input where it gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was expected or found, e.g. "expected `msg=audit(`".
    pub what: &'static str,
    /// Byte offset in the input at which parsing failed.
    pub offset: usize,
    /// Up to 48 bytes of input starting at `offset`, escaped for display.
    pub near: String,
    /// Optional detail that a fixed `what` cannot hold, e.g. serde's "missing field `decision`".
    pub detail: Option<String>,
}

/// How many input bytes an error message quotes.
const NEAR_LEN: usize = 48;

impl ParseError {
    /// Builds an error for `input` failing at `offset`.
    pub fn new(what: &'static str, input: &[u8], offset: usize) -> Self {
        let offset = offset.min(input.len());
        let end = (offset + NEAR_LEN).min(input.len());
        let mut near = escape_for_display(&input[offset..end]);
        if end < input.len() {
            near.push('…');
        }
        ParseError {
            what,
            offset,
            near,
            detail: None,
        }
    }

    /// The same error with a detail message, shown after the rest by `Display`.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte {} near \"{}\"",
            self.what, self.offset, self.near
        )?;
        match &self.detail {
            Some(detail) => write!(f, ": {detail}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for ParseError {}

/// Printable ASCII as is, everything else as `\xNN`.
pub fn escape_for_display(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_quotes_abbreviated_escaped_input() {
        let input = [b"type=X \x01".as_slice(), &[b'a'; 100]].concat();
        let e = ParseError::new("expected `msg=`", &input, 5);
        assert_eq!(e.offset, 5);
        assert!(e.near.starts_with("X \\x01aaa"), "{}", e.near);
        assert!(e.near.ends_with('…'));
        assert!(e.to_string().starts_with("expected `msg=` at byte 5 near"));
    }
}
