//! One valid and several invalid examples per category.

use serde_json::json;

use super::*;

/// Parses `data` for `category` and returns the rule codes and pointers of what failed.
fn violations(category: Category, data: Value) -> Vec<(String, String)> {
    match parse_payload(category, &data).result {
        Ok(_) => Vec::new(),
        Err(violations) => violations
            .into_iter()
            .map(|violation| (violation.pointer, violation.rule))
            .collect(),
    }
}

fn assert_valid(category: Category, data: Value) {
    let parsed = parse_payload(category, &data);
    match parsed.result {
        Ok(payload) => assert_eq!(payload.category(), category),
        Err(violations) => panic!("{category} should accept {data}: {violations:?}"),
    }
}

fn assert_invalid(category: Category, data: Value, pointer: &str, rule: Rule) {
    let found = violations(category, data.clone());
    assert!(
        found.contains(&(pointer.to_owned(), rule.code().to_owned())),
        "{category} {data}: expected {pointer} {}, got {found:?}",
        rule.code()
    );
}

#[test]
fn tax_debt() {
    assert_valid(
        Category::TaxDebt,
        json!({"balance": -1250.00, "as_of": "2026-03-01"}),
    );
    assert_invalid(
        Category::TaxDebt,
        json!({"balance": "a lot", "as_of": "2026-03-01"}),
        "/data/balance",
        Rule::Type,
    );
    assert_invalid(
        Category::TaxDebt,
        json!({"balance": 1.005, "as_of": "2026-03-01"}),
        "/data/balance",
        Rule::Format,
    );
    assert_invalid(
        Category::TaxDebt,
        json!({"balance": 1}),
        "/data/as_of",
        Rule::Required,
    );
    assert_invalid(
        Category::TaxDebt,
        json!({"balance": 1, "as_of": "2026-02-30"}),
        "/data/as_of",
        Rule::DateImpossible,
    );
    assert_invalid(
        Category::TaxDebt,
        json!({"balance": 1, "as_of": "2026-03-01", "kind": "vat"}),
        "/data/kind",
        Rule::Enum,
    );
}

#[test]
fn unknown_fields_are_flagged_not_refused() {
    let parsed = parse_payload(
        Category::TaxDebt,
        &json!({"balance": 5, "as_of": "2026-03-01", "inspector": {"name": "x"}}),
    );
    assert!(parsed.result.is_ok());
    assert_eq!(parsed.unknown_fields, vec!["/data/inspector".to_owned()]);
}

#[test]
fn every_category_has_a_payload() {
    for category in Category::ALL {
        // An empty object must fail for every category that has a required field, and the
        // failure must point into /data; it must never panic.
        let parsed = parse_payload(*category, &json!({}));
        if let Err(violations) = parsed.result {
            assert!(
                violations
                    .iter()
                    .all(|violation| violation.pointer.starts_with("/data"))
            );
        }
    }
}
