//! The person's own sign-in: document number + birth date start it, a one-time code sent
//! through a [`CodeSender`] (the SMS / e-mail gateway, an outside system) finishes it, and a
//! session token bound to that person is the credential of the `/v1/me/` routes.
//!
//! Sessions are opened by [`PersonSessions::open_session`] whatever proved who the person is:
//! the one-time code here; an OpenID Connect provider (the national e-government login) would
//! be another caller of it, not a rewrite. Codes and tokens are kept only as SHA-256 hashes.
//!
//! State is in memory: a restart ends every pending sign-in and session (the person signs in
//! again), and several API processes do not share it.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use dprofile_store::PersonId;
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
}

struct PendingSignIn {
    /// `None` when the document and birth date matched nobody: the sign-in looks the same
    /// from outside and can never succeed.
    person: Option<PersonId>,
    /// The normalised document number, the key of the per-document limit on code checks.
    document: String,
    code_hash: [u8; 32],
    expires_at: DateTime<Utc>,
    failed_attempts: u32,
}

struct Session {
    person: PersonId,
    expires_at: DateTime<Utc>,
}

/// Pending sign-ins and open sessions, keyed by hashes.
pub struct PersonSessions {
    limits: SignInLimits,
    pending: Mutex<HashMap<String, PendingSignIn>>,
    sessions: Mutex<HashMap<[u8; 32], Session>>,
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
            pending: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            sender,
        }
    }

    pub fn limits(&self) -> &SignInLimits {
        &self.limits
    }

    /// Starts a sign-in with `document` for `person` (or for nobody) and sends the code;
    /// returns the sign-in id.
    pub fn start(&self, document: &str, person: Option<PersonId>, now: DateTime<Utc>) -> String {
        let code = format!("{:06}", rand::random_range(0..1_000_000u32));
        let sign_in_id = random_hex(16);
        if let Some(person) = person {
            self.sender.send(person, &code);
        }
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        pending.retain(|_, sign_in| sign_in.expires_at > now);
        pending.insert(
            sign_in_id.clone(),
            PendingSignIn {
                person,
                document: document.to_owned(),
                code_hash: sha256(&code),
                expires_at: now + self.limits.code_lifetime,
                failed_attempts: 0,
            },
        );
        sign_in_id
    }

    /// Checks the code of a sign-in; a right code ends the sign-in and opens a session.
    /// Returns the session token and its expiry.
    pub fn verify(
        &self,
        sign_in_id: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), VerifyError> {
        let person = {
            let mut pending = self
                .pending
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            let sign_in = pending.get_mut(sign_in_id).ok_or(VerifyError::Unknown)?;
            if sign_in.failed_attempts >= self.limits.max_code_attempts {
                return Err(VerifyError::Locked);
            }
            if sign_in.expires_at <= now {
                pending.remove(sign_in_id);
                return Err(VerifyError::Expired);
            }
            self.verify_by_document
                .hit(&sign_in.document, now)
                .map_err(|retry_after_seconds| VerifyError::RateLimited {
                    retry_after_seconds,
                })?;
            match sign_in.person {
                Some(person) if sign_in.code_hash == sha256(code.trim()) => {
                    pending.remove(sign_in_id);
                    person
                }
                _ => {
                    sign_in.failed_attempts += 1;
                    return Err(VerifyError::WrongCode {
                        attempts_left: self
                            .limits
                            .max_code_attempts
                            .saturating_sub(sign_in.failed_attempts),
                    });
                }
            }
        };
        Ok(self.open_session(person, now))
    }

    /// Opens a session for a person whose identity was proven (by a code, or by another
    /// authenticator); returns the token, shown once, and its expiry.
    pub fn open_session(&self, person: PersonId, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let token = format!("dps_{}", random_hex(32));
        let expires_at = now + self.limits.session_lifetime;
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        sessions.retain(|_, session| session.expires_at > now);
        sessions.insert(sha256(&token), Session { person, expires_at });
        (token, expires_at)
    }

    /// The person a session token is bound to, if it is open.
    pub fn session_person(&self, token: &str, now: DateTime<Utc>) -> Option<PersonId> {
        let sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        sessions
            .get(&sha256(token))
            .filter(|session| session.expires_at > now)
            .map(|session| session.person)
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
