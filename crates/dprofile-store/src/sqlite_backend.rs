//! The embedded backend: SQLite in WAL mode, in two files — the store, and its access log in a
//! file of its own attached as `log` (see `access_log_file`). One writer connection behind a
//! mutex (SQLite allows one writer at a time anyway), and a pool of reader connections that WAL
//! lets read while the writer writes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use dprofile_domain::Action;
use dprofile_domain::linking::{KeyKind, StrongKey};
use rusqlite::{Connection, OptionalExtension, params};

mod access_log_file;
mod corrections;
mod events;

pub use access_log_file::log_path as access_log_path;

use crate::auth::{NewOfficer, OfficerRow, OfficerSessionRow, PersonSessionRow, PersonSignInRow};
use crate::sqlite_auth;
use crate::{
    AccessRow, AccessRowWrite, ApiKeyRow, Backend, CorrectionAnswer, CorrectionFilter,
    CorrectionRow, DeliveryFilter, DeliveryRow, ErasedKeys, EventRow, IdentifierRow, IndexRemovals,
    KeyId, KeyInForce, KeyState, KeyWrite, LinkDecision, MergeMoves, NewApiKey, NewCorrection,
    NewEvent, NewPass, NewQuarantine, NewRecord, NewReviewItem, NewShareCode, NewSubscription,
    Outcome, PassRow, PassStatuses, PersonId, PersonRow, QuarantineItem, QuarantineStatus,
    RecordId, ReviewItem, ShareCodeRow, Store, StoreCounts, StoreError, StoreResult, StoredVersion,
    SubscriptionRow, WriteTx, search_value, violations_json,
};
use crate::{AggregateQuery, AggregateRow};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "resolver",
        include_str!("../migrations/sqlite/0002_resolver.sql"),
    ),
    (
        3,
        "access_log",
        include_str!("../migrations/sqlite/0003_access_log.sql"),
    ),
    (
        4,
        "auth",
        include_str!("../migrations/sqlite/0004_auth.sql"),
    ),
    (
        5,
        "corrections",
        include_str!("../migrations/sqlite/0005_corrections.sql"),
    ),
    (
        6,
        "retention",
        include_str!("../migrations/sqlite/0006_retention.sql"),
    ),
    (
        7,
        "officers",
        include_str!("../migrations/sqlite/0007_officers.sql"),
    ),
    (
        8,
        "share_codes",
        include_str!("../migrations/sqlite/0008_share_codes.sql"),
    ),
    (
        9,
        "passes",
        include_str!("../migrations/sqlite/0009_passes.sql"),
    ),
    (
        10,
        "events",
        include_str!("../migrations/sqlite/0010_events.sql"),
    ),
    (
        11,
        "deliveries",
        include_str!("../migrations/sqlite/0011_deliveries.sql"),
    ),
    (
        12,
        "access_log_file",
        include_str!("../migrations/sqlite/0012_access_log_file.sql"),
    ),
];

/// The migration that moves the access log into its own file, which copies the rows there
/// before its SQL drops them from the main file.
const ACCESS_LOG_FILE_MIGRATION: i64 = 12;

/// WAL size past which the writer waits for a full checkpoint so the WAL restarts from its
/// beginning (and reuses its blocks).
const WAL_RESTART_BYTES: u64 = 1024 * 1024 * 1024;

/// The file name of the store inside the data directory.
pub const DATABASE_FILE: &str = "dprofile.sqlite3";

pub struct SqliteStore {
    path: PathBuf,
    // Shared with the checkpoint thread, which holds it to finish a checkpoint (see there).
    writer: Arc<Mutex<Connection>>,
    // Idle reader connections; a read takes one or opens a new one, then gives it back.
    readers: Mutex<Vec<Connection>>,
    checkpointer: Checkpointer,
}

