//! The trust list: the signer keys a verifier accepts, each with the time window in which it
//! may issue passes, signed by the root key (a COSE_Sign1 over a CBOR document).

use chrono::{DateTime, Utc};
use ciborium::Value;
use ed25519_dalek::VerifyingKey;

use crate::claims::{CborMap, to_vec};
use crate::cose;
use crate::keys::{RootKey, key_id_of};

/// The content type in the trust list's protected header.
const CONTENT_TYPE: &str = "application/vnd.dprofile.trust-list+cbor";

/// A signer key a verifier accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub key_id: String,
    pub public_key: VerifyingKey,
    /// A pass issued before this is not this key's.
    pub signs_from: DateTime<Utc>,
    /// After rotation: a pass issued after this is not this key's. The key stays listed so
    /// that the passes it signed before stay valid until they expire.
    pub signs_until: Option<DateTime<Utc>>,
}

impl TrustedKey {
    pub fn new(
        public_key: VerifyingKey,
        signs_from: DateTime<Utc>,
        signs_until: Option<DateTime<Utc>>,
    ) -> TrustedKey {
        TrustedKey {
            key_id: key_id_of(&public_key),
            public_key,
            signs_from,
            signs_until,
        }
    }

    /// Whether a pass issued at `issued_at` may carry this key's signature.
    pub fn may_sign_at(&self, issued_at: DateTime<Utc>) -> bool {
        issued_at >= self.signs_from && self.signs_until.is_none_or(|until| issued_at <= until)
    }
}

/// The signer keys of one issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustList {
    pub issuer: String,
    pub issued_at: DateTime<Utc>,
    pub keys: Vec<TrustedKey>,
}

/// Why a trust list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustListError {
    #[error("the trust list is not a COSE_Sign1 document: {0}")]
    Malformed(String),
    #[error(
        "the trust list's signature does not verify with the pinned root key: fetch it again from the issuer, or check the root key you pinned"
    )]
    BadSignature,
}

impl TrustList {
    pub fn key(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|key| key.key_id == key_id)
    }

    /// The list as a COSE_Sign1 signed by `root`.
    pub fn sign(&self, root: &RootKey) -> Vec<u8> {
        let keys = self
            .keys
            .iter()
            .map(|key| {
                Value::Map(vec![
                    (Value::Text("kid".into()), Value::Text(key.key_id.clone())),
                    (
                        Value::Text("key".into()),
                        Value::Bytes(key.public_key.as_bytes().to_vec()),
                    ),
                    (
                        Value::Text("from".into()),
                        Value::Integer(key.signs_from.timestamp().into()),
                    ),
                    (
                        Value::Text("until".into()),
                        key.signs_until.map_or(Value::Null, |until| {
                            Value::Integer(until.timestamp().into())
                        }),
                    ),
                ])
            })
            .collect();
        let document = Value::Map(vec![
            (Value::Text("iss".into()), Value::Text(self.issuer.clone())),
            (
                Value::Text("iat".into()),
                Value::Integer(self.issued_at.timestamp().into()),
            ),
            (Value::Text("keys".into()), Value::Array(keys)),
        ]);
        let root_id = key_id_of(&root.verifying_key());
        cose::sign(
            &to_vec(&document),
            &root_id,
            root.signing_key(),
            Some(CONTENT_TYPE),
        )
    }

    /// Reads a signed trust list and checks it against the pinned root key.
    pub fn from_signed(bytes: &[u8], root: &VerifyingKey) -> Result<TrustList, TrustListError> {
        let parsed = cose::parse(bytes).map_err(|error| TrustListError::Malformed(error.0))?;
        if !cose::signature_holds(&parsed, root) {
            return Err(TrustListError::BadSignature);
        }
        let payload = parsed.sign1.payload.unwrap_or_default();
        let malformed = |message: String| TrustListError::Malformed(message);
        let value: Value = ciborium::from_reader(payload.as_slice())
            .map_err(|error| malformed(format!("the payload is not CBOR: {error}")))?;
        let document = CborMap::new(value, "the trust list").map_err(|error| malformed(error.0))?;
        let issuer = document.text("iss").map_err(|error| malformed(error.0))?;
        let issued_at = seconds(
            document
                .required_text_key("iat")
                .map_err(|e| malformed(e.0))?,
        )
        .ok_or_else(|| malformed("`iat` is not a time".to_owned()))?;
        let Value::Array(entries) = document
            .required_text_key("keys")
            .map_err(|error| malformed(error.0))?
        else {
            return Err(malformed("`keys` is not an array".to_owned()));
        };
        let mut keys = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = CborMap::new(entry, "a trust list key").map_err(|e| malformed(e.0))?;
            let Value::Bytes(public) =
                entry.required_text_key("key").map_err(|e| malformed(e.0))?
            else {
                return Err(malformed("a key's `key` is not bytes".to_owned()));
            };
            let public: [u8; 32] = public
                .try_into()
                .map_err(|_| malformed("a key's `key` is not 32 bytes".to_owned()))?;
            let public_key = VerifyingKey::from_bytes(&public)
                .map_err(|_| malformed("a key's `key` is not an Ed25519 point".to_owned()))?;
            let key_id = entry.text("kid").map_err(|e| malformed(e.0))?;
            if key_id != key_id_of(&public_key) {
                return Err(malformed(format!(
                    "key id `{key_id}` is not the id of its key"
                )));
            }
            let signs_from = seconds(
                entry
                    .required_text_key("from")
                    .map_err(|e| malformed(e.0))?,
            )
            .ok_or_else(|| malformed("a key's `from` is not a time".to_owned()))?;
            let signs_until = match entry
                .required_text_key("until")
                .map_err(|e| malformed(e.0))?
            {
                Value::Null => None,
                other => Some(
                    seconds(other)
                        .ok_or_else(|| malformed("a key's `until` is not a time".to_owned()))?,
                ),
            };
            keys.push(TrustedKey {
                key_id,
                public_key,
                signs_from,
                signs_until,
            });
        }
        Ok(TrustList {
            issuer,
            issued_at,
            keys,
        })
    }
}

pub(crate) fn seconds(value: Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Integer(seconds) => i64::try_from(seconds)
            .ok()
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0)),
        _ => None,
    }
}
