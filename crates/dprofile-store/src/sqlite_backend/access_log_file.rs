//! The access log in a SQLite file of its own, attached to every connection as `log`.
//!
//! Why a second file: in WAL mode a reader connection drops its *whole* page cache whenever
//! another connection committed to the database since its last read. With the log in the main
//! file, every logged profile read (a commit of one entry) emptied the caches of every reader,
//! and the next reads copied their pages from the file again — about half of what logging
//! added to a read (6.2 GB read by the server for 21,000 logged reads, against 0.3 GB
//! unlogged). Appends to the log's own file leave the main file's WAL untouched, so readers
//! keep their caches. Queries name the log's tables without a schema: `main` has none of them,
//! so SQLite finds them in `log`.
//!
//! What the second file costs: a transaction that writes both files (an ingest chunk and the
//! entries of its writes, a retention erasure and its tombstones) is atomic in each file but
//! not across them (SQLite's rule for attached databases in WAL mode). It commits `main` first,
//! so a crash between the two commits would leave data written without its log entries. To
//! close that gap, such a transaction also keeps a copy of the entries it appends in
//! `main.access_log_pending`, which commits with the data; [`reconcile`] runs at the start of
//! every transaction (and on opening): the pending copies are either in the log already (and
//! are dropped) or are appended again from the copy. A log-only transaction (the group commit
//! of reads, [`super::SqliteStore`]'s `append_access`) keeps no copy and writes nothing to
//! `main`.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::{AccessRowWrite, StoreError, StoreResult};

/// The log file of the store at `path`: `dprofile.sqlite3` → `dprofile-access-log.sqlite3`,
/// beside it. The two files are one store: back them up and restore them together.
pub fn log_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(extension) => format!("{stem}-access-log.{}", extension.to_string_lossy()),
        None => format!("{stem}-access-log"),
    };
    path.with_file_name(name)
}

/// Attaches the log file (created if missing) as `log`. 4 KiB pages for a new file: an append
/// writes the last leaf of the log, of its person index and the head, and smaller pages make
/// that commit a quarter of the main file's 16 KiB pages.
pub(super) fn attach(connection: &Connection, path: &Path) -> StoreResult<()> {
    let log = log_path(path);
    let name = log.to_str().ok_or_else(|| {
        StoreError::Open(format!(
            "the access log's path {} is not valid UTF-8",
            log.display()
        ))
    })?;
    connection.execute("ATTACH DATABASE ?1 AS log", [name])?;
    connection.pragma_update(Some("log"), "page_size", 4096)?;
    connection.pragma_update(Some("log"), "journal_mode", "WAL")?;
    connection.pragma_update(Some("log"), "synchronous", "NORMAL")?;
    Ok(())
}

/// Migration 12, the part in the log file: the log's tables there, with every row the main
/// file holds. A transaction of the log file alone, and repeatable: if the process stops
/// before migration 12's own transaction drops the old tables, the next start copies again.
pub(super) fn copy_into_log_file(connection: &Connection) -> StoreResult<()> {
    let transaction = connection.unchecked_transaction()?;
    // The tables as migration 3 made them in the main file, made again in the log file.
    transaction.execute_batch(
        &include_str!("../../migrations/sqlite/0003_access_log.sql")
            .replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS log.")
            .replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS log."),
    )?;
    transaction.execute_batch(
        "INSERT OR IGNORE INTO log.access_log
             SELECT position, person, at, disclosed_at, salt, details, hashes FROM main.access_log;
         INSERT OR REPLACE INTO log.access_log_head SELECT id, size, range FROM main.access_log_head;
         INSERT OR IGNORE INTO log.access_checkpoints
             SELECT size, note, signed_at FROM main.access_checkpoints;",
    )?;
    transaction.commit()?;
    Ok(())
}

