//! The time formats of `sluice consumer-groups --reset-offsets`, read as
//! Kafka's tool reads them: `--to-datetime` is
//! `YYYY-MM-DDTHH:mm:SS.sss` with an optional zone (`Z`, `±HH`, `±HHMM`,
//! `±HH:MM`; none means UTC, like Kafka's `Utils.getDateTime`), and
//! `--by-duration` is Java's `Duration.parse` form `PnDTnHnMn.nS`.

use std::sync::LazyLock;

use regex::Regex;

static DATETIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{1,3})(Z|[+-]\d{2}(?::?\d{2})?)?$",
    )
    .expect("datetime pattern")
});

static DURATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^([-+]?)P(?:([-+]?\d+)D)?(T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?(?:([-+]?\d+)(?:[.,](\d{0,9}))?S)?)?$",
    )
    .expect("duration pattern")
});

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Milliseconds since the epoch of a `--to-datetime` value; `None` when it
/// is not in Kafka's format or names no real instant.
pub fn parse_datetime_ms(text: &str) -> Option<i64> {
    let c = DATETIME.captures(text.trim())?;
    let n = |i: usize| {
        c.get(i)
            .map_or(0, |m| m.as_str().parse::<i64>().unwrap_or(-1))
    };
    let (year, month, day) = (n(1), n(2), n(3));
    let (hour, minute, second, millis) = (n(4), n(5), n(6), n(7));
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let offset_minutes = match c.get(8).map(|m| m.as_str()) {
        None | Some("Z") => 0,
        Some(zone) => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
            let hours: i64 = digits[..2].parse().ok()?;
            let minutes: i64 = digits
                .get(2..)
                .filter(|m| !m.is_empty())
                .map_or(Some(0), |m| m.parse().ok())?;
            if hours > 18 || minutes > 59 {
                return None;
            }
            sign * (hours * 60 + minutes)
        }
    };
    let days = days_from_civil(year, month, day);
    let local_ms = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis;
    Some(local_ms - offset_minutes * 60_000)
}

/// Milliseconds of a `--by-duration` value (`P1DT2H`, `PT30M`, `PT0.5S`);
/// `None` unless it is Java's `Duration` text form with at least one part.
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let c = DURATION.captures(text.trim())?;
    let part = |i: usize| c.get(i).map(|m| m.as_str());
    if [2, 4, 5, 6].iter().all(|&i| part(i).is_none()) || part(3) == Some("T") {
        return None;
    }
    let num = |i: usize| -> Option<i64> { part(i).map_or(Some(0), |s| s.parse().ok()) };
    let seconds = num(6)?;
    let mut fraction_ms: i64 = part(7).map_or(0, |f| {
        let padded = format!("{f:0<3}");
        padded[..3].parse().unwrap_or(0)
    });
    if part(6).is_some_and(|s| s.starts_with('-')) {
        fraction_ms = -fraction_ms;
    }
    let total = num(2)?
        .checked_mul(86_400_000)?
        .checked_add(num(4)?.checked_mul(3_600_000)?)?
        .checked_add(num(5)?.checked_mul(60_000)?)?
        .checked_add(seconds.checked_mul(1000)?)?
        .checked_add(fraction_ms)?;
    Some(if part(1) == Some("-") { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_read_like_kafkas_get_date_time() {
        // 2024-03-01T12:30:15.250Z = 1709296215250
        assert_eq!(
            parse_datetime_ms("2024-03-01T12:30:15.250Z"),
            Some(1_709_296_215_250)
        );
        assert_eq!(
            parse_datetime_ms("2024-03-01T12:30:15.250"),
            Some(1_709_296_215_250)
        );
        assert_eq!(
            parse_datetime_ms("2024-03-01T14:30:15.250+02:00"),
            Some(1_709_296_215_250)
        );
        assert_eq!(
            parse_datetime_ms("2024-03-01T07:30:15.250-0500"),
            Some(1_709_296_215_250)
        );
        assert_eq!(parse_datetime_ms("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(
            parse_datetime_ms("2024-02-29T00:00:00.000"),
            Some(1_709_164_800_000)
        );
        for bad in [
            "2024-03-01",
            "2024-03-01T12:30:15",
            "2023-02-29T00:00:00.000",
            "2024-13-01T00:00:00.000",
            "2024-03-01T12:30:15.250+2",
        ] {
            assert_eq!(parse_datetime_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_read_like_java_duration_parse() {
        assert_eq!(parse_duration_ms("PT1H"), Some(3_600_000));
        assert_eq!(parse_duration_ms("P1DT2H3M4.5S"), Some(93_784_500));
        assert_eq!(parse_duration_ms("pt30m"), Some(1_800_000));
        assert_eq!(parse_duration_ms("-PT1S"), Some(-1000));
        assert_eq!(parse_duration_ms("P2D"), Some(172_800_000));
        for bad in ["P", "PT", "1H", "PT1", "P1H"] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }
}
