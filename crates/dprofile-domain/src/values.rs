//! Checked value types: once a value has one of these types it has passed its rules.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::violation::Rule;

/// Why a string could not become a checked value; the caller adds the JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub rule: Rule,
    pub message: String,
}

impl ValueError {
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        ValueError {
            rule,
            message: message.into(),
        }
    }
}

/// Earliest birth year or document date the registry accepts; older input is a typo.
pub const EARLIEST_YEAR: i32 = 1880;
/// Latest year accepted in any date; later input is a typo.
pub const LATEST_YEAR: i32 = 2200;

/// A date known to the year, the month or the day: `1991`, `1991-07`, `1991-07-14`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartialDate {
    year: i32,
    month: Option<u32>,
    day: Option<u32>,
}

impl PartialDate {
    pub fn parse(text: &str) -> Result<PartialDate, ValueError> {
        let format_error = || {
            ValueError::new(
                Rule::DateFormat,
                format!("`{text}` is not a date: write YYYY, YYYY-MM or YYYY-MM-DD"),
            )
        };
        let parts: Vec<&str> = text.split('-').collect();
        let expected_lengths = [4, 2, 2];
        if parts.is_empty() || parts.len() > 3 {
            return Err(format_error());
        }
        for (part, expected) in parts.iter().zip(expected_lengths) {
            if part.len() != expected || !part.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(format_error());
            }
        }
        let year: i32 = parts[0].parse().map_err(|_| format_error())?;
        let month: Option<u32> = parts.get(1).and_then(|part| part.parse().ok());
        let day: Option<u32> = parts.get(2).and_then(|part| part.parse().ok());
        if !(EARLIEST_YEAR..=LATEST_YEAR).contains(&year) {
            return Err(ValueError::new(
                Rule::DateRange,
                format!(
                    "year {year} is outside {EARLIEST_YEAR}..{LATEST_YEAR}: check the date with the source"
                ),
            ));
        }
        if let Some(month) = month
            && !(1..=12).contains(&month)
        {
            return Err(ValueError::new(
                Rule::DateImpossible,
                format!("month {month} does not exist: months run from 01 to 12"),
            ));
        }
        if let (Some(month), Some(day)) = (month, day)
            && NaiveDate::from_ymd_opt(year, month, day).is_none()
        {
            return Err(ValueError::new(
                Rule::DateImpossible,
                format!("{text} does not exist in the calendar: check the day and the month"),
            ));
        }
        Ok(PartialDate { year, month, day })
    }

    pub fn from_date(date: NaiveDate) -> PartialDate {
        PartialDate {
            year: date.year(),
            month: Some(date.month()),
            day: Some(date.day()),
        }
    }

    /// A date known to the year, or to the month (1 to 12, else `None`), like
    /// [`PartialDate::from_date`] without the range of years of registry input: for data
    /// read from other sources (historical records) whose day or month is illegible.
    pub fn from_year_and_month(year: i32, month: Option<u32>) -> Option<PartialDate> {
        if let Some(month) = month
            && !(1..=12).contains(&month)
        {
            return None;
        }
        Some(PartialDate {
            year,
            month,
            day: None,
        })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> Option<u32> {
        self.month
    }

    pub fn day(self) -> Option<u32> {
        self.day
    }

    /// The full date, when day and month are known.
    pub fn full(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month?, self.day?)
    }

    /// Whether `other` could be the same date given what each one leaves unknown.
    pub fn compatible_with(self, other: PartialDate) -> bool {
        self.year == other.year
            && option_compatible(self.month, other.month)
            && option_compatible(self.day, other.day)
    }
}

