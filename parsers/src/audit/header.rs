//! The header of an audit line: `[node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL):`.
//!
//! In: one line (no `\n`; a trailing `\r` is ignored). Out: a [`Header`] whose `body_start` points
//! at the first body byte, or a [`ParseError`] naming the part that is malformed. Written with nom
//! combinators; reads only the header bytes, so its cost does not grow with the body.
//!
//! A line whose `msg=` is not an `audit(…)` stamp (`type=UNKNOWN[1329] msg=?`) still has a valid
//! header: its time and serial are 0 and its body starts at `msg=`, so the body keeps `msg=?`.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_while, take_while1, take_while_m_n};
use nom::character::complete::{char, u32 as dec_u32, u64 as dec_u64};
use nom::combinator::{map, map_res, opt};
use nom::sequence::{delimited, terminated};
use nom::IResult;

use super::{AuditTime, Header, RecordType};
use crate::error::ParseError;

type NomResult<'a, T> = IResult<&'a [u8], T>;

/// Parses the header of `line` (see the module docs).
pub(super) fn parse(line: &[u8]) -> Result<Header<'_>, ParseError> {
    let line = trim_line_end(line);
    let offset_of = |rest: &[u8]| line.len() - rest.len();
    let fail = |what: &'static str, at: &[u8]| ParseError::new(what, line, offset_of(at));

    let (rest, node) = opt(node_prefix)(line).map_err(|_| fail("malformed `node=`", line))?;
    let (rest, _) = tag::<_, _, nom::error::Error<&[u8]>>("type=")(rest)
        .map_err(|_| fail("expected `type=` or `node=`", rest))?;
    let (rest, rtype) = record_type(rest).map_err(|_| fail("expected a record type", rest))?;
    let (rest, _) = spaces1(rest).map_err(|_| fail("expected a space after the type", rest))?;
    if !rest.starts_with(b"msg=") {
        return Err(fail("expected `msg=`", rest));
    }
    if !rest.starts_with(b"msg=audit(") {
        // `msg=?` and similar: no stamp, the whole remainder is the body.
        return Ok(Header {
            node,
            rtype,
            time: AuditTime::default(),
            serial: 0,
            body_start: offset_of(rest),
        });
    }
    let (rest, (time, serial)) = stamp(rest).map_err(|e| match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => {
            fail("malformed `msg=audit(SECONDS.MILLIS:SERIAL)`", e.input)
        }
        nom::Err::Incomplete(_) => fail("truncated `msg=audit(…)`", line),
    })?;
    Ok(Header {
        node,
        rtype,
        time,
        serial,
        body_start: offset_of(rest),
    })
}

/// `line` without trailing `\r`/`\n` bytes (a CRLF file, a stray newline).
pub(super) fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    &line[..end]
}

/// `node=NAME ` (the name may hold anything but a space).
fn node_prefix(input: &[u8]) -> NomResult<'_, &[u8]> {
    delimited(tag("node="), take_till(|b| b == b' '), spaces1)(input)
}

/// `UNKNOWN[1327]` or a name made of `[A-Z0-9_]`.
fn record_type(input: &[u8]) -> NomResult<'_, RecordType<'_>> {
    alt((
        map(
            delimited(tag("UNKNOWN["), dec_u32, char(']')),
            RecordType::Unknown,
        ),
        map_res(take_while1(is_type_byte), |name: &[u8]| {
            std::str::from_utf8(name).map(RecordType::Named)
        }),
    ))(input)
}

fn is_type_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'
}

fn spaces1(input: &[u8]) -> NomResult<'_, &[u8]> {
    take_while1(|b| b == b' ')(input)
}

