//! The correction requests' rows on PostgreSQL.

use chrono::{DateTime, Utc};
use postgres::{GenericClient, Row};

use super::action_from;
use crate::corrections::{fields_from_json, fields_to_json};
use crate::{
    CorrectionAnswer, CorrectionFilter, CorrectionRow, CorrectionStatus, NewCorrection, PersonId,
    RecordId, StoreResult, VersionInForce,
};

const COLUMNS: &str =
    "c.id, c.person_id, c.record_id, c.key_id, c.source, c.source_ref, c.revision,
    c.category, c.fields, c.explanation, c.filed_at, c.due_at, c.status, c.answer, c.answered_by,
    c.answered_at, k.record_id, k.revision, k.action";

fn row_from(row: &Row) -> CorrectionRow {
    let in_force = row
        .get::<_, Option<i64>>(16)
        .map(|record_id| VersionInForce {
            record_id,
            revision: row.get::<_, i32>(17) as u32,
            action: action_from(row.get(18)),
        });
    CorrectionRow {
        id: row.get(0),
        person_id: row.get(1),
        record_id: row.get(2),
        key_id: row.get(3),
        source: row.get(4),
        source_ref: row.get(5),
        revision: row.get::<_, i32>(6) as u32,
        category: row.get(7),
        fields: fields_from_json(row.get(8)),
        explanation: row.get(9),
        filed_at: row.get(10),
        due_at: row.get(11),
        status: CorrectionStatus::from_code(row.get(12)).unwrap_or(CorrectionStatus::Open),
        answer: row.get(13),
        answered_by: row.get(14),
        answered_at: row.get(15),
        in_force,
    }
}

pub(super) fn insert(
    client: &mut impl GenericClient,
    correction: &NewCorrection<'_>,
) -> StoreResult<i64> {
    let revision = correction.revision as i32;
    let row = client.query_one(
        "INSERT INTO corrections (person_id, record_id, key_id, source, source_ref, revision,
             category, fields, explanation, filed_at, due_at, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open') RETURNING id",
        &[
            &correction.person_id,
            &correction.record_id,
            &correction.key_id,
            &correction.source,
            &correction.source_ref,
            &revision,
            &correction.category,
            &fields_to_json(correction.fields),
            &correction.explanation,
            &correction.filed_at,
            &correction.due_at,
        ],
    )?;
    Ok(row.get(0))
}

pub(super) fn claim_fields(
    client: &mut impl GenericClient,
    correction_id: i64,
    record_id: RecordId,
    fields: &[String],
) -> StoreResult<Vec<(String, i64)>> {
    // A concurrent filing of the same field waits on the primary key until this one commits
    // or rolls back, then finds the field held (or free): never two standing claims.
    let claimed = client.query(
        "INSERT INTO correction_fields (record_id, field, correction_id)
         SELECT $1, field, $3 FROM unnest($2::text[]) AS wanted (field)
         ON CONFLICT (record_id, field) DO NOTHING RETURNING field",
        &[&record_id, &fields, &correction_id],
    )?;
    if claimed.len() == fields.len() {
        return Ok(Vec::new());
    }
    let holders = client.query(
        "SELECT field, correction_id FROM correction_fields
         WHERE record_id = $1 AND field = ANY($2) AND correction_id <> $3 ORDER BY field",
        &[&record_id, &fields, &correction_id],
    )?;
    Ok(holders.iter().map(|row| (row.get(0), row.get(1))).collect())
}

pub(super) fn release_fields(
    client: &mut impl GenericClient,
    correction_id: i64,
) -> StoreResult<()> {
    client.execute(
        "DELETE FROM correction_fields WHERE correction_id = $1",
        &[&correction_id],
    )?;
    Ok(())
}

pub(super) fn answer(
    client: &mut impl GenericClient,
    id: i64,
    answer: &CorrectionAnswer<'_>,
) -> StoreResult<bool> {
    let changed = client.execute(
        "UPDATE corrections SET status = $2, answer = $3, answered_by = $4, answered_at = $5
         WHERE id = $1 AND status = 'open'",
        &[
            &id,
            &answer.status.code(),
            &answer.answer,
            &answer.answered_by,
            &answer.answered_at,
        ],
    )?;
    Ok(changed > 0)
}

pub(super) fn get(client: &mut impl GenericClient, id: i64) -> StoreResult<Option<CorrectionRow>> {
    Ok(client
        .query_opt(
            &format!(
                "SELECT {COLUMNS} FROM corrections c LEFT JOIN record_keys k ON k.key_id = c.key_id
                 WHERE c.id = $1"
            ),
            &[&id],
        )?
        .map(|row| row_from(&row)))
}

pub(super) fn list(
    client: &mut impl GenericClient,
    filter: &CorrectionFilter<'_>,
) -> StoreResult<Vec<CorrectionRow>> {
    let status = filter.status.map(CorrectionStatus::code);
    let due_before: Option<DateTime<Utc>> = filter.due_before;
    let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
    let rows = client.query(
        &format!(
            "SELECT {COLUMNS} FROM corrections c LEFT JOIN record_keys k ON k.key_id = c.key_id
             WHERE c.id > $1 AND ($2::text IS NULL OR c.source = $2)
               AND ($3::bigint IS NULL OR c.person_id = $3)
               AND ($4::text IS NULL OR c.status = $4)
               AND ($5::timestamptz IS NULL OR c.due_at <= $5)
             ORDER BY c.id LIMIT $6"
        ),
        &[
            &filter.after_id,
            &filter.source,
            &filter.person_id,
            &status,
            &due_before,
            &limit,
        ],
    )?;
    Ok(rows.iter().map(row_from).collect())
}

pub(super) fn standing(
    client: &mut impl GenericClient,
    person: PersonId,
) -> StoreResult<Vec<CorrectionRow>> {
    // Through the person's keys: a merge or split moves the disputes with the records.
    let rows = client.query(
        &format!(
            "SELECT {COLUMNS} FROM record_keys k
             JOIN corrections c ON c.key_id = k.key_id AND c.status IN ('open', 'accepted')
             WHERE k.person_id = $1 AND c.record_id = k.record_id
             ORDER BY c.id"
        ),
        &[&person],
    )?;
    Ok(rows.iter().map(row_from).collect())
}
