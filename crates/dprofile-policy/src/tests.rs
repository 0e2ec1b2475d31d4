//! Tests of the policy language and of the shipped default policy.

use super::*;

fn request<'a>(
    role: &'a str,
    agency: &'a str,
    purpose: &'a str,
    action: Action,
) -> AccessRequest<'a> {
    AccessRequest {
        role,
        agency,
        purpose,
        case_ref: Some("case-1"),
        action,
    }
}

fn codes(categories: &BTreeSet<Category>) -> Vec<&'static str> {
    categories.iter().map(|category| category.code()).collect()
}

#[test]
fn the_default_policy_loads_and_every_role_has_an_agency_and_a_grant() {
    let policy = Policy::default_policy();
    assert!(policy.roles().count() >= 10);
    for role in policy.roles() {
        assert!(policy.role_agencies(role).next().is_some(), "{role}");
        assert!(!policy.purposes_of(role).is_empty(), "{role}");
        assert!(
            !policy.role_description(role).unwrap_or("").is_empty(),
            "{role}"
        );
    }
}

#[test]
fn sensitive_categories_reach_only_the_roles_that_need_them() {
    let policy = Policy::default_policy();
    let mut readers: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for role in policy.roles() {
        let agency = policy.role_agencies(role).next().unwrap_or_default();
        for purpose in policy.purposes_of(role) {
            let Ok(allowance) = policy.decide(&request(role, agency, purpose, Action::Read)) else {
                continue;
            };
            for category in allowance
                .categories
                .iter()
                .filter(|category| category.is_sensitive())
            {
                readers
                    .entry(category.code())
                    .or_default()
                    .insert(format!("{role}/{purpose}"));
            }
        }
    }
    let expected = |list: &[&str]| {
        list.iter()
            .map(|text| text.to_string())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        readers["administrative_offence"],
        expected(&[
            "migration_officer/correction_handling",
            "migration_officer/identity_review",
            "migration_officer/stay_control",
            "police_officer/law_enforcement",
        ])
    );
    assert_eq!(
        readers["entry_ban"],
        expected(&[
            "border_guard/border_control",
            "consular_officer/visa_issuance",
            "migration_officer/correction_handling",
            "migration_officer/identity_review",
            "migration_officer/stay_control",
            "police_officer/law_enforcement",
            "police_officer/street_check",
        ])
    );
    assert_eq!(
        readers["medical_examination"],
        expected(&[
            "health_officer/public_health",
            "labour_inspector/labour_control",
            "migration_officer/correction_handling",
            "migration_officer/identity_review",
            "migration_officer/stay_control",
        ])
    );
}

#[test]
fn a_grant_shows_exactly_its_categories() {
    let policy = Policy::default_policy();
    let allowance = policy
        .decide(&request(
            "tax_inspector",
            "fns",
            "tax_administration",
            Action::Read,
        ))
        .unwrap();
    assert_eq!(
        codes(&allowance.categories),
        vec![
            "stay_document",
            "vehicle",
            "real_estate",
            "employment",
            "tax_debt"
        ]
    );
    assert_eq!(allowance.disclosure_delay_days, 0);
    // Narrowed: a tax inspector sees a patent's dates and payments, not the work conditions.
    let fields = allowance.visible_fields(Category::StayDocument).unwrap();
    assert!(fields.contains("patent_paid_until"));
    assert!(!fields.contains("profession"));
    assert_eq!(allowance.visible_fields(Category::TaxDebt), None);
}

#[test]
fn the_wildcard_never_includes_a_sensitive_category() {
    let policy = Policy::from_toml(
        r#"
        version = 1
        [roles.clerk]
        agencies = ["mvd-migration"]
        [[roles.clerk.grants]]
        purposes = ["stay_control"]
        actions = ["read"]
        categories = ["*"]
        "#,
    )
    .unwrap();
    let allowance = policy
        .decide(&request(
            "clerk",
            "mvd-migration",
            "stay_control",
            Action::Read,
        ))
        .unwrap();
    assert_eq!(
        allowance.categories.len(),
        Category::ALL
            .iter()
            .filter(|category| !category.is_sensitive())
            .count()
    );
    assert!(!allowance.allows(Category::EntryBan));
    assert!(!allowance.allows(Category::AdministrativeOffence));
    assert!(!allowance.allows(Category::MedicalExamination));
}

#[test]
fn law_enforcement_reads_carry_the_disclosure_delay_and_street_checks_do_not() {
    let policy = Policy::default_policy();
    let delayed = policy
        .decide(&request(
            "police_officer",
            "mvd-offences",
            "law_enforcement",
            Action::Read,
        ))
        .unwrap();
    assert_eq!(delayed.disclosure_delay_days, 90);
    let at_once = policy
        .decide(&request(
            "police_officer",
            "mvd-offences",
            "street_check",
            Action::Read,
        ))
        .unwrap();
    assert_eq!(at_once.disclosure_delay_days, 0);
    assert!(!at_once.allows(Category::AdministrativeOffence));
}

