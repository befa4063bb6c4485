//! The body of an audit line: `key=value` fields, a nested `msg='…'` list, free text, and the
//! ENRICHED fields after `\x1d`.
//!
//! In: the bytes after the header (without the line end). Out: a [`Body`] that borrows every key
//! and value from the input. Never fails: a token that is not `key=value` is free text, kept in
//! [`Body::text`]. One pass over the input (`memchr` for spaces and quotes, a byte table for keys),
//! so the cost is linear in the length whatever the bytes are; only the field `Vec`s allocate.
//!
//! Rules, as auditd writes:
//! - fields are separated by one or more spaces; a key is `[A-Za-z0-9_\-\[\]]+` followed by `=`;
//! - `"…"` is [`Value::Quoted`] up to the next `"` (auditd never escapes inside quotes; a value
//!   without its closing quote runs to the end of its segment);
//! - `(null)` is [`Value::Null`], `?` is [`Value::Unset`], anything else up to the next space is
//!   [`Value::Bare`] (`subj= res=…` gives an empty bare value); a bare token that is hex followed by
//!   one stray `"` (go-libaudit's `key=65786563013634626974"`) loses the quote;
//! - `'…'` (user-space `msg='…'`) is [`Value::Nested`] up to the *last* `'` of the raw part, since
//!   the nested list may itself hold a `'` (`acct="o'brien"`); inside it `'` has no meaning, so
//!   nesting is one level deep;
//! - `{ … }` (ENRICHED `SADDR={ fam=local path=/tmp/s }`) is one [`Value::Bare`] up to the next
//!   ` }`, braces included;
//! - the first `\x1d` (GS) ends the raw part; the ENRICHED fields after it go to
//!   [`Body::enriched`] (free text there is dropped; the nested rule does not apply there);
//! - free text (`auditd start,`, `PAM: setcred`, `avc:  denied  { read } for`) is kept as one
//!   verbatim slice from the first free-text token to the end of the last one; fields found in
//!   between are still parsed as fields.

use memchr::{memchr, memmem, memrchr};
use nom::IResult;

use super::{Body, Field, Value};
use crate::hex;

/// The ENRICHED separator, ASCII group separator.
const GS: u8 = 0x1d;

/// Bytes that may form a key.
static KEY_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'[' | b']');
        b += 1;
    }
    table
};

/// Parses a body. nom-style: consumes all of `input`, never returns an error.
pub(super) fn body(input: &[u8]) -> IResult<&[u8], Body<'_>> {
    let (raw, enriched_part) = match memchr(GS, input) {
        Some(gs) => (&input[..gs], Some(&input[gs + 1..])),
        None => (input, None),
    };
    let mut fields = Vec::with_capacity(capacity_for(raw.len()));
    let text = fields_into(raw, Nesting::Allowed, &mut fields);
    let mut enriched = Vec::new();
    if let Some(part) = enriched_part {
        enriched.reserve(capacity_for(part.len()));
        fields_into(part, Nesting::None, &mut enriched);
    }
    let body = Body {
        fields,
        enriched,
        text,
    };
    Ok((&input[input.len()..], body))
}

/// A guess at the number of fields in `len` bytes. Realistic records average 11–15 bytes a field
/// and guessing a little high is cheaper than growing once; the cap keeps one 8 KB hex argument
/// from reserving hundreds of slots.
fn capacity_for(len: usize) -> usize {
    (len / 10 + 2).min(64)
}

/// Whether a `'` value opens a nested list (top level) or is just a bare token (inside one).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nesting {
    Allowed,
    None,
}

/// Parses the space-separated tokens of `seg` into `out`; returns the free-text span, if any.
fn fields_into<'a>(seg: &'a [u8], nesting: Nesting, out: &mut Vec<Field<'a>>) -> Option<&'a [u8]> {
    let len = seg.len();
    let mut pos = 0;
    let mut text: Option<(usize, usize)> = None;
    let mut braces_close = true;
    while pos < len {
        if seg[pos] == b' ' {
            pos += 1;
            continue;
        }
        let start = pos;
        let mut key_end = pos;
        while key_end < len && KEY_BYTE[usize::from(seg[key_end])] {
            key_end += 1;
        }
        if key_end > start && key_end < len && seg[key_end] == b'=' {
            let (value, next) = value_at(seg, key_end + 1, nesting, &mut braces_close);
            out.push(Field {
                key: &seg[start..key_end],
                value,
            });
            pos = next;
        } else {
            let end = space_or_end(seg, key_end);
            text = Some((text.map_or(start, |(first, _)| first), end));
            pos = end;
        }
    }
    text.map(|(first, last)| &seg[first..last])
}

