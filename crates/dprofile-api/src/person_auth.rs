//! The person's own sign-in: document number + birth date start it, a one-time code sent
//! through a [`CodeSender`] (the SMS / e-mail gateway, an outside system) finishes it, and a
//! session token bound to that person is the credential of the `/v1/me/` routes.
//!
//! Sessions are opened by [`PersonSessions::open_session`] whatever proved who the person is:
//! the one-time code here; an OpenID Connect provider (the national e-government login) would
//! be another caller of it, not a rewrite. Codes and tokens are kept only as SHA-256 hashes.
//!
//! Pending sign-ins (the code's hash, the wrong codes so far) and sessions are in the store
//! (`person_sign_ins`, `person_sessions`): a restart keeps them, and several API processes
//! share them. The rate limits are counters in each process's memory.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use dprofile_store::{PersonId, PersonSessionRow, PersonSignInRow, Store, StoreError};
use sha2::{Digest, Sha256};

/// Delivers a one-time code to the person, by the contact the registry holds for them.
pub trait CodeSender: Send + Sync {
    fn send(&self, person: PersonId, code: &str);
}

/// Stands for the gateway until one is configured: writes the code to the server's log.
#[derive(Debug, Default)]
pub struct LoggingCodeSender;

impl CodeSender for LoggingCodeSender {
    fn send(&self, person: PersonId, code: &str) {
        tracing::info!(
            person,
            code,
            "one-time sign-in code (no delivery gateway configured)"
        );
    }
}

/// Lifetimes and limits of the person's sign-in.
#[derive(Debug, Clone)]
pub struct SignInLimits {
    pub code_lifetime: Duration,
    pub session_lifetime: Duration,
    /// Wrong codes after which a sign-in is locked (the person starts again).
    pub max_code_attempts: u32,
    /// Requests per client address per window, sign-in and verification each.
    pub per_address: u32,
    /// Sign-ins per document number per window.
    pub per_document: u32,
    /// Code checks per document number per window, over all its sign-ins: a new sign-in
    /// resets the wrong-code count, this does not.
    pub verify_per_document: u32,
    pub window: Duration,
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits {
            code_lifetime: Duration::minutes(5),
            session_lifetime: Duration::minutes(30),
            max_code_attempts: 5,
            per_address: 20,
            per_document: 5,
            verify_per_document: 10,
            window: Duration::minutes(15),
        }
    }
}

/// Why a code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// No such sign-in (never started, or finished).
    Unknown,
    Expired,
    /// Too many wrong codes: the sign-in is spent.
    Locked,
    WrongCode {
        attempts_left: u32,
    },
    /// Too many code checks for the sign-in's document: seconds until the window ends.
    RateLimited {
        retry_after_seconds: u64,
    },
    /// The store failed (logged); nothing was decided.
    StoreUnavailable,
}

impl From<StoreError> for VerifyError {
    fn from(error: StoreError) -> VerifyError {
        tracing::error!(error = %error, "the store cannot check a sign-in code");
        VerifyError::StoreUnavailable
    }
}

/// The rules of the persons' sign-ins and sessions (their rows are in the store), the code
/// delivery channel and the rate limits.
pub struct PersonSessions {
    limits: SignInLimits,
    sender: Box<dyn CodeSender>,
    /// Sign-in and verification requests per client address, and sign-ins per document.
    pub by_address: RateLimiter,
    pub by_document: RateLimiter,
    verify_by_document: RateLimiter,
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

impl PersonSessions {
    pub fn new(limits: SignInLimits, sender: Box<dyn CodeSender>) -> PersonSessions {
        PersonSessions {
            by_address: RateLimiter::new(limits.per_address, limits.window),
            by_document: RateLimiter::new(limits.per_document, limits.window),
            verify_by_document: RateLimiter::new(limits.verify_per_document, limits.window),
            limits,
            sender,
        }
    }

    pub fn limits(&self) -> &SignInLimits {
        &self.limits
    }

    /// Starts a sign-in with `document` for `person` (or for nobody) and sends the code;
    /// returns the sign-in id. Blocks on the store.
    pub fn start(
        &self,
        store: &dyn Store,
        document: &str,
        person: Option<PersonId>,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let code = format!("{:06}", rand::random_range(0..1_000_000u32));
        let sign_in_id = random_hex(16);
        let row = PersonSignInRow {
            id_hash: sha256(&sign_in_id).to_vec(),
            person_id: person,
            document: document.to_owned(),
            code_hash: sha256(&code).to_vec(),
            expires_at: now + self.limits.code_lifetime,
            failed_attempts: 0,
        };
        store.write(&mut |tx| {
            tx.delete_expired_sessions(now)?;
            tx.insert_person_sign_in(&row)
        })?;
        // Sent once the sign-in is kept: a code that cannot be checked is never sent.
        if let Some(person) = person {
            self.sender.send(person, &code);
        }
        Ok(sign_in_id)
    }

