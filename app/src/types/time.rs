//! Points in time as billops stores them: UTC milliseconds since the Unix epoch, shown in
//! BILLmanager's `YYYY-MM-DD HH:MM:SS` form.

use chrono::{DateTime, NaiveDateTime, Utc};
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
    pub fn format(self) -> String {
        DateTime::<Utc>::from_timestamp_millis(self.0)
            .map(|t| t.format(DATETIME_FORMAT).to_string())
            .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn impossible_dates_are_rejected() {
        assert_eq!(Timestamp::parse("2025-02-30 10:00:00"), None);
        assert_eq!(Timestamp::parse("yesterday"), None);
        assert_eq!(Timestamp::parse(""), None);
    }
}
