//! Signed checkpoints: the log's size and root in the C2SP tlog-checkpoint text, signed as a
//! C2SP signed note with Ed25519. Anyone holding the published verifier key checks them
//! offline; the key name is the log's origin.

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use signed_note::{Note, NoteError, StandardSigner, StandardVerifier, Verifier, VerifierList};
use tlog_tiles::Checkpoint;

use crate::tree::Hash;

/// Algorithm byte of an Ed25519 key in signed-note key encodings.
const ALG_ED25519: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("the log key is malformed: expected PRIVATE+KEY+<origin>+<id>+<base64>")]
    MalformedKey,
    #[error("the verifier key `{0}` is malformed: expected <origin>+<id>+<base64>")]
    MalformedVerifierKey(String),
    #[error("the origin `{0}` is not a valid key name (no spaces, no `+`)")]
    InvalidOrigin(String),
    #[error("the checkpoint is not a well-formed signed note")]
    Malformed,
    #[error("the checkpoint is signed by no trusted key")]
    UnknownKey,
    #[error("a checkpoint signature does not verify")]
    BadSignature,
    #[error("the checkpoint is for log `{found}`, not `{expected}`")]
    WrongOrigin { expected: String, found: String },
}

/// The log's signing key, with its public verifier key in signed-note encoding.
#[derive(Clone)]
pub struct LogKey {
    signer: StandardSigner,
    secret: String,
    verifier_key: String,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        formatter
            .debug_struct("LogKey")
            .field("verifier_key", &self.verifier_key)
            .finish_non_exhaustive()
    }
}

impl LogKey {
    /// A key for log `origin` from 32 secret random bytes (the caller draws them).
    pub fn from_seed(origin: &str, seed: [u8; 32]) -> Result<LogKey, CheckpointError> {
        if !signed_note::is_key_name_valid(origin) {
            return Err(CheckpointError::InvalidOrigin(origin.to_owned()));
        }
        let signing_key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let verifier_key =
            signed_note::new_ed25519_verifier_key(origin, &signing_key.verifying_key());
        let public = [
            &[ALG_ED25519],
            signing_key.verifying_key().as_bytes().as_slice(),
        ]
        .concat();
        let private = [&[ALG_ED25519], seed.as_slice()].concat();
        let secret = format!(
            "PRIVATE+KEY+{origin}+{:08x}+{}",
            signed_note::key_id(origin, &public),
            BASE64_STANDARD.encode(private)
        );
        LogKey::from_secret_and_verifier(secret, verifier_key)
    }

    /// A key from its secret encoding (`PRIVATE+KEY+<origin>+<id>+<base64>`).
    pub fn from_secret(secret: &str) -> Result<LogKey, CheckpointError> {
        let (_, rest) = secret
            .split_once("PRIVATE+KEY+")
            .ok_or(CheckpointError::MalformedKey)?;
        let (origin, rest) = rest.split_once('+').ok_or(CheckpointError::MalformedKey)?;
        let (_, key64) = rest.split_once('+').ok_or(CheckpointError::MalformedKey)?;
        let key = BASE64_STANDARD
            .decode(key64)
            .map_err(|_| CheckpointError::MalformedKey)?;
        let seed: [u8; 32] = key
            .get(1..)
            .and_then(|seed| seed.try_into().ok())
            .ok_or(CheckpointError::MalformedKey)?;
        let key = LogKey::from_seed(origin, seed)?;
        if key.secret != secret {
            return Err(CheckpointError::MalformedKey);
        }
        Ok(key)
    }

    fn from_secret_and_verifier(
        secret: String,
        verifier_key: String,
    ) -> Result<LogKey, CheckpointError> {
        let signer = StandardSigner::new(&secret).map_err(|_| CheckpointError::MalformedKey)?;
        Ok(LogKey {
            signer,
            secret,
            verifier_key,
        })
    }

    pub fn origin(&self) -> &str {
        signed_note::Signer::name(&self.signer)
    }

    /// The secret encoding, to keep in the server's key file; never to be logged.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The public key to publish (`<origin>+<id>+<base64>`).
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// Signs the tree head (`size`, `root`) of this key's log.
    pub fn sign(&self, size: u64, root: Hash) -> Result<SignedCheckpoint, CheckpointError> {
        let origin = self.origin().to_owned();
        let checkpoint =
            Checkpoint::new(&origin, size, root, "").map_err(|_| CheckpointError::Malformed)?;
        let mut note =
            Note::new(&checkpoint.to_bytes(), &[]).map_err(|_| CheckpointError::Malformed)?;
        note.add_sigs(&[&self.signer])
            .map_err(|_| CheckpointError::Malformed)?;
        let note = String::from_utf8(note.to_bytes()).map_err(|_| CheckpointError::Malformed)?;
        Ok(SignedCheckpoint {
            origin,
            size,
            root,
            note,
        })
    }
}

/// The verifier keys a checker trusts (the published current and earlier log keys).
pub struct TrustedLogKeys {
    verifiers: VerifierList,
}