/// Refuses a store whose log file is missing (a main file copied or restored without it):
/// opening it would start an empty log beside data that was logged.
pub(super) fn check_present(connection: &Connection, path: &Path) -> StoreResult<()> {
    let tables: i64 = connection.query_row(
        "SELECT count(*) FROM log.sqlite_master WHERE type = 'table' AND name = 'access_log'",
        [],
        |row| row.get(0),
    )?;
    if tables == 0 {
        return Err(StoreError::Open(format!(
            "the access log file {} is missing or empty, but the store {} keeps its log there: \
             restore it from the same backup as the store (the two files are one store)",
            log_path(path).display(),
            path.display()
        )));
    }
    Ok(())
}

/// Inserts `rows` into `table`: the log's `access_log`, or `main.access_log_pending` for the
/// copy a transaction that writes both files keeps with its data.
pub(super) fn insert_rows(
    connection: &Connection,
    table: &str,
    rows: &[AccessRowWrite],
) -> StoreResult<()> {
    let mut statement = connection.prepare_cached(&format!(
        "INSERT INTO {table} (position, person, at, disclosed_at, salt, details, hashes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    ))?;
    for row in rows {
        statement.execute(params![
            row.position,
            row.person,
            super::micros(row.at),
            super::micros(row.disclosed_at),
            row.salt,
            row.details,
            row.hashes
        ])?;
    }
    Ok(())
}

/// Keeps the log's head after the pending rows, on the last of them (`size` − 1).
pub(super) fn keep_pending_head(
    connection: &Connection,
    size: i64,
    range: &[u8],
) -> StoreResult<()> {
    connection
        .prepare_cached("UPDATE main.access_log_pending SET head = ?2 WHERE position = ?1")?
        .execute(params![size - 1, range])?;
    Ok(())
}

/// Runs inside the writer's transaction before its work: the entries a transaction that wrote
/// both files kept in `main` are in the log (dropped) or are appended to it again (the log's
/// commit was lost). Nothing to do, and one indexed look-up, when no copy is waiting.
pub(super) fn reconcile(connection: &Connection) -> StoreResult<()> {
    let last: Option<(i64, Vec<u8>, Option<Vec<u8>>)> = connection
        .prepare_cached(
            "SELECT position, hashes, head FROM main.access_log_pending ORDER BY position DESC LIMIT 1",
        )?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let Some((last, hashes, head)) = last else {
        return Ok(());
    };
    let size: i64 = connection
        .prepare_cached("SELECT size FROM log.access_log_head WHERE id = 1")?
        .query_row([], |row| row.get(0))
        .optional()?
        .unwrap_or(0);
    if last < size {
        let logged: Option<Vec<u8>> = connection
            .prepare_cached("SELECT hashes FROM log.access_log WHERE position = ?1")?
            .query_row([last], |row| row.get(0))
            .optional()?;
        if logged.as_deref() != Some(hashes.as_slice()) {
            return Err(StoreError::Corrupt(format!(
                "the access log file and the store disagree about entry {last}: the store kept \
                 it for the log, the log holds another or none; run `dprofile audit verify` and \
                 restore both files from the same backup"
            )));
        }
    } else {
        let first: i64 = connection.query_row(
            "SELECT min(position) FROM main.access_log_pending WHERE position >= ?1",
            [size],
            |row| row.get(0),
        )?;
        let head = head.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "the store kept access-log entries up to {last} without the log's head after them"
            ))
        })?;
        if first != size {
            return Err(StoreError::Corrupt(format!(
                "the access log file ends at {size} but the entries the store kept for it start \
                 at {first}: restore both files from the same backup"
            )));
        }
        let appended = connection.execute(
            "INSERT INTO log.access_log (position, person, at, disclosed_at, salt, details, hashes)
             SELECT position, person, at, disclosed_at, salt, details, hashes
             FROM main.access_log_pending WHERE position >= ?1 ORDER BY position",
            [size],
        )?;
        connection.execute(
            "INSERT INTO log.access_log_head (id, size, range) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET size = excluded.size, range = excluded.range",
            params![last + 1, head],
        )?;
        tracing::warn!(
            appended,
            from = size,
            "the access log file had lost the commit of entries the store had committed \
             (a stop between the two files' commits); appended them again from the store's copy"
        );
    }
    connection.execute("DELETE FROM main.access_log_pending", [])?;
    Ok(())
}
