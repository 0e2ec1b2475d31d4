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
    // Blocks as runs of equal keys.
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
    candidates.blocks = blocks.len();
    let block_pairs = |&(start, end): &(usize, usize)| {
        let size = end - start;
        if size <= config.max_block_size {
            size * (size - 1) / 2
        } else {
            (0..size)
                .map(|position| config.sub_block_window.min(size - 1 - position))
                .sum()
        }
    };
    // The blocks are split into one group per thread, of about equal numbers of pairs; the
    // pairs go to buckets by their left record (a bucket is a range of records), each bucket
    // is then sorted and merged on its own: no sort of the whole list on one thread. Each
    // group counts its pairs per bucket first, so that every (bucket, group) gets its own
    // region of one list allocated once at its final size (growing it by doubling held the
    // old and the new buffer at once and set the peak RSS).
    let total: usize = blocks.iter().map(block_pairs).sum();
    // A bucket is the records with the same high bits: about eight buckets per thread.
    let records_count = prepared.records.len().max(1);
    let shift = (records_count.div_ceil(threads * 8).max(1))
        .next_power_of_two()
        .trailing_zeros();
    let buckets = ((records_count - 1) >> shift) + 1;
    let bucket_of = move |left: u32| (left >> shift) as usize;
    let mut groups: Vec<&[(usize, usize)]> = Vec::with_capacity(threads);
    let mut rest: &[(usize, usize)] = &blocks;
    let mut counted = 0usize;
    for group in 1..threads {
        let target = total * group / threads;
        let mut taken = 0;
        while taken < rest.len() && counted < target {
            counted += block_pairs(&rest[taken]);
            taken += 1;
        }
        let (group_blocks, remaining) = rest.split_at(taken);
        groups.push(group_blocks);
        rest = remaining;
    }
    groups.push(rest);
    let block_entries = &entries;
    // Per group: pairs per bucket, and the members of its oversized blocks in window order.
    let counted: Vec<(Vec<usize>, Vec<u32>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .iter()
            .map(|&group| {
                scope.spawn(move || {
                    let mut counts = vec![0usize; buckets];
                    let mut windowed: Vec<u32> = Vec::new();
                    for &(start, end) in group {
                        let members = block_entries[start..end].iter().map(|&(_, _, index)| index);
                        if end - start <= config.max_block_size {
                            for (position, left) in members.enumerate() {
                                counts[bucket_of(left)] += end - start - 1 - position;
                            }
                        } else {
                            let from = windowed.len();
                            windowed.extend(members);
                            let ordered = &mut windowed[from..];
                            sort_for_window(ordered, prepared);
                            for_window_pairs(ordered, config.sub_block_window, |pair| {
                                counts[bucket_of(unpack(pair).0)] += 1;
                            });
                        }
                    }
                    (counts, windowed)
                })
            })
            .collect();
        handles.into_iter().map(join_worker).collect()
    });
    candidates.oversized_blocks = blocks
        .iter()
        .filter(|&&(start, end)| end - start > config.max_block_size)
        .count();
    // Regions in bucket order, groups in order within a bucket.
    let mut pairs: Vec<(u64, u8)> = vec![(0, 0); total];
    let bucket_sizes: Vec<usize> = (0..buckets)
        .map(|bucket| counted.iter().map(|(counts, _)| counts[bucket]).sum())
        .collect();
    let mut regions: Vec<Vec<&mut [(u64, u8)]>> = (0..groups.len()).map(|_| Vec::new()).collect();
    let mut bucket_slices: Vec<&mut [(u64, u8)]> = Vec::with_capacity(buckets);
    {
        let mut unassigned: &mut [(u64, u8)] = &mut pairs;
        for &size in &bucket_sizes {
            let (bucket, after) = unassigned.split_at_mut(size);
            bucket_slices.push(bucket);
            unassigned = after;
        }
    }
    for (bucket, slice) in bucket_slices.into_iter().enumerate() {
        let mut unassigned = slice;
        for (group, (counts, _)) in counted.iter().enumerate() {
            let (region, after) = unassigned.split_at_mut(counts[bucket]);
            regions[group].push(region);
            unassigned = after;
        }
    }
    std::thread::scope(|scope| {
        for ((group, mut regions), (_, windowed)) in groups.iter().zip(regions).zip(&counted) {
            scope.spawn(move || {
                let mut filled = vec![0usize; buckets];
                let mut windowed_from = 0;
                for &(start, end) in *group {
                    let rule = block_entries[start].1;
                    if end - start <= config.max_block_size {
                        let members = &block_entries[start..end];
                        for (position, &(_, _, left)) in members.iter().enumerate() {
                            let bucket = bucket_of(left);
                            let rights = &members[position + 1..];
                            let at = filled[bucket];
                            for (slot, &(_, _, right)) in regions[bucket][at..at + rights.len()]
                                .iter_mut()
                                .zip(rights)
                            {
                                *slot = (pack(left, right), rule);
                            }
                            filled[bucket] += rights.len();
                        }
                    } else {
                        let ordered = &windowed[windowed_from..windowed_from + end - start];
                        windowed_from += end - start;
                        for_window_pairs(ordered, config.sub_block_window, |pair| {
                            let bucket = bucket_of(unpack(pair).0);
                            regions[bucket][filled[bucket]] = (pair, rule);
                            filled[bucket] += 1;
                        });
                    }
                }
            });
        }
    });
    drop(counted);
    drop(blocks);
    drop(entries);
    // Sorted and merged bucket by bucket; a pair proposed by several rules keeps them all.
    let mut buckets_left: Vec<&mut [(u64, u8)]> = Vec::with_capacity(buckets);
    {
        let mut unassigned: &mut [(u64, u8)] = &mut pairs;
        for &size in &bucket_sizes {
            let (bucket, after) = unassigned.split_at_mut(size);
            buckets_left.push(bucket);
            unassigned = after;
        }
    }
    let per_thread = buckets.div_ceil(threads);
    let kept: Vec<usize> = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        while !buckets_left.is_empty() {
            let take = per_thread.min(buckets_left.len());
            let mine: Vec<&mut [(u64, u8)]> = buckets_left.drain(..take).collect();
            handles.push(scope.spawn(move || {
                mine.into_iter()
                    .map(|bucket| {
                        bucket.sort_unstable_by_key(|&(pair, _)| pair);
                        merge_duplicates(bucket)
                    })
                    .collect::<Vec<usize>>()
            }));
        }
        handles.into_iter().flat_map(join_worker).collect()
    });
    let unique: usize = kept.iter().sum();
    candidates.pairs = Vec::with_capacity(unique);
    candidates.rules = Vec::with_capacity(unique);
    let mut from = 0;
    for (&size, &kept) in bucket_sizes.iter().zip(&kept) {
        let bucket = &pairs[from..from + kept];
        candidates
            .pairs
            .extend(bucket.iter().map(|&(pair, _)| pair));
        candidates
            .rules
            .extend(bucket.iter().map(|&(_, rules)| rules));
        from += size;
    }
    drop(pairs);
    candidates
}

