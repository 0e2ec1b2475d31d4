//! The change feed's rows on PostgreSQL: events, subscriptions and webhook deliveries. Events
//! go in by arrays (`unnest`): a chunk's events cost a few round trips, not one each.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use postgres::{GenericClient, Row};

use super::action_from;
use crate::events::{join_list, split_list};
use crate::{
    DeliveryFilter, DeliveryRow, EventRow, NewEvent, NewSubscription, Outcome, PersonId,
    StoreResult, StoredVersion, SubscriptionRow,
};

const EVENT_COLUMNS: &str =
    "e.position, e.event_id, e.person_id, e.person_seq, e.at, e.type, e.categories, e.payload";

fn event_from(row: &Row, offset: usize) -> EventRow {
    EventRow {
        position: row.get(offset),
        event_id: row.get(offset + 1),
        person_id: row.get(offset + 2),
        person_seq: row.get(offset + 3),
        at: row.get(offset + 4),
        event_type: row.get(offset + 5),
        categories: split_list(row.get(offset + 6)),
        payload: serde_json::from_str(row.get(offset + 7)).unwrap_or(serde_json::Value::Null),
    }
}

pub(super) fn insert_events(
    client: &mut impl GenericClient,
    events: &[NewEvent],
) -> StoreResult<Vec<EventRow>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = events.iter().map(|event| event.event_id.as_str()).collect();
    let stored: std::collections::HashSet<String> = client
        .query(
            "SELECT event_id FROM events WHERE event_id = ANY($1)",
            &[&ids],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let fresh: Vec<&NewEvent> = events
        .iter()
        .filter(|event| !stored.contains(&event.event_id))
        .collect();
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    let count = i64::try_from(fresh.len()).unwrap_or(i64::MAX);
    // The head row stays locked until commit: positions follow commit order.
    let last: i64 = client
        .query_one(
            "UPDATE events_head SET position = position + $1 WHERE id = 1 RETURNING position",
            &[&count],
        )?
        .get(0);
    // Each person's next numbers, one upsert for the chunk.
    let mut per_person: HashMap<PersonId, i64> = HashMap::new();
    for event in &fresh {
        if let Some(person) = event.person_id {
            *per_person.entry(person).or_default() += 1;
        }
    }
    let mut persons: Vec<PersonId> = per_person.keys().copied().collect();
    persons.sort_unstable();
    let counts: Vec<i64> = persons.iter().map(|person| per_person[person]).collect();
    let mut next_seq: HashMap<PersonId, i64> = HashMap::new();
    if !persons.is_empty() {
        for row in client.query(
            "INSERT INTO events_person_seq (person_id, seq)
             SELECT * FROM unnest($1::bigint[], $2::bigint[])
             ON CONFLICT (person_id) DO UPDATE SET seq = events_person_seq.seq + excluded.seq
             RETURNING person_id, seq",
            &[&persons, &counts],
        )? {
            let person: PersonId = row.get(0);
            let last_seq: i64 = row.get(1);
            next_seq.insert(person, last_seq - per_person[&person] + 1);
        }
    }
    let mut written = Vec::with_capacity(fresh.len());
    for (position, event) in (last - count + 1..).zip(fresh) {
        let person_seq = match event.person_id {
            Some(person) => {
                let next = next_seq.entry(person).or_insert(1);
                *next += 1;
                *next - 1
            }
            None => 0,
        };
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
    let positions: Vec<i64> = written.iter().map(|event| event.position).collect();
    let event_ids: Vec<&str> = written
        .iter()
        .map(|event| event.event_id.as_str())
        .collect();
    let person_ids: Vec<Option<i64>> = written.iter().map(|event| event.person_id).collect();
    let seqs: Vec<i64> = written.iter().map(|event| event.person_seq).collect();
    let ats: Vec<DateTime<Utc>> = written.iter().map(|event| event.at).collect();
    let types: Vec<&str> = written
        .iter()
        .map(|event| event.event_type.as_str())
        .collect();
    let categories: Vec<String> = written
        .iter()
        .map(|event| join_list(&event.categories))
        .collect();
    let payloads: Vec<String> = written
        .iter()
        .map(|event| event.payload.to_string())
        .collect();
    client.execute(
        "INSERT INTO events (position, event_id, person_id, person_seq, at, type, categories, payload)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[],
                              $5::timestamptz[], $6::text[], $7::text[], $8::text[])",
        &[
            &positions,
            &event_ids,
            &person_ids,
            &seqs,
            &ats,
            &types,
            &categories,
            &payloads,
        ],
    )?;
    Ok(written)
}

