//! One valid and several invalid examples per category. Invalid examples are single edits of
//! the valid one, so each must fail with exactly one violation: the expected pointer and rule.

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

/// Asserts that `data` is accepted, and that the payload's own JSON reads back to the same
/// payload (what the store keeps must parse again).
fn assert_valid(category: Category, data: Value) {
    let parsed = parse_payload(category, &data);
    match parsed.result {
        Ok(payload) => {
            assert_eq!(payload.category(), category);
            let written = payload.to_json();
            match parse_payload(category, &written).result {
                Ok(reread) => assert_eq!(reread, payload, "{category} {written}"),
                Err(violations) => {
                    panic!("{category} cannot read its own {written}: {violations:?}")
                }
            }
        }
        Err(violations) => panic!("{category} should accept {data}: {violations:?}"),
    }
}

/// Asserts that `data` is refused with exactly one violation, at `pointer` for `rule`.
fn assert_invalid(category: Category, data: Value, pointer: &str, rule: Rule) {
    let found = violations(category, data.clone());
    assert_eq!(
        found,
        vec![(pointer.to_owned(), rule.code().to_owned())],
        "{category} {data}: expected {pointer} {}",
        rule.code()
    );
}

/// One change to a valid example; pointers are relative to `data`.
enum Edit {
    Set(&'static str, Value),
    Remove(&'static str),
}

use Edit::{Remove, Set};

fn edited(base: &Value, edit: &Edit) -> Value {
    let mut data = base.clone();
    let (pointer, replacement) = match edit {
        Set(pointer, value) => (*pointer, Some(value.clone())),
        Remove(pointer) => (*pointer, None),
    };
    let (parent_pointer, key) = pointer
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("edit pointer {pointer} must start with /"));
    let parent = data
        .pointer_mut(parent_pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {parent_pointer} in {base}"));
    match replacement {
        Some(value) => {
            parent.insert(key.to_owned(), value);
        }
        None => {
            parent.remove(key);
        }
    }
    data
}

/// Asserts that `valid` is accepted, and stays accepted after each of `edits` on its own.
fn check_valid(category: Category, valid: &Value, edits: Vec<Edit>) {
    assert_valid(category, valid.clone());
    for edit in &edits {
        assert_valid(category, edited(valid, edit));
    }
}

/// Asserts that each edit of `valid`, on its own, is refused at the pointer for the rule.
fn check_invalid(category: Category, valid: &Value, cases: Vec<(Edit, &str, Rule)>) {
    for (edit, pointer, rule) in &cases {
        assert_invalid(category, edited(valid, edit), pointer, *rule);
    }
}

#[test]
fn migration_registration() {
    let category = Category::MigrationRegistration;
    let valid = json!({
        "registered_on": "2026-02-10", "expires_on": "2026-05-10",
        "address": {"region": "77", "city": "Москва", "street": "ул. Профсоюзная, д. 56, кв. 12"},
        "host": {"kind": "organisation", "name": "ООО «СтройМонтаж»", "inn": "7728012340"},
        "purpose": "work", "kind": "initial"
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/purpose"),
            Remove("/kind"),
            Set("/kind", json!(null)),
            Set("/kind", json!("extension")),
            Remove("/host/inn"),
            Set(
                "/host",
                json!({"kind": "person", "name": "Каримов Бахтиёр Алиевич", "inn": "771912345657"}),
            ),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/expires_on", json!("2026-01-10")),
                "/data/expires_on",
                Rule::DateOrder,
            ),
            (
                Set("/registered_on", json!("10.02.2026")),
                "/data/registered_on",
                Rule::DateFormat,
            ),
            (
                Set("/expires_on", json!(null)),
                "/data/expires_on",
                Rule::Required,
            ),
            (
                Remove("/address/street"),
                "/data/address/street",
                Rule::Required,
            ),
            (
                Set("/address", json!(null)),
                "/data/address",
                Rule::Required,
            ),
            (
                Set("/address/region", json!("7")),
                "/data/address/region",
                Rule::Format,
            ),
            (
                Set("/address/region", json!("00")),
                "/data/address/region",
                Rule::Range,
            ),
            (
                Set("/address/region", json!(77)),
                "/data/address/region",
                Rule::Type,
            ),
            (
                Set("/address/city", json!("")),
                "/data/address/city",
                Rule::Length,
            ),
            (
                Set("/host/kind", json!("company")),
                "/data/host/kind",
                Rule::Enum,
            ),
            (
                Set("/host/inn", json!("7728012341")),
                "/data/host/inn",
                Rule::Checksum,
            ),
            (
                Set("/purpose", json!("pilgrimage")),
                "/data/purpose",
                Rule::Enum,
            ),
            (Set("/kind", json!("renewal")), "/data/kind", Rule::Enum),
        ],
    );
}

#[test]
fn stay_application() {
    let category = Category::StayApplication;
    let valid = json!({
        "application_number": "770-2026-004512", "kind": "temporary_residence_permit",
        "submitted_on": "2026-01-15", "status": "approved", "decided_on": "2026-05-20",
        "office": "ГУ МВД России по г. Москве, ММЦ Сахарово"
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/decided_on"),
            Remove("/office"),
            Set("/kind", json!("resettlement_programme")),
            Set("/status", json!("under_review")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/decided_on", json!("2025-12-31")),
                "/data/decided_on",
                Rule::DateOrder,
            ),
            (
                Set("/submitted_on", json!("2026-04-31")),
                "/data/submitted_on",
                Rule::DateImpossible,
            ),
            (Set("/status", json!("pending")), "/data/status", Rule::Enum),
            (Remove("/kind"), "/data/kind", Rule::Required),
            (
                Set("/application_number", json!("")),
                "/data/application_number",
                Rule::Length,
            ),
            (
                Set("/application_number", json!(4512)),
                "/data/application_number",
                Rule::Type,
            ),
        ],
    );
}

#[test]
fn stay_document() {
    let category = Category::StayDocument;
    let patent = json!({
        "kind": "patent", "number": "77 2600123456", "issued_on": "2026-01-20",
        "expires_on": "2027-01-19", "issuer": "ГУ МВД России по г. Москве", "region": "77",
        "work_allowed": true, "profession": "подсобный рабочий", "patent_paid_until": "2026-04-19"
    });
    check_valid(
        category,
        &patent,
        vec![
            Remove("/issuer"),
            Remove("/region"),
            Remove("/work_allowed"),
            Remove("/profession"),
            Remove("/patent_paid_until"),
        ],
    );
    // A residence permit has no end date.
    assert_valid(
        category,
        json!({"kind": "residence_permit", "number": "82 № 0123456", "issued_on": "2025-06-02"}),
    );
    check_invalid(
        category,
        &patent,
        vec![
            (Remove("/expires_on"), "/data/expires_on", Rule::Required),
            (
                Set("/expires_on", json!("2025-01-01")),
                "/data/expires_on",
                Rule::DateOrder,
            ),
            (Set("/region", json!("770")), "/data/region", Rule::Format),
            (
                Set("/work_allowed", json!("yes")),
                "/data/work_allowed",
                Rule::Type,
            ),
            (Set("/kind", json!("green_card")), "/data/kind", Rule::Enum),
            (
                Set("/patent_paid_until", json!("2026-13-01")),
                "/data/patent_paid_until",
                Rule::DateImpossible,
            ),
        ],
    );
    // Only a residence permit may leave out `expires_on`.
    assert_invalid(
        category,
        json!({"kind": "temporary_residence_permit", "number": "77 0012345", "issued_on": "2025-06-02"}),
        "/data/expires_on",
        Rule::Required,
    );
}

#[test]
fn border_crossing() {
    let category = Category::BorderCrossing;
    let valid = json!({
        "direction": "entry", "crossed_at": "2026-02-03T04:35:00+03:00",
        "checkpoint": "Москва (Домодедово)", "transport": "air", "declared_purpose": "work",
        "document_number": "FA1234567"
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/declared_purpose"),
            Remove("/document_number"),
            Set("/crossed_at", json!("2026-02-03T01:35:00Z")),
            Set("/direction", json!("exit")),
            Set("/transport", json!("pedestrian")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/crossed_at", json!("2026-02-03")),
                "/data/crossed_at",
                Rule::DateFormat,
            ),
            (
                Set("/crossed_at", json!(1_770_000_000)),
                "/data/crossed_at",
                Rule::Type,
            ),
            (
                Set("/direction", json!("in")),
                "/data/direction",
                Rule::Enum,
            ),
            (
                Set("/transport", json!("bus")),
                "/data/transport",
                Rule::Enum,
            ),
            (Remove("/checkpoint"), "/data/checkpoint", Rule::Required),
            (
                Set("/declared_purpose", json!("pilgrimage")),
                "/data/declared_purpose",
                Rule::Enum,
            ),
        ],
    );
}

#[test]
fn diplomatic_accreditation() {
    let category = Category::DiplomaticAccreditation;
    let valid = json!({
        "mission": "Посольство Республики Узбекистан в Российской Федерации",
        "position": "второй секретарь", "card_number": "ДК 012345", "category": "diplomatic",
        "issued_on": "2025-09-01", "expires_on": "2027-08-31"
    });
    check_valid(
        category,
        &valid,
        vec![Set("/category", json!("administrative_technical"))],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/category", json!("honorary")),
                "/data/category",
                Rule::Enum,
            ),
            (
                Set("/expires_on", json!("2025-08-31")),
                "/data/expires_on",
                Rule::DateOrder,
            ),
            (Remove("/card_number"), "/data/card_number", Rule::Required),
            (
                Set("/issued_on", json!("2025-9-1")),
                "/data/issued_on",
                Rule::DateFormat,
            ),
        ],
    );
}