/// Merges runs of equal pairs in a sorted slice in place (their rule bits together) and
/// returns how many distinct pairs lead the slice.
fn merge_duplicates(pairs: &mut [(u64, u8)]) -> usize {
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
    kept
}

fn join_worker<Output>(handle: std::thread::ScopedJoinHandle<'_, Output>) -> Output {
    match handle.join() {
        Ok(output) => output,
        // A panicking worker is a bug in the engine, not bad input: re-raise it.
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The members of an oversized block in the order of [`Prepared::window_key`].
fn sort_for_window(members: &mut [u32], prepared: &Prepared) {
    members.sort_by(|&left, &right| {
        (prepared.window_key(left), left).cmp(&(prepared.window_key(right), right))
    });
}

/// Sorted-neighbourhood pairs of an oversized block in window order: each member paired with
/// the next `window` members.
fn for_window_pairs(members: &[u32], window: usize, mut pair: impl FnMut(u64)) {
    for (position, &left) in members.iter().enumerate() {
        for &right in members.iter().skip(position + 1).take(window) {
            pair(pack(left.min(right), left.max(right)));
        }
    }
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
    sort_for_window(members, prepared);
    for_window_pairs(members, window, |pair| pairs.push((pair, rule)));
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::prepare::prepare;

    /// What blocking must propose, the slow way: every block's pairs from
    /// [`pairs_in_block`], with the rules that proposed each.
    fn reference(prepared: &Prepared, config: &ResolverConfig) -> Vec<(u64, u8)> {
        let mut blocks: BTreeMap<(u64, u8), Vec<u32>> = BTreeMap::new();
        for (index, record) in prepared.records.iter().enumerate() {
            for key in record_keys(record, prepared, config) {
                blocks.entry(key).or_default().push(index as u32);
            }
        }
        let mut pairs: BTreeMap<u64, u8> = BTreeMap::new();
        for ((_, rule), mut members) in blocks {
            for (left, right) in pairs_in_block(&mut members, prepared, config) {
                *pairs.entry(pack(left, right)).or_default() |= rule;
            }
        }
        pairs.into_iter().collect()
    }

    #[test]
    fn candidate_pairs_are_every_blocks_pairs_whatever_the_thread_count() {
        let records = crate::prepare::tests::records(6_000);
        // Small blocks cap: many blocks are compared within a window.
        for max_block_size in [100, 12] {
            let config = ResolverConfig {
                max_block_size,
                sub_block_window: 4,
                ..ResolverConfig::for_person_records()
            };
            let prepared = prepare(records.clone(), &config);
            let expected = reference(&prepared, &config);
            assert!(expected.len() > 10_000, "{} pairs", expected.len());
            for threads in [1, 2, 3, 7] {
                let candidates = candidate_pairs(
                    &prepared,
                    &ResolverConfig {
                        threads,
                        ..config.clone()
                    },
                );
                let found: Vec<(u64, u8)> = candidates
                    .pairs
                    .iter()
                    .copied()
                    .zip(candidates.rules.iter().copied())
                    .collect();
                assert!(found == expected, "{threads} threads, cap {max_block_size}");
                assert!(
                    (max_block_size == 12) == (candidates.oversized_blocks > 0),
                    "{} oversized blocks",
                    candidates.oversized_blocks
                );
            }
        }
    }
}
