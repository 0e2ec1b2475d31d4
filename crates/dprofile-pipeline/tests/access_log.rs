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

/// Many requests at once, one entry each, as the API appends them: every caller gets its own
/// position, the positions are exactly 0..n, each entry sits at the position its caller was
/// told, and the whole log verifies against a checkpoint.
fn concurrent_single_entry_appends_are_grouped_and_verify(test_store: TestStore) {
    const CALLERS: u64 = 64;
    const EACH: u64 = 40;
    let key = LogKey::from_seed(DEFAULT_ORIGIN, [12; 32]).unwrap();
    let verifier_key = key.verifier_key().to_owned();
    let log = Arc::new(AccessLog::new(Arc::clone(&test_store.store), key));
    let told: Vec<(u64, u64, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CALLERS)
            .map(|caller| {
                let log = Arc::clone(&log);
                scope.spawn(move || {
                    (0..EACH)
                        .map(|number| {
                            let mut entry = read(
                                caller as i64,
                                "migration_officer",
                                "mvd-migration",
                                "stay_control",
                                0,
                            );
                            entry.case_ref = Some(format!("case-{caller}-{number}"));
                            let positions = log
                                .record(&[AccessRecord {
                                    entry,
                                    disclosure_delay: Duration::zero(),
                                }])
                                .unwrap();
                            assert_eq!(positions.len(), 1);
                            (caller, number, positions[0])
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect()
    });
    let total = CALLERS * EACH;
    let mut positions: Vec<u64> = told.iter().map(|(_, _, position)| *position).collect();
    positions.sort_unstable();
    assert_eq!(
        positions,
        (0..total).collect::<Vec<_>>(),
        "unique and gapless"
    );

    let rows = test_store.store.access_rows(0, total as usize + 1).unwrap();
    assert_eq!(rows.len() as u64, total);
    for (caller, number, position) in &told {
        let entry = rows[*position as usize].entry().unwrap();
        assert_eq!(entry.person, Some(*caller as i64));
        assert_eq!(
            entry.case_ref.as_deref(),
            Some(format!("case-{caller}-{number}").as_str())
        );
    }

    let stats = log.group_commit_stats();
    assert_eq!(stats.entries, total);
    assert_eq!(stats.failed_batches, 0);
    assert!(stats.batches >= 1 && stats.batches <= total);
    assert_eq!(stats.size_buckets.iter().sum::<u64>(), stats.batches);
    eprintln!(
        "{total} entries in {} transactions (mean {:.1}, largest {})",
        stats.batches,
        stats.mean_batch(),
        stats.largest_batch
    );

    log.checkpoint(Utc::now()).unwrap();
    let report =
        dprofile_pipeline::access_log::verify_store(test_store.store.as_ref(), &[verifier_key])
            .unwrap();
    assert!(report.is_intact(), "{report:?}");
}

#[test]
fn concurrent_appends_on_sqlite() {
    concurrent_single_entry_appends_are_grouped_and_verify(TestStore::sqlite());
}

#[test]
fn concurrent_appends_on_postgres() {
    if let Some(test_store) = TestStore::postgres() {
        concurrent_single_entry_appends_are_grouped_and_verify(test_store);
    }
}

/// A batch whose transaction fails fails every caller in it, and nothing of it is stored: no
/// caller may go on as if its entry were logged.
fn a_failed_batch_fails_every_caller(test_store: TestStore) {
    let key = LogKey::from_seed(DEFAULT_ORIGIN, [13; 32]).unwrap();
    let log = Arc::new(AccessLog::new(Arc::clone(&test_store.store), key));
    let entry = |person| AccessRecord {
        entry: read(
            person,
            "migration_officer",
            "mvd-migration",
            "stay_control",
            0,
        ),
        disclosure_delay: Duration::zero(),
    };
    log.record(&[entry(1)]).unwrap();
    // A head that does not decode: every transaction that appends now fails.
    test_store
        .store
        .write(&mut |tx| tx.set_access_head(1, b"not a range"))
        .unwrap();
    let failures = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|person| {
                let log = Arc::clone(&log);
                scope.spawn(move || log.record(&[entry(person)]))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .filter(|result| {
                matches!(
                    result,
                    Err(dprofile_pipeline::access_log::AccessLogError::GroupCommit(
                        dprofile_pipeline::group_commit::GroupCommitError::BatchFailed(_)
                    ))
                )
            })
            .count()
    });
    assert_eq!(failures, 16, "every caller is told its entry is not logged");
    assert_eq!(test_store.store.access_rows(0, 100).unwrap().len(), 1);
    let stats = log.group_commit_stats();
    assert_eq!(stats.entries, 1);
    assert!(stats.failed_batches >= 1);
}

#[test]
fn failed_batch_on_sqlite() {
    a_failed_batch_fails_every_caller(TestStore::sqlite());
}

#[test]
fn failed_batch_on_postgres() {
    if let Some(test_store) = TestStore::postgres() {
        a_failed_batch_fails_every_caller(test_store);
    }
}

/// Callers appending several entries each, more between them than one transaction may carry:
/// the leader takes queued callers whole up to the bound and leaves the rest to the next, so
/// each caller's entries are adjacent, in its order, and the positions are exactly 0..n.
fn several_entries_per_caller_stay_adjacent_across_bounded_batches(test_store: TestStore) {
    use dprofile_pipeline::group_commit::GroupCommitter;
    use dprofile_store::AccessAppend;
    const CALLERS: i64 = 16;
    const CALLS: i64 = 20;
    const ENTRIES: i64 = 3;
    // Room for at most two callers' entries per transaction.
    let committer = GroupCommitter::new(Arc::clone(&test_store.store), 7);
    let told: Vec<(i64, Vec<u64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CALLERS)
            .map(|caller| {
                let committer = &committer;
                scope.spawn(move || {
                    (0..CALLS)
                        .map(|_| {
                            let appends: Vec<AccessAppend> = (0..ENTRIES)
                                .map(|minute| {
                                    let entry = read(
                                        caller,
                                        "migration_officer",
                                        "mvd-migration",
                                        "stay_control",
                                        minute,
                                    );
                                    AccessAppend {
                                        disclosed_at: entry.at,
                                        entry,
                                        salt: [5; dprofile_audit::SALT_LEN],
                                    }
                                })
                                .collect();
                            (caller, committer.append(appends).unwrap())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect()
    });
    let total = (CALLERS * CALLS * ENTRIES) as u64;
    let rows = test_store.store.access_rows(0, total as usize + 1).unwrap();
    assert_eq!(rows.len() as u64, total, "every entry is stored once");
    let mut positions: Vec<u64> = Vec::new();
    for (caller, own) in &told {
        assert_eq!(own.len(), ENTRIES as usize);
        assert!(
            own.windows(2).all(|pair| pair[1] == pair[0] + 1),
            "a caller's entries are adjacent: {own:?}"
        );
        for (minute, position) in own.iter().enumerate() {
            let entry = rows[*position as usize].entry().unwrap();
            assert_eq!(entry.person, Some(*caller));
            assert_eq!(entry.case_ref, Some(format!("case-{minute}")), "in order");
        }
        positions.extend(own);
    }
    positions.sort_unstable();
    assert_eq!(
        positions,
        (0..total).collect::<Vec<_>>(),
        "unique and gapless"
    );
    let stats = committer.stats();
    assert_eq!(stats.entries, total);
    assert!(stats.largest_batch <= 7, "bounded: {stats:?}");
}

#[test]
fn bounded_batches_on_sqlite() {
    several_entries_per_caller_stay_adjacent_across_bounded_batches(TestStore::sqlite());
}

#[test]
fn bounded_batches_on_postgres() {
    if let Some(test_store) = TestStore::postgres() {
        several_entries_per_caller_stay_adjacent_across_bounded_batches(test_store);
    }
}

/// A lone caller appending in a loop commits each append at once, alone: it never waits for
/// others, and nothing is held back for a batch that will not come.
#[test]
fn a_lone_caller_commits_each_append_alone() {
    let test_store = TestStore::sqlite();
    let key = LogKey::from_seed(DEFAULT_ORIGIN, [14; 32]).unwrap();
    let log = AccessLog::new(Arc::clone(&test_store.store), key);
    for number in 0..50u64 {
        let positions = log
            .record(&[AccessRecord {
                entry: read(1, "migration_officer", "mvd-migration", "stay_control", 0),
                disclosure_delay: Duration::zero(),
            }])
            .unwrap();
        assert_eq!(positions, vec![number]);
        // Committed when `record` returns: a reader sees it.
        assert_eq!(
            test_store.store.access_rows(number, 2).unwrap().len(),
            1,
            "entry {number} is readable once its append returned"
        );
    }
    let stats = log.group_commit_stats();
    assert_eq!((stats.batches, stats.entries), (50, 50));
    assert_eq!(
        stats.size_buckets[0], 50,
        "every transaction carried one entry"
    );
}
