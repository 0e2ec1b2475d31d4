//! The ingest pipeline against real stores: every test runs on SQLite and on PostgreSQL.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use dprofile_pipeline::profile::{ProfileLookup, load_profile};
use dprofile_pipeline::{
    Clock, FailPoint, FixedClock, IngestOptions, Ingestor, Line, LineResult, Summary,
};
use dprofile_store::testing::TestStore;
use dprofile_store::{Outcome, QuarantineStatus, Store};
use serde_json::{Value, json};

struct Harness {
    test_store: TestStore,
    clock: Arc<FixedClock>,
    ingestor: Ingestor,
}

impl Harness {
    fn new(test_store: TestStore) -> Harness {
        let clock = Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
        ));
        let ingestor = Ingestor::new(test_store.store.clone(), clock.clone());
        Harness {
            test_store,
            clock,
            ingestor,
        }
    }

    fn store(&self) -> &dyn Store {
        self.test_store.store.as_ref()
    }

    fn ingest(&self, lines: &[String]) -> Vec<LineResult> {
        self.ingest_with(lines, &IngestOptions::default())
            .expect("ingest")
    }

    fn ingest_with(
        &self,
        lines: &[String],
        options: &IngestOptions,
    ) -> Result<Vec<LineResult>, dprofile_pipeline::PipelineError> {
        let text = lines.join("\n");
        let mut results = Vec::new();
        self.ingestor
            .ingest_reader(text.as_bytes(), options, &mut |chunk, _| {
                results.extend_from_slice(chunk)
            })?;
        Ok(results)
    }

    fn summary(results: &[LineResult]) -> Summary {
        let mut summary = Summary::default();
        for result in results {
            summary.add(result.outcome);
        }
        summary
    }

    fn profile(&self, person: i64) -> dprofile_pipeline::profile::Profile {
        match load_profile(self.store(), person, None, None).unwrap() {
            ProfileLookup::Found(profile) => *profile,
            other => panic!("person {person}: {other:?}"),
        }
    }
}

fn subject(family: &str, birth: &str, passport: Option<&str>, snils: Option<&str>) -> Value {
    let mut subject = json!({"names": [{"family": family, "given": "Rustam"}], "birth_date": birth, "citizenship": "UZB"});
    if let Some(number) = passport {
        subject["documents"] = json!([{"kind": "passport", "country": "UZB", "number": number}]);
    }
    if let Some(snils) = snils {
        subject["identifiers"] = json!({"snils": snils});
    }
    subject
}

fn tax(source_ref: &str, revision: u32, subject: Value, balance: f64) -> String {
    json!({"source": "fns", "source_ref": source_ref, "revision": revision, "category": "tax_debt",
           "valid_from": "2026-03-01", "subject": subject,
           "data": {"balance": balance, "as_of": "2026-03-01"}})
    .to_string()
}

fn phone(source_ref: &str, subject: Value, from: &str, to: Option<&str>) -> String {
    json!({"source": "rossvyaz", "source_ref": source_ref, "category": "phone_number",
           "valid_from": from, "valid_to": to, "subject": subject,
           "data": {"number": "+79161234567", "registered_on": from}})
    .to_string()
}

// Valid SNILS numbers (check digits hold).
const SNILS_A: &str = "123-456-789 64";
const SNILS_B: &str = "112-233-445 95";

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

on_both_backends!(
    same_batch_twice_is_all_duplicate,
    malformed_lines_are_quarantined_and_the_rest_accepted,
    revisions_supersede_and_lower_ones_are_stale,
    shared_identifiers_link_transitively_in_any_order,
    conflicting_identifiers_are_flagged_not_merged,
    as_of_and_valid_at_pick_the_facts_of_that_time,
    quarantined_line_is_fixed_and_replayed,
    a_failed_chunk_lands_nothing_and_a_rerun_completes,
    search_by_document_identifier_and_name,
    an_officer_merge_then_split_restores_both_profiles_exactly,
    a_rejected_review_keeps_persons_apart_and_a_confirmed_one_merges,
    a_chunk_writes_its_events_in_its_own_transaction,
    merges_and_splits_tell_both_persons,
    the_daily_job_announces_expiring_documents_once,
    a_receiver_down_for_days_gets_every_event_in_order_once_back,
    a_permanently_failing_receiver_ends_in_the_dead_letter_list_and_replay_delivers,
    a_subscriber_without_the_right_to_a_category_receives_nothing_about_it,
);

fn batch() -> Vec<String> {
    vec![
        tax(
            "t-1",
            1,
            subject("Abdullaev", "1991-07-14", Some("FA1234567"), Some(SNILS_A)),
            -1250.0,
        ),
        phone(
            "p-1",
            subject("Абдуллаев", "1991-07-14", Some("FA 123 4567"), None),
            "2025-01-10",
            None,
        ),
        tax(
            "t-2",
            1,
            subject("Karimov", "1985", Some("AB7654321"), None),
            0.0,
        ),
    ]
}

fn same_batch_twice_is_all_duplicate(harness: Harness) {
    let first = harness.ingest(&batch());
    assert_eq!(Harness::summary(&first).accepted, 3);
    // The two records of one passport (spacing differs) are one person; Karimov another.
    assert_eq!(first[0].person_id, first[1].person_id);
    assert_ne!(first[0].person_id, first[2].person_id);
    let before = harness.store().counts().unwrap();
    harness.clock.advance(Duration::hours(1));
    let second = harness.ingest(&batch());
    assert!(
        second
            .iter()
            .all(|result| result.outcome == Outcome::Duplicate),
        "{second:?}"
    );
    assert_eq!(harness.store().counts().unwrap(), before);
    assert_eq!(second[0].person_id, first[0].person_id);
}

