//! The PostgreSQL backend, for a country. Each write transaction works in bulk: lookups take
//! arrays (`unnest`), record versions go in by binary `COPY`, so a chunk costs a handful of round
//! trips, not one per record.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use dprofile_domain::Action;
use dprofile_domain::linking::{KeyKind, StrongKey};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, NoTls, Row};

mod corrections;
mod events;

use crate::auth::{NewOfficer, OfficerRow, OfficerSessionRow, PersonSessionRow, PersonSignInRow};
use crate::postgres_auth;
use crate::{
    AccessRow, AccessRowWrite, ApiKeyRow, Backend, CorrectionAnswer, CorrectionFilter,
    CorrectionRow, DeliveryFilter, DeliveryRow, ErasedKeys, EventRow, IdentifierRow, IndexRemovals,
    KeyId, KeyInForce, KeyState, KeyWrite, LinkDecision, MergeMoves, NewApiKey, NewCorrection,
    NewEvent, NewPass, NewQuarantine, NewRecord, NewReviewItem, NewShareCode, NewSubscription,
    Outcome, PassRow, PassStatuses, PersonId, PersonRow, QuarantineItem, QuarantineStatus,
    RecordId, ReviewItem, ShareCodeRow, Store, StoreCounts, StoreError, StoreResult, StoredVersion,
    SubscriptionRow, WriteTx, search_value,
};
use crate::{AggregateQuery, AggregateRow};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "resolver",
        include_str!("../migrations/postgres/0002_resolver.sql"),
    ),
    (
        3,
        "access_log",
        include_str!("../migrations/postgres/0003_access_log.sql"),
    ),
    (
        4,
        "auth",
        include_str!("../migrations/postgres/0004_auth.sql"),
    ),
    (
        5,
        "corrections",
        include_str!("../migrations/postgres/0005_corrections.sql"),
    ),
    (
        6,
        "retention",
        include_str!("../migrations/postgres/0006_retention.sql"),
    ),
    (
        7,
        "officers",
        include_str!("../migrations/postgres/0007_officers.sql"),
    ),
    (
        8,
        "share_codes",
        include_str!("../migrations/postgres/0008_share_codes.sql"),
    ),
    (
        9,
        "passes",
        include_str!("../migrations/postgres/0009_passes.sql"),
    ),
    (
        10,
        "events",
        include_str!("../migrations/postgres/0010_events.sql"),
    ),
    (
        11,
        "deliveries",
        include_str!("../migrations/postgres/0011_deliveries.sql"),
    ),
];

/// Any fixed number: the advisory lock that keeps two processes from migrating at once.
const MIGRATION_LOCK: i64 = 0x6470_726f_6669_6c65;

pub struct PostgresStore {
    url: String,
    // Idle connections; a call takes one or opens a new one, then gives it back. A connection
    // that failed is dropped instead of returned.
    idle: Mutex<Vec<Client>>,
}

impl PostgresStore {
    pub fn connect(url: &str) -> StoreResult<PostgresStore> {
        let mut client = Client::connect(url, NoTls)
            .map_err(|error| StoreError::Open(format!("cannot connect to PostgreSQL: {error}")))?;
        migrate(&mut client)?;
        Ok(PostgresStore {
            url: url.to_owned(),
            idle: Mutex::new(vec![client]),
        })
    }

    fn with_client<T>(&self, work: impl FnOnce(&mut Client) -> StoreResult<T>) -> StoreResult<T> {
        let pooled = self.idle.lock().map_err(poisoned)?.pop();
        let mut client = match pooled {
            Some(client) if !client.is_closed() => client,
            _ => Client::connect(&self.url, NoTls)?,
        };
        let result = work(&mut client);
        if result.is_ok() {
            self.idle.lock().map_err(poisoned)?.push(client);
        }
        result
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Corrupt("a store lock was poisoned by a panic".to_owned())
}

fn migrate(client: &mut Client) -> StoreResult<()> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = (|| -> StoreResult<()> {
        client.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )?;
        for (version, name, sql) in MIGRATIONS {
            let applied = client.query_opt(
                "SELECT version FROM schema_migrations WHERE version = $1",
                &[version],
            )?;
            if applied.is_none() {
                let mut transaction = client.transaction()?;
                transaction.batch_execute(sql)?;
                transaction.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    &[version, name],
                )?;
                transaction.commit()?;
            }
        }
        Ok(())
    })();
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
    result
}

fn action_from(text: &str) -> Action {
    Action::from_code(text).unwrap_or(Action::Upsert)
}

fn hash_from(bytes: Vec<u8>) -> [u8; 32] {
    let mut hash = [0u8; 32];
    if bytes.len() == 32 {
        hash.copy_from_slice(&bytes);
    }
    hash
}

fn key_state_from_row(row: &Row) -> KeyState {
    KeyState {
        key_id: Some(row.get(0)),
        person_id: row.get(3),
        record_id: row.get(4),
        revision: row.get::<_, i32>(5) as u32,
        action: action_from(row.get(6)),
        content_hash: hash_from(row.get(7)),
    }
}

/// Takes `count` values of a table's id sequence, ascending.
fn next_ids(
    transaction: &mut postgres::Transaction<'_>,
    table: &str,
    column: &str,
    count: usize,
) -> StoreResult<Vec<i64>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let rows = transaction.query(
        "SELECT nextval(pg_get_serial_sequence($1, $2)) FROM generate_series(1, $3::bigint)",
        &[&table, &column, &(count as i64)],
    )?;
    let mut ids: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
    ids.sort_unstable();
    Ok(ids)
}

struct PostgresTx<'a, 'b> {
    transaction: &'a mut postgres::Transaction<'b>,
}

impl WriteTx for PostgresTx<'_, '_> {
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

    fn load_keys(&mut self, keys: &[(&str, &str)]) -> StoreResult<Vec<Option<KeyState>>> {
        let sources: Vec<&str> = keys.iter().map(|key| key.0).collect();
        let refs: Vec<&str> = keys.iter().map(|key| key.1).collect();
        let rows = self.transaction.query(
            // LATERAL keeps this an index lookup per key whatever the planner believes about
            // the table's size (a hash join over the whole table would make ingest quadratic).
            "SELECT k.key_id, wanted.source, wanted.source_ref, k.person_id, k.record_id, k.revision, k.action, r.content_hash
             FROM unnest($1::text[], $2::text[]) AS wanted (source, source_ref)
             CROSS JOIN LATERAL (
                 SELECT key_id, person_id, record_id, revision, action FROM record_keys
                 WHERE source = wanted.source AND source_ref = wanted.source_ref
             ) k
             CROSS JOIN LATERAL (SELECT content_hash FROM records WHERE id = k.record_id) r",
            &[&sources, &refs],
        )?;
        let mut found: HashMap<(String, String), KeyState> = rows
            .iter()
            .map(|row| ((row.get(1), row.get(2)), key_state_from_row(row)))
            .collect();
        Ok(keys
            .iter()
            .map(|(source, source_ref)| {
                found.remove(&((*source).to_owned(), (*source_ref).to_owned()))
            })
            .collect())
    }

