//! The person's view of their access log: who looked, with proofs that check offline against
//! the published key, and law-enforcement reads that appear only after their delay (never
//! later), on both stores.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome, LogKey, TrustedLogKeys};
use dprofile_pipeline::access_log::{AccessLog, AccessRecord, DEFAULT_ORIGIN};
use dprofile_store::testing::TestStore;

fn read(person: i64, role: &str, agency: &str, purpose: &str, minutes: i64) -> AccessEntry {
    AccessEntry {
        at: Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap() + Duration::minutes(minutes),
        actor: format!("{role}:1"),
        agency: agency.into(),
        role: role.into(),
        purpose: purpose.into(),
        case_ref: Some(format!("case-{minutes}")),
        action: AccessAction::Read,
        person: Some(person),
        categories: vec!["stay_document".into()],
        outcome: AccessOutcome::Allowed,
    }
}

fn the_person_sees_every_access_with_offline_proofs(test_store: TestStore) {
    let key = LogKey::from_seed(DEFAULT_ORIGIN, [11; 32]).unwrap();
    let published = TrustedLogKeys::new([key.verifier_key()]).unwrap();
    let log = AccessLog::new(Arc::clone(&test_store.store), key);
    let at_once = Duration::zero();
    let delay = Duration::days(90);
    let records = vec![
        AccessRecord {
            entry: read(7, "migration_officer", "mvd-migration", "stay_control", 0),
            disclosure_delay: at_once,
        },
        AccessRecord {
            entry: read(8, "tax_inspector", "fns", "tax_administration", 1),
            disclosure_delay: at_once,
        },
        AccessRecord {
            entry: read(7, "police_officer", "mvd-offences", "law_enforcement", 2),
            disclosure_delay: delay,
        },
        AccessRecord {
            entry: read(7, "tax_inspector", "fns", "tax_administration", 3),
            disclosure_delay: at_once,
        },
    ];
    log.record(&records).unwrap();
    let the_day = Utc.with_ymd_and_hms(2026, 6, 2, 0, 0, 0).unwrap();

    let purposes = |view: &[dprofile_audit::ProvenEntry]| -> Vec<String> {
        view.iter()
            .map(|proven| {
                // Offline: only the published key, nothing from the server's store.
                let (entry, _) = proven.verify(DEFAULT_ORIGIN, &published).unwrap();
                assert_eq!(entry.person, Some(7), "only the person's own entries");
                entry.purpose
            })
            .collect()
    };
    let now = log.person_view(7, the_day).unwrap();
    assert_eq!(purposes(&now), vec!["stay_control", "tax_administration"]);

    // The delayed read appears once its delay has passed, and not a moment later.
    let before = log
        .person_view(7, records[2].entry.at + delay - Duration::seconds(1))
        .unwrap();
    assert_eq!(before.len(), 2);
    let after = log.person_view(7, records[2].entry.at + delay).unwrap();
    assert_eq!(
        purposes(&after),
        vec!["stay_control", "law_enforcement", "tax_administration"]
    );

    // Proofs from an older checkpoint still verify after the log grows.
    log.record(&[AccessRecord {
        entry: read(9, "education_officer", "minobr", "education", 4),
        disclosure_delay: at_once,
    }])
    .unwrap();
    assert_eq!(purposes(&now), vec!["stay_control", "tax_administration"]);
    let grown = log.person_view(7, the_day + delay).unwrap();
    assert_eq!(grown.len(), 3);

    // A forged entry does not verify.
    let mut forged = grown[0].clone();
    forged.canonical = forged.canonical.replace("stay_control", "street_check");
    assert!(forged.verify(DEFAULT_ORIGIN, &published).is_err());
    assert!(log.person_view(8, the_day).unwrap().len() == 1);
    assert!(log.person_view(99, the_day).unwrap().is_empty());
}

#[test]
fn person_view_on_sqlite() {
    the_person_sees_every_access_with_offline_proofs(TestStore::sqlite());
}

#[test]
fn person_view_on_postgres() {
    if let Some(test_store) = TestStore::postgres() {
        the_person_sees_every_access_with_offline_proofs(test_store);
    }
}
