//! Revocation as a Token Status List (IETF draft-ietf-oauth-status-list): one bit per pass
//! index (1 = revoked), zlib-compressed, in a CWT signed by a listed pass signer.

use chrono::{DateTime, Utc};
use ciborium::Value;

use crate::claims::{
    CLAIM_EXP, CLAIM_IAT, CLAIM_STATUS_LIST, CLAIM_SUB, CLAIM_TTL, CborMap, to_vec,
};
use crate::cose;
use crate::keys::PassSigner;
use crate::trust::TrustList;

/// The content type in the status list token's protected header (the draft's media type).
const CONTENT_TYPE: &str = "application/statuslist+cwt";
/// The largest list we inflate: 16 MiB of bits is 134 million passes.
const MAX_LIST_BYTES: u64 = 16 * 1024 * 1024;

/// One status bit per pass index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusList {
    /// Bit `i % 8` of byte `i / 8` is index `i` (least significant bit first, as the draft).
    bytes: Vec<u8>,
}

impl StatusList {
    /// A list of `size` indexes, none revoked.
    pub fn with_size(size: u64) -> StatusList {
        StatusList {
            bytes: vec![0; usize::try_from(size.div_ceil(8)).unwrap_or(usize::MAX)],
        }
    }

    /// How many indexes the list covers.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64 * 8
    }

    /// Marks `index` revoked, growing the list if needed.
    pub fn revoke(&mut self, index: u64) {
        let byte = usize::try_from(index / 8).unwrap_or(usize::MAX);
        if byte >= self.bytes.len() {
            self.bytes.resize(byte + 1, 0);
        }
        self.bytes[byte] |= 1 << (index % 8);
    }

    /// Whether `index` is revoked; `None` when the list does not cover it.
    pub fn is_revoked(&self, index: u64) -> Option<bool> {
        let byte = usize::try_from(index / 8).ok()?;
        self.bytes
            .get(byte)
            .map(|bits| bits & (1 << (index % 8)) != 0)
    }
}

/// A signed status list as a verifier caches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListToken {
    /// `sub`: the list's URI, which passes name in their `status` claim.
    pub uri: String,
    pub issued_at: DateTime<Utc>,
    /// After this a verifier should fetch the list again (it still checks with the old one).
    pub expires_at: DateTime<Utc>,
    pub list: StatusList,
}

/// Why a status list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListError {
    #[error("the status list is malformed: {0}")]
    Malformed(String),
    #[error(
        "the status list is signed by key `{0}`, which the trust list does not hold: refresh both lists"
    )]
    UnknownKey(String),
    #[error("the status list's signature does not verify: fetch it again")]
    BadSignature,
}

impl StatusListToken {
    /// The token as a COSE_Sign1 CWT signed by `signer`.
    pub fn sign(&self, signer: &PassSigner) -> Vec<u8> {
        let ttl = (self.expires_at - self.issued_at).num_seconds().max(0);
        let claims = Value::Map(vec![
            (
                Value::Integer(CLAIM_SUB.into()),
                Value::Text(self.uri.clone()),
            ),
            (
                Value::Integer(CLAIM_EXP.into()),
                Value::Integer(self.expires_at.timestamp().into()),
            ),
            (
                Value::Integer(CLAIM_IAT.into()),
                Value::Integer(self.issued_at.timestamp().into()),
            ),
            (
                Value::Integer(CLAIM_STATUS_LIST.into()),
                Value::Map(vec![
                    (Value::Text("bits".into()), Value::Integer(1.into())),
                    (
                        Value::Text("lst".into()),
                        Value::Bytes(cose::zlib(&self.list.bytes)),
                    ),
                ]),
            ),
            (Value::Integer(CLAIM_TTL.into()), Value::Integer(ttl.into())),
        ]);
        cose::sign(
            &to_vec(&claims),
            signer.key_id(),
            signer.signing_key(),
            Some(CONTENT_TYPE),
        )
    }

    /// Reads a signed token and checks its signature against a key of `trust_list`.
    pub fn from_signed(
        bytes: &[u8],
        trust_list: &TrustList,
    ) -> Result<StatusListToken, StatusListError> {
        let malformed = |message: String| StatusListError::Malformed(message);
        let parsed = cose::parse(bytes).map_err(|error| malformed(error.0))?;
        let key = trust_list
            .key(&parsed.key_id)
            .ok_or_else(|| StatusListError::UnknownKey(parsed.key_id.clone()))?;
        if !cose::signature_holds(&parsed, &key.public_key) {
            return Err(StatusListError::BadSignature);
        }
        let payload = parsed.sign1.payload.unwrap_or_default();
        let value: Value = ciborium::from_reader(payload.as_slice())
            .map_err(|error| malformed(format!("the payload is not CBOR: {error}")))?;
        let claims = CborMap::new(value, "the status list token").map_err(|e| malformed(e.0))?;
        let uri = claims
            .int_text(CLAIM_SUB, "sub")
            .map_err(|e| malformed(e.0))?;
        let issued_at = claims.time(CLAIM_IAT, "iat").map_err(|e| malformed(e.0))?;
        let expires_at = claims.time(CLAIM_EXP, "exp").map_err(|e| malformed(e.0))?;
        let list = CborMap::new(
            claims
                .required_int_key(CLAIM_STATUS_LIST)
                .map_err(|e| malformed(e.0))?,
            "claim `status_list`",
        )
        .map_err(|e| malformed(e.0))?;
        match list.required_text_key("bits").map_err(|e| malformed(e.0))? {
            Value::Integer(bits) if i128::from(bits) == 1 => {}
            _ => return Err(malformed("only 1-bit status lists are read".to_owned())),
        }
        let Value::Bytes(compressed) = list.required_text_key("lst").map_err(|e| malformed(e.0))?
        else {
            return Err(malformed("`lst` is not bytes".to_owned()));
        };
        let bytes = cose::unzlib(&compressed, MAX_LIST_BYTES)
            .map_err(|error| malformed(format!("`lst` does not inflate: {error}")))?;
        Ok(StatusListToken {
            uri,
            issued_at,
            expires_at,
            list: StatusList { bytes },
        })
    }
}
