//! The neighbourhood of a change: which records must be resolved again, with a frozen model,
//! so that the partition of a growing registry stays the partition that [`crate::resolve_with_model`]
//! gives on all of its records at once.
//!
//! Why a neighbourhood suffices: with the model frozen, a pair's weight depends on the two
//! records alone, and clustering a connected component of the graph of pairs at or above the
//! review weight depends only on that component (content order, no global state). A change
//! (new, revised or withdrawn records) alters that graph only at pairs that touch a changed
//! record, and, in blocks over the size cap, at pairs between other members whose window
//! neighbourhood the change shifted. The closure starts from those records and follows scored
//! pairs until nothing new is reached: it is a union of whole components of the new graph, and
//! every component of the old graph that the change touched lies inside it.
//!
//! Records are reached through their blocking keys ([`crate::blocking::record_keys`], stable
//! hashes of content), so the caller keeps an index from key to records; the engine asks for
//! it through [`Neighbours`] and does no I/O itself.

use std::collections::BTreeSet;
use std::hash::Hash;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::blocking::{pairs_in_block, partners_in_block, record_keys};
use crate::compare::{self, Field};
use crate::config::ResolverConfig;
use crate::model::Model;
use crate::prepare::Prepared;
use crate::record::ResolverRecord;

/// The registry as the closure reads it, after the change.
pub trait Neighbours {
    type Id: Copy + Eq + Ord + Hash + std::fmt::Debug;
    type Error;
    /// `(key, id)` of every record holding one of these blocking keys.
    fn members(&mut self, keys: &[u64]) -> Result<Vec<(u64, Self::Id)>, Self::Error>;
    /// The records of these ids as the resolver reads them; ids without one are left out.
    fn records(&mut self, ids: &[Self::Id])
    -> Result<Vec<(Self::Id, ResolverRecord)>, Self::Error>;
    /// Ids that must be resolved together with these ones (records an officer holds in one
    /// person): they join the closure and are explored too.
    fn companions(&mut self, ids: &[Self::Id]) -> Result<Vec<Self::Id>, Self::Error>;
}

/// One record that changed: `before` is what the resolver read of it before (none for a new
/// record), `after` what it reads now (none for a withdrawn one).
#[derive(Debug, Clone)]
pub struct Change<Id> {
    pub id: Id,
    pub before: Option<ResolverRecord>,
    pub after: Option<ResolverRecord>,
}

/// The records to resolve again and the scored pairs among them.
#[derive(Debug, Clone)]
pub struct Closure<Id> {
    /// Caller ids; `records[i].id == i`.
    pub ids: Vec<Id>,
    pub records: Vec<ResolverRecord>,
    /// Pairs (indices into `records`) that blocking proposes in the whole registry and that
    /// weigh at least the review weight: the only pairs clustering looks at.
    pub pairs: Vec<(u32, u32)>,
    /// Records whose content changed or that a shifted window re-paired (the seeds).
    pub seeds: Vec<u32>,
}

/// Blocking keys of a record (stable: the same in every run).
pub fn blocking_keys(record: &ResolverRecord, config: &ResolverConfig) -> Vec<u64> {
    let mut pool = Prepared::growing(config);
    pool.push(
        vec![record.clone()],
        config,
        &crate::model::TermFrequencies::default(),
    );
    let mut keys: Vec<u64> = record_keys(&pool.records[0], &pool, config)
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The population explored so far: records prepared with the model's frequencies, and for
/// each the caller id (none for the old version of a changed record).
struct Pool<'a, Id> {
    prepared: Prepared,
    /// The records as given (preparation consumes them; the closure hands them back).
    originals: Vec<ResolverRecord>,
    id_of: Vec<Option<Id>>,
    index_of: FxHashMap<Id, u32>,
    keys_of: Vec<Vec<u64>>,
    config: &'a ResolverConfig,
    model: &'a Model,
    fields: Vec<Field>,
    largest_bonus: f64,
    review_weight: f64,
}

impl<'a, Id: Copy + Eq + Hash> Pool<'a, Id> {
    fn add(&mut self, entries: Vec<(Option<Id>, ResolverRecord)>) {
        let (ids, records): (Vec<Option<Id>>, Vec<ResolverRecord>) = entries.into_iter().unzip();
        self.originals.extend(records.iter().cloned());
        let first = self
            .prepared
            .push(records, self.config, &self.model.term_frequencies);
        for (offset, id) in ids.into_iter().enumerate() {
            let index = (first + offset) as u32;
            if let Some(id) = id {
                self.index_of.insert(id, index);
            }
            self.id_of.push(id);
            let mut keys: Vec<u64> = record_keys(
                &self.prepared.records[index as usize],
                &self.prepared,
                self.config,
            )
            .into_iter()
            .map(|(key, _)| key)
            .collect();
            keys.sort_unstable();
            keys.dedup();
            self.keys_of.push(keys);
        }
    }

