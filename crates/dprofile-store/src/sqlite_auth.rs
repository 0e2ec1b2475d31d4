//! SQLite statements of officers' accounts and sessions and of the persons' sign-ins and
//! sessions; the backend's `Store` and `WriteTx` methods call these.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::{NewOfficer, OfficerRow, OfficerSessionRow, PersonSessionRow, PersonSignInRow};
use crate::{StoreError, StoreResult};

fn micros(instant: DateTime<Utc>) -> i64 {
    instant.timestamp_micros()
}

fn from_micros(value: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(value).unwrap_or_default()
}

fn attempts(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

const OFFICER_COLUMNS: &str = "officers.id, officers.login, officers.display_name, officers.agency, officers.role, officers.password_hash, officers.created_at, officers.password_changed_at, officers.disabled_at, officers.failed_attempts, officers.locked_until";

fn officer_from(row: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<OfficerRow> {
    Ok(OfficerRow {
        id: row.get(offset)?,
        login: row.get(offset + 1)?,
        display_name: row.get(offset + 2)?,
        agency: row.get(offset + 3)?,
        role: row.get(offset + 4)?,
        password_hash: row.get(offset + 5)?,
        created_at: from_micros(row.get(offset + 6)?),
        password_changed_at: from_micros(row.get(offset + 7)?),
        disabled_at: row.get::<_, Option<i64>>(offset + 8)?.map(from_micros),
        failed_attempts: attempts(row.get(offset + 9)?),
        locked_until: row.get::<_, Option<i64>>(offset + 10)?.map(from_micros),
    })
}

pub(crate) fn insert_officer(
    connection: &Connection,
    officer: &NewOfficer<'_>,
) -> StoreResult<i64> {
    connection.execute(
        "INSERT INTO officers (login, display_name, agency, role, password_hash, created_at, password_changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![
            officer.login,
            officer.display_name,
            officer.agency,
            officer.role,
            officer.password_hash,
            micros(officer.created_at)
        ],
    )?;
    Ok(connection.last_insert_rowid())
}

pub(crate) fn set_officer_password(
    connection: &Connection,
    id: i64,
    password_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = connection.execute(
        "UPDATE officers SET password_hash = ?2, password_changed_at = ?3, failed_attempts = 0, locked_until = NULL WHERE id = ?1",
        params![id, password_hash, micros(at)],
    )?;
    Ok(changed > 0)
}

pub(crate) fn set_officer_disabled(
    connection: &Connection,
    id: i64,
    at: Option<DateTime<Utc>>,
) -> StoreResult<bool> {
    let changed = connection.execute(
        "UPDATE officers SET disabled_at = ?2 WHERE id = ?1",
        params![id, at.map(micros)],
    )?;
    Ok(changed > 0)
}

pub(crate) fn add_officer_failed_attempt(connection: &Connection, id: i64) -> StoreResult<u32> {
    let count: Option<i64> = connection
        .query_row(
            "UPDATE officers SET failed_attempts = failed_attempts + 1 WHERE id = ?1 RETURNING failed_attempts",
            params![id],
            |row| row.get(0),
        )
        .optional()?;
    count
        .map(attempts)
        .ok_or_else(|| StoreError::Corrupt(format!("officer {id} is gone")))
}

pub(crate) fn set_officer_lock(
    connection: &Connection,
    id: i64,
    failed_attempts: u32,
    locked_until: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    connection.execute(
        "UPDATE officers SET failed_attempts = ?2, locked_until = ?3 WHERE id = ?1",
        params![id, i64::from(failed_attempts), locked_until.map(micros)],
    )?;
    Ok(())
}

pub(crate) fn insert_officer_session(
    connection: &Connection,
    session: &OfficerSessionRow,
) -> StoreResult<()> {
    connection.execute(
        "INSERT INTO officer_sessions (token_hash, officer_id, created_at, expires_at, last_seen_at, ended_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            session.token_hash,
            session.officer_id,
            micros(session.created_at),
            micros(session.expires_at),
            micros(session.last_seen_at),
            session.ended_at.map(micros)
        ],
    )?;
    Ok(())
}

pub(crate) fn touch_officer_session(
    connection: &Connection,
    token_hash: &[u8],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    connection.execute(
        "UPDATE officer_sessions SET last_seen_at = MAX(last_seen_at, ?2) WHERE token_hash = ?1",
        params![token_hash, micros(at)],
    )?;
    Ok(())
}

pub(crate) fn end_officer_session(
    connection: &Connection,
    token_hash: &[u8],
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = connection.execute(
        "UPDATE officer_sessions SET ended_at = ?2 WHERE token_hash = ?1 AND ended_at IS NULL",
        params![token_hash, micros(at)],
    )?;
    Ok(changed > 0)
}

pub(crate) fn end_officer_sessions_of(
    connection: &Connection,
    officer_id: i64,
    at: DateTime<Utc>,
) -> StoreResult<u64> {
    let changed = connection.execute(
        "UPDATE officer_sessions SET ended_at = ?2 WHERE officer_id = ?1 AND ended_at IS NULL",
        params![officer_id, micros(at)],
    )?;
    Ok(changed as u64)
}