#[test]
fn administrative_offence() {
    let category = Category::AdministrativeOffence;
    let valid = json!({
        "article": "18.8 ч. 1.1", "code": "koap", "decided_on": "2026-03-12", "decision": "fine",
        "fine_amount": 5000, "paid": false,
        "authority": "ОВМ ОМВД России по району Люблино г. Москвы"
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/fine_amount"),
            Remove("/paid"),
            Remove("/authority"),
            Set("/fine_amount", json!(0)),
            Set("/fine_amount", json!(2500.5)),
            Set("/decision", json!("expulsion")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/fine_amount", json!(-5000)),
                "/data/fine_amount",
                Rule::Range,
            ),
            (
                Set("/fine_amount", json!(5000.555)),
                "/data/fine_amount",
                Rule::Format,
            ),
            (
                Set("/fine_amount", json!("5000")),
                "/data/fine_amount",
                Rule::Type,
            ),
            (Set("/code", json!("uk")), "/data/code", Rule::Enum),
            (
                Set("/decision", json!("prison")),
                "/data/decision",
                Rule::Enum,
            ),
            (Remove("/article"), "/data/article", Rule::Required),
            (
                Set("/decided_on", json!("2026-02-29")),
                "/data/decided_on",
                Rule::DateImpossible,
            ),
        ],
    );
}

