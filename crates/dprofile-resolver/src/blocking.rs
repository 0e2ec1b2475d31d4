//! Candidate pairs: records that agree on every part of at least one blocking rule. Blocks
//! larger than the cap are sorted by name and compared only within a sliding window, so that
//! the number of pairs grows about linearly with the number of records.

use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;

use crate::config::{BlockingPart, ResolverConfig};
use crate::prepare::{Prepared, PreparedRecord};

/// Candidate pairs `(left, right)` with `left < right` in content order, sorted, unique,
/// packed as `left << 32 | right`.
#[derive(Debug, Default)]
pub struct Candidates {
    pub pairs: Vec<u64>,
    /// Bit `r` set when blocking rule `r` proposed the pair: EM trains per rule, on all the
    /// pairs that rule proposes (at most eight rules).
    pub rules: Vec<u8>,
    pub blocks: usize,
    /// Blocks over the cap, compared within a window instead of all against all.
    pub oversized_blocks: usize,
}

pub fn pack(left: u32, right: u32) -> u64 {
    (u64::from(left) << 32) | u64::from(right)
}

pub fn unpack(pair: u64) -> (u32, u32) {
    ((pair >> 32) as u32, pair as u32)
}

/// The values one part takes for one record (several for several spellings or documents).
fn part_values(part: &BlockingPart, record: &PreparedRecord, prepared: &Prepared) -> Vec<u64> {
    // Stable hashes of the values' text, not their interned ids: a record's keys are then the
    // same in every run, whatever else is resolved with it, and can be stored.
    let stable = |id: u32| prepared.stable[id as usize];
    let phonetic = |id: u32| stable(prepared.phonetic[id as usize]);
    let mut values: Vec<u64> = match part {
        BlockingPart::FamilyPhonetic => record
            .names
            .iter()
            .filter_map(|name| name.family.map(phonetic))
            .collect(),
        BlockingPart::GivenPhonetic => record
            .names
            .iter()
            .filter_map(|name| name.given.map(phonetic))
            .collect(),
        BlockingPart::FamilyFolded => record
            .names
            .iter()
            .filter_map(|name| name.family.map(stable))
            .collect(),
        BlockingPart::GivenFolded => record
            .names
            .iter()
            .filter_map(|name| name.given.map(stable))
            .collect(),
        BlockingPart::AnyNamePhonetic => record
            .names
            .iter()
            .flat_map(|name| [name.family, name.given])
            .flatten()
            .map(phonetic)
            .collect(),
        BlockingPart::NamePairPhonetic => record
            .names
            .iter()
            .filter_map(|name| {
                let (family, given) = (phonetic(name.family?), phonetic(name.given?));
                let mut hasher = FxHasher::default();
                (family.min(given), family.max(given)).hash(&mut hasher);
                Some(hasher.finish())
            })
            .collect(),
        BlockingPart::BirthYear => record
            .birth_date
            .map(|date| date.year() as u64)
            .into_iter()
            .collect(),
        BlockingPart::BirthDate => record
            .birth_date
            .and_then(|date| date.full())
            .map(|date| chrono::Datelike::num_days_from_ce(&date) as u64)
            .into_iter()
            .collect(),
        BlockingPart::BirthMonthDay => record
            .birth_date
            .and_then(|date| date.full())
            .map(|date| {
                u64::from(chrono::Datelike::month(&date)) * 32
                    + u64::from(chrono::Datelike::day(&date))
            })
            .into_iter()
            .collect(),
        BlockingPart::StrongKey => {
            let mut keys: Vec<u64> = record
                .documents
                .iter()
                .map(|document| stable(document.key).rotate_left(1))
                .collect();
            for (tag, value) in [(2u32, record.snils), (3, record.inn), (4, record.esia)] {
                if let Some(value) = value {
                    keys.push(stable(value).rotate_left(tag));
                }
            }
            keys
        }
        BlockingPart::Attribute(name) => prepared
            .attribute_slot(name)
            .and_then(|slot| record.attributes[slot])
            .map(stable)
            .into_iter()
            .collect(),
    };
    values.sort_unstable();
    values.dedup();
    values
}