    fn load_identifiers(
        &mut self,
        keys: &[StrongKey],
    ) -> StoreResult<HashMap<StrongKey, PersonId>> {
        let kinds: Vec<&str> = keys.iter().map(|key| key.kind.code()).collect();
        let values: Vec<&str> = keys.iter().map(|key| key.value.as_str()).collect();
        let rows = self.transaction.query(
            "SELECT wanted.kind, wanted.value, i.person_id
             FROM unnest($1::text[], $2::text[]) AS wanted (kind, value)
             CROSS JOIN LATERAL (
                 SELECT person_id FROM identifiers WHERE kind = wanted.kind AND value = wanted.value
             ) i",
            &[&kinds, &values],
        )?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let kind = KeyKind::from_code(row.get(0))?;
                Some((StrongKey::new(kind, row.get::<_, String>(1)), row.get(2)))
            })
            .collect())
    }

    fn load_version_hash(
        &mut self,
        key_id: KeyId,
        revision: u32,
        action: Action,
    ) -> StoreResult<Option<[u8; 32]>> {
        let revision = revision as i32;
        let row = self.transaction.query_opt(
            "SELECT content_hash FROM records WHERE key_id = $1 AND revision = $2 AND action = $3",
            &[&key_id, &revision, &action.code()],
        )?;
        Ok(row.map(|row| hash_from(row.get(0))))
    }

    fn identifiers_of(&mut self, persons: &[PersonId]) -> StoreResult<Vec<IdentifierRow>> {
        let rows = self.transaction.query(
            "SELECT kind, value, person_id FROM identifiers WHERE person_id = ANY($1)",
            &[&persons],
        )?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let kind = KeyKind::from_code(row.get(0))?;
                Some(IdentifierRow {
                    key: StrongKey::new(kind, row.get::<_, String>(1)),
                    person_id: row.get(2),
                })
            })
            .collect())
    }

    fn create_persons(&mut self, count: usize, now: DateTime<Utc>) -> StoreResult<Vec<PersonId>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let rows = self.transaction.query(
            "INSERT INTO persons (created_at) SELECT $1 FROM generate_series(1, $2::bigint) RETURNING id",
            &[&now, &(count as i64)],
        )?;
        let mut ids: Vec<PersonId> = rows.iter().map(|row| row.get(0)).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn reserve_record_ids(&mut self, count: usize) -> StoreResult<Vec<RecordId>> {
        next_ids(self.transaction, "records", "id", count)
    }

    fn insert_records(&mut self, records: &[NewRecord<'_>]) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let sink = self.transaction.copy_in(
            "COPY records (id, key_id, source, source_ref, revision, action, category, received_at, observed_at,
                 valid_from, valid_to, content_hash, raw, warnings, outcome, person_id) FROM STDIN (FORMAT binary)",
        )?;
        let types = [
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::INT4,
            Type::TEXT,
            Type::TEXT,
            Type::TIMESTAMPTZ,
            Type::TIMESTAMPTZ,
            Type::DATE,
            Type::DATE,
            Type::BYTEA,
            Type::BYTEA,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
        ];
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        for record in records {
            let revision = record.revision as i32;
            let content_hash: &[u8] = &record.content_hash;
            writer.write(&[
                &record.id,
                &record.key_id,
                &record.source,
                &record.source_ref,
                &revision,
                &record.action.code(),
                &record.category,
                &record.received_at,
                &record.observed_at,
                &record.valid_from,
                &record.valid_to,
                &content_hash,
                &record.raw,
                &record.warnings,
                &record.outcome.code(),
                &record.person_id,
            ])?;
        }
        writer.finish()?;
        Ok(())
    }

    fn upsert_keys(&mut self, states: &[KeyWrite<'_>]) -> StoreResult<Vec<KeyId>> {
        let new_count = states.iter().filter(|state| state.key_id.is_none()).count();
        let mut fresh_ids =
            next_ids(self.transaction, "record_keys", "key_id", new_count)?.into_iter();
        let mut ids = Vec::with_capacity(states.len());
        let mut inserted: Vec<(KeyId, &KeyWrite<'_>)> = Vec::new();
        let mut updated: Vec<(KeyId, &KeyWrite<'_>)> = Vec::new();
        for state in states {
            match state.key_id {
                Some(key_id) => {
                    ids.push(key_id);
                    updated.push((key_id, state));
                }
                None => {
                    let key_id = fresh_ids.next().ok_or_else(|| {
                        StoreError::Corrupt("the key id sequence returned too few ids".to_owned())
                    })?;
                    ids.push(key_id);
                    inserted.push((key_id, state));
                }
            }
        }
        for (rows, sql) in [
            (
                &inserted,
                "INSERT INTO record_keys (key_id, source, source_ref, person_id, record_id, revision, action)
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int4[], $7::text[])",
            ),
            (
                &updated,
                "UPDATE record_keys k SET person_id = u.person_id, record_id = u.record_id, revision = u.revision, action = u.action
                 FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int4[], $7::text[])
                      AS u (key_id, source, source_ref, person_id, record_id, revision, action)
                 WHERE k.key_id = u.key_id",
            ),
        ] {
            if rows.is_empty() {
                continue;
            }
            let key_ids: Vec<i64> = rows.iter().map(|(key_id, _)| *key_id).collect();
            let sources: Vec<&str> = rows.iter().map(|(_, state)| state.source).collect();
            let refs: Vec<&str> = rows.iter().map(|(_, state)| state.source_ref).collect();
            let persons: Vec<Option<i64>> = rows.iter().map(|(_, state)| state.person_id).collect();
            let record_ids: Vec<i64> = rows.iter().map(|(_, state)| state.record_id).collect();
            let revisions: Vec<i32> = rows.iter().map(|(_, state)| state.revision as i32).collect();
            let actions: Vec<&str> = rows.iter().map(|(_, state)| state.action.code()).collect();
            self.transaction.execute(sql, &[&key_ids, &sources, &refs, &persons, &record_ids, &revisions, &actions])?;
        }
        Ok(ids)
    }

    fn insert_identifiers(&mut self, rows: &[IdentifierRow]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let kinds: Vec<&str> = rows.iter().map(|row| row.key.kind.code()).collect();
        let values: Vec<&str> = rows.iter().map(|row| row.key.value.as_str()).collect();
        let search: Vec<&str> = rows.iter().map(|row| search_value(&row.key)).collect();
        let persons: Vec<i64> = rows.iter().map(|row| row.person_id).collect();
        self.transaction.execute(
            "INSERT INTO identifiers (kind, value, search_value, person_id)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[])
             ON CONFLICT DO NOTHING",
            &[&kinds, &values, &search, &persons],
        )?;
        Ok(())
    }

    fn insert_name_keys(&mut self, rows: &[(&str, i32, PersonId)]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = rows.iter().map(|row| row.0).collect();
        let years: Vec<i32> = rows.iter().map(|row| row.1).collect();
        let persons: Vec<i64> = rows.iter().map(|row| row.2).collect();
        self.transaction.execute(
            "INSERT INTO name_keys (name_key, birth_year, person_id)
             SELECT * FROM unnest($1::text[], $2::int4[], $3::int8[]) ON CONFLICT DO NOTHING",
            &[&keys, &years, &persons],
        )?;
        Ok(())
    }

    fn merge_persons(&mut self, from: PersonId, into: PersonId) -> StoreResult<MergeMoves> {
        let transaction = &mut *self.transaction;
        let key_ids = transaction
            .query(
                "SELECT key_id FROM record_keys WHERE person_id = $1 ORDER BY key_id",
                &[&from],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let identifiers = transaction
            .query(
                "SELECT kind, value FROM identifiers WHERE person_id = $1 ORDER BY kind, value",
                &[&from],
            )?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        let (mut name_keys_moved, mut name_keys_added) = (Vec::new(), Vec::new());
        for row in transaction.query(
            "SELECT n.name_key, n.birth_year, EXISTS (SELECT 1 FROM name_keys held
                 WHERE held.name_key = n.name_key AND held.birth_year = n.birth_year AND held.person_id = $2)
             FROM name_keys n WHERE n.person_id = $1 ORDER BY n.name_key, n.birth_year",
            &[&from, &into],
        )? {
            let entry: (String, i32) = (row.get(0), row.get(1));
            if !row.get::<_, bool>(2) {
                name_keys_added.push(entry.clone());
            }
            name_keys_moved.push(entry);
        }
        let redirected_persons = transaction
            .query(
                "SELECT id FROM persons WHERE merged_into = $1 ORDER BY id",
                &[&from],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let moves = MergeMoves {
            key_ids,
            identifiers,
            name_keys_moved,
            name_keys_added,
            redirected_persons,
        };
        transaction.execute(
            "UPDATE record_keys SET person_id = $2 WHERE person_id = $1",
            &[&from, &into],
        )?;
        transaction.execute(
            "UPDATE identifiers SET person_id = $2 WHERE person_id = $1",
            &[&from, &into],
        )?;
        transaction.execute(
            "INSERT INTO name_keys (name_key, birth_year, person_id)
             SELECT name_key, birth_year, $2 FROM name_keys WHERE person_id = $1 ON CONFLICT DO NOTHING",
            &[&from, &into],
        )?;
        transaction.execute("DELETE FROM name_keys WHERE person_id = $1", &[&from])?;
        transaction.execute(
            "UPDATE persons SET merged_into = $2 WHERE id = $1 OR merged_into = $1",
            &[&from, &into],
        )?;
        Ok(moves)
    }

    fn unmerge_persons(
        &mut self,
        from: PersonId,
        into: PersonId,
        moves: &MergeMoves,
    ) -> StoreResult<()> {
        let transaction = &mut *self.transaction;
        transaction.execute(
            "UPDATE record_keys SET person_id = $2 WHERE key_id = ANY($1)",
            &[&moves.key_ids, &from],
        )?;
        let kinds: Vec<&str> = moves
            .identifiers
            .iter()
            .map(|(kind, _)| kind.as_str())
            .collect();
        let values: Vec<&str> = moves
            .identifiers
            .iter()
            .map(|(_, value)| value.as_str())
            .collect();
        transaction.execute(
            "UPDATE identifiers i SET person_id = $3 FROM unnest($1::text[], $2::text[]) AS moved (kind, value)
             WHERE i.kind = moved.kind AND i.value = moved.value AND i.person_id = $4",
            &[&kinds, &values, &from, &into],
        )?;
        let moved_keys: Vec<&str> = moves
            .name_keys_moved
            .iter()
            .map(|(key, _)| key.as_str())
            .collect();
        let moved_years: Vec<i32> = moves
            .name_keys_moved
            .iter()
            .map(|(_, year)| *year)
            .collect();
        transaction.execute(
            "INSERT INTO name_keys (name_key, birth_year, person_id)
             SELECT key, year, $3 FROM unnest($1::text[], $2::int4[]) AS moved (key, year) ON CONFLICT DO NOTHING",
            &[&moved_keys, &moved_years, &from],
        )?;
        let added_keys: Vec<&str> = moves
            .name_keys_added
            .iter()
            .map(|(key, _)| key.as_str())
            .collect();
        let added_years: Vec<i32> = moves
            .name_keys_added
            .iter()
            .map(|(_, year)| *year)
            .collect();
        transaction.execute(
            "DELETE FROM name_keys n USING unnest($1::text[], $2::int4[]) AS added (key, year)
             WHERE n.name_key = added.key AND n.birth_year = added.year AND n.person_id = $3",
            &[&added_keys, &added_years, &into],
        )?;
        transaction.execute(
            "UPDATE persons SET merged_into = NULL WHERE id = $1",
            &[&from],
        )?;
        transaction.execute(
            "UPDATE persons SET merged_into = $2 WHERE id = ANY($1)",
            &[&moves.redirected_persons, &from],
        )?;
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
            "INSERT INTO cannot_link (first_person_id, second_person_id, decision_id) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&low, &high, &decision_id],
        )?;
        Ok(())
    }

    fn cannot_links(&mut self, persons: &[PersonId]) -> StoreResult<Vec<(PersonId, PersonId)>> {
        let rows = self.transaction.query(
            "SELECT first_person_id, second_person_id FROM cannot_link
             WHERE first_person_id = ANY($1) AND second_person_id = ANY($1)",
            &[&persons],
        )?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    fn insert_decisions(&mut self, decisions: &[LinkDecision]) -> StoreResult<Vec<i64>> {
        let mut ids = Vec::with_capacity(decisions.len());
        for decision in decisions {
            let row = self.transaction.query_one(
                "INSERT INTO link_decisions (kind, person_id, other_person_id, record_id, actor, reason, evidence, decided_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    &decision.kind,
                    &decision.person_id,
                    &decision.other_person_id,
                    &decision.record_id,
                    &decision.actor,
                    &decision.reason,
                    &decision.evidence,
                    &decision.decided_at,
                ],
            )?;
            ids.push(row.get(0));
        }
        Ok(ids)
    }

    fn close_review_item(&mut self, id: i64, status: &str, decision_id: i64) -> StoreResult<()> {
        self.transaction.execute(
            "UPDATE review_items SET status = $2, decision_id = $3 WHERE id = $1",
            &[&id, &status, &decision_id],
        )?;
        Ok(())
    }

    fn insert_review_items(&mut self, items: &[NewReviewItem]) -> StoreResult<()> {
        for item in items {
            let person_ids = serde_json::json!(item.person_ids);
            self.transaction.execute(
                "INSERT INTO review_items (kind, person_ids, record_id, evidence, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&item.kind, &person_ids, &item.record_id, &item.evidence, &item.created_at],
            )?;
        }
        Ok(())
    }

    fn insert_quarantine(&mut self, items: &[NewQuarantine]) -> StoreResult<Vec<i64>> {
        let mut ids = Vec::with_capacity(items.len());
        for item in items {
            let raw_hash = blake3::hash(&item.raw);
            let hash_bytes: &[u8] = raw_hash.as_bytes();
            if let Some(row) = self.transaction.query_opt(
                "SELECT id FROM quarantine WHERE raw_hash = $1 AND status = 'open'",
                &[&hash_bytes],
            )? {
                ids.push(row.get(0));
                continue;
            }
            let violations: serde_json::Value =
                serde_json::from_str(&item.violations).unwrap_or(serde_json::Value::Null);
            let row = self.transaction.query_one(
                "INSERT INTO quarantine (received_at, origin, line_number, source, source_ref, raw, raw_hash, violations)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    &item.received_at,
                    &item.origin,
                    &item.line_number.map(|number| number as i64),
                    &item.source,
                    &item.source_ref,
                    &item.raw,
                    &hash_bytes,
                    &violations,
                ],
            )?;
            ids.push(row.get(0));
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
            "UPDATE quarantine SET status = 'replayed', resolved_at = $2, resolved_record_id = $3 WHERE id = $1",
            &[&id, &now, &record_id],
        )?;
        Ok(())
    }

    fn update_quarantine(&mut self, id: i64, raw: &[u8], violations: &str) -> StoreResult<()> {
        let violations: serde_json::Value =
            serde_json::from_str(violations).unwrap_or(serde_json::Value::Null);
        let hash_owned = blake3::hash(raw).as_bytes().to_vec();
        self.transaction.execute(
            "UPDATE quarantine SET raw = $2, raw_hash = $3, violations = $4 WHERE id = $1",
            &[&id, &raw, &hash_owned, &violations],
        )?;
        Ok(())
    }

    fn lock_access_head(&mut self) -> StoreResult<Option<Vec<u8>>> {
        // The first append of an empty log has no row to lock: the table lock orders two
        // first appenders; after that the row lock orders every append.
        let locked = self
            .transaction
            .query_opt(
                "SELECT range FROM access_log_head WHERE id = 1 FOR UPDATE",
                &[],
            )?
            .map(|row| row.get(0));
        if locked.is_some() {
            return Ok(locked);
        }
        self.transaction
            .batch_execute("LOCK TABLE access_log_head IN SHARE ROW EXCLUSIVE MODE")?;
        Ok(self
            .transaction
            .query_opt(
                "SELECT range FROM access_log_head WHERE id = 1 FOR UPDATE",
                &[],
            )?
            .map(|row| row.get(0)))
    }

    fn set_access_head(&mut self, size: i64, range: &[u8]) -> StoreResult<()> {
        self.transaction.execute(
            "INSERT INTO access_log_head (id, size, range) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET size = excluded.size, range = excluded.range",
            &[&size, &range],
        )?;
        Ok(())
    }

    fn insert_access_rows(&mut self, rows: &[AccessRowWrite]) -> StoreResult<()> {
        let statement = self.transaction.prepare(
            "INSERT INTO access_log (position, person, at, disclosed_at, salt, details, hashes)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )?;
        for row in rows {
            self.transaction.execute(
                &statement,
                &[
                    &row.position,
                    &row.person,
                    &row.at,
                    &row.disclosed_at,
                    &row.salt,
                    &row.details,
                    &row.hashes,
                ],
            )?;
        }
        Ok(())
    }

    fn insert_access_checkpoint(
        &mut self,
        size: i64,
        note: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.transaction.execute(
            "INSERT INTO access_checkpoints (size, note, signed_at) VALUES ($1, $2, $3)
             ON CONFLICT (size) DO NOTHING",
            &[&size, &note, &at],
        )?;
        Ok(())
    }

    fn insert_api_key(&mut self, key: &NewApiKey<'_>) -> StoreResult<i64> {
        let row = self.transaction.query_one(
            "INSERT INTO api_keys (name, agency, role, token_hash, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &key.name,
                &key.agency,
                &key.role,
                &key.token_hash,
                &key.created_at,
            ],
        )?;
        Ok(row.get(0))
    }

    fn revoke_api_key(&mut self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        let changed = self.transaction.execute(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
            &[&id, &at],
        )?;
        Ok(changed > 0)
    }

    fn insert_officer(&mut self, officer: &NewOfficer<'_>) -> StoreResult<i64> {
        postgres_auth::insert_officer(&mut *self.transaction, officer)
    }

    fn set_officer_password(
        &mut self,
        id: i64,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        postgres_auth::set_officer_password(&mut *self.transaction, id, password_hash, at)
    }

    fn set_officer_disabled(&mut self, id: i64, at: Option<DateTime<Utc>>) -> StoreResult<bool> {
        postgres_auth::set_officer_disabled(&mut *self.transaction, id, at)
    }

    fn add_officer_failed_attempt(&mut self, id: i64) -> StoreResult<u32> {
        postgres_auth::add_officer_failed_attempt(&mut *self.transaction, id)
    }

    fn set_officer_lock(
        &mut self,
        id: i64,
        failed_attempts: u32,
        locked_until: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        postgres_auth::set_officer_lock(&mut *self.transaction, id, failed_attempts, locked_until)
    }

    fn insert_officer_session(&mut self, session: &OfficerSessionRow) -> StoreResult<()> {
        postgres_auth::insert_officer_session(&mut *self.transaction, session)
    }

    fn touch_officer_session(&mut self, token_hash: &[u8], at: DateTime<Utc>) -> StoreResult<()> {
        postgres_auth::touch_officer_session(&mut *self.transaction, token_hash, at)
    }

    fn end_officer_session(&mut self, token_hash: &[u8], at: DateTime<Utc>) -> StoreResult<bool> {
        postgres_auth::end_officer_session(&mut *self.transaction, token_hash, at)
    }

    fn end_officer_sessions_of(&mut self, officer_id: i64, at: DateTime<Utc>) -> StoreResult<u64> {
        postgres_auth::end_officer_sessions_of(&mut *self.transaction, officer_id, at)
    }

    fn insert_person_sign_in(&mut self, sign_in: &PersonSignInRow) -> StoreResult<()> {
        postgres_auth::insert_person_sign_in(&mut *self.transaction, sign_in)
    }

    fn add_person_sign_in_failed_attempt(&mut self, id_hash: &[u8]) -> StoreResult<u32> {
        postgres_auth::add_person_sign_in_failed_attempt(&mut *self.transaction, id_hash)
    }

    fn take_person_sign_in(&mut self, id_hash: &[u8]) -> StoreResult<bool> {
        postgres_auth::take_person_sign_in(&mut *self.transaction, id_hash)
    }

    fn insert_person_session(&mut self, session: &PersonSessionRow) -> StoreResult<()> {
        postgres_auth::insert_person_session(&mut *self.transaction, session)
    }

    fn end_person_session(&mut self, token_hash: &[u8]) -> StoreResult<bool> {
        postgres_auth::end_person_session(&mut *self.transaction, token_hash)
    }

    fn delete_expired_sessions(&mut self, now: DateTime<Utc>) -> StoreResult<()> {
        postgres_auth::delete_expired_sessions(&mut *self.transaction, now)
    }

    fn insert_share_code(&mut self, code: &NewShareCode<'_>) -> StoreResult<i64> {
        let row = self.transaction.query_one(
            "INSERT INTO share_codes (person_id, code_hash, purpose, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &code.person_id,
                &code.code_hash,
                &code.purpose,
                &code.created_at,
                &code.expires_at,
            ],
        )?;
        Ok(row.get(0))
    }

    fn revoke_share_code(
        &mut self,
        person_id: PersonId,
        id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let changed = self.transaction.execute(
            "UPDATE share_codes SET revoked_at = COALESCE(revoked_at, $3)
             WHERE id = $1 AND person_id = $2",
            &[&id, &person_id, &at],
        )?;
        Ok(changed > 0)
    }

    fn record_share_code_failure(
        &mut self,
        id: i64,
        lock_after: u32,
        at: DateTime<Utc>,
    ) -> StoreResult<u32> {
        let lock_after = i32::try_from(lock_after).unwrap_or(i32::MAX);
        let failed = self.transaction.query_opt(
            "UPDATE share_codes SET failed_checks = failed_checks + 1,
                 locked_at = CASE WHEN locked_at IS NULL AND failed_checks + 1 >= $2
                                  THEN $3 ELSE locked_at END
             WHERE id = $1 RETURNING failed_checks",
            &[&id, &lock_after, &at],
        )?;
        Ok(failed.map_or(0, |row| {
            u32::try_from(row.get::<_, i32>(0)).unwrap_or(u32::MAX)
        }))
    }

    fn resolver_model(&mut self) -> StoreResult<Option<String>> {
        Ok(self
            .transaction
            .query_opt("SELECT model FROM resolver_model WHERE id = 1", &[])?
            .map(|row| row.get(0)))
    }

    fn set_resolver_model(&mut self, model: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.transaction.execute(
            "INSERT INTO resolver_model (id, model, saved_at) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET model = excluded.model, saved_at = excluded.saved_at",
            &[&model, &now],
        )?;
        Ok(())
    }

    fn replace_resolver_blocks(
        &mut self,
        key_ids: &[KeyId],
        rows: &[(i64, KeyId)],
    ) -> StoreResult<()> {
        if !key_ids.is_empty() {
            self.transaction.execute(
                "DELETE FROM resolver_blocks WHERE key_id = ANY($1)",
                &[&key_ids],
            )?;
        }
        if !rows.is_empty() {
            let block_keys: Vec<i64> = rows.iter().map(|row| row.0).collect();
            let keys: Vec<i64> = rows.iter().map(|row| row.1).collect();
            self.transaction.execute(
                "INSERT INTO resolver_blocks (block_key, key_id)
                 SELECT * FROM unnest($1::int8[], $2::int8[]) ON CONFLICT DO NOTHING",
                &[&block_keys, &keys],
            )?;
        }
        Ok(())
    }

    fn resolver_block_members(&mut self, block_keys: &[i64]) -> StoreResult<Vec<(i64, KeyId)>> {
        if block_keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.transaction.query(
            "SELECT block_key, key_id FROM resolver_blocks WHERE block_key = ANY($1)",
            &[&block_keys],
        )?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    fn keys_in_force(&mut self, key_ids: &[KeyId]) -> StoreResult<Vec<KeyInForce>> {
        if key_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.transaction.query(
            "SELECT k.key_id, k.person_id, k.action, r.raw
             FROM record_keys k JOIN records r ON r.id = k.record_id WHERE k.key_id = ANY($1)",
            &[&key_ids],
        )?;
        Ok(rows
            .iter()
            .map(|row| KeyInForce {
                key_id: row.get(0),
                person_id: row.get(1),
                action: action_from(row.get(2)),
                raw: row.get(3),
            })
            .collect())
    }

    fn keys_of_persons(&mut self, persons: &[PersonId]) -> StoreResult<Vec<(KeyId, PersonId)>> {
        if persons.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.transaction.query(
            "SELECT key_id, person_id FROM record_keys WHERE person_id = ANY($1) ORDER BY key_id",
            &[&persons],
        )?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    fn persons_with_officer_decisions(
        &mut self,
        persons: &[PersonId],
    ) -> StoreResult<Vec<PersonId>> {
        if persons.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.transaction.query(
            "SELECT DISTINCT p FROM unnest($1::int8[]) AS p
             WHERE EXISTS (SELECT 1 FROM link_decisions d
                           WHERE (d.person_id = p OR d.other_person_id = p)
                             AND d.actor NOT LIKE 'rule:%' AND d.actor NOT LIKE 'resolver:%')",
            &[&persons],
        )?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
    fn erase_keys(&mut self, key_ids: &[KeyId]) -> StoreResult<ErasedKeys> {
        let mut erased = ErasedKeys::default();
        if key_ids.is_empty() {
            return Ok(erased);
        }
        let transaction = &mut *self.transaction;
        let record_ids: Vec<RecordId> = transaction
            .query("SELECT id FROM records WHERE key_id = ANY($1)", &[&key_ids])?
            .iter()
            .map(|row| row.get(0))
            .collect();
        erased.decisions_uncited = transaction.execute(
            "UPDATE link_decisions SET record_id = NULL WHERE record_id = ANY($1)",
            &[&record_ids],
        )?;
        erased.review_items = transaction.execute(
            "DELETE FROM review_items WHERE record_id = ANY($1)",
            &[&record_ids],
        )?;
        erased.quarantine_items = transaction.execute(
            "DELETE FROM quarantine WHERE resolved_record_id = ANY($1)",
            &[&record_ids],
        )?;
        erased.versions =
            transaction.execute("DELETE FROM records WHERE key_id = ANY($1)", &[&key_ids])?;
        transaction.execute(
            "DELETE FROM resolver_blocks WHERE key_id = ANY($1)",
            &[&key_ids],
        )?;
        erased.keys = transaction.execute(
            "DELETE FROM record_keys WHERE key_id = ANY($1)",
            &[&key_ids],
        )?;
        Ok(erased)
    }

    fn retain_person_index(
        &mut self,
        person: PersonId,
        identifiers: &[StrongKey],
        name_rows: &[(String, i32)],
    ) -> StoreResult<IndexRemovals> {
        let transaction = &mut *self.transaction;
        let mut removals = IndexRemovals::default();
        let held = transaction.query(
            "SELECT kind, value FROM identifiers WHERE person_id = $1 ORDER BY kind, value",
            &[&person],
        )?;
        for row in held {
            let (kind, value): (String, String) = (row.get(0), row.get(1));
            let Some(key_kind) = KeyKind::from_code(&kind) else {
                continue;
            };
            let key = StrongKey::new(key_kind, value);
            if !identifiers.contains(&key) {
                transaction.execute(
                    "DELETE FROM identifiers WHERE kind = $1 AND value = $2 AND person_id = $3",
                    &[&kind, &key.value, &person],
                )?;
                removals.identifiers.push(key);
            }
        }
        let held = transaction.query(
            "SELECT name_key, birth_year FROM name_keys WHERE person_id = $1 ORDER BY name_key, birth_year",
            &[&person],
        )?;
        for row in held {
            let name_row: (String, i32) = (row.get(0), row.get(1));
            if !name_rows.contains(&name_row) {
                transaction.execute(
                    "DELETE FROM name_keys WHERE name_key = $1 AND birth_year = $2 AND person_id = $3",
                    &[&name_row.0, &name_row.1, &person],
                )?;
                removals.name_rows.push(name_row);
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
            "UPDATE link_decisions SET evidence = $2 WHERE id = $1",
            &[&id, evidence],
        )?;
        Ok(())
    }

    fn remove_persons(
        &mut self,
        persons: &[PersonId],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<PersonId>> {
        if persons.is_empty() {
            return Ok(Vec::new());
        }
        let transaction = &mut *self.transaction;
        let removed: Vec<PersonId> = transaction
            .query(
                "SELECT id FROM persons WHERE id = ANY($1) OR merged_into = ANY($1) ORDER BY id",
                &[&persons],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect();
        transaction.execute(
            "DELETE FROM link_decisions
             WHERE person_id = ANY($1) AND (other_person_id IS NULL OR other_person_id = ANY($1))",
            &[&removed],
        )?;
        transaction.execute(
            "DELETE FROM cannot_link WHERE first_person_id = ANY($1) OR second_person_id = ANY($1)",
            &[&removed],
        )?;
        transaction.execute("DELETE FROM persons WHERE id = ANY($1)", &[&removed])?;
        transaction.execute(
            "INSERT INTO retention_erasures (person_id, erased_at)
             SELECT p, $2 FROM unnest($1::int8[]) AS p ON CONFLICT (person_id) DO NOTHING",
            &[&removed, &now],
        )?;
        // What the person's own rights left behind goes with them: share codes, sign-ins and
        // sessions, correction requests (their texts quote the person); passes are revoked and
        // their signed text (name, birth date, document) blanked, the row kept because its id
        // is a bit of the published status list.
        for statement in [
            "DELETE FROM share_codes WHERE person_id = ANY($1)",
            "DELETE FROM person_sessions WHERE person_id = ANY($1)",
            "DELETE FROM person_sign_ins WHERE person_id = ANY($1)",
            "DELETE FROM correction_fields
             WHERE correction_id IN (SELECT id FROM corrections WHERE person_id = ANY($1))",
            "DELETE FROM corrections WHERE person_id = ANY($1)",
            // The change feed tells about persons: their events go with them.
            "DELETE FROM events WHERE person_id = ANY($1)",
            "DELETE FROM events_person_seq WHERE person_id = ANY($1)",
            "DELETE FROM event_status_snapshots WHERE person_id = ANY($1)",
            "DELETE FROM webhook_deliveries WHERE person_id = ANY($1)",
        ] {
            transaction.execute(statement, &[&removed])?;
        }
        transaction.execute(
            "UPDATE passes SET text = '', revoked_at = COALESCE(revoked_at, $2)
             WHERE person_id = ANY($1)",
            &[&removed, &now],
        )?;
        Ok(removed)
    }

    fn erase_access_details(
        &mut self,
        persons: &[PersonId],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<u64>> {
        if persons.is_empty() {
            return Ok(Vec::new());
        }
        let mut positions: Vec<u64> = self
            .transaction
            .query(
                "UPDATE access_log SET details = NULL, salt = NULL
                 WHERE person = ANY($1) AND details IS NOT NULL RETURNING position",
                &[&persons],
            )?
            .iter()
            .map(|row| row.get::<_, i64>(0) as u64)
            .collect();
        self.transaction.execute(
            "UPDATE retention_erasures SET log_details_erased_at = $2 WHERE person_id = ANY($1)",
            &[&persons, &now],
        )?;
        positions.sort_unstable();
        Ok(positions)
    }

    fn insert_pass(&mut self, pass: &NewPass<'_>) -> StoreResult<i64> {
        let row = self.transaction.query_one(
            "INSERT INTO passes (person_id, pass_id, key_id, view, issued_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &pass.person_id,
                &pass.pass_id,
                &pass.key_id,
                &pass.view,
                &pass.issued_at,
                &pass.expires_at,
            ],
        )?;
        Ok(row.get(0))
    }

    fn set_pass_text(&mut self, id: i64, text: &str) -> StoreResult<()> {
        self.transaction
            .execute("UPDATE passes SET text = $2 WHERE id = $1", &[&id, &text])?;
        Ok(())
    }

    fn revoke_pass(&mut self, id: i64, person: PersonId, at: DateTime<Utc>) -> StoreResult<bool> {
        let changed = self.transaction.execute(
            "UPDATE passes SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $1 AND person_id = $2",
            &[&id, &person, &at],
        )?;
        Ok(changed > 0)
    }
}

const QUARANTINE_COLUMNS: &str = "id, received_at, origin, line_number, source, source_ref, raw, violations, status, resolved_at, resolved_record_id";

fn decision_from_row(row: &Row) -> LinkDecision {
    LinkDecision {
        id: row.get(0),
        kind: row.get(1),
        person_id: row.get(2),
        other_person_id: row.get(3),
        record_id: row.get(4),
        actor: row.get(5),
        reason: row.get(6),
        evidence: row.get(7),
        decided_at: row.get(8),
    }
}

fn review_item_from_row(row: &Row) -> ReviewItem {
    ReviewItem {
        id: row.get(0),
        kind: row.get(1),
        person_ids: serde_json::from_value(row.get(2)).unwrap_or_default(),
        record_id: row.get(3),
        evidence: row.get(4),
        status: row.get(5),
        created_at: row.get(6),
    }
}

fn quarantine_from_row(row: &Row) -> QuarantineItem {
    QuarantineItem {
        id: row.get(0),
        received_at: row.get(1),
        origin: row.get(2),
        line_number: row.get::<_, Option<i64>>(3).map(|number| number as u64),
        source: row.get(4),
        source_ref: row.get(5),
        raw: row.get(6),
        violations: row.get(7),
        status: QuarantineStatus::from_code(row.get(8)).unwrap_or(QuarantineStatus::Open),
        resolved_at: row.get(9),
        resolved_record_id: row.get(10),
    }
}

impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn write(&self, work: &mut dyn FnMut(&mut dyn WriteTx) -> StoreResult<()>) -> StoreResult<()> {
        self.with_client(|client| {
            let mut transaction = client.transaction()?;
            let result = {
                let mut write_tx = PostgresTx {
                    transaction: &mut transaction,
                };
                work(&mut write_tx)
            };
            match result {
                Ok(()) => {
                    transaction.commit()?;
                    Ok(())
                }
                Err(error) => {
                    transaction.rollback()?;
                    Err(error)
                }
            }
        })
    }

    fn person(&self, id: PersonId) -> StoreResult<Option<PersonRow>> {
        self.with_client(|client| {
            Ok(client
                .query_opt(
                    "SELECT id, created_at, merged_into FROM persons WHERE id = $1",
                    &[&id],
                )?
                .map(|row| PersonRow {
                    id: row.get(0),
                    created_at: row.get(1),
                    merged_into: row.get(2),
                }))
        })
    }

    fn person_versions(&self, id: PersonId) -> StoreResult<Vec<StoredVersion>> {
        self.with_client(|client| {
            let rows = client.query(
                "SELECT r.id, r.source, r.source_ref, r.revision, r.action, r.category, r.received_at,
                        r.observed_at, r.valid_from, r.valid_to, r.outcome, r.raw
                 FROM record_keys k JOIN records r ON r.key_id = k.key_id
                 WHERE k.person_id = $1 ORDER BY r.id",
                &[&id],
            )?;
            Ok(rows
                .iter()
                .map(|row| StoredVersion {
                    record_id: row.get(0),
                    source: row.get(1),
                    source_ref: row.get(2),
                    revision: row.get::<_, i32>(3) as u32,
                    action: action_from(row.get(4)),
                    category: row.get(5),
                    received_at: row.get(6),
                    observed_at: row.get(7),
                    valid_from: row.get(8),
                    valid_to: row.get(9),
                    outcome: Outcome::from_code(row.get(10)).unwrap_or(Outcome::Accepted),
                    raw: row.get(11),
                })
                .collect())
        })
    }

    fn person_identifiers(&self, id: PersonId) -> StoreResult<Vec<StrongKey>> {
        self.with_client(|client| {
            let rows = client.query(
                "SELECT kind, value FROM identifiers WHERE person_id = $1 ORDER BY kind, value",
                &[&id],
            )?;
            Ok(rows
                .iter()
                .filter_map(|row| {
                    Some(StrongKey::new(
                        KeyKind::from_code(row.get(0))?,
                        row.get::<_, String>(1),
                    ))
                })
                .collect())
        })
    }

    fn person_decisions(&self, id: PersonId) -> StoreResult<Vec<LinkDecision>> {
        self.with_client(|client| {
            let rows = client.query(
                "SELECT id, kind, person_id, other_person_id, record_id, actor, reason, evidence, decided_at
                 FROM link_decisions WHERE person_id = $1 OR other_person_id = $1 ORDER BY id",
                &[&id],
            )?;
            Ok(rows.iter().map(decision_from_row).collect())
        })
    }

    fn decision(&self, id: i64) -> StoreResult<Option<LinkDecision>> {
        self.with_client(|client| {
            let row = client.query_opt(
                "SELECT id, kind, person_id, other_person_id, record_id, actor, reason, evidence, decided_at
                 FROM link_decisions WHERE id = $1",
                &[&id],
            )?;
            Ok(row.as_ref().map(decision_from_row))
        })
    }

    fn review_item(&self, id: i64) -> StoreResult<Option<ReviewItem>> {
        self.with_client(|client| {
            let row = client.query_opt(
                "SELECT id, kind, person_ids, record_id, evidence, status, created_at FROM review_items WHERE id = $1",
                &[&id],
            )?;
            Ok(row.as_ref().map(review_item_from_row))
        })
    }

    fn find_by_identifier(&self, kind: Option<KeyKind>, value: &str) -> StoreResult<Vec<PersonId>> {
        self.with_client(|client| {
            let kind = kind.map(KeyKind::code);
            let rows = client.query(
                "SELECT DISTINCT person_id FROM identifiers WHERE search_value = $1 AND ($2::text IS NULL OR kind = $2)
                 ORDER BY person_id LIMIT 100",
                &[&value, &kind],
            )?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn find_by_name(&self, name_keys: &[String], birth_year: i32) -> StoreResult<Vec<PersonId>> {
        if name_keys.is_empty() {
            return Ok(Vec::new());
        }
        self.with_client(|client| {
            let rows = client.query(
                "SELECT person_id FROM name_keys WHERE name_key = ANY($1) AND birth_year = $2
                 GROUP BY person_id HAVING count(DISTINCT name_key) = $3 ORDER BY person_id LIMIT 1000",
                &[&name_keys, &birth_year, &(name_keys.len() as i64)],
            )?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn assignments(&self, sink: &mut dyn FnMut(&str, &str, Option<PersonId>)) -> StoreResult<()> {
        self.with_client(|client| {
            let rows = client.query(
                "SELECT source, source_ref, person_id FROM record_keys ORDER BY source, source_ref",
                &[],
            )?;
            for row in rows {
                sink(row.get(0), row.get(1), row.get(2));
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
        self.with_client(|client| {
            let sql = format!(
                "SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE id > $1 AND ($2::text IS NULL OR status = $2) ORDER BY id LIMIT $3"
            );
            let status = status.map(QuarantineStatus::code);
            let rows = client.query(&sql, &[&after_id, &status, &(limit as i64)])?;
            Ok(rows.iter().map(quarantine_from_row).collect())
        })
    }

    fn quarantine_get(&self, id: i64) -> StoreResult<Option<QuarantineItem>> {
        self.with_client(|client| {
            let sql = format!("SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE id = $1");
            Ok(client
                .query_opt(&sql, &[&id])?
                .as_ref()
                .map(quarantine_from_row))
        })
    }

    fn review_items(&self, status: &str, limit: usize) -> StoreResult<Vec<ReviewItem>> {
        self.with_client(|client| {
            let rows = client.query(
                "SELECT id, kind, person_ids, record_id, evidence, status, created_at FROM review_items
                 WHERE status = $1 ORDER BY id LIMIT $2",
                &[&status, &(limit as i64)],
            )?;
            Ok(rows.iter().map(review_item_from_row).collect())
        })
    }

    fn counts(&self) -> StoreResult<StoreCounts> {
        self.with_client(|client| {
            let row = client.query_one(
                "SELECT (SELECT count(*) FROM persons WHERE merged_into IS NULL),
                        (SELECT count(*) FROM records),
                        (SELECT count(*) FROM record_keys),
                        (SELECT count(*) FROM quarantine WHERE status = 'open'),
                        (SELECT count(*) FROM review_items WHERE status = 'open')",
                &[],
            )?;
            Ok(StoreCounts {
                persons: row.get::<_, i64>(0) as u64,
                records: row.get::<_, i64>(1) as u64,
                record_keys: row.get::<_, i64>(2) as u64,
                quarantine_open: row.get::<_, i64>(3) as u64,
                review_open: row.get::<_, i64>(4) as u64,
            })
        })
    }

    fn ping(&self) -> StoreResult<()> {
        self.with_client(|client| {
            client.query_one("SELECT 1", &[])?;
            Ok(())
        })
    }

    fn access_head(&self) -> StoreResult<Option<Vec<u8>>> {
        self.with_client(|client| {
            Ok(client
                .query_opt("SELECT range FROM access_log_head WHERE id = 1", &[])?
                .map(|row| row.get(0)))
        })
    }

    fn access_rows(&self, from: u64, limit: usize) -> StoreResult<Vec<AccessRow>> {
        self.with_client(|client| {
            let rows = client.query(
                &format!(
                    "SELECT {ACCESS_COLUMNS} FROM access_log WHERE position >= $1 ORDER BY position LIMIT $2"
                ),
                &[&(from as i64), &(limit as i64)],
            )?;
            Ok(rows.iter().map(access_row_from).collect())
        })
    }

    fn access_rows_at(&self, positions: &[u64]) -> StoreResult<Vec<AccessRow>> {
        let positions: Vec<i64> = positions.iter().map(|&position| position as i64).collect();
        self.with_client(|client| {
            let rows = client.query(
                &format!(
                    "SELECT {ACCESS_COLUMNS} FROM access_log WHERE position = ANY($1) ORDER BY position"
                ),
                &[&positions],
            )?;
            Ok(rows.iter().map(access_row_from).collect())
        })
    }

    fn access_checkpoints(&self) -> StoreResult<Vec<(u64, String)>> {
        self.with_client(|client| {
            let rows = client.query(
                "SELECT size, note FROM access_checkpoints ORDER BY size",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|row| (row.get::<_, i64>(0) as u64, row.get(1)))
                .collect())
        })
    }

    fn person_access(
        &self,
        person: PersonId,
        visible_at: DateTime<Utc>,
    ) -> StoreResult<Vec<AccessRow>> {
        self.with_client(|client| {
            let rows = client.query(
                &format!(
                    "SELECT {ACCESS_COLUMNS} FROM access_log
                     WHERE person = $1 AND disclosed_at <= $2 ORDER BY position"
                ),
                &[&person, &visible_at],
            )?;
            Ok(rows.iter().map(access_row_from).collect())
        })
    }

    fn resolver_model(&self) -> StoreResult<Option<String>> {
        self.with_client(|client| {
            Ok(client
                .query_opt("SELECT model FROM resolver_model WHERE id = 1", &[])?
                .map(|row| row.get(0)))
        })
    }

    fn persons_after(&self, after: PersonId, limit: usize) -> StoreResult<Vec<PersonId>> {
        self.with_client(|client| {
            let rows = client.query(
                "SELECT id FROM persons WHERE id > $1 AND merged_into IS NULL ORDER BY id LIMIT $2",
                &[&after, &(limit as i64)],
            )?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn persons_erased_before(&self, before: DateTime<Utc>) -> StoreResult<Vec<PersonId>> {
        self.with_client(|client| {
            let rows = client.query(
                "SELECT person_id FROM retention_erasures
                 WHERE log_details_erased_at IS NULL AND erased_at <= $1 ORDER BY person_id",
                &[&before],
            )?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn api_key_by_hash(&self, token_hash: &[u8]) -> StoreResult<Option<ApiKeyRow>> {
        self.with_client(|client| {
            Ok(client
                .query_opt(
                    &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE token_hash = $1"),
                    &[&token_hash],
                )?
                .map(|row| api_key_from(&row)))
        })
    }

    fn api_keys(&self) -> StoreResult<Vec<ApiKeyRow>> {
        self.with_client(|client| {
            let rows = client.query(
                &format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY id"),
                &[],
            )?;
            Ok(rows.iter().map(api_key_from).collect())
        })
    }

    fn officer_by_login(&self, login: &str) -> StoreResult<Option<OfficerRow>> {
        self.with_client(|connection| postgres_auth::officer_by_login(connection, login))
    }

    fn officers(&self) -> StoreResult<Vec<OfficerRow>> {
        self.with_client(postgres_auth::officers)
    }

    fn officer_session(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(OfficerSessionRow, OfficerRow)>> {
        self.with_client(|connection| postgres_auth::officer_session(connection, token_hash))
    }

    fn person_sign_in(&self, id_hash: &[u8]) -> StoreResult<Option<PersonSignInRow>> {
        self.with_client(|connection| postgres_auth::person_sign_in(connection, id_hash))
    }

    fn person_session(&self, token_hash: &[u8]) -> StoreResult<Option<PersonSessionRow>> {
        self.with_client(|connection| postgres_auth::person_session(connection, token_hash))
    }

    fn correction(&self, id: i64) -> StoreResult<Option<CorrectionRow>> {
        self.with_client(|client| corrections::get(client, id))
    }

    fn corrections(&self, filter: &CorrectionFilter<'_>) -> StoreResult<Vec<CorrectionRow>> {
        self.with_client(|client| corrections::list(client, filter))
    }

    fn standing_corrections(&self, person: PersonId) -> StoreResult<Vec<CorrectionRow>> {
        self.with_client(|client| corrections::standing(client, person))
    }

    fn share_code_by_hash(&self, code_hash: &[u8]) -> StoreResult<Option<ShareCodeRow>> {
        self.with_client(|client| {
            Ok(client
                .query_opt(
                    &format!("SELECT {SHARE_CODE_COLUMNS} FROM share_codes WHERE code_hash = $1"),
                    &[&code_hash],
                )?
                .map(|row| share_code_from(&row)))
        })
    }

    fn person_share_codes(&self, person_id: PersonId) -> StoreResult<Vec<ShareCodeRow>> {
        self.with_client(|client| {
            let rows = client.query(
                &format!(
                    "SELECT {SHARE_CODE_COLUMNS} FROM share_codes WHERE person_id = $1 ORDER BY id DESC"
                ),
                &[&person_id],
            )?;
            Ok(rows.iter().map(share_code_from).collect())
        })
    }

    fn pass(&self, id: i64) -> StoreResult<Option<PassRow>> {
        self.with_client(|client| {
            Ok(client
                .query_opt(
                    &format!("SELECT {PASS_COLUMNS} FROM passes WHERE id = $1"),
                    &[&id],
                )?
                .map(|row| pass_from(&row)))
        })
    }

    fn person_passes(&self, person: PersonId) -> StoreResult<Vec<PassRow>> {
        self.with_client(|client| {
            let rows = client.query(
                &format!("SELECT {PASS_COLUMNS} FROM passes WHERE person_id = $1 ORDER BY id DESC"),
                &[&person],
            )?;
            Ok(rows.iter().map(pass_from).collect())
        })
    }

    fn pass_statuses(&self) -> StoreResult<PassStatuses> {
        self.with_client(|client| {
            let highest_index: i64 = client
                .query_one("SELECT COALESCE(MAX(id), 0)::BIGINT FROM passes", &[])?
                .get(0);
            let revoked = client
                .query(
                    "SELECT id FROM passes WHERE revoked_at IS NOT NULL ORDER BY id",
                    &[],
                )?
                .iter()
                .map(|row| row.get(0))
                .collect();
            Ok(PassStatuses {
                highest_index,
                revoked,
            })
        })
    }

    fn events_after(&self, after: i64, limit: usize) -> StoreResult<Vec<EventRow>> {
        self.with_client(|client| events::events_after(client, after, limit))
    }

    fn events_head(&self) -> StoreResult<i64> {
        self.with_client(events::events_head)
    }

    fn subscriptions(&self) -> StoreResult<Vec<SubscriptionRow>> {
        self.with_client(events::subscriptions)
    }

    fn subscription(&self, id: i64) -> StoreResult<Option<SubscriptionRow>> {
        self.with_client(|client| events::subscription(client, id))
    }

    fn webhook_cursor(&self, subscription: i64) -> StoreResult<i64> {
        self.with_client(|client| events::webhook_cursor(client, subscription))
    }

    fn deliveries(
        &self,
        subscription: i64,
        filter: DeliveryFilter,
        limit: usize,
    ) -> StoreResult<Vec<DeliveryRow>> {
        self.with_client(|client| events::deliveries(client, subscription, filter, limit))
    }
    fn aggregate(&self, query: AggregateQuery) -> StoreResult<Vec<AggregateRow>> {
        let sql = crate::aggregates::aggregate_sql(query, postgres_json_text);
        self.with_client(|client| {
            Ok(client
                .query(&sql, &[])?
                .iter()
                .map(|row| AggregateRow {
                    key: row.get(0),
                    group: row.get(1),
                    count: row.get::<_, i64>(2).max(0) as u64,
                })
                .collect())
        })
    }
}

/// The text at `path` of the raw record (`BYTEA` holding UTF-8 JSON).
fn postgres_json_text(path: &[&str]) -> String {
    format!(
        "(convert_from(r.raw, 'UTF8')::jsonb #>> '{{{}}}')",
        path.join(",")
    )
}

const PASS_COLUMNS: &str =
    "id, person_id, pass_id, key_id, view, issued_at, expires_at, text, revoked_at";

fn pass_from(row: &Row) -> PassRow {
    PassRow {
        id: row.get(0),
        person_id: row.get(1),
        pass_id: row.get(2),
        key_id: row.get(3),
        view: row.get(4),
        issued_at: row.get(5),
        expires_at: row.get(6),
        text: row.get(7),
        revoked_at: row.get(8),
    }
}

const API_KEY_COLUMNS: &str = "id, name, agency, role, token_hash, created_at, revoked_at";

const SHARE_CODE_COLUMNS: &str = "id, person_id, code_hash, purpose, created_at, expires_at, revoked_at, failed_checks, locked_at";

fn share_code_from(row: &Row) -> ShareCodeRow {
    ShareCodeRow {
        id: row.get(0),
        person_id: row.get(1),
        code_hash: row.get(2),
        purpose: row.get(3),
        created_at: row.get(4),
        expires_at: row.get(5),
        revoked_at: row.get(6),
        failed_checks: u32::try_from(row.get::<_, i32>(7)).unwrap_or(u32::MAX),
        locked_at: row.get(8),
    }
}

fn api_key_from(row: &Row) -> ApiKeyRow {
    ApiKeyRow {
        id: row.get(0),
        name: row.get(1),
        agency: row.get(2),
        role: row.get(3),
        token_hash: row.get(4),
        created_at: row.get(5),
        revoked_at: row.get(6),
    }
}

const ACCESS_COLUMNS: &str = "position, person, at, disclosed_at, salt, details, hashes";

fn access_row_from(row: &Row) -> AccessRow {
    AccessRow {
        position: row.get::<_, i64>(0) as u64,
        person: row.get(1),
        at: row.get(2),
        disclosed_at: row.get(3),
        salt: row.get(4),
        details: row.get(5),
        hashes: row.get(6),
    }
}
