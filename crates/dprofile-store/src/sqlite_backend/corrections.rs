//! The correction requests' rows on SQLite.

use rusqlite::{Connection, OptionalExtension, params};

use super::{action_from, from_micros, micros};
use crate::corrections::{fields_from_json, fields_to_json};
use crate::{
    CorrectionAnswer, CorrectionFilter, CorrectionRow, CorrectionStatus, NewCorrection, PersonId,
    RecordId, StoreResult, VersionInForce,
};

const COLUMNS: &str =
    "c.id, c.person_id, c.record_id, c.key_id, c.source, c.source_ref, c.revision,
    c.category, c.fields, c.explanation, c.filed_at, c.due_at, c.status, c.answer, c.answered_by,
    c.answered_at, k.record_id, k.revision, k.action";

fn row_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<CorrectionRow> {
    let in_force = match row.get::<_, Option<i64>>(16)? {
        Some(record_id) => Some(VersionInForce {
            record_id,
            revision: row.get(17)?,
            action: action_from(&row.get::<_, String>(18)?),
        }),
        None => None,
    };
    Ok(CorrectionRow {
        id: row.get(0)?,
        person_id: row.get(1)?,
        record_id: row.get(2)?,
        key_id: row.get(3)?,
        source: row.get(4)?,
        source_ref: row.get(5)?,
        revision: row.get(6)?,
        category: row.get(7)?,
        fields: fields_from_json(&row.get::<_, String>(8)?),
        explanation: row.get(9)?,
        filed_at: from_micros(row.get(10)?),
        due_at: from_micros(row.get(11)?),
        status: CorrectionStatus::from_code(&row.get::<_, String>(12)?)
            .unwrap_or(CorrectionStatus::Open),
        answer: row.get(13)?,
        answered_by: row.get(14)?,
        answered_at: row.get::<_, Option<i64>>(15)?.map(from_micros),
        in_force,
    })
}

pub(super) fn insert(connection: &Connection, correction: &NewCorrection<'_>) -> StoreResult<i64> {
    connection
        .prepare_cached(
            "INSERT INTO corrections (person_id, record_id, key_id, source, source_ref, revision,
                 category, fields, explanation, filed_at, due_at, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'open')",
        )?
        .execute(params![
            correction.person_id,
            correction.record_id,
            correction.key_id,
            correction.source,
            correction.source_ref,
            correction.revision,
            correction.category,
            fields_to_json(correction.fields),
            correction.explanation,
            micros(correction.filed_at),
            micros(correction.due_at),
        ])?;
    Ok(connection.last_insert_rowid())
}

pub(super) fn claim_fields(
    connection: &Connection,
    correction_id: i64,
    record_id: RecordId,
    fields: &[String],
) -> StoreResult<Vec<(String, i64)>> {
    let mut insert = connection.prepare_cached(
        "INSERT INTO correction_fields (record_id, field, correction_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (record_id, field) DO NOTHING",
    )?;
    let mut holder = connection.prepare_cached(
        "SELECT correction_id FROM correction_fields WHERE record_id = ?1 AND field = ?2",
    )?;
    let mut held = Vec::new();
    for field in fields {
        if insert.execute(params![record_id, field, correction_id])? == 0 {
            let other: i64 = holder.query_row(params![record_id, field], |row| row.get(0))?;
            held.push((field.clone(), other));
        }
    }
    Ok(held)
}

pub(super) fn release_fields(connection: &Connection, correction_id: i64) -> StoreResult<()> {
    connection
        .prepare_cached("DELETE FROM correction_fields WHERE correction_id = ?1")?
        .execute([correction_id])?;
    Ok(())
}

pub(super) fn answer(
    connection: &Connection,
    id: i64,
    answer: &CorrectionAnswer<'_>,
) -> StoreResult<bool> {
    let changed = connection
        .prepare_cached(
            "UPDATE corrections SET status = ?2, answer = ?3, answered_by = ?4, answered_at = ?5
             WHERE id = ?1 AND status = 'open'",
        )?
        .execute(params![
            id,
            answer.status.code(),
            answer.answer,
            answer.answered_by,
            micros(answer.answered_at),
        ])?;
    Ok(changed > 0)
}

pub(super) fn get(connection: &Connection, id: i64) -> StoreResult<Option<CorrectionRow>> {
    Ok(connection
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM corrections c LEFT JOIN record_keys k ON k.key_id = c.key_id
             WHERE c.id = ?1"
        ))?
        .query_row([id], row_from)
        .optional()?)
}

pub(super) fn list(
    connection: &Connection,
    filter: &CorrectionFilter<'_>,
) -> StoreResult<Vec<CorrectionRow>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM corrections c LEFT JOIN record_keys k ON k.key_id = c.key_id
         WHERE c.id > ?1 AND (?2 IS NULL OR c.source = ?2) AND (?3 IS NULL OR c.person_id = ?3)
           AND (?4 IS NULL OR c.status = ?4) AND (?5 IS NULL OR c.due_at <= ?5)
         ORDER BY c.id LIMIT ?6"
    ))?;
    let rows = statement
        .query_map(
            params![
                filter.after_id,
                filter.source,
                filter.person_id,
                filter.status.map(CorrectionStatus::code),
                filter.due_before.map(micros),
                i64::try_from(filter.limit).unwrap_or(i64::MAX),
            ],
            row_from,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn standing(
    connection: &Connection,
    person: PersonId,
) -> StoreResult<Vec<CorrectionRow>> {
    // Through the person's keys: a merge or split moves the disputes with the records.
    // The person's keys first (a few), each probing the small index of standing requests;
    // CROSS JOIN keeps SQLite to that order whatever it believes about the tables' sizes.
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM record_keys k
         CROSS JOIN corrections c ON c.key_id = k.key_id AND c.status IN ('open', 'accepted')
         WHERE k.person_id = ?1 AND c.record_id = k.record_id
         ORDER BY c.id"
    ))?;
    let rows = statement
        .query_map([person], row_from)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
