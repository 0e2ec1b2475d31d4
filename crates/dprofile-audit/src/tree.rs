//! The Merkle tree of the log (RFC 6962 hashing): the hashes each appended entry stores, the
//! root of any prefix, and inclusion and consistency proofs.
//!
//! The layout is Go sumdb's "stored hashes": appending entry `n` stores its leaf hash and the
//! roots of the complete subtrees it closes (on average just under two hashes per entry), so
//! that any proof needs only O(log n) reads. [`CompactRange`] computes the same hashes while
//! streaming, which is how the log is appended and how `audit verify` recomputes it without
//! holding the tree in memory.

use tlog_tiles::{HashReader, RecordProof, TreeProof};

pub use tlog_tiles::Hash;

/// RFC 6962 leaf hash: SHA-256 of 0x00 followed by the data.
pub fn leaf_hash(data: &[u8]) -> Hash {
    tlog_tiles::record_hash(data)
}

/// RFC 6962 interior node hash: SHA-256 of 0x01, left, right.
pub fn node_hash(left: Hash, right: Hash) -> Hash {
    tlog_tiles::node_hash(left, right)
}

/// Where the hashes stored by appending entry `position` start, in stored-hash numbering.
pub fn first_stored_index(position: u64) -> u64 {
    tlog_tiles::stored_hash_index(0, position)
}

/// Which entry stored the hash with stored index `index`, and at which offset of its list.
pub fn stored_by(index: u64) -> (u64, usize) {
    let (level, n) = tlog_tiles::split_stored_hash_index(index);
    (((n + 1) << level) - 1, usize::from(level))
}

/// The right edge of a tree: the roots of its complete subtrees, largest first. Enough to
/// append and to compute the root, in O(log n) memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompactRange {
    size: u64,
    /// (height, root) of each complete subtree, left to right, heights strictly decreasing.
    subtrees: Vec<(u8, Hash)>,
}

impl CompactRange {
    pub fn new() -> CompactRange {
        CompactRange::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf and returns the hashes the store keeps for it: the leaf hash, then the
    /// root of every subtree this leaf completes, lowest first.
    pub fn append(&mut self, leaf: Hash) -> Vec<Hash> {
        let mut stored = vec![leaf];
        let mut node = (0u8, leaf);
        while let Some(&(height, left)) = self.subtrees.last() {
            if height != node.0 {
                break;
            }
            self.subtrees.pop();
            node = (height + 1, node_hash(left, node.1));
            stored.push(node.1);
        }
        self.subtrees.push(node);
        self.size += 1;
        stored
    }

    /// The range as bytes, to keep beside the log so the next append need not read the tree:
    /// the size (8 bytes, big-endian), then per subtree its height (1 byte) and root (32).
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(8 + self.subtrees.len() * 33);
        bytes.extend_from_slice(&self.size.to_be_bytes());
        for (height, root) in &self.subtrees {
            bytes.push(*height);
            bytes.extend_from_slice(&root.0);
        }
        bytes
    }

    /// Reads [`CompactRange::encode`]; `None` if the bytes are not a well-formed range of
    /// their size (the subtree heights must be the set bits of the size, largest first).
    pub fn decode(bytes: &[u8]) -> Option<CompactRange> {
        let size = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let mut subtrees = Vec::new();
        for chunk in bytes[8..].chunks(33) {
            let root: [u8; 32] = chunk.get(1..)?.try_into().ok()?;
            subtrees.push((chunk[0], Hash(root)));
        }
        let heights: Vec<u8> = (0..64u8)
            .rev()
            .filter(|bit| size & (1u64 << bit) != 0)
            .collect();
        let stored: Vec<u8> = subtrees.iter().map(|(height, _)| *height).collect();
        (heights == stored).then_some(CompactRange { size, subtrees })
    }

