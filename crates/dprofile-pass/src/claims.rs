//! The claims of a pass as a CWT claims set (RFC 8392) in CBOR, and back.

use chrono::{DateTime, NaiveDate, Utc};
use ciborium::Value;

/// CWT claim keys (RFC 8392 §4, and the Token Status List draft's `status`).
pub(crate) const CLAIM_ISS: i64 = 1;
pub(crate) const CLAIM_SUB: i64 = 2;
pub(crate) const CLAIM_EXP: i64 = 4;
pub(crate) const CLAIM_IAT: i64 = 6;
pub(crate) const CLAIM_CTI: i64 = 7;
pub(crate) const CLAIM_STATUS_LIST: i64 = 65533;
pub(crate) const CLAIM_TTL: i64 = 65534;
pub(crate) const CLAIM_STATUS: i64 = 65535;
/// Our private claims, under one text key so that no registered key can collide with them.
const CLAIM_DPROFILE: &str = "dp";

/// Which claims a pass carries: the person chooses the least the checker needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassView {
    /// Lawful stay and right to work, nothing that says who the holder is: the checker
    /// compares it with a document the holder shows.
    StatusOnly,
    /// The status and the holder's name, birth date and document number.
    StatusIdentity,
}

impl PassView {
    pub fn code(self) -> &'static str {
        match self {
            PassView::StatusOnly => "status_only",
            PassView::StatusIdentity => "status_identity",
        }
    }

    pub fn from_code(code: &str) -> Option<PassView> {
        match code {
            "status_only" => Some(PassView::StatusOnly),
            "status_identity" => Some(PassView::StatusIdentity),
            _ => None,
        }
    }
}

/// The status a pass states, as of its issuance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusClaims {
    pub lawful_stay: bool,
    /// What the stay rests on (`visa`, `residence_permit`, …).
    pub stay_basis: Option<String>,
    pub stay_until: Option<NaiveDate>,
    pub right_to_work: bool,
    pub work_until: Option<NaiveDate>,
}

/// Who the holder is, in the `status_identity` view.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdentityClaims {
    pub name: String,
    /// As the sources wrote it: may be partial (`1991`, `1991-07`).
    pub birth_date: String,
    pub document_number: String,
}

/// Everything a pass says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PassClaims {
    /// `iss`: the registry that issued it.
    pub issuer: String,
    /// `cti`: the pass's own id (random bytes, so that ids say nothing about volumes).
    pub pass_id: Vec<u8>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The pass's index in the status list at `status_list_uri`.
    pub status_index: u64,
    pub status_list_uri: String,
    pub view: PassView,
    pub status: StatusClaims,
    /// Present exactly in the `status_identity` view.
    pub identity: Option<IdentityClaims>,
}

/// Why a claims set is not a pass's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ClaimsError(pub String);

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

fn date(value: Option<NaiveDate>) -> Value {
    value.map_or(Value::Null, |day| {
        Value::Text(day.format("%Y-%m-%d").to_string())
    })
}

impl PassClaims {
    /// The canonical CBOR of the claims set (keys in a fixed order).
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut private = vec![
            (text("view"), text(self.view.code())),
            (text("stay"), Value::Bool(self.status.lawful_stay)),
            (
                text("stay_basis"),
                self.status.stay_basis.as_deref().map_or(Value::Null, text),
            ),
            (text("stay_until"), date(self.status.stay_until)),
            (text("work"), Value::Bool(self.status.right_to_work)),
            (text("work_until"), date(self.status.work_until)),
        ];
        if let Some(identity) = &self.identity {
            private.push((text("name"), text(&identity.name)));
            private.push((text("birth_date"), text(&identity.birth_date)));
            private.push((text("doc"), text(&identity.document_number)));
        }
        let status = Value::Map(vec![(
            text("status_list"),
            Value::Map(vec![
                (text("idx"), Value::Integer(self.status_index.into())),
                (text("uri"), text(&self.status_list_uri)),
            ]),
        )]);
        let claims = Value::Map(vec![
            (Value::Integer(CLAIM_ISS.into()), text(&self.issuer)),
            (
                Value::Integer(CLAIM_EXP.into()),
                Value::Integer(self.expires_at.timestamp().into()),
            ),
            (
                Value::Integer(CLAIM_IAT.into()),
                Value::Integer(self.issued_at.timestamp().into()),
            ),
            (
                Value::Integer(CLAIM_CTI.into()),
                Value::Bytes(self.pass_id.clone()),
            ),
            (Value::Integer(CLAIM_STATUS.into()), status),
            (text(CLAIM_DPROFILE), Value::Map(private)),
        ]);
        to_vec(&claims)
    }

    /// Reads a claims set; every claim a pass needs must be there with its type.
    pub(crate) fn from_cbor(bytes: &[u8]) -> Result<PassClaims, ClaimsError> {
        let value: Value = ciborium::from_reader(bytes)
            .map_err(|error| ClaimsError(format!("the payload is not CBOR: {error}")))?;
        let claims = CborMap::new(value, "the claims set")?;
        let private = CborMap::new(claims.required_text_key(CLAIM_DPROFILE)?, "claim `dp`")?;
        let status = CborMap::new(claims.required_int_key(CLAIM_STATUS)?, "claim `status`")?;
        let status_list = CborMap::new(
            status.required_text_key("status_list")?,
            "claim `status.status_list`",
        )?;
        let view_code = private.text("view")?;
        let view = PassView::from_code(&view_code)
            .ok_or_else(|| ClaimsError(format!("`dp.view` `{view_code}` is no view we know")))?;
        let identity = match view {
            PassView::StatusOnly => None,
            PassView::StatusIdentity => Some(IdentityClaims {
                name: private.text("name")?,
                birth_date: private.text("birth_date")?,
                document_number: private.text("doc")?,
            }),
        };
        Ok(PassClaims {
            issuer: claims.int_text(CLAIM_ISS, "iss")?,
            pass_id: match claims.required_int_key(CLAIM_CTI)? {
                Value::Bytes(bytes) => bytes,
                _ => return Err(ClaimsError("claim `cti` is not a byte string".to_owned())),
            },
            issued_at: claims.time(CLAIM_IAT, "iat")?,
            expires_at: claims.time(CLAIM_EXP, "exp")?,
            status_index: match status_list.required_text_key("idx")? {
                Value::Integer(index) => u64::try_from(index)
                    .map_err(|_| ClaimsError("`status.status_list.idx` is negative".to_owned()))?,
                _ => {
                    return Err(ClaimsError(
                        "`status.status_list.idx` is not an integer".to_owned(),
                    ));
                }
            },
            status_list_uri: status_list.text("uri")?,
            view,
            status: StatusClaims {
                lawful_stay: private.boolean("stay")?,
                stay_basis: private.optional_text("stay_basis")?,
                stay_until: private.optional_date("stay_until")?,
                right_to_work: private.boolean("work")?,
                work_until: private.optional_date("work_until")?,
            },
            identity,
        })
    }
}