fn malformed_lines_are_quarantined_and_the_rest_accepted(harness: Harness) {
    let mut lines = batch();
    lines.insert(1, "{\"source\": \"fns\", broken".to_owned());
    lines.insert(
        2,
        json!({"source": "fns", "source_ref": "x-1", "category": "horoscope", "data": {}})
            .to_string(),
    );
    lines.insert(3, json!({"source": "fns", "source_ref": "x-2", "category": "tax_debt", "data": {"balance": "lots", "as_of": "2026-03-01"}}).to_string());
    lines.insert(4, json!({"source_ref": "x-3", "category": "tax_debt", "data": {"balance": 1, "as_of": "2026-03-01"}}).to_string());
    lines.insert(5, json!({"source": "fns", "source_ref": "x-4", "category": "tax_debt", "subject": {"birth_date": "1991-02-30"}, "data": {"balance": 1, "as_of": "2026-03-01"}}).to_string());
    let results = harness.ingest(&lines);
    let summary = Harness::summary(&results);
    assert_eq!(
        (summary.accepted, summary.quarantined),
        (3, 5),
        "{results:?}"
    );
    let rules: Vec<(u64, String, String)> = results
        .iter()
        .filter(|result| result.outcome == Outcome::Quarantined)
        .map(|result| {
            (
                result.line,
                result.errors[0].pointer.clone(),
                result.errors[0].rule.clone(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            (2, String::new(), "json_syntax".to_owned()),
            (3, "/category".to_owned(), "unknown_category".to_owned()),
            (4, "/data/balance".to_owned(), "type".to_owned()),
            (5, "/source".to_owned(), "required".to_owned()),
            (
                6,
                "/subject/birth_date".to_owned(),
                "date_impossible".to_owned()
            ),
        ]
    );
    let open = harness
        .store()
        .quarantine_list(Some(QuarantineStatus::Open), 0, 100)
        .unwrap();
    assert_eq!(open.len(), 5);
    assert_eq!(
        open[0].raw,
        lines[1].as_bytes(),
        "the raw line is kept byte for byte"
    );
    // A re-run neither accepts twice nor quarantines twice.
    let again = harness.ingest(&lines);
    assert_eq!(Harness::summary(&again).duplicate, 3);
    assert_eq!(
        harness.store().quarantine_list(None, 0, 100).unwrap().len(),
        5
    );
}

fn revisions_supersede_and_lower_ones_are_stale(harness: Harness) {
    let person = subject("Abdullaev", "1991-07-14", Some("FA1234567"), None);
    let first = harness.ingest(&[tax("t-1", 1, person.clone(), -100.0)]);
    let second = harness.ingest(&[tax("t-1", 3, person.clone(), -50.0)]);
    assert_eq!(second[0].outcome, Outcome::Superseded);
    let stale = harness.ingest(&[tax("t-1", 2, person.clone(), -75.0)]);
    assert_eq!(stale[0].outcome, Outcome::Stale);
    let conflict = harness.ingest(&[tax("t-1", 3, person.clone(), -1.0)]);
    assert_eq!(conflict[0].outcome, Outcome::Quarantined);
    assert_eq!(conflict[0].errors[0].rule, "revision_conflict");
    let profile = harness.profile(first[0].person_id.unwrap());
    let facts = &profile.facts["tax_debt"];
    assert_eq!(facts.len(), 1);
    assert_eq!(facts[0].data["balance"], json!(-50.0));
    assert_eq!(facts[0].cited.revision, 3);
}

fn shared_identifiers_link_transitively_in_any_order(harness: Harness) {
    // Passport only, SNILS only, then both: two persons until the third record joins them.
    let results = harness.ingest(&[
        tax(
            "a",
            1,
            subject("Abdullaev", "1991-07-14", Some("FA1234567"), None),
            1.0,
        ),
        tax(
            "b",
            1,
            subject("ABDULLAYEV", "1991-07-14", None, Some(SNILS_A)),
            2.0,
        ),
    ]);
    let (first, second) = (results[0].person_id.unwrap(), results[1].person_id.unwrap());
    assert_ne!(first, second);
    let bridge = harness.ingest(&[tax(
        "c",
        1,
        subject("Abdullaev", "1991-07-14", Some("FA1234567"), Some(SNILS_A)),
        3.0,
    )]);
    let survivor = bridge[0].person_id.unwrap();
    assert_eq!(survivor, first.min(second));
    let merged = first.max(second);
    assert_eq!(
        harness.store().person(merged).unwrap().unwrap().merged_into,
        Some(survivor)
    );
    let profile = harness.profile(survivor);
    assert_eq!(profile.facts["tax_debt"].len(), 3);
    let history = harness.store().person_decisions(survivor).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, "merge");
    assert_eq!(history[0].other_person_id, Some(merged));
    // Inside one chunk, in another order, the same grouping comes out.
    let fresh = harness.ingest(&[
        tax("d", 1, subject("Karimov", "1980", None, Some(SNILS_B)), 1.0),
        tax(
            "e",
            1,
            subject("Karimov", "1980", Some("AB0000001"), Some(SNILS_B)),
            1.0,
        ),
        tax(
            "f",
            1,
            subject("Karimov", "1980", Some("AB0000001"), None),
            1.0,
        ),
    ]);
    assert!(
        fresh
            .iter()
            .all(|result| result.person_id == fresh[0].person_id)
    );
}

fn conflicting_identifiers_are_flagged_not_merged(harness: Harness) {
    let results = harness.ingest(&[
        tax(
            "a",
            1,
            subject("Abdullaev", "1991-07-14", Some("FA1234567"), Some(SNILS_A)),
            1.0,
        ),
        tax(
            "b",
            1,
            subject("Abdullaev", "1991-07-14", Some("FB7654321"), Some(SNILS_B)),
            2.0,
        ),
    ]);
    let (first, second) = (results[0].person_id.unwrap(), results[1].person_id.unwrap());
    assert_ne!(first, second);
    // One record names A's passport and B's SNILS: two persons with two SNILS cannot be one.
    let clash = harness.ingest(&[tax(
        "c",
        1,
        subject("Abdullaev", "1991-07-14", Some("FA1234567"), Some(SNILS_B)),
        3.0,
    )]);
    assert_eq!(clash[0].outcome, Outcome::Accepted);
    assert!(
        harness
            .store()
            .person(first)
            .unwrap()
            .unwrap()
            .merged_into
            .is_none()
    );
    assert!(
        harness
            .store()
            .person(second)
            .unwrap()
            .unwrap()
            .merged_into
            .is_none()
    );
    let review = harness.store().review_items("open", 10).unwrap();
    assert_eq!(review.len(), 1);
    assert_eq!(review[0].kind, "identifier_conflict");
    let mut persons = review[0].person_ids.clone();
    persons.sort();
    assert_eq!(persons, vec![first, second]);
}

fn as_of_and_valid_at_pick_the_facts_of_that_time(harness: Harness) {
    let person = subject("Abdullaev", "1991-07-14", Some("FA1234567"), None);
    let t0 = harness.clock.now_for_tests();
    let first = harness.ingest(&[
        phone("p-1", person.clone(), "2024-01-01", Some("2024-12-31")),
        phone("p-2", person.clone(), "2025-01-01", None),
    ]);
    let id = first[0].person_id.unwrap();
    harness.clock.advance(Duration::days(10));
    let t1 = harness.clock.now_for_tests();
    // p-2 is withdrawn by its source ten days later.
    let retraction =
        json!({"source": "rossvyaz", "source_ref": "p-2", "revision": 1, "action": "retract"})
            .to_string();
    assert_eq!(harness.ingest(&[retraction])[0].outcome, Outcome::Retracted);
    let refs = |as_of, valid_at| -> Vec<String> {
        match load_profile(harness.store(), id, as_of, valid_at).unwrap() {
            ProfileLookup::Found(profile) => profile
                .facts
                .values()
                .flatten()
                .map(|fact| fact.cited.source_ref.clone())
                .collect(),
            other => panic!("{other:?}"),
        }
    };
    let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    assert_eq!(refs(None, None), ["p-1"]);
    assert_eq!(refs(Some(t0), None), ["p-1", "p-2"]);
    assert_eq!(refs(Some(t1 - Duration::seconds(1)), None), ["p-1", "p-2"]);
    assert_eq!(refs(Some(t0), day("2024-06-01")), ["p-1"]);
    assert_eq!(refs(Some(t0), day("2025-06-01")), ["p-2"]);
    assert_eq!(refs(None, day("2025-06-01")), Vec::<String>::new());
    // Before the person was known, there was no profile.
    assert_eq!(
        load_profile(harness.store(), id, Some(t0 - Duration::days(1)), None).unwrap(),
        ProfileLookup::NotFound
    );
}

fn quarantined_line_is_fixed_and_replayed(harness: Harness) {
    let bad = json!({"source": "fns", "source_ref": "q-1", "category": "tax_debt",
                     "subject": {"birth_date": "1991-02-30"}, "data": {"balance": 1, "as_of": "2026-03-01"}}).to_string();
    let results = harness.ingest(&[bad]);
    let id = results[0].quarantine_id.unwrap();
    // Replayed as it is, it fails again and stays open.
    let again = harness
        .ingestor
        .replay_quarantine(id, None, dprofile_domain::ParseMode::Full)
        .unwrap();
    assert_eq!(again.outcome, Outcome::Quarantined);
    let fixed = json!({"source": "fns", "source_ref": "q-1", "category": "tax_debt",
                       "subject": {"birth_date": "1991-03-02"}, "data": {"balance": 1, "as_of": "2026-03-01"}}).to_string();
    let replayed = harness
        .ingestor
        .replay_quarantine(
            id,
            Some(fixed.clone().into_bytes()),
            dprofile_domain::ParseMode::Full,
        )
        .unwrap();
    assert_eq!(replayed.outcome, Outcome::Accepted);
    let item = harness.store().quarantine_get(id).unwrap().unwrap();
    assert_eq!(item.status, QuarantineStatus::Replayed);
    assert_eq!(item.resolved_record_id, replayed.record_id);
    assert!(
        harness
            .store()
            .quarantine_list(Some(QuarantineStatus::Open), 0, 10)
            .unwrap()
            .is_empty()
    );
}

fn a_failed_chunk_lands_nothing_and_a_rerun_completes(harness: Harness) {
    let lines: Vec<String> = (0..50)
        .map(|index| {
            tax(
                &format!("t-{index}"),
                1,
                subject(
                    "Karimov",
                    "1980",
                    Some(&format!("AB{:07}", index % 20)),
                    None,
                ),
                index as f64,
            )
        })
        .collect();
    let failing = IngestOptions {
        chunk_size: 16,
        failpoint: Some(FailPoint::ErrorAfterLines(40)),
        ..IngestOptions::default()
    };
    assert!(harness.ingest_with(&lines, &failing).is_err());
    // Two whole chunks (32 lines) landed, the third rolled back.
    assert_eq!(harness.store().counts().unwrap().record_keys, 32);
    let rerun = harness
        .ingest_with(
            &lines,
            &IngestOptions {
                chunk_size: 16,
                ..IngestOptions::default()
            },
        )
        .unwrap();
    let summary = Harness::summary(&rerun);
    assert_eq!((summary.duplicate, summary.accepted), (32, 18));
    let counts = harness.store().counts().unwrap();
    assert_eq!(
        (counts.records, counts.record_keys, counts.persons),
        (50, 50, 20)
    );
}

fn search_by_document_identifier_and_name(harness: Harness) {
    let results = harness.ingest(&batch());
    let abdullaev = results[0].person_id.unwrap();
    let store = harness.store();
    assert_eq!(
        store.find_by_identifier(None, "FA1234567").unwrap(),
        [abdullaev]
    );
    assert_eq!(
        store
            .find_by_identifier(
                Some(dprofile_domain::linking::KeyKind::Snils),
                "12345678964"
            )
            .unwrap(),
        [abdullaev]
    );
    let keys = dprofile_domain::linking::query_name_keys("ABDULLAYEV Rustam");
    assert_eq!(store.find_by_name(&keys, 1991).unwrap(), [abdullaev]);
    assert!(store.find_by_name(&keys, 1990).unwrap().is_empty());
}

trait NowForTests {
    fn now_for_tests(&self) -> chrono::DateTime<Utc>;
}

impl NowForTests for FixedClock {
    fn now_for_tests(&self) -> chrono::DateTime<Utc> {
        dprofile_pipeline::Clock::now(self)
    }
}

#[test]
fn line_numbers_follow_the_input() {
    let harness = Harness::new(TestStore::sqlite());
    let text = format!("{}\n\n{}\n", batch()[0], batch()[2]);
    let mut results = Vec::new();
    harness
        .ingestor
        .ingest_reader(
            text.as_bytes(),
            &IngestOptions::default(),
            &mut |chunk, _| results.extend_from_slice(chunk),
        )
        .unwrap();
    let numbers: Vec<u64> = results.iter().map(|result| result.line).collect();
    assert_eq!(numbers, [1, 3]);
    let _ = Line {
        number: 1,
        bytes: Vec::new(),
    };
}

fn officer(reason: &str) -> dprofile_pipeline::review::Officer {
    dprofile_pipeline::review::Officer {
        actor: "officer:ivanova".to_owned(),
        reason: reason.to_owned(),
    }
}

/// What a reader can see of a person: the profile, and who the searches find.
fn snapshot(harness: &Harness, person: i64) -> (ProfileLookup, Vec<i64>, Vec<i64>) {
    let store = harness.store();
    let profile = load_profile(store, person, None, None).unwrap();
    let by_passport = store.find_by_identifier(None, "FA1234567").unwrap();
    let by_name = store
        .find_by_name(&dprofile_domain::linking::query_name_keys("Karimov"), 1980)
        .unwrap();
    (profile, by_passport, by_name)
}

fn an_officer_merge_then_split_restores_both_profiles_exactly(harness: Harness) {
    let results = harness.ingest(&[
        tax(
            "a-1",
            1,
            subject("Abdullaev", "1991-07-14", Some("FA1234567"), Some(SNILS_A)),
            1.0,
        ),
        phone(
            "a-2",
            subject("Abdullaev", "1991-07-14", Some("FA1234567"), None),
            "2025-01-01",
            None,
        ),
        tax(
            "b-1",
            1,
            subject("Karimov", "1980", Some("AB7654321"), None),
            2.0,
        ),
    ]);
    let (first, second) = (results[0].person_id.unwrap(), results[2].person_id.unwrap());
    let before = (snapshot(&harness, first), snapshot(&harness, second));
    let desk = dprofile_pipeline::review::IdentityDesk::new(
        harness.test_store.store.clone(),
        harness.clock.clone(),
    );
    let merge = desk
        .merge(first, second, &officer("same man, passport renewed"))
        .unwrap();
    match load_profile(harness.store(), first, None, None).unwrap() {
        ProfileLookup::Found(profile) => assert_eq!(profile.facts.values().flatten().count(), 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        load_profile(harness.store(), second, None, None).unwrap(),
        ProfileLookup::Merged { into: first }
    );
    assert_eq!(
        harness
            .store()
            .find_by_name(&dprofile_domain::linking::query_name_keys("Karimov"), 1980)
            .unwrap(),
        [first]
    );

    let split = desk.split(merge, &officer("two men after all")).unwrap();
    let after = (snapshot(&harness, first), snapshot(&harness, second));
    assert_eq!(after, before, "a split restores both profiles exactly");
    assert!(matches!(
        desk.split(merge, &officer("again")),
        Err(dprofile_pipeline::review::DecisionError::Conflict(_))
    ));
    let history = harness.store().person_decisions(second).unwrap();
    let kinds: Vec<(&str, &str, &str)> = history
        .iter()
        .map(|decision| {
            (
                decision.kind.as_str(),
                decision.actor.as_str(),
                decision.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("merge", "officer:ivanova", "same man, passport renewed"),
            ("split", "officer:ivanova", "two men after all")
        ]
    );
    assert_eq!(history[1].id, split);
    // A record that names both passports no longer merges them: it goes to review.
    let bridge = harness.ingest(&[
        json!({"source": "mvd", "source_ref": "bridge", "category": "tax_debt",
        "subject": {"documents": [{"kind": "passport", "country": "UZB", "number": "FA1234567"},
                                  {"kind": "passport", "country": "UZB", "number": "AB7654321"}]},
        "data": {"balance": 0, "as_of": "2026-03-01"}})
        .to_string(),
    ]);
    assert_eq!(bridge[0].person_id, Some(first.min(second)));
    assert!(
        harness
            .store()
            .person(second)
            .unwrap()
            .unwrap()
            .merged_into
            .is_none()
    );
    assert_eq!(harness.store().review_items("open", 10).unwrap().len(), 1);
}

fn a_rejected_review_keeps_persons_apart_and_a_confirmed_one_merges(harness: Harness) {
    let desk = dprofile_pipeline::review::IdentityDesk::new(
        harness.test_store.store.clone(),
        harness.clock.clone(),
    );
    // Two persons, then a record that carries A's passport and B's SNILS: a conflict for review.
    let results = harness.ingest(&[
        tax(
            "a",
            1,
            subject("Abdullaev", "1991-07-14", Some("FA1234567"), Some(SNILS_A)),
            1.0,
        ),
        tax(
            "b",
            1,
            subject("Abdullaev", "1991-07-14", Some("FB7654321"), Some(SNILS_B)),
            2.0,
        ),
        tax(
            "c",
            1,
            subject("Abdullaev", "1991-07-14", Some("FA1234567"), Some(SNILS_B)),
            3.0,
        ),
    ]);
    let (first, second) = (results[0].person_id.unwrap(), results[1].person_id.unwrap());
    let item = harness.store().review_items("open", 10).unwrap().remove(0);
    assert!(
        desk.decide(
            item.id,
            dprofile_pipeline::review::ReviewVerdict::Reject,
            &officer("")
        )
        .is_err(),
        "a reason is required"
    );
    desk.decide(
        item.id,
        dprofile_pipeline::review::ReviewVerdict::Reject,
        &officer("different fathers' names"),
    )
    .unwrap();
    assert_eq!(
        harness
            .store()
            .review_item(item.id)
            .unwrap()
            .unwrap()
            .status,
        "rejected"
    );
    assert!(harness.store().review_items("open", 10).unwrap().is_empty());
    let history = harness.store().person_decisions(first).unwrap();
    assert_eq!(history.last().unwrap().kind, "reject");
    assert_eq!(history.last().unwrap().reason, "different fathers' names");
    // Confirming another conflict merges its persons, the officer's name and reason kept.
    let more = harness.ingest(&[
        tax(
            "x",
            1,
            subject("Karimov", "1980", Some("AB0000001"), Some("234-567-890 99")),
            1.0,
        ),
        tax(
            "y",
            1,
            subject("Karimov", "1980", Some("AB0000002"), Some("345-678-901 23")),
            1.0,
        ),
        tax(
            "z",
            1,
            subject("Karimov", "1980", Some("AB0000001"), Some("345-678-901 23")),
            1.0,
        ),
    ]);
    let (x, y) = (more[0].person_id.unwrap(), more[1].person_id.unwrap());
    let item = harness.store().review_items("open", 10).unwrap().remove(0);
    let decisions = desk
        .decide(
            item.id,
            dprofile_pipeline::review::ReviewVerdict::Confirm,
            &officer("one SNILS was mistyped"),
        )
        .unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(
        harness
            .store()
            .person(x.max(y))
            .unwrap()
            .unwrap()
            .merged_into,
        Some(x.min(y))
    );
    assert_eq!(
        harness
            .store()
            .review_item(item.id)
            .unwrap()
            .unwrap()
            .status,
        "confirmed"
    );
    let merge = harness.store().decision(decisions[0]).unwrap().unwrap();
    assert_eq!(
        (merge.kind.as_str(), merge.actor.as_str()),
        ("merge", "officer:ivanova")
    );
    assert!(
        harness
            .store()
            .person(first)
            .unwrap()
            .unwrap()
            .merged_into
            .is_none()
    );
    assert!(
        harness
            .store()
            .person(second)
            .unwrap()
            .unwrap()
            .merged_into
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------------
// Issue 3: incremental ingest reaches the partition of the batch resolver.

mod incremental {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use dprofile_domain::{Action, ParseMode, parse_record};
    use dprofile_pipeline::resolution::{FrozenResolver, RESOLVER_ACTOR};
    use dprofile_pipeline::{Clock, FixedClock, IngestOptions, Ingestor};
    use dprofile_resolver::{ResolverConfig, ResolverRecord, resolve, resolve_with_model};
    use dprofile_store::testing::TestStore;
    use dprofile_synth::{SynthConfig, generate};

    type Key = (String, String);
    type Partition = BTreeSet<BTreeSet<Key>>;

    /// A small population with the hard cases made common: namesakes, twins, renewed
    /// passports, corrections and retractions, names in several scripts.
    fn population(persons: u64, seed: u64) -> Vec<String> {
        let mut config = SynthConfig::new(persons, seed);
        config.namesake_share = 0.15;
        config.twin_share = 0.05;
        config.father_son_share = 0.05;
        config.passport_renewal_share = 0.3;
        config.typo_rate = 0.08;
        config.revision_rate = 0.05;
        config.retraction_rate = 0.02;
        let mut lines = Vec::new();
        generate(&config, |record| lines.push(record.line));
        lines
    }

    /// The records the resolver reads: per key, the version with the highest revision, when
    /// it is a valid upsert (a withdrawn key is not resolved).
    fn resolver_input(lines: &[String]) -> (Vec<Key>, Vec<ResolverRecord>) {
        let mut latest: BTreeMap<Key, (u32, Option<ResolverRecord>)> = BTreeMap::new();
        for line in lines {
            let Ok(record) = parse_record(line.as_bytes(), ParseMode::Full) else {
                continue;
            };
            let key = (
                record.source.as_str().to_owned(),
                record.source_ref.as_str().to_owned(),
            );
            // As `dprofile resolve` reads a line: the subject and the day it was observed.
            let content = (record.action == Action::Upsert).then(|| ResolverRecord {
                observed_on: record.observed_at.map(|instant| instant.date_naive()),
                ..ResolverRecord::from_subject(0, &record.subject)
            });
            let entry = latest.entry(key).or_insert((0, None));
            if record.revision > entry.0 {
                *entry = (record.revision, content);
            }
        }
        let mut keys = Vec::new();
        let mut records = Vec::new();
        for (key, (_, content)) in latest {
            if let Some(mut record) = content {
                record.id = records.len() as u32;
                keys.push(key);
                records.push(record);
            }
        }
        (keys, records)
    }

    fn partition_of(keys: &[Key], person_of: impl Fn(usize) -> i64) -> Partition {
        let mut groups: BTreeMap<i64, BTreeSet<Key>> = BTreeMap::new();
        for (index, key) in keys.iter().enumerate() {
            groups
                .entry(person_of(index))
                .or_default()
                .insert(key.clone());
        }
        groups.into_values().collect()
    }

    fn shuffle<T>(items: &mut [T], seed: u64) {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for index in (1..items.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            items.swap(index, (state % (index as u64 + 1)) as usize);
        }
    }

    /// Ingests `lines` through the real pipeline into `store` and reads the partition of
    /// `keys` back from it.
    fn ingest_partition(
        store: &TestStore,
        resolver: &Arc<FrozenResolver>,
        model_json: &str,
        lines: &[String],
        chunk_size: usize,
        keys: &[Key],
    ) -> Partition {
        let clock = Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
        ));
        store
            .store
            .write(&mut |tx| tx.set_resolver_model(model_json, clock.now()))
            .expect("the model is saved");
        let ingestor = Ingestor::new(store.store.clone(), clock).with_resolver(resolver.clone());
        let options = IngestOptions {
            chunk_size,
            ..IngestOptions::default()
        };
        let text = lines.join("\n");
        ingestor
            .ingest_reader(text.as_bytes(), &options, &mut |_, _| {})
            .expect("ingest");
        let mut person: BTreeMap<Key, i64> = BTreeMap::new();
        store
            .store
            .assignments(&mut |source, source_ref, assigned| {
                person.insert(
                    (source.to_owned(), source_ref.to_owned()),
                    assigned.unwrap_or(-1),
                );
            })
            .expect("assignments");
        partition_of(keys, |index| {
            *person
                .get(&keys[index])
                .unwrap_or_else(|| panic!("key {:?} was not stored", keys[index]))
        })
    }

    fn check(make_store: &dyn Fn() -> Option<TestStore>, config: ResolverConfig, persons: u64) {
        let lines = population(persons, 11);
        let (keys, records) = resolver_input(&lines);
        // The model is fitted once, on the whole file, and saved as text: ingest and batch
        // both use the saved one.
        let fitted = resolve(records.clone(), &config).model;
        let model_json = serde_json::to_string(&fitted).expect("the model serialises");
        let resolver = Arc::new(
            FrozenResolver::from_json_with(&model_json, config.clone()).expect("the model loads"),
        );
        let batch = resolve_with_model(records, &config, &resolver.model);
        let expected = partition_of(&keys, |index| i64::from(batch.person_of[index]));
        assert!(
            expected.len() < keys.len(),
            "the population must hold records of one person to link"
        );
        for (seed, chunk_size) in [(0u64, 1usize), (1, 5), (2, 64), (3, 100_000)] {
            let Some(store) = make_store() else {
                return;
            };
            let mut shuffled = lines.clone();
            if seed > 0 {
                shuffle(&mut shuffled, seed);
            }
            let found =
                ingest_partition(&store, &resolver, &model_json, &shuffled, chunk_size, &keys);
            if found != expected {
                let only_found: Vec<_> = found.difference(&expected).collect();
                let only_expected: Vec<_> = expected.difference(&found).collect();
                panic!(
                    "order {seed}, chunks of {chunk_size}: ingest and batch disagree\n\
                     persons only ingest made: {only_found:#?}\npersons only batch made: {only_expected:#?}"
                );
            }
        }
    }

    /// The registry's configuration, with fewer random pairs for u: enough for a small
    /// population, and quick in a debug build.
    fn person_records() -> ResolverConfig {
        ResolverConfig {
            u_sample_pairs: 50_000,
            ..ResolverConfig::for_person_records()
        }
    }

    /// Blocks small enough that common keys go over the cap and are paired by window.
    fn small_blocks() -> ResolverConfig {
        let mut config = person_records();
        config.max_block_size = 6;
        config.sub_block_window = 2;
        config
    }

    #[test]
    fn sqlite_incremental_ingest_reaches_the_batch_partition() {
        check(&|| Some(TestStore::sqlite()), person_records(), 40);
    }

    #[test]
    fn sqlite_incremental_ingest_reaches_the_batch_partition_with_windowed_blocks() {
        check(&|| Some(TestStore::sqlite()), small_blocks(), 40);
    }

    #[test]
    fn postgres_incremental_ingest_reaches_the_batch_partition() {
        check(&TestStore::postgres, person_records(), 30);
    }

    #[test]
    fn postgres_incremental_ingest_reaches_the_batch_partition_with_windowed_blocks() {
        check(&TestStore::postgres, small_blocks(), 30);
    }

    /// An officer's split of a resolver merge holds when later records re-resolve the two:
    /// re-resolution never silently undoes an officer.
    fn an_officer_split_survives_probabilistic_reresolution(
        make_store: &dyn Fn() -> Option<TestStore>,
    ) {
        use dprofile_pipeline::review::{IdentityDesk, Officer};
        let Some(store) = make_store() else {
            return;
        };
        let config = person_records();
        let lines = population(30, 11);
        let (_, records) = resolver_input(&lines);
        let model_json = serde_json::to_string(&resolve(records, &config).model).unwrap();
        let resolver =
            Arc::new(FrozenResolver::from_json_with(&model_json, config).expect("the model loads"));
        let clock = Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
        ));
        let ingestor =
            Ingestor::new(store.store.clone(), clock.clone()).with_resolver(resolver.clone());
        // No identifiers: only the probabilistic resolver can put these together.
        let line = |source_ref: &str| {
            serde_json::json!({"source": "fms", "source_ref": source_ref, "category": "phone_number",
                "valid_from": "2026-01-01",
                "subject": {"names": [{"family": "Abdurakhmonov", "given": "Zoirjon", "patronymic": "Ulugbekovich"}],
                            "birth_date": "1987-03-19", "sex": "M", "citizenship": "UZB"},
                "data": {"number": "+79161234567", "registered_on": "2026-01-01"}})
            .to_string()
        };
        let ingest = |lines: &[String]| {
            let mut results = Vec::new();
            ingestor
                .ingest_reader(
                    lines.join("\n").as_bytes(),
                    &IngestOptions::default(),
                    &mut |chunk, _| results.extend_from_slice(chunk),
                )
                .expect("ingest");
            results
        };
        let first = ingest(&[line("z-1")]);
        let second = ingest(&[line("z-2")]);
        let (one, other) = (first[0].person_id.unwrap(), second[0].person_id.unwrap());
        assert_eq!(one, other, "the resolver links the two records");
        let merge = store
            .store
            .person_decisions(one)
            .unwrap()
            .into_iter()
            .find(|decision| decision.kind == "merge" && decision.actor == RESOLVER_ACTOR)
            .expect("the resolver's merge is a decision");
        let desk = IdentityDesk::new(store.store.clone(), clock);
        let officer = Officer {
            actor: "officer:ivanova".to_owned(),
            reason: "different persons: checked in person".to_owned(),
        };
        desk.split(merge.id, &officer).expect("split");
        let person_of = |source_ref: &str| {
            let mut found = None;
            store
                .store
                .assignments(&mut |_, key, person| {
                    if key == source_ref {
                        found = person;
                    }
                })
                .unwrap();
            found.unwrap()
        };
        let (kept, split_off) = (person_of("z-1"), person_of("z-2"));
        assert_ne!(kept, split_off);
        // A third record like both: it may join one, but the two stay apart.
        ingest(&[line("z-3")]);
        assert_eq!(person_of("z-1"), kept);
        assert_eq!(person_of("z-2"), split_off);
    }

    #[test]
    fn sqlite_an_officer_split_survives_probabilistic_reresolution() {
        an_officer_split_survives_probabilistic_reresolution(&|| Some(TestStore::sqlite()));
    }

    #[test]
    fn postgres_an_officer_split_survives_probabilistic_reresolution() {
        an_officer_split_survives_probabilistic_reresolution(&TestStore::postgres);
    }
}

/// Passwords are hashed with argon2id at OWASP's parameters, salted (two hashes of one
/// password differ), and checked against the rules with the rule named.
#[test]
fn officer_passwords_are_argon2id_hashes_and_follow_the_rules() {
    use dprofile_pipeline::officers::{
        OfficerError, check_password, hash_password, verify_password,
    };
    let first = hash_password("a long passphrase of mine").unwrap();
    let second = hash_password("a long passphrase of mine").unwrap();
    assert!(
        first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{first}"
    );
    assert_ne!(first, second, "each hash has its own salt");
    assert!(verify_password("a long passphrase of mine", &first));
    assert!(!verify_password("a long passphrase of mind", &first));
    assert!(!verify_password("a long passphrase of mine", "not a hash"));
    let rule = |login: &str, password: &str| match check_password(login, password) {
        Ok(()) => "ok",
        Err(OfficerError::Password { rule, .. }) => rule,
        Err(other) => panic!("{other}"),
    };
    assert_eq!(rule("i.petrova", "elevenchars"), "password.too_short");
    assert_eq!(rule("i.petrova", "twelve chars"), "ok");
    assert_eq!(
        rule("i.petrova.long", "I.Petrova.Long"),
        "password.equals_login"
    );
    assert_eq!(rule("i.petrova", &"x".repeat(257)), "password.too_long");
    // Characters, not bytes: twelve Cyrillic letters are enough.
    assert_eq!(rule("i.petrova", "абвгдеёжзийк"), "ok");
}

// --- QR passes: the key file, rotation, and the status a pass states -----------------------

mod passes {
    use std::collections::BTreeMap;

    use chrono::{Duration, NaiveDate, TimeZone, Utc};
    use dprofile_pipeline::passes::{PassKeyring, pass_status_claims};
    use dprofile_pipeline::profile::{Citation, Fact, Profile};
    use serde_json::{Value, json};

    fn profile(facts: &[(&str, Value)]) -> Profile {
        let mut by_category: BTreeMap<String, Vec<Fact>> = BTreeMap::new();
        for (index, (category, data)) in facts.iter().enumerate() {
            by_category
                .entry((*category).to_owned())
                .or_default()
                .push(Fact {
                    category: (*category).to_owned(),
                    data: data.clone(),
                    disputed: Vec::new(),
                    valid_from: None,
                    valid_to: None,
                    cited: Citation {
                        record_id: index as i64 + 1,
                        source: "mvd".to_owned(),
                        source_ref: format!("r-{index}"),
                        revision: 1,
                        received_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
                        observed_at: None,
                    },
                });
        }
        Profile {
            person_id: 1,
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            as_of: None,
            valid_at: None,
            identifiers: vec!["passport:UZB:FA1234567".to_owned()],
            identity: Vec::new(),
            facts: by_category,
        }
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// `(lawful stay, basis, stay until, right to work, work until)` on `today`.
    fn check(
        facts: &[(&str, Value)],
        today: &str,
        expected: (bool, Option<&str>, Option<&str>, bool, Option<&str>),
    ) {
        let claims =
            pass_status_claims(&profile(facts), day(today), &dprofile_status::RuleSet::v1());
        assert_eq!(
            (
                claims.lawful_stay,
                claims.stay_basis.as_deref(),
                claims.stay_until.map(|until| until.to_string()),
                claims.right_to_work,
                claims.work_until.map(|until| until.to_string()),
            ),
            (
                expected.0,
                expected.1,
                expected.2.map(str::to_owned),
                expected.3,
                expected.4.map(str::to_owned)
            ),
            "{facts:?} on {today}"
        );
    }

    #[test]
    fn pass_status_comes_from_documents_valid_today() {
        let patent = json!({"kind": "patent", "number": "77 123", "issued_on": "2026-01-10",
                            "expires_on": "2026-12-31", "region": "77", "patent_paid_until": "2026-06-30"});
        let permit =
            json!({"kind": "residence_permit", "number": "82 1", "issued_on": "2025-01-10"});
        let temporary = json!({"kind": "temporary_residence_permit", "number": "82 2",
                               "issued_on": "2025-01-10", "expires_on": "2027-01-10", "work_allowed": false});
        let work_visa = json!({"visa_number": "V1", "kind": "ordinary", "purpose": "work",
                               "entries": "multiple", "issued_on": "2026-01-01", "valid_from": "2026-01-05",
                               "valid_to": "2026-09-30", "issuing_post": "Tashkent"});
        check(&[], "2026-03-01", (false, None, None, false, None));
        // A patent holds, for stay and for work, until the end of what was paid (the status
        // engine's rule: an unpaid patent is no basis).
        check(
            &[("stay_document", patent.clone())],
            "2026-03-01",
            (
                true,
                Some("patent"),
                Some("2026-06-30"),
                true,
                Some("2026-06-30"),
            ),
        );
        // Unpaid: neither stay nor work rests on it any more.
        check(
            &[("stay_document", patent.clone())],
            "2026-07-15",
            (false, None, None, false, None),
        );
        // Not yet issued, or expired: nothing.
        check(
            &[("stay_document", patent)],
            "2027-01-01",
            (false, None, None, false, None),
        );
        check(
            &[("stay_document", permit.clone())],
            "2024-12-31",
            (false, None, None, false, None),
        );
        // A residence permit without an end date: lawful and working with no end.
        check(
            &[
                ("stay_document", permit.clone()),
                ("stay_document", temporary.clone()),
            ],
            "2026-03-01",
            (true, Some("residence_permit"), None, true, None),
        );
        // A temporary permit that says no work.
        check(
            &[("stay_document", temporary)],
            "2026-03-01",
            (
                true,
                Some("temporary_residence_permit"),
                Some("2027-01-10"),
                false,
                None,
            ),
        );
        check(
            &[("visa", work_visa.clone())],
            "2026-03-01",
            (
                true,
                Some("visa"),
                Some("2026-09-30"),
                true,
                Some("2026-09-30"),
            ),
        );
        check(
            &[("visa", work_visa)],
            "2026-10-01",
            (false, None, None, false, None),
        );
        // A malformed fact is skipped, not fatal.
        check(
            &[("stay_document", json!({"kind": "nonsense"}))],
            "2026-03-01",
            (false, None, None, false, None),
        );
    }

    #[test]
    fn the_key_file_is_private_and_rotation_keeps_the_old_key_listed_for_a_pass_lifetime() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("keys").join("pass-keys.json");
        let created = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let first = PassKeyring::load_or_create(&path, created).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "owner-only");
        }
        let again = PassKeyring::load_or_create(&path, created + Duration::days(1)).unwrap();
        assert_eq!(
            again.signer().key_id(),
            first.signer().key_id(),
            "the same keys"
        );
        let rotated_at = created + Duration::days(10);
        let rotated = PassKeyring::rotate(&path, rotated_at).unwrap();
        assert_ne!(rotated.signer().key_id(), first.signer().key_id());
        let listed = rotated.trust_list(rotated_at + Duration::days(89));
        assert_eq!(
            listed.keys.len(),
            2,
            "the old key stays while its passes live"
        );
        let old = listed.key(first.signer().key_id()).unwrap();
        assert_eq!(old.signs_until, Some(rotated_at));
        assert!(!old.may_sign_at(rotated_at + Duration::seconds(1)));
        let later = rotated.trust_list(rotated_at + Duration::days(91));
        assert_eq!(later.keys.len(), 1, "then it leaves the list");
        assert_eq!(later.keys[0].key_id, rotated.signer().key_id());
        // A key file that is not ours is an error that names the file, not a new key.
        std::fs::write(&path, "{}").unwrap();
        let error = PassKeyring::load_or_create(&path, created).unwrap_err();
        assert!(error.to_string().contains("pass-keys.json"), "{error}");
    }
}