pub(super) fn person_versions(
    client: &mut impl GenericClient,
    person: PersonId,
) -> StoreResult<Vec<StoredVersion>> {
    let rows = client.query(
        "SELECT r.id, r.source, r.source_ref, r.revision, r.action, r.category, r.received_at,
                r.observed_at, r.valid_from, r.valid_to, r.outcome, r.raw
         FROM record_keys k JOIN records r ON r.key_id = k.key_id
         WHERE k.person_id = $1 ORDER BY r.id",
        &[&person],
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
}

pub(super) fn status_snapshots(
    client: &mut impl GenericClient,
    persons: &[PersonId],
) -> StoreResult<Vec<(PersonId, String)>> {
    Ok(client
        .query(
            "SELECT person_id, statuses FROM event_status_snapshots WHERE person_id = ANY($1)",
            &[&persons],
        )?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect())
}

pub(super) fn set_status_snapshots(
    client: &mut impl GenericClient,
    snapshots: &[(PersonId, String)],
) -> StoreResult<()> {
    if snapshots.is_empty() {
        return Ok(());
    }
    let persons: Vec<PersonId> = snapshots.iter().map(|(person, _)| *person).collect();
    let texts: Vec<&str> = snapshots.iter().map(|(_, text)| text.as_str()).collect();
    client.execute(
        "INSERT INTO event_status_snapshots (person_id, statuses)
         SELECT * FROM unnest($1::bigint[], $2::text[])
         ON CONFLICT (person_id) DO UPDATE SET statuses = excluded.statuses",
        &[&persons, &texts],
    )?;
    Ok(())
}

pub(super) fn insert_subscription(
    client: &mut impl GenericClient,
    subscription: &NewSubscription<'_>,
) -> StoreResult<i64> {
    Ok(client
        .query_one(
            "INSERT INTO subscriptions (agency, role, purpose, event_types, categories, webhook_url,
                 secret, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[
                &subscription.agency,
                &subscription.role,
                &subscription.purpose,
                &join_list(subscription.event_types),
                &join_list(subscription.categories),
                &subscription.webhook_url,
                &subscription.secret,
                &subscription.created_by,
                &subscription.created_at,
            ],
        )?
        .get(0))
}

pub(super) fn delete_subscription(
    client: &mut impl GenericClient,
    id: i64,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = client.execute(
        "UPDATE subscriptions SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        &[&id, &at],
    )?;
    client.execute(
        "DELETE FROM webhook_deliveries WHERE subscription_id = $1",
        &[&id],
    )?;
    Ok(changed > 0)
}

pub(super) fn queue_deliveries(
    client: &mut impl GenericClient,
    subscription: i64,
    through: i64,
    events: &[(i64, Option<PersonId>)],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    if !events.is_empty() {
        let positions: Vec<i64> = events.iter().map(|(position, _)| *position).collect();
        let persons: Vec<Option<i64>> = events.iter().map(|(_, person)| *person).collect();
        client.execute(
            "INSERT INTO webhook_deliveries
                 (subscription_id, position, person_id, attempts, next_attempt_at)
             SELECT $1, position, person_id, 0, $4
             FROM unnest($2::bigint[], $3::bigint[]) AS queued (position, person_id)
             ON CONFLICT DO NOTHING",
            &[&subscription, &positions, &persons, &at],
        )?;
    }
    client.execute(
        "INSERT INTO webhook_cursors (subscription_id, queued_through) VALUES ($1, $2)
         ON CONFLICT (subscription_id) DO UPDATE
         SET queued_through = GREATEST(webhook_cursors.queued_through, excluded.queued_through)",
        &[&subscription, &through],
    )?;
    Ok(())
}

pub(super) fn fail_delivery(
    client: &mut impl GenericClient,
    subscription: i64,
    position: i64,
    attempts: u32,
    next_attempt_at: DateTime<Utc>,
    error: &str,
    dead_at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
    client.execute(
        "UPDATE webhook_deliveries SET attempts = $3, next_attempt_at = $4, last_error = $5,
             dead_at = $6
         WHERE subscription_id = $1 AND position = $2",
        &[
            &subscription,
            &position,
            &attempts,
            &next_attempt_at,
            &error,
            &dead_at,
        ],
    )?;
    Ok(())
}

pub(super) fn delete_delivery(
    client: &mut impl GenericClient,
    subscription: i64,
    position: i64,
) -> StoreResult<()> {
    client.execute(
        "DELETE FROM webhook_deliveries WHERE subscription_id = $1 AND position = $2",
        &[&subscription, &position],
    )?;
    Ok(())
}

pub(super) fn replay_dead(
    client: &mut impl GenericClient,
    subscription: i64,
    position: Option<i64>,
    at: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(client.execute(
        "UPDATE webhook_deliveries SET dead_at = NULL, attempts = 0, next_attempt_at = $3
         WHERE subscription_id = $1 AND dead_at IS NOT NULL
           AND ($2::bigint IS NULL OR position = $2)",
        &[&subscription, &position, &at],
    )?)
}

pub(super) fn events_after(
    client: &mut impl GenericClient,
    after: i64,
    limit: usize,
) -> StoreResult<Vec<EventRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(client
        .query(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM events e WHERE e.position > $1
                 ORDER BY e.position LIMIT $2"
            ),
            &[&after, &limit],
        )?
        .iter()
        .map(|row| event_from(row, 0))
        .collect())
}

