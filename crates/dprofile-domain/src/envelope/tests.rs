//! The envelope as DESIGN.md fixes it, and the ways a line can be wrong.

use serde_json::json;

use super::*;

/// The example from DESIGN.md, verbatim.
const DESIGN_EXAMPLE: &str = r#"{"source": "fns", "source_ref": "fns-2026-000123", "revision": 1, "action": "upsert",
 "category": "tax_debt", "observed_at": "2026-03-01T09:00:00Z",
 "valid_from": "2026-03-01", "valid_to": null,
 "subject": {
   "names": [{"script": "Cyrl", "family": "Абдуллаев", "given": "Рустам", "patronymic": "Шухратович"},
             {"script": "Latn", "family": "ABDULLAYEV", "given": "RUSTAM"}],
   "birth_date": "1991-07-14", "sex": "M", "citizenship": "UZB",
   "documents": [{"kind": "passport", "country": "UZB", "number": "FA1234567"}],
   "identifiers": {"snils": "123-456-789 64", "inn": "771234567890"}},
 "data": {"balance": -1250.00, "as_of": "2026-03-01"}}"#;

fn rejection(line: &str) -> Vec<(String, String)> {
    match parse_record(line.as_bytes(), ParseMode::Full) {
        Ok(record) => panic!("{line} should be refused, got {record:?}"),
        Err(rejection) => rejection
            .violations
            .into_iter()
            .map(|violation| (violation.pointer, violation.rule))
            .collect(),
    }
}

fn assert_refused(line: &str, pointer: &str, rule: Rule) {
    let found = rejection(line);
    assert!(
        found.contains(&(pointer.to_owned(), rule.code().to_owned())),
        "{line}: expected {pointer} {}, got {found:?}",
        rule.code()
    );
}

fn base() -> serde_json::Value {
    json!({"source": "fns", "source_ref": "r-1", "category": "tax_debt",
           "subject": {"birth_date": "1991-07-14"},
           "data": {"balance": 10, "as_of": "2026-03-01"}})
}

fn with(path: &[&str], value: serde_json::Value) -> String {
    let mut record = base();
    let mut target = &mut record;
    for segment in &path[..path.len() - 1] {
        target = &mut target[*segment];
    }
    let last = path[path.len() - 1];
    if value.is_null() {
        target.as_object_mut().unwrap().remove(last);
    } else {
        target[last] = value;
    }
    record.to_string()
}

#[test]
fn the_design_example_is_accepted() {
    let record = parse_record(DESIGN_EXAMPLE.as_bytes(), ParseMode::Full).unwrap();
    assert_eq!(record.source.as_str(), "fns");
    assert_eq!(record.source_ref.as_str(), "fns-2026-000123");
    assert_eq!(record.revision, 1);
    assert_eq!(record.action, Action::Upsert);
    assert_eq!(record.category, Some(Category::TaxDebt));
    assert_eq!(record.subject.names.len(), 2);
    assert_eq!(record.subject.birth_date.unwrap().to_string(), "1991-07-14");
    assert_eq!(
        record.subject.identifiers.snils.as_ref().unwrap().as_str(),
        "12345678964"
    );
    // The example's INN fails its check digits: kept in the raw record, flagged, not linked on.
    assert!(record.subject.identifiers.inn.is_none());
    assert!(
        record
            .warnings
            .iter()
            .any(|warning| warning.pointer == "/subject/identifiers/inn"
                && warning.rule == "checksum")
    );
    let keys: Vec<String> = crate::linking::strong_keys(&record.subject)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(keys, ["passport:UZB:FA1234567", "snils:12345678964"]);
}

#[test]
fn defaults_and_partial_dates() {
    let record = parse_record(
        br#"{"source":"mvd","source_ref":"x","category":"tax_debt","subject":{"birth_date":"1991"},"data":{"balance":0,"as_of":"2026-01-01"}}"#,
        ParseMode::Full,
    )
    .unwrap();
    assert_eq!(record.revision, 1);
    assert_eq!(record.action, Action::Upsert);
    assert_eq!(record.subject.birth_date.unwrap().year(), 1991);
    assert!(record.subject.birth_date.unwrap().month().is_none());
}

