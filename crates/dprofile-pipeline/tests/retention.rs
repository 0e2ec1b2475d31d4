//! Retention against real stores, with an injected clock: records just inside and just outside
//! their schedule, erased exactly as it says with everything derived from them, tombstones in
//! the access log, and the log's details about erased persons gone a year later while the log
//! still verifies. Every scenario runs on SQLite and on PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome, LogKey};
use dprofile_pipeline::access_log::{AccessLog, AccessRecord, DEFAULT_ORIGIN, verify_store};
use dprofile_pipeline::profile::{ProfileLookup, load_profile};
use dprofile_pipeline::retention::{self, RETENTION_ACTOR, RetentionReport, Schedule};
use dprofile_pipeline::{FixedClock, IngestOptions, Ingestor};
use dprofile_store::testing::TestStore;
use dprofile_store::{PersonId, Store};
use serde_json::{Value, json};

/// The day retention runs in these tests.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, 1, 12, 0, 0).unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

struct Harness {
    test_store: TestStore,
    clock: Arc<FixedClock>,
    ingestor: Ingestor,
    log: AccessLog,
    verifier_key: String,
}

impl Harness {
    fn new(test_store: TestStore) -> Harness {
        let clock = Arc::new(FixedClock::new(at("2024-01-01T00:00:00Z")));
        let ingestor = Ingestor::new(test_store.store.clone(), clock.clone());
        let key = LogKey::from_seed(DEFAULT_ORIGIN, [5; 32]).unwrap();
        let verifier_key = key.verifier_key().to_owned();
        let log = AccessLog::new(test_store.store.clone(), key);
        Harness {
            test_store,
            clock,
            ingestor,
            log,
            verifier_key,
        }
    }

    fn store(&self) -> &dyn Store {
        self.test_store.store.as_ref()
    }

    /// Ingests lines as received at `received`; returns the person of each line.
    fn ingest(&self, received: &str, lines: &[Value]) -> Vec<PersonId> {
        self.clock.set(at(received));
        let text: Vec<String> = lines.iter().map(Value::to_string).collect();
        let mut persons = Vec::new();
        self.ingestor
            .ingest_reader(
                text.join("\n").as_bytes(),
                &IngestOptions::default(),
                &mut |chunk, _| persons.extend(chunk.iter().map(|result| result.person_id)),
            )
            .unwrap();
        persons
            .into_iter()
            .map(|person| person.expect("every line linked"))
            .collect()
    }

    fn run(&self, now: DateTime<Utc>, dry_run: bool) -> RetentionReport {
        retention::run(
            &self.test_store.store,
            &self.log,
            &Schedule::default_schedule(),
            now,
            dry_run,
        )
        .unwrap()
    }

    /// `source_ref`s of the person's stored versions, and how many versions each has.
    fn versions(&self, person: PersonId) -> BTreeMap<String, usize> {
        let mut refs = BTreeMap::new();
        for version in self.store().person_versions(person).unwrap() {
            *refs.entry(version.source_ref).or_insert(0) += 1;
        }
        refs
    }