/// `msg=audit(SECONDS.MILLIS:SERIAL)`, then an optional `:` and any spaces (some records, e.g.
/// `DAEMON_CONFIG` of audit 2.x, have no colon; `CWD` of old kernels has two spaces).
fn stamp(input: &[u8]) -> NomResult<'_, (AuditTime, u64)> {
    let (input, _) = tag("msg=audit(")(input)?;
    let (input, secs) = dec_u64(input)?;
    let (input, _) = char('.')(input)?;
    let (input, millis) = take_while_m_n(1, 3, |b: u8| b.is_ascii_digit())(input)?;
    let (input, serial) = delimited(char(':'), dec_u64, char(')'))(input)?;
    let (input, _) = terminated(opt(char(':')), take_while(|b| b == b' '))(input)?;
    let millis = millis
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    Ok((input, (AuditTime { secs, millis }, serial)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(line: &[u8]) -> Header<'_> {
        parse(line).unwrap()
    }

    #[test]
    fn reads_a_plain_header() {
        let line = b"type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e syscall=2";
        let h = header(line);
        assert_eq!(h.node, None);
        assert_eq!(h.rtype, RecordType::Named("SYSCALL"));
        assert_eq!(
            h.time,
            AuditTime {
                secs: 1364481363,
                millis: 243
            }
        );
        assert_eq!(h.serial, 24287);
        assert_eq!(&line[h.body_start..], b"arch=c000003e syscall=2");
    }

    #[test]
    fn reads_node_prefix_and_unknown_type() {
        let line =
            b"node=host-1.example type=UNKNOWN[1334] msg=audit(1626883065.201:216697): prog-id=45";
        let h = header(line);
        assert_eq!(h.node, Some(&b"host-1.example"[..]));
        assert_eq!(h.rtype, RecordType::Unknown(1334));
        assert_eq!(h.rtype.to_name(), "UNKNOWN[1334]");
        assert_eq!(h.serial, 216697);
        assert_eq!(&line[h.body_start..], b"prog-id=45");
    }

    #[test]
    fn body_start_skips_every_space_and_handles_empty_bodies() {
        let line = b"type=CWD msg=audit(1170021493.977:293):  cwd=\"/var/spool/postfix\"";
        assert_eq!(
            &line[header(line).body_start..],
            b"cwd=\"/var/spool/postfix\""
        );
        let eoe = b"type=EOE msg=audit(1678282381.452:102336): ";
        assert_eq!(header(eoe).body_start, eoe.len());
        let bare = b"type=EOE msg=audit(1678283440.683:225):";
        assert_eq!(header(bare).body_start, bare.len());
    }

    #[test]
    fn accepts_a_stamp_without_colon() {
        let line = b"type=DAEMON_CONFIG msg=audit(1490239800.477:34) config changed, auid=0";
        let h = header(line);
        assert_eq!(h.serial, 34);
        assert_eq!(&line[h.body_start..], b"config changed, auid=0");
    }

    #[test]
    fn a_line_without_stamp_has_time_and_serial_zero() {
        let line = b"type=UNKNOWN[1329] msg=?";
        let h = header(line);
        assert_eq!(h.rtype, RecordType::Unknown(1329));
        assert_eq!((h.time, h.serial), (AuditTime::default(), 0));
        assert_eq!(&line[h.body_start..], b"msg=?");
    }

    #[test]
    fn ignores_trailing_carriage_return() {
        let line = b"type=EOE msg=audit(1.005:7):\r";
        let h = header(line);
        assert_eq!(h.time, AuditTime { secs: 1, millis: 5 });
        assert_eq!(h.body_start, line.len() - 1);
    }

    #[test]
    fn rejects_malformed_headers_with_the_failing_offset() {
        let cases: &[(&[u8], &str, usize)] = &[
            (b"", "expected `type=` or `node=`", 0),
            (
                b"Jan  1 00:00:00 host sshd[1]: x",
                "expected `type=` or `node=`",
                0,
            ),
            (
                b"type=syscall msg=audit(1.000:1):",
                "expected a record type",
                5,
            ),
            (b"type=SYSCALL", "expected a space after the type", 12),
            (b"type=SYSCALL arch=c000003e", "expected `msg=`", 13),
            (
                b"type=SYSCALL msg=audit(1.000:x):",
                "malformed `msg=audit(SECONDS.MILLIS:SERIAL)`",
                29,
            ),
            (
                b"type=SYSCALL msg=audit(99999999999999999999.000:1):",
                "malformed `msg=audit(SECONDS.MILLIS:SERIAL)`",
                23,
            ),
            (
                b"type=SYSCALL msg=audit(1.0000:1):",
                "malformed `msg=audit(SECONDS.MILLIS:SERIAL)`",
                28,
            ),
            (b"node=x", "expected `type=` or `node=`", 0),
        ];
        for (line, what, offset) in cases {
            let e = parse(line).unwrap_err();
            assert_eq!(
                (e.what, e.offset),
                (*what, *offset),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
