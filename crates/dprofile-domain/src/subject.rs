//! Who a record is about, as the source saw them: names in any script, a birth date that may be
//! partial, documents and identifiers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::payload::{Date, Validate, parse_typed, value_error_to_serde};
use crate::values::{CountryCode, DocumentNumber, EsiaId, Inn, PartialDate, Snils, ValueError};
use crate::violation::{Rule, Violation, pointer_join};

/// ISO 15924 script of a name as written by the source; detected from the letters when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Script {
    Cyrl,
    Latn,
    Arab,
    Other,
}

impl Script {
    /// The script most letters of `text` belong to.
    pub fn detect(text: &str) -> Script {
        let (mut cyrillic, mut latin, mut arabic) = (0, 0, 0);
        for character in text.chars() {
            match character {
                'a'..='z' | 'A'..='Z' | '\u{00C0}'..='\u{024F}' => latin += 1,
                '\u{0400}'..='\u{052F}' => cyrillic += 1,
                '\u{0600}'..='\u{06FF}' => arabic += 1,
                _ => {}
            }
        }
        if cyrillic == 0 && latin == 0 && arabic == 0 {
            Script::Other
        } else if cyrillic >= latin && cyrillic >= arabic {
            Script::Cyrl
        } else if latin >= arabic {
            Script::Latn
        } else {
            Script::Arab
        }
    }
}

/// A person's name in one script. Any part may be missing, but not all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    #[serde(default)]
    pub script: Option<Script>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<NamePart>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<NamePart>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patronymic: Option<NamePart>,
}

impl PersonName {
    /// The script as sent, or detected from the letters.
    pub fn script(&self) -> Script {
        self.script.unwrap_or_else(|| {
            let joined = [&self.family, &self.given, &self.patronymic]
                .into_iter()
                .flatten()
                .map(|part| part.0.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            Script::detect(&joined)
        })
    }

    /// The parts that are present, family name first.
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        [&self.family, &self.given, &self.patronymic]
            .into_iter()
            .flatten()
            .map(|part| part.0.as_str())
    }
}

/// One part of a name: trimmed, 1 to 100 characters, letters and the punctuation names use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct NamePart(pub String);

impl NamePart {
    pub fn parse(text: &str) -> Result<NamePart, ValueError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.chars().count() > 100 {
            return Err(ValueError::new(
                Rule::Length,
                "a name part must have 1 to 100 characters: leave the part out when unknown",
            ));
        }
        let allowed = trimmed.chars().all(|character| {
            character.is_alphabetic()
                || matches!(
                    character,
                    ' ' | '-' | '\'' | '’' | 'ʼ' | 'ʻ' | '‘' | '.' | '`'
                )
                || crate::linking::is_combining_mark(character)
        });
        if !allowed {
            return Err(ValueError::new(
                Rule::Format,
                format!("`{trimmed}` holds characters that names do not use (digits or symbols)"),
            ));
        }
        Ok(NamePart(trimmed.to_owned()))
    }
}

impl<'de> Deserialize<'de> for NamePart {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        NamePart::parse(&text).map_err(value_error_to_serde)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    #[serde(alias = "m", alias = "male")]
    M,
    #[serde(alias = "f", alias = "female")]
    F,
    /// Unspecified, as ICAO 9303 allows.
    #[serde(alias = "x", alias = "U", alias = "u")]
    X,
}

/// Kinds of identity and travel documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A national passport (for travel abroad).
    Passport,
    /// A national identity card.
    NationalId,
    ResidencePermit,
    TemporaryResidencePermit,
    RefugeeCertificate,
    StatelessPersonId,
    BirthCertificate,
    SeafarerId,
    Other,
}

impl DocumentKind {
    /// Documents whose number names one person for life of the document: strong for linking.
    pub fn is_strong(self) -> bool {
        matches!(self, DocumentKind::Passport | DocumentKind::NationalId)
    }

    pub fn code(self) -> &'static str {
        match self {
            DocumentKind::Passport => "passport",
            DocumentKind::NationalId => "national_id",
            DocumentKind::ResidencePermit => "residence_permit",
            DocumentKind::TemporaryResidencePermit => "temporary_residence_permit",
            DocumentKind::RefugeeCertificate => "refugee_certificate",
            DocumentKind::StatelessPersonId => "stateless_person_id",
            DocumentKind::BirthCertificate => "birth_certificate",
            DocumentKind::SeafarerId => "seafarer_id",
            DocumentKind::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub kind: DocumentKind,
    pub country: CountryCode,
    pub number: DocumentNumber,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<Date>,
}

/// Identifiers as received; they become typed (and usable for linking) only if their check
/// digits hold, otherwise they are flagged and ignored for linking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct RawIdentifiers {
    #[serde(default)]
    snils: Option<String>,
    #[serde(default)]
    inn: Option<String>,
    #[serde(default, alias = "esia")]
    esia_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Identifiers {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snils: Option<Snils>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inn: Option<Inn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub esia_id: Option<EsiaId>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct RawSubject {
    #[serde(default)]
    names: Vec<PersonName>,
    #[serde(default)]
    birth_date: Option<PartialDate>,
    #[serde(default)]
    sex: Option<Sex>,
    #[serde(default)]
    citizenship: Option<CountryCode>,
    #[serde(default)]
    documents: Vec<Document>,
    #[serde(default)]
    identifiers: RawIdentifiers,
}

impl Validate for RawSubject {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        for (index, name) in self.names.iter().enumerate() {
            if name.family.is_none() && name.given.is_none() && name.patronymic.is_none() {
                violations.push(Violation::new(
                    format!("{pointer}/names/{index}"),
                    Rule::Required,
                    "a name needs at least one of family, given, patronymic: drop the empty entry",
                ));
            }
        }
        for (index, document) in self.documents.iter().enumerate() {
            crate::payload::check_date_order(
                violations,
                &format!("{pointer}/documents/{index}"),
                ("issued_on", document.issued_on.as_ref()),
                ("expires_on", document.expires_on.as_ref()),
            );
        }
    }
}

/// The subject of a record, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Subject {
    pub names: Vec<PersonName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<PartialDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citizenship: Option<CountryCode>,
    pub documents: Vec<Document>,
    pub identifiers: Identifiers,
}

