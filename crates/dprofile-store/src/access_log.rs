//! The access log's rows and the one append routine both backends share: positions, leaf
//! hashes and the tree's right edge are computed here from the transaction's locked head, and
//! the backends only read and write rows.

use chrono::{DateTime, Utc};
use dprofile_audit::{
    AccessEntry, CompactRange, Hash, HashReader, LeafInput, LogRow, SALT_LEN, decode_hashes,
    encode_hashes,
};

use crate::{Store, StoreError, StoreResult, WriteTx};

/// An access event to append, with its salt (drawn by the caller) and the time from which the
/// person may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessAppend {
    pub entry: AccessEntry,
    pub salt: [u8; SALT_LEN],
    pub disclosed_at: DateTime<Utc>,
}

/// One row as a backend writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRowWrite {
    pub position: i64,
    pub person: Option<i64>,
    pub at: DateTime<Utc>,
    pub disclosed_at: DateTime<Utc>,
    pub salt: Vec<u8>,
    pub details: Vec<u8>,
    pub hashes: Vec<u8>,
}

/// One row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRow {
    pub position: u64,
    pub person: Option<i64>,
    pub at: DateTime<Utc>,
    pub disclosed_at: DateTime<Utc>,
    /// `None` once retention erased the entry's details.
    pub salt: Option<Vec<u8>>,
    pub details: Option<Vec<u8>>,
    pub hashes: Vec<u8>,
}

impl AccessRow {
    /// The entry, unless erased or unreadable.
    pub fn entry(&self) -> Option<AccessEntry> {
        self.details
            .as_deref()
            .and_then(AccessEntry::from_canonical)
            .map(|(_, entry)| entry)
    }

    /// The entry's leaf hash as stored.
    pub fn leaf_hash(&self) -> Option<Hash> {
        decode_hashes(&self.hashes).and_then(|hashes| hashes.first().copied())
    }

    /// The row as `audit verify` reads it. Malformed hashes read as none, which verify reports.
    pub fn to_log_row(&self) -> LogRow {
        let leaf_input = match (&self.salt, &self.details) {
            (Some(salt), Some(details)) => Some(LeafInput {
                // A salt of the wrong length cannot reproduce the leaf: verify reports it.
                salt: salt.as_slice().try_into().unwrap_or([0; SALT_LEN]),
                canonical: details.clone(),
            }),
            _ => None,
        };
        LogRow {
            position: self.position,
            stored_hashes: decode_hashes(&self.hashes).unwrap_or_default(),
            leaf_input,
        }
    }
}

/// The log's right edge from its stored head (`None`: the empty log).
pub fn decode_head(head: Option<Vec<u8>>) -> StoreResult<CompactRange> {
    match head {
        None => Ok(CompactRange::new()),
        Some(bytes) => CompactRange::decode(&bytes)
            .ok_or_else(|| StoreError::Corrupt("the access log's head does not decode".to_owned())),
    }
}

/// Appends `entries` inside `tx`, in order; returns their positions. The head row is locked
/// for the transaction, so concurrent appenders queue and positions never repeat.
pub fn append_access(tx: &mut dyn WriteTx, entries: &[AccessAppend]) -> StoreResult<Vec<u64>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let mut range = decode_head(tx.lock_access_head()?)?;
    let mut rows = Vec::with_capacity(entries.len());
    let mut positions = Vec::with_capacity(entries.len());
    for append in entries {
        let position = range.size();
        let entry = append.entry.clone().normalised();
        let input = entry.leaf_input(position, append.salt);
        let hashes = range.append(input.hash());
        rows.push(AccessRowWrite {
            position: position_column(position)?,
            person: entry.person,
            at: entry.at,
            disclosed_at: append.disclosed_at.max(entry.at),
            salt: append.salt.to_vec(),
            details: input.canonical,
            hashes: encode_hashes(&hashes),
        });
        positions.push(position);
    }
    tx.insert_access_rows(&rows)?;
    tx.set_access_head(position_column(range.size())?, &range.encode())?;
    Ok(positions)
}

fn position_column(position: u64) -> StoreResult<i64> {
    i64::try_from(position)
        .map_err(|_| StoreError::Corrupt("the access log outgrew a 64-bit position".to_owned()))
}

/// Reads the stored tree hashes of the log for proofs, through a store.
pub struct StoreHashReader<'a> {
    pub store: &'a dyn Store,
}

impl HashReader for StoreHashReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, dprofile_audit::TreeError> {
        let wanted: Vec<(u64, usize)> = indexes
            .iter()
            .map(|&index| dprofile_audit::tree::stored_by(index))
            .collect();
        let mut positions: Vec<u64> = wanted.iter().map(|&(position, _)| position).collect();
        positions.sort_unstable();
        positions.dedup();
        let rows = self
            .store
            .access_rows_at(&positions)
            .map_err(|_| dprofile_audit::TreeError::IndexesNotInTree)?;
        wanted
            .iter()
            .map(|&(position, offset)| {
                rows.iter()
                    .find(|row| row.position == position)
                    .and_then(|row| decode_hashes(&row.hashes))
                    .and_then(|hashes| hashes.get(offset).copied())
                    .ok_or(dprofile_audit::TreeError::IndexesNotInTree)
            })
            .collect()
    }
}