pub(crate) fn to_vec(value: &Value) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(256);
    // Writing into a Vec cannot fail, and every value we build is serialisable.
    if let Err(error) = ciborium::into_writer(value, &mut bytes) {
        unreachable!("CBOR into memory failed: {error}");
    }
    bytes
}

/// A CBOR map read by key, with errors that name the claim.
pub(crate) struct CborMap {
    entries: Vec<(Value, Value)>,
    what: &'static str,
}

impl CborMap {
    pub(crate) fn new(value: Value, what: &'static str) -> Result<CborMap, ClaimsError> {
        match value {
            Value::Map(entries) => Ok(CborMap { entries, what }),
            _ => Err(ClaimsError(format!("{what} is not a CBOR map"))),
        }
    }

    fn get(&self, wanted: impl Fn(&Value) -> bool) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(key, _)| wanted(key))
            .map(|(_, value)| value)
    }

    pub(crate) fn required_int_key(&self, key: i64) -> Result<Value, ClaimsError> {
        self.get(|candidate| matches!(candidate, Value::Integer(found) if i128::from(*found) == i128::from(key)))
            .cloned()
            .ok_or_else(|| ClaimsError(format!("{} has no claim {key}", self.what)))
    }

    pub(crate) fn required_text_key(&self, key: &str) -> Result<Value, ClaimsError> {
        self.get(|candidate| matches!(candidate, Value::Text(found) if found == key))
            .cloned()
            .ok_or_else(|| ClaimsError(format!("{} has no `{key}`", self.what)))
    }

    pub(crate) fn int_text(&self, key: i64, name: &str) -> Result<String, ClaimsError> {
        match self.required_int_key(key)? {
            Value::Text(found) => Ok(found),
            _ => Err(ClaimsError(format!("claim `{name}` is not text"))),
        }
    }

    pub(crate) fn time(&self, key: i64, name: &str) -> Result<DateTime<Utc>, ClaimsError> {
        match self.required_int_key(key)? {
            Value::Integer(seconds) => i64::try_from(seconds)
                .ok()
                .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
                .ok_or_else(|| ClaimsError(format!("claim `{name}` is out of range"))),
            _ => Err(ClaimsError(format!(
                "claim `{name}` is not whole seconds since 1970"
            ))),
        }
    }

    pub(crate) fn text(&self, key: &str) -> Result<String, ClaimsError> {
        match self.required_text_key(key)? {
            Value::Text(found) => Ok(found),
            _ => Err(ClaimsError(format!("`{key}` in {} is not text", self.what))),
        }
    }

    fn optional_text(&self, key: &str) -> Result<Option<String>, ClaimsError> {
        match self.required_text_key(key)? {
            Value::Text(found) => Ok(Some(found)),
            Value::Null => Ok(None),
            _ => Err(ClaimsError(format!(
                "`{key}` in {} is neither text nor null",
                self.what
            ))),
        }
    }

    fn optional_date(&self, key: &str) -> Result<Option<NaiveDate>, ClaimsError> {
        self.optional_text(key)?
            .map(|found| {
                NaiveDate::parse_from_str(&found, "%Y-%m-%d").map_err(|_| {
                    ClaimsError(format!("`{key}` in {} is not a YYYY-MM-DD date", self.what))
                })
            })
            .transpose()
    }

    fn boolean(&self, key: &str) -> Result<bool, ClaimsError> {
        match self.required_text_key(key)? {
            Value::Bool(found) => Ok(found),
            _ => Err(ClaimsError(format!(
                "`{key}` in {} is not true/false",
                self.what
            ))),
        }
    }
}
