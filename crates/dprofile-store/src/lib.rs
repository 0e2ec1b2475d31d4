//! Storage of the registry behind one trait, [`Store`], with two backends: embedded SQLite
//! (the default, a file in the data directory) and PostgreSQL. Both pass the same contract
//! test suite (`tests/contract.rs`).
//!
//! The store keeps rows; it decides nothing. What a record means and which person it belongs
//! to is decided by `dprofile-pipeline` and handed over as rows inside one write transaction.

pub mod access_log;
pub mod aggregates;
pub mod auth;
pub mod corrections;
pub mod events;
mod postgres_auth;
mod postgres_backend;
mod sqlite_auth;
mod sqlite_backend;
pub mod testing;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use dprofile_domain::Action;
use dprofile_domain::linking::{KeyKind, StrongKey};
use dprofile_domain::profile::VersionView;
use serde::Serialize;

pub use access_log::{AccessAppend, AccessRow, AccessRowWrite, StoreHashReader};
pub use aggregates::{AggregateQuery, AggregateRow};
pub use auth::{NewOfficer, OfficerRow, OfficerSessionRow, PersonSessionRow, PersonSignInRow};
pub use corrections::{
    CorrectionAnswer, CorrectionFilter, CorrectionRow, CorrectionStatus, NewCorrection,
    VersionInForce,
};
pub use events::{
    DeliveryFilter, DeliveryRow, EventRow, NewEvent, NewSubscription, SubscriptionRow,
};
pub use postgres_backend::PostgresStore;
pub use sqlite_backend::{DATABASE_FILE, SqliteStore, access_log_path};

pub type PersonId = i64;
pub type RecordId = i64;
/// A `(source, source_ref)` key, as an integer.
pub type KeyId = i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("cannot open the store: {0}")]
    Open(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// A write was stopped on purpose (failure injection in tests).
    #[error("write aborted: {0}")]
    Aborted(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What happened to one received record; stored with the version and returned per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A key never seen before, now in the profile.
    Accepted,
    /// Same key, revision and content as before: nothing changed.
    Duplicate,
    /// A higher revision replaced the one in force.
    Superseded,
    /// The key was withdrawn by its source.
    Retracted,
    /// A lower revision than the one in force: kept for the record, not in force.
    Stale,
    /// Refused: kept in quarantine with the reasons.
    Quarantined,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Accepted,
        Outcome::Duplicate,
        Outcome::Superseded,
        Outcome::Retracted,
        Outcome::Stale,
        Outcome::Quarantined,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Duplicate => "duplicate",
            Outcome::Superseded => "superseded",
            Outcome::Retracted => "retracted",
            Outcome::Stale => "stale",
            Outcome::Quarantined => "quarantined",
        }
    }

    pub fn from_code(code: &str) -> Option<Outcome> {
        Outcome::ALL
            .into_iter()
            .find(|outcome| outcome.code() == code)
    }
}

/// The state of one `(source, source_ref)` key: the version in force and its person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    /// `None` for a key not stored yet.
    pub key_id: Option<KeyId>,
    /// `None` for a retraction of a key never received.
    pub person_id: Option<PersonId>,
    pub record_id: RecordId,
    pub revision: u32,
    pub action: Action,
    /// The content hash of the version in force.
    pub content_hash: [u8; 32],
}

/// The new state of a key, as it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWrite<'a> {
    /// `None` to create the key.
    pub key_id: Option<KeyId>,
    pub source: &'a str,
    pub source_ref: &'a str,
    pub person_id: Option<PersonId>,
    pub record_id: RecordId,
    pub revision: u32,
    pub action: Action,
}

/// One received version, as it is written. Borrows the received bytes: a chunk's lines are
/// not copied again on their way into the store.
#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    /// Reserved with [`WriteTx::reserve_record_ids`].
    pub id: RecordId,
    pub key_id: KeyId,
    pub source: &'a str,
    pub source_ref: &'a str,
    pub revision: u32,
    pub action: Action,
    pub category: Option<&'a str>,
    pub received_at: DateTime<Utc>,
    pub observed_at: Option<DateTime<Utc>>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub content_hash: [u8; 32],
    /// The bytes exactly as received.
    pub raw: &'a [u8],
    /// JSON array of warnings (unknown fields, failed check digits), if any.
    pub warnings: Option<String>,
    pub outcome: Outcome,
    pub person_id: Option<PersonId>,
}

