//! Value types shared by several payloads: dates, date-times, money, bounded text, and the
//! checked codes and numbers (region, VIN, cadastral number, phone, organisation INN, bounded
//! integers) that payload fields carry.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::value_error_to_serde;
use crate::values::{Inn, ValueError, parse_full_date, parse_short_text};
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
        // Count decimals in the shortest text that reads back as this float, which is the
        // number as the sender wrote it (less trailing zeros). A tolerance on `number * 100`
        // cannot do this: one loose enough for float noise on large sums lets 5000.555 through.
        let shortest_text = number.to_string();
        let decimals = shortest_text
            .split_once('.')
            .map_or(0, |(_, fraction)| fraction.len());
        let rounded = (number * 100.0).round();
        if decimals > 2 {
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

/// Reads an optional field that has a default: absent and `null` both mean the default, as
/// `null` means "absent" for every other optional field.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// True when every byte of `text` is an ASCII digit (and there is at least one).
fn all_ascii_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// A Russian region code (the code of a subject of the federation, as on number plates):
/// two digits `01`–`99`, kept as text because the leading zero belongs to the code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Region(String);

impl Region {
    pub fn parse(text: &str) -> Result<Region, ValueError> {
        let trimmed = text.trim();
        if trimmed.len() != 2 || !all_ascii_digits(trimmed) {
            return Err(ValueError::new(
                Rule::Format,
                format!("`{text}` is not a region code: write two digits, e.g. 77 for Moscow"),
            ));
        }
        if trimmed == "00" {
            return Err(ValueError::new(
                Rule::Range,
                "region code 00 does not exist: region codes run from 01 to 99",
            ));
        }
        Ok(Region(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Region::parse(&text).map_err(value_error_to_serde)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A vehicle identification number (ISO 3779): 17 capital letters and digits without I, O
/// and Q. The check digit is not verified: it is mandatory only for North American vehicles,
/// and most VINs on Russian registrations do not carry one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Vin(String);

impl Vin {
    pub const LENGTH: usize = 17;

    pub fn parse(text: &str) -> Result<Vin, ValueError> {
        let trimmed = text.trim();
        if trimmed.chars().count() != Self::LENGTH {
            return Err(ValueError::new(
                Rule::Format,
                format!(
                    "`{text}` is not a VIN: a VIN has exactly {} characters",
                    Self::LENGTH
                ),
            ));
        }
        if !trimmed
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
        {
            return Err(ValueError::new(
                Rule::Format,
                format!("`{text}` is not a VIN: a VIN holds only capital Latin letters and digits"),
            ));
        }
        // ISO 3779 leaves out I, O and Q so that they cannot be read as 1 and 0.
        if trimmed
            .bytes()
            .any(|byte| matches!(byte, b'I' | b'O' | b'Q'))
        {
            return Err(ValueError::new(
                Rule::Format,
                format!(
                    "`{text}` is not a VIN: a VIN never holds I, O or Q, check for 1 and 0 misread as letters"
                ),
            ));
        }
        Ok(Vin(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Vin {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Vin::parse(&text).map_err(value_error_to_serde)
    }
}

impl fmt::Display for Vin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A Russian cadastral number `NN:NN:NNNNNN[N]:N+`: cadastral district, area, block of six or
/// seven digits, and the number of the object within the block.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CadastralNumber(String);

impl CadastralNumber {
    pub fn parse(text: &str) -> Result<CadastralNumber, ValueError> {
        let trimmed = text.trim();
        let parts: Vec<&str> = trimmed.split(':').collect();
        let well_formed = match parts.as_slice() {
            [district, area, block, object] => {
                district.len() == 2
                    && area.len() == 2
                    && (block.len() == 6 || block.len() == 7)
                    && [district, area, block, object]
                        .into_iter()
                        .all(|part| all_ascii_digits(part))
            }
            _ => false,
        };
        if !well_formed {
            return Err(ValueError::new(
                Rule::Format,
                format!(
                    "`{text}` is not a cadastral number: write NN:NN:NNNNNNN:N, e.g. 77:01:0001001:1234"
                ),
            ));
        }
        Ok(CadastralNumber(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for CadastralNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CadastralNumber::parse(&text).map_err(value_error_to_serde)
    }
}

impl fmt::Display for CadastralNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A phone number in E.164 form: `+` and 8 to 15 digits, nothing else, so that the same
/// number sent by two sources compares equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub const MIN_DIGITS: usize = 8;
    /// E.164 caps a number, country code included, at 15 digits.
    pub const MAX_DIGITS: usize = 15;

    pub fn parse(text: &str) -> Result<PhoneNumber, ValueError> {
        let trimmed = text.trim();
        let well_formed = trimmed.strip_prefix('+').is_some_and(|digits| {
            all_ascii_digits(digits)
                && (Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&digits.len())
        });
        if !well_formed {
            return Err(ValueError::new(
                Rule::Format,
                format!(
                    "`{text}` is not an E.164 phone number: write + and 8 to 15 digits without spaces, e.g. +79161234567"
                ),
            ));
        }
        Ok(PhoneNumber(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PhoneNumber::parse(&text).map_err(value_error_to_serde)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// An organisation's INN: 10 digits, check digit verified. Where only an organisation can be
/// meant (an employer), a person's 12 digit INN is a mistake, not another valid form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Inn10(Inn);

impl Inn10 {
    pub fn parse(text: &str) -> Result<Inn10, ValueError> {
        let inn = Inn::parse(text)?;
        if inn.is_person() {
            return Err(ValueError::new(
                Rule::Format,
                format!(
                    "`{text}` is a person's INN (12 digits): send the organisation's 10 digit INN"
                ),
            ));
        }
        Ok(Inn10(inn))
    }

    pub fn as_inn(&self) -> &Inn {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl<'de> Deserialize<'de> for Inn10 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Inn10::parse(&text).map_err(value_error_to_serde)
    }
}

/// A whole number within `MIN..=MAX`, read from a JSON integer; the bounds are in the type so
/// each field names its own range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct IntegerInRange<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> IntegerInRange<MIN, MAX> {
    pub fn new(number: i64) -> Result<Self, ValueError> {
        if !(MIN..=MAX).contains(&number) {
            return Err(ValueError::new(
                Rule::Range,
                format!("{number} is outside {MIN} to {MAX}: check the value with the source"),
            ));
        }
        Ok(IntegerInRange(number))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for IntegerInRange<MIN, MAX> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = i64::deserialize(deserializer)?;
        IntegerInRange::new(number).map_err(value_error_to_serde)
    }
}

impl<const MIN: i64, const MAX: i64> fmt::Display for IntegerInRange<MIN, MAX> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

/// A vehicle's model year; earlier cars are museum pieces, later ones typos.
pub type VehicleYear = IntegerInRange<1950, 2100>;
/// A school grade in the Russian eleven-year school.
pub type SchoolGrade = IntegerInRange<1, 11>;
/// A test score in percent.
pub type TestScore = IntegerInRange<0, 100>;
/// Days of stay a visa allows; a visa never allows more than a year.
pub type StayDays = IntegerInRange<1, 365>;

/// A Russian address, as far as the registry reads it: the region code makes addresses
/// comparable across sources, the rest is kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub region: Region,
    pub city: Text,
    pub street: Text,
}
