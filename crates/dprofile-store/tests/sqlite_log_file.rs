//! The SQLite store keeps its access log in a file of its own (`dprofile-access-log.sqlite3`
//! beside `dprofile.sqlite3`): what that must and must not change.

use chrono::Utc;
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome, CompactRange};
use dprofile_store::{AccessAppend, DATABASE_FILE, SqliteStore, Store, access_log_path};
use rusqlite::Connection;

fn read(person: i64, salt: u8) -> AccessAppend {
    let at = Utc::now();
    AccessAppend {
        entry: AccessEntry {
            at,
            actor: "key:1".into(),
            agency: "mvd".into(),
            role: "migration_officer".into(),
            purpose: "stay_control".into(),
            case_ref: Some("case-1".into()),
            action: AccessAction::Read,
            person: Some(person),
            categories: vec!["visa".into()],
            outcome: AccessOutcome::Allowed,
        },
        salt: [salt; 32],
        disclosed_at: at,
    }
}

/// A write to the main file and, in the same transaction, the entries that log it — as an
/// ingest chunk does.
fn logged_write(store: &SqliteStore, name: &str, entries: &[AccessAppend]) {
    store
        .write(&mut |tx| {
            tx.insert_api_key(&dprofile_store::NewApiKey {
                name,
                agency: "mvd",
                role: "migration_officer",
                token_hash: name.as_bytes(),
                created_at: Utc::now(),
            })?;
            dprofile_store::access_log::append_access(tx, entries)?;
            Ok(())
        })
        .unwrap();
}

fn main_data_version(connection: &Connection) -> i64 {
    connection
        .query_row("PRAGMA main.data_version", [], |row| row.get(0))
        .unwrap()
}

fn positions(store: &SqliteStore) -> Vec<u64> {
    store
        .access_rows(0, 100)
        .unwrap()
        .iter()
        .map(|row| row.position)
        .collect()
}

/// Recomputes the tree from the stored rows and checks it against the stored head.
fn assert_log_consistent(store: &SqliteStore) {
    let rows = store.access_rows(0, 100).unwrap();
    let mut recomputed = CompactRange::new();
    for (index, row) in rows.iter().enumerate() {
        assert_eq!(row.position, index as u64, "positions run without gaps");
        let log_row = row.to_log_row();
        let leaf = log_row.leaf_input.as_ref().unwrap().hash();
        assert_eq!(recomputed.append(leaf), log_row.stored_hashes);
    }
    let head = CompactRange::decode(&store.access_head().unwrap().unwrap()).unwrap();
    assert_eq!(head.size(), rows.len() as u64);
    assert_eq!(head.root(), recomputed.root());
}

#[test]
fn logging_a_read_leaves_the_main_file_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    assert!(access_log_path(&dir.path().join(DATABASE_FILE)).exists());
    // Another connection on the main file, as a reader is: `data_version` changes when another
    // connection committed to that file, which is what makes a reader drop its page cache.
    let reader = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    let before = main_data_version(&reader);
    store.append_access(&[read(1, 1)]).unwrap();
    store.append_access(&[read(2, 2), read(3, 3)]).unwrap();
    assert_eq!(main_data_version(&reader), before, "log-only appends");
    assert_eq!(positions(&store), vec![0, 1, 2]);

    logged_write(&store, "a", &[read(1, 4)]);
    assert_ne!(
        main_data_version(&reader),
        before,
        "a write changes the main file"
    );
    assert_eq!(positions(&store), vec![0, 1, 2, 3]);
    assert_log_consistent(&store);
}