/// Copies committed WAL frames back into the database on a thread of its own, so that the
/// writer (the ingest bottleneck) never stops for a checkpoint; on a two-core machine the copy
/// runs beside the writer.
///
/// At most one checkpoint per [`CHECKPOINT_INTERVAL`]: every checkpoint copies the pages of the
/// commits since the last one and syncs the WAL and the database file, and small commits (an
/// access-log entry each, a thousand a second) would otherwise each pay a copy of the same few
/// pages and two syncs. A commit is never left behind: wake-ups during the pause are kept (the
/// channel holds one) and the checkpoint after the pause covers them all.
struct Checkpointer {
    // Capacity one: wake-ups coalesce while a checkpoint runs. `None` once shut down.
    wake: Mutex<Option<std::sync::mpsc::SyncSender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Least time between two background checkpoints. An ingest chunk takes longer than this to
/// write, so ingest still checkpoints after every chunk; a stream of small commits shares one.
/// A checkpoint is not what makes a commit durable (the WAL is, as `synchronous` says), so the
/// pause only delays the copy into the database file.
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// Least time between two checkpoints of the access log's file. Its commits are one entry
/// each at a thousand logged reads a second, and each checkpoint syncs the WAL and the file:
/// at 50 ms those syncs were about a quarter of what logging added to a read. A second's
/// commits (about 12 MB of WAL at that rate) are still copied within the next second.
const LOG_CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Log WAL size past which the log file is checkpointed without waiting for its interval (a
/// lone caller appending in a loop commits some 15,000 times a second, 180 MB of WAL). The
/// WAL file keeps its largest size, so this also bounds the disk it takes.
const LOG_WAL_CHECKPOINT_BYTES: u64 = 16 * 1024 * 1024;

impl Checkpointer {
    fn start(path: &Path, writer: Arc<Mutex<Connection>>) -> StoreResult<Checkpointer> {
        let connection = open_connection(path)?;
        let log_wal = wal_path(&access_log_file::log_path(path));
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || checkpoint_loop(&connection, &writer, &woken, &log_wal))
            .map_err(|error| {
                StoreError::Open(format!("cannot start the checkpoint thread: {error}"))
            })?;
        Ok(Checkpointer {
            wake: Mutex::new(Some(wake)),
            thread: Mutex::new(Some(thread)),
        })
    }

    fn nudge(&self) {
        if let Ok(wake) = self.wake.lock()
            && let Some(wake) = wake.as_ref()
        {
            let _ = wake.try_send(());
        }
    }

    fn stop(&self) {
        if let Ok(mut wake) = self.wake.lock() {
            wake.take();
        }
        if let Ok(mut thread) = self.thread.lock()
            && let Some(thread) = thread.take()
        {
            let _ = thread.join();
        }
    }
}

fn checkpoint_loop(
    connection: &Connection,
    writer: &Mutex<Connection>,
    woken: &std::sync::mpsc::Receiver<()>,
    log_wal: &Path,
) {
    use std::sync::mpsc::RecvTimeoutError;
    use std::time::{Duration, Instant};
    let mut last_main: Option<Instant> = None;
    let mut last_log: Option<Instant> = None;
    // Commits came since the log file's last checkpoint (a wake-up does not tell which file
    // a commit wrote): it is checkpointed once its own interval has passed.
    let mut log_waiting = false;
    loop {
        let woke = if log_waiting {
            let due = last_log.map_or(Duration::ZERO, |last| {
                LOG_CHECKPOINT_INTERVAL.saturating_sub(last.elapsed())
            });
            match woken.recv_timeout(due) {
                Ok(()) => true,
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else if woken.recv().is_ok() {
            true
        } else {
            break;
        };
        if woke {
            // Within the interval of the last checkpoint: wait out the rest of it. Commits in
            // the meantime leave their wake-up in the channel and are covered below.
            if let Some(last) = last_main {
                let left = CHECKPOINT_INTERVAL.saturating_sub(last.elapsed());
                if !left.is_zero() {
                    std::thread::sleep(left);
                }
            }
            // Wake-ups that came during the wait are covered by this checkpoint; a commit
            // after this line leaves a new one.
            while woken.try_recv().is_ok() {}
            if let Err(error) = checkpoint_all(connection, writer, "main") {
                tracing::warn!(%error, "background checkpoint failed; the next commit retries");
            }
            last_main = Some(Instant::now());
            log_waiting = true;
        }
        // Due after its interval, or sooner when appends come fast enough to fill the WAL.
        let log_due = last_log.is_none_or(|last| last.elapsed() >= LOG_CHECKPOINT_INTERVAL)
            || std::fs::metadata(log_wal).is_ok_and(|wal| wal.len() > LOG_WAL_CHECKPOINT_BYTES);
        if log_waiting && log_due {
            if let Err(error) = checkpoint_all(connection, writer, "log") {
                tracing::warn!(%error, "background checkpoint of the access log failed; retried later");
            }
            last_log = Some(Instant::now());
            log_waiting = false;
        }
    }
    // Shut down: the store's drop folds what is left of both WALs in.
}

/// Copies the WAL of `schema` (`main` or `log`) into its database: first beside the writer
/// (the bulk of a large ingest commit), then what committed meanwhile while holding the
/// writer's lock, so that every frame is copied and the next commit starts the WAL over from
/// its beginning. The first pass alone reports itself complete (it counts the frames there
/// were when it started) while commits append more, so a steady stream of small commits never
/// let the WAL restart: it grew by every commit's pages (150 MB over 3,000 one-entry commits)
/// and sequential single-entry appends fell from about 5,000/s to 700/s. The second pass has
/// only the last few commits' pages to copy, and nothing (no sync either) when no commit came.
fn checkpoint_all(
    connection: &Connection,
    writer: &Mutex<Connection>,
    schema: &str,
) -> rusqlite::Result<()> {
    let passive = |connection: &Connection| {
        connection.query_row(
            &format!("PRAGMA {schema}.wal_checkpoint(PASSIVE)"),
            [],
            |_| Ok(()),
        )
    };
    passive(connection)?;
    // A reader still on an older snapshot may keep some frames uncopied; the next checkpoint
    // tries again. A poisoned lock (a writer panicked) skips the pass.
    if let Ok(_writer) = writer.lock() {
        passive(connection)?;
    }
    Ok(())
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.checkpointer.stop();
        // Leave a small WAL behind: fold what is left into the database file.
        if let Ok(writer) = self.writer.lock() {
            let _ = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir` and applies pending migrations.
    pub fn open_dir(dir: &Path) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(dir).map_err(|error| {
            StoreError::Open(format!(
                "cannot create data directory {}: {error}",
                dir.display()
            ))
        })?;
        SqliteStore::open_file(&dir.join(DATABASE_FILE))
    }

    pub fn open_file(path: &Path) -> StoreResult<SqliteStore> {
        let writer = open_connection(path)?;
        // The writer walks every index on every chunk: a 256 MiB cache keeps them in memory
        // well past a million records; readers need far less.
        writer.pragma_update(None, "cache_size", -262_144)?;
        // Commits never checkpoint; the checkpoint thread does, beside the writer.
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        // The writer prepares more distinct statements than rusqlite's default cache keeps
        // (16): an ingest chunk between two access-log appends would evict the log's.
        writer.set_prepared_statement_cache_capacity(128);
        migrate(&writer, path)?;
        let writer = Arc::new(Mutex::new(writer));
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Arc::clone(&writer),
            readers: Mutex::new(Vec::new()),
            checkpointer: Checkpointer::start(path, writer)?,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read<T>(&self, work: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let pooled = self.readers.lock().map_err(poisoned)?.pop();
        let connection = match pooled {
            Some(connection) => connection,
            None => open_connection(&self.path)?,
        };
        let result = work(&connection);
        self.readers.lock().map_err(poisoned)?.push(connection);
        result
    }

    /// Runs `work` in one write transaction. `keep_pending`: whether access-log entries it
    /// appends keep a copy in the main file, for a transaction that may write both files.
    fn transact(
        &self,
        keep_pending: bool,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let mut connection = self.writer.lock().map_err(poisoned)?;
        let transaction =
            connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let result = access_log_file::reconcile(&transaction).and_then(|()| {
            let mut write_tx = SqliteTx {
                transaction: &transaction,
                keep_pending,
            };
            work(&mut write_tx)
        });
        match result {
            Ok(()) => {
                transaction.commit()?;
                self.checkpointer.nudge();
                // The background checkpoint never catches up with a busy writer, so the WAL
                // would only grow (and the file system zero-fills every new block). Past a
                // bound, fold the rest in here and let the next commit start the WAL over.
                // (A log-only transaction left the main file's WAL as it was.)
                let wal_bytes = if keep_pending {
                    std::fs::metadata(wal_path(&self.path)).map_or(0, |metadata| metadata.len())
                } else {
                    0
                };
                if wal_bytes > WAL_RESTART_BYTES {
                    connection.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))?;
                }
                Ok(())
            }
            Err(error) => {
                transaction.rollback()?;
                Err(error)
            }
        }
    }
}

/// The WAL file SQLite keeps beside the database file `path`.
fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Corrupt("a store lock was poisoned by a panic".to_owned())
}

fn open_connection(path: &Path) -> StoreResult<Connection> {
    let connection = Connection::open(path)?;
    // WAL lets readers run beside the writer; NORMAL sync in WAL mode loses no committed
    // transaction on a process crash (only possibly the last ones on a power cut).
    // 16 KiB pages (for a new file; an existing one keeps its size): fewer, fuller index
    // pages to rewrite per commit. 1M-record ingest: 4 KiB 55k/s, 8 KiB 63k/s, 16 KiB 68k/s.
    connection.pragma_update(None, "page_size", 16_384)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "temp_store", "MEMORY")?;
    // 64 MiB of page cache per connection keeps the ingest indexes hot without large RSS.
    connection.pragma_update(None, "cache_size", -65536)?;
    connection.busy_timeout(std::time::Duration::from_secs(30))?;
    access_log_file::attach(&connection, path)?;
    Ok(connection)
}

fn migrate(connection: &Connection, path: &Path) -> StoreResult<()> {
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )?;
    for (version, name, sql) in MIGRATIONS {
        let applied: Option<i64> = connection
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [version],
                |row| row.get(0),
            )
            .optional()?;
        if applied.is_none() {
            if *version == ACCESS_LOG_FILE_MIGRATION {
                access_log_file::copy_into_log_file(connection)?;
            }
            let transaction = connection.unchecked_transaction()?;
            transaction.execute_batch(sql)?;
            transaction.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                params![version, name, micros(Utc::now())],
            )?;
            transaction.commit()?;
        }
    }
    access_log_file::check_present(connection, path)?;
    // A stop between the two files' commits of the last run is repaired before anything else.
    let transaction = connection.unchecked_transaction()?;
    access_log_file::reconcile(&transaction)?;
    transaction.commit()?;
    Ok(())
}

fn micros(instant: DateTime<Utc>) -> i64 {
    instant.timestamp_micros()
}

fn from_micros(value: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(value).unwrap_or_default()
}

fn date_text(date: Option<NaiveDate>) -> Option<String> {
    date.map(|date| date.format("%Y-%m-%d").to_string())
}

fn parse_date(text: Option<String>) -> Option<NaiveDate> {
    text.and_then(|text| NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok())
}

fn action_from(text: &str) -> Action {
    Action::from_code(text).unwrap_or(Action::Upsert)
}

fn hash_from(bytes: &[u8]) -> [u8; 32] {
    let mut hash = [0u8; 32];
    if bytes.len() == 32 {
        hash.copy_from_slice(bytes);
    }
    hash
}

struct SqliteTx<'a> {
    transaction: &'a rusqlite::Transaction<'a>,
    /// Whether access-log entries appended here also keep a copy in the main file (see
    /// `access_log_file`): every transaction but the log-only ones of `append_access`.
    keep_pending: bool,
}

impl WriteTx for SqliteTx<'_> {
    fn load_keys(&mut self, keys: &[(&str, &str)]) -> StoreResult<Vec<Option<KeyState>>> {
        let mut statement = self.transaction.prepare_cached(
            "SELECT k.key_id, k.person_id, k.record_id, k.revision, k.action, r.content_hash
             FROM record_keys k JOIN records r ON r.id = k.record_id
             WHERE k.source = ?1 AND k.source_ref = ?2",
        )?;
        let mut found = Vec::with_capacity(keys.len());
        for (source, source_ref) in keys {
            let state = statement
                .query_row(params![source, source_ref], |row| {
                    Ok(KeyState {
                        key_id: row.get(0)?,
                        person_id: row.get(1)?,
                        record_id: row.get(2)?,
                        revision: row.get(3)?,
                        action: action_from(row.get_ref(4)?.as_str()?),
                        content_hash: hash_from(row.get_ref(5)?.as_blob()?),
                    })
                })
                .optional()?;
            found.push(state);
        }
        Ok(found)
    }

    fn load_identifiers(
        &mut self,
        keys: &[StrongKey],
    ) -> StoreResult<HashMap<StrongKey, PersonId>> {
        let mut statement = self
            .transaction
            .prepare_cached("SELECT person_id FROM identifiers WHERE kind = ?1 AND value = ?2")?;
        let mut found = HashMap::new();
        for key in keys {
            let person: Option<PersonId> = statement
                .query_row(params![key.kind.code(), key.value], |row| row.get(0))
                .optional()?;
            if let Some(person) = person {
                found.insert(key.clone(), person);
            }
        }
        Ok(found)
    }

    fn load_version_hash(
        &mut self,
        key_id: KeyId,
        revision: u32,
        action: Action,
    ) -> StoreResult<Option<[u8; 32]>> {
        let mut statement = self.transaction.prepare_cached(
            "SELECT content_hash FROM records WHERE key_id = ?1 AND revision = ?2 AND action = ?3",
        )?;
        let hash: Option<Vec<u8>> = statement
            .query_row(params![key_id, revision, action.code()], |row| row.get(0))
            .optional()?;
        Ok(hash.as_deref().map(hash_from))
    }

    fn identifiers_of(&mut self, persons: &[PersonId]) -> StoreResult<Vec<IdentifierRow>> {
        let mut statement = self
            .transaction
            .prepare_cached("SELECT kind, value FROM identifiers WHERE person_id = ?1")?;
        let mut rows = Vec::new();
        for person in persons {
            let found = statement.query_map([person], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?;
            for pair in found {
                let (kind, value) = pair?;
                if let Some(kind) = KeyKind::from_code(&kind) {
                    rows.push(IdentifierRow {
                        key: StrongKey::new(kind, value),
                        person_id: *person,
                    });
                }
            }
        }
        Ok(rows)
    }

    fn create_persons(&mut self, count: usize, now: DateTime<Utc>) -> StoreResult<Vec<PersonId>> {
        let mut statement = self
            .transaction
            .prepare_cached("INSERT INTO persons (created_at) VALUES (?1)")?;
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            statement.execute([micros(now)])?;
            ids.push(self.transaction.last_insert_rowid());
        }
        Ok(ids)
    }

    fn reserve_record_ids(&mut self, count: usize) -> StoreResult<Vec<RecordId>> {
        // The writer holds SQLite's write lock for the whole transaction: nobody else can take
        // these ids before they are inserted.
        let highest: i64 =
            self.transaction
                .query_row("SELECT COALESCE(max(id), 0) FROM records", [], |row| {
                    row.get(0)
                })?;
        Ok((1..=count as i64).map(|offset| highest + offset).collect())
    }

    fn insert_records(&mut self, records: &[NewRecord<'_>]) -> StoreResult<()> {
        let mut statement = self.transaction.prepare_cached(
            "INSERT INTO records (id, key_id, source, source_ref, revision, action, category, received_at, observed_at,
                 valid_from, valid_to, content_hash, raw, warnings, outcome, person_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?;
        for record in records {
            statement.execute(params![
                record.id,
                record.key_id,
                record.source,
                record.source_ref,
                record.revision,
                record.action.code(),
                record.category,
                micros(record.received_at),
                record.observed_at.map(micros),
                date_text(record.valid_from),
                date_text(record.valid_to),
                &record.content_hash[..],
                record.raw,
                record.warnings,
                record.outcome.code(),
                record.person_id,
            ])?;
        }
        Ok(())
    }

    fn upsert_keys(&mut self, states: &[KeyWrite<'_>]) -> StoreResult<Vec<KeyId>> {
        let mut insert = self.transaction.prepare_cached(
            "INSERT INTO record_keys (source, source_ref, person_id, record_id, revision, action)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut update = self.transaction.prepare_cached(
            "UPDATE record_keys SET person_id = ?2, record_id = ?3, revision = ?4, action = ?5 WHERE key_id = ?1",
        )?;
        let mut ids = Vec::with_capacity(states.len());
        for state in states {
            match state.key_id {
                Some(key_id) => {
                    update.execute(params![
                        key_id,
                        state.person_id,
                        state.record_id,
                        state.revision,
                        state.action.code()
                    ])?;
                    ids.push(key_id);
                }
                None => {
                    insert.execute(params![
                        state.source,
                        state.source_ref,
                        state.person_id,
                        state.record_id,
                        state.revision,
                        state.action.code(),
                    ])?;
                    ids.push(self.transaction.last_insert_rowid());
                }
            }
        }
        Ok(ids)
    }

    fn insert_identifiers(&mut self, rows: &[IdentifierRow]) -> StoreResult<()> {
        let mut statement = self.transaction.prepare_cached(
            "INSERT OR IGNORE INTO identifiers (kind, value, search_value, person_id) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for row in rows {
            statement.execute(params![
                row.key.kind.code(),
                row.key.value,
                search_value(&row.key),
                row.person_id
            ])?;
        }
        Ok(())
    }

    fn insert_name_keys(&mut self, rows: &[(&str, i32, PersonId)]) -> StoreResult<()> {
        let mut statement = self.transaction.prepare_cached(
            "INSERT OR IGNORE INTO name_keys (name_key, birth_year, person_id) VALUES (?1, ?2, ?3)",
        )?;
        for (name_key, birth_year, person) in rows {
            statement.execute(params![name_key, birth_year, person])?;
        }
        Ok(())
    }

    fn merge_persons(&mut self, from: PersonId, into: PersonId) -> StoreResult<MergeMoves> {
        let transaction = self.transaction;
        let mut moves = MergeMoves::default();
        {
            let mut statement = transaction.prepare_cached(
                "SELECT key_id FROM record_keys WHERE person_id = ?1 ORDER BY key_id",
            )?;
            moves.key_ids = statement
                .query_map([from], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let mut statement = transaction.prepare_cached(
                "SELECT kind, value FROM identifiers WHERE person_id = ?1 ORDER BY kind, value",
            )?;
            moves.identifiers = statement
                .query_map([from], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let mut statement = transaction.prepare_cached(
                "SELECT name_key, birth_year FROM name_keys WHERE person_id = ?1 ORDER BY name_key, birth_year",
            )?;
            moves.name_keys_moved = statement
                .query_map([from], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let mut held = transaction
                .prepare_cached("SELECT 1 FROM name_keys WHERE name_key = ?1 AND birth_year = ?2 AND person_id = ?3")?;
            for (name_key, birth_year) in &moves.name_keys_moved {
                if held
                    .query_row(params![name_key, birth_year, into], |_| Ok(()))
                    .optional()?
                    .is_none()
                {
                    moves.name_keys_added.push((name_key.clone(), *birth_year));
                }
            }
            let mut statement = transaction
                .prepare_cached("SELECT id FROM persons WHERE merged_into = ?1 ORDER BY id")?;
            moves.redirected_persons = statement
                .query_map([from], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
        }
        transaction.execute(
            "UPDATE record_keys SET person_id = ?2 WHERE person_id = ?1",
            [from, into],
        )?;
        transaction.execute(
            "UPDATE identifiers SET person_id = ?2 WHERE person_id = ?1",
            [from, into],
        )?;
        transaction.execute(
            "INSERT OR IGNORE INTO name_keys (name_key, birth_year, person_id)
             SELECT name_key, birth_year, ?2 FROM name_keys WHERE person_id = ?1",
            [from, into],
        )?;
        transaction.execute("DELETE FROM name_keys WHERE person_id = ?1", [from])?;
        transaction.execute(
            "UPDATE persons SET merged_into = ?2 WHERE id = ?1 OR merged_into = ?1",
            [from, into],
        )?;
        Ok(moves)
    }

    fn unmerge_persons(
        &mut self,
        from: PersonId,
        into: PersonId,
        moves: &MergeMoves,
    ) -> StoreResult<()> {
        let transaction = self.transaction;
        let mut move_key = transaction
            .prepare_cached("UPDATE record_keys SET person_id = ?2 WHERE key_id = ?1")?;
        for key_id in &moves.key_ids {
            move_key.execute([*key_id, from])?;
        }
        let mut move_identifier = transaction
            .prepare_cached("UPDATE identifiers SET person_id = ?3 WHERE kind = ?1 AND value = ?2 AND person_id = ?4")?;
        for (kind, value) in &moves.identifiers {
            move_identifier.execute(params![kind, value, from, into])?;
        }
        let mut restore_name = transaction.prepare_cached(
            "INSERT OR IGNORE INTO name_keys (name_key, birth_year, person_id) VALUES (?1, ?2, ?3)",
        )?;
        for (name_key, birth_year) in &moves.name_keys_moved {
            restore_name.execute(params![name_key, birth_year, from])?;
        }
        let mut drop_name = transaction.prepare_cached(
            "DELETE FROM name_keys WHERE name_key = ?1 AND birth_year = ?2 AND person_id = ?3",
        )?;
        for (name_key, birth_year) in &moves.name_keys_added {
            drop_name.execute(params![name_key, birth_year, into])?;
        }
        transaction.execute(
            "UPDATE persons SET merged_into = NULL WHERE id = ?1",
            [from],
        )?;
        let mut redirect =
            transaction.prepare_cached("UPDATE persons SET merged_into = ?2 WHERE id = ?1")?;
        for person in &moves.redirected_persons {
            redirect.execute([*person, from])?;
        }
        Ok(())
    }

    fn add_cannot_link(
        &mut self,
        first: PersonId,
        second: PersonId,
        decision_id: i64,
    ) -> StoreResult<()> {
        let (low, high) = (first.min(second), first.max(second));
        self.transaction.execute(
            "INSERT OR IGNORE INTO cannot_link (first_person_id, second_person_id, decision_id) VALUES (?1, ?2, ?3)",
            [low, high, decision_id],
        )?;
        Ok(())
    }

    fn cannot_links(&mut self, persons: &[PersonId]) -> StoreResult<Vec<(PersonId, PersonId)>> {
        let mut statement = self.transaction.prepare_cached(
            "SELECT first_person_id, second_person_id FROM cannot_link WHERE first_person_id = ?1 OR second_person_id = ?1",
        )?;
        let wanted: std::collections::HashSet<PersonId> = persons.iter().copied().collect();
        let mut pairs = Vec::new();
        for person in persons {
            let rows = statement.query_map([person], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let pair = row?;
                if wanted.contains(&pair.0) && wanted.contains(&pair.1) && !pairs.contains(&pair) {
                    pairs.push(pair);
                }
            }
        }
        Ok(pairs)
    }

    fn insert_decisions(&mut self, decisions: &[LinkDecision]) -> StoreResult<Vec<i64>> {
        let mut statement = self.transaction.prepare_cached(
            "INSERT INTO link_decisions (kind, person_id, other_person_id, record_id, actor, reason, evidence, decided_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut ids = Vec::with_capacity(decisions.len());
        for decision in decisions {
            statement.execute(params![
                decision.kind,
                decision.person_id,
                decision.other_person_id,
                decision.record_id,
                decision.actor,
                decision.reason,
                decision.evidence.to_string(),
                micros(decision.decided_at),
            ])?;
            ids.push(self.transaction.last_insert_rowid());
        }
        Ok(ids)
    }

    fn close_review_item(&mut self, id: i64, status: &str, decision_id: i64) -> StoreResult<()> {
        self.transaction.execute(
            "UPDATE review_items SET status = ?2, decision_id = ?3 WHERE id = ?1",
            params![id, status, decision_id],
        )?;
        Ok(())
    }

    fn insert_review_items(&mut self, items: &[NewReviewItem]) -> StoreResult<()> {
        let mut statement = self.transaction.prepare_cached(
            "INSERT INTO review_items (kind, person_ids, record_id, evidence, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for item in items {
            statement.execute(params![
                item.kind,
                serde_json::to_string(&item.person_ids).unwrap_or_default(),
                item.record_id,
                item.evidence.to_string(),
                micros(item.created_at),
            ])?;
        }
        Ok(())
    }

    fn insert_quarantine(&mut self, items: &[NewQuarantine]) -> StoreResult<Vec<i64>> {
        let mut find = self
            .transaction
            .prepare_cached("SELECT id FROM quarantine WHERE raw_hash = ?1 AND status = 'open'")?;
        let mut insert = self.transaction.prepare_cached(
            "INSERT INTO quarantine (received_at, origin, line_number, source, source_ref, raw, raw_hash, violations)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut ids = Vec::with_capacity(items.len());
        for item in items {
            let raw_hash = blake3::hash(&item.raw);
            let existing: Option<i64> = find
                .query_row([&raw_hash.as_bytes()[..]], |row| row.get(0))
                .optional()?;
            if let Some(id) = existing {
                ids.push(id);
                continue;
            }
            insert.execute(params![
                micros(item.received_at),
                item.origin,
                item.line_number.map(|number| number as i64),
                item.source,
                item.source_ref,
                item.raw,
                &raw_hash.as_bytes()[..],
                item.violations,
            ])?;
            ids.push(self.transaction.last_insert_rowid());
        }
        Ok(ids)
    }

    fn resolve_quarantine(
        &mut self,
        id: i64,
        record_id: Option<RecordId>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.transaction.execute(
            "UPDATE quarantine SET status = 'replayed', resolved_at = ?2, resolved_record_id = ?3 WHERE id = ?1",
            params![id, micros(now), record_id],
        )?;
        Ok(())
    }

    fn update_quarantine(&mut self, id: i64, raw: &[u8], violations: &str) -> StoreResult<()> {
        self.transaction.execute(
            "UPDATE quarantine SET raw = ?2, raw_hash = ?3, violations = ?4 WHERE id = ?1",
            params![id, raw, &blake3::hash(raw).as_bytes()[..], violations],
        )?;
        Ok(())
    }

    fn lock_access_head(&mut self) -> StoreResult<Option<Vec<u8>>> {
        // The writer connection is the only writer: its transaction already orders appends.
        // Cached statements: every logged request runs this and the upsert below, and parsing
        // the same SQL again on every append was work for nothing.
        Ok(self
            .transaction
            .prepare_cached("SELECT range FROM access_log_head WHERE id = 1")?
            .query_row([], |row| row.get(0))
            .optional()?)
    }

    fn set_access_head(&mut self, size: i64, range: &[u8]) -> StoreResult<()> {
        self.transaction
            .prepare_cached(
                "INSERT INTO access_log_head (id, size, range) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET size = excluded.size, range = excluded.range",
            )?
            .execute(params![size, range])?;
        if self.keep_pending {
            access_log_file::keep_pending_head(self.transaction, size, range)?;
        }
        Ok(())
    }

    fn insert_access_rows(&mut self, rows: &[AccessRowWrite]) -> StoreResult<()> {
        if self.keep_pending {
            access_log_file::insert_rows(self.transaction, "main.access_log_pending", rows)?;
        }
        access_log_file::insert_rows(self.transaction, "access_log", rows)?;
        Ok(())
    }

    fn insert_access_checkpoint(
        &mut self,
        size: i64,
        note: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.transaction.execute(
            "INSERT INTO access_checkpoints (size, note, signed_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (size) DO NOTHING",
            params![size, note, micros(at)],
        )?;
        Ok(())
    }

    fn insert_api_key(&mut self, key: &NewApiKey<'_>) -> StoreResult<i64> {
        self.transaction.execute(
            "INSERT INTO api_keys (name, agency, role, token_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                key.name,
                key.agency,
                key.role,
                key.token_hash,
                micros(key.created_at)
            ],
        )?;
        Ok(self.transaction.last_insert_rowid())
    }

    fn revoke_api_key(&mut self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        let changed = self.transaction.execute(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
            params![id, micros(at)],
        )?;
        Ok(changed > 0)
    }

    fn insert_officer(&mut self, officer: &NewOfficer<'_>) -> StoreResult<i64> {
        sqlite_auth::insert_officer(self.transaction, officer)
    }

    fn set_officer_password(
        &mut self,
        id: i64,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        sqlite_auth::set_officer_password(self.transaction, id, password_hash, at)
    }

    fn set_officer_disabled(&mut self, id: i64, at: Option<DateTime<Utc>>) -> StoreResult<bool> {
        sqlite_auth::set_officer_disabled(self.transaction, id, at)
    }

    fn add_officer_failed_attempt(&mut self, id: i64) -> StoreResult<u32> {
        sqlite_auth::add_officer_failed_attempt(self.transaction, id)
    }

    fn set_officer_lock(
        &mut self,
        id: i64,
        failed_attempts: u32,
        locked_until: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        sqlite_auth::set_officer_lock(self.transaction, id, failed_attempts, locked_until)
    }

    fn insert_officer_session(&mut self, session: &OfficerSessionRow) -> StoreResult<()> {
        sqlite_auth::insert_officer_session(self.transaction, session)
    }

    fn touch_officer_session(&mut self, token_hash: &[u8], at: DateTime<Utc>) -> StoreResult<()> {
        sqlite_auth::touch_officer_session(self.transaction, token_hash, at)
    }

    fn end_officer_session(&mut self, token_hash: &[u8], at: DateTime<Utc>) -> StoreResult<bool> {
        sqlite_auth::end_officer_session(self.transaction, token_hash, at)
    }

    fn end_officer_sessions_of(&mut self, officer_id: i64, at: DateTime<Utc>) -> StoreResult<u64> {
        sqlite_auth::end_officer_sessions_of(self.transaction, officer_id, at)
    }

    fn insert_person_sign_in(&mut self, sign_in: &PersonSignInRow) -> StoreResult<()> {
        sqlite_auth::insert_person_sign_in(self.transaction, sign_in)
    }

    fn add_person_sign_in_failed_attempt(&mut self, id_hash: &[u8]) -> StoreResult<u32> {
        sqlite_auth::add_person_sign_in_failed_attempt(self.transaction, id_hash)
    }

    fn take_person_sign_in(&mut self, id_hash: &[u8]) -> StoreResult<bool> {
        sqlite_auth::take_person_sign_in(self.transaction, id_hash)
    }

    fn insert_person_session(&mut self, session: &PersonSessionRow) -> StoreResult<()> {
        sqlite_auth::insert_person_session(self.transaction, session)
    }

    fn end_person_session(&mut self, token_hash: &[u8]) -> StoreResult<bool> {
        sqlite_auth::end_person_session(self.transaction, token_hash)
    }

    fn delete_expired_sessions(&mut self, now: DateTime<Utc>) -> StoreResult<()> {
        sqlite_auth::delete_expired_sessions(self.transaction, now)
    }

    fn insert_share_code(&mut self, code: &NewShareCode<'_>) -> StoreResult<i64> {
        self.transaction.execute(
            "INSERT INTO share_codes (person_id, code_hash, purpose, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                code.person_id,
                code.code_hash,
                code.purpose,
                micros(code.created_at),
                micros(code.expires_at)
            ],
        )?;
        Ok(self.transaction.last_insert_rowid())
    }

    fn revoke_share_code(
        &mut self,
        person_id: PersonId,
        id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let changed = self.transaction.execute(
            "UPDATE share_codes SET revoked_at = COALESCE(revoked_at, ?3)
             WHERE id = ?1 AND person_id = ?2",
            params![id, person_id, micros(at)],
        )?;
        Ok(changed > 0)
    }

    fn record_share_code_failure(
        &mut self,
        id: i64,
        lock_after: u32,
        at: DateTime<Utc>,
    ) -> StoreResult<u32> {
        let failed: Option<i64> = self
            .transaction
            .query_row(
                "UPDATE share_codes SET failed_checks = failed_checks + 1,
                     locked_at = CASE WHEN locked_at IS NULL AND failed_checks + 1 >= ?2
                                      THEN ?3 ELSE locked_at END
                 WHERE id = ?1 RETURNING failed_checks",
                params![id, lock_after, micros(at)],
                |row| row.get(0),
            )
            .optional()?;
        Ok(failed.map_or(0, |count| u32::try_from(count).unwrap_or(u32::MAX)))
    }

    fn resolver_model(&mut self) -> StoreResult<Option<String>> {
        Ok(self
            .transaction
            .query_row("SELECT model FROM resolver_model WHERE id = 1", [], |row| {
                row.get(0)
            })
            .optional()?)
    }

    fn set_resolver_model(&mut self, model: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.transaction.execute(
            "INSERT INTO resolver_model (id, model, saved_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET model = excluded.model, saved_at = excluded.saved_at",
            params![model, micros(now)],
        )?;
        Ok(())
    }

    fn replace_resolver_blocks(
        &mut self,
        key_ids: &[KeyId],
        rows: &[(i64, KeyId)],
    ) -> StoreResult<()> {
        let mut delete = self
            .transaction
            .prepare_cached("DELETE FROM resolver_blocks WHERE key_id = ?1")?;
        for key_id in key_ids {
            delete.execute([key_id])?;
        }
        let mut insert = self.transaction.prepare_cached(
            "INSERT OR IGNORE INTO resolver_blocks (block_key, key_id) VALUES (?1, ?2)",
        )?;
        for (block_key, key_id) in rows {
            insert.execute([block_key, key_id])?;
        }
        Ok(())
    }

    fn resolver_block_members(&mut self, block_keys: &[i64]) -> StoreResult<Vec<(i64, KeyId)>> {
        let mut statement = self
            .transaction
            .prepare_cached("SELECT key_id FROM resolver_blocks WHERE block_key = ?1")?;
        let mut members = Vec::new();
        for block_key in block_keys {
            let rows = statement.query_map([block_key], |row| row.get::<_, KeyId>(0))?;
            for key_id in rows {
                members.push((*block_key, key_id?));
            }
        }
        Ok(members)
    }

    fn keys_in_force(&mut self, key_ids: &[KeyId]) -> StoreResult<Vec<KeyInForce>> {
        let mut statement = self.transaction.prepare_cached(
            "SELECT k.key_id, k.person_id, k.action, r.raw
             FROM record_keys k JOIN records r ON r.id = k.record_id WHERE k.key_id = ?1",
        )?;
        let mut found = Vec::with_capacity(key_ids.len());
        for key_id in key_ids {
            let row = statement
                .query_row([key_id], |row| {
                    Ok(KeyInForce {
                        key_id: row.get(0)?,
                        person_id: row.get(1)?,
                        action: action_from(&row.get::<_, String>(2)?),
                        raw: row.get(3)?,
                    })
                })
                .optional()?;
            found.extend(row);
        }
        Ok(found)
    }

    fn keys_of_persons(&mut self, persons: &[PersonId]) -> StoreResult<Vec<(KeyId, PersonId)>> {
        let mut statement = self.transaction.prepare_cached(
            "SELECT key_id FROM record_keys WHERE person_id = ?1 ORDER BY key_id",
        )?;
        let mut keys = Vec::new();
        for person in persons {
            let rows = statement.query_map([person], |row| row.get::<_, KeyId>(0))?;
            for key_id in rows {
                keys.push((key_id?, *person));
            }
        }
        Ok(keys)
    }

    fn persons_with_officer_decisions(
        &mut self,
        persons: &[PersonId],
    ) -> StoreResult<Vec<PersonId>> {
        let mut statement = self.transaction.prepare_cached(
            "SELECT 1 FROM link_decisions
             WHERE (person_id = ?1 OR other_person_id = ?1)
               AND actor NOT LIKE 'rule:%' AND actor NOT LIKE 'resolver:%'
             LIMIT 1",
        )?;
        let mut held = Vec::new();
        for person in persons {
            if statement
                .query_row([person], |_| Ok(()))
                .optional()?
                .is_some()
            {
                held.push(*person);
            }
        }
        Ok(held)
    }
    fn erase_keys(&mut self, key_ids: &[KeyId]) -> StoreResult<ErasedKeys> {
        let transaction = self.transaction;
        let mut erased = ErasedKeys::default();
        let mut versions_of =
            transaction.prepare_cached("SELECT id FROM records WHERE key_id = ?1")?;
        let mut uncite = transaction
            .prepare_cached("UPDATE link_decisions SET record_id = NULL WHERE record_id = ?1")?;
        let mut drop_items =
            transaction.prepare_cached("DELETE FROM review_items WHERE record_id = ?1")?;
        let mut drop_replayed =
            transaction.prepare_cached("DELETE FROM quarantine WHERE resolved_record_id = ?1")?;
        let mut drop_versions =
            transaction.prepare_cached("DELETE FROM records WHERE key_id = ?1")?;
        let mut drop_blocks =
            transaction.prepare_cached("DELETE FROM resolver_blocks WHERE key_id = ?1")?;
        let mut drop_key =
            transaction.prepare_cached("DELETE FROM record_keys WHERE key_id = ?1")?;
        for key_id in key_ids {
            let record_ids: Vec<RecordId> = versions_of
                .query_map([key_id], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            for record_id in &record_ids {
                erased.decisions_uncited += uncite.execute([record_id])? as u64;
                erased.review_items += drop_items.execute([record_id])? as u64;
                erased.quarantine_items += drop_replayed.execute([record_id])? as u64;
            }
            erased.versions += drop_versions.execute([key_id])? as u64;
            drop_blocks.execute([key_id])?;
            erased.keys += drop_key.execute([key_id])? as u64;
        }
        Ok(erased)
    }

    fn retain_person_index(
        &mut self,
        person: PersonId,
        identifiers: &[StrongKey],
        name_rows: &[(String, i32)],
    ) -> StoreResult<IndexRemovals> {
        let transaction = self.transaction;
        let mut removals = IndexRemovals::default();
        let held: Vec<(String, String)> = transaction
            .prepare_cached(
                "SELECT kind, value FROM identifiers WHERE person_id = ?1 ORDER BY kind, value",
            )?
            .query_map([person], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut drop_identifier = transaction.prepare_cached(
            "DELETE FROM identifiers WHERE kind = ?1 AND value = ?2 AND person_id = ?3",
        )?;
        for (kind, value) in held {
            let Some(key_kind) = KeyKind::from_code(&kind) else {
                continue;
            };
            let key = StrongKey::new(key_kind, value);
            if !identifiers.contains(&key) {
                drop_identifier.execute(params![kind, key.value, person])?;
                removals.identifiers.push(key);
            }
        }
        let held: Vec<(String, i32)> = transaction
            .prepare_cached("SELECT name_key, birth_year FROM name_keys WHERE person_id = ?1 ORDER BY name_key, birth_year")?
            .query_map([person], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut drop_name = transaction.prepare_cached(
            "DELETE FROM name_keys WHERE name_key = ?1 AND birth_year = ?2 AND person_id = ?3",
        )?;
        for row in held {
            if !name_rows.contains(&row) {
                drop_name.execute(params![row.0, row.1, person])?;
                removals.name_rows.push(row);
            }
        }
        Ok(removals)
    }

    fn update_decision_evidence(
        &mut self,
        id: i64,
        evidence: &serde_json::Value,
    ) -> StoreResult<()> {
        self.transaction.execute(
            "UPDATE link_decisions SET evidence = ?2 WHERE id = ?1",
            params![id, evidence.to_string()],
        )?;
        Ok(())
    }

    fn remove_persons(
        &mut self,
        persons: &[PersonId],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<PersonId>> {
        let transaction = self.transaction;
        let mut removed: Vec<PersonId> = Vec::new();
        {
            let mut merged = transaction
                .prepare_cached("SELECT id FROM persons WHERE merged_into = ?1 ORDER BY id")?;
            let mut exists = transaction.prepare_cached("SELECT 1 FROM persons WHERE id = ?1")?;
            for person in persons {
                if exists.query_row([person], |_| Ok(())).optional()?.is_some() {
                    removed.push(*person);
                }
                for other in merged.query_map([person], |row| row.get::<_, PersonId>(0))? {
                    removed.push(other?);
                }
            }
        }
        removed.sort_unstable();
        removed.dedup();
        let set: std::collections::HashSet<PersonId> = removed.iter().copied().collect();
        let decisions: Vec<(i64, PersonId, Option<PersonId>)> = {
            let mut statement = transaction.prepare_cached(
                "SELECT id, person_id, other_person_id FROM link_decisions
                 WHERE person_id = ?1 OR other_person_id = ?1",
            )?;
            let mut found = Vec::new();
            for person in &removed {
                for row in statement
                    .query_map([person], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                {
                    found.push(row?);
                }
            }
            found
        };
        let mut drop_decision =
            transaction.prepare_cached("DELETE FROM link_decisions WHERE id = ?1")?;
        for (id, person, other) in decisions {
            if set.contains(&person) && other.is_none_or(|other| set.contains(&other)) {
                drop_decision.execute([id])?;
            }
        }
        let mut drop_person = transaction.prepare_cached("DELETE FROM persons WHERE id = ?1")?;
        let mut drop_pairs = transaction.prepare_cached(
            "DELETE FROM cannot_link WHERE first_person_id = ?1 OR second_person_id = ?1",
        )?;
        let mut note = transaction.prepare_cached(
            "INSERT OR IGNORE INTO retention_erasures (person_id, erased_at) VALUES (?1, ?2)",
        )?;
        for person in &removed {
            drop_person.execute([person])?;
            drop_pairs.execute([person])?;
            note.execute(params![person, micros(now)])?;
        }
        // What the person's own rights left behind goes with them: share codes, sign-ins and
        // sessions, correction requests (their texts quote the person); passes are revoked and
        // their signed text (name, birth date, document) blanked, the row kept because its id
        // is a bit of the published status list.
        for statement in [
            "DELETE FROM share_codes WHERE person_id = ?1",
            "DELETE FROM person_sessions WHERE person_id = ?1",
            "DELETE FROM person_sign_ins WHERE person_id = ?1",
            "DELETE FROM correction_fields
             WHERE correction_id IN (SELECT id FROM corrections WHERE person_id = ?1)",
            "DELETE FROM corrections WHERE person_id = ?1",
            // The change feed tells about persons: their events go with them.
            "DELETE FROM events WHERE person_id = ?1",
            "DELETE FROM events_person_seq WHERE person_id = ?1",
            "DELETE FROM event_status_snapshots WHERE person_id = ?1",
            "DELETE FROM webhook_deliveries WHERE person_id = ?1",
        ] {
            let mut statement = transaction.prepare_cached(statement)?;
            for person in &removed {
                statement.execute([person])?;
            }
        }
        let mut revoke = transaction.prepare_cached(
            "UPDATE passes SET text = '', revoked_at = COALESCE(revoked_at, ?2) WHERE person_id = ?1",
        )?;
        for person in &removed {
            revoke.execute(params![person, micros(now)])?;
        }
        Ok(removed)
    }

    fn erase_access_details(
        &mut self,
        persons: &[PersonId],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<u64>> {
        let transaction = self.transaction;
        let mut erase = transaction.prepare_cached(
            "UPDATE access_log SET details = NULL, salt = NULL
             WHERE person = ?1 AND details IS NOT NULL RETURNING position",
        )?;
        let mut note = transaction.prepare_cached(
            "UPDATE retention_erasures SET log_details_erased_at = ?2 WHERE person_id = ?1",
        )?;
        let mut positions = Vec::new();
        for person in persons {
            for position in erase.query_map([person], |row| row.get::<_, i64>(0))? {
                positions.push(position? as u64);
            }
            note.execute(params![person, micros(now)])?;
        }
        positions.sort_unstable();
        Ok(positions)
    }

    fn insert_correction(&mut self, correction: &NewCorrection<'_>) -> StoreResult<i64> {
        corrections::insert(self.transaction, correction)
    }

    fn claim_correction_fields(
        &mut self,
        correction_id: i64,
        record_id: RecordId,
        fields: &[String],
    ) -> StoreResult<Vec<(String, i64)>> {
        corrections::claim_fields(self.transaction, correction_id, record_id, fields)
    }

    fn release_correction_fields(&mut self, correction_id: i64) -> StoreResult<()> {
        corrections::release_fields(self.transaction, correction_id)
    }

    fn answer_correction(&mut self, id: i64, answer: &CorrectionAnswer<'_>) -> StoreResult<bool> {
        corrections::answer(self.transaction, id, answer)
    }

    fn insert_pass(&mut self, pass: &NewPass<'_>) -> StoreResult<i64> {
        self.transaction.execute(
            "INSERT INTO passes (person_id, pass_id, key_id, view, issued_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                pass.person_id,
                pass.pass_id,
                pass.key_id,
                pass.view,
                micros(pass.issued_at),
                micros(pass.expires_at)
            ],
        )?;
        Ok(self.transaction.last_insert_rowid())
    }

    fn set_pass_text(&mut self, id: i64, text: &str) -> StoreResult<()> {
        self.transaction.execute(
            "UPDATE passes SET text = ?2 WHERE id = ?1",
            params![id, text],
        )?;
        Ok(())
    }

    fn revoke_pass(&mut self, id: i64, person: PersonId, at: DateTime<Utc>) -> StoreResult<bool> {
        let changed = self.transaction.execute(
            "UPDATE passes SET revoked_at = COALESCE(revoked_at, ?3) WHERE id = ?1 AND person_id = ?2",
            params![id, person, micros(at)],
        )?;
        Ok(changed > 0)
    }

    fn insert_events(&mut self, events: &[NewEvent]) -> StoreResult<Vec<EventRow>> {
        events::insert_events(self.transaction, events)
    }

    fn person_versions_in(&mut self, person: PersonId) -> StoreResult<Vec<StoredVersion>> {
        events::person_versions(self.transaction, person)
    }

    fn status_snapshots(&mut self, persons: &[PersonId]) -> StoreResult<Vec<(PersonId, String)>> {
        events::status_snapshots(self.transaction, persons)
    }

    fn set_status_snapshots(&mut self, snapshots: &[(PersonId, String)]) -> StoreResult<()> {
        events::set_status_snapshots(self.transaction, snapshots)
    }

    fn insert_subscription(&mut self, subscription: &NewSubscription<'_>) -> StoreResult<i64> {
        events::insert_subscription(self.transaction, subscription)
    }

    fn delete_subscription(&mut self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        events::delete_subscription(self.transaction, id, at)
    }

    fn queue_deliveries(
        &mut self,
        subscription: i64,
        through: i64,
        events: &[(i64, Option<PersonId>)],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        events::queue_deliveries(self.transaction, subscription, through, events, at)
    }

    fn fail_delivery(
        &mut self,
        subscription: i64,
        position: i64,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
        dead_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        events::fail_delivery(
            self.transaction,
            subscription,
            position,
            attempts,
            next_attempt_at,
            error,
            dead_at,
        )
    }

    fn delete_delivery(&mut self, subscription: i64, position: i64) -> StoreResult<()> {
        events::delete_delivery(self.transaction, subscription, position)
    }

    fn replay_dead(
        &mut self,
        subscription: i64,
        position: Option<i64>,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        events::replay_dead(self.transaction, subscription, position, at)
    }
}

fn decision_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LinkDecision> {
    Ok(LinkDecision {
        id: row.get(0)?,
        kind: row.get(1)?,
        person_id: row.get(2)?,
        other_person_id: row.get(3)?,
        record_id: row.get(4)?,
        actor: row.get(5)?,
        reason: row.get(6)?,
        evidence: violations_json(&row.get::<_, String>(7)?),
        decided_at: from_micros(row.get(8)?),
    })
}

fn review_item_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReviewItem> {
    Ok(ReviewItem {
        id: row.get(0)?,
        kind: row.get(1)?,
        person_ids: serde_json::from_str(&row.get::<_, String>(2)?).unwrap_or_default(),
        record_id: row.get(3)?,
        evidence: violations_json(&row.get::<_, String>(4)?),
        status: row.get(5)?,
        created_at: from_micros(row.get(6)?),
    })
}

fn quarantine_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<QuarantineItem> {
    Ok(QuarantineItem {
        id: row.get(0)?,
        received_at: from_micros(row.get(1)?),
        origin: row.get(2)?,
        line_number: row.get::<_, Option<i64>>(3)?.map(|number| number as u64),
        source: row.get(4)?,
        source_ref: row.get(5)?,
        raw: row.get(6)?,
        violations: violations_json(&row.get::<_, String>(7)?),
        status: QuarantineStatus::from_code(&row.get::<_, String>(8)?)
            .unwrap_or(QuarantineStatus::Open),
        resolved_at: row.get::<_, Option<i64>>(9)?.map(from_micros),
        resolved_record_id: row.get(10)?,
    })
}

const QUARANTINE_COLUMNS: &str = "id, received_at, origin, line_number, source, source_ref, raw, violations, status, resolved_at, resolved_record_id";

impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn write(&self, work: &mut dyn FnMut(&mut dyn WriteTx) -> StoreResult<()>) -> StoreResult<()> {
        self.transact(true, work)
    }

    /// A transaction of the log file alone: a commit here leaves the main file, and so the
    /// page caches of its readers, as they were.
    fn append_access(&self, entries: &[crate::AccessAppend]) -> StoreResult<Vec<u64>> {
        let mut positions = Vec::new();
        self.transact(false, &mut |tx| {
            positions = crate::access_log::append_access(tx, entries)?;
            Ok(())
        })?;
        Ok(positions)
    }

    fn person(&self, id: PersonId) -> StoreResult<Option<PersonRow>> {
        self.read(|connection| {
            Ok(connection
                .query_row(
                    "SELECT id, created_at, merged_into FROM persons WHERE id = ?1",
                    [id],
                    |row| {
                        Ok(PersonRow {
                            id: row.get(0)?,
                            created_at: from_micros(row.get(1)?),
                            merged_into: row.get(2)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn person_versions(&self, id: PersonId) -> StoreResult<Vec<StoredVersion>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT r.id, r.source, r.source_ref, r.revision, r.action, r.category, r.received_at,
                        r.observed_at, r.valid_from, r.valid_to, r.outcome, r.raw
                 FROM record_keys k JOIN records r ON r.key_id = k.key_id
                 WHERE k.person_id = ?1 ORDER BY r.id",
            )?;
            let rows = statement.query_map([id], |row| {
                Ok(StoredVersion {
                    record_id: row.get(0)?,
                    source: row.get(1)?,
                    source_ref: row.get(2)?,
                    revision: row.get(3)?,
                    action: action_from(&row.get::<_, String>(4)?),
                    category: row.get(5)?,
                    received_at: from_micros(row.get(6)?),
                    observed_at: row.get::<_, Option<i64>>(7)?.map(from_micros),
                    valid_from: parse_date(row.get(8)?),
                    valid_to: parse_date(row.get(9)?),
                    outcome: Outcome::from_code(&row.get::<_, String>(10)?).unwrap_or(Outcome::Accepted),
                    raw: row.get(11)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn person_identifiers(&self, id: PersonId) -> StoreResult<Vec<StrongKey>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT kind, value FROM identifiers WHERE person_id = ?1 ORDER BY kind, value",
            )?;
            let rows = statement.query_map([id], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?;
            let mut keys = Vec::new();
            for row in rows {
                let (kind, value) = row?;
                if let Some(kind) = KeyKind::from_code(&kind) {
                    keys.push(StrongKey::new(kind, value));
                }
            }
            Ok(keys)
        })
    }

    fn person_decisions(&self, id: PersonId) -> StoreResult<Vec<LinkDecision>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id, kind, person_id, other_person_id, record_id, actor, reason, evidence, decided_at
                 FROM link_decisions WHERE person_id = ?1 OR other_person_id = ?1 ORDER BY id",
            )?;
            let rows = statement.query_map([id], decision_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn decision(&self, id: i64) -> StoreResult<Option<LinkDecision>> {
        self.read(|connection| {
            Ok(connection
                .query_row(
                    "SELECT id, kind, person_id, other_person_id, record_id, actor, reason, evidence, decided_at
                     FROM link_decisions WHERE id = ?1",
                    [id],
                    decision_from_row,
                )
                .optional()?)
        })
    }

    fn review_item(&self, id: i64) -> StoreResult<Option<ReviewItem>> {
        self.read(|connection| {
            Ok(connection
                .query_row(
                    "SELECT id, kind, person_ids, record_id, evidence, status, created_at FROM review_items WHERE id = ?1",
                    [id],
                    review_item_from_row,
                )
                .optional()?)
        })
    }

    fn find_by_identifier(&self, kind: Option<KeyKind>, value: &str) -> StoreResult<Vec<PersonId>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT DISTINCT person_id FROM identifiers WHERE search_value = ?1 AND (?2 IS NULL OR kind = ?2)
                 ORDER BY person_id LIMIT 100",
            )?;
            let rows = statement.query_map(params![value, kind.map(KeyKind::code)], |row| row.get(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn find_by_name(&self, name_keys: &[String], birth_year: i32) -> StoreResult<Vec<PersonId>> {
        let Some((first, rest)) = name_keys.split_first() else {
            return Ok(Vec::new());
        };
        self.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT person_id FROM name_keys WHERE name_key = ?1 AND birth_year = ?2 ORDER BY person_id LIMIT 1000",
            )?;
            let mut check = connection.prepare_cached(
                "SELECT 1 FROM name_keys WHERE name_key = ?1 AND birth_year = ?2 AND person_id = ?3",
            )?;
            let candidates: Vec<PersonId> = statement
                .query_map(params![first, birth_year], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let mut found = Vec::new();
            for person in candidates {
                let mut all = true;
                for key in rest {
                    if check.query_row(params![key, birth_year, person], |_| Ok(())).optional()?.is_none() {
                        all = false;
                        break;
                    }
                }
                if all {
                    found.push(person);
                }
            }
            Ok(found)
        })
    }

    fn assignments(&self, sink: &mut dyn FnMut(&str, &str, Option<PersonId>)) -> StoreResult<()> {
        self.read(|connection| {
            let mut statement = connection.prepare(
                "SELECT source, source_ref, person_id FROM record_keys ORDER BY source, source_ref",
            )?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let source: String = row.get(0)?;
                let source_ref: String = row.get(1)?;
                sink(&source, &source_ref, row.get(2)?);
            }
            Ok(())
        })
    }

    fn quarantine_list(
        &self,
        status: Option<QuarantineStatus>,
        after_id: i64,
        limit: usize,
    ) -> StoreResult<Vec<QuarantineItem>> {
        self.read(|connection| {
            let sql = format!(
                "SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE id > ?1 AND (?2 IS NULL OR status = ?2) ORDER BY id LIMIT ?3"
            );
            let mut statement = connection.prepare_cached(&sql)?;
            let rows = statement.query_map(
                params![after_id, status.map(QuarantineStatus::code), limit as i64],
                quarantine_from_row,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn quarantine_get(&self, id: i64) -> StoreResult<Option<QuarantineItem>> {
        self.read(|connection| {
            let sql = format!("SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE id = ?1");
            Ok(connection
                .query_row(&sql, [id], quarantine_from_row)
                .optional()?)
        })
    }

    fn review_items(&self, status: &str, limit: usize) -> StoreResult<Vec<ReviewItem>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id, kind, person_ids, record_id, evidence, status, created_at FROM review_items
                 WHERE status = ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = statement.query_map(params![status, limit as i64], review_item_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn counts(&self) -> StoreResult<StoreCounts> {
        self.read(|connection| {
            let count = |sql: &str| -> StoreResult<u64> {
                Ok(connection.query_row(sql, [], |row| row.get::<_, i64>(0))? as u64)
            };
            Ok(StoreCounts {
                persons: count("SELECT count(*) FROM persons WHERE merged_into IS NULL")?,
                records: count("SELECT count(*) FROM records")?,
                record_keys: count("SELECT count(*) FROM record_keys")?,
                quarantine_open: count("SELECT count(*) FROM quarantine WHERE status = 'open'")?,
                review_open: count("SELECT count(*) FROM review_items WHERE status = 'open'")?,
            })
        })
    }

    fn ping(&self) -> StoreResult<()> {
        self.read(|connection| Ok(connection.query_row("SELECT 1", [], |_| Ok(()))?))
    }

    fn access_head(&self) -> StoreResult<Option<Vec<u8>>> {
        self.read(|connection| {
            Ok(connection
                .query_row(
                    "SELECT range FROM access_log_head WHERE id = 1",
                    [],
                    |row| row.get(0),
                )
                .optional()?)
        })
    }

    fn access_rows(&self, from: u64, limit: usize) -> StoreResult<Vec<AccessRow>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {ACCESS_COLUMNS} FROM access_log WHERE position >= ?1 ORDER BY position LIMIT ?2"
            ))?;
            let rows = statement
                .query_map(params![from as i64, limit as i64], access_row_from)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn access_rows_at(&self, positions: &[u64]) -> StoreResult<Vec<AccessRow>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {ACCESS_COLUMNS} FROM access_log WHERE position = ?1"
            ))?;
            let mut rows = Vec::with_capacity(positions.len());
            for &position in positions {
                if let Some(row) = statement
                    .query_row(params![position as i64], access_row_from)
                    .optional()?
                {
                    rows.push(row);
                }
            }
            rows.sort_by_key(|row| row.position);
            Ok(rows)
        })
    }

    fn access_checkpoints(&self) -> StoreResult<Vec<(u64, String)>> {
        self.read(|connection| {
            let mut statement = connection
                .prepare_cached("SELECT size, note FROM access_checkpoints ORDER BY size")?;
            let rows = statement
                .query_map([], |row| Ok((row.get::<_, i64>(0)? as u64, row.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn person_access(
        &self,
        person: PersonId,
        visible_at: DateTime<Utc>,
    ) -> StoreResult<Vec<AccessRow>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {ACCESS_COLUMNS} FROM access_log
                 WHERE person = ?1 AND disclosed_at <= ?2 ORDER BY position"
            ))?;
            let rows = statement
                .query_map(params![person, micros(visible_at)], access_row_from)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn resolver_model(&self) -> StoreResult<Option<String>> {
        self.read(|connection| {
            Ok(connection
                .query_row("SELECT model FROM resolver_model WHERE id = 1", [], |row| {
                    row.get(0)
                })
                .optional()?)
        })
    }

    fn persons_after(&self, after: PersonId, limit: usize) -> StoreResult<Vec<PersonId>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id FROM persons WHERE id > ?1 AND merged_into IS NULL ORDER BY id LIMIT ?2",
            )?;
            let rows = statement.query_map(params![after, limit as i64], |row| row.get(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn persons_erased_before(&self, before: DateTime<Utc>) -> StoreResult<Vec<PersonId>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT person_id FROM retention_erasures
                 WHERE log_details_erased_at IS NULL AND erased_at <= ?1 ORDER BY person_id",
            )?;
            let rows = statement.query_map([micros(before)], |row| row.get(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn api_key_by_hash(&self, token_hash: &[u8]) -> StoreResult<Option<ApiKeyRow>> {
        self.read(|connection| {
            Ok(connection
                .query_row(
                    &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE token_hash = ?1"),
                    params![token_hash],
                    api_key_from,
                )
                .optional()?)
        })
    }

    fn api_keys(&self) -> StoreResult<Vec<ApiKeyRow>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY id"
            ))?;
            let rows = statement
                .query_map([], api_key_from)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn officer_by_login(&self, login: &str) -> StoreResult<Option<OfficerRow>> {
        self.read(|connection| sqlite_auth::officer_by_login(connection, login))
    }

    fn officers(&self) -> StoreResult<Vec<OfficerRow>> {
        self.read(sqlite_auth::officers)
    }

    fn officer_session(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(OfficerSessionRow, OfficerRow)>> {
        self.read(|connection| sqlite_auth::officer_session(connection, token_hash))
    }

    fn person_sign_in(&self, id_hash: &[u8]) -> StoreResult<Option<PersonSignInRow>> {
        self.read(|connection| sqlite_auth::person_sign_in(connection, id_hash))
    }

    fn person_session(&self, token_hash: &[u8]) -> StoreResult<Option<PersonSessionRow>> {
        self.read(|connection| sqlite_auth::person_session(connection, token_hash))
    }

    fn correction(&self, id: i64) -> StoreResult<Option<CorrectionRow>> {
        self.read(|connection| corrections::get(connection, id))
    }

    fn corrections(&self, filter: &CorrectionFilter<'_>) -> StoreResult<Vec<CorrectionRow>> {
        self.read(|connection| corrections::list(connection, filter))
    }

    fn standing_corrections(&self, person: PersonId) -> StoreResult<Vec<CorrectionRow>> {
        self.read(|connection| corrections::standing(connection, person))
    }

    fn share_code_by_hash(&self, code_hash: &[u8]) -> StoreResult<Option<ShareCodeRow>> {
        self.read(|connection| {
            Ok(connection
                .prepare_cached(&format!(
                    "SELECT {SHARE_CODE_COLUMNS} FROM share_codes WHERE code_hash = ?1"
                ))?
                .query_row(params![code_hash], share_code_from)
                .optional()?)
        })
    }

    fn person_share_codes(&self, person_id: PersonId) -> StoreResult<Vec<ShareCodeRow>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {SHARE_CODE_COLUMNS} FROM share_codes WHERE person_id = ?1 ORDER BY id DESC"
            ))?;
            let rows = statement
                .query_map(params![person_id], share_code_from)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn pass(&self, id: i64) -> StoreResult<Option<PassRow>> {
        self.read(|connection| {
            Ok(connection
                .query_row(
                    &format!("SELECT {PASS_COLUMNS} FROM passes WHERE id = ?1"),
                    params![id],
                    pass_from,
                )
                .optional()?)
        })
    }

    fn person_passes(&self, person: PersonId) -> StoreResult<Vec<PassRow>> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {PASS_COLUMNS} FROM passes WHERE person_id = ?1 ORDER BY id DESC"
            ))?;
            let rows = statement
                .query_map(params![person], pass_from)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn pass_statuses(&self) -> StoreResult<PassStatuses> {
        self.read(|connection| {
            let highest_index: i64 =
                connection.query_row("SELECT COALESCE(MAX(id), 0) FROM passes", [], |row| {
                    row.get(0)
                })?;
            let mut statement = connection
                .prepare_cached("SELECT id FROM passes WHERE revoked_at IS NOT NULL ORDER BY id")?;
            let revoked = statement
                .query_map([], |row| row.get(0))?
                .collect::<Result<Vec<i64>, _>>()?;
            Ok(PassStatuses {
                highest_index,
                revoked,
            })
        })
    }

    fn events_after(&self, after: i64, limit: usize) -> StoreResult<Vec<EventRow>> {
        self.read(|connection| events::events_after(connection, after, limit))
    }

    fn events_head(&self) -> StoreResult<i64> {
        self.read(events::events_head)
    }

    fn subscriptions(&self) -> StoreResult<Vec<SubscriptionRow>> {
        self.read(events::subscriptions)
    }

    fn subscription(&self, id: i64) -> StoreResult<Option<SubscriptionRow>> {
        self.read(|connection| events::subscription(connection, id))
    }

    fn webhook_cursor(&self, subscription: i64) -> StoreResult<i64> {
        self.read(|connection| events::webhook_cursor(connection, subscription))
    }

    fn deliveries(
        &self,
        subscription: i64,
        filter: DeliveryFilter,
        limit: usize,
    ) -> StoreResult<Vec<DeliveryRow>> {
        self.read(|connection| events::deliveries(connection, subscription, filter, limit))
    }
    fn aggregate(&self, query: AggregateQuery) -> StoreResult<Vec<AggregateRow>> {
        let sql = crate::aggregates::aggregate_sql(query, sqlite_json_text);
        self.read(|connection| {
            let mut statement = connection.prepare(&sql)?;
            let rows = statement
                .query_map([], |row| {
                    Ok(AggregateRow {
                        key: row.get(0)?,
                        group: row.get(1)?,
                        count: row.get::<_, i64>(2)?.max(0) as u64,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }
}

/// The text at `path` of the raw record (stored as a BLOB: cast, or SQLite would read it as
/// its binary JSONB form).
fn sqlite_json_text(path: &[&str]) -> String {
    format!("json_extract(CAST(r.raw AS TEXT), '$.{}')", path.join("."))
}

const PASS_COLUMNS: &str =
    "id, person_id, pass_id, key_id, view, issued_at, expires_at, text, revoked_at";

fn pass_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<PassRow> {
    Ok(PassRow {
        id: row.get(0)?,
        person_id: row.get(1)?,
        pass_id: row.get(2)?,
        key_id: row.get(3)?,
        view: row.get(4)?,
        issued_at: from_micros(row.get(5)?),
        expires_at: from_micros(row.get(6)?),
        text: row.get(7)?,
        revoked_at: row.get::<_, Option<i64>>(8)?.map(from_micros),
    })
}

const API_KEY_COLUMNS: &str = "id, name, agency, role, token_hash, created_at, revoked_at";

const SHARE_CODE_COLUMNS: &str = "id, person_id, code_hash, purpose, created_at, expires_at, revoked_at, failed_checks, locked_at";

fn share_code_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<ShareCodeRow> {
    Ok(ShareCodeRow {
        id: row.get(0)?,
        person_id: row.get(1)?,
        code_hash: row.get(2)?,
        purpose: row.get(3)?,
        created_at: from_micros(row.get(4)?),
        expires_at: from_micros(row.get(5)?),
        revoked_at: row.get::<_, Option<i64>>(6)?.map(from_micros),
        failed_checks: u32::try_from(row.get::<_, i64>(7)?).unwrap_or(u32::MAX),
        locked_at: row.get::<_, Option<i64>>(8)?.map(from_micros),
    })
}

fn api_key_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKeyRow> {
    Ok(ApiKeyRow {
        id: row.get(0)?,
        name: row.get(1)?,
        agency: row.get(2)?,
        role: row.get(3)?,
        token_hash: row.get(4)?,
        created_at: from_micros(row.get(5)?),
        revoked_at: row.get::<_, Option<i64>>(6)?.map(from_micros),
    })
}

const ACCESS_COLUMNS: &str = "position, person, at, disclosed_at, salt, details, hashes";

fn access_row_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<AccessRow> {
    Ok(AccessRow {
        position: row.get::<_, i64>(0)? as u64,
        person: row.get(1)?,
        at: from_micros(row.get(2)?),
        disclosed_at: from_micros(row.get(3)?),
        salt: row.get(4)?,
        details: row.get(5)?,
        hashes: row.get(6)?,
    })
}