    /// Whether two pooled records weigh at least the review weight.
    fn is_edge(&self, left: u32, right: u32) -> bool {
        let pattern = compare::compare(
            &self.prepared.records[left as usize],
            &self.prepared.records[right as usize],
            &self.fields,
            &self.prepared.interner,
            crate::compare::CompareOptions::of(self.config),
        );
        crate::pair_weight(
            self.model,
            self.config,
            &self.prepared,
            pattern,
            left,
            right,
            self.review_weight,
            None,
            self.largest_bonus,
            &[],
        )
        .is_some()
    }
}

/// The closed neighbourhood of `changes` (which the registry behind `source` already holds).
pub fn closure<Source: Neighbours>(
    changes: Vec<Change<Source::Id>>,
    config: &ResolverConfig,
    model: &Model,
    source: &mut Source,
) -> Result<Closure<Source::Id>, Source::Error> {
    let mut pool: Pool<'_, Source::Id> = Pool {
        prepared: Prepared::growing(config),
        originals: Vec::new(),
        id_of: Vec::new(),
        index_of: FxHashMap::default(),
        keys_of: Vec::new(),
        config,
        model,
        fields: compare::fields(config),
        largest_bonus: model.largest_term_frequency_bonus(config),
        review_weight: config.review_weight(),
    };
    // Whole memberships of the blocks met so far, as pool indices (current records only).
    let mut blocks: FxHashMap<u64, Vec<u32>> = FxHashMap::default();
    let mut seeds: BTreeSet<Source::Id> = BTreeSet::new();

    // 1. The changed records now, and their old versions as ghosts (no id).
    let mut ghosts: Vec<(Source::Id, u32)> = Vec::new();
    let mut changed: FxHashSet<Source::Id> = FxHashSet::default();
    let mut current: Vec<(Option<Source::Id>, ResolverRecord)> = Vec::new();
    let mut old: Vec<(Option<Source::Id>, ResolverRecord)> = Vec::new();
    let mut old_ids: Vec<Source::Id> = Vec::new();
    for change in changes {
        changed.insert(change.id);
        if let Some(after) = change.after {
            seeds.insert(change.id);
            current.push((Some(change.id), after));
        }
        if let Some(before) = change.before {
            old_ids.push(change.id);
            old.push((None, before));
        }
    }
    pool.add(current);
    let first_ghost = pool.id_of.len() as u32;
    pool.add(old);
    for (offset, id) in old_ids.into_iter().enumerate() {
        ghosts.push((id, first_ghost + offset as u32));
    }

    // 2. Blocks the change touched: their whole membership now, and before the change.
    let mut touched: Vec<u64> = Vec::new();
    for index in 0..pool.keys_of.len() {
        touched.extend(pool.keys_of[index].iter().copied());
    }
    touched.sort_unstable();
    touched.dedup();
    load_blocks(&touched, &mut pool, &mut blocks, source)?;
    for &key in &touched {
        let now: Vec<u32> = blocks.get(&key).cloned().unwrap_or_default();
        let mut before: Vec<u32> = now
            .iter()
            .copied()
            .filter(|&index| pool.id_of[index as usize].is_none_or(|id| !changed.contains(&id)))
            .collect();
        before.extend(
            ghosts
                .iter()
                .filter(|(_, ghost)| pool.keys_of[*ghost as usize].binary_search(&key).is_ok())
                .map(|(_, ghost)| *ghost),
        );
        let id_or_ghost = |index: u32| -> Option<Source::Id> {
            pool.id_of[index as usize].or_else(|| {
                ghosts
                    .iter()
                    .find(|(_, ghost)| *ghost == index)
                    .map(|(id, _)| *id)
            })
        };
        if now.len() <= config.max_block_size && before.len() <= config.max_block_size {
            // All pairs both times: only pairs with a changed record differ. The old
            // version's neighbours are seeds (a pair it had may be gone).
            for (id, ghost) in &ghosts {
                if pool.keys_of[*ghost as usize].binary_search(&key).is_err() {
                    continue;
                }
                for &other in &before {
                    if other != *ghost && pool.is_edge(*ghost, other) {
                        seeds.insert(*id);
                        if let Some(other) = id_or_ghost(other) {
                            seeds.insert(other);
                        }
                    }
                }
            }
            continue;
        }
        // Over the cap before or after: the window moved; every pair that appeared or
        // disappeared and weighs enough has both ends re-resolved.
        let mut now_members = now.clone();
        let mut before_members = before.clone();
        let now_pairs: FxHashSet<(u32, u32)> =
            pairs_in_block(&mut now_members, &pool.prepared, config)
                .into_iter()
                .collect();
        let before_pairs: FxHashSet<(u32, u32)> =
            pairs_in_block(&mut before_members, &pool.prepared, config)
                .into_iter()
                .collect();
        for &(left, right) in now_pairs.symmetric_difference(&before_pairs) {
            if pool.is_edge(left, right) {
                seeds.extend(id_or_ghost(left));
                seeds.extend(id_or_ghost(right));
            }
        }
    }

    // 3. Breadth first from the seeds along scored pairs, and to the companions of each
    // record reached, until closed.
    let mut visited: FxHashSet<Source::Id> = FxHashSet::default();
    let mut edges: BTreeSet<(Source::Id, Source::Id)> = BTreeSet::new();
    let mut frontier: Vec<Source::Id> = seeds.iter().copied().collect();
    visited.extend(frontier.iter().copied());
    while !frontier.is_empty() {
        let companions = source.companions(&frontier)?;
        let mut next: Vec<Source::Id> = Vec::new();
        for id in companions {
            if visited.insert(id) {
                next.push(id);
            }
        }
        let unknown: Vec<Source::Id> = frontier
            .iter()
            .chain(&next)
            .copied()
            .filter(|id| !pool.index_of.contains_key(id))
            .collect();
        if !unknown.is_empty() {
            let fetched = source.records(&unknown)?;
            pool.add(
                fetched
                    .into_iter()
                    .map(|(id, record)| (Some(id), record))
                    .collect(),
            );
        }
        let mut keys: Vec<u64> = frontier
            .iter()
            .filter_map(|id| pool.index_of.get(id))
            .flat_map(|&index| pool.keys_of[index as usize].iter().copied())
            .filter(|key| !blocks.contains_key(key))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        load_blocks(&keys, &mut pool, &mut blocks, source)?;
        for id in &frontier {
            let Some(&index) = pool.index_of.get(id) else {
                continue;
            };
            for key in pool.keys_of[index as usize].clone() {
                let mut members = blocks.get(&key).cloned().unwrap_or_default();
                for partner in partners_in_block(&mut members, index, &pool.prepared, config) {
                    let Some(partner_id) = pool.id_of[partner as usize] else {
                        continue;
                    };
                    let pair = ((*id).min(partner_id), (*id).max(partner_id));
                    if edges.contains(&pair) || !pool.is_edge(index, partner) {
                        continue;
                    }
                    edges.insert(pair);
                    if visited.insert(partner_id) {
                        next.push(partner_id);
                    }
                }
            }
        }
        frontier = next;
    }

    // 4. The closure in id order, with its pairs.
    let mut ids: Vec<Source::Id> = visited
        .into_iter()
        .filter(|id| pool.index_of.contains_key(id))
        .collect();
    ids.sort_unstable();
    let position: FxHashMap<Source::Id, u32> = ids
        .iter()
        .enumerate()
        .map(|(position, id)| (*id, position as u32))
        .collect();
    let mut records: Vec<ResolverRecord> = Vec::with_capacity(ids.len());
    for (position, id) in ids.iter().enumerate() {
        let mut record = pool.originals[pool.index_of[id] as usize].clone();
        record.id = position as u32;
        records.push(record);
    }
    let pairs: Vec<(u32, u32)> = edges
        .into_iter()
        .filter_map(|(left, right)| Some((*position.get(&left)?, *position.get(&right)?)))
        .collect();
    let seeds: Vec<u32> = seeds
        .iter()
        .filter_map(|id| position.get(id).copied())
        .collect();
    Ok(Closure {
        ids,
        records,
        pairs,
        seeds,
    })
}

