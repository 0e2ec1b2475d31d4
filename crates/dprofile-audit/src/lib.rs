//! The tamper-evident access log, pure: what an access event is, how it becomes a salted leaf of
//! an RFC 6962 Merkle tree, signed checkpoints in the C2SP signed-note format, inclusion and
//! consistency proofs, and the verification that recomputes the tree from stored rows and names
//! the position of every edited, missing or misplaced entry.
//!
//! No I/O and no clock: the store keeps rows, salts and checkpoints; the caller passes time and
//! randomness in. The tree arithmetic is Go's sumdb `tlog` (RFC 6962 compatible), through the
//! `tlog_tiles` crate; signatures are Ed25519 notes through `signed_note`.

pub mod checkpoint;
pub mod entry;
pub mod erasure;
pub mod proven;
pub mod tree;
pub mod verify;

pub use crate::checkpoint::{CheckpointError, LogKey, SignedCheckpoint, TrustedLogKeys};
pub use crate::entry::{AccessAction, AccessEntry, AccessOutcome, LeafInput, SALT_LEN};
pub use crate::proven::{ProvenEntry, ProvenEntryError};
pub use crate::tree::{
    CompactRange, Hash, ProofError, consistency_proof, decode_hashes, encode_hashes,
    inclusion_proof, verify_consistency, verify_inclusion,
};
pub use tlog_tiles::{Error as TreeError, HashReader};

pub use crate::verify::{LogRow, Problem, VerifyReport, verify_log};
