//! The access log as a service over a store: append access events with fresh salts, sign
//! checkpoints with the log's key, serve inclusion and consistency proofs, and verify the whole
//! log against the published keys (`dprofile audit verify`).

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use dprofile_audit::{
    AccessEntry, CheckpointError, Hash, LogKey, LogRow, ProofError, ProvenEntry, SALT_LEN,
    SignedCheckpoint, TrustedLogKeys, VerifyReport, verify_log,
};
use dprofile_store::{AccessAppend, AccessRow, Store, StoreError, StoreHashReader, WriteTx};
use rand::TryRngCore as _;

use crate::group_commit::{
    DEFAULT_MAX_BATCH_ENTRIES, GroupCommitError, GroupCommitStats, GroupCommitter,
};

/// The origin (and key name) of the log unless configured otherwise.
pub const DEFAULT_ORIGIN: &str = "dprofile/access-log";

/// Rows read per query while verifying.
const VERIFY_PAGE: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum AccessLogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("proof: {0}")]
    Proof(#[from] ProofError),
    #[error("log key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error("the access log is empty: nothing to prove yet")]
    Empty,
    #[error(transparent)]
    GroupCommit(#[from] GroupCommitError),
}

/// One event to log, and how long the person waits to see it (law-enforcement reads).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRecord {
    pub entry: AccessEntry,
    pub disclosure_delay: Duration,
}

pub struct AccessLog {
    store: Arc<dyn Store>,
    key: LogKey,
    /// Where [`AccessLog::record`] goes: concurrent callers share transactions.
    sink: Sink,
}

enum Sink {
    GroupCommit(GroupCommitter),
    /// Benchmarks only: nothing is written, to measure what logging costs. The CLI never
    /// builds this (the constructor exists only with the `bench-unlogged` feature).
    #[cfg(feature = "bench-unlogged")]
    Discard(std::sync::atomic::AtomicU64),
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AccessLog")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Reads the log key from `path`, creating a new one (readable by the owner only) if the file
/// does not exist.
pub fn load_or_create_key(path: &Path, origin: &str) -> Result<LogKey, AccessLogError> {
    let key_file_error = |message: String| AccessLogError::KeyFile {
        path: path.display().to_string(),
        message,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(LogKey::from_secret(text.trim())?),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            rand::rngs::OsRng
                .try_fill_bytes(&mut seed)
                .map_err(|error| key_file_error(format!("no randomness for a new key: {error}")))?;
            let key = LogKey::from_seed(origin, seed)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|error| key_file_error(error.to_string()))?;
            }
            write_private(path, key.secret()).map_err(|error| key_file_error(error.to_string()))?;
            Ok(key)
        }
        Err(error) => Err(key_file_error(error.to_string())),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

impl AccessLog {
    /// The log over `store`, with group commit of concurrent callers' appends.
    pub fn new(store: Arc<dyn Store>, key: LogKey) -> AccessLog {
        let committer = GroupCommitter::new(Arc::clone(&store), DEFAULT_MAX_BATCH_ENTRIES);
        AccessLog {
            store,
            key,
            sink: Sink::GroupCommit(committer),
        }
    }