#[test]
fn entry_ban() {
    let category = Category::EntryBan;
    let valid = json!({
        "basis": "115-ФЗ, ст. 27, п. 2", "authority": "ГУ МВД России по г. Москве",
        "decided_on": "2025-11-05", "banned_from": "2025-11-20", "banned_until": "2030-11-20",
        "reason": "deportation"
    });
    check_valid(
        category,
        &valid,
        vec![
            // Indefinite.
            Remove("/banned_until"),
            Set("/banned_until", json!(null)),
            Remove("/reason"),
            Set("/reason", json!("unpaid_fine")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/banned_until", json!("2025-11-19")),
                "/data/banned_until",
                Rule::DateOrder,
            ),
            (Set("/reason", json!("drunk")), "/data/reason", Rule::Enum),
            (Remove("/authority"), "/data/authority", Rule::Required),
            (
                Set("/banned_from", json!("1850-01-01")),
                "/data/banned_from",
                Rule::DateRange,
            ),
        ],
    );
}

#[test]
fn vehicle() {
    let category = Category::Vehicle;
    let valid = json!({
        "vin": "XTA217030B0123456", "plate": "А123ВС777", "make": "LADA", "model": "Priora",
        "year": 2011, "registered_on": "2024-06-14", "deregistered_on": "2026-01-30"
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/deregistered_on"),
            Set("/vin", json!("Z94CB41AAGR123456")),
            Set("/year", json!(1950)),
            Set("/year", json!(2100)),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/vin", json!("XTA217030B012345")),
                "/data/vin",
                Rule::Format,
            ),
            (
                Set("/vin", json!("XTA217O30B0123456")),
                "/data/vin",
                Rule::Format,
            ),
            (
                Set("/vin", json!("xta217030b0123456")),
                "/data/vin",
                Rule::Format,
            ),
            (Set("/year", json!(1949)), "/data/year", Rule::Range),
            (Set("/year", json!(2101)), "/data/year", Rule::Range),
            (Set("/year", json!(2011.5)), "/data/year", Rule::Type),
            (Set("/year", json!("2011")), "/data/year", Rule::Type),
            (
                Set("/deregistered_on", json!("2024-06-13")),
                "/data/deregistered_on",
                Rule::DateOrder,
            ),
            (Remove("/plate"), "/data/plate", Rule::Required),
        ],
    );
}

