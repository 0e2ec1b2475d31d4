//! The change feed's rows on SQLite: events, subscriptions and webhook deliveries.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{action_from, from_micros, micros, parse_date};
use crate::events::{join_list, split_list};
use crate::{
    DeliveryFilter, DeliveryRow, EventRow, NewEvent, NewSubscription, Outcome, PersonId,
    StoreResult, StoredVersion, SubscriptionRow,
};

const EVENT_COLUMNS: &str =
    "e.position, e.event_id, e.person_id, e.person_seq, e.at, e.type, e.categories, e.payload";

fn event_from(row: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        position: row.get(offset)?,
        event_id: row.get(offset + 1)?,
        person_id: row.get(offset + 2)?,
        person_seq: row.get(offset + 3)?,
        at: from_micros(row.get(offset + 4)?),
        event_type: row.get(offset + 5)?,
        categories: split_list(row.get_ref(offset + 6)?.as_str()?),
        payload: serde_json::from_str(row.get_ref(offset + 7)?.as_str()?)
            .unwrap_or(serde_json::Value::Null),
    })
}

pub(super) fn insert_events(
    connection: &Connection,
    events: &[NewEvent],
) -> StoreResult<Vec<EventRow>> {
    let mut exists = connection.prepare_cached("SELECT 1 FROM events WHERE event_id = ?1")?;
    let mut fresh: Vec<&NewEvent> = Vec::with_capacity(events.len());
    for event in events {
        if exists
            .query_row([&event.event_id], |_| Ok(()))
            .optional()?
            .is_none()
        {
            fresh.push(event);
        }
    }
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    let count = i64::try_from(fresh.len()).unwrap_or(i64::MAX);
    let last: i64 = connection
        .prepare_cached(
            "UPDATE events_head SET position = position + ?1 WHERE id = 1 RETURNING position",
        )?
        .query_row([count], |row| row.get(0))?;
    let mut position = last - count;
    let mut next_seq = connection.prepare_cached(
        "INSERT INTO events_person_seq (person_id, seq) VALUES (?1, 1)
         ON CONFLICT (person_id) DO UPDATE SET seq = seq + 1 RETURNING seq",
    )?;
    let mut insert = connection.prepare_cached(
        "INSERT INTO events (position, event_id, person_id, person_seq, at, type, categories, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut written = Vec::with_capacity(fresh.len());
    for event in fresh {
        position += 1;
        let person_seq: i64 = match event.person_id {
            Some(person) => next_seq.query_row([person], |row| row.get(0))?,
            None => 0,
        };
        let payload = event.payload.to_string();
        let categories = join_list(&event.categories);
        insert.execute(params![
            position,
            event.event_id,
            event.person_id,
            person_seq,
            micros(event.at),
            event.event_type,
            categories,
            payload,
        ])?;
        written.push(EventRow {
            position,
            event_id: event.event_id.clone(),
            person_id: event.person_id,
            person_seq,
            at: event.at,
            event_type: event.event_type.clone(),
            categories: event.categories.clone(),
            payload: event.payload.clone(),
        });
    }
    Ok(written)
}

pub(super) fn person_versions(
    connection: &Connection,
    person: PersonId,
) -> StoreResult<Vec<StoredVersion>> {
    let mut statement = connection.prepare_cached(
        "SELECT r.id, r.source, r.source_ref, r.revision, r.action, r.category, r.received_at,
                r.observed_at, r.valid_from, r.valid_to, r.outcome, r.raw
         FROM record_keys k JOIN records r ON r.key_id = k.key_id
         WHERE k.person_id = ?1 ORDER BY r.id",
    )?;
    let rows = statement.query_map([person], |row| {
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
}

pub(super) fn status_snapshots(
    connection: &Connection,
    persons: &[PersonId],
) -> StoreResult<Vec<(PersonId, String)>> {
    let mut statement = connection
        .prepare_cached("SELECT statuses FROM event_status_snapshots WHERE person_id = ?1")?;
    let mut found = Vec::new();
    for person in persons {
        if let Some(text) = statement
            .query_row([person], |row| row.get::<_, String>(0))
            .optional()?
        {
            found.push((*person, text));
        }
    }
    Ok(found)
}

pub(super) fn set_status_snapshots(
    connection: &Connection,
    snapshots: &[(PersonId, String)],
) -> StoreResult<()> {
    let mut statement = connection.prepare_cached(
        "INSERT INTO event_status_snapshots (person_id, statuses) VALUES (?1, ?2)
         ON CONFLICT (person_id) DO UPDATE SET statuses = excluded.statuses",
    )?;
    for (person, text) in snapshots {
        statement.execute(params![person, text])?;
    }
    Ok(())
}

pub(super) fn insert_subscription(
    connection: &Connection,
    subscription: &NewSubscription<'_>,
) -> StoreResult<i64> {
    connection
        .prepare_cached(
            "INSERT INTO subscriptions (agency, role, purpose, event_types, categories, webhook_url,
                 secret, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            subscription.agency,
            subscription.role,
            subscription.purpose,
            join_list(subscription.event_types),
            join_list(subscription.categories),
            subscription.webhook_url,
            subscription.secret,
            subscription.created_by,
            micros(subscription.created_at),
        ])?;
    Ok(connection.last_insert_rowid())
}

pub(super) fn delete_subscription(
    connection: &Connection,
    id: i64,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = connection
        .prepare_cached(
            "UPDATE subscriptions SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
        )?
        .execute(params![id, micros(at)])?;
    connection
        .prepare_cached("DELETE FROM webhook_deliveries WHERE subscription_id = ?1")?
        .execute([id])?;
    Ok(changed > 0)
}

pub(super) fn queue_deliveries(
    connection: &Connection,
    subscription: i64,
    through: i64,
    events: &[(i64, Option<PersonId>)],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let mut insert = connection.prepare_cached(
        "INSERT OR IGNORE INTO webhook_deliveries
             (subscription_id, position, person_id, attempts, next_attempt_at)
         VALUES (?1, ?2, ?3, 0, ?4)",
    )?;
    for (position, person) in events {
        insert.execute(params![subscription, position, person, micros(at)])?;
    }
    connection
        .prepare_cached(
            "INSERT INTO webhook_cursors (subscription_id, queued_through) VALUES (?1, ?2)
             ON CONFLICT (subscription_id) DO UPDATE
             SET queued_through = MAX(queued_through, excluded.queued_through)",
        )?
        .execute(params![subscription, through])?;
    Ok(())
}

pub(super) fn fail_delivery(
    connection: &Connection,
    subscription: i64,
    position: i64,
    attempts: u32,
    next_attempt_at: DateTime<Utc>,
    error: &str,
    dead_at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    connection
        .prepare_cached(
            "UPDATE webhook_deliveries SET attempts = ?3, next_attempt_at = ?4, last_error = ?5,
                 dead_at = ?6
             WHERE subscription_id = ?1 AND position = ?2",
        )?
        .execute(params![
            subscription,
            position,
            attempts,
            micros(next_attempt_at),
            error,
            dead_at.map(micros),
        ])?;
    Ok(())
}

pub(super) fn delete_delivery(
    connection: &Connection,
    subscription: i64,
    position: i64,
) -> StoreResult<()> {
    connection
        .prepare_cached(
            "DELETE FROM webhook_deliveries WHERE subscription_id = ?1 AND position = ?2",
        )?
        .execute(params![subscription, position])?;
    Ok(())
}

pub(super) fn replay_dead(
    connection: &Connection,
    subscription: i64,
    position: Option<i64>,
    at: DateTime<Utc>,
) -> StoreResult<u64> {
    let changed = connection
        .prepare_cached(
            "UPDATE webhook_deliveries SET dead_at = NULL, attempts = 0, next_attempt_at = ?3
             WHERE subscription_id = ?1 AND dead_at IS NOT NULL
               AND (?2 IS NULL OR position = ?2)",
        )?
        .execute(params![subscription, position, micros(at)])?;
    Ok(changed as u64)
}

pub(super) fn events_after(
    connection: &Connection,
    after: i64,
    limit: usize,
) -> StoreResult<Vec<EventRow>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events e WHERE e.position > ?1 ORDER BY e.position LIMIT ?2"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(params![after, limit], |row| event_from(row, 0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn events_head(connection: &Connection) -> StoreResult<i64> {
    Ok(
        connection.query_row("SELECT position FROM events_head WHERE id = 1", [], |row| {
            row.get(0)
        })?,
    )
}

const SUBSCRIPTION_COLUMNS: &str =
    "id, agency, role, purpose, event_types, categories, webhook_url,
    secret, created_by, created_at, deleted_at";

fn subscription_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<SubscriptionRow> {
    Ok(SubscriptionRow {
        id: row.get(0)?,
        agency: row.get(1)?,
        role: row.get(2)?,
        purpose: row.get(3)?,
        event_types: split_list(row.get_ref(4)?.as_str()?),
        categories: split_list(row.get_ref(5)?.as_str()?),
        webhook_url: row.get(6)?,
        secret: row.get(7)?,
        created_by: row.get(8)?,
        created_at: from_micros(row.get(9)?),
        deleted_at: row.get::<_, Option<i64>>(10)?.map(from_micros),
    })
}

pub(super) fn subscriptions(connection: &Connection) -> StoreResult<Vec<SubscriptionRow>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY id"
    ))?;
    let rows = statement.query_map([], subscription_from)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn subscription(
    connection: &Connection,
    id: i64,
) -> StoreResult<Option<SubscriptionRow>> {
    Ok(connection
        .prepare_cached(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ?1"
        ))?
        .query_row([id], subscription_from)
        .optional()?)
}

