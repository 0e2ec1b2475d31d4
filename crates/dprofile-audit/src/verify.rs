//! `audit verify`: recompute the whole tree from the stored rows, in one pass and O(log n)
//! memory, and compare it with what was stored and with every signed checkpoint.
//!
//! What each kind of tampering looks like:
//! - an edited entry: its details no longer hash to its stored leaf ([`Problem::Edited`]);
//!   if the leaf and the stored tree were rewritten to match, the roots no longer match the
//!   signed checkpoints ([`Problem::CheckpointRoot`], naming the range of positions);
//! - a deleted entry: a gap in the positions ([`Problem::Missing`]), or, when the rows after it
//!   were renumbered, entries whose hashed position is not their place ([`Problem::Misplaced`]);
//! - swapped entries: both are misplaced;
//! - a rewritten checkpoint: its signature fails ([`Problem::CheckpointInvalid`]);
//! - details removed from an entry: its stored leaf still chains, but no retention record in
//!   the log names its position ([`Problem::ErasedWithoutRecord`]); retention's own erasures
//!   are named by such a record (`crate::erasure`) and verify as intact.

use serde::Serialize;

use crate::checkpoint::{CheckpointError, SignedCheckpoint, TrustedLogKeys};
use crate::entry::{AccessEntry, LeafInput};
use crate::erasure;
use crate::tree::{CompactRange, Hash};