#[test]
fn driving_licence() {
    let category = Category::DrivingLicence;
    let valid = json!({
        "number": "AF 1234567", "country": "UZB", "categories": ["b", "c"],
        "issued_on": "2019-04-02", "expires_on": "2029-04-01"
    });
    check_valid(
        category,
        &valid,
        vec![
            Set(
                "/categories",
                json!([
                    "a", "a1", "b", "b1", "be", "c", "c1", "ce", "c1e", "d", "d1", "de", "d1e",
                    "m", "tm", "tb"
                ]),
            ),
            Set("/country", json!("RUS")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/categories", json!([])),
                "/data/categories",
                Rule::Length,
            ),
            (
                Set("/categories", json!(["b", "x"])),
                "/data/categories/1",
                Rule::Enum,
            ),
            (
                Set("/categories", json!(["B"])),
                "/data/categories/0",
                Rule::Enum,
            ),
            (
                Set("/categories", json!("b")),
                "/data/categories",
                Rule::Type,
            ),
            (Remove("/categories"), "/data/categories", Rule::Required),
            (
                Set("/country", json!("UZ")),
                "/data/country",
                Rule::CountryCode,
            ),
            (
                Set("/expires_on", json!("2019-04-01")),
                "/data/expires_on",
                Rule::DateOrder,
            ),
        ],
    );
}

#[test]
fn small_vessel_licence() {
    let category = Category::SmallVesselLicence;
    let valid = json!({
        "number": "АБ 123456", "issued_on": "2022-05-15", "expires_on": "2032-05-15",
        "waters": "inland"
    });
    check_valid(
        category,
        &valid,
        vec![Remove("/waters"), Set("/waters", json!("coastal"))],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (Set("/waters", json!("ocean")), "/data/waters", Rule::Enum),
            (
                Set("/expires_on", json!("2022-05-14")),
                "/data/expires_on",
                Rule::DateOrder,
            ),
            (Remove("/issued_on"), "/data/issued_on", Rule::Required),
        ],
    );
}

#[test]
fn real_estate() {
    let category = Category::RealEstate;
    let valid = json!({
        "cadastral_number": "50:21:0110114:1125", "kind": "apartment",
        "right": "shared_ownership", "share": "1/2", "registered_on": "2023-08-01",
        "ended_on": null, "region": "50"
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/share"),
            Remove("/ended_on"),
            Remove("/region"),
            Set("/ended_on", json!("2025-12-01")),
            // Blocks of six digits are older numbers, still valid.
            Set("/cadastral_number", json!("77:01:000101:25")),
            Set("/kind", json!("non_residential")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/cadastral_number", json!("50:21:0110114:")),
                "/data/cadastral_number",
                Rule::Format,
            ),
            (
                Set("/cadastral_number", json!("50-21-0110114-1125")),
                "/data/cadastral_number",
                Rule::Format,
            ),
            (
                Set("/cadastral_number", json!("50:21:01101:1125")),
                "/data/cadastral_number",
                Rule::Format,
            ),
            (Set("/kind", json!("castle")), "/data/kind", Rule::Enum),
            (Set("/right", json!("rent")), "/data/right", Rule::Enum),
            (Remove("/right"), "/data/right", Rule::Required),
            (
                Set("/ended_on", json!("2023-07-31")),
                "/data/ended_on",
                Rule::DateOrder,
            ),
            (Set("/region", json!("5")), "/data/region", Rule::Format),
        ],
    );
}

