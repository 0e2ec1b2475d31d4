//! Officers' accounts and sessions: create an account (argon2id password hash), sign in with
//! login and password for a session token, check a presented token, sign out, disable, change
//! the password.
//!
//! Sign-in never tells an unknown login from a wrong password, a locked or a disabled account:
//! each is [`OfficerError::SignInRefused`], and an unknown login still costs one argon2id
//! verification (of a dummy hash), so the time taken does not tell either. Failed sign-ins are
//! counted per account in the store: after `max_failed_attempts` the account is locked for
//! `lockout` (even the right password is refused), across restarts and API processes.
//!
//! A session token is `dpo_` + 32 random bytes in hex; like an API key, only its SHA-256 is
//! stored (a token cannot be guessed, so a slow hash would only slow every request down). A
//! session ends at its absolute expiry, after `idle_timeout` without a request, at sign-out,
//! and when the officer is disabled or the password changes.

use std::sync::OnceLock;

use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use chrono::{DateTime, Duration, Utc};
use dprofile_policy::Policy;
use dprofile_store::{NewOfficer, OfficerRow, OfficerSessionRow, Store, StoreError};
use rand::TryRngCore as _;

use crate::api_keys::token_hash;

/// Every officer session token starts with this: recognisable in logs and by secret
/// scanners, and told apart from an agency key (`dpk_`) without a store lookup.
pub const SESSION_TOKEN_PREFIX: &str = "dpo_";

/// Shortest password accepted (OWASP ASVS 2.1.1: at least 12 characters).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted: long enough for any passphrase, short enough that hashing it
/// cannot be used to tie the server up.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A session's last use is written at most this often: every request of an officer would
/// otherwise be a write. The idle timeout is therefore exact to within this.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// Lifetimes and the lock-out of officers' sign-ins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerAuthConfig {
    /// A session ends this long after sign-in, however active (a working day).
    pub session_lifetime: Duration,
    /// A session ends after this long without a request.
    pub idle_timeout: Duration,
    /// Failed sign-ins after which the account is locked.
    pub max_failed_attempts: u32,
    /// How long a locked account refuses every sign-in.
    pub lockout: Duration,
}

impl Default for OfficerAuthConfig {
    fn default() -> Self {
        OfficerAuthConfig {
            session_lifetime: Duration::hours(8),
            idle_timeout: Duration::minutes(30),
            max_failed_attempts: 5,
            lockout: Duration::minutes(15),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OfficerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("role `{0}` is not in the access policy: `--role` takes one of {1}")]
    UnknownRole(String, String),
    #[error("agency `{agency}` may not act as `{role}`: the policy gives that role to {allowed}")]
    AgencyNotInRole {
        agency: String,
        role: String,
        allowed: String,
    },
    /// The login is not 3 to 64 of `a-z 0-9 . _ -`.
    #[error(
        "login `{0}` is not valid: write 3 to 64 characters of lowercase letters, digits, `.`, `_` or `-`"
    )]
    InvalidLogin(String),
    #[error("login `{0}` is taken: choose another, or change that officer's password")]
    LoginTaken(String),
    #[error("no officer has login `{0}`: `dprofile officer list` shows the logins")]
    UnknownOfficer(String),
    /// The password breaks a rule; `rule` is stable (`password.too_short`, …).
    #[error("password: {message}")]
    Password { rule: &'static str, message: String },
    /// Unknown login, wrong password, locked or disabled account: one answer for all.
    #[error(
        "the login or password is wrong, or the account is locked after repeated failures or disabled: check both and try again later, or ask your administrator"
    )]
    SignInRefused,
    #[error("the password cannot be hashed: {0}")]
    Hashing(String),
    #[error("no randomness for a token or a password: {0}")]
    Randomness(String),
}

/// A new account, as its administrator gives it.
#[derive(Debug, Clone, Copy)]
pub struct NewOfficerAccount<'a> {
    pub login: &'a str,
    /// The name shown to colleagues; the login when empty.
    pub display_name: &'a str,
    pub agency: &'a str,
    pub role: &'a str,
    pub password: &'a str,
}

/// A session just opened: the token, which exists nowhere else, and whose it is.
#[derive(Debug)]
pub struct IssuedSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub officer: OfficerRow,
}

