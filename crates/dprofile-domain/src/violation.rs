//! Machine-readable reasons why input was refused or flagged: which field, which rule, what to do.

use serde::{Deserialize, Serialize};

/// One broken rule in one field of a received record.
///
/// `pointer` is an RFC 6901 JSON pointer into the received record (`/subject/birth_date`),
/// `rule` a stable code that clients may match on, `message` a lowercase sentence for a human
/// that says what is wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub pointer: String,
    pub rule: String,
    pub message: String,
}

impl Violation {
    pub fn new(pointer: impl Into<String>, rule: Rule, message: impl Into<String>) -> Self {
        Violation {
            pointer: pointer.into(),
            rule: rule.code().to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(formatter, "{pointer}: {} ({})", self.message, self.rule)
    }
}

/// The stable rule codes. Adding a code is compatible; renaming one is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The line is not valid JSON (or not UTF-8).
    JsonSyntax,
    /// The line is JSON but not an object.
    NotAnObject,
    /// A required field is missing or null.
    Required,
    /// A field has the wrong JSON type.
    Type,
    /// A string is empty or too long.
    Length,
    /// A value is not one of the allowed values.
    Enum,
    /// `category` names no known category.
    UnknownCategory,
    /// A date or date-time does not follow its format.
    DateFormat,
    /// A date that cannot exist (30 February, month 13).
    DateImpossible,
    /// A date outside the range the registry accepts.
    DateRange,
    /// Two dates in the wrong order (`valid_to` before `valid_from`).
    DateOrder,
    /// Not an ISO 3166-1 alpha-3 code (or an ICAO 9303 special code).
    CountryCode,
    /// A number outside its allowed range.
    Range,
    /// A value that does not follow its format (a VIN, a cadastral number, a phone number).
    Format,
    /// Check digits that do not match (SNILS, INN, VIN).
    Checksum,
    /// A field the registry does not know; kept with the record, not interpreted.
    UnknownField,
    /// The same `(source, source_ref, revision)` arrived before with different content.
    RevisionConflict,
    /// A record (or a batch line) larger than the configured limit.
    TooLarge,
}

impl Rule {
    pub const ALL: [Rule; 18] = [
        Rule::JsonSyntax,
        Rule::NotAnObject,
        Rule::Required,
        Rule::Type,
        Rule::Length,
        Rule::Enum,
        Rule::UnknownCategory,
        Rule::DateFormat,
        Rule::DateImpossible,
        Rule::DateRange,
        Rule::DateOrder,
        Rule::CountryCode,
        Rule::Range,
        Rule::Format,
        Rule::Checksum,
        Rule::UnknownField,
        Rule::RevisionConflict,
        Rule::TooLarge,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Rule::JsonSyntax => "json_syntax",
            Rule::NotAnObject => "not_an_object",
            Rule::Required => "required",
            Rule::Type => "type",
            Rule::Length => "length",
            Rule::Enum => "enum",
            Rule::UnknownCategory => "unknown_category",
            Rule::DateFormat => "date_format",
            Rule::DateImpossible => "date_impossible",
            Rule::DateRange => "date_range",
            Rule::DateOrder => "date_order",
            Rule::CountryCode => "country_code",
            Rule::Range => "range",
            Rule::Format => "format",
            Rule::Checksum => "checksum",
            Rule::UnknownField => "unknown_field",
            Rule::RevisionConflict => "revision_conflict",
            Rule::TooLarge => "too_large",
        }
    }

    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.code() == code)
    }
}

/// Appends `segment` to a JSON pointer, escaping `~` and `/` as RFC 6901 requires.
pub fn pointer_join(base: &str, segment: &str) -> String {
    let escaped = segment.replace('~', "~0").replace('/', "~1");
    format!("{base}/{escaped}")
}
