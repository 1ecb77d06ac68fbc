//! Points in time as billops stores them: UTC milliseconds since the Unix epoch, shown in
//! BILLmanager's `YYYY-MM-DD HH:MM:SS` form.

use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// A UTC instant in epoch milliseconds: one integer type for both databases, so that one SQL
/// text serves SQLite and PostgreSQL and keyset sorts compare plain integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// BILLmanager's date-time format, used in lists, forms and `cdate=` parameters.
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

impl Timestamp {
    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// `YYYY-MM-DD HH:MM:SS` in UTC.
    ///
    /// Computed by hand (Howard Hinnant's `civil_from_days`) rather than with chrono's
    /// formatter: this runs in the browser too, where chrono's format machinery would add
    /// about 15 KB to the WASM bundle.
    pub fn format(self) -> String {
        let seconds = self.0.div_euclid(1000);
        let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        let era = days.checked_add(719_468).map(|z| z.div_euclid(146_097));
        let Some(era) = era else {
            return String::new();
        };
        let day_of_era = days + 719_468 - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_index + 2) / 5 + 1;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        format!(
            "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60
        )
    }

    /// How long before `now` this was, in the largest whole unit: "45 s", "3 min", "2 h",
    /// "5 d" (a time after `now` reads "0 s"). The words around it are the caller's.
    pub fn age(self, now: Timestamp) -> (i64, TimeUnit) {
        let seconds = (now.0 - self.0).max(0) / 1000;
        match seconds {
            s if s < 60 => (s, TimeUnit::Second),
            s if s < 3600 => (s / 60, TimeUnit::Minute),
            s if s < 86_400 => (s / 3600, TimeUnit::Hour),
            s => (s / 86_400, TimeUnit::Day),
        }
    }

    /// Parses `YYYY-MM-DD HH:MM:SS` (or `YYYY-MM-DD HH:MM`, or `YYYY-MM-DD`, or RFC 3339) as UTC.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let text = text.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Some(Timestamp(t.timestamp_millis()));
        }
        for format in [
            DATETIME_FORMAT,
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
                return Some(Timestamp(t.and_utc().timestamp_millis()));
            }
        }
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| Timestamp(t.and_utc().timestamp_millis()))
    }
}

/// The unit of [`Timestamp::age`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Second,
    Minute,
    Hour,
    Day,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn a_billmanager_date_time_round_trips() {
        let t = Timestamp::parse("2025-01-10 12:00:00").expect("valid");
        assert_eq!(t.format(), "2025-01-10 12:00:00");
        assert_eq!(
            Timestamp::parse("2025-01-10")
                .map(Timestamp::format)
                .as_deref(),
            Some("2025-01-10 00:00:00")
        );
    }

    #[test]
    fn formatting_by_hand_agrees_with_chrono_across_four_centuries() {
        // Every 7 hours 13 minutes 17.5 seconds from 1900 to 2300, and the edges of leap days.
        let mut millis = -2_208_988_800_000_i64;
        while millis < 10_413_792_000_000 {
            let expected = DateTime::<Utc>::from_timestamp_millis(millis)
                .expect("in range")
                .format(DATETIME_FORMAT)
                .to_string();
            assert_eq!(Timestamp(millis).format(), expected, "at {millis} ms");
            millis += 25_997_500;
        }
        assert_eq!(
            Timestamp::parse("2024-02-29 23:59:59")
                .map(Timestamp::format)
                .as_deref(),
            Some("2024-02-29 23:59:59")
        );
        assert_eq!(
            Timestamp::parse("2100-03-01")
                .map(Timestamp::format)
                .as_deref(),
            Some("2100-03-01 00:00:00")
        );
        assert_eq!(Timestamp(-1).format(), "1969-12-31 23:59:59");
    }

    #[test]
    fn an_age_is_told_in_its_largest_whole_unit() {
        let now = Timestamp(1_000_000_000_000);
        let ago = |ms: i64| Timestamp(now.0 - ms).age(now);
        assert_eq!(ago(59_999), (59, TimeUnit::Second));
        assert_eq!(ago(60_000), (1, TimeUnit::Minute));
        assert_eq!(ago(3_599_000), (59, TimeUnit::Minute));
        assert_eq!(ago(7_200_000), (2, TimeUnit::Hour));
        assert_eq!(ago(3 * 86_400_000 + 5), (3, TimeUnit::Day));
        assert_eq!(Timestamp(now.0 + 5000).age(now), (0, TimeUnit::Second));
    }

    #[test]
    fn impossible_dates_are_rejected() {
        assert_eq!(Timestamp::parse("2025-02-30 10:00:00"), None);
        assert_eq!(Timestamp::parse("yesterday"), None);
        assert_eq!(Timestamp::parse(""), None);
    }
}