    /// The RFC 6962 root of the tree so far (the hash of the empty string when empty).
    pub fn root(&self) -> Hash {
        let mut subtrees = self.subtrees.iter().rev();
        let Some(&(_, mut root)) = subtrees.next() else {
            return tlog_tiles::EMPTY_HASH;
        };
        for &(_, left) in subtrees {
            root = node_hash(left, root);
        }
        root
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("the proof does not lead to the checkpoint's root")]
    Invalid,
    #[error("entry {position} is not in a tree of {size} entries")]
    OutOfRange { position: u64, size: u64 },
    #[error("the stored hashes could not be read: {0}")]
    Storage(String),
}

fn proof_error(error: tlog_tiles::Error) -> ProofError {
    match error {
        tlog_tiles::Error::InvalidProof => ProofError::Invalid,
        other => ProofError::Storage(other.to_string()),
    }
}

/// The audit path of entry `position` in the tree of the first `size` entries.
pub fn inclusion_proof<R: HashReader>(
    size: u64,
    position: u64,
    reader: &R,
) -> Result<RecordProof, ProofError> {
    if position >= size {
        return Err(ProofError::OutOfRange { position, size });
    }
    tlog_tiles::prove_record(size, position, reader).map_err(proof_error)
}

/// Checks that `leaf` is entry `position` of the tree of `size` entries with root `root`.
pub fn verify_inclusion(
    proof: &[Hash],
    size: u64,
    root: Hash,
    position: u64,
    leaf: Hash,
) -> Result<(), ProofError> {
    if position >= size {
        return Err(ProofError::OutOfRange { position, size });
    }
    tlog_tiles::check_record(&proof.to_vec(), size, root, position, leaf).map_err(proof_error)
}

/// The proof that the tree of `size` entries extends the tree of its first `old_size`.
pub fn consistency_proof<R: HashReader>(
    size: u64,
    old_size: u64,
    reader: &R,
) -> Result<TreeProof, ProofError> {
    if old_size == 0 || old_size > size {
        return Err(ProofError::OutOfRange {
            position: old_size,
            size,
        });
    }
    tlog_tiles::prove_tree(size, old_size, reader).map_err(proof_error)
}

/// Checks that the tree (`size`, `root`) extends the tree (`old_size`, `old_root`).
pub fn verify_consistency(
    proof: &[Hash],
    size: u64,
    root: Hash,
    old_size: u64,
    old_root: Hash,
) -> Result<(), ProofError> {
    if old_size == 0 || old_size > size {
        return Err(ProofError::OutOfRange {
            position: old_size,
            size,
        });
    }
    tlog_tiles::check_tree(&proof.to_vec(), size, root, old_size, old_root).map_err(proof_error)
}

/// Several hashes as one blob (how a row keeps the hashes its entry stored).
pub fn encode_hashes(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|hash| hash.0).collect()
}

/// Reads [`encode_hashes`]; `None` unless the blob is whole hashes.
pub fn decode_hashes(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    bytes
        .chunks(32)
        .map(|chunk| chunk.try_into().ok().map(Hash))
        .collect()
}

/// Stored hashes held in memory, in stored-hash order: for tests and small tools.
#[derive(Debug, Clone, Default)]
pub struct MemoryHashes {
    pub hashes: Vec<Hash>,
    pub range: CompactRange,
}

impl MemoryHashes {
    pub fn append(&mut self, leaf: Hash) {
        let stored = self.range.append(leaf);
        self.hashes.extend(stored);
    }
}