/// Fetches the whole membership of `keys` into `blocks`, pooling records not seen yet.
fn load_blocks<Source: Neighbours>(
    keys: &[u64],
    pool: &mut Pool<'_, Source::Id>,
    blocks: &mut FxHashMap<u64, Vec<u32>>,
    source: &mut Source,
) -> Result<(), Source::Error> {
    let keys: Vec<u64> = keys
        .iter()
        .copied()
        .filter(|key| !blocks.contains_key(key))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let members = source.members(&keys)?;
    let mut unknown: Vec<Source::Id> = members
        .iter()
        .map(|(_, id)| *id)
        .filter(|id| !pool.index_of.contains_key(id))
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    if !unknown.is_empty() {
        let fetched = source.records(&unknown)?;
        pool.add(
            fetched
                .into_iter()
                .map(|(id, record)| (Some(id), record))
                .collect(),
        );
    }
    for &key in &keys {
        blocks.entry(key).or_default();
    }
    for (key, id) in members {
        if let Some(&index) = pool.index_of.get(&id) {
            // A member whose record says otherwise now (the store's index lags) is not one.
            if pool.keys_of[index as usize].binary_search(&key).is_ok() {
                blocks.entry(key).or_default().push(index);
            }
        }
    }
    for key in keys {
        if let Some(members) = blocks.get_mut(&key) {
            members.sort_unstable();
            members.dedup();
        }
    }
    Ok(())
}