/// One stored version, as profiles read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredVersion {
    pub record_id: RecordId,
    pub source: String,
    pub source_ref: String,
    pub revision: u32,
    #[serde(serialize_with = "serialize_action")]
    pub action: Action,
    pub category: Option<String>,
    pub received_at: DateTime<Utc>,
    pub observed_at: Option<DateTime<Utc>>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub outcome: Outcome,
    #[serde(skip)]
    pub raw: Vec<u8>,
}

pub(crate) fn serialize_action<S: serde::Serializer>(
    action: &Action,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(action.code())
}

impl VersionView for StoredVersion {
    fn key(&self) -> (&str, &str) {
        (&self.source, &self.source_ref)
    }
    fn revision(&self) -> u32 {
        self.revision
    }
    fn action(&self) -> Action {
        self.action
    }
    fn received_at(&self) -> DateTime<Utc> {
        self.received_at
    }
    fn valid_from(&self) -> Option<NaiveDate> {
        self.valid_from
    }
    fn valid_to(&self) -> Option<NaiveDate> {
        self.valid_to
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonRow {
    pub id: PersonId,
    pub created_at: DateTime<Utc>,
    /// Set when this person was merged into another; reads follow it.
    pub merged_into: Option<PersonId>,
}

/// A strong identifier held by a person, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct IdentifierRow {
    pub key: StrongKey,
    pub person_id: PersonId,
}

/// The text of a search by document: the number alone, whatever the country.
pub fn search_value(key: &StrongKey) -> &str {
    match key.kind {
        KeyKind::Passport | KeyKind::NationalId => key
            .value
            .split_once(':')
            .map_or(key.value.as_str(), |(_, number)| number),
        _ => &key.value,
    }
}

#[derive(Debug, Clone)]
pub struct NewQuarantine {
    pub received_at: DateTime<Utc>,
    pub origin: String,
    pub line_number: Option<u64>,
    pub source: Option<String>,
    pub source_ref: Option<String>,
    pub raw: Vec<u8>,
    /// JSON array of violations.
    pub violations: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineStatus {
    Open,
    Replayed,
}

impl QuarantineStatus {
    pub fn code(self) -> &'static str {
        match self {
            QuarantineStatus::Open => "open",
            QuarantineStatus::Replayed => "replayed",
        }
    }

