//! The RFC 5424 header after `<PRI>`: `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP
//! MSGID SP STRUCTURED-DATA [SP MSG]`, each header field `-` (NILVALUE) or printable US-ASCII.
//!
//! Structured data is checked for shape (`[ID param="value" …]…`, with `\"`, `\\` and `\]`
//! escapes inside values) in one pass and returned raw. A UTF-8 BOM before MSG is dropped. Field
//! lengths are not enforced: an over-long APP-NAME is kept rather than rejected.

use nom::bytes::complete::{take_while1, take_while_m_n};
use nom::character::complete::char;
use nom::combinator::map;
use nom::sequence::terminated;
use nom::IResult;

use super::timestamp;
use super::{failed_at, parse_decimal_u32, SyslogFormat, SyslogMessage};
use crate::error::ParseError;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// True if `after_pri` starts like an RFC 5424 header: a 1-3 digit VERSION and a space.
pub(super) fn looks_like(after_pri: &[u8]) -> bool {
    let digits = after_pri.iter().take_while(|c| c.is_ascii_digit()).count();
    (1..=3).contains(&digits) && after_pri.get(digits) == Some(&b' ')
}

/// Parses everything after `<PRI>`; `line` is the whole line (for error offsets).
pub(super) fn parse<'a>(
    line: &'a [u8],
    after_pri: &'a [u8],
    pri: u8,
) -> Result<SyslogMessage<'a>, ParseError> {
    let fail = |what, at: &[u8]| ParseError::new(what, line, line.len().saturating_sub(at.len()));
    let (i, _version) =
        terminated(take_while_m_n(1, 3, |c: u8| c.is_ascii_digit()), char(' '))(after_pri)
            .map_err(|_: nom::Err<nom::error::Error<&[u8]>>| {
                fail("expected RFC 5424 VERSION", after_pri)
            })?;
    let (i, timestamp) =
        nil_or(timestamp::rfc3339)(i).map_err(|_| fail("expected RFC 5424 TIMESTAMP or `-`", i))?;
    let (i, hostname) = header_field(i).map_err(|_| fail("expected RFC 5424 HOSTNAME", i))?;
    let (i, app_name) = header_field(i).map_err(|_| fail("expected RFC 5424 APP-NAME", i))?;
    let (i, procid) = header_field(i).map_err(|_| fail("expected RFC 5424 PROCID", i))?;
    let (i, msgid) = header_field(i).map_err(|_| fail("expected RFC 5424 MSGID", i))?;
    let (i, structured_data) = structured_data(i).map_err(|e| {
        ParseError::new(
            "malformed RFC 5424 STRUCTURED-DATA",
            line,
            failed_at(line, &e),
        )
    })?;
    let message = match i.split_first() {
        None => i,
        Some((b' ', msg)) => msg.strip_prefix(BOM).unwrap_or(msg),
        Some(_) => return Err(fail("expected space before RFC 5424 MSG", i)),
    };
    Ok(SyslogMessage {
        format: SyslogFormat::Rfc5424,
        facility: Some(pri >> 3),
        severity: Some(pri & 7),
        timestamp,
        hostname,
        app_name,
        procid,
        pid: procid.and_then(parse_decimal_u32),
        msgid,
        structured_data,
        message,
    })
}

/// `-` (→ `None`) or `parser`, then the separating space.
fn nil_or<'a, T>(
    mut parser: impl FnMut(&'a [u8]) -> IResult<&'a [u8], T>,
) -> impl FnMut(&'a [u8]) -> IResult<&'a [u8], Option<T>> {
    move |i: &'a [u8]| {
        let (i, value) = match i.strip_prefix(b"-") {
            Some(rest) if rest.first() == Some(&b' ') => (rest, None),
            _ => map(&mut parser, Some)(i)?,
        };
        let (i, _) = char(' ')(i)?;
        Ok((i, value))
    }
}

/// HOSTNAME, APP-NAME, PROCID or MSGID: printable US-ASCII, `-` meaning none; then a space.
fn header_field(i: &[u8]) -> IResult<&[u8], Option<&[u8]>> {
    let (i, token) = terminated(take_while1(is_print_us_ascii), char(' '))(i)?;
    Ok((i, (token != b"-").then_some(token)))
}

/// `-` or one or more `[SD-ID *(SP SD-PARAM)]`, returned raw.
fn structured_data(input: &[u8]) -> IResult<&[u8], Option<&[u8]>> {
    if let Some(rest) = input.strip_prefix(b"-") {
        return Ok((rest, None));
    }
    let mut i = sd_element(input)?.0;
    while i.first() == Some(&b'[') {
        i = sd_element(i)?.0;
    }
    let raw = &input[..input.len() - i.len()];
    Ok((i, Some(raw)))
}

/// `[SD-ID *(SP PARAM-NAME="PARAM-VALUE")]`.
fn sd_element(i: &[u8]) -> IResult<&[u8], ()> {
    let (mut i, _) = char('[')(i)?;
    i = sd_name(i)?.0;
    loop {
        if let Some(rest) = i.strip_prefix(b"]") {
            return Ok((rest, ()));
        }
        let (rest, _) = char(' ')(i)?;
        let (rest, _) = sd_name(rest)?;
        let (rest, _) = char('=')(rest)?;
        let (rest, _) = char('"')(rest)?;
        i = param_value_then_quote(rest)?.0;
    }
}

/// SD-NAME: printable US-ASCII except `=`, space, `]` and `"`.
fn sd_name(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|c| is_print_us_ascii(c) && !matches!(c, b'=' | b']' | b'"'))(i)
}

/// PARAM-VALUE up to its closing `"`; a backslash escapes the byte after it.
fn param_value_then_quote(i: &[u8]) -> IResult<&[u8], ()> {
    let mut pos = 0;
    while let Some(&c) = i.get(pos) {
        match c {
            b'"' => return Ok((&i[pos + 1..], ())),
            b'\\' => pos += 2,
            _ => pos += 1,
        }
    }
    Err(nom::Err::Error(nom::error::Error::new(
        &i[i.len()..],
        nom::error::ErrorKind::Char,
    )))
}

/// Any visible US-ASCII character (RFC 5424 PRINTUSASCII, %d33-126).
fn is_print_us_ascii(c: u8) -> bool {
    (33..=126).contains(&c)
}