#[test]
fn employment() {
    let category = Category::Employment;
    let valid = json!({
        "employer": {"name": "ООО «СтройМонтаж»", "inn": "7728012340"},
        "position": "монтажник", "region": "77", "started_on": "2026-02-16", "ended_on": null,
        "contract": "labour", "notified_on": "2026-02-18", "salary": 85000
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/ended_on"),
            Remove("/notified_on"),
            Remove("/salary"),
            Set("/ended_on", json!("2026-02-16")),
            Set("/salary", json!(0)),
            Set("/contract", json!("civil")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/employer/inn", json!("771912345657")),
                "/data/employer/inn",
                Rule::Format,
            ),
            (
                Set("/employer/inn", json!("7728012341")),
                "/data/employer/inn",
                Rule::Checksum,
            ),
            (
                Set("/employer/inn", json!("772801234")),
                "/data/employer/inn",
                Rule::Format,
            ),
            (
                Remove("/employer/name"),
                "/data/employer/name",
                Rule::Required,
            ),
            (Set("/salary", json!(-1)), "/data/salary", Rule::Range),
            (
                Set("/salary", json!(85000.123)),
                "/data/salary",
                Rule::Format,
            ),
            (
                Set("/ended_on", json!("2026-01-01")),
                "/data/ended_on",
                Rule::DateOrder,
            ),
            (Set("/contract", json!("gig")), "/data/contract", Rule::Enum),
            (Remove("/region"), "/data/region", Rule::Required),
        ],
    );
}

#[test]
fn tax_debt() {
    let category = Category::TaxDebt;
    let valid = json!({
        "balance": -1250.00, "as_of": "2026-03-01", "kind": "patent",
        "tax_office": "ИФНС России № 28 по г. Москве"
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/kind"),
            Remove("/tax_office"),
            Set("/balance", json!(0)),
            Set("/balance", json!(0.1)),
            Set("/balance", json!(-999_999_999_999.99)),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (Set("/balance", json!("a lot")), "/data/balance", Rule::Type),
            (Set("/balance", json!(1.005)), "/data/balance", Rule::Format),
            (
                Set("/balance", json!(-123_456.785)),
                "/data/balance",
                Rule::Format,
            ),
            (
                Set("/balance", json!(2_000_000_000_000.0)),
                "/data/balance",
                Rule::Range,
            ),
            (Remove("/as_of"), "/data/as_of", Rule::Required),
            (
                Set("/as_of", json!("2026-02-30")),
                "/data/as_of",
                Rule::DateImpossible,
            ),
            (Set("/kind", json!("vat")), "/data/kind", Rule::Enum),
        ],
    );
}

