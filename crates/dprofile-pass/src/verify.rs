//! The offline verifier: a pass's text, the cached trust and status lists, and the time in;
//! the claims and a verdict out, with one stable reason code per kind of rejection.

use chrono::{DateTime, Duration, Utc};

use crate::claims::PassClaims;
use crate::status_list::StatusListToken;
use crate::trust::TrustList;
use crate::{MAX_DECOMPRESSED_BYTES, PREFIX, cose};

/// How far a pass's issuance may lie in the verifier's future: clocks of phones and servers
/// drift by minutes, not hours.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// Why a pass is rejected. The codes are stable: scripts and other verifiers match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum RejectReason {
    /// The text does not start with `DP1:`.
    MalformedPrefix,
    /// The text after the prefix is not Base45.
    MalformedBase45,
    /// The bytes do not inflate (zlib's checksum also catches most edits of the text).
    MalformedZlib,
    /// Not a COSE_Sign1 with EdDSA and a key id.
    MalformedCose,
    /// Signed, but the claims are not a pass's (a claim missing or of the wrong type).
    MalformedClaims,
    /// The key id is not in the trust list.
    UnknownKey,
    /// The signature does not verify with the listed key: the pass was altered.
    Tampered,
    /// The key is listed, but did not sign passes when this one says it was issued.
    KeyNotValidAtIssuance,
    /// Issued in the future (past the allowed clock skew).
    NotYetValid,
    Expired,
    Revoked,
    /// The status list at hand does not cover the pass (another list, or too old a copy).
    StatusUnknown,
}

impl RejectReason {
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::MalformedPrefix => "malformed.prefix",
            RejectReason::MalformedBase45 => "malformed.base45",
            RejectReason::MalformedZlib => "malformed.zlib",
            RejectReason::MalformedCose => "malformed.cose",
            RejectReason::MalformedClaims => "malformed.claims",
            RejectReason::UnknownKey => "unknown_key",
            RejectReason::Tampered => "tampered",
            RejectReason::KeyNotValidAtIssuance => "key_not_valid_at_issuance",
            RejectReason::NotYetValid => "not_yet_valid",
            RejectReason::Expired => "expired",
            RejectReason::Revoked => "revoked",
            RejectReason::StatusUnknown => "status_unknown",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.code())
    }
}

/// A pass that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPass {
    pub claims: PassClaims,
    pub key_id: String,
}

/// A rejected pass: the reason, what to tell the checker, and the claims when the signature
/// held (an expired or revoked pass still shows what it said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
    pub key_id: Option<String>,
    pub claims: Option<PassClaims>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid(VerifiedPass),
    Rejected(Rejection),
}

impl Verdict {
    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid(_))
    }

    /// The reason of a rejection, `None` for a valid pass.
    pub fn reason(&self) -> Option<RejectReason> {
        match self {
            Verdict::Valid(_) => None,
            Verdict::Rejected(rejection) => Some(rejection.reason),
        }
    }

    /// The claims, when the signature held.
    pub fn claims(&self) -> Option<&PassClaims> {
        match self {
            Verdict::Valid(pass) => Some(&pass.claims),
            Verdict::Rejected(rejection) => rejection.claims.as_ref(),
        }
    }
}

fn reject(reason: RejectReason, detail: impl Into<String>) -> Verdict {
    Verdict::Rejected(Rejection {
        reason,
        detail: detail.into(),
        key_id: None,
        claims: None,
    })
}

/// Checks a pass offline: format, signature against `trust_list`, the key's issuance window,
/// the validity period at `now`, and revocation in `status_list`. Touches nothing outside.
pub fn verify(
    pass_text: &str,
    trust_list: &TrustList,
    status_list: &StatusListToken,
    now: DateTime<Utc>,
) -> Verdict {
    let text = pass_text.trim();
    let Some(encoded) = text.strip_prefix(PREFIX) else {
        return reject(
            RejectReason::MalformedPrefix,
            format!(
                "a pass starts with `{PREFIX}`: this text is not a dprofile pass of this version"
            ),
        );
    };
    let compressed = match base45::decode(encoded) {
        Ok(bytes) => bytes,
        Err(error) => {
            return reject(
                RejectReason::MalformedBase45,
                format!(
                    "the text after `{PREFIX}` is not Base45 ({error:?}): scan or copy it again"
                ),
            );
        }
    };
    let signed = match cose::unzlib(&compressed, MAX_DECOMPRESSED_BYTES) {
        Ok(bytes) => bytes,
        Err(error) => {
            return reject(
                RejectReason::MalformedZlib,
                format!("the pass does not decompress ({error}): it was cut or altered"),
            );
        }
    };
    let parsed = match cose::parse(&signed) {
        Ok(parsed) => parsed,
        Err(error) => return reject(RejectReason::MalformedCose, error.0),
    };
    let key_id = parsed.key_id.clone();
    let Some(key) = trust_list.key(&key_id) else {
        return Verdict::Rejected(Rejection {
            reason: RejectReason::UnknownKey,
            detail: format!(
                "key `{key_id}` is not in the trust list of `{}` (issued {}): refresh the lists; if it is still missing, the pass is not the registry's",
                trust_list.issuer, trust_list.issued_at
            ),
            key_id: Some(key_id),
            claims: None,
        });
    };
    let with_key = |reason, detail: String, claims| {
        Verdict::Rejected(Rejection {
            reason,
            detail,
            key_id: Some(key_id.clone()),
            claims,
        })
    };
    if !cose::signature_holds(&parsed, &key.public_key) {
        return with_key(
            RejectReason::Tampered,
            format!("the signature does not verify with key `{key_id}`: the pass was altered"),
            None,
        );
    }
    let payload = parsed.sign1.payload.as_deref().unwrap_or_default();
    let claims = match PassClaims::from_cbor(payload) {
        Ok(claims) => claims,
        Err(error) => return with_key(RejectReason::MalformedClaims, error.0, None),
    };
    if !key.may_sign_at(claims.issued_at) {
        let window = match key.signs_until {
            Some(until) => format!("{} to {until}", key.signs_from),
            None => format!("from {}", key.signs_from),
        };
        return with_key(
            RejectReason::KeyNotValidAtIssuance,
            format!(
                "key `{key_id}` signs passes {window}, and this one says it was issued {}",
                claims.issued_at
            ),
            Some(claims),
        );
    }
    if claims.issued_at > now + CLOCK_SKEW {
        let detail = format!(
            "issued {} which is after now ({now}): check this device's clock",
            claims.issued_at
        );
        return with_key(RejectReason::NotYetValid, detail, Some(claims));
    }
    if now >= claims.expires_at {
        let detail = format!("expired {}", claims.expires_at);
        return with_key(RejectReason::Expired, detail, Some(claims));
    }
    if claims.status_list_uri != status_list.uri {
        let detail = format!(
            "the pass's status is in `{}`, the cached status list is `{}`: refresh the lists",
            claims.status_list_uri, status_list.uri
        );
        return with_key(RejectReason::StatusUnknown, detail, Some(claims));
    }
    match status_list.list.is_revoked(claims.status_index) {
        Some(false) => Verdict::Valid(VerifiedPass { claims, key_id }),
        Some(true) => {
            let detail = format!(
                "the holder or the registry revoked this pass (status list of {})",
                status_list.issued_at
            );
            with_key(RejectReason::Revoked, detail, Some(claims))
        }
        None => {
            let detail = format!(
                "the cached status list (of {}) is older than the pass: refresh the lists",
                status_list.issued_at
            );
            with_key(RejectReason::StatusUnknown, detail, Some(claims))
        }
    }
}
