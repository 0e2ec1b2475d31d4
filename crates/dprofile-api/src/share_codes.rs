//! Share codes, after the UK "view and prove your immigration status" service: the signed-in
//! person makes a code for one purpose (`work`, `rent`, `other`) and gives it to a checker (an
//! employer, a landlord), who enters it with the person's birth date and sees only what that
//! purpose needs.
//!
//! A code is 9 characters from a 32-character alphabet without the look-alikes 0/O and 1/I,
//! shown once (`ABC-DEF-GHJ`) and kept only as a hash.
//!
//! Why guessing is hopeless: 32^9 = 2^45 ≈ 3.5 × 10^13 codes. A checker address gets 30 checks
//! per 15 minutes (2,880 a day). Even with 10 million live codes, one guess hits some code with
//! probability 10^7 / 3.5 × 10^13 ≈ 2.8 × 10^-7: a botnet of 10,000 addresses guessing for the
//! 90 days a code lives (2.6 × 10^9 guesses) finds ≈ 740 codes. Each then needs the holder's
//! birth date, and a code locks after 5 wrong ones: with ~22,000 plausible birth dates (60
//! years), 5 tries succeed with probability 2.3 × 10^-4, so that whole botnet expects ≈ 0.17
//! profiles in 90 days, each failed try visible in the person's access log. A code found by
//! chance shows one purpose's few fields, never offences, health or debts.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::person_auth::RateLimiter;

/// The characters of a code: A-Z without I and O, 2-9 (32 in all, 5 bits each).
pub const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
pub const CODE_LENGTH: usize = 9;

/// Lifetimes and limits of share codes.
#[derive(Debug, Clone)]
pub struct ShareCodeLimits {
    /// How long a code lives unless the person asks for less (the UK service: 90 days).
    pub lifetime: Duration,
    /// Checks with a wrong birth date after which a code is locked for good.
    pub max_failed_checks: u32,
    /// Checks per client address per window.
    pub checks_per_address: u32,
    pub window: Duration,
}

impl Default for ShareCodeLimits {
    fn default() -> Self {
        ShareCodeLimits {
            lifetime: Duration::days(90),
            max_failed_checks: 5,
            checks_per_address: 30,
            window: Duration::minutes(15),
        }
    }
}

/// The share-code service's limits and its per-address counter (in memory, per process, like
/// the sign-in's).
pub struct ShareCodes {
    pub limits: ShareCodeLimits,
    pub checks_by_address: RateLimiter,
}

impl ShareCodes {
    pub fn new(limits: ShareCodeLimits) -> ShareCodes {
        ShareCodes {
            checks_by_address: RateLimiter::new(limits.checks_per_address, limits.window),
            limits,
        }
    }
}

impl Default for ShareCodes {
    fn default() -> Self {
        ShareCodes::new(ShareCodeLimits::default())
    }
}

/// What a code lets a checker see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharePurpose {
    /// Right to work: yes/no, conditions, valid until, name, photo reference.
    Work,
    /// Right to rent: lawful stay yes/no and until.
    Rent,
    /// Lawful stay yes/no only.
    Other,
}

impl SharePurpose {
    pub const ALL: [SharePurpose; 3] =
        [SharePurpose::Work, SharePurpose::Rent, SharePurpose::Other];

    pub fn code(self) -> &'static str {
        match self {
            SharePurpose::Work => "work",
            SharePurpose::Rent => "rent",
            SharePurpose::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<SharePurpose> {
        SharePurpose::ALL
            .into_iter()
            .find(|purpose| purpose.code() == text.trim())
    }
}

/// A fresh random code, without separators.
pub fn generate_code() -> String {
    (0..CODE_LENGTH)
        .map(|_| char::from(CODE_ALPHABET[rand::random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// `ABCDEFGHJ` as the person reads it out: `ABC-DEF-GHJ`.
pub fn display_code(code: &str) -> String {
    let characters: Vec<char> = code.chars().collect();
    characters
        .chunks(3)
        .map(|chunk| chunk.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A code as typed (any case, spaces or dashes anywhere) in its stored form; the error says
/// what is wrong with it.
pub fn normalise_code(text: &str) -> Result<String, String> {
    let code: String = text
        .chars()
        .filter(|character| !character.is_whitespace() && *character != '-')
        .map(|character| character.to_ascii_uppercase())
        .collect();
    if let Some(bad) = code
        .bytes()
        .find(|byte| !CODE_ALPHABET.contains(byte))
        .map(char::from)
    {
        return Err(format!(
            "`{bad}` is not in a share code: codes use A-Z without I and O, and 2-9 (no 0 or 1)"
        ));
    }
    if code.len() != CODE_LENGTH {
        return Err(format!(
            "a share code has {CODE_LENGTH} characters, this one has {}: check it with the person",
            code.len()
        ));
    }
    Ok(code)
}

/// The stored form of a code. Domain-separated SHA-256: a code is random (45 bits), so no
/// per-row salt is needed against precomputed tables of other systems' hashes.
pub fn code_hash(code: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"dprofile share code v1\0");
    hasher.update(code.as_bytes());
    hasher.finalize().into()
}

/// The state of a stored code at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeState {
    Active,
    Expired,
    Revoked,
    Locked,
}

impl CodeState {
    pub fn of(code: &dprofile_store::ShareCodeRow, now: DateTime<Utc>) -> CodeState {
        if code.revoked_at.is_some() {
            CodeState::Revoked
        } else if code.locked_at.is_some() {
            CodeState::Locked
        } else if code.expires_at <= now {
            CodeState::Expired
        } else {
            CodeState::Active
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            CodeState::Active => "active",
            CodeState::Expired => "expired",
            CodeState::Revoked => "revoked",
            CodeState::Locked => "locked",
        }
    }
}

/// Why a check shows nothing; each is a stable problem code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShareCodeError {
    /// Unknown code, or a known code with another birth date: the two answer alike, so a
    /// guesser learns nothing about which codes exist.
    #[error(
        "the share code and birth date do not match: check both with the person (codes have 9 characters, e.g. ABC-DEF-GHJ)"
    )]
    NoMatch,
    #[error("this share code has expired: ask the person for a new one")]
    Expired,
    #[error("the person has revoked this share code: ask them for a new one")]
    Revoked,
    #[error(
        "this share code is locked after too many checks with a wrong birth date: ask the person for a new one"
    )]
    Locked,
}

impl ShareCodeError {
    pub fn code(self) -> &'static str {
        match self {
            ShareCodeError::NoMatch => "share_code.no_match",
            ShareCodeError::Expired => "share_code.expired",
            ShareCodeError::Revoked => "share_code.revoked",
            ShareCodeError::Locked => "share_code.locked",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ShareCodeError::NoMatch => "share code and birth date do not match",
            ShareCodeError::Expired => "share code expired",
            ShareCodeError::Revoked => "share code revoked",
            ShareCodeError::Locked => "share code locked",
        }
    }

    pub fn status(self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            ShareCodeError::NoMatch => StatusCode::NOT_FOUND,
            ShareCodeError::Expired | ShareCodeError::Revoked => StatusCode::GONE,
            ShareCodeError::Locked => StatusCode::LOCKED,
        }
    }
}
