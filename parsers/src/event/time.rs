//! Audit time stamps as RFC 3339 UTC strings with milliseconds (`2021-03-07T21:02:54.493Z`),
//! computed with Howard Hinnant's `civil_from_days`: no time-zone data, no allocation beyond the
//! string, defined for every `u64` input (years past 9999 print with more digits).

/// `millis_since_epoch` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339_millis(millis_since_epoch: u64) -> String {
    let millis = millis_since_epoch % 1000;
    let secs = millis_since_epoch / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → proleptic Gregorian `(year, month, day)` (Howard Hinnant's
/// algorithm). The one civil-date conversion of the parsers and the daemon.
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of the (March-based) year.
    // `days` ≤ u64::MAX / 86400, so this cannot overflow.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_615_150_974_493),
            "2021-03-07T21:02:54.493Z"
        );
        assert_eq!(rfc3339_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_millis(951_868_799_999), "2000-02-29T23:59:59.999Z");
        assert_eq!(
            rfc3339_millis(4_107_542_400_000),
            "2100-03-01T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339_millis(1_795_383_371_680),
            "2026-11-22T21:36:11.680Z"
        );
        assert!(rfc3339_millis(u64::MAX).ends_with(".615Z"));
    }

    #[test]
    fn every_day_of_four_centuries_follows_the_previous() {
        // Walk 1970-01-01 .. 2370-01-01 and check month/day lengths and leap years.
        let (mut y, mut m, mut d) = (1970, 1, 1);
        for days in 0..146_097u64 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let month_len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > month_len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }
}