#[test]
fn school_language_test() {
    let category = Category::SchoolLanguageTest;
    let valid = json!({
        "tested_on": "2025-08-14", "school": "ГБОУ Школа № 1409", "grade": 3,
        "result": "passed", "score": 72
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/score"),
            Set("/grade", json!(1)),
            Set("/grade", json!(11)),
            Set("/score", json!(0)),
            Set("/score", json!(100)),
            Set("/result", json!("absent")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (Set("/grade", json!(12)), "/data/grade", Rule::Range),
            (Set("/grade", json!(0)), "/data/grade", Rule::Range),
            (Set("/grade", json!("3")), "/data/grade", Rule::Type),
            (Set("/score", json!(101)), "/data/score", Rule::Range),
            (Set("/score", json!(-1)), "/data/score", Rule::Range),
            (Set("/result", json!("pass")), "/data/result", Rule::Enum),
        ],
    );
}

#[test]
fn education_enrolment() {
    let category = Category::EducationEnrolment;
    let valid = json!({
        "institution": "Российский университет дружбы народов", "programme": "Лечебное дело",
        "level": "specialist", "form": "full_time", "enrolled_on": "2024-09-01",
        "expected_end": "2030-06-30", "ended_on": null, "funding": "quota"
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/expected_end"),
            Remove("/funding"),
            Set("/ended_on", json!("2025-01-31")),
            Set("/level", json!("preparatory")),
            Set("/form", json!("part_time")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (Set("/level", json!("phd")), "/data/level", Rule::Enum),
            (Set("/form", json!("evening")), "/data/form", Rule::Enum),
            (
                Set("/expected_end", json!("2024-08-31")),
                "/data/expected_end",
                Rule::DateOrder,
            ),
            (
                Set("/ended_on", json!("2024-01-01")),
                "/data/ended_on",
                Rule::DateOrder,
            ),
            (Set("/funding", json!("grant")), "/data/funding", Rule::Enum),
            (Remove("/programme"), "/data/programme", Rule::Required),
        ],
    );
}

#[test]
fn education_document() {
    let category = Category::EducationDocument;
    let valid = json!({
        "kind": "bachelor_diploma", "number": "B 0012345",
        "institution": "Национальный университет Узбекистана", "country": "UZB",
        "issued_on": "2021-06-25", "recognised": true
    });
    check_valid(
        category,
        &valid,
        vec![Remove("/recognised"), Set("/country", json!("tjk"))],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (Set("/kind", json!("phd")), "/data/kind", Rule::Enum),
            (
                Set("/country", json!("Uzbekistan")),
                "/data/country",
                Rule::CountryCode,
            ),
            (
                Set("/recognised", json!("yes")),
                "/data/recognised",
                Rule::Type,
            ),
            (Remove("/institution"), "/data/institution", Rule::Required),
        ],
    );
}

#[test]
fn language_certificate() {
    let category = Category::LanguageCertificate;
    let valid = json!({
        "number": "ТР-ИГ 0123456", "purpose": "patent_or_work_permit",
        "issued_on": "2025-12-10", "expires_on": "2030-12-10",
        "issuer": "Государственный институт русского языка им. А. С. Пушкина", "score": 81
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/expires_on"),
            Remove("/score"),
            Set("/purpose", json!("citizenship")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (Set("/purpose", json!("work")), "/data/purpose", Rule::Enum),
            (
                Set("/expires_on", json!("2025-12-09")),
                "/data/expires_on",
                Rule::DateOrder,
            ),
            (Set("/score", json!(80.5)), "/data/score", Rule::Type),
            (Remove("/issuer"), "/data/issuer", Rule::Required),
        ],
    );
}

#[test]
fn medical_insurance() {
    let category = Category::MedicalInsurance;
    let valid = json!({
        "policy_number": "ДМС-77-0456789", "insurer": "АО «СОГАЗ»", "kind": "voluntary",
        "valid_from": "2026-01-20", "valid_to": "2027-01-19"
    });
    check_valid(category, &valid, vec![Set("/kind", json!("compulsory"))]);
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/valid_to", json!("2026-01-19")),
                "/data/valid_to",
                Rule::DateOrder,
            ),
            (Set("/kind", json!("private")), "/data/kind", Rule::Enum),
            (
                Remove("/policy_number"),
                "/data/policy_number",
                Rule::Required,
            ),
            (
                Set("/valid_from", json!(20_260_120)),
                "/data/valid_from",
                Rule::Type,
            ),
        ],
    );
}

#[test]
fn medical_examination() {
    let category = Category::MedicalExamination;
    let valid = json!({
        "certificate_number": "МО-2026-004512", "clinic": "Медицинский центр ММЦ «Сахарово»",
        "examined_on": "2026-01-12", "valid_until": "2027-01-12", "drug_test": "negative",
        "infectious_diseases": "none_found", "hiv": "negative", "fit_for_work": true
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/valid_until"),
            Remove("/fit_for_work"),
            Set("/hiv", json!("not_tested")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (Set("/hiv", json!("unknown")), "/data/hiv", Rule::Enum),
            (
                Set("/infectious_diseases", json!("none")),
                "/data/infectious_diseases",
                Rule::Enum,
            ),
            (
                Set("/valid_until", json!("2026-01-11")),
                "/data/valid_until",
                Rule::DateOrder,
            ),
            (Remove("/drug_test"), "/data/drug_test", Rule::Required),
            (
                Set("/fit_for_work", json!(1)),
                "/data/fit_for_work",
                Rule::Type,
            ),
        ],
    );
}

#[test]
fn phone_number() {
    let category = Category::PhoneNumber;
    let valid = json!({
        "number": "+79161234567", "operator": "МТС", "registered_on": "2025-03-03",
        "verified": true, "ended_on": null
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/operator"),
            Remove("/verified"),
            Set("/number", json!("+998901234567")),
            Set("/number", json!("+99290123")),
            Set("/ended_on", json!("2026-01-15")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/number", json!("89161234567")),
                "/data/number",
                Rule::Format,
            ),
            (
                Set("/number", json!("+7 916 123-45-67")),
                "/data/number",
                Rule::Format,
            ),
            (
                Set("/number", json!("+7916123")),
                "/data/number",
                Rule::Format,
            ),
            (
                Set("/number", json!("+1234567890123456")),
                "/data/number",
                Rule::Format,
            ),
            (
                Set("/number", json!(79_161_234_567_u64)),
                "/data/number",
                Rule::Type,
            ),
            (
                Set("/ended_on", json!("2025-03-02")),
                "/data/ended_on",
                Rule::DateOrder,
            ),
        ],
    );
}

#[test]
fn snils() {
    let category = Category::Snils;
    let valid = json!({"number": "158-203-117 40", "issued_on": "2024-10-01"});
    check_valid(category, &valid, vec![Set("/number", json!("15820311740"))]);
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/number", json!("158-203-117 41")),
                "/data/number",
                Rule::Checksum,
            ),
            (
                Set("/number", json!("15820311")),
                "/data/number",
                Rule::Format,
            ),
            (Remove("/issued_on"), "/data/issued_on", Rule::Required),
        ],
    );
}

