//! MS-DOS date/time stamps as stored in CFFILE entries.

/// 1980-01-01 00:00:00, the earliest MS-DOS time stamp, as `(date, time)`.
pub const DOS_EPOCH: (u16, u16) = (1 << 5 | 1, 0);

/// Converts seconds since the Unix epoch (UTC) to an MS-DOS `(date, time)` pair.
///
/// MS-DOS stamps count in 2-second steps (odd seconds round down) from 1980 to 2107;
/// times outside that range are clamped to its ends, so a commit time always maps to a
/// valid stamp. Use this to stamp every entry with the release's commit time.
pub fn dos_datetime_from_unix(secs: i64) -> (u16, u16) {
    const MIN: i64 = 315_532_800; // 1980-01-01T00:00:00Z
    const MAX: i64 = 4_354_819_198; // 2107-12-31T23:59:58Z
    let secs = secs.clamp(MIN, MAX);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let date = ((year - 1980) as u16) << 9 | (month as u16) << 5 | day as u16;
    let (hour, minute, second) = (rem / 3600, rem / 60 % 60, rem % 60);
    let time = (hour as u16) << 11 | (minute as u16) << 5 | (second / 2) as u16;
    (date, time)
}

/// Gregorian (year, month 1-12, day 1-31) of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    // Shift to an era-based calendar starting on 0000-03-01 so leap days fall at the
    // end of each year; an era is 400 years = 146097 days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts((date, time): (u16, u16)) -> (u16, u16, u16, u16, u16, u16) {
        (
            1980 + (date >> 9),
            date >> 5 & 15,
            date & 31,
            time >> 11,
            time >> 5 & 63,
            (time & 31) * 2,
        )
    }

    #[test]
    fn known_instants() {
        assert_eq!(dos_datetime_from_unix(315_532_800), DOS_EPOCH);
        // 2024-02-29T13:45:31Z (leap day; odd second rounds down).
        assert_eq!(
            parts(dos_datetime_from_unix(1_709_214_331)),
            (2024, 2, 29, 13, 45, 30)
        );
        // 2000-03-01T00:00:00Z, just after a 400-year leap day.
        assert_eq!(
            parts(dos_datetime_from_unix(951_868_800)),
            (2000, 3, 1, 0, 0, 0)
        );
        // 1999-12-31T23:59:59Z
        assert_eq!(
            parts(dos_datetime_from_unix(946_684_799)),
            (1999, 12, 31, 23, 59, 58)
        );
    }

    #[test]
    fn out_of_range_clamps() {
        assert_eq!(dos_datetime_from_unix(0), DOS_EPOCH);
        assert_eq!(dos_datetime_from_unix(i64::MIN), DOS_EPOCH);
        assert_eq!(
            parts(dos_datetime_from_unix(i64::MAX)),
            (2107, 12, 31, 23, 59, 58)
        );
    }
}