/// One stored entry of the log, in position order.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    pub position: u64,
    /// The hashes stored when the entry was appended: its leaf hash, then the roots of the
    /// subtrees it completed.
    pub stored_hashes: Vec<Hash>,
    /// Salt and canonical details; `None` once retention erased them (the leaf hash stays).
    pub leaf_input: Option<LeafInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// Positions `from..=to` have no row.
    Missing { from: u64, to: u64 },
    /// A row repeats or goes back to a position already seen.
    OutOfOrder { position: u64 },
    /// The entry stored at `position` was hashed for another place in the log.
    Misplaced { position: u64, claims: Option<u64> },
    /// The entry's details do not hash to the leaf stored for it.
    Edited { position: u64 },
    /// The stored tree hashes of this entry differ from the recomputed ones.
    StoredHashes { position: u64 },
    /// A checkpoint that does not open (bad signature, unknown key, malformed, other log).
    CheckpointInvalid { checkpoint: usize, reason: String },
    /// The recomputed root at a signed size differs: some entry in `after..size` (positions)
    /// was changed, removed or inserted.
    CheckpointRoot { size: u64, after: u64 },
    /// A signed checkpoint covers more entries than the log holds: entries were removed.
    CheckpointBeyondLog { size: u64, entries: u64 },
    /// The entry has no details and no retention record in the log names it as erased.
    ErasedWithoutRecord { position: u64 },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing { from, to } if from == to => {
                write!(formatter, "entry {from}: missing")
            }
            Problem::Missing { from, to } => write!(formatter, "entries {from}..={to}: missing"),
            Problem::OutOfOrder { position } => {
                write!(formatter, "entry {position}: repeated or out of order")
            }
            Problem::Misplaced {
                position,
                claims: Some(claims),
            } => write!(
                formatter,
                "entry {position}: moved (it was written as entry {claims})"
            ),
            Problem::Misplaced {
                position,
                claims: None,
            } => write!(formatter, "entry {position}: details unreadable"),
            Problem::Edited { position } => write!(
                formatter,
                "entry {position}: edited (its details do not match its hash)"
            ),
            Problem::StoredHashes { position } => write!(
                formatter,
                "entry {position}: stored tree hashes differ from the recomputed ones"
            ),
            Problem::CheckpointInvalid { checkpoint, reason } => {
                write!(formatter, "checkpoint #{checkpoint}: {reason}")
            }
            Problem::CheckpointRoot { size, after } => write!(
                formatter,
                "checkpoint at size {size}: root differs; an entry among positions {after}..{size} was changed"
            ),
            Problem::CheckpointBeyondLog { size, entries } => write!(
                formatter,
                "checkpoint at size {size}: the log holds only {entries} entries"
            ),
            Problem::ErasedWithoutRecord { position } => write!(
                formatter,
                "entry {position}: details removed, and no retention record names it as erased"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub entries: u64,
    pub checkpoints: usize,
    /// The largest checkpoint size whose root matched, if any.
    pub verified_size: Option<u64>,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Recomputes the log from `rows` (in position order) and checks it against every checkpoint
/// note of log `origin` signed by a `trusted` key.
pub fn verify_log(
    rows: impl IntoIterator<Item = LogRow>,
    checkpoint_notes: &[String],
    origin: &str,
    trusted: &TrustedLogKeys,
) -> VerifyReport {
    let mut problems = Vec::new();
    let mut checkpoints: Vec<SignedCheckpoint> = Vec::new();
    for (index, note) in checkpoint_notes.iter().enumerate() {
        match SignedCheckpoint::open(note, origin, trusted) {
            Ok(checkpoint) => checkpoints.push(checkpoint),
            Err(error) => problems.push(Problem::CheckpointInvalid {
                checkpoint: index,
                reason: describe(&error),
            }),
        }
    }
    checkpoints.sort_by_key(|checkpoint| checkpoint.size);
    let mut pending = checkpoints.iter().peekable();
    let mut range = CompactRange::new();
    let mut last_checked = 0u64;
    let mut verified_size = None;
    let mut check_reached = |range: &CompactRange,
                             pending: &mut std::iter::Peekable<
        std::slice::Iter<'_, SignedCheckpoint>,
    >,
                             problems: &mut Vec<Problem>| {
        while let Some(checkpoint) = pending.next_if(|checkpoint| checkpoint.size == range.size()) {
            if checkpoint.root == range.root() {
                verified_size = Some(checkpoint.size);
            } else {
                problems.push(Problem::CheckpointRoot {
                    size: checkpoint.size,
                    after: last_checked,
                });
            }
            last_checked = checkpoint.size;
        }
    };
    // The empty tree needs no rows: a checkpoint of size 0 is checked before any.
    check_reached(&range, &mut pending, &mut problems);
    let mut expected = 0u64;
    // Entries without details, and the positions retention records say it erased: checked
    // against each other at the end, since a record comes after what it erased.
    let mut without_details: Vec<u64> = Vec::new();
    let mut erased_by_retention: Vec<(u64, u64)> = Vec::new();
    for row in rows {
        if row.position < expected {
            problems.push(Problem::OutOfOrder {
                position: row.position,
            });
            continue;
        }
        if row.position > expected {
            problems.push(Problem::Missing {
                from: expected,
                to: row.position - 1,
            });
        }
        expected = row.position + 1;
        let stored_leaf = row.stored_hashes.first().copied();
        let leaf = match &row.leaf_input {
            Some(input) => {
                let claims = input.claimed_position();
                if claims != Some(row.position) {
                    problems.push(Problem::Misplaced {
                        position: row.position,
                        claims,
                    });
                }
                let leaf = input.hash();
                if stored_leaf != Some(leaf) && claims == Some(row.position) {
                    problems.push(Problem::Edited {
                        position: row.position,
                    });
                } else if let Some(ranges) = AccessEntry::from_canonical(&input.canonical)
                    .and_then(|(_, entry)| erasure::erased_ranges(&entry))
                {
                    erased_by_retention.extend(ranges);
                }
                leaf
            }
            None => match stored_leaf {
                Some(leaf) => {
                    without_details.push(row.position);
                    leaf
                }
                None => {
                    problems.push(Problem::StoredHashes {
                        position: row.position,
                    });
                    continue;
                }
            },
        };
        let recomputed = range.append(leaf);
        if recomputed != row.stored_hashes && stored_leaf == Some(leaf) {
            problems.push(Problem::StoredHashes {
                position: row.position,
            });
        }
        check_reached(&range, &mut pending, &mut problems);
    }
    // Sorted and merged, the ranges are disjoint: the one that can hold a position is the
    // last starting at or before it.
    erased_by_retention.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(erased_by_retention.len());
    for (first, last) in erased_by_retention {
        match merged.last_mut() {
            Some(previous) if first <= previous.1.saturating_add(1) => {
                previous.1 = previous.1.max(last);
            }
            _ => merged.push((first, last)),
        }
    }
    for position in without_details {
        let candidate = merged.partition_point(|(first, _)| *first <= position);
        let covered = candidate > 0 && merged[candidate - 1].1 >= position;
        if !covered {
            problems.push(Problem::ErasedWithoutRecord { position });
        }
    }
    for checkpoint in pending {
        problems.push(Problem::CheckpointBeyondLog {
            size: checkpoint.size,
            entries: range.size(),
        });
    }
    VerifyReport {
        entries: range.size(),
        checkpoints: checkpoints.len(),
        verified_size,
        problems,
    }
}

fn describe(error: &CheckpointError) -> String {
    match error {
        CheckpointError::BadSignature => "signature does not verify (rewritten)".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::LogKey;
    use crate::entry::{AccessAction, AccessEntry, AccessOutcome, SALT_LEN};
    use chrono::{Duration, TimeZone, Utc};

    const ORIGIN: &str = "dprofile/access-log";

    struct Fixture {
        rows: Vec<LogRow>,
        notes: Vec<String>,
        trusted: TrustedLogKeys,
    }

    fn entry(number: u64) -> AccessEntry {
        AccessEntry {
            at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
                + Duration::seconds(number as i64),
            actor: format!("officer:{}", number % 3),
            agency: "mvd".into(),
            role: "migration_officer".into(),
            purpose: "stay_check".into(),
            case_ref: Some(format!("case-{number}")),
            action: AccessAction::Read,
            person: Some(number as i64 % 5),
            categories: vec!["visa".into()],
            outcome: AccessOutcome::Allowed,
        }
    }

    /// 40 entries with checkpoints after 10, 25 and 40.
    fn fixture() -> Fixture {
        let key = LogKey::from_seed(ORIGIN, [3; 32]).unwrap();
        let mut range = CompactRange::new();
        let mut rows = Vec::new();
        let mut notes = Vec::new();
        for position in 0..40u64 {
            let input = entry(position).leaf_input(position, [position as u8; SALT_LEN]);
            let stored_hashes = range.append(input.hash());
            rows.push(LogRow {
                position,
                stored_hashes,
                leaf_input: Some(input),
            });
            if [10, 25, 40].contains(&range.size()) {
                notes.push(key.sign(range.size(), range.root()).unwrap().note);
            }
        }
        Fixture {
            rows,
            notes,
            trusted: TrustedLogKeys::new([key.verifier_key()]).unwrap(),
        }
    }

    fn verify(fixture: &Fixture) -> VerifyReport {
        verify_log(
            fixture.rows.iter().cloned(),
            &fixture.notes,
            ORIGIN,
            &fixture.trusted,
        )
    }

    #[test]
    fn an_untouched_log_verifies_against_every_checkpoint() {
        let report = verify(&fixture());
        assert_eq!(report.problems, vec![]);
        assert_eq!(report.entries, 40);
        assert_eq!(report.checkpoints, 3);
        assert_eq!(report.verified_size, Some(40));
    }

    #[test]
    fn an_edited_entry_is_named() {
        let mut fixture = fixture();
        let mut edited = entry(17);
        edited.purpose = "curiosity".into();
        fixture.rows[17].leaf_input = Some(edited.leaf_input(17, [17; SALT_LEN]));
        let report = verify(&fixture);
        assert!(report.problems.contains(&Problem::Edited { position: 17 }));
        assert!(report.problems.contains(&Problem::CheckpointRoot {
            size: 25,
            after: 10
        }));
        assert_eq!(report.verified_size, Some(10));
    }

    #[test]
    fn an_edit_with_rehashed_tree_is_caught_by_the_checkpoints() {
        let mut fixture = fixture();
        let mut edited = entry(17);
        edited.person = Some(99);
        fixture.rows[17].leaf_input = Some(edited.leaf_input(17, [17; SALT_LEN]));
        // The forger recomputes every stored hash; only the signed checkpoints remain.
        let mut range = CompactRange::new();
        for row in &mut fixture.rows {
            row.stored_hashes = range.append(row.leaf_input.as_ref().unwrap().hash());
        }
        let report = verify(&fixture);
        assert_eq!(
            report.problems,
            vec![
                Problem::CheckpointRoot {
                    size: 25,
                    after: 10
                },
                Problem::CheckpointRoot {
                    size: 40,
                    after: 25
                }
            ]
        );
    }

    #[test]
    fn a_deleted_entry_is_named_whether_or_not_the_rest_is_renumbered() {
        let mut fixture = fixture();
        fixture.rows.remove(12);
        let report = verify(&fixture);
        assert!(
            report
                .problems
                .contains(&Problem::Missing { from: 12, to: 12 })
        );

        let mut renumbered = self::fixture();
        renumbered.rows.remove(12);
        for row in renumbered.rows.iter_mut().skip(12) {
            row.position -= 1;
        }
        let report = verify(&renumbered);
        assert_eq!(
            report.problems.first(),
            Some(&Problem::Misplaced {
                position: 12,
                claims: Some(13)
            })
        );
        assert!(report.problems.contains(&Problem::CheckpointBeyondLog {
            size: 40,
            entries: 39
        }));
    }

    #[test]
    fn two_swapped_entries_are_both_named() {
        let mut fixture = fixture();
        let (left, right) = (fixture.rows[5].clone(), fixture.rows[6].clone());
        fixture.rows[5].leaf_input = right.leaf_input;
        fixture.rows[5].stored_hashes = right.stored_hashes;
        fixture.rows[6].leaf_input = left.leaf_input;
        fixture.rows[6].stored_hashes = left.stored_hashes;
        let report = verify(&fixture);
        assert!(report.problems.contains(&Problem::Misplaced {
            position: 5,
            claims: Some(6)
        }));
        assert!(report.problems.contains(&Problem::Misplaced {
            position: 6,
            claims: Some(5)
        }));
    }

    #[test]
    fn a_rewritten_checkpoint_is_named() {
        let mut fixture = fixture();
        fixture.notes[1] = fixture.notes[1].replacen("\n25\n", "\n24\n", 1);
        let report = verify(&fixture);
        assert_eq!(
            report.problems,
            vec![Problem::CheckpointInvalid {
                checkpoint: 1,
                reason: "signature does not verify (rewritten)".into()
            }]
        );
    }

    /// Appends retention's record of erasing `positions` (no checkpoint covers it).
    fn record_erasure(fixture: &mut Fixture, positions: &[u64]) {
        let mut range = CompactRange::new();
        for row in &fixture.rows {
            range.append(row.stored_hashes[0]);
        }
        let position = range.size();
        let at = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
        let input =
            crate::erasure::details_erasure(at, positions).leaf_input(position, [9; SALT_LEN]);
        let stored_hashes = range.append(input.hash());
        fixture.rows.push(LogRow {
            position,
            stored_hashes,
            leaf_input: Some(input),
        });
    }

    #[test]
    fn erased_details_keep_the_log_verifiable() {
        let mut fixture = fixture();
        for row in fixture.rows.iter_mut().take(20) {
            row.leaf_input = None;
        }
        record_erasure(&mut fixture, &(0..20).collect::<Vec<_>>());
        assert_eq!(verify(&fixture).problems, vec![]);
    }

    #[test]
    fn details_removed_without_a_retention_record_are_named() {
        let mut fixture = fixture();
        for row in fixture.rows.iter_mut().take(4) {
            row.leaf_input = None;
        }
        fixture.rows[30].leaf_input = None;
        record_erasure(&mut fixture, &[0, 1, 2, 3]);
        assert_eq!(
            verify(&fixture).problems,
            vec![Problem::ErasedWithoutRecord { position: 30 }]
        );
    }

    #[test]
    fn tampering_beside_erased_entries_is_still_named_by_position() {
        let mut fixture = fixture();
        let erased: Vec<u64> = (0..40).step_by(4).collect();
        for &position in &erased {
            fixture.rows[position as usize].leaf_input = None;
        }
        record_erasure(&mut fixture, &erased);
        assert_eq!(verify(&fixture).problems, vec![]);

        let mut edited = entry(17);
        edited.purpose = "curiosity".into();
        let mut tampered = fixture.rows.clone();
        tampered[17].leaf_input = Some(edited.leaf_input(17, [17; SALT_LEN]));
        let report = verify_rows(&fixture, tampered);
        assert!(report.problems.contains(&Problem::Edited { position: 17 }));

        let mut deleted = fixture.rows.clone();
        deleted.remove(12);
        let report = verify_rows(&fixture, deleted);
        assert!(
            report
                .problems
                .contains(&Problem::Missing { from: 12, to: 12 })
        );

        let mut swapped = fixture.rows.clone();
        let (left, right) = (swapped[5].clone(), swapped[6].clone());
        swapped[5].leaf_input = right.leaf_input;
        swapped[5].stored_hashes = right.stored_hashes;
        swapped[6].leaf_input = left.leaf_input;
        swapped[6].stored_hashes = left.stored_hashes;
        let report = verify_rows(&fixture, swapped);
        assert!(report.problems.contains(&Problem::Misplaced {
            position: 5,
            claims: Some(6)
        }));
    }

    fn verify_rows(fixture: &Fixture, rows: Vec<LogRow>) -> VerifyReport {
        verify_log(rows, &fixture.notes, ORIGIN, &fixture.trusted)
    }
}