    /// A log that writes nothing and answers made-up positions: only to measure, side by side
    /// with [`AccessLog::new`], what logging adds to a request. Never reachable from the
    /// server the CLI runs (the constructor is compiled only with `bench-unlogged`).
    #[cfg(feature = "bench-unlogged")]
    pub fn unlogged_for_benchmarks(store: Arc<dyn Store>, key: LogKey) -> AccessLog {
        AccessLog {
            store,
            key,
            sink: Sink::Discard(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    /// What group commit did so far (batches, entries, batch sizes).
    pub fn group_commit_stats(&self) -> GroupCommitStats {
        match &self.sink {
            Sink::GroupCommit(committer) => committer.stats(),
            #[cfg(feature = "bench-unlogged")]
            Sink::Discard(_) => GroupCommitStats::default(),
        }
    }

    pub fn key(&self) -> &LogKey {
        &self.key
    }

    /// Appends events with fresh salts, adjacent and in order, and waits until they are
    /// committed; returns their positions. Concurrent callers share one transaction (group
    /// commit); if it fails, every caller in it gets the error.
    pub fn record(&self, records: &[AccessRecord]) -> Result<Vec<u64>, AccessLogError> {
        let appends = salted(records);
        match &self.sink {
            Sink::GroupCommit(committer) => Ok(committer.append(appends)?),
            #[cfg(feature = "bench-unlogged")]
            Sink::Discard(next) => {
                let first =
                    next.fetch_add(appends.len() as u64, std::sync::atomic::Ordering::Relaxed);
                Ok((first..first + appends.len() as u64).collect())
            }
        }
    }

    /// Appends events with fresh salts inside the caller's transaction `tx`: they commit (or
    /// not) with whatever else it writes, e.g. the records an ingest chunk stores. Not grouped
    /// with other callers; the head row's lock keeps positions unique all the same.
    pub fn record_in(
        &self,
        tx: &mut dyn WriteTx,
        records: &[AccessRecord],
    ) -> Result<Vec<u64>, StoreError> {
        match &self.sink {
            Sink::GroupCommit(_) => Self::append_in(tx, records),
            #[cfg(feature = "bench-unlogged")]
            Sink::Discard(_) => Ok(Vec::new()),
        }
    }

    /// Appends events with fresh salts inside `tx` whatever the log's sink: for work that has
    /// no `AccessLog` at hand and whose entry must commit with it or not at all (retention's
    /// tombstones and its records of erased details).
    pub fn append_in(
        tx: &mut dyn WriteTx,
        records: &[AccessRecord],
    ) -> Result<Vec<u64>, StoreError> {
        dprofile_store::access_log::append_access(tx, &salted(records))
    }

    /// The log's size and root now.
    pub fn head(&self) -> Result<(u64, Hash), AccessLogError> {
        let range = dprofile_store::access_log::decode_head(self.store.access_head()?)?;
        Ok((range.size(), range.root()))
    }

    /// Signs and keeps a checkpoint of the log as it is now, unless the latest one already
    /// covers every entry. Returns the latest checkpoint either way (`None`: empty log).
    pub fn checkpoint(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<SignedCheckpoint>, AccessLogError> {
        let (size, root) = self.head()?;
        if size == 0 {
            return Ok(None);
        }
        let signed = self.key.sign(size, root)?;
        let size_column = i64::try_from(size)
            .map_err(|_| StoreError::Corrupt("log size past 2^63".to_owned()))?;
        self.store
            .write(&mut |tx| tx.insert_access_checkpoint(size_column, &signed.note, now))?;
        Ok(Some(signed))
    }

    /// The audit path of the entry at `position` in the tree of `size` entries.
    pub fn inclusion_proof(&self, position: u64, size: u64) -> Result<Vec<Hash>, AccessLogError> {
        let reader = StoreHashReader {
            store: self.store.as_ref(),
        };
        Ok(dprofile_audit::inclusion_proof(size, position, &reader)?)
    }

    /// The proof that the tree of `size` entries extends that of `old_size`.
    pub fn consistency_proof(&self, old_size: u64, size: u64) -> Result<Vec<Hash>, AccessLogError> {
        let reader = StoreHashReader {
            store: self.store.as_ref(),
        };
        Ok(dprofile_audit::consistency_proof(size, old_size, &reader)?)
    }

    /// The person's entries visible at `now`.
    pub fn for_person(
        &self,
        person: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccessRow>, AccessLogError> {
        Ok(self.store.person_access(person, now)?)
    }

    /// The person's entries visible at `now`, each with an inclusion proof into one signed
    /// checkpoint, so the person can check them offline with the published key. Signs a new
    /// checkpoint only when the latest one does not cover the entries yet. Entries whose
    /// details retention erased are left out (there is nothing left to show).
    pub fn person_view(
        &self,
        person: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<ProvenEntry>, AccessLogError> {
        let rows = self.store.person_access(person, now)?;
        let Some(last) = rows.last().map(|row| row.position) else {
            return Ok(Vec::new());
        };
        let latest = self.store.access_checkpoints()?.pop();
        let (size, note) = match latest {
            Some((size, note)) if size > last => (size, note),
            _ => {
                let signed = self.checkpoint(now)?.ok_or(AccessLogError::Empty)?;
                (signed.size, signed.note)
            }
        };
        let mut view = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(input) = row.to_log_row().leaf_input else {
                continue;
            };
            let proof = self.inclusion_proof(row.position, size)?;
            view.push(ProvenEntry::new(row.position, &input, &proof, &note));
        }
        Ok(view)
    }
}

fn salted(records: &[AccessRecord]) -> Vec<AccessAppend> {
    records
        .iter()
        .map(|record| AccessAppend {
            entry: record.entry.clone(),
            salt: rand::random::<[u8; SALT_LEN]>(),
            disclosed_at: record.entry.at + record.disclosure_delay,
        })
        .collect()
}

/// Recomputes the whole log in `store` and checks it against every stored checkpoint signed by
/// one of `verifier_keys` (the published keys: never taken from the store being checked).
pub fn verify_store(
    store: &dyn Store,
    verifier_keys: &[String],
) -> Result<VerifyReport, AccessLogError> {
    let trusted = TrustedLogKeys::new(verifier_keys.iter().map(String::as_str))?;
    let origin = verifier_keys
        .first()
        .and_then(|key| key.split_once('+'))
        .map_or(DEFAULT_ORIGIN, |(name, _)| name)
        .to_owned();
    let notes: Vec<String> = store
        .access_checkpoints()?
        .into_iter()
        .map(|(_, note)| note)
        .collect();
    let mut failure: Option<StoreError> = None;
    let rows = PagedRows {
        store,
        next: 0,
        page: Vec::new().into_iter(),
        done: false,
        failure: &mut failure,
    };
    let report = verify_log(rows, &notes, &origin, &trusted);
    match failure {
        Some(error) => Err(error.into()),
        None => Ok(report),
    }
}

/// The log's rows in position order, read a page at a time so verification holds O(page)
/// rows in memory whatever the log's size.
struct PagedRows<'a> {
    store: &'a dyn Store,
    next: u64,
    page: std::vec::IntoIter<AccessRow>,
    done: bool,
    failure: &'a mut Option<StoreError>,
}

impl Iterator for PagedRows<'_> {
    type Item = LogRow;

    fn next(&mut self) -> Option<LogRow> {
        loop {
            if let Some(row) = self.page.next() {
                self.next = row.position + 1;
                return Some(row.to_log_row());
            }
            if self.done {
                return None;
            }
            match self.store.access_rows(self.next, VERIFY_PAGE) {
                Ok(rows) => {
                    self.done = rows.len() < VERIFY_PAGE;
                    self.page = rows.into_iter();
                }
                Err(error) => {
                    *self.failure = Some(error);
                    self.done = true;
                    return None;
                }
            }
        }
    }
}
