//! An access entry handed to the person it concerns, with everything needed to check it
//! offline: the salt and canonical bytes (so the leaf can be recomputed), the inclusion proof,
//! and the signed checkpoint the proof leads to. Only the log's published verifier key is
//! needed to check it.

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{SignedCheckpoint, TrustedLogKeys};
use crate::entry::{AccessEntry, LeafInput, SALT_LEN};
use crate::tree::{Hash, verify_inclusion};

/// One entry with its proof, as served to the person (JSON-friendly: base64 strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenEntry {
    pub position: u64,
    /// The entry's salt, base64.
    pub salt: String,
    /// The canonical bytes that were hashed, as text (they are JSON).
    pub canonical: String,
    /// The inclusion proof's hashes, base64, leaf side first.
    pub proof: Vec<String>,
    /// The signed checkpoint (C2SP signed note) whose tree the proof leads to.
    pub checkpoint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvenEntryError {
    #[error("the entry is malformed: {0}")]
    Malformed(&'static str),
    #[error("the checkpoint does not open: {0}")]
    Checkpoint(String),
    #[error("the entry was written for position {claims}, not {position}")]
    Misplaced { position: u64, claims: u64 },
    #[error("the proof does not lead from this entry to the signed checkpoint")]
    NotIncluded,
}

impl ProvenEntry {
    pub fn new(position: u64, input: &LeafInput, proof: &[Hash], checkpoint: &str) -> ProvenEntry {
        ProvenEntry {
            position,
            salt: BASE64_STANDARD.encode(input.salt),
            canonical: String::from_utf8_lossy(&input.canonical).into_owned(),
            proof: proof
                .iter()
                .map(|hash| BASE64_STANDARD.encode(hash.0))
                .collect(),
            checkpoint: checkpoint.to_owned(),
        }
    }

    /// Checks the entry offline against the `trusted` keys of log `origin`; returns the entry
    /// and the checkpoint it is proven in.
    pub fn verify(
        &self,
        origin: &str,
        trusted: &TrustedLogKeys,
    ) -> Result<(AccessEntry, SignedCheckpoint), ProvenEntryError> {
        let salt: [u8; SALT_LEN] = BASE64_STANDARD
            .decode(&self.salt)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(ProvenEntryError::Malformed("salt"))?;
        let proof = self
            .proof
            .iter()
            .map(|text| {
                BASE64_STANDARD
                    .decode(text)
                    .ok()
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                    .map(Hash)
            })
            .collect::<Option<Vec<Hash>>>()
            .ok_or(ProvenEntryError::Malformed("proof"))?;
        let checkpoint = SignedCheckpoint::open(&self.checkpoint, origin, trusted)
            .map_err(|error| ProvenEntryError::Checkpoint(error.to_string()))?;
        let input = LeafInput {
            salt,
            canonical: self.canonical.as_bytes().to_vec(),
        };
        let (claims, entry) = AccessEntry::from_canonical(&input.canonical)
            .ok_or(ProvenEntryError::Malformed("canonical"))?;
        if claims != self.position {
            return Err(ProvenEntryError::Misplaced {
                position: self.position,
                claims,
            });
        }
        verify_inclusion(
            &proof,
            checkpoint.size,
            checkpoint.root,
            self.position,
            input.hash(),
        )
        .map_err(|_| ProvenEntryError::NotIncluded)?;
        Ok((entry, checkpoint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::LogKey;
    use crate::entry::{AccessAction, AccessOutcome};
    use crate::tree::{MemoryHashes, inclusion_proof};
    use chrono::{TimeZone, Utc};

    const ORIGIN: &str = "dprofile/access-log";

    fn entry(person: i64) -> AccessEntry {
        AccessEntry {
            at: Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap(),
            actor: "officer:7".into(),
            agency: "fns".into(),
            role: "tax_inspector".into(),
            purpose: "tax_administration".into(),
            case_ref: Some("case-3".into()),
            action: AccessAction::Read,
            person: Some(person),
            categories: vec!["tax_debt".into()],
            outcome: AccessOutcome::Allowed,
        }
    }

    fn proven() -> (ProvenEntry, TrustedLogKeys) {
        let key = LogKey::from_seed(ORIGIN, [5; 32]).unwrap();
        let mut hashes = MemoryHashes::default();
        let inputs: Vec<LeafInput> = (0..9)
            .map(|position| entry(position as i64).leaf_input(position, [position as u8; 32]))
            .collect();
        for input in &inputs {
            hashes.append(input.hash());
        }
        let checkpoint = key.sign(9, hashes.range.root()).unwrap();
        let proof = inclusion_proof(9, 4, &hashes).unwrap();
        (
            ProvenEntry::new(4, &inputs[4], &proof, &checkpoint.note),
            TrustedLogKeys::new([key.verifier_key()]).unwrap(),
        )
    }

    #[test]
    fn a_proven_entry_verifies_offline_with_only_the_published_key() {
        let (proven, trusted) = proven();
        let (entry, checkpoint) = proven.verify(ORIGIN, &trusted).unwrap();
        assert_eq!(entry.person, Some(4));
        assert_eq!(checkpoint.size, 9);
        // Through JSON, as served.
        let served: ProvenEntry =
            serde_json::from_str(&serde_json::to_string(&proven).unwrap()).unwrap();
        assert!(served.verify(ORIGIN, &trusted).is_ok());
    }

    #[test]
    fn altered_entries_and_proofs_are_refused() {
        let (proven, trusted) = proven();
        let mut altered = proven.clone();
        altered.canonical = altered.canonical.replace("case-3", "case-4");
        assert_eq!(
            altered.verify(ORIGIN, &trusted).unwrap_err(),
            ProvenEntryError::NotIncluded
        );
        let mut moved = proven.clone();
        moved.position = 5;
        assert!(matches!(
            moved.verify(ORIGIN, &trusted),
            Err(ProvenEntryError::Misplaced { .. })
        ));
        let mut short = proven.clone();
        short.proof.pop();
        assert_eq!(
            short.verify(ORIGIN, &trusted).unwrap_err(),
            ProvenEntryError::NotIncluded
        );
        let other =
            TrustedLogKeys::new([LogKey::from_seed(ORIGIN, [6; 32]).unwrap().verifier_key()])
                .unwrap();
        assert!(matches!(
            proven.verify(ORIGIN, &other),
            Err(ProvenEntryError::Checkpoint(_))
        ));
    }
}