pub(crate) fn insert_person_sign_in(
    connection: &Connection,
    sign_in: &PersonSignInRow,
) -> StoreResult<()> {
    connection.execute(
        "INSERT INTO person_sign_ins (id_hash, person_id, document, code_hash, expires_at, failed_attempts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            sign_in.id_hash,
            sign_in.person_id,
            sign_in.document,
            sign_in.code_hash,
            micros(sign_in.expires_at),
            i64::from(sign_in.failed_attempts)
        ],
    )?;
    Ok(())
}

pub(crate) fn add_person_sign_in_failed_attempt(
    connection: &Connection,
    id_hash: &[u8],
) -> StoreResult<u32> {
    let count: Option<i64> = connection
        .query_row(
            "UPDATE person_sign_ins SET failed_attempts = failed_attempts + 1 WHERE id_hash = ?1 RETURNING failed_attempts",
            params![id_hash],
            |row| row.get(0),
        )
        .optional()?;
    Ok(count.map_or(0, attempts))
}

pub(crate) fn take_person_sign_in(connection: &Connection, id_hash: &[u8]) -> StoreResult<bool> {
    let deleted = connection.execute(
        "DELETE FROM person_sign_ins WHERE id_hash = ?1",
        params![id_hash],
    )?;
    Ok(deleted > 0)
}

pub(crate) fn end_person_session(connection: &Connection, token_hash: &[u8]) -> StoreResult<bool> {
    let deleted = connection.execute(
        "DELETE FROM person_sessions WHERE token_hash = ?1",
        params![token_hash],
    )?;
    Ok(deleted > 0)
}

pub(crate) fn insert_person_session(
    connection: &Connection,
    session: &PersonSessionRow,
) -> StoreResult<()> {
    connection.execute(
        "INSERT INTO person_sessions (token_hash, person_id, expires_at) VALUES (?1, ?2, ?3)",
        params![
            session.token_hash,
            session.person_id,
            micros(session.expires_at)
        ],
    )?;
    Ok(())
}

pub(crate) fn delete_expired_sessions(
    connection: &Connection,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let now = micros(now);
    connection.execute(
        "DELETE FROM person_sign_ins WHERE expires_at <= ?1",
        params![now],
    )?;
    connection.execute(
        "DELETE FROM person_sessions WHERE expires_at <= ?1",
        params![now],
    )?;
    connection.execute(
        "DELETE FROM officer_sessions WHERE expires_at <= ?1",
        params![now],
    )?;
    Ok(())
}

pub(crate) fn officer_by_login(
    connection: &Connection,
    login: &str,
) -> StoreResult<Option<OfficerRow>> {
    Ok(connection
        .query_row(
            &format!("SELECT {OFFICER_COLUMNS} FROM officers WHERE login = ?1"),
            params![login],
            |row| officer_from(row, 0),
        )
        .optional()?)
}

pub(crate) fn officers(connection: &Connection) -> StoreResult<Vec<OfficerRow>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {OFFICER_COLUMNS} FROM officers ORDER BY id"
    ))?;
    let rows = statement
        .query_map([], |row| officer_from(row, 0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(crate) fn officer_session(
    connection: &Connection,
    token_hash: &[u8],
) -> StoreResult<Option<(OfficerSessionRow, OfficerRow)>> {
    Ok(connection
        .query_row(
            &format!(
                "SELECT s.token_hash, s.officer_id, s.created_at, s.expires_at, s.last_seen_at, s.ended_at, {OFFICER_COLUMNS}
                 FROM officer_sessions s JOIN officers ON officers.id = s.officer_id
                 WHERE s.token_hash = ?1"
            ),
            params![token_hash],
            |row| {
                Ok((
                    OfficerSessionRow {
                        token_hash: row.get(0)?,
                        officer_id: row.get(1)?,
                        created_at: from_micros(row.get(2)?),
                        expires_at: from_micros(row.get(3)?),
                        last_seen_at: from_micros(row.get(4)?),
                        ended_at: row.get::<_, Option<i64>>(5)?.map(from_micros),
                    },
                    officer_from(row, 6)?,
                ))
            },
        )
        .optional()?)
}

pub(crate) fn person_sign_in(
    connection: &Connection,
    id_hash: &[u8],
) -> StoreResult<Option<PersonSignInRow>> {
    Ok(connection
        .query_row(
            "SELECT id_hash, person_id, document, code_hash, expires_at, failed_attempts
             FROM person_sign_ins WHERE id_hash = ?1",
            params![id_hash],
            |row| {
                Ok(PersonSignInRow {
                    id_hash: row.get(0)?,
                    person_id: row.get(1)?,
                    document: row.get(2)?,
                    code_hash: row.get(3)?,
                    expires_at: from_micros(row.get(4)?),
                    failed_attempts: attempts(row.get(5)?),
                })
            },
        )
        .optional()?)
}

pub(crate) fn person_session(
    connection: &Connection,
    token_hash: &[u8],
) -> StoreResult<Option<PersonSessionRow>> {
    Ok(connection
        .query_row(
            "SELECT token_hash, person_id, expires_at FROM person_sessions WHERE token_hash = ?1",
            params![token_hash],
            |row| {
                Ok(PersonSessionRow {
                    token_hash: row.get(0)?,
                    person_id: row.get(1)?,
                    expires_at: from_micros(row.get(2)?),
                })
            },
        )
        .optional()?)
}