#[test]
fn entries_whose_log_commit_was_lost_are_appended_again_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let main_file = dir.path().join(DATABASE_FILE);
    let head_before_write;
    {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        store.append_access(&[read(1, 1), read(2, 2)]).unwrap();
        head_before_write = store.access_head().unwrap().unwrap();
        // The data and its two entries; the process then stops.
        logged_write(&store, "a", &[read(1, 3), read(2, 4)]);
    }
    // As if the stop had come between the two files' commits: the main file has the write,
    // the log file does not have its entries.
    {
        let log = Connection::open(access_log_path(&main_file)).unwrap();
        log.execute("DELETE FROM access_log WHERE position >= 2", [])
            .unwrap();
        log.execute(
            "UPDATE access_log_head SET size = 2, range = ?1",
            [&head_before_write],
        )
        .unwrap();
    }
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    assert_eq!(positions(&store), vec![0, 1, 2, 3]);
    let persons: Vec<Option<i64>> = store
        .access_rows(2, 2)
        .unwrap()
        .iter()
        .map(|row| row.person)
        .collect();
    assert_eq!(persons, vec![Some(1), Some(2)]);
    assert_log_consistent(&store);
    // And the log goes on from there.
    assert_eq!(store.append_access(&[read(3, 5)]).unwrap(), vec![4]);
    assert_log_consistent(&store);
}

#[test]
fn a_log_that_disagrees_with_the_store_stops_the_next_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let main_file = dir.path().join(DATABASE_FILE);
    {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        logged_write(&store, "a", &[read(1, 1)]);
    }
    {
        let log = Connection::open(access_log_path(&main_file)).unwrap();
        log.execute(
            "UPDATE access_log SET hashes = zeroblob(32) WHERE position = 0",
            [],
        )
        .unwrap();
    }
    let error = SqliteStore::open_dir(dir.path()).err().expect("refused");
    assert!(
        error.to_string().contains("disagree about entry 0"),
        "{error}"
    );
}

#[test]
fn a_store_without_its_log_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let main_file = dir.path().join(DATABASE_FILE);
    {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        store.append_access(&[read(1, 1)]).unwrap();
    }
    let log_file = access_log_path(&main_file);
    std::fs::remove_file(&log_file).unwrap();
    let error = SqliteStore::open_dir(dir.path()).err().expect("refused");
    let message = error.to_string();
    assert!(message.contains("dprofile-access-log.sqlite3"), "{message}");
    assert!(message.contains("restore it"), "{message}");
}

#[test]
fn a_store_from_before_the_log_file_moves_its_log_there() {
    let dir = tempfile::tempdir().unwrap();
    let main_file = dir.path().join(DATABASE_FILE);
    let head;
    {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        store.append_access(&[read(1, 1), read(2, 2)]).unwrap();
        store
            .write(&mut |tx| tx.insert_access_checkpoint(2, "note\n", Utc::now()))
            .unwrap();
        head = store.access_head().unwrap().unwrap();
    }
    // Put the store back as migration 11 left it: the log's tables in the main file.
    {
        let main = Connection::open(&main_file).unwrap();
        main.execute(
            "ATTACH DATABASE ?1 AS log",
            [access_log_path(&main_file).to_str().unwrap()],
        )
        .unwrap();
        main.execute_batch(&format!(
            "BEGIN;
             {}
             INSERT INTO main.access_log SELECT * FROM log.access_log;
             INSERT INTO main.access_log_head SELECT * FROM log.access_log_head;
             INSERT INTO main.access_checkpoints SELECT * FROM log.access_checkpoints;
             DROP TABLE main.access_log_pending;
             DELETE FROM schema_migrations WHERE version = 12;
             COMMIT;
             DETACH DATABASE log;",
            include_str!("../migrations/sqlite/0003_access_log.sql")
                .replace("CREATE TABLE ", "CREATE TABLE main.")
                .replace("CREATE INDEX ", "CREATE INDEX main.")
        ))
        .unwrap();
    }
    std::fs::remove_file(access_log_path(&main_file)).unwrap();

    let store = SqliteStore::open_dir(dir.path()).unwrap();
    assert_eq!(positions(&store), vec![0, 1]);
    assert_eq!(store.access_head().unwrap().unwrap(), head);
    assert_eq!(
        store.access_checkpoints().unwrap(),
        vec![(2, "note\n".to_owned())]
    );
    let main = Connection::open(&main_file).unwrap();
    let left: i64 = main
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('access_log', 'access_log_head', 'access_checkpoints')",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "the main file no longer holds the log");
    assert_eq!(store.append_access(&[read(3, 3)]).unwrap(), vec![2]);
    assert_log_consistent(&store);
}
