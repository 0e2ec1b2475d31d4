//! Agency API keys: issue (the token is shown once and only its SHA-256 is stored), check a
//! presented token, revoke. A key acts for one agency in one role of the access policy.
//!
//! SHA-256 without salt or stretching is right here because the token is 32 random bytes:
//! nobody can guess it, so a slow hash would only slow every request down. Passwords, which
//! people choose, are another matter (argon2id, with officer accounts).

use chrono::{DateTime, Utc};
use dprofile_policy::Policy;
use dprofile_store::{ApiKeyRow, NewApiKey, Store, StoreError};
use rand::TryRngCore as _;
use sha2::{Digest as _, Sha256};

/// Every token starts with this, so that a leaked one is recognisable in logs and by secret
/// scanners.
pub const TOKEN_PREFIX: &str = "dpk_";

/// Random bytes per token.
const TOKEN_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "role `{0}` is not in the access policy: `dprofile apikey create --role` takes one of {1}"
    )]
    UnknownRole(String, String),
    #[error("agency `{agency}` may not act as `{role}`: the policy gives that role to {allowed}")]
    AgencyNotInRole {
        agency: String,
        role: String,
        allowed: String,
    },
    #[error("the key needs a name saying what it is for (`--name \"fns batch\"`)")]
    EmptyName,
    #[error("no randomness for a new key: {0}")]
    Randomness(String),
}

/// A key just created: the stored row and the token, which exists nowhere else.
#[derive(Debug)]
pub struct IssuedKey {
    pub row: ApiKeyRow,
    pub token: String,
}

/// The SHA-256 of a token, as the store keeps it.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Creates a key for `agency` in `role` (checked against `policy`).
pub fn issue(
    store: &dyn Store,
    policy: &Policy,
    name: &str,
    agency: &str,
    role: &str,
    now: DateTime<Utc>,
) -> Result<IssuedKey, ApiKeyError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiKeyError::EmptyName);
    }
    if policy.role_description(role).is_none() {
        let roles: Vec<&str> = policy.roles().collect();
        return Err(ApiKeyError::UnknownRole(role.to_owned(), roles.join(", ")));
    }
    if !policy.role_agencies(role).any(|allowed| allowed == agency) {
        let allowed: Vec<&str> = policy.role_agencies(role).collect();
        return Err(ApiKeyError::AgencyNotInRole {
            agency: agency.to_owned(),
            role: role.to_owned(),
            allowed: allowed.join(", "),
        });
    }
    let mut secret = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut secret)
        .map_err(|error| ApiKeyError::Randomness(error.to_string()))?;
    let mut token = String::with_capacity(TOKEN_PREFIX.len() + 2 * TOKEN_BYTES);
    token.push_str(TOKEN_PREFIX);
    for byte in secret {
        token.push_str(&format!("{byte:02x}"));
    }
    let hash = token_hash(&token);
    let mut id = 0;
    store.write(&mut |tx| {
        id = tx.insert_api_key(&NewApiKey {
            name,
            agency,
            role,
            token_hash: &hash,
            created_at: now,
        })?;
        Ok(())
    })?;
    Ok(IssuedKey {
        row: ApiKeyRow {
            id,
            name: name.to_owned(),
            agency: agency.to_owned(),
            role: role.to_owned(),
            token_hash: hash.to_vec(),
            created_at: now,
            revoked_at: None,
        },
        token,
    })
}

/// The key a presented token belongs to, unless it is unknown or revoked.
pub fn authenticate(store: &dyn Store, token: &str) -> Result<Option<ApiKeyRow>, StoreError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    Ok(store
        .api_key_by_hash(&token_hash(token))?
        .filter(|key| key.revoked_at.is_none()))
}

/// Revokes key `id`; `false` when there is no such key.
pub fn revoke(store: &dyn Store, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let mut revoked = false;
    store.write(&mut |tx| {
        revoked = tx.revoke_api_key(id, now)?;
        Ok(())
    })?;
    Ok(revoked)
}
