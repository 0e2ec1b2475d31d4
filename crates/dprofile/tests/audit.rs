//! `dprofile audit verify` against real stores that were tampered with by hand, as an insider
//! with database access would: edited, deleted and swapped entries, a rewritten checkpoint.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome};
use dprofile_pipeline::access_log::{self, AccessLog, AccessRecord, DEFAULT_ORIGIN};
use dprofile_store::testing::TestStore;

fn entry(number: u32) -> AccessEntry {
    AccessEntry {
        at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::seconds(number.into()),
        actor: format!("officer:{}", number % 3),
        agency: "mvd-migration".into(),
        role: "migration_officer".into(),
        purpose: "stay_check".into(),
        case_ref: Some(format!("case-{number}")),
        action: AccessAction::Read,
        person: Some(i64::from(number % 4) + 1),
        categories: vec!["visa".into(), "stay_document".into()],
        outcome: AccessOutcome::Allowed,
    }
}

/// A log of 40 entries with checkpoints signed after 10, 25 and 40.
fn build_log(test_store: &TestStore, key_file: &Path) {
    let key = access_log::load_or_create_key(key_file, DEFAULT_ORIGIN).unwrap();
    let log = AccessLog::new(Arc::clone(&test_store.store), key);
    let mut number = 0;
    for batch in [10, 15, 15] {
        let records: Vec<AccessRecord> = (0..batch)
            .map(|_| {
                number += 1;
                AccessRecord {
                    entry: entry(number - 1),
                    disclosure_delay: Duration::zero(),
                }
            })
            .collect();
        log.record(&records).unwrap();
        log.checkpoint(Utc::now()).unwrap();
    }
}

fn verify(test_store: &TestStore, key_file: &Path) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dprofile"));
    match (&test_store.database_url, &test_store.data_dir) {
        (Some(url), _) => command.args(["--database-url", url]),
        (None, Some(dir)) => command.args(["--data-dir", &dir.display().to_string()]),
        (None, None) => unreachable!("a test store is a directory or a database"),
    };
    let output: Output = command
        .args([
            "audit",
            "verify",
            "--key-file",
            &key_file.display().to_string(),
        ])
        .env_remove("DATABASE_URL")
        .env("DPROFILE_LOG", "warn")
        .output()
        .expect("run dprofile");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// Runs SQL on the test store directly, bypassing dprofile.
fn tamper(test_store: &TestStore, sqlite: &str, postgres: &str) {
    match (&test_store.database_url, &test_store.data_dir) {
        (Some(url), _) => {
            let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
            client.batch_execute(postgres).unwrap();
        }
        (None, Some(dir)) => {
            // The log is in a file of its own, which the store attaches as `log`.
            let main_file = dir.join(dprofile_store::DATABASE_FILE);
            let log_file = dprofile_store::access_log_path(&main_file);
            let connection = rusqlite::Connection::open(log_file).unwrap();
            connection.execute_batch(sqlite).unwrap();
        }
        (None, None) => unreachable!("a test store is a directory or a database"),
    }
}

struct Case {
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    expected: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "edited entry",
        sqlite: "UPDATE access_log SET details = CAST(replace(CAST(details AS TEXT), 'stay_check', 'curiosity') AS BLOB) WHERE position = 17",
        postgres: "UPDATE access_log SET details = convert_to(replace(convert_from(details, 'UTF8'), 'stay_check', 'curiosity'), 'UTF8') WHERE position = 17",
        expected: "entry 17: edited",
    },
    Case {
        name: "deleted entry",
        sqlite: "DELETE FROM access_log WHERE position = 12",
        postgres: "DELETE FROM access_log WHERE position = 12",
        expected: "entry 12: missing",
    },
    Case {
        name: "two swapped entries",
        sqlite: "UPDATE access_log SET position = -1 WHERE position = 5;
                 UPDATE access_log SET position = 5 WHERE position = 6;
                 UPDATE access_log SET position = 6 WHERE position = -1;",
        postgres: "UPDATE access_log SET position = -1 WHERE position = 5;
                   UPDATE access_log SET position = 5 WHERE position = 6;
                   UPDATE access_log SET position = 6 WHERE position = -1;",
        expected: "entry 5: moved (it was written as entry 6)",
    },
    Case {
        name: "details removed by hand",
        sqlite: "UPDATE access_log SET details = NULL, salt = NULL WHERE position = 21",
        postgres: "UPDATE access_log SET details = NULL, salt = NULL WHERE position = 21",
        expected: "entry 21: details removed, and no retention record names it as erased",
    },
    Case {
        name: "rewritten checkpoint",
        sqlite: "UPDATE access_checkpoints SET note = replace(note, char(10) || '25' || char(10), char(10) || '24' || char(10)) WHERE size = 25",
        postgres: "UPDATE access_checkpoints SET note = replace(note, E'\\n25\\n', E'\\n24\\n') WHERE size = 25",
        expected: "checkpoint #1: signature does not verify (rewritten)",
    },
];

/// With `after_retention`, the details of every entry about person 1 (positions 0, 4, 8, …)
/// are erased first, as retention does a year after that person's data went (with its record
/// of the erasure appended as entry 40, after the last checkpoint).
fn untouched_passes_and_each_tampering_is_named(
    make_store: fn() -> Option<TestStore>,
    after_retention: bool,
) {
    for case in CASES {
        let Some(test_store) = make_store() else {
            return;
        };
        let keys = tempfile::tempdir().unwrap();
        let key_file = keys.path().join("access-log.key");
        build_log(&test_store, &key_file);
        if after_retention {
            test_store
                .store
                .write(&mut |tx| {
                    let erased =
                        dprofile_pipeline::retention::erase_access_details(tx, &[1], Utc::now())?;
                    assert_eq!(erased, 10);
                    Ok(())
                })
                .unwrap();
        }
        let (intact, text) = verify(&test_store, &key_file);
        assert!(intact, "{}: untouched log must verify:\n{text}", case.name);
        let entries = if after_retention { 41 } else { 40 };
        assert!(
            text.contains(&format!(
                "{entries} entries, 3 checkpoints, verified up to size 40"
            )),
            "{text}"
        );

        tamper(&test_store, case.sqlite, case.postgres);
        let (intact, text) = verify(&test_store, &key_file);
        assert!(
            !intact,
            "{}: tampering must fail verification:\n{text}",
            case.name
        );
        assert!(
            text.contains(case.expected),
            "{}: expected `{}` in:\n{text}",
            case.name,
            case.expected
        );
    }
}

#[test]
fn audit_verify_on_sqlite() {
    untouched_passes_and_each_tampering_is_named(|| Some(TestStore::sqlite()), false);
}

#[test]
fn audit_verify_after_retention_on_sqlite() {
    untouched_passes_and_each_tampering_is_named(|| Some(TestStore::sqlite()), true);
}

#[test]
fn audit_verify_after_retention_on_postgres() {
    untouched_passes_and_each_tampering_is_named(TestStore::postgres, true);
}

#[test]
fn audit_verify_on_postgres() {
    untouched_passes_and_each_tampering_is_named(TestStore::postgres, false);
}

#[test]
fn a_key_from_elsewhere_does_not_vouch_for_the_log() {
    let test_store = TestStore::sqlite();
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("access-log.key");
    build_log(&test_store, &key_file);
    let other = keys.path().join("other.key");
    let (intact, text) = verify(&test_store, &other);
    assert!(!intact, "{text}");
    assert!(text.contains("signed by no trusted key"), "{text}");
}