    pub fn from_code(code: &str) -> Option<QuarantineStatus> {
        match code {
            "open" => Some(QuarantineStatus::Open),
            "replayed" => Some(QuarantineStatus::Replayed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantineItem {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub origin: String,
    pub line_number: Option<u64>,
    pub source: Option<String>,
    pub source_ref: Option<String>,
    #[serde(skip)]
    pub raw: Vec<u8>,
    pub violations: serde_json::Value,
    pub status: QuarantineStatus,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_record_id: Option<RecordId>,
}

/// Actors of automatic decisions start with one of these; any other actor is an officer.
pub const AUTOMATIC_ACTOR_PREFIXES: [&str; 2] = ["rule:", "resolver:"];

/// A decision about which records belong together: automatic merges, officers' merges and
/// splits, review confirmations and rejections. Kept forever with who, when, why and evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkDecision {
    /// Set when read back; ignored when written.
    pub id: i64,
    pub kind: String,
    pub person_id: PersonId,
    pub other_person_id: Option<PersonId>,
    pub record_id: Option<RecordId>,
    pub actor: String,
    pub reason: String,
    pub evidence: serde_json::Value,
    pub decided_at: DateTime<Utc>,
}

/// An agency's API key as stored: never the token, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKeyRow {
    pub id: i64,
    /// What the key is for, as its creator wrote it (`fns batch`).
    pub name: String,
    pub agency: String,
    /// A role of the access policy.
    pub role: String,
    #[serde(skip)]
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new API key's row; the id is given by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub agency: &'a str,
    pub role: &'a str,
    pub token_hash: &'a [u8],
    pub created_at: DateTime<Utc>,
}

/// A person's share code as stored: never the code, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShareCodeRow {
    pub id: i64,
    pub person_id: PersonId,
    #[serde(skip)]
    pub code_hash: Vec<u8>,
    /// `work`, `rent` or `other`: what a checker may see.
    pub purpose: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Checks with this code and a wrong birth date.
    pub failed_checks: u32,
    /// Set when the failed checks reached the limit: the code shows nothing any more.
    pub locked_at: Option<DateTime<Utc>>,
}

/// A new share code's row; the id is given by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewShareCode<'a> {
    pub person_id: PersonId,
    pub code_hash: &'a [u8],
    pub purpose: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A pass to keep; the id (its status-list index) is given by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPass<'a> {
    pub person_id: PersonId,
    /// The pass's own random id (its `cti` claim).
    pub pass_id: &'a [u8],
    /// The signer key's id.
    pub key_id: &'a str,
    /// `status_only` or `status_identity`.
    pub view: &'a str,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An issued pass as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassRow {
    /// Also the pass's index in the status list.
    pub id: i64,
    pub person_id: PersonId,
    pub pass_id: Vec<u8>,
    pub key_id: String,
    pub view: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The signed pass (`DP1:…`).
    pub text: String,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What the status list is built from: how many indexes exist and which are revoked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassStatuses {
    /// The highest pass id (index) given so far; 0 when none.
    pub highest_index: i64,
    /// Every revoked index, ascending.
    pub revoked: Vec<i64>,
}

/// Something a migration officer has to look at, e.g. strong identifiers of two persons met in
/// one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    pub id: i64,
    pub kind: String,
    pub person_ids: Vec<PersonId>,
    pub record_id: Option<RecordId>,
    pub evidence: serde_json::Value,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewReviewItem {
    pub kind: String,
    pub person_ids: Vec<PersonId>,
    pub record_id: Option<RecordId>,
    pub evidence: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Everything a merge moved from one person to another, so that a split can move exactly
/// that back and restore both profiles as they were.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MergeMoves {
    pub key_ids: Vec<KeyId>,
    /// `(kind, value)` of the identifiers that moved.
    pub identifiers: Vec<(String, String)>,
    /// Name-index rows taken from the merged person.
    pub name_keys_moved: Vec<(String, i32)>,
    /// Name-index rows the surviving person did not have before.
    pub name_keys_added: Vec<(String, i32)>,
    /// Persons merged earlier into the merged person, now pointing at the survivor.
    pub redirected_persons: Vec<PersonId>,
}

/// The version in force of one key, as the resolver reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInForce {
    pub key_id: KeyId,
    pub person_id: Option<PersonId>,
    pub action: Action,
    /// The bytes of the version in force, exactly as received.
    pub raw: Vec<u8>,
}

/// What erasing keys removed (retention).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ErasedKeys {
    /// `record_keys` rows.
    pub keys: u64,
    /// `records` rows: every version of those keys.
    pub versions: u64,
    /// Review items that cited one of those versions.
    pub review_items: u64,
    /// Quarantined lines replayed into one of those versions (the same data, as first sent).
    pub quarantine_items: u64,
    /// Decisions that cited one of those versions (the citation is cleared, the decision kept).
    pub decisions_uncited: u64,
}

/// What the search indexes of a person lost when retention rebuilt them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexRemovals {
    pub identifiers: Vec<StrongKey>,
    pub name_rows: Vec<(String, i32)>,
}

/// Row counts for `/metrics` and summaries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    pub persons: u64,
    pub records: u64,
    pub record_keys: u64,
    pub quarantine_open: u64,
    pub review_open: u64,
}