    fn identifiers(&self, person: PersonId) -> Vec<String> {
        self.store()
            .person_identifiers(person)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn verify(&self) -> dprofile_audit::VerifyReport {
        verify_store(self.store(), std::slice::from_ref(&self.verifier_key)).unwrap()
    }

    fn read(&self, person: PersonId, when: &str) {
        self.log
            .record(&[AccessRecord {
                entry: AccessEntry {
                    at: at(when),
                    actor: "apikey:1".into(),
                    agency: "mvd-migration".into(),
                    role: "migration_officer".into(),
                    purpose: "stay_control".into(),
                    case_ref: Some("case-1".into()),
                    action: AccessAction::Read,
                    person: Some(person),
                    categories: vec!["border_crossing".into()],
                    outcome: AccessOutcome::Allowed,
                },
                disclosure_delay: Duration::zero(),
            }])
            .unwrap();
        self.log.checkpoint(at(when)).unwrap();
    }
}

fn subject(family: &str, passport: &str) -> Value {
    json!({"names": [{"script": "Latn", "family": family, "given": "Rustam"}],
           "birth_date": "1990-04-02", "citizenship": "UZB",
           "documents": [{"kind": "passport", "country": "UZB", "number": passport}]})
}

fn crossing(source_ref: &str, subject: &Value, direction: &str, crossed_at: &str) -> Value {
    json!({"source": "fsb-border", "source_ref": source_ref, "category": "border_crossing",
           "subject": subject,
           "data": {"direction": direction, "crossed_at": crossed_at,
                    "checkpoint": "Москва (Домодедово)", "transport": "air"}})
}

fn visa(source_ref: &str, subject: &Value, valid_to: &str) -> Value {
    json!({"source": "mid", "source_ref": source_ref, "category": "visa",
           "valid_from": "2023-08-20", "valid_to": valid_to, "subject": subject,
           "data": {"visa_number": "44 1234567", "kind": "ordinary", "purpose": "study",
                    "entries": "multiple", "issued_on": "2023-08-10", "valid_from": "2023-08-20",
                    "valid_to": valid_to, "issuing_post": "Посольство России в Ташкенте"}})
}

fn registration(source_ref: &str, subject: &Value, valid_to: &str) -> Value {
    json!({"source": "mvd-migration", "source_ref": source_ref, "category": "migration_registration",
           "valid_from": "2024-06-02", "valid_to": valid_to, "subject": subject,
           "data": {"registered_on": "2024-06-02", "expires_on": valid_to,
                    "address": {"region": "77", "city": "Москва", "street": "ул. Профсоюзная, д. 56"},
                    "host": {"kind": "organisation", "name": "ООО «СтройМонтаж»", "inn": "7728012340"}}})
}

fn phone(source_ref: &str, subject: &Value, valid_to: &str) -> Value {
    json!({"source": "rossvyaz", "source_ref": source_ref, "category": "phone_number",
           "valid_from": "2025-01-01", "valid_to": valid_to, "subject": subject,
           "data": {"number": "+79161234567", "registered_on": "2025-01-01"}})
}

fn tax(source_ref: &str, revision: u32, subject: &Value, balance: f64) -> Value {
    json!({"source": "fns", "source_ref": source_ref, "revision": revision, "category": "tax_debt",
           "subject": subject, "data": {"balance": balance, "as_of": "2025-01-01"}})
}

const SNILS: &str = "112-233-445 95";

/// The persons of the scenario, each just inside or just outside a rule.
struct Persons {
    /// Last exit 3 years minus a day ago: crossings kept; a withdrawn tax record erased.
    exit_inside: PersonId,
    /// Last exit 3 years plus a day ago: crossings erased; a recent tax record keeps the
    /// person, whose SNILS (only on the crossings) goes with them.
    exit_outside: PersonId,
    /// No exit after the authorised stay ended 4 years ago: kept five years (overstay), though
    /// three would have passed.
    overstay_inside: PersonId,
    /// No exit after a registration ended the stay 3.5 years ago: the registration's own
    /// period (3 years) has run out, but the crossings are counted from it, so it is kept with
    /// them (erasing it would shorten the stay to the visa-free 90 days on the next run).
    overstay_held: PersonId,
    /// No exit after the stay ended 5 years and a day ago: crossings and visa erased, person
    /// removed.
    overstay_outside: PersonId,
    /// Phones with `valid_to` just inside and outside three years, merged through a SNILS
    /// carried only by the expired ones.
    valid_to: PersonId,
    /// Tax records without `valid_to`, received 5 years plus a day ago (two revisions): erased,
    /// person removed.
    received_outside: PersonId,
    /// A tax record first received long ago, superseded 5 years minus a day ago: both versions
    /// kept.
    received_inside: PersonId,
}

fn scenario(harness: &Harness) -> Persons {
    let inside = subject("Inside", "FA1000001");
    let outside = subject("Outside", "FA1000002");
    let mut outside_with_snils = outside.clone();
    outside_with_snils["identifiers"] = json!({"snils": "123-456-789 64"});
    let overstay_in = subject("Overstay", "FA1000003");
    let overstay_out = subject("Longgone", "FA1000004");
    let overstay_registered = subject("Registered", "FA1000008");
    let phones = subject("Phones", "FA1000005");
    let snils_only = json!({"names": [{"script": "Latn", "family": "Phones", "given": "Rustam"}],
                            "birth_date": "1990-04-02", "identifiers": {"snils": SNILS}});
    let mut phones_and_snils = phones.clone();
    phones_and_snils["identifiers"] = json!({"snils": SNILS});
    let taxed_out = subject("Taxed", "FA1000006");
    let taxed_in = subject("Paying", "FA1000007");

    let exit_inside = harness.ingest(
        "2027-06-03T00:00:00Z",
        &[
            crossing("bc-in-1", &inside, "entry", "2027-05-01T10:00:00Z"),
            crossing("bc-in-2", &inside, "exit", "2027-06-02T12:00:00Z"),
        ],
    )[0];
    let exit_outside = harness.ingest(
        "2027-06-01T00:00:00Z",
        &[
            crossing(
                "bc-out-1",
                &outside_with_snils,
                "entry",
                "2027-05-01T10:00:00Z",
            ),
            crossing(
                "bc-out-2",
                &outside_with_snils,
                "exit",
                "2027-05-31T12:00:00Z",
            ),
        ],
    )[0];
    let overstay_inside = harness.ingest(
        "2026-01-10T12:00:00Z",
        &[
            visa("visa-ov-in", &overstay_in, "2026-06-30"),
            crossing("bc-ov-in", &overstay_in, "entry", "2026-01-10T08:00:00Z"),
        ],
    )[0];
    let overstay_held = harness.ingest(
        "2024-06-02T12:00:00Z",
        &[
            registration("reg-held", &overstay_registered, "2026-12-31"),
            crossing(
                "bc-held",
                &overstay_registered,
                "entry",
                "2024-06-01T08:00:00Z",
            ),
        ],
    )[0];
    let overstay_outside = harness.ingest(
        "2024-01-10T12:00:00Z",
        &[
            visa("visa-ov-out", &overstay_out, "2025-05-30"),
            crossing("bc-ov-out", &overstay_out, "entry", "2024-01-10T08:00:00Z"),
        ],
    )[0];
    let valid_to = harness.ingest(
        "2025-01-02T00:00:00Z",
        &[
            phone("ph-in", &phones, "2027-06-02"),
            phone("ph-snils", &snils_only, "2027-05-30"),
        ],
    )[0];
    // A record with both identifiers, in a later chunk: a merge decision of two stored persons.
    harness.ingest(
        "2025-01-03T00:00:00Z",
        &[phone("ph-out", &phones_and_snils, "2027-05-30")],
    );
    harness.ingest(
        "2025-05-20T00:00:00Z",
        &[tax("tax-out", 1, &taxed_out, -10.0)],
    );
    let received_outside = harness.ingest(
        "2025-05-31T00:00:00Z",
        &[tax("tax-out", 2, &taxed_out, -20.0)],
    )[0];
    harness.ingest(
        "2020-01-01T00:00:00Z",
        &[tax("tax-in", 1, &taxed_in, -10.0)],
    );
    let received_inside =
        harness.ingest("2025-06-02T00:00:00Z", &[tax("tax-in", 2, &taxed_in, -5.0)])[0];
    // A withdrawn record is kept for the period of the data it withdrew, not from the
    // withdrawal: received 5 years and 12 days ago, withdrawn last year.
    harness.ingest(
        "2025-05-20T00:00:00Z",
        &[tax("tax-withdrawn", 1, &inside, -3.0)],
    );
    harness.ingest(
        "2029-06-01T00:00:00Z",
        &[json!({"source": "fns", "source_ref": "tax-withdrawn", "revision": 2, "action": "retract"})],
    );
    // A recent record keeps the person whose crossings expire.
    harness.ingest(
        "2030-01-01T00:00:00Z",
        &[tax("tax-outside", 1, &outside, -1.0)],
    );
    Persons {
        exit_inside,
        exit_outside,
        overstay_inside,
        overstay_held,
        overstay_outside,
        valid_to,
        received_outside,
        received_inside,
    }
}

fn refs(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs
        .iter()
        .map(|(source_ref, count)| ((*source_ref).to_owned(), *count))
        .collect()
}

fn erases_exactly_what_the_schedule_says(harness: Harness) {
    let persons = scenario(&harness);
    let merged = harness.store().person(persons.valid_to).unwrap().unwrap();
    assert_eq!(merged.merged_into, None);
    let decisions_before = harness.store().person_decisions(persons.valid_to).unwrap();
    let merge = decisions_before
        .iter()
        .find(|decision| decision.kind == "merge")
        .expect("the SNILS record merged two persons");
    assert!(merge.evidence.to_string().contains("11223344595"));
    harness.read(persons.overstay_outside, "2025-02-01T10:00:00Z");
    harness.read(persons.exit_inside, "2027-05-02T10:00:00Z");
    let counts_before = harness.store().counts().unwrap();

    // A dry run says what would go and changes nothing.
    let dry = harness.run(now(), true);
    assert!(dry.dry_run);
    assert_eq!(dry.keys_erased(), 8);
    assert_eq!(harness.store().counts().unwrap(), counts_before);
    assert_eq!(harness.versions(persons.received_outside).len(), 1);

    let report = harness.run(now(), false);
    let expected: BTreeMap<String, retention::CategoryCount> = [
        ("border_crossing", 3, 3),
        ("phone_number", 2, 2),
        ("tax_debt", 2, 4),
        ("visa", 1, 1),
    ]
    .into_iter()
    .map(|(code, keys, versions)| (code.to_owned(), retention::CategoryCount { keys, versions }))
    .collect();
    assert_eq!(report.categories, expected, "{report:#?}");
    assert_eq!(dry.categories, report.categories);
    assert_eq!(report.persons_erased_from, 5);
    assert_eq!(report.tombstones, 5);
    assert_eq!(report.persons_changed_during_run, 0);

    // Just inside: untouched.
    assert_eq!(
        harness.versions(persons.exit_inside),
        refs(&[("bc-in-1", 1), ("bc-in-2", 1)])
    );
    assert_eq!(
        harness.versions(persons.overstay_inside),
        refs(&[("bc-ov-in", 1), ("visa-ov-in", 1)])
    );
    assert_eq!(
        harness.versions(persons.received_inside),
        refs(&[("tax-in", 2)])
    );
    let held = refs(&[("bc-held", 1), ("reg-held", 1)]);
    assert_eq!(harness.versions(persons.overstay_held), held);

    // Just outside: gone, with what was derived from them.
    assert_eq!(
        harness.versions(persons.exit_outside),
        refs(&[("tax-outside", 1)])
    );
    assert_eq!(
        harness.identifiers(persons.exit_outside),
        vec!["passport:UZB:FA1000002"],
        "the SNILS only the crossings carried is gone"
    );
    assert_eq!(harness.versions(persons.valid_to), refs(&[("ph-in", 1)]));
    assert_eq!(
        harness.identifiers(persons.valid_to),
        vec!["passport:UZB:FA1000005"]
    );
    assert!(
        harness
            .store()
            .find_by_identifier(None, "11223344595")
            .unwrap()
            .is_empty()
    );
    for removed in [persons.overstay_outside, persons.received_outside] {
        assert_eq!(harness.store().person(removed).unwrap(), None);
        assert!(matches!(
            load_profile(harness.store(), removed, None, None).unwrap(),
            ProfileLookup::NotFound
        ));
    }
    assert!(
        harness
            .store()
            .find_by_identifier(None, "FA1000004")
            .unwrap()
            .is_empty()
    );
    assert_eq!(report.persons_removed, 2);

    // The merge's evidence no longer quotes the erased SNILS; what is left can still be split.
    let merge_after = harness
        .store()
        .decision(merge.id)
        .unwrap()
        .expect("the decision is kept");
    assert!(!merge_after.evidence.to_string().contains("11223344595"));
    assert!(merge_after.evidence["redacted_by_retention"].is_string());

    // What remains reads as before.
    match load_profile(harness.store(), persons.exit_outside, None, None).unwrap() {
        ProfileLookup::Found(profile) => {
            assert_eq!(profile.facts.keys().collect::<Vec<_>>(), vec!["tax_debt"]);
        }
        other => panic!("{other:?}"),
    }
    match load_profile(harness.store(), persons.received_inside, None, None).unwrap() {
        ProfileLookup::Found(profile) => {
            assert_eq!(profile.facts["tax_debt"][0].data["balance"], json!(-5.0));
        }
        other => panic!("{other:?}"),
    }

    // Tombstones, one per person erased from, and the log still verifies.
    let rows = harness.store().access_rows(0, 1000).unwrap();
    let tombstones: Vec<AccessEntry> = rows
        .iter()
        .filter_map(|row| row.entry())
        .filter(|entry| entry.action == AccessAction::Erase)
        .collect();
    assert_eq!(tombstones.len(), 5);
    let of_overstayer = tombstones
        .iter()
        .find(|entry| entry.person == Some(persons.overstay_outside))
        .unwrap();
    assert_eq!(of_overstayer.actor, RETENTION_ACTOR);
    assert_eq!(of_overstayer.categories, vec!["border_crossing", "visa"]);
    assert_eq!(
        of_overstayer.case_ref.as_deref(),
        Some("retention/keys=2/versions=2")
    );
    let verified = harness.verify();
    assert!(verified.is_intact(), "{verified:?}");
    assert_eq!(verified.verified_size, Some(rows.len() as u64));

    // A second run erases nothing.
    let again = harness.run(now(), false);
    assert_eq!(again.keys_erased(), 0);
    assert_eq!(again.tombstones, 0);
    assert_eq!(harness.versions(persons.overstay_held), held);

    // A year on, the log's details about the removed persons are gone; their leaves stay.
    let one_year_later = now() + Duration::days(365);
    let before_log = harness.run(one_year_later - Duration::seconds(1), true);
    assert_eq!(before_log.log_details_persons, 0);
    let later = harness.run(one_year_later, false);
    assert_eq!(later.log_details_persons, 2);
    // The read of the overstayer and the tombstones of the two removed persons.
    assert_eq!(later.log_details_entries, 3);
    let rows = harness.store().access_rows(0, 1000).unwrap();
    for row in &rows {
        let about_removed = row.person == Some(persons.overstay_outside)
            || row.person == Some(persons.received_outside);
        assert_eq!(row.details.is_none(), about_removed, "row {}", row.position);
        assert_eq!(row.salt.is_none(), about_removed);
    }
    assert!(
        rows.iter()
            .any(|row| row.person == Some(persons.exit_inside) && row.details.is_some())
    );
    let verified = harness.verify();
    assert!(verified.is_intact(), "{verified:?}");
    assert_eq!(harness.run(one_year_later, false).log_details_persons, 0);
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::Harness::new(dprofile_store::testing::TestStore::sqlite())); })*
        }
        mod postgres {
            $(#[test] fn $name() {
                if let Some(store) = dprofile_store::testing::TestStore::postgres() {
                    super::$name(super::Harness::new(store));
                }
            })*
        }
    };
}

on_both_backends!(erases_exactly_what_the_schedule_says);
