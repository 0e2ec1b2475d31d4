//! One access event and its leaf: the canonical bytes that are hashed, bound to the entry's
//! position in the log and blinded by a per-entry salt.
//!
//! The position is inside the hashed bytes so that moving an entry (a swap, a deletion followed
//! by renumbering) is seen at the entry itself, not only at the next checkpoint. The salt keeps
//! the hashes that proofs reveal from being matched against guessed events (who read whose
//! profile is itself personal data); erasing an entry's details and salt leaves its leaf hash,
//! so the tree still verifies after retention.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::tree::{Hash, leaf_hash};

/// Bytes of salt per entry: as long as the hash, so guessing it is as hard as a preimage.
pub const SALT_LEN: usize = 32;

/// What was done with personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessAction {
    Read,
    Write,
    Search,
    Review,
    /// A share-code or pass check by a third party.
    Check,
    /// An event delivered to a subscribing agency.
    Deliver,
    /// Erasure by the retention schedule (the tombstone of what was erased).
    Erase,
    /// Counts over many persons (the analysts' dashboard): never one person's data.
    Aggregate,
}

/// Whether the policy allowed the access; a refused access is logged too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum AccessOutcome {
    Allowed,
    Refused { rule: String },
}

/// One access event, as stored and as shown to auditors and (their own) to persons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEntry {
    pub at: DateTime<Utc>,
    /// The user or system that acted (an officer's login, an API key's id, `person:<id>`).
    pub actor: String,
    pub agency: String,
    pub role: String,
    pub purpose: String,
    /// The case the access was made for; required by policy for officers' reads.
    pub case_ref: Option<String>,
    pub action: AccessAction,
    /// The person whose data was touched, when one was.
    pub person: Option<i64>,
    /// Categories touched, sorted and without repeats (the canonical form).
    pub categories: Vec<String>,
    pub outcome: AccessOutcome,
}

impl AccessEntry {
    /// Puts `categories` in canonical order, so that two equal events hash alike whatever order
    /// the caller listed them in.
    pub fn normalised(mut self) -> AccessEntry {
        self.categories.sort();
        self.categories.dedup();
        self
    }

    /// The bytes hashed into the log for this entry at `position`: versioned JSON with a fixed
    /// field order and the time at microsecond precision (what both stores keep).
    pub fn canonical_bytes(&self, position: u64) -> Vec<u8> {
        #[derive(Serialize)]
        struct Canonical<'a> {
            v: u8,
            position: u64,
            at: String,
            actor: &'a str,
            agency: &'a str,
            role: &'a str,
            purpose: &'a str,
            case_ref: Option<&'a str>,
            action: AccessAction,
            person: Option<i64>,
            categories: &'a [String],
            outcome: &'a AccessOutcome,
        }
        let canonical = Canonical {
            v: 1,
            position,
            at: self.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            actor: &self.actor,
            agency: &self.agency,
            role: &self.role,
            purpose: &self.purpose,
            case_ref: self.case_ref.as_deref(),
            action: self.action,
            person: self.person,
            categories: &self.categories,
            outcome: &self.outcome,
        };
        // Serialising plain strings, integers and enums cannot fail.
        serde_json::to_vec(&canonical).unwrap_or_default()
    }

    /// Reads canonical bytes back: the position they were written for and the entry.
    pub fn from_canonical(bytes: &[u8]) -> Option<(u64, AccessEntry)> {
        #[derive(Deserialize)]
        struct Canonical {
            position: u64,
            at: DateTime<Utc>,
            actor: String,
            agency: String,
            role: String,
            purpose: String,
            case_ref: Option<String>,
            action: AccessAction,
            person: Option<i64>,
            categories: Vec<String>,
            outcome: AccessOutcome,
        }
        let canonical: Canonical = serde_json::from_slice(bytes).ok()?;
        Some((
            canonical.position,
            AccessEntry {
                at: canonical.at,
                actor: canonical.actor,
                agency: canonical.agency,
                role: canonical.role,
                purpose: canonical.purpose,
                case_ref: canonical.case_ref,
                action: canonical.action,
                person: canonical.person,
                categories: canonical.categories,
                outcome: canonical.outcome,
            },
        ))
    }

    /// The leaf input for this entry at `position` with `salt`.
    pub fn leaf_input(&self, position: u64, salt: [u8; SALT_LEN]) -> LeafInput {
        LeafInput {
            salt,
            canonical: self.canonical_bytes(position),
        }
    }
}

/// What a leaf hash is computed from: the salt, then the canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafInput {
    pub salt: [u8; SALT_LEN],
    pub canonical: Vec<u8>,
}

impl LeafInput {
    pub fn hash(&self) -> Hash {
        let mut data = Vec::with_capacity(SALT_LEN + self.canonical.len());
        data.extend_from_slice(&self.salt);
        data.extend_from_slice(&self.canonical);
        leaf_hash(&data)
    }

    /// The position the canonical bytes claim, if they parse.
    pub fn claimed_position(&self) -> Option<u64> {
        #[derive(Deserialize)]
        struct Position {
            position: u64,
        }
        serde_json::from_slice::<Position>(&self.canonical)
            .ok()
            .map(|parsed| parsed.position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry() -> AccessEntry {
        AccessEntry {
            at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
            actor: "officer:ivanova".into(),
            agency: "mvd".into(),
            role: "migration_officer".into(),
            purpose: "stay_check".into(),
            case_ref: Some("case-17".into()),
            action: AccessAction::Read,
            person: Some(42),
            categories: vec!["visa".into(), "border_crossing".into(), "visa".into()],
            outcome: AccessOutcome::Allowed,
        }
        .normalised()
    }

    #[test]
    fn canonical_bytes_are_stable_and_bind_the_position() {
        let text = String::from_utf8(entry().canonical_bytes(7)).unwrap();
        assert_eq!(
            text,
            r#"{"v":1,"position":7,"at":"2026-03-01T09:00:00.000000Z","actor":"officer:ivanova","agency":"mvd","role":"migration_officer","purpose":"stay_check","case_ref":"case-17","action":"read","person":42,"categories":["border_crossing","visa"],"outcome":{"result":"allowed"}}"#
        );
        assert_ne!(entry().canonical_bytes(7), entry().canonical_bytes(8));
        assert_eq!(
            AccessEntry::from_canonical(text.as_bytes()),
            Some((7, entry()))
        );
    }

    #[test]
    fn the_salt_and_every_field_change_the_leaf() {
        let base = entry().leaf_input(3, [1; SALT_LEN]).hash();
        assert_ne!(base, entry().leaf_input(3, [2; SALT_LEN]).hash());
        let mut refused = entry();
        refused.outcome = AccessOutcome::Refused {
            rule: "policy.category_not_allowed".into(),
        };
        assert_ne!(base, refused.leaf_input(3, [1; SALT_LEN]).hash());
        let mut other_person = entry();
        other_person.person = Some(43);
        assert_ne!(base, other_person.leaf_input(3, [1; SALT_LEN]).hash());
        assert_eq!(
            entry().leaf_input(3, [1; SALT_LEN]).claimed_position(),
            Some(3)
        );
    }
}