impl HashReader for MemoryHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&index| {
                usize::try_from(index)
                    .ok()
                    .and_then(|index| self.hashes.get(index).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(number: u64) -> Hash {
        leaf_hash(&number.to_be_bytes())
    }

    fn tree(size: u64) -> MemoryHashes {
        let mut hashes = MemoryHashes::default();
        for number in 0..size {
            hashes.append(leaf(number));
        }
        hashes
    }

    #[test]
    fn compact_range_stores_what_sumdb_tlog_stores_and_agrees_on_every_root() {
        let mut reference = MemoryHashes::default();
        let mut range = CompactRange::new();
        for number in 0..70u64 {
            let expected =
                tlog_tiles::stored_hashes_for_record_hash(number, leaf(number), &reference)
                    .unwrap();
            assert_eq!(first_stored_index(number), reference.hashes.len() as u64);
            let stored = range.append(leaf(number));
            assert_eq!(stored, expected, "entry {number}");
            reference.hashes.extend(stored.iter().copied());
            for (offset, _) in stored.iter().enumerate() {
                let index = first_stored_index(number) + offset as u64;
                assert_eq!(stored_by(index), (number, offset));
            }
            assert_eq!(
                range.root(),
                tlog_tiles::tree_hash(number + 1, &reference).unwrap(),
                "root of {} entries",
                number + 1
            );
        }
    }

    #[test]
    fn ranges_and_hash_blobs_round_trip_and_bad_bytes_are_refused() {
        for size in [0u64, 1, 2, 7, 8, 23] {
            let range = tree(size).range;
            assert_eq!(CompactRange::decode(&range.encode()), Some(range.clone()));
        }
        let mut wrong_size = tree(7).range.encode();
        wrong_size[7] = 6;
        assert_eq!(CompactRange::decode(&wrong_size), None);
        assert_eq!(CompactRange::decode(&[1, 2]), None);
        let hashes = tree(5).hashes;
        assert_eq!(decode_hashes(&encode_hashes(&hashes)), Some(hashes));
        assert_eq!(decode_hashes(&[0; 31]), None);
    }

    #[test]
    fn root_matches_rfc6962_definition() {
        // RFC 6962 2.1 by hand for five leaves: MTH = H(1 || MTH(d0..d4) || MTH(d4..d5)).
        let leaves: Vec<Hash> = (0..5).map(leaf).collect();
        let left = node_hash(
            node_hash(leaves[0], leaves[1]),
            node_hash(leaves[2], leaves[3]),
        );
        assert_eq!(tree(5).range.root(), node_hash(left, leaves[4]));
        assert_eq!(CompactRange::new().root(), tlog_tiles::EMPTY_HASH);
    }

    #[test]
    fn inclusion_proofs_verify_and_reject_a_wrong_leaf_or_root() {
        let hashes = tree(23);
        let root = hashes.range.root();
        for position in 0..23 {
            let proof = inclusion_proof(23, position, &hashes).unwrap();
            assert_eq!(
                verify_inclusion(&proof, 23, root, position, leaf(position)),
                Ok(())
            );
            assert_eq!(
                verify_inclusion(&proof, 23, root, position, leaf(position + 100)),
                Err(ProofError::Invalid)
            );
        }
        let proof = inclusion_proof(23, 4, &hashes).unwrap();
        assert_eq!(
            verify_inclusion(&proof, 23, leaf(0), 4, leaf(4)),
            Err(ProofError::Invalid)
        );
        assert!(matches!(
            inclusion_proof(23, 23, &hashes),
            Err(ProofError::OutOfRange { .. })
        ));
    }

    #[test]
    fn consistency_proofs_verify_between_any_two_sizes() {
        let hashes = tree(19);
        let mut roots = vec![tlog_tiles::EMPTY_HASH];
        let mut range = CompactRange::new();
        for number in 0..19 {
            range.append(leaf(number));
            roots.push(range.root());
        }
        for old_size in 1..=19u64 {
            for size in old_size..=19 {
                let proof = consistency_proof(size, old_size, &hashes).unwrap();
                assert_eq!(
                    verify_consistency(
                        &proof,
                        size,
                        roots[size as usize],
                        old_size,
                        roots[old_size as usize]
                    ),
                    Ok(()),
                    "{old_size} -> {size}"
                );
            }
        }
        let proof = consistency_proof(19, 7, &hashes).unwrap();
        assert_eq!(
            verify_consistency(&proof, 19, roots[19], 7, roots[6]),
            Err(ProofError::Invalid)
        );
    }
}