#[test]
fn refusals_say_which_rule() {
    let policy = Policy::default_policy();
    let refusal = |request: AccessRequest<'_>| policy.decide(&request).unwrap_err().code;
    assert_eq!(
        refusal(request(
            "janitor",
            "fns",
            "tax_administration",
            Action::Read
        )),
        "policy.unknown_role"
    );
    assert_eq!(
        refusal(request(
            "tax_inspector",
            "gibdd",
            "tax_administration",
            Action::Read
        )),
        "policy.agency_not_in_role"
    );
    assert_eq!(
        refusal(request(
            "tax_inspector",
            "fns",
            "law_enforcement",
            Action::Read
        )),
        "policy.purpose_not_granted"
    );
    assert_eq!(
        refusal(request(
            "tax_inspector",
            "fns",
            "tax_administration",
            Action::Review
        )),
        "policy.action_not_granted"
    );
    assert_eq!(
        refusal(request(
            "analyst",
            "mvd-migration",
            "statistics",
            Action::Read
        )),
        "policy.action_not_granted"
    );
    let mut without_case = request("tax_inspector", "fns", "tax_administration", Action::Read);
    without_case.case_ref = Some("  ");
    assert_eq!(refusal(without_case), "policy.case_required");
    let mut analyst = request("analyst", "mvd-migration", "statistics", Action::Aggregate);
    analyst.case_ref = None;
    assert!(policy.decide(&analyst).is_ok());
    assert_eq!(
        policy
            .decide_categories(
                &request("tax_inspector", "fns", "tax_administration", Action::Read),
                &[Category::TaxDebt, Category::MedicalExamination]
            )
            .unwrap_err()
            .code,
        "policy.category_not_granted"
    );
}

#[test]
fn every_agency_that_writes_can_hold_a_key_and_write_only_roles_read_nothing() {
    let policy = Policy::default_policy();
    for agency in policy.writing_agencies() {
        assert!(
            policy
                .roles()
                .any(|role| policy.role_agencies(role).any(|held| held == agency)),
            "agency `{agency}` may write but no role can hold its key"
        );
    }
    assert!(policy.is_write_only("source_system"));
    assert!(!policy.is_write_only("tax_inspector"));
    for purpose in policy.purposes() {
        for action in [
            Action::Read,
            Action::Search,
            Action::Review,
            Action::Aggregate,
        ] {
            let refused = policy.decide(&AccessRequest {
                role: "source_system",
                agency: "rosreestr",
                purpose,
                case_ref: Some("case-1"),
                action,
            });
            assert!(refused.is_err(), "{purpose} {action:?}");
        }
    }
}

#[test]
fn writes_are_granted_per_agency_and_category() {
    let policy = Policy::default_policy();
    assert_eq!(policy.may_write("fns", Category::TaxDebt), Ok(()));
    assert_eq!(
        policy
            .may_write("fns", Category::EntryBan)
            .unwrap_err()
            .code,
        "policy.write_not_granted"
    );
    assert!(
        policy
            .may_write("unknown-agency", Category::TaxDebt)
            .is_err()
    );
}

#[test]
fn a_bad_policy_file_says_where_and_which_rule() {
    let check = |text: &str, path: &str, rule: &str| {
        let error = Policy::from_toml(text).unwrap_err();
        assert_eq!((error.path.as_str(), error.rule), (path, rule), "{error}");
    };
    let grant = |body: &str| {
        format!(
            "version = 1\n[roles.clerk]\nagencies = [\"fns\"]\n[[roles.clerk.grants]]\n{body}\n"
        )
    };
    check(
        &grant("purposes = [\"x\"]\nactions = [\"read\"]\ncategories = [\"taxes\"]"),
        "roles.clerk.grants[0].categories",
        "policy.unknown_category",
    );
    check(
        &grant(
            "purposes = [\"x\"]\nactions = [\"read\"]\ncategories = [\"tax_debt\"]\nfields.visa = [\"kind\"]",
        ),
        "roles.clerk.grants[0].fields.visa",
        "policy.fields_outside_grant",
    );
    check(
        &grant("purposes = []\nactions = [\"read\"]\ncategories = [\"tax_debt\"]"),
        "roles.clerk.grants[0].purposes",
        "policy.invalid_purpose",
    );
    check(
        &grant("purposes = [\"x\"]\nactions = [\"peek\"]\ncategories = [\"tax_debt\"]"),
        "(file)",
        "policy.syntax",
    );
    check("version = 2", "version", "policy.version");
    check(
        "version = 1\n[writes]\nfns = [\"taxes\"]",
        "writes.fns",
        "policy.unknown_category",
    );
}

#[test]
fn every_agency_that_writes_can_answer_its_correction_queue_and_nothing_more() {
    let policy = Policy::default_policy();
    assert!(!policy.writes.is_empty());
    for agency in policy.writes.keys() {
        let correct = request(
            "source_system",
            agency,
            "correction_handling",
            Action::Correct,
        );
        assert!(
            policy.decide(&correct).is_ok(),
            "{agency} answers its queue"
        );
        for action in [Action::Read, Action::Search, Action::Review] {
            let refusal = policy
                .decide(&request(
                    "source_system",
                    agency,
                    "correction_handling",
                    action,
                ))
                .expect_err("a source system only answers corrections");
            assert_eq!(
                refusal.code, "policy.action_not_granted",
                "{agency} {action:?}"
            );
        }
    }
    // A role without the action does not answer, even for its own agency's records.
    let refusal = policy
        .decide(&request(
            "tax_inspector",
            "fns",
            "correction_handling",
            Action::Correct,
        ))
        .expect_err("the tax inspector has no correction grant");
    assert_eq!(refusal.code, "policy.purpose_not_granted");
    assert!(
        policy
            .decide(&request(
                "migration_officer",
                "mvd-migration",
                "correction_handling",
                Action::Correct
            ))
            .is_ok()
    );
}