pub(super) fn webhook_cursor(connection: &Connection, subscription: i64) -> StoreResult<i64> {
    Ok(connection
        .prepare_cached("SELECT queued_through FROM webhook_cursors WHERE subscription_id = ?1")?
        .query_row([subscription], |row| row.get(0))
        .optional()?
        .unwrap_or(0))
}

pub(super) fn deliveries(
    connection: &Connection,
    subscription: i64,
    filter: DeliveryFilter,
    limit: usize,
) -> StoreResult<Vec<DeliveryRow>> {
    let dead = match filter {
        DeliveryFilter::Pending => "d.dead_at IS NULL",
        DeliveryFilter::Dead => "d.dead_at IS NOT NULL",
    };
    let mut statement = connection.prepare_cached(&format!(
        "SELECT d.subscription_id, d.position, d.person_id, d.attempts, d.next_attempt_at,
                d.last_error, d.dead_at, {EVENT_COLUMNS}
         FROM webhook_deliveries d JOIN events e ON e.position = d.position
         WHERE d.subscription_id = ?1 AND {dead}
         ORDER BY d.position LIMIT ?2"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(params![subscription, limit], |row| {
        Ok(DeliveryRow {
            subscription_id: row.get(0)?,
            position: row.get(1)?,
            person_id: row.get(2)?,
            attempts: row.get(3)?,
            next_attempt_at: from_micros(row.get(4)?),
            last_error: row.get(5)?,
            dead_at: row.get::<_, Option<i64>>(6)?.map(from_micros),
            event: event_from(row, 7)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
