//! The server's side of QR passes (issue 5): the signing keys in the data directory (a root
//! that signs the trust list, and pass signers that rotate), issuing a pass for a person's
//! view from their profile, revocation, and the signed trust and status lists that verifiers
//! cache. The format and the verifier are `dprofile_pass`.

use std::path::Path;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use dprofile_pass::{
    IdentityClaims, PassClaims, PassSigner, PassView, RootKey, StatusClaims, StatusList,
    StatusListToken, TrustList, TrustedKey,
};
use dprofile_store::{NewPass, PassRow, PersonId, Store, StoreError};
use ed25519_dalek::VerifyingKey;
use rand::TryRngCore as _;
use serde::{Deserialize, Serialize};

use crate::profile::Profile;
use crate::status::{status_facts, today as status_today};
use dprofile_status::{Answer, RuleSet, StatusKind, evaluate};

/// The key file's name in the data directory.
pub const PASS_KEYS_FILE: &str = "pass-keys.json";
/// The longest a pass lives. A rotated key stays in the trust list this long after its last
/// pass, so that every pass it signed can expire on its own.
pub const MAX_PASS_LIFETIME: Duration = Duration::days(90);
/// How long a pass lives when the person does not say.
pub const DEFAULT_PASS_LIFETIME: Duration = Duration::days(30);
/// How long a verifier may use a status list before fetching it again (its `exp`); it still
/// checks with an older one when offline.
pub const STATUS_LIST_TTL: Duration = Duration::hours(1);
/// The `iss` of passes and trust lists.
pub const ISSUER: &str = "dprofile";

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("pass key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error(
        "the registry holds no {missing} for you, which the `status_identity` view shows: issue a `status_only` pass"
    )]
    IdentityUnknown { missing: &'static str },
    #[error("a pass lives 1 to {max} days; {asked} is outside: ask for fewer days", max = MAX_PASS_LIFETIME.num_days())]
    Lifetime { asked: i64 },
}

#[derive(Debug, Serialize, Deserialize)]
struct KeyFile {
    /// Base64 of the root's 32-byte seed.
    root: String,
    /// Oldest first; the last one not retired signs.
    signers: Vec<SignerEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SignerEntry {
    seed: String,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

/// The root key and the pass signers, as kept in [`PASS_KEYS_FILE`].
#[derive(Debug, Clone)]
pub struct PassKeyring {
    root: RootKey,
    signers: Vec<KeyEntry>,
}

#[derive(Debug, Clone)]
struct KeyEntry {
    signer: PassSigner,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

/// Key times in whole seconds: the trust list carries whole seconds, and a pass issued in the
/// second its key was made must not look older than the key.
fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

fn random_seed() -> Result<[u8; 32], String> {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut seed)
        .map_err(|error| format!("no randomness for a new key: {error}"))?;
    Ok(seed)
}

fn seed_from(text: &str) -> Result<[u8; 32], String> {
    BASE64
        .decode(text)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| "a seed is not base64 of 32 bytes".to_owned())
}

impl PassKeyring {
    /// A keyring from fixed seeds (tests and benchmarks).
    pub fn from_seeds(root: [u8; 32], signer: [u8; 32], created_at: DateTime<Utc>) -> PassKeyring {
        PassKeyring {
            root: RootKey::from_seed(root),
            signers: vec![KeyEntry {
                signer: PassSigner::from_seed(signer),
                created_at: whole_seconds(created_at),
                retired_at: None,
            }],
        }
    }