/// The value starting at `at` (just after `=`) and the offset where the next token may start.
/// `braces_close` is false once a search for ` }` has failed in this segment.
fn value_at<'a>(
    seg: &'a [u8],
    at: usize,
    nesting: Nesting,
    braces_close: &mut bool,
) -> (Value<'a>, usize) {
    let len = seg.len();
    match seg.get(at) {
        None | Some(b' ') => (Value::Bare(&seg[at..at]), at),
        Some(b'"') => match memchr(b'"', &seg[at + 1..]) {
            Some(close) => (Value::Quoted(&seg[at + 1..at + 1 + close]), at + close + 2),
            None => (Value::Quoted(&seg[at + 1..]), len),
        },
        Some(b'\'') if nesting == Nesting::Allowed => {
            let (inner, next) = match memrchr(b'\'', &seg[at + 1..]) {
                Some(close) => (&seg[at + 1..at + 1 + close], at + close + 2),
                None => (&seg[at + 1..], len),
            };
            (Value::Nested(nested_body(inner)), next)
        }
        Some(b'{') if *braces_close && seg.get(at + 1) == Some(&b' ') => {
            match memmem::find(&seg[at..], b" }") {
                Some(close) => (Value::Bare(&seg[at..at + close + 2]), at + close + 2),
                None => {
                    // No ` }` up to the end: later `{` values need not look again (keeps it linear).
                    *braces_close = false;
                    let end = space_or_end(seg, at);
                    (Value::Bare(&seg[at..end]), end)
                }
            }
        }
        Some(_) => {
            let end = space_or_end(seg, at);
            (bare_value(&seg[at..end]), end)
        }
    }
}

/// The list inside `msg='…'`.
fn nested_body(inner: &[u8]) -> Body<'_> {
    let mut fields = Vec::with_capacity(capacity_for(inner.len()));
    let text = fields_into(inner, Nesting::None, &mut fields);
    Body {
        fields,
        enriched: Vec::new(),
        text,
    }
}

fn bare_value(token: &[u8]) -> Value<'_> {
    match token {
        b"(null)" => Value::Null,
        b"?" => Value::Unset,
        [hex_digits @ .., b'"'] if hex::is_hex(hex_digits) => Value::Bare(hex_digits),
        _ => Value::Bare(token),
    }
}