#[test]
fn esia_account() {
    let category = Category::EsiaAccount;
    let valid = json!({"esia_id": "1000345678", "level": "confirmed", "created_on": "2024-10-15"});
    check_valid(category, &valid, vec![Set("/level", json!("simplified"))]);
    check_invalid(
        category,
        &valid,
        vec![
            (Set("/esia_id", json!("abc")), "/data/esia_id", Rule::Format),
            (
                Set("/esia_id", json!(1_000_345_678)),
                "/data/esia_id",
                Rule::Type,
            ),
            (Set("/level", json!("gold")), "/data/level", Rule::Enum),
            (
                Set("/created_on", json!("2024-02-30")),
                "/data/created_on",
                Rule::DateImpossible,
            ),
        ],
    );
}

#[test]
fn population_register() {
    let category = Category::PopulationRegister;
    let valid = json!({
        "register_number": "770000123456", "event": "address_changed", "event_on": "2026-02-01",
        "address": {"region": "78", "city": "Санкт-Петербург", "street": "Невский пр., д. 100, кв. 5"}
    });
    check_valid(
        category,
        &valid,
        vec![Remove("/address"), Set("/event", json!("deregistered"))],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (Set("/event", json!("moved")), "/data/event", Rule::Enum),
            (
                Set("/address/region", json!("780")),
                "/data/address/region",
                Rule::Format,
            ),
            (
                Set("/address/city", json!("")),
                "/data/address/city",
                Rule::Length,
            ),
            (
                Set("/address", json!("Невский пр., д. 100")),
                "/data/address",
                Rule::Type,
            ),
            (
                Remove("/register_number"),
                "/data/register_number",
                Rule::Required,
            ),
        ],
    );
}

