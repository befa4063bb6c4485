//! Syslog time stamps: RFC 3164 `Mmm dd hh:mm:ss` (no year, no zone) and RFC 3339
//! `YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)` (RSYSLOG_FileFormat, RFC 5424, hook verdicts).
//!
//! Both parsers read a fixed-size prefix of their input (bounded work), check every field's range
//! and keep the bytes as written in [`SyslogTimestamp::raw`]. Converting to epoch seconds is
//! left to [`SyslogTimestamp::to_epoch_seconds`], which takes the year and zone that RFC 3164 lacks.

use nom::branch::alt;
use nom::bytes::complete::{take, take_while1, take_while_m_n};
use nom::character::complete::{char, one_of};
use nom::combinator::{map, map_opt, opt, verify};
use nom::sequence::preceded;
use nom::IResult;

use crate::error::ParseError;

/// A syslog time stamp: the bytes as written plus its parsed parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyslogTimestamp<'a> {
    /// The time stamp exactly as written, e.g. `Nov  2 21:36:11`.
    pub raw: &'a [u8],
    /// The year; `None` for RFC 3164, which has none: the caller supplies it (see [`infer_year`]).
    pub year: Option<u16>,
    /// 1..=12.
    pub month: u8,
    /// 1..=31 (checked against the month only by [`SyslogTimestamp::to_epoch_seconds`]).
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=60 (60: a leap second).
    pub second: u8,
    /// Fraction of the second in nanoseconds; 0 when none was written.
    pub nanos: u32,
    /// Offset from UTC in seconds (`Z` = 0); `None` for RFC 3164, which is in the sender's local
    /// time (rsyslog writes the receiving host's local time).
    pub utc_offset_secs: Option<i32>,
}

impl SyslogTimestamp<'_> {
    /// Seconds since the Unix epoch. `year_if_absent` and `utc_offset_secs_if_absent` stand in for
    /// what RFC 3164 does not say (see [`infer_year`]; on hosts that log in UTC the offset is 0).
    /// `None` if the day does not exist in that month and year (`Feb 29` of a common year).
    pub fn to_epoch_seconds(
        &self,
        year_if_absent: i32,
        utc_offset_secs_if_absent: i32,
    ) -> Option<i64> {
        let year = self.year.map_or(year_if_absent, i32::from);
        if self.month == 0 || self.day == 0 || self.day > days_in_month(year, self.month) {
            return None;
        }
        let days = days_from_civil(i64::from(year), self.month, self.day);
        let offset = self.utc_offset_secs.unwrap_or(utc_offset_secs_if_absent);
        let secs_of_day =
            i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second);
        Some(days * 86_400 + secs_of_day - i64::from(offset))
    }
}

/// The year of an RFC 3164 time stamp read at `now_year`/`now_month`: this year, unless the
/// stamp's month lies more than one month ahead (a December line read in January is last year's;
/// one month ahead is tolerated as clock skew at a month boundary).
pub fn infer_year(stamp_month: u8, now_year: i32, now_month: u8) -> i32 {
    if i32::from(stamp_month) - i32::from(now_month) > 1 {
        now_year - 1
    } else {
        now_year
    }
}

/// Parses a whole RFC 3339 time stamp (nothing may follow it), e.g. a hook verdict's `time`.
pub fn parse_rfc3339(input: &[u8]) -> Result<SyslogTimestamp<'_>, ParseError> {
    match rfc3339(input) {
        Ok((b"", ts)) => Ok(ts),
        Ok((rest, _)) => Err(ParseError::new(
            "unexpected bytes after RFC 3339 time stamp",
            input,
            input.len() - rest.len(),
        )),
        Err(e) => Err(ParseError::new(
            "expected RFC 3339 time stamp",
            input,
            super::failed_at(input, &e),
        )),
    }
}

/// `Mmm dd hh:mm:ss` with the day space-padded (`Nov  2`), zero-padded (`Nov 02`) or bare
/// (`Nov 2`).
pub(crate) fn rfc3164(input: &[u8]) -> IResult<&[u8], SyslogTimestamp<'_>> {
    let (i, month) = map_opt(take(3usize), month_number)(input)?;
    let (i, _) = char(' ')(i)?;
    let (i, day) = alt((preceded(char(' '), digits(1, 1)), digits(1, 2)))(i)?;
    let (i, _) = char(' ')(i)?;
    let (i, (hour, minute, second)) = clock(i)?;
    let ts = SyslogTimestamp {
        raw: consumed(input, i),
        year: None,
        month,
        day,
        hour,
        minute,
        second,
        nanos: 0,
        utc_offset_secs: None,
    };
    Ok((i, verify_ranges(ts, input)?))
}