/// The operations of one write transaction. Everything written through one `WriteTx` commits
/// together or not at all: an ingest chunk never half-lands.
pub trait WriteTx {
    /// Current state of each of these keys, in the same order (`None`: never stored).
    fn load_keys(&mut self, keys: &[(&str, &str)]) -> StoreResult<Vec<Option<KeyState>>>;
    /// The person holding each of these strong identifiers, where one does.
    fn load_identifiers(&mut self, keys: &[StrongKey])
    -> StoreResult<HashMap<StrongKey, PersonId>>;
    /// The content hash of one stored version, if that exact version was received before.
    fn load_version_hash(
        &mut self,
        key_id: KeyId,
        revision: u32,
        action: Action,
    ) -> StoreResult<Option<[u8; 32]>>;
    /// Every strong identifier held by these persons.
    fn identifiers_of(&mut self, persons: &[PersonId]) -> StoreResult<Vec<IdentifierRow>>;
    /// Creates `count` persons and returns their ids in ascending order.
    fn create_persons(&mut self, count: usize, now: DateTime<Utc>) -> StoreResult<Vec<PersonId>>;
    /// Reserves ids for `count` new versions, ascending; versions are then written with them.
    fn reserve_record_ids(&mut self, count: usize) -> StoreResult<Vec<RecordId>>;
    /// Appends versions (with reserved ids).
    fn insert_records(&mut self, records: &[NewRecord<'_>]) -> StoreResult<()>;
    /// Inserts new keys (`key_id` `None`) and updates stored ones; returns every key's id, in
    /// order. At most one state per key.
    fn upsert_keys(&mut self, states: &[KeyWrite<'_>]) -> StoreResult<Vec<KeyId>>;
    /// Records that persons hold identifiers (an identifier already held is left as it is).
    fn insert_identifiers(&mut self, rows: &[IdentifierRow]) -> StoreResult<()>;
    /// Indexes persons by name key and birth year (0 when unknown) for search.
    fn insert_name_keys(&mut self, rows: &[(&str, i32, PersonId)]) -> StoreResult<()>;
    /// Moves every key, identifier and name of `from` to `into` and marks `from` merged;
    /// returns what moved.
    fn merge_persons(&mut self, from: PersonId, into: PersonId) -> StoreResult<MergeMoves>;
    /// Moves back what a merge moved and makes `from` a person of its own again.
    fn unmerge_persons(
        &mut self,
        from: PersonId,
        into: PersonId,
        moves: &MergeMoves,
    ) -> StoreResult<()>;
    /// Records that two persons must never be linked automatically again.
    fn add_cannot_link(
        &mut self,
        first: PersonId,
        second: PersonId,
        decision_id: i64,
    ) -> StoreResult<()>;
    /// The pairs among `persons` that must not be linked.
    fn cannot_links(&mut self, persons: &[PersonId]) -> StoreResult<Vec<(PersonId, PersonId)>>;
    /// Writes decisions; returns their ids in order.
    fn insert_decisions(&mut self, decisions: &[LinkDecision]) -> StoreResult<Vec<i64>>;
    /// Closes a review item as `confirmed` or `rejected`.
    fn close_review_item(&mut self, id: i64, status: &str, decision_id: i64) -> StoreResult<()>;
    fn insert_review_items(&mut self, items: &[NewReviewItem]) -> StoreResult<()>;
    /// Keeps refused lines; a line already open in quarantine with the same bytes is not
    /// added twice (a re-run of a batch must not duplicate it). Returns the item ids.
    fn insert_quarantine(&mut self, items: &[NewQuarantine]) -> StoreResult<Vec<i64>>;
    /// Marks a quarantined line as replayed into `record_id`.
    fn resolve_quarantine(
        &mut self,
        id: i64,
        record_id: Option<RecordId>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Replaces the reasons of a quarantined line after a failed replay.
    fn update_quarantine(&mut self, id: i64, raw: &[u8], violations: &str) -> StoreResult<()>;

    /// Locks the access log's head for this transaction and returns its encoded range
    /// (`None` for an empty log). Use [`access_log::append_access`] rather than this.
    fn lock_access_head(&mut self) -> StoreResult<Option<Vec<u8>>>;
    fn set_access_head(&mut self, size: i64, range: &[u8]) -> StoreResult<()>;
    fn insert_access_rows(&mut self, rows: &[AccessRowWrite]) -> StoreResult<()>;
    /// Keeps a signed checkpoint; a second one for the same size is ignored.
    fn insert_access_checkpoint(
        &mut self,
        size: i64,
        note: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Keeps a new API key; returns its id.
    fn insert_api_key(&mut self, key: &NewApiKey<'_>) -> StoreResult<i64>;
    /// Revokes a key at `at`; `false` when no key has that id. Revoking twice keeps the
    /// first time.
    fn revoke_api_key(&mut self, id: i64, at: DateTime<Utc>) -> StoreResult<bool>;

    /// Keeps a new officer; returns its id. A login already taken is a constraint error:
    /// look it up first.
    fn insert_officer(&mut self, officer: &NewOfficer<'_>) -> StoreResult<i64>;
    /// Replaces an officer's password hash; `false` when no officer has that id.
    fn set_officer_password(
        &mut self,
        id: i64,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Disables (`Some(at)`) or enables (`None`) an officer; `false` when there is none.
    fn set_officer_disabled(&mut self, id: i64, at: Option<DateTime<Utc>>) -> StoreResult<bool>;
    /// Counts one failed sign-in, atomically; returns the count after it.
    fn add_officer_failed_attempt(&mut self, id: i64) -> StoreResult<u32>;
    /// Sets the failed-sign-in count and the lock-out (a success resets both).
    fn set_officer_lock(
        &mut self,
        id: i64,
        failed_attempts: u32,
        locked_until: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    fn insert_officer_session(&mut self, session: &OfficerSessionRow) -> StoreResult<()>;
    /// Moves a session's last use to `at` (the idle timeout counts from it).
    fn touch_officer_session(&mut self, token_hash: &[u8], at: DateTime<Utc>) -> StoreResult<()>;
    /// Ends one session; `false` when it is unknown or already ended.
    fn end_officer_session(&mut self, token_hash: &[u8], at: DateTime<Utc>) -> StoreResult<bool>;
    /// Ends every open session of an officer; returns how many.
    fn end_officer_sessions_of(&mut self, officer_id: i64, at: DateTime<Utc>) -> StoreResult<u64>;
    fn insert_person_sign_in(&mut self, sign_in: &PersonSignInRow) -> StoreResult<()>;
    /// Counts one wrong code, atomically; returns the count after it (0: no such sign-in).
    fn add_person_sign_in_failed_attempt(&mut self, id_hash: &[u8]) -> StoreResult<u32>;
    /// Removes a sign-in; `false` when it was already gone (a code is used once).
    fn take_person_sign_in(&mut self, id_hash: &[u8]) -> StoreResult<bool>;
    fn insert_person_session(&mut self, session: &PersonSessionRow) -> StoreResult<()>;
    /// Ends the person session whose token hashes to `token_hash` (signing out); whether one
    /// was open.
    fn end_person_session(&mut self, token_hash: &[u8]) -> StoreResult<bool>;
    /// Deletes sign-ins and person sessions that expired by `now`, and officer sessions
    /// whose absolute expiry passed.
    fn delete_expired_sessions(&mut self, now: DateTime<Utc>) -> StoreResult<()>;

    /// Keeps a new share code; returns its id.
    fn insert_share_code(&mut self, code: &NewShareCode<'_>) -> StoreResult<i64>;
    /// Revokes the person's code `id` at `at`; `false` when the person has no code with that
    /// id. Revoking twice keeps the first time.
    fn revoke_share_code(
        &mut self,
        person_id: PersonId,
        id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Counts one check with a wrong birth date against code `id`; when the count reaches
    /// `lock_after`, locks the code at `at` (a lock is never lifted). Returns the count.
    fn record_share_code_failure(
        &mut self,
        id: i64,
        lock_after: u32,
        at: DateTime<Utc>,
    ) -> StoreResult<u32>;

    /// The frozen resolver model (JSON), if one was set.
    fn resolver_model(&mut self) -> StoreResult<Option<String>>;
    /// Sets the resolver model (JSON).
    fn set_resolver_model(&mut self, model: &str, now: DateTime<Utc>) -> StoreResult<()>;
    /// Replaces the resolver blocking keys of `key_ids` with `rows` (`(block_key, key_id)`;
    /// a key id absent from `rows` is left with none).
    fn replace_resolver_blocks(
        &mut self,
        key_ids: &[KeyId],
        rows: &[(i64, KeyId)],
    ) -> StoreResult<()>;
    /// `(block_key, key_id)` of every key holding one of these blocking keys.
    fn resolver_block_members(&mut self, block_keys: &[i64]) -> StoreResult<Vec<(i64, KeyId)>>;
    /// The version in force of each of these keys (keys not stored are left out).
    fn keys_in_force(&mut self, key_ids: &[KeyId]) -> StoreResult<Vec<KeyInForce>>;
    /// `(key_id, person_id)` of every key linked to one of these persons.
    fn keys_of_persons(&mut self, persons: &[PersonId]) -> StoreResult<Vec<(KeyId, PersonId)>>;
    /// The persons among these that an officer decided about (a merge, split, confirmation
    /// or rejection by someone, not by a rule or the resolver).
    fn persons_with_officer_decisions(
        &mut self,
        persons: &[PersonId],
    ) -> StoreResult<Vec<PersonId>>;

    /// Retention: erases these keys with every version of them (the one exception to
    /// append-only `records`), their resolver blocking keys, the review items that cite one of
    /// their versions, the quarantined lines replayed into them, and the citation of those
    /// versions in decisions.
    fn erase_keys(&mut self, key_ids: &[KeyId]) -> StoreResult<ErasedKeys>;
    /// Retention: removes the person's identifier and name-index rows that are not among
    /// `identifiers` / `name_rows` (what its remaining records still carry); returns them.
    fn retain_person_index(
        &mut self,
        person: PersonId,
        identifiers: &[StrongKey],
        name_rows: &[(String, i32)],
    ) -> StoreResult<IndexRemovals>;
    /// Retention: replaces a decision's evidence (after quoted content was erased from it).
    fn update_decision_evidence(
        &mut self,
        id: i64,
        evidence: &serde_json::Value,
    ) -> StoreResult<()>;
    /// Retention: removes persons with nothing left, and the persons merged into them, their
    /// events and queued webhook deliveries (issue 7), their `cannot_link` pairs and the decisions between removed persons only; notes when each was
    /// erased (`retention_erasures`). Returns the removed person ids.
    fn remove_persons(
        &mut self,
        persons: &[PersonId],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<PersonId>>;
    /// Retention: erases the details and salt of every access-log entry about these persons
    /// (the leaf and tree hashes stay) and notes it in `retention_erasures`. Returns the
    /// positions erased, in order.
    fn erase_access_details(
        &mut self,
        persons: &[PersonId],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<u64>>;
    // --- The person's correction requests (issue 4) ---
    /// Keeps a new correction request; returns its id.
    fn insert_correction(&mut self, correction: &NewCorrection<'_>) -> StoreResult<i64>;
    /// Claims `fields` of `record_id` for the request: one standing request per record and
    /// field. Returns the fields another request holds already, with its id (empty: all
    /// claimed); the caller rolls back when any is held.
    fn claim_correction_fields(
        &mut self,
        correction_id: i64,
        record_id: RecordId,
        fields: &[String],
    ) -> StoreResult<Vec<(String, i64)>>;
    /// Gives back the fields a request claimed (a rejected request disputes nothing).
    fn release_correction_fields(&mut self, correction_id: i64) -> StoreResult<()>;
    /// Writes the answer to a request that is still open; `false` when it is not (answered
    /// already, or no such request).
    fn answer_correction(&mut self, id: i64, answer: &CorrectionAnswer<'_>) -> StoreResult<bool>;
    /// Keeps a new pass (its text still empty); returns its id, which is its status index.
    fn insert_pass(&mut self, pass: &NewPass<'_>) -> StoreResult<i64>;
    /// Sets the signed text of a pass inserted in this transaction.
    fn set_pass_text(&mut self, id: i64, text: &str) -> StoreResult<()>;
    /// Revokes the person's pass `id` at `at`; `false` when the person has no pass `id`.
    /// Revoking twice keeps the first time.
    fn revoke_pass(&mut self, id: i64, person: PersonId, at: DateTime<Utc>) -> StoreResult<bool>;

    // --- The change feed (issue 7) ---
    /// Writes events, giving each the next feed position and its person's next sequence
    /// number; an event whose id is stored already is skipped (the daily job's events have
    /// ids computed from what they are about). Locks the feed's head row until the
    /// transaction ends, so positions follow commit order: write events last in a
    /// transaction. Returns the events written.
    fn insert_events(&mut self, events: &[NewEvent]) -> StoreResult<Vec<EventRow>>;
    /// Every stored version of every key linked to the person, oldest first, as this
    /// transaction sees them (the statuses after a change).
    fn person_versions_in(&mut self, person: PersonId) -> StoreResult<Vec<StoredVersion>>;
    /// The statuses last announced for these persons (JSON), for those that have some.
    fn status_snapshots(&mut self, persons: &[PersonId]) -> StoreResult<Vec<(PersonId, String)>>;
    fn set_status_snapshots(&mut self, snapshots: &[(PersonId, String)]) -> StoreResult<()>;
    /// Keeps a new subscription; returns its id.
    fn insert_subscription(&mut self, subscription: &NewSubscription<'_>) -> StoreResult<i64>;
    /// Ends a subscription (its row stays, its queued deliveries go); `false` when there is
    /// no live subscription with that id.
    fn delete_subscription(&mut self, id: i64, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Queues deliveries of these events (`(position, person)`) for a webhook subscription
    /// and moves its queue cursor to `through`.
    fn queue_deliveries(
        &mut self,
        subscription: i64,
        through: i64,
        events: &[(i64, Option<PersonId>)],
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Notes a failed attempt: the count, when to try again, the error, and `dead_at` when
    /// the delivery is parked in the dead-letter list.
    fn fail_delivery(
        &mut self,
        subscription: i64,
        position: i64,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
        dead_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// A delivery succeeded: its row goes.
    fn delete_delivery(&mut self, subscription: i64, position: i64) -> StoreResult<()>;
    /// Takes parked deliveries (one position, or all) out of the dead-letter list, to be tried
    /// again from `at`; returns how many.
    fn replay_dead(
        &mut self,
        subscription: i64,
        position: Option<i64>,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
}

/// The registry's storage. Implementations are cheap to share across threads.
pub trait Store: Send + Sync {
    fn backend(&self) -> Backend;

    /// Runs `work` in one transaction; commits if it returns `Ok`, rolls back otherwise.
    fn write(&self, work: &mut dyn FnMut(&mut dyn WriteTx) -> StoreResult<()>) -> StoreResult<()>;

    fn person(&self, id: PersonId) -> StoreResult<Option<PersonRow>>;
    /// Every stored version of every key currently linked to the person, oldest first.
    fn person_versions(&self, id: PersonId) -> StoreResult<Vec<StoredVersion>>;
    fn person_identifiers(&self, id: PersonId) -> StoreResult<Vec<StrongKey>>;
    fn person_decisions(&self, id: PersonId) -> StoreResult<Vec<LinkDecision>>;

    /// The share code whose code hashes to `code_hash`, in whatever state.
    fn share_code_by_hash(&self, code_hash: &[u8]) -> StoreResult<Option<ShareCodeRow>>;
    /// The person's share codes, newest first.
    fn person_share_codes(&self, person_id: PersonId) -> StoreResult<Vec<ShareCodeRow>>;
    fn decision(&self, id: i64) -> StoreResult<Option<LinkDecision>>;
    fn review_item(&self, id: i64) -> StoreResult<Option<ReviewItem>>;
    /// Persons holding an identifier of `kind` (any kind if `None`) whose searchable value
    /// is `value` (a document number without its country, or the identifier itself).
    fn find_by_identifier(&self, kind: Option<KeyKind>, value: &str) -> StoreResult<Vec<PersonId>>;
    /// Persons indexed under every one of `name_keys` with birth year `birth_year`.
    fn find_by_name(&self, name_keys: &[String], birth_year: i32) -> StoreResult<Vec<PersonId>>;
    /// The person each key is linked to now, in key order; for `resolve` exports.
    fn assignments(&self, sink: &mut dyn FnMut(&str, &str, Option<PersonId>)) -> StoreResult<()>;

    fn quarantine_list(
        &self,
        status: Option<QuarantineStatus>,
        after_id: i64,
        limit: usize,
    ) -> StoreResult<Vec<QuarantineItem>>;
    fn quarantine_get(&self, id: i64) -> StoreResult<Option<QuarantineItem>>;
    fn review_items(&self, status: &str, limit: usize) -> StoreResult<Vec<ReviewItem>>;
    fn counts(&self) -> StoreResult<StoreCounts>;
    /// Checks that the store answers (for `/healthz`).
    fn ping(&self) -> StoreResult<()>;

    /// The access log's encoded head (its size and right edge), `None` while empty.
    fn access_head(&self) -> StoreResult<Option<Vec<u8>>>;
    /// Up to `limit` rows of the access log from position `from`, in order.
    fn access_rows(&self, from: u64, limit: usize) -> StoreResult<Vec<AccessRow>>;
    /// The rows at these positions (those that exist), in position order.
    fn access_rows_at(&self, positions: &[u64]) -> StoreResult<Vec<AccessRow>>;
    /// Every signed checkpoint, by size.
    fn access_checkpoints(&self) -> StoreResult<Vec<(u64, String)>>;
    /// The person's access entries that may be shown at `visible_at`, in log order.
    fn person_access(
        &self,
        person: PersonId,
        visible_at: DateTime<Utc>,
    ) -> StoreResult<Vec<AccessRow>>;

    /// Appends access events in a transaction of their own; returns their positions.
    fn append_access(&self, entries: &[AccessAppend]) -> StoreResult<Vec<u64>> {
        let mut positions = Vec::new();
        self.write(&mut |tx| {
            positions = access_log::append_access(tx, entries)?;
            Ok(())
        })?;
        Ok(positions)
    }
    /// The frozen resolver model (JSON) the pipeline resolves with, if one was set.
    fn resolver_model(&self) -> StoreResult<Option<String>>;

    /// Up to `limit` persons after `after` (by id) that are not merged into another: the
    /// persons retention looks at, a page at a time.
    fn persons_after(&self, after: PersonId, limit: usize) -> StoreResult<Vec<PersonId>>;
    /// Persons retention erased entirely at or before `before` whose access-log details are
    /// still there.
    fn persons_erased_before(&self, before: DateTime<Utc>) -> StoreResult<Vec<PersonId>>;

    /// The key whose token hashes to `token_hash`, revoked or not.
    fn api_key_by_hash(&self, token_hash: &[u8]) -> StoreResult<Option<ApiKeyRow>>;
    /// Every API key, by id.
    fn api_keys(&self) -> StoreResult<Vec<ApiKeyRow>>;

    fn officer_by_login(&self, login: &str) -> StoreResult<Option<OfficerRow>>;
    /// Every officer, by id.
    fn officers(&self) -> StoreResult<Vec<OfficerRow>>;
    /// The session whose token hashes to `token_hash` (ended or not) and its officer.
    fn officer_session(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(OfficerSessionRow, OfficerRow)>>;
    fn person_sign_in(&self, id_hash: &[u8]) -> StoreResult<Option<PersonSignInRow>>;
    fn person_session(&self, token_hash: &[u8]) -> StoreResult<Option<PersonSessionRow>>;
    // --- The person's correction requests (issue 4) ---
    fn correction(&self, id: i64) -> StoreResult<Option<CorrectionRow>>;
    /// Requests matching `filter`, by id.
    fn corrections(&self, filter: &CorrectionFilter<'_>) -> StoreResult<Vec<CorrectionRow>>;
    /// The standing disputes on the person's facts now: open or accepted requests whose
    /// cited version is still in force for a key linked to the person.
    fn standing_corrections(&self, person: PersonId) -> StoreResult<Vec<CorrectionRow>>;
    /// The pass with this id (status index).
    fn pass(&self, id: i64) -> StoreResult<Option<PassRow>>;
    /// The person's passes, newest first.
    fn person_passes(&self, person: PersonId) -> StoreResult<Vec<PassRow>>;
    /// The highest pass index and the revoked ones, for the status list.
    fn pass_statuses(&self) -> StoreResult<PassStatuses>;
    /// Counts over the versions in force for the analysts' dashboard, grouped in the database
    /// (see [`aggregates`]): never a person's row.
    fn aggregate(&self, query: AggregateQuery) -> StoreResult<Vec<AggregateRow>>;

    // --- The change feed (issue 7) ---
    /// Up to `limit` events after position `after`, in order.
    fn events_after(&self, after: i64, limit: usize) -> StoreResult<Vec<EventRow>>;
    /// The position of the last event written (0: none).
    fn events_head(&self) -> StoreResult<i64>;
    /// Every subscription, deleted ones too, by id.
    fn subscriptions(&self) -> StoreResult<Vec<SubscriptionRow>>;
    fn subscription(&self, id: i64) -> StoreResult<Option<SubscriptionRow>>;
    /// Up to which position a webhook subscription's events were queued (0: none).
    fn webhook_cursor(&self, subscription: i64) -> StoreResult<i64>;
    /// Queued deliveries of a subscription, with their events, by position.
    fn deliveries(
        &self,
        subscription: i64,
        filter: DeliveryFilter,
        limit: usize,
    ) -> StoreResult<Vec<DeliveryRow>>;
}

/// Opens the store a URL names: `postgres://…` or `postgresql://…` for PostgreSQL, anything
/// else is a directory for the embedded SQLite file. Applies pending migrations.
pub fn open(
    database_url: Option<&str>,
    data_dir: &std::path::Path,
) -> StoreResult<std::sync::Arc<dyn Store>> {
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(std::sync::Arc::new(PostgresStore::connect(url)?))
        }
        Some(other) => Err(StoreError::Open(format!(
            "database url `{other}` is not postgres://…: leave it out to use the embedded store"
        ))),
        None => Ok(std::sync::Arc::new(SqliteStore::open_dir(data_dir)?)),
    }
}

pub(crate) fn violations_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}
