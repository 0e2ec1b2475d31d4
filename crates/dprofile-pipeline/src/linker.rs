//! Deterministic identity linking over one ingest chunk: records that share a strong
//! identifier (passport or national id of one country and number, SNILS, personal INN, ESIA id)
//! belong to one person, transitively. Two persons whose one-per-person identifiers differ (two
//! SNILS, two INN) are never merged: the record is flagged for review instead.
//!
//! Persons are tracked as slots in a union-find, so that new persons need no id until the
//! chunk is written, and merges inside a chunk cost nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use dprofile_domain::linking::{KeyKind, StrongKey};
use dprofile_store::{PersonId, StoreResult, WriteTx};

/// A person inside one chunk: an existing one, or one to be created.
pub type Slot = usize;

#[derive(Debug, Clone)]
struct SlotState {
    existing: Option<PersonId>,
    parent: Slot,
}

/// Two existing persons that a record showed to be one, with the identifiers that prove it.
#[derive(Debug, Clone)]
pub struct Merge {
    pub from: Slot,
    pub into: Slot,
    pub shared_keys: Vec<StrongKey>,
    pub record_index: usize,
}

/// A record whose identifiers point at persons that cannot be one (or at a second value of a
/// one-per-person identifier): linked to `chosen`, not merged, flagged for an officer.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub chosen: Slot,
    pub others: Vec<Slot>,
    pub conflicting_keys: Vec<StrongKey>,
    pub record_index: usize,
}

pub struct ChunkLinker {
    slots: Vec<SlotState>,
    slot_of_person: HashMap<PersonId, Slot>,
    key_slot: HashMap<StrongKey, Slot>,
    /// One-per-person identifiers known for each root slot (kind → value).
    unique_keys: HashMap<Slot, BTreeMap<KeyKind, String>>,
    /// Existing persons whose identifiers were loaded into `unique_keys`.
    loaded: HashSet<PersonId>,
    /// Existing persons an officer ruled apart, loaded per pair of roots when first needed.
    ruled_apart: HashSet<(PersonId, PersonId)>,
    checked_pairs: HashSet<(PersonId, PersonId)>,
    pub new_identifiers: Vec<(StrongKey, Slot)>,
    pub merges: Vec<Merge>,
    pub conflicts: Vec<Conflict>,
}

impl ChunkLinker {
    /// `known` holds the stored owner of each identifier the chunk's records carry.
    pub fn new(known: HashMap<StrongKey, PersonId>) -> ChunkLinker {
        let mut linker = ChunkLinker {
            slots: Vec::new(),
            slot_of_person: HashMap::new(),
            key_slot: HashMap::new(),
            unique_keys: HashMap::new(),
            loaded: HashSet::new(),
            ruled_apart: HashSet::new(),
            checked_pairs: HashSet::new(),
            new_identifiers: Vec::new(),
            merges: Vec::new(),
            conflicts: Vec::new(),
        };
        for (key, person) in known {
            let slot = linker.slot_for_existing(person);
            linker.key_slot.insert(key, slot);
        }
        linker
    }

    pub fn slot_for_existing(&mut self, person: PersonId) -> Slot {
        if let Some(slot) = self.slot_of_person.get(&person) {
            return *slot;
        }
        let slot = self.slots.len();
        self.slots.push(SlotState {
            existing: Some(person),
            parent: slot,
        });
        self.slot_of_person.insert(person, slot);
        slot
    }

    fn new_slot(&mut self) -> Slot {
        let slot = self.slots.len();
        self.slots.push(SlotState {
            existing: None,
            parent: slot,
        });
        slot
    }

    pub fn root(&mut self, slot: Slot) -> Slot {
        let mut root = slot;
        while self.slots[root].parent != root {
            root = self.slots[root].parent;
        }
        let mut current = slot;
        while self.slots[current].parent != root {
            let next = self.slots[current].parent;
            self.slots[current].parent = root;
            current = next;
        }
        root
    }

    pub fn existing_person(&self, slot: Slot) -> Option<PersonId> {
        self.slots[slot].existing
    }

    /// Which slot survives a union: the existing person with the lowest id, else the oldest slot.
    fn preference(&self, slot: Slot) -> (bool, PersonId, Slot) {
        match self.slots[slot].existing {
            Some(person) => (false, person, slot),
            None => (true, 0, slot),
        }
    }

    fn unique_keys_of(
        &mut self,
        tx: &mut dyn WriteTx,
        root: Slot,
    ) -> StoreResult<BTreeMap<KeyKind, String>> {
        if let Some(person) = self.slots[root].existing
            && self.loaded.insert(person)
        {
            let rows = tx.identifiers_of(&[person])?;
            let entry = self.unique_keys.entry(root).or_default();
            for row in rows {
                if row.key.kind.one_per_person() {
                    entry.entry(row.key.kind).or_insert(row.key.value);
                }
            }
        }
        Ok(self.unique_keys.get(&root).cloned().unwrap_or_default())
    }

    /// The existing persons inside a root's cluster (several after merges in this chunk).
    fn existing_members(&mut self, root: Slot) -> Vec<PersonId> {
        let mut members = Vec::new();
        for slot in 0..self.slots.len() {
            if let Some(person) = self.slots[slot].existing
                && self.root(slot) == root
            {
                members.push(person);
            }
        }
        members
    }