/// `YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)`; `t`/`z` accepted in lower case (RFC 3339 § 5.6),
/// a fraction of 1 to 9 digits.
pub(crate) fn rfc3339(input: &[u8]) -> IResult<&[u8], SyslogTimestamp<'_>> {
    let (i, year) = map(take_while_m_n(4, 4, is_digit), decimal)(input)?;
    let (i, _) = char('-')(i)?;
    let (i, month) = digits(2, 2)(i)?;
    let (i, _) = char('-')(i)?;
    let (i, day) = digits(2, 2)(i)?;
    let (i, _) = one_of("Tt")(i)?;
    let (i, (hour, minute, second)) = clock(i)?;
    let (i, nanos) = opt(preceded(char('.'), fraction))(i)?;
    let (i, utc_offset_secs) = utc_offset(i)?;
    let ts = SyslogTimestamp {
        raw: consumed(input, i),
        year: u16::try_from(year).ok(),
        month,
        day,
        hour,
        minute,
        second,
        nanos: nanos.unwrap_or(0),
        utc_offset_secs: Some(utc_offset_secs),
    };
    Ok((i, verify_ranges(ts, input)?))
}

fn clock(input: &[u8]) -> IResult<&[u8], (u8, u8, u8)> {
    let (i, hour) = digits(2, 2)(input)?;
    let (i, _) = char(':')(i)?;
    let (i, minute) = digits(2, 2)(i)?;
    let (i, _) = char(':')(i)?;
    let (i, second) = digits(2, 2)(i)?;
    Ok((i, (hour, minute, second)))
}

/// 1 to 9 fraction digits as nanoseconds.
fn fraction(input: &[u8]) -> IResult<&[u8], u32> {
    map(
        verify(take_while1(is_digit), |d: &[u8]| d.len() <= 9),
        |d: &[u8]| decimal(d) * 10u32.pow(9 - d.len() as u32),
    )(input)
}

fn utc_offset(input: &[u8]) -> IResult<&[u8], i32> {
    let zulu = map(one_of("Zz"), |_| 0);
    let numeric = map(
        nom::sequence::tuple((one_of("+-"), digits(2, 2), char(':'), digits(2, 2))),
        |(sign, h, _, m)| {
            let secs = i32::from(h) * 3600 + i32::from(m) * 60;
            if sign == '-' {
                -secs
            } else {
                secs
            }
        },
    );
    verify(alt((zulu, numeric)), |o: &i32| o.abs() < 24 * 3600)(input)
}

/// Fails (at the stamp's start) unless every part is in range.
fn verify_ranges<'a>(
    ts: SyslogTimestamp<'a>,
    input: &'a [u8],
) -> Result<SyslogTimestamp<'a>, nom::Err<nom::error::Error<&'a [u8]>>> {
    let ok = (1..=12).contains(&ts.month)
        && (1..=31).contains(&ts.day)
        && ts.hour <= 23
        && ts.minute <= 59
        && ts.second <= 60;
    if ok {
        Ok(ts)
    } else {
        Err(nom::Err::Error(nom::error::Error::new(
            input,
            nom::error::ErrorKind::Verify,
        )))
    }
}

/// `min..=max` decimal digits as a `u8` (callers ask for at most 2 digits).
fn digits<'a>(min: usize, max: usize) -> impl FnMut(&'a [u8]) -> IResult<&'a [u8], u8> {
    map(take_while_m_n(min, max, is_digit), |d: &[u8]| {
        decimal(d) as u8
    })
}

/// Value of a short run of ASCII digits (callers bound the length to 9).
fn decimal(d: &[u8]) -> u32 {
    d.iter()
        .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
}

fn is_digit(c: u8) -> bool {
    c.is_ascii_digit()
}

fn month_number(name: &[u8]) -> Option<u8> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    MONTHS
        .iter()
        .position(|m| m.as_slice() == name)
        .map(|i| i as u8 + 1)
}

/// The prefix of `input` that a parser consumed, given what it left.
fn consumed<'a>(input: &'a [u8], rest: &[u8]) -> &'a [u8] {
    &input[..input.len().saturating_sub(rest.len())]
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