#[test]
fn malformed_lines_say_which_field_and_rule() {
    assert_refused("{not json", "", Rule::JsonSyntax);
    assert_refused("[1,2]", "", Rule::NotAnObject);
    assert_refused(&with(&["source"], json!(null)), "/source", Rule::Required);
    assert_refused(&with(&["source"], json!(12)), "/source", Rule::Type);
    assert_refused(&with(&["source"], json!("F N S")), "/source", Rule::Format);
    assert_refused(
        &with(&["source_ref"], json!(null)),
        "/source_ref",
        Rule::Required,
    );
    assert_refused(
        &with(&["category"], json!("horoscope")),
        "/category",
        Rule::UnknownCategory,
    );
    assert_refused(
        &with(&["category"], json!(null)),
        "/category",
        Rule::Required,
    );
    assert_refused(&with(&["revision"], json!(0)), "/revision", Rule::Range);
    assert_refused(&with(&["revision"], json!("2")), "/revision", Rule::Type);
    assert_refused(&with(&["action"], json!("delete")), "/action", Rule::Enum);
    assert_refused(
        &with(&["subject", "birth_date"], json!("1991-02-30")),
        "/subject/birth_date",
        Rule::DateImpossible,
    );
    assert_refused(
        &with(&["subject", "birth_date"], json!("14.07.1991")),
        "/subject/birth_date",
        Rule::DateFormat,
    );
    assert_refused(
        &with(&["subject", "citizenship"], json!("UZ")),
        "/subject/citizenship",
        Rule::CountryCode,
    );
    assert_refused(
        &with(&["subject", "names"], json!([{"family": "Ab12"}])),
        "/subject/names/0/family",
        Rule::Format,
    );
    assert_refused(
        &with(&["subject", "names"], json!([{"script": "Cyrl"}])),
        "/subject/names/0",
        Rule::Required,
    );
    assert_refused(
        &with(
            &["subject", "documents"],
            json!([{"kind": "passport", "country": "UZB"}]),
        ),
        "/subject/documents/0/number",
        Rule::Required,
    );
    assert_refused(&with(&["subject"], json!("Ivanov")), "/subject", Rule::Type);
    let mut dates_reversed = base();
    dates_reversed["valid_from"] = json!("2026-05-01");
    dates_reversed["valid_to"] = json!("2026-04-01");
    assert_refused(&dates_reversed.to_string(), "/valid_to", Rule::DateOrder);
    assert_refused(
        &with(&["observed_at"], json!("yesterday")),
        "/observed_at",
        Rule::DateFormat,
    );
    assert_refused(&with(&["data"], json!(null)), "/data", Rule::Required);
    assert_refused(
        &with(&["data", "balance"], json!("ten")),
        "/data/balance",
        Rule::Type,
    );
}

#[test]
fn a_rejection_keeps_the_key_it_could_read() {
    let rejection = parse_record(
        with(&["category"], json!("horoscope")).as_bytes(),
        ParseMode::Full,
    )
    .unwrap_err();
    assert_eq!(rejection.source.as_deref(), Some("fns"));
    assert_eq!(rejection.source_ref.as_deref(), Some("r-1"));
}

#[test]
fn unknown_fields_are_kept_and_flagged() {
    let line = with(&["priority"], json!("high"));
    let record = parse_record(line.as_bytes(), ParseMode::Full).unwrap();
    let flagged: Vec<&str> = record
        .warnings
        .iter()
        .map(|warning| warning.pointer.as_str())
        .collect();
    assert_eq!(flagged, ["/priority"]);
}

#[test]
fn retraction_needs_no_category_or_data() {
    let record = parse_record(
        br#"{"source":"fns","source_ref":"r-1","revision":2,"action":"retract"}"#,
        ParseMode::Full,
    )
    .unwrap();
    assert_eq!(record.action, Action::Retract);
    assert!(record.payload.is_none());
}

#[test]
fn subject_only_mode_ignores_category_and_data() {
    let record = parse_record(
        br#"{"source":"fns","source_ref":"r-1","subject":{"names":[{"family":"Karimov"}]}}"#,
        ParseMode::SubjectOnly,
    )
    .unwrap();
    assert!(record.category.is_none());
    assert!(parse_record(br#"{"source":"fns","source_ref":"r-1"}"#, ParseMode::Full).is_err());
}

#[test]
fn content_hash_ignores_key_order_and_whitespace() {
    let first = parse_record(br#"{"source":"a","source_ref":"1","category":"tax_debt","data":{"balance":1,"as_of":"2026-01-01"}}"#, ParseMode::Full).unwrap();
    let second = parse_record(br#"{ "data": {"as_of":"2026-01-01", "balance": 1.0}, "category":"tax_debt", "source_ref":"1", "source":"a" }"#, ParseMode::Full).unwrap();
    assert_eq!(first.content_hash, second.content_hash);
    let third = parse_record(br#"{"source":"a","source_ref":"1","category":"tax_debt","data":{"balance":2,"as_of":"2026-01-01"}}"#, ParseMode::Full).unwrap();
    assert_ne!(first.content_hash, third.content_hash);
}