#[test]
fn visa() {
    let category = Category::Visa;
    let valid = json!({
        "visa_number": "44 1234567", "kind": "ordinary", "purpose": "study",
        "entries": "multiple", "issued_on": "2025-08-10", "valid_from": "2025-08-20",
        "valid_to": "2026-08-19", "issuing_post": "Посольство России в Пекине", "stay_days": 365
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/stay_days"),
            Set("/stay_days", json!(1)),
            Set("/kind", json!("temporary_resident")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (Set("/stay_days", json!(0)), "/data/stay_days", Rule::Range),
            (
                Set("/stay_days", json!(366)),
                "/data/stay_days",
                Rule::Range,
            ),
            (
                Set("/entries", json!("triple")),
                "/data/entries",
                Rule::Enum,
            ),
            (
                Set("/valid_to", json!("2025-08-19")),
                "/data/valid_to",
                Rule::DateOrder,
            ),
            (
                Set("/purpose", json!("medical")),
                "/data/purpose",
                Rule::Enum,
            ),
            (
                Remove("/issuing_post"),
                "/data/issuing_post",
                Rule::Required,
            ),
        ],
    );
}

#[test]
fn checked_values_parse_or_say_which_rule() {
    fn check<T: std::fmt::Debug>(
        parse: fn(&str) -> Result<T, ValueError>,
        cases: &[(&str, Option<Rule>)],
    ) {
        for (text, expected) in cases {
            let found = parse(text).err().map(|error| error.rule);
            assert_eq!(found, *expected, "{text}");
        }
    }
    check(
        Region::parse,
        &[
            ("01", None),
            ("99", None),
            (" 77 ", None),
            ("00", Some(Rule::Range)),
            ("7", Some(Rule::Format)),
            ("077", Some(Rule::Format)),
            ("7a", Some(Rule::Format)),
            ("", Some(Rule::Format)),
        ],
    );
    check(
        Vin::parse,
        &[
            ("XTA217030B0123456", None),
            ("XTA217030B01234567", Some(Rule::Format)),
            ("XTA21703QB0123456", Some(Rule::Format)),
            ("XTA21703IB0123456", Some(Rule::Format)),
            ("XTA21703-B0123456", Some(Rule::Format)),
            ("ХТА217030В0123456", Some(Rule::Format)),
        ],
    );
    check(
        CadastralNumber::parse,
        &[
            ("77:01:0001001:1", None),
            ("77:01:000100:123456", None),
            ("77:01:00010011:1", Some(Rule::Format)),
            ("7:01:0001001:1", Some(Rule::Format)),
            ("77:01:0001001", Some(Rule::Format)),
            ("77:01:0001001:1:2", Some(Rule::Format)),
            ("77:01:0001001:a", Some(Rule::Format)),
        ],
    );
    check(
        PhoneNumber::parse,
        &[
            ("+12345678", None),
            ("+123456789012345", None),
            ("+1234567", Some(Rule::Format)),
            ("+", Some(Rule::Format)),
            ("++79161234567", Some(Rule::Format)),
        ],
    );
    check(
        Inn10::parse,
        &[
            ("7707083893", None),
            ("7707083894", Some(Rule::Checksum)),
            ("500100732259", Some(Rule::Format)),
            ("77070838", Some(Rule::Format)),
        ],
    );
}

#[test]
fn null_in_a_required_field_is_required_not_type() {
    assert_invalid(
        Category::TaxDebt,
        json!({"balance": null, "as_of": "2026-03-01"}),
        "/data/balance",
        Rule::Required,
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

    let nested = parse_payload(
        Category::PopulationRegister,
        &json!({"register_number": "770000123456", "event": "registered",
                "event_on": "2026-02-01",
                "address": {"region": "77", "city": "Москва", "street": "ул. Тверская, д. 1",
                            "flat": "5"}}),
    );
    assert!(nested.result.is_ok());
    assert_eq!(nested.unknown_fields, vec!["/data/address/flat".to_owned()]);
}

#[test]
fn every_category_has_a_payload() {
    for category in Category::ALL {
        // Every category has a required field, so an empty object must be refused for a
        // missing field inside /data; it must never panic.
        let found = violations(*category, json!({}));
        assert!(
            !found.is_empty()
                && found
                    .iter()
                    .all(|(pointer, rule)| pointer.starts_with("/data/")
                        && rule == Rule::Required.code()),
            "{category}: {found:?}"
        );
    }
}

#[test]
fn planned_arrival() {
    let category = Category::PlannedArrival;
    let valid = json!({
        "arrival_on": "2026-12-01", "departure_on": "2027-02-28", "purpose": "tourism",
        "address": {"region": "77", "city": "Москва", "street": "ул. Тверская, д. 1"},
        "checkpoint": "Шереметьево"
    });
    check_valid(
        category,
        &valid,
        vec![
            Remove("/checkpoint"),
            Set("/departure_on", json!("2026-12-01")),
        ],
    );
    check_invalid(
        category,
        &valid,
        vec![
            (
                Set("/departure_on", json!("2026-11-30")),
                "/data/departure_on",
                Rule::DateOrder,
            ),
            (
                Set("/departure_on", json!("2027-03-01")),
                "/data/departure_on",
                Rule::Range,
            ),
            (
                Set("/purpose", json!("transit")),
                "/data/purpose",
                Rule::Enum,
            ),
            (Remove("/address"), "/data/address", Rule::Required),
        ],
    );
}