    /// Checks the code of a sign-in; a right code ends the sign-in and opens a session.
    /// Returns the session token and its expiry. Blocks on the store.
    pub fn verify(
        &self,
        store: &dyn Store,
        sign_in_id: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), VerifyError> {
        let id_hash = sha256(sign_in_id);
        let sign_in = store
            .person_sign_in(&id_hash)?
            .ok_or(VerifyError::Unknown)?;
        if sign_in.failed_attempts >= self.limits.max_code_attempts {
            return Err(VerifyError::Locked);
        }
        if sign_in.expires_at <= now {
            store.write(&mut |tx| tx.take_person_sign_in(&id_hash).map(|_| ()))?;
            return Err(VerifyError::Expired);
        }
        self.verify_by_document
            .hit(&sign_in.document, now)
            .map_err(|retry_after_seconds| VerifyError::RateLimited {
                retry_after_seconds,
            })?;
        match sign_in.person_id {
            Some(person) if sign_in.code_hash == sha256(code.trim()) => {
                let (token, session) = self.new_session(person, now);
                let mut taken = false;
                store.write(&mut |tx| {
                    // Taken and replaced by the session in one transaction: a code opens
                    // one session, even when two processes check it at once.
                    taken = tx.take_person_sign_in(&id_hash)?;
                    if taken {
                        tx.insert_person_session(&session)?;
                    }
                    Ok(())
                })?;
                if !taken {
                    return Err(VerifyError::Unknown);
                }
                Ok((token, session.expires_at))
            }
            _ => {
                let mut failed = 0;
                store.write(&mut |tx| {
                    failed = tx.add_person_sign_in_failed_attempt(&id_hash)?;
                    Ok(())
                })?;
                Err(VerifyError::WrongCode {
                    attempts_left: self.limits.max_code_attempts.saturating_sub(failed),
                })
            }
        }
    }

    fn new_session(&self, person: PersonId, now: DateTime<Utc>) -> (String, PersonSessionRow) {
        let token = format!("dps_{}", random_hex(32));
        let row = PersonSessionRow {
            token_hash: sha256(&token).to_vec(),
            person_id: person,
            expires_at: now + self.limits.session_lifetime,
        };
        (token, row)
    }

    /// Opens a session for a person whose identity was proven (by a code, or by another
    /// authenticator); returns the token, shown once, and its expiry. Blocks on the store.
    pub fn open_session(
        &self,
        store: &dyn Store,
        person: PersonId,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), StoreError> {
        let (token, session) = self.new_session(person, now);
        store.write(&mut |tx| {
            tx.delete_expired_sessions(now)?;
            tx.insert_person_session(&session)
        })?;
        Ok((token, session.expires_at))
    }

    /// Ends the session of `token` (signing out): from then on it answers 401 like an expired
    /// one. Whether one was open. Blocks on the store.
    pub fn close_session(&self, store: &dyn Store, token: &str) -> Result<bool, StoreError> {
        let mut closed = false;
        store.write(&mut |tx| {
            closed = tx.end_person_session(&sha256(token))?;
            Ok(())
        })?;
        Ok(closed)
    }

    /// The person a session token is bound to, if it is open. Blocks on the store.
    pub fn session_person(
        &self,
        store: &dyn Store,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PersonId>, StoreError> {
        if !token.starts_with("dps_") {
            return Ok(None);
        }
        Ok(store
            .person_session(&sha256(token))?
            .filter(|session| session.expires_at > now)
            .map(|session| session.person_id))
    }
}

/// A fixed-window counter per key (client address, document number).
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            limit,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request by `key`; `Err(seconds)` when over the limit, with the time until
    /// the window ends.
    pub fn hit(&self, key: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let window = self.window;
        windows.retain(|_, (started, _)| *started + window > now);
        let (started, count) = windows.entry(key.to_owned()).or_insert((now, 0));
        if *count >= self.limit {
            let left = (*started + window - now).num_seconds().max(1);
            return Err(u64::try_from(left).unwrap_or(1));
        }
        *count += 1;
        Ok(())
    }
}
