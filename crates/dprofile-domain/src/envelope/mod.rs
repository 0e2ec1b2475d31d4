//! The ingest envelope (DESIGN.md, a contract): one JSON object per record, read into a
//! [`SourceRecord`] or refused with the reasons.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::category::Category;
use crate::payload::{self, Payload};
use crate::subject::{Subject, parse_subject};
use crate::values::{SourceId, SourceRef, ValueError, parse_full_date};
use crate::violation::{Rule, Violation, pointer_join};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Upsert,
    Retract,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Upsert => "upsert",
            Action::Retract => "retract",
        }
    }

    pub fn from_code(code: &str) -> Option<Action> {
        match code {
            "upsert" => Some(Action::Upsert),
            "retract" => Some(Action::Retract),
            _ => None,
        }
    }
}

/// How much of the envelope must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseMode {
    /// Everything the registry stores: `category` and `data` required for an upsert.
    Full,
    /// Identity resolution only: `source`, `source_ref` and `subject`; `category` and `data`
    /// may be absent and are not read.
    SubjectOnly,
}

/// A received record that passed every rule. Immutable once stored.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    pub source: SourceId,
    pub source_ref: SourceRef,
    pub revision: u32,
    pub action: Action,
    /// Present for every upsert in [`ParseMode::Full`]; optional for a retraction.
    pub category: Option<Category>,
    pub observed_at: Option<DateTime<Utc>>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub subject: Subject,
    pub payload: Option<Payload>,
    /// Unknown fields and identifiers that failed their check digits: kept, flagged, not used.
    pub warnings: Vec<Violation>,
    /// BLAKE3 of the record's canonical JSON (keys sorted, whitespace dropped): a resend with
    /// the same key and this hash is a duplicate.
    pub content_hash: [u8; 32],
}

/// A line that failed, with what could still be read of its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub source: Option<String>,
    pub source_ref: Option<String>,
    pub violations: Vec<Violation>,
}

/// Highest revision accepted; beyond it a revision is a typo.
pub const MAX_REVISION: u64 = i32::MAX as u64;

const KNOWN_FIELDS: [&str; 10] = [
    "source",
    "source_ref",
    "revision",
    "action",
    "category",
    "observed_at",
    "valid_from",
    "valid_to",
    "subject",
    "data",
];

/// Reads one line of NDJSON (or one request body) into a record.
pub fn parse_record(line: &[u8], mode: ParseMode) -> Result<SourceRecord, Rejection> {
    let value: Value = match serde_json::from_slice(line) {
        Ok(value) => value,
        Err(error) => {
            let message =
                format!("the line is not valid JSON ({error}): send one JSON object per line");
            return Err(Rejection {
                source: None,
                source_ref: None,
                violations: vec![Violation::new("", Rule::JsonSyntax, message)],
            });
        }
    };
    parse_record_value(&value, mode)
}

/// Reads an already parsed JSON value into a record.
pub fn parse_record_value(value: &Value, mode: ParseMode) -> Result<SourceRecord, Rejection> {
    let Some(object) = value.as_object() else {
        return Err(Rejection {
            source: None,
            source_ref: None,
            violations: vec![Violation::new(
                "",
                Rule::NotAnObject,
                "a record must be a JSON object: wrap the fields in { }",
            )],
        });
    };
    let mut reader = EnvelopeReader {
        object,
        violations: Vec::new(),
    };
    let source = reader
        .required_string("source")
        .and_then(|text| reader.check("/source", SourceId::parse(&text)));
    let source_ref = reader
        .required_string("source_ref")
        .and_then(|text| reader.check("/source_ref", SourceRef::parse(&text)));
    let revision = reader.revision();
    let action = reader.action();
    let category = reader.category(mode, action);
    let observed_at = reader.optional_string("observed_at").and_then(|text| {
        let parsed = payload::DateTime::parse(&text).map(|instant| instant.0);
        reader.check("/observed_at", parsed)
    });
    let valid_from = reader
        .optional_string("valid_from")
        .and_then(|text| reader.check("/valid_from", parse_full_date(&text)));
    let valid_to = reader
        .optional_string("valid_to")
        .and_then(|text| reader.check("/valid_to", parse_full_date(&text)));
    if let (Some(from), Some(to)) = (valid_from, valid_to)
        && to < from
    {
        reader.violations.push(Violation::new(
            "/valid_to",
            Rule::DateOrder,
            format!("valid_to ({to}) is before valid_from ({from}): check both dates"),
        ));
    }

    let mut warnings: Vec<Violation> = object
        .keys()
        .filter(|key| !KNOWN_FIELDS.contains(&key.as_str()))
        .map(|key| {
            Violation::new(
                pointer_join("", key),
                Rule::UnknownField,
                "the registry does not know this field: it is kept with the record but not read",
            )
        })
        .collect();

    let subject = match object.get("subject") {
        None | Some(Value::Null) => Some(Subject::default()),
        Some(subject_value @ Value::Object(_)) => {
            let parsed = parse_subject(subject_value);
            warnings.extend(parsed.warnings);
            match parsed.result {
                Ok(subject) => Some(subject),
                Err(violations) => {
                    reader.violations.extend(violations);
                    None
                }
            }
        }
        Some(_) => {
            reader.violations.push(Violation::new(
                "/subject",
                Rule::Type,
                "subject must be an object with names, birth_date, documents, identifiers",
            ));
            None
        }
    };

    let payload = match (mode, action, category) {
        (ParseMode::Full, Some(Action::Upsert), Some(category)) => {
            match object.get("data") {
                None | Some(Value::Null) => {
                    reader.violations.push(Violation::new(
                    "/data",
                    Rule::Required,
                    format!("data is required for an upsert of {category}: add the record's data object"),
                ));
                    None
                }
                Some(data @ Value::Object(_)) => {
                    let parsed = payload::parse_payload(category, data);
                    warnings.extend(parsed.unknown_fields.into_iter().map(|pointer| {
                    Violation::new(
                        pointer,
                        Rule::UnknownField,
                        "the registry does not know this field: it is kept with the record but not read",
                    )
                }));
                    match parsed.result {
                        Ok(payload) => Some(payload),
                        Err(violations) => {
                            reader.violations.extend(violations);
                            None
                        }
                    }
                }
                Some(_) => {
                    reader.violations.push(Violation::new(
                        "/data",
                        Rule::Type,
                        "data must be a JSON object",
                    ));
                    None
                }
            }
        }
        _ => None,
    };

    match (
        source,
        source_ref,
        revision,
        action,
        subject,
        reader.violations.is_empty(),
    ) {
        (Some(source), Some(source_ref), Some(revision), Some(action), Some(subject), true) => {
            Ok(SourceRecord {
                source,
                source_ref,
                revision,
                action,
                category,
                observed_at,
                valid_from,
                valid_to,
                subject,
                payload,
                warnings,
                content_hash: content_hash(value),
            })
        }
        _ => Err(Rejection {
            source: object
                .get("source")
                .and_then(Value::as_str)
                .map(str::to_owned),
            source_ref: object
                .get("source_ref")
                .and_then(Value::as_str)
                .map(str::to_owned),
            violations: reader.violations,
        }),
    }
}

