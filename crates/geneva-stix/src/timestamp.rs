//! STIX timestamps: RFC 3339, UTC, upper-case `T` and `Z` (STIX 2.1 section 3.2).

use std::fmt;

/// A validated STIX timestamp, kept as written (so export reproduces it) with a
/// sortable key that makes `...:00.1Z` and `...:00.100Z` the same instant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    key: String,
    fraction_digits: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError(pub &'static str);

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` and checks the calendar.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let b = text.as_bytes();
        const SHAPE: &str = "must look like 2016-05-12T08:17:27.000Z (RFC 3339, UTC, ending in Z)";
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(TimestampError(SHAPE));
        }
        let digits = |r: std::ops::Range<usize>| -> Result<u32, TimestampError> {
            let part = &b[r];
            if part.iter().all(u8::is_ascii_digit) {
                Ok(part.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
            } else {
                Err(TimestampError(SHAPE))
            }
        };
        let year = digits(0..4)?;
        let month = digits(5..7)?;
        let day = digits(8..10)?;
        let hour = digits(11..13)?;
        let minute = digits(14..16)?;
        let second = digits(17..19)?;
        let rest = &b[19..];
        let fraction = match rest {
            [b'Z'] => &[][..],
            [b'.', frac @ .., b'Z'] if !frac.is_empty() && frac.iter().all(u8::is_ascii_digit) => {
                frac
            }
            _ => return Err(TimestampError(SHAPE)),
        };
        if !(1..=12).contains(&month) {
            return Err(TimestampError("month must be between 01 and 12"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(TimestampError("day does not exist in that month"));
        }
        if hour > 23 || minute > 59 {
            return Err(TimestampError("hour must be 00-23 and minute 00-59"));
        }
        // RFC 3339 allows a leap second (60); STIX consumers (Python's datetime among them,
        // hence stix2-validator) cannot represent one, so evidence must not use it.
        if second > 59 {
            return Err(TimestampError(
                "second must be 00-59 (leap seconds cannot be represented)",
            ));
        }
        let significant = {
            let mut end = fraction.len();
            while end > 0 && fraction[end - 1] == b'0' {
                end -= 1;
            }
            &fraction[..end]
        };
        let mut key = String::with_capacity(40);
        key.push_str(&text[..19]);
        key.push('.');
        key.push_str(std::str::from_utf8(significant).unwrap_or_default());
        // Pad to a fixed width so keys sort as strings; nanoseconds cover every real clock.
        for _ in significant.len()..9 {
            key.push('0');
        }
        key.push('Z');
        Ok(Timestamp {
            text: text.to_owned(),
            key,
            fraction_digits: fraction.len(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Fixed-width, string-sortable form (more than nine fraction digits keep their extra digits).
    pub fn sort_key(&self) -> &str {
        &self.key
    }

    pub fn fraction_digits(&self) -> usize {
        self.fraction_digits
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// Current time in milliseconds since the Unix epoch (0 for a clock set
/// before it).
pub fn now_unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Current UTC time as an RFC 3339 timestamp with milliseconds.
pub fn now_rfc3339() -> String {
    format_unix_millis(now_unix_millis())
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_unix_millis(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days, after Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_stix_forms() {
        for ok in [
            "2016-05-12T08:17:27Z",
            "2016-05-12T08:17:27.000Z",
            "2000-02-29T00:00:00.123456789Z",
        ] {
            Timestamp::parse(ok).unwrap();
        }
    }

    #[test]
    fn rejects_non_utc_and_bad_dates() {
        for bad in [
            "2016-05-12T08:17:27+00:00",
            "2016-05-12t08:17:27Z",
            "2016-05-12T08:17:27z",
            "2016-02-30T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2016-05-12T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2016-05-12T08:17:27.Z",
            "2016-05-12 08:17:27Z",
            "2016-5-12T08:17:27Z",
            "",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_unix_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_unix_millis(951_782_400_123),
            "2000-02-29T00:00:00.123Z"
        );
        assert_eq!(
            format_unix_millis(1_795_564_800_000),
            "2026-11-25T00:00:00.000Z"
        );
        assert!(Timestamp::parse(&now_rfc3339()).is_ok());
    }

    #[test]
    fn orders_by_instant_not_text() {
        let a = Timestamp::parse("2016-05-12T08:17:27.1Z").unwrap();
        let b = Timestamp::parse("2016-05-12T08:17:27.100Z").unwrap();
        let c = Timestamp::parse("2016-05-12T08:17:27.09Z").unwrap();
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Equal);
        assert!(c < a);
    }
}
