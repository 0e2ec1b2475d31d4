//! PostgreSQL statements of officers' accounts and sessions and of the persons' sign-ins and
//! sessions; the backend's `Store` and `WriteTx` methods call these.

use chrono::{DateTime, Utc};
use postgres::{GenericClient, Row};

use crate::{NewOfficer, OfficerRow, OfficerSessionRow, PersonSessionRow, PersonSignInRow};
use crate::{StoreError, StoreResult};

fn attempts(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

fn count(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

const OFFICER_COLUMNS: &str = "officers.id, officers.login, officers.display_name, officers.agency, officers.role, officers.password_hash, officers.created_at, officers.password_changed_at, officers.disabled_at, officers.failed_attempts, officers.locked_until";

fn officer_from(row: &Row, offset: usize) -> OfficerRow {
    OfficerRow {
        id: row.get(offset),
        login: row.get(offset + 1),
        display_name: row.get(offset + 2),
        agency: row.get(offset + 3),
        role: row.get(offset + 4),
        password_hash: row.get(offset + 5),
        created_at: row.get(offset + 6),
        password_changed_at: row.get(offset + 7),
        disabled_at: row.get(offset + 8),
        failed_attempts: attempts(row.get(offset + 9)),
        locked_until: row.get(offset + 10),
    }
}

pub(crate) fn insert_officer(
    client: &mut impl GenericClient,
    officer: &NewOfficer<'_>,
) -> StoreResult<i64> {
    let row = client.query_one(
        "INSERT INTO officers (login, display_name, agency, role, password_hash, created_at, password_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        &[
            &officer.login,
            &officer.display_name,
            &officer.agency,
            &officer.role,
            &officer.password_hash,
            &officer.created_at,
        ],
    )?;
    Ok(row.get(0))
}

pub(crate) fn set_officer_password(
    client: &mut impl GenericClient,
    id: i64,
    password_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = client.execute(
        "UPDATE officers SET password_hash = $2, password_changed_at = $3, failed_attempts = 0, locked_until = NULL WHERE id = $1",
        &[&id, &password_hash, &at],
    )?;
    Ok(changed > 0)
}

pub(crate) fn set_officer_disabled(
    client: &mut impl GenericClient,
    id: i64,
    at: Option<DateTime<Utc>>,
) -> StoreResult<bool> {
    let changed = client.execute(
        "UPDATE officers SET disabled_at = $2 WHERE id = $1",
        &[&id, &at],
    )?;
    Ok(changed > 0)
}

pub(crate) fn add_officer_failed_attempt(
    client: &mut impl GenericClient,
    id: i64,
) -> StoreResult<u32> {
    client
        .query_opt(
            "UPDATE officers SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts",
            &[&id],
        )?
        .map(|row| attempts(row.get(0)))
        .ok_or_else(|| StoreError::Corrupt(format!("officer {id} is gone")))
}

pub(crate) fn set_officer_lock(
    client: &mut impl GenericClient,
    id: i64,
    failed_attempts: u32,
    locked_until: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    client.execute(
        "UPDATE officers SET failed_attempts = $2, locked_until = $3 WHERE id = $1",
        &[&id, &count(failed_attempts), &locked_until],
    )?;
    Ok(())
}

pub(crate) fn insert_officer_session(
    client: &mut impl GenericClient,
    session: &OfficerSessionRow,
) -> StoreResult<()> {
    client.execute(
        "INSERT INTO officer_sessions (token_hash, officer_id, created_at, expires_at, last_seen_at, ended_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &session.token_hash,
            &session.officer_id,
            &session.created_at,
            &session.expires_at,
            &session.last_seen_at,
            &session.ended_at,
        ],
    )?;
    Ok(())
}

pub(crate) fn touch_officer_session(
    client: &mut impl GenericClient,
    token_hash: &[u8],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    client.execute(
        "UPDATE officer_sessions SET last_seen_at = GREATEST(last_seen_at, $2) WHERE token_hash = $1",
        &[&token_hash, &at],
    )?;
    Ok(())
}

pub(crate) fn end_officer_session(
    client: &mut impl GenericClient,
    token_hash: &[u8],
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = client.execute(
        "UPDATE officer_sessions SET ended_at = $2 WHERE token_hash = $1 AND ended_at IS NULL",
        &[&token_hash, &at],
    )?;
    Ok(changed > 0)
}

pub(crate) fn end_officer_sessions_of(
    client: &mut impl GenericClient,
    officer_id: i64,
    at: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(client.execute(
        "UPDATE officer_sessions SET ended_at = $2 WHERE officer_id = $1 AND ended_at IS NULL",
        &[&officer_id, &at],
    )?)
}

pub(crate) fn insert_person_sign_in(
    client: &mut impl GenericClient,
    sign_in: &PersonSignInRow,
) -> StoreResult<()> {
    client.execute(
        "INSERT INTO person_sign_ins (id_hash, person_id, document, code_hash, expires_at, failed_attempts)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &sign_in.id_hash,
            &sign_in.person_id,
            &sign_in.document,
            &sign_in.code_hash,
            &sign_in.expires_at,
            &count(sign_in.failed_attempts),
        ],
    )?;
    Ok(())
}