/// Offset of the next space at or after `from`, or `seg.len()`.
fn space_or_end(seg: &[u8], from: usize) -> usize {
    memchr(b' ', &seg[from..]).map_or(seg.len(), |i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(input: &[u8]) -> Body<'_> {
        body(input).unwrap().1
    }

    fn field<'a>(key: &'a str, value: Value<'a>) -> Field<'a> {
        Field {
            key: key.as_bytes(),
            value,
        }
    }

    #[test]
    fn splits_fields_of_every_value_kind() {
        let b = parse(b"a0=3 comm=\"my prog\" tty=(none) key=(null) auid=? subj= res=1");
        assert_eq!(
            b.fields,
            vec![
                field("a0", Value::Bare(b"3")),
                field("comm", Value::Quoted(b"my prog")),
                field("tty", Value::Bare(b"(none)")),
                field("key", Value::Null),
                field("auid", Value::Unset),
                field("subj", Value::Bare(b"")),
                field("res", Value::Bare(b"1")),
            ]
        );
        assert_eq!((b.text, b.enriched.len()), (None, 0));
    }

    #[test]
    fn braced_enriched_value_is_one_token() {
        let b = parse(b"saddr=0100\x1dSADDR={ fam=local path=/tmp/.{FD2D-AE} } X=1");
        assert_eq!(b.enriched.len(), 2);
        assert_eq!(
            b.enriched[0],
            field("SADDR", Value::Bare(b"{ fam=local path=/tmp/.{FD2D-AE} }"))
        );
        assert_eq!(b.enriched[1], field("X", Value::Bare(b"1")));
        let open = parse(b"S={ fam=x");
        assert_eq!(open.fields[0], field("S", Value::Bare(b"{")));
        assert_eq!(open.text, None);
        assert_eq!(open.fields[1], field("fam", Value::Bare(b"x")));
    }

    #[test]
    fn unterminated_quote_runs_to_the_end() {
        let b = parse(b"a=1 name=\"/tmp/x y");
        assert_eq!(b.fields[1], field("name", Value::Quoted(b"/tmp/x y")));
    }

    #[test]
    fn free_text_span_covers_first_to_last_non_field_token() {
        let b = parse(b"login pid=13015 uid=0 old auid=4294967295 new auid=0");
        assert_eq!(
            b.text,
            Some(&b"login pid=13015 uid=0 old auid=4294967295 new"[..])
        );
        assert_eq!(b.fields.len(), 4);
        assert_eq!(b.fields[3], field("auid", Value::Bare(b"0")));
        let all_text = parse(b"  audit daemon is exiting ");
        assert_eq!(all_text.text, Some(&b"audit daemon is exiting"[..]));
        assert!(all_text.fields.is_empty());
    }

    #[test]
    fn nested_list_ends_at_the_last_quote_and_keeps_inner_quotes() {
        let b = parse(b"pid=1 msg='op=x acct=\"o'brien\" res=success' tail=1");
        let nested = b.nested().unwrap();
        assert_eq!(nested.get(b"acct"), Some(&Value::Quoted(b"o'brien")));
        assert_eq!(nested.get(b"res"), Some(&Value::Bare(b"success")));
        assert_eq!(b.get(b"tail"), Some(&Value::Bare(b"1")));
        let open = parse(b"msg='op=x res=failed");
        assert_eq!(
            open.nested().unwrap().get(b"res"),
            Some(&Value::Bare(b"failed"))
        );
    }

    #[test]
    fn gs_starts_enriched_fields_even_without_a_space() {
        let b = parse(b"key=(null)\x1dARCH=x86_64 SYSCALL=execve AUID=\"user\"");
        assert_eq!(b.fields, vec![field("key", Value::Null)]);
        assert_eq!(
            b.enriched,
            vec![
                field("ARCH", Value::Bare(b"x86_64")),
                field("SYSCALL", Value::Bare(b"execve")),
                field("AUID", Value::Quoted(b"user")),
            ]
        );
    }

    #[test]
    fn stray_quote_after_hex_is_dropped_but_not_after_other_tokens() {
        let b = parse(b"key=65786563013634626974\" x=abc\" y=\"");
        assert_eq!(b.get(b"key"), Some(&Value::Bare(b"65786563013634626974")));
        assert_eq!(b.get(b"x"), Some(&Value::Bare(b"abc\"")));
        assert_eq!(b.get(b"y"), Some(&Value::Quoted(b"")));
    }

    #[test]
    fn keys_with_odd_bytes_are_text() {
        let b = parse(b"(hostname=?, addr=?, terminal=cron res=success)");
        assert_eq!(b.text, Some(&b"(hostname=?,"[..]));
        assert_eq!(b.get(b"addr"), Some(&Value::Bare(b"?,")));
        assert_eq!(b.get(b"res"), Some(&Value::Bare(b"success)")));
        let empty_key = parse(b"=x");
        assert_eq!(
            (empty_key.text, empty_key.fields.len()),
            (Some(&b"=x"[..]), 0)
        );
    }

    #[test]
    fn a_megabyte_hex_value_is_one_field() {
        let mut line = b"argc=2 a0=\"x\" a1=".to_vec();
        line.extend(std::iter::repeat_n(b'A', 1 << 20));
        let b = parse(&line);
        assert_eq!(b.fields.len(), 3);
        assert_eq!(b.text_of(b"a1").map(|v| v.len()), Some(1 << 20));
    }

    fn key() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_]{0,8}(\\[[0-9]{1,2}\\])?"
    }

    fn value() -> impl Strategy<Value = (String, Value<'static>)> {
        prop_oneof![
            "[ -!#-~]{0,12}".prop_map(|s| (format!("\"{s}\""), Value::Quoted(b""))),
            "[!#-&(-~]{1,12}".prop_map(|s| (s, Value::Bare(b""))),
            Just(("(null)".to_string(), Value::Null)),
            Just(("?".to_string(), Value::Unset)),
        ]
    }

    proptest! {
        #[test]
        fn generated_fields_round_trip(
            fields in proptest::collection::vec((key(), value(), 1usize..3), 0..20),
        ) {
            let mut line = String::new();
            for (k, (v, _), spaces) in &fields {
                line.push_str(k);
                line.push('=');
                line.push_str(v);
                line.push_str(&" ".repeat(*spaces));
            }
            let b = parse(line.as_bytes());
            prop_assert_eq!(b.fields.len(), fields.len());
            prop_assert_eq!(b.text, None);
            for (got, (k, (v, kind), _)) in b.fields.iter().zip(&fields) {
                prop_assert_eq!(got.key, k.as_bytes());
                let expected = match kind {
                    Value::Quoted(_) => Value::Quoted(&v.as_bytes()[1..v.len() - 1]),
                    Value::Bare(_) => bare_value(v.as_bytes()),
                    other => other.clone(),
                };
                prop_assert_eq!(&got.value, &expected);
            }
        }

        #[test]
        fn every_byte_lands_somewhere_without_panic(input in proptest::collection::vec(any::<u8>(), 0..400)) {
            let b = parse(&input);
            for f in b.fields.iter().chain(&b.enriched) {
                prop_assert!(!f.key.is_empty());
                prop_assert!(f.key.iter().all(|&c| KEY_BYTE[usize::from(c)]));
            }
        }
    }
}
