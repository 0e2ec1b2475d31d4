//! Rows of officers' accounts and sessions and of the persons' sign-ins and sessions
//! (migration `0007_officers`). Secrets are never here in clear: passwords as argon2id PHC
//! strings, tokens, sign-in ids and codes as SHA-256 hashes.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::PersonId;

/// An officer's account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficerRow {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub agency: String,
    /// A role of the access policy.
    pub role: String,
    /// The argon2id PHC string (`$argon2id$v=19$m=…`).
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Failed sign-ins since the last success or lock-out.
    pub failed_attempts: u32,
    /// Sign-ins are refused until then.
    pub locked_until: Option<DateTime<Utc>>,
}

/// A new officer's row; the id is given by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOfficer<'a> {
    pub login: &'a str,
    pub display_name: &'a str,
    pub agency: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
    pub created_at: DateTime<Utc>,
}

/// An officer's session: the token's hash, its absolute expiry and when it was last used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerSessionRow {
    pub token_hash: Vec<u8>,
    pub officer_id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Set by a sign-out (or by disabling the officer or changing the password).
    pub ended_at: Option<DateTime<Utc>>,
}

/// A person's pending sign-in: the one-time code's hash and the wrong codes so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSignInRow {
    pub id_hash: Vec<u8>,
    /// `None` when the document and birth date matched nobody: it can never succeed.
    pub person_id: Option<PersonId>,
    /// The normalised document number (the key of the per-document limit on code checks).
    pub document: String,
    pub code_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub failed_attempts: u32,
}

/// A person's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSessionRow {
    pub token_hash: Vec<u8>,
    pub person_id: PersonId,
    pub expires_at: DateTime<Utc>,
}