/// A subject that passed, with the warnings it raised (unknown fields, identifiers whose check
/// digits fail: kept in the raw record, not used for linking).
#[derive(Debug)]
pub struct SubjectParse {
    pub result: Result<Subject, Vec<Violation>>,
    pub warnings: Vec<Violation>,
}

const SUBJECT_POINTER: &str = "/subject";

pub fn parse_subject(value: &Value) -> SubjectParse {
    let typed = parse_typed::<RawSubject>(value, SUBJECT_POINTER);
    let mut warnings: Vec<Violation> = typed
        .unknown_fields
        .into_iter()
        .map(|pointer| {
            Violation::new(
                pointer,
                Rule::UnknownField,
                "the registry does not know this field: it is kept with the record but not read",
            )
        })
        .collect();
    let result = typed.result.map(|raw| checked_subject(raw, &mut warnings));
    SubjectParse { result, warnings }
}

/// A checked subject from a raw one that passed deserialization and validation; identifiers
/// whose check digits fail are left out with a warning.
fn checked_subject(raw: RawSubject, warnings: &mut Vec<Violation>) -> Subject {
    let identifiers_pointer = pointer_join(SUBJECT_POINTER, "identifiers");
    let identifiers = Identifiers {
        snils: checked_identifier(
            warnings,
            &identifiers_pointer,
            "snils",
            raw.identifiers.snils,
            Snils::parse,
        ),
        inn: checked_identifier(
            warnings,
            &identifiers_pointer,
            "inn",
            raw.identifiers.inn,
            Inn::parse,
        ),
        esia_id: checked_identifier(
            warnings,
            &identifiers_pointer,
            "esia_id",
            raw.identifiers.esia_id,
            EsiaId::parse,
        ),
    };
    Subject {
        names: raw.names,
        birth_date: raw.birth_date,
        sex: raw.sex,
        citizenship: raw.citizenship,
        documents: raw.documents,
        identifiers,
    }
}

/// A subject as received, deserialized straight from a line's bytes but not yet checked: for
/// bulk readers that skip the intermediate JSON tree and the unknown-field tracking of
/// [`parse_subject`] (a third of a line's reading time) and do not need its warnings.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct UncheckedSubject(RawSubject);

impl UncheckedSubject {
    /// The checks of [`parse_subject`], with the same outcome; warnings are dropped. A subject
    /// that does not deserialize never becomes an `UncheckedSubject`: callers go through
    /// [`parse_subject`] for its violations.
    pub fn check(self) -> Result<Subject, Vec<Violation>> {
        let mut violations = Vec::new();
        self.0.validate(SUBJECT_POINTER, &mut violations);
        if !violations.is_empty() {
            return Err(violations);
        }
        Ok(checked_subject(self.0, &mut Vec::new()))
    }
}

fn checked_identifier<T>(
    warnings: &mut Vec<Violation>,
    identifiers_pointer: &str,
    field: &str,
    text: Option<String>,
    parse: fn(&str) -> Result<T, ValueError>,
) -> Option<T> {
    let text = text?;
    match parse(&text) {
        Ok(value) => Some(value),
        Err(error) => {
            warnings.push(Violation::new(
                pointer_join(identifiers_pointer, field),
                error.rule,
                format!("{}; it is kept but not used to link records", error.message),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed path gives what `parse_subject` gives: the same subject, or a refusal.
    fn check_same_outcome(json: &str) {
        let value: Value = serde_json::from_str(json).expect("test json");
        let expected = parse_subject(&value).result;
        let typed = serde_json::from_str::<UncheckedSubject>(json)
            .map_err(|_| ())
            .and_then(|unchecked| unchecked.check().map_err(|_| ()));
        match expected {
            Ok(subject) => assert_eq!(typed, Ok(subject), "{json}"),
            Err(_) => assert!(typed.is_err(), "{json}"),
        }
    }

    #[test]
    fn unchecked_subject_checks_like_parse_subject() {
        check_same_outcome(
            r#"{"names":[{"script":"Cyrl","family":"Абдуллаев","given":"Рустам"}],"birth_date":"1991-07-14","sex":"M","citizenship":"UZB","documents":[{"kind":"passport","country":"UZB","number":"FA1234567","issued_on":"2019-02-11","expires_on":"2029-02-11"}],"identifiers":{"snils":"112-233-445 95","inn":"000000000000"},"extra":1}"#,
        );
        check_same_outcome(r#"{}"#);
        check_same_outcome(r#"{"names":[{}]}"#);
        check_same_outcome(r#"{"birth_date":"1991-13-40"}"#);
        check_same_outcome(
            r#"{"documents":[{"kind":"passport","country":"UZB","number":"FA1","issued_on":"2029-02-11","expires_on":"2019-02-11"}]}"#,
        );
        check_same_outcome(r#"{"sex":"female","identifiers":{"esia":"1000123456"}}"#);
    }
}