fn option_compatible(left: Option<u32>, right: Option<u32>) -> bool {
    match (left, right) {
        (Some(left), Some(right)) => left == right,
        _ => true,
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:04}", self.year)?;
        if let Some(month) = self.month {
            write!(formatter, "-{month:02}")?;
            if let Some(day) = self.day {
                write!(formatter, "-{day:02}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for PartialDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PartialDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PartialDate::parse(&text).map_err(crate::payload::value_error_to_serde)
    }
}

/// Parses a full calendar date `YYYY-MM-DD`, telling a malformed date from an impossible one.
pub fn parse_full_date(text: &str) -> Result<NaiveDate, ValueError> {
    let partial = PartialDate::parse(text)?;
    partial.full().ok_or_else(|| {
        ValueError::new(
            Rule::DateFormat,
            format!("`{text}` is not a full date: write YYYY-MM-DD"),
        )
    })
}

/// ISO 3166-1 alpha-3 codes, and the ICAO 9303 codes that passports carry besides them
/// (XXA stateless, XXB and XXC refugees, XXX unspecified, UN and EU bodies, Kosovo).
const COUNTRY_CODES: &[&str] = &[
    "ABW", "AFG", "AGO", "AIA", "ALA", "ALB", "AND", "ARE", "ARG", "ARM", "ASM", "ATA", "ATF",
    "ATG", "AUS", "AUT", "AZE", "BDI", "BEL", "BEN", "BES", "BFA", "BGD", "BGR", "BHR", "BHS",
    "BIH", "BLM", "BLR", "BLZ", "BMU", "BOL", "BRA", "BRB", "BRN", "BTN", "BVT", "BWA", "CAF",
    "CAN", "CCK", "CHE", "CHL", "CHN", "CIV", "CMR", "COD", "COG", "COK", "COL", "COM", "CPV",
    "CRI", "CUB", "CUW", "CXR", "CYM", "CYP", "CZE", "DEU", "DJI", "DMA", "DNK", "DOM", "DZA",
    "ECU", "EGY", "ERI", "ESH", "ESP", "EST", "ETH", "FIN", "FJI", "FLK", "FRA", "FRO", "FSM",
    "GAB", "GBR", "GEO", "GGY", "GHA", "GIB", "GIN", "GLP", "GMB", "GNB", "GNQ", "GRC", "GRD",
    "GRL", "GTM", "GUF", "GUM", "GUY", "HKG", "HMD", "HND", "HRV", "HTI", "HUN", "IDN", "IMN",
    "IND", "IOT", "IRL", "IRN", "IRQ", "ISL", "ISR", "ITA", "JAM", "JEY", "JOR", "JPN", "KAZ",
    "KEN", "KGZ", "KHM", "KIR", "KNA", "KOR", "KWT", "LAO", "LBN", "LBR", "LBY", "LCA", "LIE",
    "LKA", "LSO", "LTU", "LUX", "LVA", "MAC", "MAF", "MAR", "MCO", "MDA", "MDG", "MDV", "MEX",
    "MHL", "MKD", "MLI", "MLT", "MMR", "MNE", "MNG", "MNP", "MOZ", "MRT", "MSR", "MTQ", "MUS",
    "MWI", "MYS", "MYT", "NAM", "NCL", "NER", "NFK", "NGA", "NIC", "NIU", "NLD", "NOR", "NPL",
    "NRU", "NZL", "OMN", "PAK", "PAN", "PCN", "PER", "PHL", "PLW", "PNG", "POL", "PRI", "PRK",
    "PRT", "PRY", "PSE", "PYF", "QAT", "REU", "ROU", "RUS", "RWA", "SAU", "SDN", "SEN", "SGP",
    "SGS", "SHN", "SJM", "SLB", "SLE", "SLV", "SMR", "SOM", "SPM", "SRB", "SSD", "STP", "SUR",
    "SVK", "SVN", "SWE", "SWZ", "SXM", "SYC", "SYR", "TCA", "TCD", "TGO", "THA", "TJK", "TKL",
    "TKM", "TLS", "TON", "TTO", "TUN", "TUR", "TUV", "TWN", "TZA", "UGA", "UKR", "UMI", "URY",
    "USA", "UZB", "VAT", "VCT", "VEN", "VGB", "VIR", "VNM", "VUT", "WLF", "WSM", "YEM", "ZAF",
    "ZMB", "ZWE", // ICAO 9303 part 3 codes that are not ISO 3166-1:
    "XXA", "XXB", "XXC", "XXX", "UNO", "UNA", "UNK", "XOM", "XPO", "EUE", "RKS",
];

/// A country as an ISO 3166-1 alpha-3 code (upper case), or an ICAO 9303 special code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 3]);

impl CountryCode {
    pub fn parse(text: &str) -> Result<CountryCode, ValueError> {
        let upper = text.trim().to_ascii_uppercase();
        if COUNTRY_CODES.binary_search(&upper.as_str()).is_ok()
            || COUNTRY_CODES[COUNTRY_CODES.len() - 11..].contains(&upper.as_str())
        {
            let bytes = upper.as_bytes();
            return Ok(CountryCode([bytes[0], bytes[1], bytes[2]]));
        }
        Err(ValueError::new(
            Rule::CountryCode,
            format!("`{text}` is not an ISO 3166-1 alpha-3 country code (e.g. UZB, TJK, KGZ)"),
        ))
    }

    pub fn as_str(&self) -> &str {
        // The bytes came from the ASCII table above.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CountryCode::parse(&text).map_err(crate::payload::value_error_to_serde)
    }
}

/// Letters that look alike in Cyrillic and Latin and get typed in the wrong layout in
/// document numbers; folding them makes `АВ123` and `AB123` the same number.
fn fold_homoglyph(character: char) -> char {
    match character {
        'А' => 'A',
        'В' => 'B',
        'Е' | 'Ё' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Х' => 'X',
        'У' => 'Y',
        other => other,
    }
}

/// A document number in normal form: upper case, homoglyphs folded to Latin, with spaces,
/// hyphens, dots and the `№` sign removed, so that `FA 123-4567` and `fa1234567` compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct DocumentNumber(String);

impl DocumentNumber {
    pub const MAX_LENGTH: usize = 32;

    pub fn parse(text: &str) -> Result<DocumentNumber, ValueError> {
        let normal: String = text
            .chars()
            .flat_map(char::to_uppercase)
            .map(fold_homoglyph)
            .filter(|character| !matches!(character, ' ' | '-' | '.' | '№' | '/' | '\t'))
            .collect();
        if normal.is_empty() {
            return Err(ValueError::new(
                Rule::Length,
                "the document number is empty: send the number as printed on the document",
            ));
        }
        if normal.chars().count() > Self::MAX_LENGTH {
            return Err(ValueError::new(
                Rule::Length,
                format!(
                    "the document number is longer than {} characters",
                    Self::MAX_LENGTH
                ),
            ));
        }
        if !normal.chars().all(|character| character.is_alphanumeric()) {
            return Err(ValueError::new(
                Rule::Format,
                format!("`{text}` holds characters other than letters and digits"),
            ));
        }
        Ok(DocumentNumber(normal))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for DocumentNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DocumentNumber::parse(&text).map_err(crate::payload::value_error_to_serde)
    }
}

fn digits_only(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// A Russian individual insurance account number (SNILS), check digits verified.
/// Stored as the 11 digits without separators.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Snils(String);

impl Snils {
    pub fn parse(text: &str) -> Result<Snils, ValueError> {
        let allowed = text
            .chars()
            .all(|character| character.is_ascii_digit() || matches!(character, ' ' | '-'));
        let digits = digits_only(text);
        if !allowed || digits.len() != 11 {
            return Err(ValueError::new(
                Rule::Format,
                format!("`{text}` is not a SNILS: write 11 digits as XXX-XXX-XXX YY"),
            ));
        }
        let body = &digits[..9];
        let check: u32 = digits[9..].parse().unwrap_or(u32::MAX);
        // Numbers up to 001-001-998 were issued before check digits existed.
        if body > "001001998" {
            let sum: u32 = body
                .bytes()
                .zip((1..=9).rev())
                .map(|(byte, weight)| u32::from(byte - b'0') * weight)
                .sum();
            let expected = match sum {
                0..=99 => sum,
                100 | 101 => 0,
                _ => {
                    let remainder = sum % 101;
                    if remainder == 100 { 0 } else { remainder }
                }
            };
            if expected != check {
                return Err(ValueError::new(
                    Rule::Checksum,
                    format!(
                        "SNILS check digits are {check:02}, the number needs {expected:02}: verify the number with the source"
                    ),
                ));
            }
        }
        Ok(Snils(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Russian taxpayer number (INN) of a person (12 digits) or an organisation (10 digits),
/// check digits verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Inn(String);

fn inn_check_digit(digits: &[u8], weights: &[u32]) -> u8 {
    let sum: u32 = digits
        .iter()
        .zip(weights)
        .map(|(digit, weight)| u32::from(*digit) * weight)
        .sum();
    ((sum % 11) % 10) as u8
}

impl Inn {
    pub fn parse(text: &str) -> Result<Inn, ValueError> {
        let trimmed = text.trim();
        if !trimmed.bytes().all(|byte| byte.is_ascii_digit())
            || !(trimmed.len() == 10 || trimmed.len() == 12)
        {
            return Err(ValueError::new(
                Rule::Format,
                format!(
                    "`{text}` is not an INN: a person's INN has 12 digits, an organisation's 10"
                ),
            ));
        }
        let digits: Vec<u8> = trimmed.bytes().map(|byte| byte - b'0').collect();
        let valid = if digits.len() == 10 {
            inn_check_digit(&digits[..9], &[2, 4, 10, 3, 5, 9, 4, 6, 8]) == digits[9]
        } else {
            inn_check_digit(&digits[..10], &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == digits[10]
                && inn_check_digit(&digits[..11], &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == digits[11]
        };
        if !valid {
            return Err(ValueError::new(
                Rule::Checksum,
                format!("INN `{text}` fails its check digits: verify the number with the source"),
            ));
        }
        Ok(Inn(trimmed.to_owned()))
    }

    pub fn is_person(&self) -> bool {
        self.0.len() == 12
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Inn {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Inn::parse(&text).map_err(crate::payload::value_error_to_serde)
    }
}

impl<'de> Deserialize<'de> for Snils {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Snils::parse(&text).map_err(crate::payload::value_error_to_serde)
    }
}

/// A Gosuslugi (ESIA) account id: digits, as the federal login system issues them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct EsiaId(String);

impl EsiaId {
    pub fn parse(text: &str) -> Result<EsiaId, ValueError> {
        let trimmed = text.trim();
        if trimmed.is_empty()
            || trimmed.len() > 20
            || !trimmed.bytes().all(|byte| byte.is_ascii_digit())
        {
            return Err(ValueError::new(
                Rule::Format,
                format!("`{text}` is not an ESIA id: send the 1 to 20 digit account number"),
            ));
        }
        Ok(EsiaId(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for EsiaId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        EsiaId::parse(&text).map_err(crate::payload::value_error_to_serde)
    }
}

/// Short text fields that name a thing (a source, a reference, a checkpoint): 1..=`max` chars,
/// no control characters.
pub fn parse_short_text(text: &str, max: usize) -> Result<String, ValueError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ValueError::new(Rule::Length, "the value is empty"));
    }
    if trimmed.chars().count() > max {
        return Err(ValueError::new(
            Rule::Length,
            format!("the value is longer than {max} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValueError::new(
            Rule::Format,
            "the value holds control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// The code of a sending agency system (`fns`, `mvd-border`): lowercase letters, digits, `-`, `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SourceId(String);

impl SourceId {
    pub fn parse(text: &str) -> Result<SourceId, ValueError> {
        let valid = !text.is_empty()
            && text.len() <= 64
            && text.bytes().all(|byte| {
                byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'-' | b'_')
            });
        if !valid {
            return Err(ValueError::new(
                Rule::Format,
                format!(
                    "`{text}` is not a source code: use 1 to 64 lowercase letters, digits, `-` or `_`"
                ),
            ));
        }
        Ok(SourceId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// The sender's own reference of a record, unique within its source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SourceRef(String);

impl SourceRef {
    pub const MAX_LENGTH: usize = 128;

    pub fn parse(text: &str) -> Result<SourceRef, ValueError> {
        if text.is_empty() || text.len() > Self::MAX_LENGTH || text.chars().any(char::is_control) {
            return Err(ValueError::new(
                Rule::Format,
                format!(
                    "source_ref must be 1 to {} characters without control characters",
                    Self::MAX_LENGTH
                ),
            ));
        }
        Ok(SourceRef(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_table_is_sorted_and_complete() {
        let iso = &COUNTRY_CODES[..COUNTRY_CODES.len() - 11];
        assert_eq!(iso.len(), 249, "ISO 3166-1 has 249 alpha-3 codes");
        assert!(iso.windows(2).all(|pair| pair[0] < pair[1]));
        for code in ["UZB", "tjk", "KGZ", "XXA", "RKS"] {
            assert!(CountryCode::parse(code).is_ok(), "{code}");
        }
        for code in ["UZ", "ZZZ", "SUN", ""] {
            assert_eq!(
                CountryCode::parse(code).unwrap_err().rule,
                Rule::CountryCode
            );
        }
    }

    #[test]
    fn partial_dates() {
        let check = |text: &str, expected: Result<&str, Rule>| {
            let parsed = PartialDate::parse(text).map(|date| date.to_string());
            assert_eq!(
                parsed.map_err(|error| error.rule).as_deref(),
                expected.as_ref().map(|s| *s),
                "{text}"
            );
        };
        check("1991", Ok("1991"));
        check("1991-07", Ok("1991-07"));
        check("1991-07-14", Ok("1991-07-14"));
        check("2024-02-29", Ok("2024-02-29"));
        check("2023-02-29", Err(Rule::DateImpossible));
        check("1991-13", Err(Rule::DateImpossible));
        check("1991-04-31", Err(Rule::DateImpossible));
        check("14.07.1991", Err(Rule::DateFormat));
        check("1991-7-14", Err(Rule::DateFormat));
        check("0991-07-14", Err(Rule::DateRange));
        assert!(
            PartialDate::parse("1991")
                .unwrap()
                .compatible_with(PartialDate::parse("1991-07-14").unwrap())
        );
        assert!(
            !PartialDate::parse("1991-08")
                .unwrap()
                .compatible_with(PartialDate::parse("1991-07-14").unwrap())
        );
    }

    #[test]
    fn snils_check_digits() {
        assert_eq!(
            Snils::parse("123-456-789 64").unwrap().as_str(),
            "12345678964"
        );
        assert_eq!(Snils::parse("12345678964").unwrap().as_str(), "12345678964");
        assert_eq!(
            Snils::parse("123-456-789 65").unwrap_err().rule,
            Rule::Checksum
        );
        assert_eq!(Snils::parse("123-456-789").unwrap_err().rule, Rule::Format);
        // Sums of 100 and 101 give check digits 00.
        assert!(Snils::parse("112-233-445 95").is_ok());
        // Old numbers have no check digits.
        assert!(Snils::parse("001-001-997 99").is_ok());
    }

    #[test]
    fn inn_check_digits() {
        assert!(Inn::parse("500100732259").is_ok());
        assert!(Inn::parse("7707083893").is_ok());
        assert_eq!(Inn::parse("500100732250").unwrap_err().rule, Rule::Checksum);
        assert_eq!(Inn::parse("771234567890").unwrap_err().rule, Rule::Checksum);
        assert_eq!(Inn::parse("77123").unwrap_err().rule, Rule::Format);
    }

    #[test]
    fn document_numbers_fold_layout_and_separators() {
        let latin = DocumentNumber::parse("FA 123-4567").unwrap();
        assert_eq!(latin.as_str(), "FA1234567");
        assert_eq!(DocumentNumber::parse("АВ №123").unwrap().as_str(), "AB123");
        assert_eq!(DocumentNumber::parse("  ").unwrap_err().rule, Rule::Length);
        assert_eq!(
            DocumentNumber::parse("AB*12").unwrap_err().rule,
            Rule::Format
        );
    }
}