impl std::fmt::Debug for TrustedLogKeys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TrustedLogKeys")
            .finish_non_exhaustive()
    }
}

impl TrustedLogKeys {
    pub fn new<'a>(
        verifier_keys: impl IntoIterator<Item = &'a str>,
    ) -> Result<TrustedLogKeys, CheckpointError> {
        let verifiers = verifier_keys
            .into_iter()
            .map(|key| {
                StandardVerifier::new(key)
                    .map(|verifier| Box::new(verifier) as Box<dyn Verifier>)
                    .map_err(|_| CheckpointError::MalformedVerifierKey(key.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedLogKeys {
            verifiers: VerifierList::new(verifiers),
        })
    }
}

/// A checkpoint and the signed note it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// The signed note text, as published.
    pub note: String,
}

impl SignedCheckpoint {
    /// Parses `note` and checks that a trusted key signed it for log `origin`.
    pub fn open(
        note: &str,
        origin: &str,
        trusted: &TrustedLogKeys,
    ) -> Result<SignedCheckpoint, CheckpointError> {
        let parsed = Note::from_bytes(note.as_bytes()).map_err(|_| CheckpointError::Malformed)?;
        parsed
            .verify(&trusted.verifiers)
            .map_err(|error| match error {
                NoteError::UnverifiedNote => CheckpointError::UnknownKey,
                NoteError::InvalidSignature { .. } => CheckpointError::BadSignature,
                _ => CheckpointError::Malformed,
            })?;
        let checkpoint =
            Checkpoint::from_bytes(parsed.text()).map_err(|_| CheckpointError::Malformed)?;
        if checkpoint.origin() != origin {
            return Err(CheckpointError::WrongOrigin {
                expected: origin.to_owned(),
                found: checkpoint.origin().to_owned(),
            });
        }
        Ok(SignedCheckpoint {
            origin: checkpoint.origin().to_owned(),
            size: checkpoint.size(),
            root: *checkpoint.hash(),
            note: note.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::leaf_hash;

    const ORIGIN: &str = "dprofile/access-log";

    fn key(byte: u8) -> LogKey {
        LogKey::from_seed(ORIGIN, [byte; 32]).unwrap()
    }

    #[test]
    fn a_signed_checkpoint_opens_with_the_published_key_and_has_the_c2sp_shape() {
        let key = key(7);
        let root = leaf_hash(b"x");
        let signed = key.sign(12, root).unwrap();
        let lines: Vec<&str> = signed.note.lines().collect();
        assert_eq!(lines[0], ORIGIN);
        assert_eq!(lines[1], "12");
        assert_eq!(lines[2], BASE64_STANDARD.encode(root.0));
        assert_eq!(lines[3], "");
        assert!(lines[4].starts_with(&format!("\u{2014} {ORIGIN} ")));
        let trusted = TrustedLogKeys::new([key.verifier_key()]).unwrap();
        assert_eq!(
            SignedCheckpoint::open(&signed.note, ORIGIN, &trusted),
            Ok(signed)
        );
    }

    #[test]
    fn secret_encoding_round_trips_and_is_never_debug_printed() {
        let key = key(9);
        let again = LogKey::from_secret(key.secret()).unwrap();
        assert_eq!(again.verifier_key(), key.verifier_key());
        assert!(!format!("{key:?}").contains("PRIVATE"));
        assert_eq!(
            LogKey::from_secret("PRIVATE+KEY+x+0000+AA==").unwrap_err(),
            CheckpointError::MalformedKey
        );
    }

    #[test]
    fn rewritten_unknown_and_foreign_checkpoints_are_refused() {
        let key = key(7);
        let trusted = TrustedLogKeys::new([key.verifier_key()]).unwrap();
        let signed = key.sign(12, leaf_hash(b"x")).unwrap();

        let rewritten = signed.note.replacen("\n12\n", "\n13\n", 1);
        assert_eq!(
            SignedCheckpoint::open(&rewritten, ORIGIN, &trusted),
            Err(CheckpointError::BadSignature)
        );
        let forged = LogKey::from_seed(ORIGIN, [8; 32])
            .unwrap()
            .sign(12, leaf_hash(b"y"))
            .unwrap();
        assert_eq!(
            SignedCheckpoint::open(&forged.note, ORIGIN, &trusted),
            Err(CheckpointError::UnknownKey)
        );
        let other_log = LogKey::from_seed("other/log", [7; 32]).unwrap();
        let trusted_other = TrustedLogKeys::new([other_log.verifier_key()]).unwrap();
        let foreign = other_log.sign(1, leaf_hash(b"z")).unwrap();
        assert!(matches!(
            SignedCheckpoint::open(&foreign.note, ORIGIN, &trusted_other),
            Err(CheckpointError::WrongOrigin { .. })
        ));
        assert_eq!(
            SignedCheckpoint::open("garbage", ORIGIN, &trusted),
            Err(CheckpointError::Malformed)
        );
    }
}
