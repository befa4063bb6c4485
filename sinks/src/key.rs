//! Object keys in the S3-like layout shared by the local-directory sink (and an S3 sink later):
//! `PREFIX/year=YYYY/month=MM/day=DD/HOST-<YYYYMMDDTHHMMSS.mmmZ>-<seq>.json[.gz]`.
//!
//! Enters: a prefix, a host name, the batch's first event time (ms since the epoch, UTC), a batch
//! sequence number and the compression. Leaves: the key, and the seq parsed back from a file
//! name. Guarantees: pure and total (any `i64` time, including before 1970, formats without
//! panicking), proleptic Gregorian calendar in UTC.
//!
//! The civil-date conversion is Howard Hinnant's `civil_from_days` (public domain, ~15 lines,
//! exhaustively checked in the tests); a date crate would add a dependency for one function.

use crate::Compression;

const MS_PER_DAY: i64 = 86_400_000;

/// The key of a batch object; `prefix` may be empty (no leading segment) and its surrounding
/// slashes are ignored. Callers validate `prefix` and `host` (no `..`, no hidden segments).
pub fn object_key(
    prefix: &str,
    host: &str,
    first_time_ms: i64,
    seq: u64,
    compression: Compression,
) -> String {
    let (year, month, day) = civil_from_days(first_time_ms.div_euclid(MS_PER_DAY));
    let prefix = prefix.trim_matches('/');
    let separator = if prefix.is_empty() { "" } else { "/" };
    format!(
        "{prefix}{separator}year={year:04}/month={month:02}/day={day:02}/{host}-{}-{seq}.json{}",
        basic_utc_timestamp(first_time_ms),
        compression.extension()
    )
}

/// `20261125T104755.123Z`: ISO 8601 basic format with milliseconds, UTC.
pub fn basic_utc_timestamp(time_ms: i64) -> String {
    let (year, month, day) = civil_from_days(time_ms.div_euclid(MS_PER_DAY));
    let ms_of_day = time_ms.rem_euclid(MS_PER_DAY);
    let (hour, minute) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
    let (second, milli) = (ms_of_day / 1000 % 60, ms_of_day % 1000);
    format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}.{milli:03}Z")
}

/// The `<seq>` of an object file name made by [`object_key`], whatever its host and prefix.
pub fn seq_from_file_name(file_name: &str) -> Option<u64> {
    let stem = file_name
        .strip_suffix(".json.gz")
        .or_else(|| file_name.strip_suffix(".json"))?;
    let (_, seq) = stem.rsplit_once('-')?;
    if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    seq.parse().ok()
}

/// `(year, month 1..=12, day 1..=31)` of the day `days` after 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so that leap days end the (March-based) year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153; // [0, 11]
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn is_leap(year: i64) -> bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    fn month_days(year: i64, month: u32) -> u32 {
        match month {
            2 if is_leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn known_instants_format_like_gnu_date() {
        // Expected values from `date -u -d @SECONDS`.
        assert_eq!(
            basic_utc_timestamp(1_795_603_675_123),
            "20261125T104755.123Z"
        );
        assert_eq!(basic_utc_timestamp(0), "19700101T000000.000Z");
        assert_eq!(basic_utc_timestamp(-1), "19691231T235959.999Z");
        assert_eq!(basic_utc_timestamp(951_868_799_000), "20000229T235959.000Z");
        assert_eq!(
            basic_utc_timestamp(4_107_542_400_000),
            "21000301T000000.000Z"
        );
        assert_eq!(
            basic_utc_timestamp(-11_676_096_000_000),
            "16000101T000000.000Z"
        );
    }

    #[test]
    fn key_has_the_partitioned_layout() {
        let key = object_key(
            "audit/",
            "web01",
            1_795_603_675_123,
            42,
            Compression::gzip(),
        );
        assert_eq!(
            key,
            "audit/year=2026/month=11/day=25/web01-20261125T104755.123Z-42.json.gz"
        );
        let plain = object_key("", "h", 0, 7, Compression::None);
        assert_eq!(
            plain,
            "year=1970/month=01/day=01/h-19700101T000000.000Z-7.json"
        );
        assert_eq!(
            seq_from_file_name("web01-20261125T104755.123Z-42.json.gz"),
            Some(42)
        );
        assert_eq!(seq_from_file_name("h-19700101T000000.000Z-7.json"), Some(7));
        assert_eq!(seq_from_file_name("h-x-.json"), None);
        assert_eq!(seq_from_file_name("h-1-+5.json"), None);
        assert_eq!(seq_from_file_name("notes.txt"), None);
    }

    #[test]
    fn extreme_times_do_not_panic() {
        for time in [i64::MIN, i64::MAX, i64::MIN + 1, -MS_PER_DAY] {
            let key = object_key("p", "h", time, u64::MAX, Compression::None);
            assert!(key.starts_with("p/year="));
        }
    }

    #[test]
    fn every_day_of_four_centuries_matches_a_stepping_calendar() {
        // 1900-01-01 is day -25567 (`date -u -d 1900-01-01 +%s` / 86400); step one day at a time
        // with an independent month-length table up to 2300.
        let mut days: i64 = -25_567;
        for year in 1900..2300 {
            for month in 1..=12 {
                for day in 1..=month_days(year, month) {
                    assert_eq!(civil_from_days(days), (year, month, day));
                    days += 1;
                }
            }
        }
        assert_eq!(civil_from_days(days), (2300, 1, 1));
    }

    proptest! {
        #[test]
        fn dates_are_valid_and_consecutive(days in -1_000_000_000i64..1_000_000_000) {
            let (y, m, d) = civil_from_days(days);
            let (ny, nm, nd) = civil_from_days(days + 1);
            prop_assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            let next_day = (ny, nm, nd) == (y, m, d + 1);
            let next_month = nd == 1 && ((ny, nm) == (y, m + 1) || (ny, nm, m) == (y + 1, 1, 12));
            prop_assert!(next_day || next_month, "{:?} -> {:?}", (y, m, d), (ny, nm, nd));
        }
    }
}