/// The password hasher: argon2id with OWASP's first recommended setting (19 MiB, two
/// passes, one lane). The parameters are stored in every hash, so raising them later keeps
/// old hashes verifiable.
fn hasher() -> Result<Argon2<'static>, OfficerError> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|error| OfficerError::Hashing(error.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], OfficerError> {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|error| OfficerError::Randomness(error.to_string()))?;
    Ok(bytes)
}

/// The argon2id PHC string of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, OfficerError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|error| OfficerError::Hashing(error.to_string()))?;
    Ok(hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|error| OfficerError::Hashing(error.to_string()))?
        .to_string())
}

/// Whether `password` is the one `stored` was made from; a malformed hash matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    hasher().is_ok_and(|argon2| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// What an unknown login's sign-in verifies against, so that it takes as long as a known
/// one's. Made once, on first use.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        // Without randomness no account can be created or signed into either; the empty
        // hash then matches nothing.
        hash_password("no officer has this login").unwrap_or_default()
    })
}

/// Checks a login's form.
pub fn check_login(login: &str) -> Result<(), OfficerError> {
    let valid_chars = login.chars().all(|character| {
        character.is_ascii_lowercase() || character.is_ascii_digit() || "._-".contains(character)
    });
    if !(3..=64).contains(&login.len()) || !valid_chars {
        return Err(OfficerError::InvalidLogin(login.to_owned()));
    }
    Ok(())
}

/// The password rules: at least [`MIN_PASSWORD_CHARS`] characters, at most
/// [`MAX_PASSWORD_CHARS`], and not the login.
pub fn check_password(login: &str, password: &str) -> Result<(), OfficerError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(OfficerError::Password {
            rule: "password.too_short",
            message: format!(
                "{chars} characters is too short: write at least {MIN_PASSWORD_CHARS} (a passphrase of several words is easiest to remember)"
            ),
        });
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(OfficerError::Password {
            rule: "password.too_long",
            message: format!("{chars} characters is too long: write at most {MAX_PASSWORD_CHARS}"),
        });
    }
    if password.trim().eq_ignore_ascii_case(login.trim()) {
        return Err(OfficerError::Password {
            rule: "password.equals_login",
            message: "the password is the login: choose one nobody can guess from the login"
                .to_owned(),
        });
    }
    Ok(())
}

/// A random password for a new account (20 characters of an unambiguous 32-letter alphabet:
/// 100 bits), to be printed once.
pub fn generate_password() -> Result<String, OfficerError> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    Ok(random_bytes::<20>()?
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(byte % 32)]))
        .collect())
}

/// Creates an officer in `role` for `agency` (both checked against `policy`).
pub fn create(
    store: &dyn Store,
    policy: &Policy,
    account: &NewOfficerAccount<'_>,
    now: DateTime<Utc>,
) -> Result<OfficerRow, OfficerError> {
    let login = account.login.trim();
    check_login(login)?;
    if policy.role_description(account.role).is_none() {
        let roles: Vec<&str> = policy.roles().collect();
        return Err(OfficerError::UnknownRole(
            account.role.to_owned(),
            roles.join(", "),
        ));
    }
    if !policy
        .role_agencies(account.role)
        .any(|allowed| allowed == account.agency)
    {
        let allowed: Vec<&str> = policy.role_agencies(account.role).collect();
        return Err(OfficerError::AgencyNotInRole {
            agency: account.agency.to_owned(),
            role: account.role.to_owned(),
            allowed: allowed.join(", "),
        });
    }
    check_password(login, account.password)?;
    if store.officer_by_login(login)?.is_some() {
        return Err(OfficerError::LoginTaken(login.to_owned()));
    }
    let password_hash = hash_password(account.password)?;
    let display_name = match account.display_name.trim() {
        "" => login,
        name => name,
    };
    store.write(&mut |tx| {
        tx.insert_officer(&NewOfficer {
            login,
            display_name,
            agency: account.agency,
            role: account.role,
            password_hash: &password_hash,
            created_at: now,
        })?;
        Ok(())
    })?;
    store
        .officer_by_login(login)?
        .ok_or_else(|| OfficerError::UnknownOfficer(login.to_owned()))
}

fn officer(store: &dyn Store, login: &str) -> Result<OfficerRow, OfficerError> {
    store
        .officer_by_login(login.trim())?
        .ok_or_else(|| OfficerError::UnknownOfficer(login.trim().to_owned()))
}