pub(super) fn events_head(client: &mut impl GenericClient) -> StoreResult<i64> {
    Ok(client
        .query_one("SELECT position FROM events_head WHERE id = 1", &[])?
        .get(0))
}

const SUBSCRIPTION_COLUMNS: &str =
    "id, agency, role, purpose, event_types, categories, webhook_url,
    secret, created_by, created_at, deleted_at";

fn subscription_from(row: &Row) -> SubscriptionRow {
    SubscriptionRow {
        id: row.get(0),
        agency: row.get(1),
        role: row.get(2),
        purpose: row.get(3),
        event_types: split_list(row.get(4)),
        categories: split_list(row.get(5)),
        webhook_url: row.get(6),
        secret: row.get(7),
        created_by: row.get(8),
        created_at: row.get(9),
        deleted_at: row.get(10),
    }
}

pub(super) fn subscriptions(client: &mut impl GenericClient) -> StoreResult<Vec<SubscriptionRow>> {
    Ok(client
        .query(
            &format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY id"),
            &[],
        )?
        .iter()
        .map(subscription_from)
        .collect())
}

pub(super) fn subscription(
    client: &mut impl GenericClient,
    id: i64,
) -> StoreResult<Option<SubscriptionRow>> {
    Ok(client
        .query_opt(
            &format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1"),
            &[&id],
        )?
        .as_ref()
        .map(subscription_from))
}

pub(super) fn webhook_cursor(
    client: &mut impl GenericClient,
    subscription: i64,
) -> StoreResult<i64> {
    Ok(client
        .query_opt(
            "SELECT queued_through FROM webhook_cursors WHERE subscription_id = $1",
            &[&subscription],
        )?
        .map_or(0, |row| row.get(0)))
}

pub(super) fn deliveries(
    client: &mut impl GenericClient,
    subscription: i64,
    filter: DeliveryFilter,
    limit: usize,
) -> StoreResult<Vec<DeliveryRow>> {
    let dead = match filter {
        DeliveryFilter::Pending => "d.dead_at IS NULL",
        DeliveryFilter::Dead => "d.dead_at IS NOT NULL",
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(client
        .query(
            &format!(
                "SELECT d.subscription_id, d.position, d.person_id, d.attempts, d.next_attempt_at,
                        d.last_error, d.dead_at, {EVENT_COLUMNS}
                 FROM webhook_deliveries d JOIN events e ON e.position = d.position
                 WHERE d.subscription_id = $1 AND {dead}
                 ORDER BY d.position LIMIT $2"
            ),
            &[&subscription, &limit],
        )?
        .iter()
        .map(|row| DeliveryRow {
            subscription_id: row.get(0),
            position: row.get(1),
            person_id: row.get(2),
            attempts: u32::try_from(row.get::<_, i32>(3)).unwrap_or(0),
            next_attempt_at: row.get(4),
            last_error: row.get(5),
            dead_at: row.get(6),
            event: event_from(row, 7),
        })
        .collect())
}
