//! DuckDB's date and time values as ISO 8601 text, the way run folders
//! record times (`2026-12-06T07:12:13Z`): UTC, whole seconds when the value
//! has no fraction, else the fraction to the value's own precision
//! (`2026-12-06T07:12:13.250000Z` for microseconds).

use duckdb::types::TimeUnit;

/// Units per second and the digits of a fraction in `unit`.
fn scale(unit: TimeUnit) -> (i64, usize) {
    match unit {
        TimeUnit::Second => (1, 0),
        TimeUnit::Millisecond => (1_000, 3),
        TimeUnit::Microsecond => (1_000_000, 6),
        TimeUnit::Nanosecond => (1_000_000_000, 9),
    }
}

/// A TIMESTAMP: `value` units of `unit` since 1970-01-01T00:00:00Z.
pub fn timestamp(unit: TimeUnit, value: i64) -> String {
    let (per_second, digits) = scale(unit);
    let seconds = value.div_euclid(per_second);
    let fraction = value.rem_euclid(per_second);
    format!(
        "{}T{}{}Z",
        date(seconds.div_euclid(86_400)),
        clock(seconds.rem_euclid(86_400)),
        fraction_text(fraction, digits)
    )
}

/// A TIME: `value` units of `unit` since midnight.
pub fn time_of_day(unit: TimeUnit, value: i64) -> String {
    let (per_second, digits) = scale(unit);
    format!(
        "{}{}",
        clock(value.div_euclid(per_second)),
        fraction_text(value.rem_euclid(per_second), digits)
    )
}

/// A DATE: `days` since 1970-01-01, as `YYYY-MM-DD` (proleptic Gregorian;
/// Howard Hinnant's `civil_from_days`).
pub fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `HH:MM:SS` of `seconds` since midnight.
fn clock(seconds: i64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// `.fff…` with `digits` digits, or nothing when the fraction is zero.
fn fraction_text(fraction: i64, digits: usize) -> String {
    if fraction == 0 {
        String::new()
    } else {
        format!(".{fraction:0digits$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_iso_8601_with_seconds_unless_there_is_a_fraction() {
        assert_eq!(
            timestamp(TimeUnit::Microsecond, 1_796_524_333_000_000),
            "2026-12-06T02:32:13Z"
        );
        assert_eq!(
            timestamp(TimeUnit::Microsecond, 1_796_524_333_250_000),
            "2026-12-06T02:32:13.250000Z"
        );
        assert_eq!(timestamp(TimeUnit::Second, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            timestamp(TimeUnit::Millisecond, -1),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            timestamp(TimeUnit::Nanosecond, 951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
    }

    #[test]
    fn dates_and_times_of_day() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(11_016), "2000-02-29");
        assert_eq!(date(-719_468), "0000-03-01");
        assert_eq!(
            time_of_day(TimeUnit::Microsecond, 45_296_000_001),
            "12:34:56.000001"
        );
    }
}