/// Replaces an officer's password (checked against the rules), lifts a lock-out and ends
/// every open session.
pub fn set_password(
    store: &dyn Store,
    login: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<(), OfficerError> {
    let officer = officer(store, login)?;
    check_password(&officer.login, password)?;
    let password_hash = hash_password(password)?;
    store.write(&mut |tx| {
        tx.set_officer_password(officer.id, &password_hash, now)?;
        tx.end_officer_sessions_of(officer.id, now)?;
        Ok(())
    })?;
    Ok(())
}

/// Disables an officer (no sign-in from now on) and ends every open session.
pub fn disable(store: &dyn Store, login: &str, now: DateTime<Utc>) -> Result<(), OfficerError> {
    let officer = officer(store, login)?;
    store.write(&mut |tx| {
        tx.set_officer_disabled(officer.id, Some(now))?;
        tx.end_officer_sessions_of(officer.id, now)?;
        Ok(())
    })?;
    Ok(())
}

/// Signs an officer in; any failure is [`OfficerError::SignInRefused`] (or a store error).
pub fn sign_in(
    store: &dyn Store,
    config: &OfficerAuthConfig,
    login: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<IssuedSession, OfficerError> {
    // An over-long password is refused before hashing, whoever the login is.
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(OfficerError::SignInRefused);
    }
    let Some(officer) = store.officer_by_login(login.trim())? else {
        let _ = verify_password(password, dummy_hash());
        return Err(OfficerError::SignInRefused);
    };
    // Verified whatever the account's state, so that a locked or disabled account answers
    // in the same time as any other.
    let password_matches = verify_password(password, &officer.password_hash);
    let locked = officer.locked_until.is_some_and(|until| until > now);
    if officer.disabled_at.is_some() || locked {
        return Err(OfficerError::SignInRefused);
    }
    if !password_matches {
        store.write(&mut |tx| {
            let failed = tx.add_officer_failed_attempt(officer.id)?;
            if failed >= config.max_failed_attempts {
                tx.set_officer_lock(officer.id, 0, Some(now + config.lockout))?;
            }
            Ok(())
        })?;
        if officer.failed_attempts + 1 >= config.max_failed_attempts {
            tracing::warn!(
                login = officer.login,
                "officer account locked after repeated failed sign-ins"
            );
        }
        return Err(OfficerError::SignInRefused);
    }
    let token = format!(
        "{SESSION_TOKEN_PREFIX}{}",
        random_bytes::<32>()?
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    );
    let expires_at = now + config.session_lifetime;
    let session = OfficerSessionRow {
        token_hash: token_hash(&token).to_vec(),
        officer_id: officer.id,
        created_at: now,
        expires_at,
        last_seen_at: now,
        ended_at: None,
    };
    store.write(&mut |tx| {
        if officer.failed_attempts > 0 || officer.locked_until.is_some() {
            tx.set_officer_lock(officer.id, 0, None)?;
        }
        tx.delete_expired_sessions(now)?;
        tx.insert_officer_session(&session)?;
        Ok(())
    })?;
    Ok(IssuedSession {
        token,
        expires_at,
        officer,
    })
}

/// The officer an open session token belongs to: `None` for an unknown, ended, expired or
/// idle session, or a disabled officer. Counts as activity on the session.
pub fn authenticate(
    store: &dyn Store,
    config: &OfficerAuthConfig,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<OfficerRow>, StoreError> {
    if !token.starts_with(SESSION_TOKEN_PREFIX) {
        return Ok(None);
    }
    let hash = token_hash(token);
    let Some((session, officer)) = store.officer_session(&hash)? else {
        return Ok(None);
    };
    let open = session.ended_at.is_none()
        && session.expires_at > now
        && session.last_seen_at + config.idle_timeout > now
        && officer.disabled_at.is_none();
    if !open {
        return Ok(None);
    }
    if now - session.last_seen_at >= Duration::seconds(TOUCH_EVERY_SECONDS) {
        store.write(&mut |tx| tx.touch_officer_session(&hash, now))?;
    }
    Ok(Some(officer))
}

/// Ends a session; `false` when the token names no open session.
pub fn sign_out(store: &dyn Store, token: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
    if !token.starts_with(SESSION_TOKEN_PREFIX) {
        return Ok(false);
    }
    let hash = token_hash(token);
    let mut ended = false;
    store.write(&mut |tx| {
        ended = tx.end_officer_session(&hash, now)?;
        Ok(())
    })?;
    Ok(ended)
}