pub(crate) fn add_person_sign_in_failed_attempt(
    client: &mut impl GenericClient,
    id_hash: &[u8],
) -> StoreResult<u32> {
    Ok(client
        .query_opt(
            "UPDATE person_sign_ins SET failed_attempts = failed_attempts + 1 WHERE id_hash = $1 RETURNING failed_attempts",
            &[&id_hash],
        )?
        .map_or(0, |row| attempts(row.get(0))))
}

pub(crate) fn take_person_sign_in(
    client: &mut impl GenericClient,
    id_hash: &[u8],
) -> StoreResult<bool> {
    let deleted = client.execute(
        "DELETE FROM person_sign_ins WHERE id_hash = $1",
        &[&id_hash],
    )?;
    Ok(deleted > 0)
}

pub(crate) fn end_person_session(
    client: &mut impl GenericClient,
    token_hash: &[u8],
) -> StoreResult<bool> {
    let deleted = client.execute(
        "DELETE FROM person_sessions WHERE token_hash = $1",
        &[&token_hash],
    )?;
    Ok(deleted > 0)
}

pub(crate) fn insert_person_session(
    client: &mut impl GenericClient,
    session: &PersonSessionRow,
) -> StoreResult<()> {
    client.execute(
        "INSERT INTO person_sessions (token_hash, person_id, expires_at) VALUES ($1, $2, $3)",
        &[&session.token_hash, &session.person_id, &session.expires_at],
    )?;
    Ok(())
}

pub(crate) fn delete_expired_sessions(
    client: &mut impl GenericClient,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    client.execute(
        "DELETE FROM person_sign_ins WHERE expires_at <= $1",
        &[&now],
    )?;
    client.execute(
        "DELETE FROM person_sessions WHERE expires_at <= $1",
        &[&now],
    )?;
    client.execute(
        "DELETE FROM officer_sessions WHERE expires_at <= $1",
        &[&now],
    )?;
    Ok(())
}

pub(crate) fn officer_by_login(
    client: &mut impl GenericClient,
    login: &str,
) -> StoreResult<Option<OfficerRow>> {
    Ok(client
        .query_opt(
            &format!("SELECT {OFFICER_COLUMNS} FROM officers WHERE login = $1"),
            &[&login],
        )?
        .map(|row| officer_from(&row, 0)))
}

pub(crate) fn officers(client: &mut impl GenericClient) -> StoreResult<Vec<OfficerRow>> {
    let rows = client.query(
        &format!("SELECT {OFFICER_COLUMNS} FROM officers ORDER BY id"),
        &[],
    )?;
    Ok(rows.iter().map(|row| officer_from(row, 0)).collect())
}

pub(crate) fn officer_session(
    client: &mut impl GenericClient,
    token_hash: &[u8],
) -> StoreResult<Option<(OfficerSessionRow, OfficerRow)>> {
    Ok(client
        .query_opt(
            &format!(
                "SELECT s.token_hash, s.officer_id, s.created_at, s.expires_at, s.last_seen_at, s.ended_at, {OFFICER_COLUMNS}
                 FROM officer_sessions s JOIN officers ON officers.id = s.officer_id
                 WHERE s.token_hash = $1"
            ),
            &[&token_hash],
        )?
        .map(|row| {
            (
                OfficerSessionRow {
                    token_hash: row.get(0),
                    officer_id: row.get(1),
                    created_at: row.get(2),
                    expires_at: row.get(3),
                    last_seen_at: row.get(4),
                    ended_at: row.get(5),
                },
                officer_from(&row, 6),
            )
        }))
}

pub(crate) fn person_sign_in(
    client: &mut impl GenericClient,
    id_hash: &[u8],
) -> StoreResult<Option<PersonSignInRow>> {
    Ok(client
        .query_opt(
            "SELECT id_hash, person_id, document, code_hash, expires_at, failed_attempts
             FROM person_sign_ins WHERE id_hash = $1",
            &[&id_hash],
        )?
        .map(|row| PersonSignInRow {
            id_hash: row.get(0),
            person_id: row.get(1),
            document: row.get(2),
            code_hash: row.get(3),
            expires_at: row.get(4),
            failed_attempts: attempts(row.get(5)),
        }))
}

pub(crate) fn person_session(
    client: &mut impl GenericClient,
    token_hash: &[u8],
) -> StoreResult<Option<PersonSessionRow>> {
    Ok(client
        .query_opt(
            "SELECT token_hash, person_id, expires_at FROM person_sessions WHERE token_hash = $1",
            &[&token_hash],
        )?
        .map(|row| PersonSessionRow {
            token_hash: row.get(0),
            person_id: row.get(1),
            expires_at: row.get(2),
        }))
}