fn residence_permit(source_ref: &str, revision: u32, subject: Value, valid_to: &str) -> String {
    json!({"source": "mvd-migration", "source_ref": source_ref, "revision": revision,
           "category": "stay_document", "valid_from": "2025-03-01", "valid_to": valid_to,
           "subject": subject,
           "data": {"kind": "residence_permit", "number": "82 1234567", "issued_on": "2025-03-01",
                    "expires_on": valid_to}})
    .to_string()
}

fn event_types(store: &dyn Store, person: i64) -> Vec<String> {
    store
        .events_after(0, 1000)
        .unwrap()
        .into_iter()
        .filter(|event| event.person_id == Some(person))
        .map(|event| event.event_type)
        .collect()
}

fn a_chunk_writes_its_events_in_its_own_transaction(harness: Harness) {
    let person_subject = subject("Abdullaev", "1991-07-14", Some("FA1234567"), None);
    let results = harness.ingest(&[
        tax("t-1", 1, person_subject.clone(), -1250.0),
        residence_permit("rp-1", 1, person_subject.clone(), "2030-02-28"),
    ]);
    let person = results[0].person_id.unwrap();
    let types = event_types(harness.store(), person);
    assert_eq!(
        types[..3],
        ["person.created", "record.accepted", "record.accepted"]
    );
    // The permit gives a lawful stay and the right to work, the tax record a tax status.
    assert!(
        types[3..].iter().all(|kind| kind == "status.changed"),
        "{types:?}"
    );
    let events = harness.store().events_after(0, 100).unwrap();
    // Per-person sequence numbers count 1, 2, … in feed order.
    let sequences: Vec<i64> = events.iter().map(|event| event.person_seq).collect();
    assert_eq!(sequences, (1..=types.len() as i64).collect::<Vec<_>>());
    // Ids, dates and statuses: never a record's field values.
    let accepted = &events[1];
    assert_eq!(accepted.categories, vec!["tax_debt".to_owned()]);
    assert_eq!(accepted.payload["source_ref"], "t-1");
    assert!(!accepted.payload.to_string().contains("1250"));
    let statuses: Vec<(&str, &str)> = events[3..types.len()]
        .iter()
        .map(|event| {
            (
                event.payload["status"].as_str().unwrap(),
                event.payload["after"]["answer"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(statuses.contains(&("lawful_stay", "yes")), "{statuses:?}");
    // The same chunk again changes nothing and tells nothing.
    let head = harness.store().events_head().unwrap();
    harness.ingest(&[tax("t-1", 1, person_subject.clone(), -1250.0)]);
    assert_eq!(harness.store().events_head().unwrap(), head);
    // A chunk that fails writes no event either.
    let failing = IngestOptions {
        failpoint: Some(FailPoint::ErrorAfterLines(1)),
        ..IngestOptions::default()
    };
    assert!(
        harness
            .ingest_with(&[tax("t-2", 1, person_subject.clone(), 0.0)], &failing)
            .is_err()
    );
    assert_eq!(harness.store().events_head().unwrap(), head);
    // A retraction of the permit ends the lawful stay: both are told.
    harness.ingest(&[
        json!({"source": "mvd-migration", "source_ref": "rp-1", "revision": 2,
                            "action": "retract", "category": "stay_document"})
        .to_string(),
    ]);
    let after_retraction = event_types(harness.store(), person);
    assert_eq!(after_retraction[types.len()], "record.retracted");
    assert!(
        after_retraction[types.len() + 1..].contains(&"status.changed".to_owned()),
        "{after_retraction:?}"
    );
}

fn merges_and_splits_tell_both_persons(harness: Harness) {
    let first = harness.ingest(&[tax(
        "t-1",
        1,
        subject("Abdullaev", "1991-07-14", Some("FA1234567"), None),
        0.0,
    )])[0]
        .person_id
        .unwrap();
    let second = harness.ingest(&[tax(
        "t-2",
        1,
        subject("Abdullaev", "1991-07-14", Some("FB7654321"), None),
        0.0,
    )])[0]
        .person_id
        .unwrap();
    let desk = dprofile_pipeline::review::IdentityDesk::new(
        harness.test_store.store.clone(),
        harness.clock.clone(),
    );
    let merge = desk.merge(first, second, &officer("same man")).unwrap();
    desk.split(merge, &officer("namesakes")).unwrap();
    for person in [first, second] {
        let types: Vec<String> = event_types(harness.store(), person)
            .into_iter()
            .filter(|kind| kind.starts_with("person.") && kind != "person.created")
            .collect();
        assert_eq!(types, ["person.merged", "person.split"]);
    }
    let merged = harness
        .store()
        .events_after(0, 100)
        .unwrap()
        .into_iter()
        .find(|event| event.event_type == "person.merged")
        .unwrap();
    assert_eq!(merged.payload["decision_id"], merge);
    assert_eq!(merged.payload["by"], "officer");
}

fn the_daily_job_announces_expiring_documents_once(harness: Harness) {
    let person = harness.ingest(&[residence_permit(
        "rp-1",
        1,
        subject("Abdullaev", "1991-07-14", Some("FA1234567"), None),
        "2026-03-20",
    )])[0]
        .person_id
        .unwrap();
    let rules = dprofile_status::RuleSet::v1();
    let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let now = harness.clock.now();
    let run = |today: &str| {
        dprofile_pipeline::events::run_daily(harness.store(), day(today), 30, now, &rules).unwrap()
    };
    // Out of the horizon: nothing.
    assert_eq!(run("2026-01-01").expiring_events, 0);
    assert_eq!(run("2026-03-01").expiring_events, 1);
    // Again the same day, and the next: written once.
    assert_eq!(run("2026-03-01").expiring_events, 0);
    assert_eq!(run("2026-03-02").expiring_events, 0);
    let expiring: Vec<_> = harness
        .store()
        .events_after(0, 100)
        .unwrap()
        .into_iter()
        .filter(|event| event.event_type == "document.expiring")
        .collect();
    assert_eq!(expiring.len(), 1);
    assert_eq!(expiring[0].person_id, Some(person));
    assert_eq!(expiring[0].payload["valid_to"], "2026-03-20");
    assert_eq!(expiring[0].payload["days_left"], 19);
    // After the permit's end the lawful stay moved with the calendar.
    let report = run("2026-03-21");
    assert!(report.status_events >= 1, "{report:?}");
}

/// A webhook receiver on port 0: counts what it receives by idempotency key, answers 200 while
/// up and 503 while down.
struct Receiver {
    url: String,
    up: Arc<std::sync::atomic::AtomicBool>,
    received: Arc<std::sync::Mutex<Vec<ReceivedHook>>>,
}

#[derive(Debug, Clone)]
struct ReceivedHook {
    key: String,
    signature: String,
    body: Vec<u8>,
}

impl ReceivedHook {
    fn event(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

impl Receiver {
    fn start() -> Receiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/dprofile", listener.local_addr().unwrap());
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (thread_up, thread_received) = (up.clone(), received.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut key, mut signature, mut length) = (String::new(), String::new(), 0);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.trim_end().split_once(": ") {
                        match name.to_ascii_lowercase().as_str() {
                            "idempotency-key" => key = value.to_owned(),
                            "dprofile-signature" => signature = value.to_owned(),
                            "content-length" => length = value.parse().unwrap_or(0),
                            _ => {}
                        }
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let answer = if thread_up.load(std::sync::atomic::Ordering::SeqCst) {
                    thread_received.lock().unwrap().push(ReceivedHook {
                        key,
                        signature,
                        body,
                    });
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                } else {
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                };
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Receiver { url, up, received }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
    }

    fn hooks(&self) -> Vec<ReceivedHook> {
        self.received.lock().unwrap().clone()
    }
}

fn webhook_worker(
    harness: &Harness,
    config: dprofile_pipeline::webhooks::WebhookConfig,
) -> dprofile_pipeline::webhooks::WebhookWorker {
    let key =
        dprofile_audit::LogKey::from_seed(dprofile_pipeline::access_log::DEFAULT_ORIGIN, [21; 32])
            .unwrap();
    dprofile_pipeline::webhooks::WebhookWorker {
        store: harness.test_store.store.clone(),
        policy: Arc::new(dprofile_policy::Policy::default_policy()),
        access_log: Arc::new(dprofile_pipeline::access_log::AccessLog::new(
            harness.test_store.store.clone(),
            key,
        )),
        clock: harness.clock.clone(),
        transport: Arc::new(dprofile_pipeline::webhooks::HttpTransport::default()),
        config,
    }
}

fn subscribe(
    harness: &Harness,
    agency: &str,
    role: &str,
    purpose: &str,
    categories: &[&str],
    url: Option<&str>,
) -> Result<
    dprofile_pipeline::subscriptions::CreatedSubscription,
    dprofile_pipeline::subscriptions::SubscriptionError,
> {
    dprofile_pipeline::subscriptions::create(
        harness.store(),
        &dprofile_policy::Policy::default_policy(),
        agency,
        &dprofile_pipeline::subscriptions::SubscriptionRequest {
            role: role.to_owned(),
            purpose: purpose.to_owned(),
            event_types: Vec::new(),
            categories: categories.iter().map(|code| (*code).to_owned()).collect(),
            webhook_url: url.map(str::to_owned),
        },
        "apikey:1",
        harness.clock.now(),
    )
}

/// Keys of the hooks received, each person's in the order received, with their sequences.
fn per_person_sequences(hooks: &[ReceivedHook]) -> std::collections::BTreeMap<i64, Vec<i64>> {
    let mut sequences: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for hook in hooks {
        let event = hook.event();
        if let Some(person) = event["person_id"].as_i64() {
            sequences
                .entry(person)
                .or_default()
                .push(event["person_seq"].as_i64().unwrap());
        }
    }
    sequences
}

fn migration_batch(people: usize, records_each: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for person in 0..people {
        for record in 0..records_each {
            lines.push(residence_permit(
                &format!("rp-{person}-{record}"),
                1,
                subject(
                    "Abdullaev",
                    "1991-07-14",
                    Some(&format!("FA{:07}", 1_000_000 + person)),
                    None,
                ),
                &format!("2030-01-{:02}", record + 1),
            ));
        }
    }
    lines
}

fn a_receiver_down_for_days_gets_every_event_in_order_once_back(harness: Harness) {
    let receiver = Receiver::start();
    let created = subscribe(
        &harness,
        "mvd-migration",
        "migration_officer",
        "stay_control",
        &[],
        Some(&receiver.url),
    )
    .unwrap();
    let worker = webhook_worker(
        &harness,
        dprofile_pipeline::webhooks::WebhookConfig {
            max_attempts: 10_000,
            batch: 50,
            ..Default::default()
        },
    );
    receiver.set_up(false);
    harness.ingest(&migration_batch(3, 4));
    // Three days down, on the simulated clock: an attempt per person whenever its backoff ends.
    for _ in 0..72 {
        harness.clock.advance(Duration::hours(1));
        worker.run_once(&created.subscription).unwrap();
    }
    assert!(receiver.hooks().is_empty());
    // More changes while it is down.
    harness.ingest(&migration_batch(4, 5));
    receiver.set_up(true);
    for _ in 0..50 {
        harness.clock.advance(Duration::hours(1));
        let report = worker.run_once(&created.subscription).unwrap();
        if report.idle()
            && harness
                .store()
                .deliveries(
                    created.subscription.id,
                    dprofile_store::DeliveryFilter::Pending,
                    1,
                )
                .unwrap()
                .is_empty()
        {
            break;
        }
    }
    let hooks = receiver.hooks();
    let all = harness.store().events_after(0, 10_000).unwrap();
    let mut keys: Vec<&str> = hooks.iter().map(|hook| hook.key.as_str()).collect();
    keys.sort_unstable();
    let mut expected: Vec<&str> = all.iter().map(|event| event.event_id.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(keys, expected, "every event, each once");
    for (person, sequences) in per_person_sequences(&hooks) {
        let mut sorted = sequences.clone();
        sorted.sort_unstable();
        assert_eq!(sequences, sorted, "person {person}'s events in order");
    }
    // Signed with the secret shown at creation, at the (simulated) time of sending.
    let hook = &hooks[0];
    assert!(dprofile_pipeline::webhooks::verify_signature(
        &created.secret,
        &hook.signature,
        &hook.body,
        harness.clock.now(),
        Duration::days(30),
    ));
    assert!(!dprofile_pipeline::webhooks::verify_signature(
        "whsec_other",
        &hook.signature,
        &hook.body,
        harness.clock.now(),
        Duration::days(30),
    ));
}

fn a_permanently_failing_receiver_ends_in_the_dead_letter_list_and_replay_delivers(
    harness: Harness,
) {
    let receiver = Receiver::start();
    let created = subscribe(
        &harness,
        "mvd-migration",
        "migration_officer",
        "stay_control",
        &[],
        Some(&receiver.url),
    )
    .unwrap();
    let id = created.subscription.id;
    let worker = webhook_worker(
        &harness,
        dprofile_pipeline::webhooks::WebhookConfig {
            max_attempts: 3,
            ..Default::default()
        },
    );
    receiver.set_up(false);
    harness.ingest(&migration_batch(2, 1));
    let total = harness.store().events_head().unwrap() as usize;
    for _ in 0..40 {
        harness.clock.advance(Duration::hours(2));
        worker.run_once(&created.subscription).unwrap();
    }
    let dead = harness
        .store()
        .deliveries(id, dprofile_store::DeliveryFilter::Dead, 100)
        .unwrap();
    assert_eq!(dead.len(), total, "every event parked");
    assert!(dead.iter().all(|delivery| delivery.attempts == 3));
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("the receiver answered 503")
    );
    receiver.set_up(true);
    worker.run_once(&created.subscription).unwrap();
    assert!(
        receiver.hooks().is_empty(),
        "parked deliveries wait for a replay"
    );
    assert_eq!(
        dprofile_pipeline::webhooks::replay(harness.store(), id, None, harness.clock.now())
            .unwrap(),
        total as u64
    );
    worker.run_once(&created.subscription).unwrap();
    assert_eq!(receiver.hooks().len(), total);
    assert!(
        harness
            .store()
            .deliveries(id, dprofile_store::DeliveryFilter::Dead, 100)
            .unwrap()
            .is_empty()
    );
}

fn a_subscriber_without_the_right_to_a_category_receives_nothing_about_it(harness: Harness) {
    // Creating one that names a category the role may not read is refused, naming it.
    match subscribe(
        &harness,
        "fns",
        "tax_inspector",
        "tax_administration",
        &["tax_debt", "entry_ban"],
        None,
    ) {
        Err(dprofile_pipeline::subscriptions::SubscriptionError::Refused {
            pointer,
            code,
            message,
        }) => {
            assert_eq!(
                (pointer.as_str(), code),
                ("/categories/1", "policy.category_not_granted")
            );
            assert!(message.contains("entry_ban"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let receiver = Receiver::start();
    let created = subscribe(
        &harness,
        "fns",
        "tax_inspector",
        "tax_administration",
        &[],
        Some(&receiver.url),
    )
    .unwrap();
    let worker = webhook_worker(&harness, Default::default());
    let person_subject = subject("Abdullaev", "1991-07-14", Some("FA1234567"), None);
    harness.ingest(&[
        tax("t-1", 1, person_subject.clone(), -10.0),
        json!({"source": "mvd-migration", "source_ref": "ban-1", "category": "entry_ban",
               "subject": person_subject,
               "data": {"basis": "115-FZ art. 27", "authority": "MVD", "decided_on": "2026-01-10",
                        "banned_from": "2026-01-10", "banned_until": "2031-01-10"}})
        .to_string(),
    ]);
    let ban_events: Vec<_> = harness
        .store()
        .events_after(0, 100)
        .unwrap()
        .into_iter()
        .filter(|event| event.categories.contains(&"entry_ban".to_owned()))
        .collect();
    assert!(
        ban_events.len() >= 2,
        "the ban and its status were announced: {ban_events:?}"
    );
    while !worker.run_once(&created.subscription).unwrap().idle() {}
    let hooks = receiver.hooks();
    assert!(
        hooks
            .iter()
            .any(|hook| hook.event()["type"] == "record.accepted")
    );
    for hook in &hooks {
        let text = String::from_utf8_lossy(&hook.body);
        assert!(!text.contains("entry_ban"), "{text}");
    }
    // The pull feed decides the same way.
    let subscription = harness
        .store()
        .subscription(created.subscription.id)
        .unwrap()
        .unwrap();
    let policy = dprofile_policy::Policy::default_policy();
    let matcher = dprofile_pipeline::subscriptions::Matcher::new(&policy, &subscription);
    let page =
        dprofile_pipeline::subscriptions::read_feed(harness.store(), &matcher, 0, 100, 10_000)
            .unwrap();
    assert_eq!(page.events.len(), hooks.len());
    assert!(
        page.events
            .iter()
            .all(|event| !event.categories.contains(&"entry_ban".to_owned()))
    );
    // Every delivery is in the access log: which agency received which person's event.
    let rows = harness.store().access_rows(0, 100).unwrap();
    let delivered: Vec<_> = rows
        .iter()
        .filter_map(|row| row.entry())
        .filter(|entry| entry.action == dprofile_audit::AccessAction::Deliver)
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].agency, "fns");
    assert!(!delivered[0].categories.contains(&"entry_ban".to_owned()));
}