    /// Reads the keyring at `path`, creating one (readable by the owner only) with a new root
    /// and signer if the file does not exist.
    pub fn load_or_create(path: &Path, now: DateTime<Utc>) -> Result<PassKeyring, PassError> {
        let key_file_error = |message: String| PassError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => PassKeyring::parse(&text).map_err(key_file_error),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let keyring = PassKeyring::from_seeds(
                    random_seed().map_err(key_file_error)?,
                    random_seed().map_err(key_file_error)?,
                    now,
                );
                keyring.write(path, true).map_err(key_file_error)?;
                Ok(keyring)
            }
            Err(error) => Err(key_file_error(error.to_string())),
        }
    }

    /// Retires the signing key at `now` and adds a new one, in the file at `path`. The retired
    /// key stays in the trust list for [`MAX_PASS_LIFETIME`], so its passes stay valid.
    pub fn rotate(path: &Path, now: DateTime<Utc>) -> Result<PassKeyring, PassError> {
        let key_file_error = |message: String| PassError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        let now = whole_seconds(now);
        let mut keyring = PassKeyring::load_or_create(path, now)?;
        for entry in &mut keyring.signers {
            entry.retired_at.get_or_insert(now);
        }
        keyring.signers.push(KeyEntry {
            signer: PassSigner::from_seed(random_seed().map_err(key_file_error)?),
            created_at: now,
            retired_at: None,
        });
        keyring.write(path, false).map_err(key_file_error)?;
        Ok(keyring)
    }

    fn parse(text: &str) -> Result<PassKeyring, String> {
        let file: KeyFile =
            serde_json::from_str(text).map_err(|error| format!("not a pass key file: {error}"))?;
        let signers = file
            .signers
            .iter()
            .map(|entry| {
                Ok(KeyEntry {
                    signer: PassSigner::from_seed(seed_from(&entry.seed)?),
                    created_at: entry.created_at,
                    retired_at: entry.retired_at,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if !signers.iter().any(|entry| entry.retired_at.is_none()) {
            return Err("no signer is in use: run `dprofile passes rotate-key`".to_owned());
        }
        Ok(PassKeyring {
            root: RootKey::from_seed(seed_from(&file.root)?),
            signers,
        })
    }

    /// Writes the file owner-only: a new file directly, a replacement through a temporary
    /// file renamed over the old one, so that a crash never leaves half a keyring.
    fn write(&self, path: &Path, create_new: bool) -> Result<(), String> {
        let file = KeyFile {
            root: BASE64.encode(self.root.seed()),
            signers: self
                .signers
                .iter()
                .map(|entry| SignerEntry {
                    seed: BASE64.encode(entry.signer.seed()),
                    created_at: entry.created_at,
                    retired_at: entry.retired_at,
                })
                .collect(),
        };
        let text = serde_json::to_string_pretty(&file).map_err(|error| error.to_string())?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| error.to_string())?;
        }
        if create_new {
            return write_private(path, &text, true).map_err(|error| error.to_string());
        }
        let temporary = path.with_extension("json.new");
        let _ = std::fs::remove_file(&temporary);
        write_private(&temporary, &text, true).map_err(|error| error.to_string())?;
        std::fs::rename(&temporary, path).map_err(|error| error.to_string())
    }

    /// The key that signs new passes and status lists.
    pub fn signer(&self) -> &PassSigner {
        // `parse` and the constructors keep one signer in use.
        let current = self
            .signers
            .iter()
            .rev()
            .find(|entry| entry.retired_at.is_none())
            .or(self.signers.last());
        match current {
            Some(entry) => &entry.signer,
            None => unreachable!("a keyring always has a signer"),
        }
    }

    pub fn root(&self) -> &RootKey {
        &self.root
    }

    /// The signer keys a verifier should accept at `now`: those in use, and retired ones
    /// whose passes may still be alive.
    pub fn trust_list(&self, now: DateTime<Utc>) -> TrustList {
        TrustList {
            issuer: ISSUER.to_owned(),
            issued_at: now,
            keys: self
                .signers
                .iter()
                .filter(|entry| {
                    entry
                        .retired_at
                        .is_none_or(|retired| retired + MAX_PASS_LIFETIME > now)
                })
                .map(|entry| {
                    TrustedKey::new(
                        entry.signer.verifying_key(),
                        entry.created_at,
                        entry.retired_at,
                    )
                })
                .collect(),
        }
    }
}

fn write_private(path: &Path, text: &str, create_new: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(create_new).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// Lawful stay and right to work on `today`, as the status engine (`dprofile-status`, rules
/// `rules`) derives them from the profile: the one place a pass's status comes from, so a
/// pass states exactly what `GET /v1/me/status` says (its lawful-stay and right-to-work
/// answers, basis and end date). Only a "yes" counts; "no" and "unknown" both claim nothing.
pub fn pass_status_claims(profile: &Profile, today: NaiveDate, rules: &RuleSet) -> StatusClaims {
    let report = evaluate(&status_facts(profile), today, rules);
    let yes = |kind| {
        report
            .get(kind)
            .filter(|status| status.answer == Answer::Yes)
    };
    let stay = yes(StatusKind::LawfulStay);
    let work = yes(StatusKind::RightToWork);
    StatusClaims {
        lawful_stay: stay.is_some(),
        stay_basis: stay.and_then(|status| status.basis.map(str::to_owned)),
        stay_until: stay.and_then(|status| status.valid_until),
        right_to_work: work.is_some(),
        work_until: work.and_then(|status| status.valid_until),
    }
}

/// The holder's name, birth date and document number as the `status_identity` view shows
/// them: a Latin spelling if a source wrote one, the first passport the person holds.
pub fn pass_identity_claims(profile: &Profile) -> Result<IdentityClaims, PassError> {
    let names: Vec<&serde_json::Value> = profile
        .identity
        .iter()
        .filter_map(|summary| summary.get("names").and_then(serde_json::Value::as_array))
        .flatten()
        .collect();
    let spelled = |name: &serde_json::Value| {
        ["family", "given", "patronymic"]
            .iter()
            .filter_map(|part| name.get(*part).and_then(serde_json::Value::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let name = names
        .iter()
        .find(|name| name.get("script").and_then(serde_json::Value::as_str) == Some("Latn"))
        .or(names.first())
        .map(|name| spelled(name))
        .filter(|name| !name.is_empty())
        .ok_or(PassError::IdentityUnknown { missing: "name" })?;
    let birth_date = profile
        .identity
        .iter()
        .find_map(|summary| {
            summary
                .get("birth_date")
                .and_then(serde_json::Value::as_str)
        })
        .ok_or(PassError::IdentityUnknown {
            missing: "birth date",
        })?
        .to_owned();
    let document_number = profile
        .identifiers
        .iter()
        .find_map(|identifier| identifier.strip_prefix("passport:"))
        .or_else(|| {
            profile
                .identifiers
                .iter()
                .find_map(|identifier| identifier.strip_prefix("national_id:"))
        })
        .map(|value| value.rsplit(':').next().unwrap_or(value).to_owned())
        .ok_or(PassError::IdentityUnknown {
            missing: "passport or national id",
        })?;
    Ok(IdentityClaims {
        name,
        birth_date,
        document_number,
    })
}

/// Issues and revokes passes and signs the lists, over a store and a keyring.
pub struct PassService {
    store: Arc<dyn Store>,
    /// Behind a lock so that a reload (after a rotation) can swap it under running requests.
    keyring: RwLock<PassKeyring>,
}

impl std::fmt::Debug for PassService {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PassService")
            .finish_non_exhaustive()
    }
}

impl PassService {
    pub fn new(store: Arc<dyn Store>, keyring: PassKeyring) -> PassService {
        PassService {
            store,
            keyring: RwLock::new(keyring),
        }
    }

    fn keyring(&self) -> PassKeyring {
        self.keyring
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The URI passes name for their status: one per installation (the root key's id), so
    /// that a verifier never checks one registry's passes against another's list.
    pub fn status_list_uri(&self) -> String {
        format!(
            "urn:dprofile:pass-status:{}",
            dprofile_pass::key_id_of(&self.root_key())
        )
    }

    /// The key a verifier pins to check the trust list.
    pub fn root_key(&self) -> VerifyingKey {
        self.keyring().root().verifying_key()
    }

    /// Issues a pass of `view` for the person of `profile`, valid `lifetime` from `now`.
    pub fn issue(
        &self,
        person: PersonId,
        profile: &Profile,
        view: PassView,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> Result<PassRow, PassError> {
        if lifetime < Duration::days(1) || lifetime > MAX_PASS_LIFETIME {
            return Err(PassError::Lifetime {
                asked: lifetime.num_days(),
            });
        }
        let identity = match view {
            PassView::StatusOnly => None,
            PassView::StatusIdentity => Some(pass_identity_claims(profile)?),
        };
        let rules = RuleSet::v1();
        let status = pass_status_claims(profile, status_today(&rules, now), &rules);
        let keyring = self.keyring();
        let signer = keyring.signer();
        let pass_id: [u8; 16] = rand::random();
        // Whole seconds: that is what the CWT carries, and the row must say the same.
        let issued_at = whole_seconds(now);
        let expires_at = issued_at + lifetime;
        let status_list_uri = self.status_list_uri();
        let mut issued = None;
        self.store.write(&mut |tx| {
            let index = tx.insert_pass(&NewPass {
                person_id: person,
                pass_id: &pass_id,
                key_id: signer.key_id(),
                view: view.code(),
                issued_at,
                expires_at,
            })?;
            let claims = PassClaims {
                issuer: ISSUER.to_owned(),
                pass_id: pass_id.to_vec(),
                issued_at,
                expires_at,
                status_index: u64::try_from(index)
                    .map_err(|_| StoreError::Corrupt(format!("negative pass id {index}")))?,
                status_list_uri: status_list_uri.clone(),
                view,
                status: status.clone(),
                identity: identity.clone(),
            };
            let text = dprofile_pass::issue(&claims, signer);
            tx.set_pass_text(index, &text)?;
            issued = Some(PassRow {
                id: index,
                person_id: person,
                pass_id: pass_id.to_vec(),
                key_id: signer.key_id().to_owned(),
                view: view.code().to_owned(),
                issued_at,
                expires_at,
                text,
                revoked_at: None,
            });
            Ok(())
        })?;
        issued.ok_or_else(|| StoreError::Corrupt("the pass was not written".to_owned()).into())
    }

    /// Revokes the person's pass `id`; `false` if the person has no such pass.
    pub fn revoke(&self, person: PersonId, id: i64, now: DateTime<Utc>) -> Result<bool, PassError> {
        let mut revoked = false;
        self.store.write(&mut |tx| {
            revoked = tx.revoke_pass(id, person, now)?;
            Ok(())
        })?;
        Ok(revoked)
    }

    /// The trust list at `now`, signed by the root (COSE_Sign1 bytes).
    pub fn signed_trust_list(&self, now: DateTime<Utc>) -> Vec<u8> {
        let keyring = self.keyring();
        keyring.trust_list(now).sign(keyring.root())
    }

    /// The status list as it stands, signed by the current signer (COSE_Sign1 CWT bytes).
    pub fn signed_status_list(&self, now: DateTime<Utc>) -> Result<Vec<u8>, PassError> {
        let statuses = self.store.pass_statuses()?;
        let mut list =
            StatusList::with_size(u64::try_from(statuses.highest_index).unwrap_or_default() + 1);
        for index in statuses.revoked {
            if let Ok(index) = u64::try_from(index) {
                list.revoke(index);
            }
        }
        let token = StatusListToken {
            uri: self.status_list_uri(),
            issued_at: now,
            expires_at: now + STATUS_LIST_TTL,
            list,
        };
        Ok(token.sign(self.keyring().signer()))
    }
}