/// Blocking keys of one record for all rules: hashes of (rule, part values), with the rule.
/// They depend only on the record's content (see [`crate::prepare::stable_hash`]).
pub fn record_keys(
    record: &PreparedRecord,
    prepared: &Prepared,
    config: &ResolverConfig,
) -> Vec<(u64, u8)> {
    let mut keys = Vec::new();
    for (rule_index, rule) in config.blocking_rules.iter().enumerate() {
        let mut partial: Vec<FxHasher> = vec![{
            let mut hasher = FxHasher::default();
            rule_index.hash(&mut hasher);
            hasher
        }];
        for part in &rule.parts {
            let values = part_values(part, record, prepared);
            let mut next = Vec::with_capacity(partial.len() * values.len());
            for hasher in &partial {
                for value in &values {
                    let mut extended = hasher.clone();
                    value.hash(&mut extended);
                    next.push(extended);
                }
            }
            partial = next;
            if partial.is_empty() {
                break;
            }
        }
        keys.extend(
            partial
                .into_iter()
                .map(|hasher| (hasher.finish(), 1u8 << (rule_index % 8))),
        );
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

pub fn candidate_pairs(prepared: &Prepared, config: &ResolverConfig) -> Candidates {
    let threads = config.threads.max(1);
    let records = &prepared.records;
    let chunk = records.len().div_ceil(threads).max(1);
    let mut entries: Vec<(u64, u8, u32)> = std::thread::scope(|scope| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .enumerate()
            .map(|(chunk_index, slice)| {
                scope.spawn(move || {
                    let mut local = Vec::with_capacity(slice.len() * 6);
                    for (offset, record) in slice.iter().enumerate() {
                        let index = (chunk_index * chunk + offset) as u32;
                        for (key, rule) in record_keys(record, prepared, config) {
                            local.push((key, rule, index));
                        }
                    }
                    local
                })
            })
            .collect();
        let mut parts = Vec::with_capacity(handles.len());
        for handle in handles {
            // A panicking worker is a bug in the engine, not bad input: re-raise it.
            match handle.join() {
                Ok(part) => parts.push(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        let mut entries = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for part in parts {
            entries.extend(part);
        }
        entries
    });
    crate::parallel_sort_by_key(&mut entries, threads, |&entry| entry);
    let mut candidates = Candidates::default();
    // Blocks as runs of equal keys. The pairs they propose are counted first so that the
    // pair list, the largest allocation of the run, is allocated once at its final size:
    // growing it by doubling held the old and the new buffer at once and set the peak RSS.
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let key = entries[start].0;
        let mut end = start;
        while end < entries.len() && entries[end].0 == key {
            end += 1;
        }
        if end - start >= 2 {
            blocks.push((start, end));
        }
        start = end;
    }
    let proposed: usize = blocks
        .iter()
        .map(|&(start, end)| {
            let size = end - start;
            if size <= config.max_block_size {
                size * (size - 1) / 2
            } else {
                (0..size)
                    .map(|position| config.sub_block_window.min(size - 1 - position))
                    .sum()
            }
        })
        .sum();
    let mut pairs: Vec<(u64, u8)> = Vec::with_capacity(proposed);
    let mut members: Vec<u32> = Vec::new();
    for &(start, end) in &blocks {
        let rule = entries[start].1;
        candidates.blocks += 1;
        members.clear();
        members.extend(entries[start..end].iter().map(|&(_, _, index)| index));
        if members.len() <= config.max_block_size {
            for (position, &left) in members.iter().enumerate() {
                for &right in &members[position + 1..] {
                    pairs.push((pack(left, right), rule));
                }
            }
        } else {
            candidates.oversized_blocks += 1;
            window_pairs(
                &mut members,
                prepared,
                config.sub_block_window,
                rule,
                &mut pairs,
            );
        }
    }
    drop(blocks);
    drop(entries);
    crate::parallel_sort_by_key(&mut pairs, threads, |&pair| pair);
    // Merge duplicates in place: the pair list is the largest allocation of the run.
    let mut kept = 0usize;
    for index in 0..pairs.len() {
        let (pair, rules) = pairs[index];
        if kept > 0 && pairs[kept - 1].0 == pair {
            pairs[kept - 1].1 |= rules;
        } else {
            pairs[kept] = (pair, rules);
            kept += 1;
        }
    }
    pairs.truncate(kept);
    candidates.rules = pairs.iter().map(|&(_, rules)| rules).collect();
    candidates.pairs = pairs.into_iter().map(|(pair, _)| pair).collect();
    candidates.pairs.shrink_to_fit();
    candidates
}

/// Sorted-neighbourhood pairs of an oversized block: members sorted by
/// [`Prepared::window_key`], each paired with the next `window` members.
fn window_pairs(
    members: &mut [u32],
    prepared: &Prepared,
    window: usize,
    rule: u8,
    pairs: &mut Vec<(u64, u8)>,
) {
    members.sort_by(|&left, &right| {
        (prepared.window_key(left), left).cmp(&(prepared.window_key(right), right))
    });
    for (position, &left) in members.iter().enumerate() {
        for &right in members.iter().skip(position + 1).take(window) {
            pairs.push((pack(left.min(right), left.max(right)), rule));
        }
    }
}

/// The members of one block that blocking pairs with `member` (all of them, or its window
/// neighbours when the block is over the cap). `members` is the whole block, `member` in it.
pub fn partners_in_block(
    members: &mut [u32],
    member: u32,
    prepared: &Prepared,
    config: &ResolverConfig,
) -> Vec<u32> {
    if members.len() <= config.max_block_size {
        return members
            .iter()
            .copied()
            .filter(|&other| other != member)
            .collect();
    }
    members.sort_by(|&left, &right| {
        (prepared.window_key(left), left).cmp(&(prepared.window_key(right), right))
    });
    let Some(position) = members.iter().position(|&other| other == member) else {
        return Vec::new();
    };
    let window = config.sub_block_window;
    let start = position.saturating_sub(window);
    let end = (position + window + 1).min(members.len());
    members[start..end]
        .iter()
        .copied()
        .filter(|&other| other != member)
        .collect()
}

/// Every pair blocking makes inside one whole block, as `(smaller, larger)` indices.
pub fn pairs_in_block(
    members: &mut [u32],
    prepared: &Prepared,
    config: &ResolverConfig,
) -> Vec<(u32, u32)> {
    let mut pairs = Vec::new();
    if members.len() <= config.max_block_size {
        for (position, &left) in members.iter().enumerate() {
            for &right in &members[position + 1..] {
                pairs.push((left.min(right), left.max(right)));
            }
        }
        return pairs;
    }
    let mut packed = Vec::new();
    window_pairs(members, prepared, config.sub_block_window, 0, &mut packed);
    pairs.extend(packed.into_iter().map(|(pair, _)| unpack(pair)));
    pairs
}