struct EnvelopeReader<'a> {
    object: &'a Map<String, Value>,
    violations: Vec<Violation>,
}

impl EnvelopeReader<'_> {
    fn check<T>(&mut self, pointer: &str, result: Result<T, ValueError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.violations
                    .push(Violation::new(pointer, error.rule, error.message));
                None
            }
        }
    }

    fn optional_string(&mut self, field: &str) -> Option<String> {
        match self.object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => {
                self.violations.push(Violation::new(
                    pointer_join("", field),
                    Rule::Type,
                    format!("{field} must be a string, not {}", json_type(other)),
                ));
                None
            }
        }
    }

    fn required_string(&mut self, field: &str) -> Option<String> {
        if matches!(self.object.get(field), None | Some(Value::Null)) {
            self.violations.push(Violation::new(
                pointer_join("", field),
                Rule::Required,
                format!("{field} is required: add it"),
            ));
            return None;
        }
        self.optional_string(field)
    }

    fn revision(&mut self) -> Option<u32> {
        match self.object.get("revision") {
            None | Some(Value::Null) => Some(1),
            Some(Value::Number(number)) => match number.as_u64() {
                Some(revision) if (1..=MAX_REVISION).contains(&revision) => {
                    u32::try_from(revision).ok()
                }
                _ => {
                    self.violations.push(Violation::new(
                        "/revision",
                        Rule::Range,
                        format!("revision must be a whole number from 1 to {MAX_REVISION}"),
                    ));
                    None
                }
            },
            Some(other) => {
                self.violations.push(Violation::new(
                    "/revision",
                    Rule::Type,
                    format!("revision must be a number, not {}", json_type(other)),
                ));
                None
            }
        }
    }

    fn action(&mut self) -> Option<Action> {
        match self.optional_string("action") {
            None if self
                .object
                .get("action")
                .is_some_and(|value| !value.is_null()) =>
            {
                None
            }
            None => Some(Action::Upsert),
            Some(text) => {
                let action = Action::from_code(&text);
                if action.is_none() {
                    self.violations.push(Violation::new(
                        "/action",
                        Rule::Enum,
                        format!("action `{text}` is unknown: use upsert or retract"),
                    ));
                }
                action
            }
        }
    }

    fn category(&mut self, mode: ParseMode, action: Option<Action>) -> Option<Category> {
        let needed = mode == ParseMode::Full && action == Some(Action::Upsert);
        let text = if needed {
            self.required_string("category")?
        } else {
            self.optional_string("category")?
        };
        let category = Category::from_code(&text);
        if category.is_none() && mode == ParseMode::Full {
            self.violations.push(Violation::new(
                "/category",
                Rule::UnknownCategory,
                format!("category `{text}` is unknown: see the list of categories in the API docs"),
            ));
        }
        category
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// BLAKE3 over the canonical form: object keys sorted at every depth, no whitespace,
/// integral numbers written as integers.
pub fn content_hash(value: &Value) -> [u8; 32] {
    let mut canonical = Vec::with_capacity(1024);
    write_canonical(value, &mut canonical);
    *blake3::hash(&canonical).as_bytes()
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(&String, &Value)> = object.iter().collect();
            // serde_json's map is already sorted unless its `preserve_order` feature is on;
            // sorting a sorted list is one cheap pass.
            entries.sort_unstable_by(|left, right| left.0.cmp(right.0));
            out.push(b'{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_json_string(key, out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::String(text) => write_json_string(text, out),
        Value::Number(number) => {
            // 1250 and 1250.0 are the same amount: integral floats hash as integers.
            match number.as_f64() {
                Some(float) if number.is_f64() && float.fract() == 0.0 && float.abs() < 9.0e15 => {
                    out.extend_from_slice((float as i64).to_string().as_bytes());
                }
                _ => out.extend_from_slice(number.to_string().as_bytes()),
            }
        }
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Null => out.extend_from_slice(b"null"),
    }
}

/// A JSON string literal, escaped as serde_json escapes it.
fn write_json_string(text: &str, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

#[cfg(test)]
mod tests;