    /// Whether an officer ruled any existing person of one cluster apart from one of the other.
    fn ruled_apart(
        &mut self,
        tx: &mut dyn WriteTx,
        first: Slot,
        second: Slot,
    ) -> StoreResult<bool> {
        let (left, right) = (self.existing_members(first), self.existing_members(second));
        for &one in &left {
            for &other in &right {
                let pair = (one.min(other), one.max(other));
                if self.checked_pairs.insert(pair) {
                    for found in tx.cannot_links(&[pair.0, pair.1])? {
                        self.ruled_apart.insert(found);
                    }
                }
                if self.ruled_apart.contains(&pair) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn union(&mut self, first: Slot, second: Slot) -> Slot {
        let (first, second) = (self.root(first), self.root(second));
        if first == second {
            return first;
        }
        let (into, from) = if self.preference(first) <= self.preference(second) {
            (first, second)
        } else {
            (second, first)
        };
        self.slots[from].parent = into;
        let moved = self.unique_keys.remove(&from).unwrap_or_default();
        let entry = self.unique_keys.entry(into).or_default();
        for (kind, value) in moved {
            entry.entry(kind).or_insert(value);
        }
        into
    }

    /// Links one record carrying `keys`; `current` is the person its key already belongs to
    /// (for a new revision). Returns the slot of its person.
    pub fn link(
        &mut self,
        tx: &mut dyn WriteTx,
        keys: &[StrongKey],
        current: Option<PersonId>,
        record_index: usize,
    ) -> StoreResult<Slot> {
        let mut matched: Vec<Slot> = Vec::new();
        let mut matching_keys: HashMap<Slot, Vec<StrongKey>> = HashMap::new();
        for key in keys {
            if let Some(slot) = self.key_slot.get(key).copied() {
                let root = self.root(slot);
                if !matched.contains(&root) {
                    matched.push(root);
                }
                matching_keys.entry(root).or_default().push(key.clone());
            }
        }
        if matched.is_empty()
            && let Some(person) = current
        {
            matched.push(self.slot_for_existing(person));
        }
        let mut conflicting_keys: Vec<StrongKey> = Vec::new();
        let mut others: Vec<Slot> = Vec::new();
        let target = match matched.len() {
            0 => self.new_slot(),
            1 => matched[0],
            _ => {
                matched.sort_by_key(|slot| self.preference(*slot));
                let mut target = matched[0];
                for &candidate in &matched[1..] {
                    let target_root = self.root(target);
                    let target_keys = self.unique_keys_of(tx, target_root)?;
                    let candidate_keys = self.unique_keys_of(tx, candidate)?;
                    let clash: Vec<KeyKind> = target_keys
                        .iter()
                        .filter(|(kind, value)| {
                            candidate_keys
                                .get(*kind)
                                .is_some_and(|other| other != *value)
                        })
                        .map(|(kind, _)| *kind)
                        .collect();
                    let kept_apart = self.ruled_apart(tx, target_root, candidate)?;
                    if clash.is_empty() && !kept_apart {
                        let shared = matching_keys.get(&candidate).cloned().unwrap_or_default();
                        let target_root = self.root(target);
                        let both_existing = self.slots[target_root].existing.is_some()
                            && self.slots[candidate].existing.is_some();
                        let survivor = self.union(target_root, candidate);
                        if both_existing {
                            let from = if survivor == target_root {
                                candidate
                            } else {
                                target_root
                            };
                            self.merges.push(Merge {
                                from,
                                into: survivor,
                                shared_keys: shared,
                                record_index,
                            });
                        }
                        target = survivor;
                    } else {
                        others.push(candidate);
                        conflicting_keys
                            .extend(matching_keys.get(&candidate).cloned().unwrap_or_default());
                        for kind in clash {
                            if let Some(value) = candidate_keys.get(&kind) {
                                conflicting_keys.push(StrongKey::new(kind, value.clone()));
                            }
                        }
                    }
                }
                target
            }
        };
        let target = self.root(target);

        // The record's own one-per-person identifiers against the person it joins.
        let target_unique = if keys
            .iter()
            .any(|key| key.kind.one_per_person() && !self.key_slot.contains_key(key))
        {
            self.unique_keys_of(tx, target)?
        } else {
            BTreeMap::new()
        };
        for key in keys {
            if self.key_slot.contains_key(key) {
                continue;
            }
            if key.kind.one_per_person()
                && let Some(held) = target_unique.get(&key.kind)
                && held != &key.value
            {
                conflicting_keys.push(key.clone());
                conflicting_keys.push(StrongKey::new(key.kind, held.clone()));
                continue;
            }
            self.key_slot.insert(key.clone(), target);
            self.new_identifiers.push((key.clone(), target));
            if key.kind.one_per_person() {
                self.unique_keys
                    .entry(target)
                    .or_default()
                    .entry(key.kind)
                    .or_insert_with(|| key.value.clone());
            }
        }
        if !conflicting_keys.is_empty() {
            conflicting_keys.sort();
            conflicting_keys.dedup();
            self.conflicts.push(Conflict {
                chosen: target,
                others,
                conflicting_keys,
                record_index,
            });
        }
        Ok(target)
    }

    /// Root slots that are new persons, in slot order: they need ids.
    pub fn new_roots(&mut self) -> Vec<Slot> {
        (0..self.slots.len())
            .filter(|slot| {
                self.slots[*slot].existing.is_none() && self.slots[*slot].parent == *slot
            })
            .collect()
    }
}
