//! Value types shared by several payloads: dates, date-times, money, bounded text.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::value_error_to_serde;
use crate::values::{ValueError, parse_full_date, parse_short_text};
use crate::violation::Rule;

/// A full calendar date (`YYYY-MM-DD`) inside a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Date(pub NaiveDate);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_full_date(&text)
            .map(Date)
            .map_err(value_error_to_serde)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

/// An instant with its offset (RFC 3339), kept in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DateTime(pub chrono::DateTime<chrono::Utc>);

impl DateTime {
    pub fn parse(text: &str) -> Result<DateTime, ValueError> {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|instant| DateTime(instant.to_utc()))
            .map_err(|_| {
                ValueError::new(
                    Rule::DateFormat,
                    format!(
                        "`{text}` is not an RFC 3339 date-time: write e.g. 2026-03-01T09:00:00Z"
                    ),
                )
            })
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse(&text).map_err(value_error_to_serde)
    }
}

/// An amount of money in minor units (kopecks), read from a JSON number with at most two
/// decimals; floats are never kept, so sums stay exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Money {
    pub minor_units: i64,
}

impl Money {
    /// Largest absolute amount accepted: a trillion roubles is a typo.
    const LIMIT_MINOR_UNITS: i64 = 100_000_000_000_000;

    pub fn from_number(number: f64) -> Result<Money, ValueError> {
        if !number.is_finite() {
            return Err(ValueError::new(
                Rule::Range,
                "the amount is not a finite number",
            ));
        }
        let scaled = number * 100.0;
        let rounded = scaled.round();
        if (scaled - rounded).abs() > 1e-6 * rounded.abs().max(1.0) {
            return Err(ValueError::new(
                Rule::Format,
                format!(
                    "{number} has more than two decimals: send the amount in roubles and kopecks"
                ),
            ));
        }
        if rounded.abs() > Self::LIMIT_MINOR_UNITS as f64 {
            return Err(ValueError::new(
                Rule::Range,
                format!("{number} is out of range: check the amount with the source"),
            ));
        }
        Ok(Money {
            minor_units: rounded as i64,
        })
    }

    pub fn as_f64(self) -> f64 {
        self.minor_units as f64 / 100.0
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = f64::deserialize(deserializer)?;
        Money::from_number(number).map_err(value_error_to_serde)
    }
}

/// Free text of at most 500 characters, trimmed, without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Text(pub String);

impl Text {
    pub const MAX_LENGTH: usize = 500;
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_short_text(&text, Text::MAX_LENGTH)
            .map(Text)
            .map_err(value_error_to_serde)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}
