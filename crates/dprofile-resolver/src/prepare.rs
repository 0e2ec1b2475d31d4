//! Records turned into what comparisons need: folded names and values interned to integers,
//! records put in content order (so that nothing downstream depends on input order), and the
//! value frequencies that term-frequency adjustment uses.

use std::hash::{Hash, Hasher};

use chrono::NaiveDate;
use dprofile_domain::linking::KeyKind;
use dprofile_domain::subject::Sex;
use dprofile_domain::values::PartialDate;
use rustc_hash::{FxHashMap, FxHasher};

use crate::config::ResolverConfig;
use crate::names::{fold_name, phonetic_key};
use crate::record::ResolverRecord;

/// Interned string id; 0 is never used so that `0` can mean "absent" in packed keys.
pub type ValueId = u32;

/// One folded spelling of a record's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FoldedName {
    pub family: Option<ValueId>,
    pub given: Option<ValueId>,
    pub patronymic: Option<ValueId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreparedDocument {
    pub kind: KeyKind,
    pub country: ValueId,
    pub number: ValueId,
    /// The whole key (`country:number`), for validity look-ups and conflicts.
    pub key: ValueId,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct PreparedRecord {
    /// Distinct folded spellings, sorted.
    pub names: Vec<FoldedName>,
    pub birth_date: Option<PartialDate>,
    pub sex: Option<Sex>,
    pub citizenship: Option<ValueId>,
    /// Passports and national ids.
    pub documents: Vec<PreparedDocument>,
    /// SNILS, INN, ESIA: at most one per kind is used (the smallest when a record holds two,
    /// which a source should not send).
    pub snils: Option<ValueId>,
    pub inn: Option<ValueId>,
    pub esia: Option<ValueId>,
    /// One slot per configured attribute.
    pub attributes: Vec<Option<ValueId>>,
}

/// All strings seen, interned; ids follow first sight in content order.
#[derive(Debug, Default)]
pub struct Interner {
    ids: FxHashMap<String, ValueId>,
    pub strings: Vec<String>,
}

impl Interner {
    fn new() -> Interner {
        Interner {
            ids: FxHashMap::default(),
            // Id 0 is reserved.
            strings: vec![String::new()],
        }
    }

    /// [`Interner::intern`] of a string the caller gives away.
    fn intern_owned(&mut self, text: String) -> ValueId {
        if let Some(id) = self.ids.get(text.as_str()) {
            return *id;
        }
        let id = self.strings.len() as ValueId;
        self.ids.insert(text.clone(), id);
        self.strings.push(text);
        id
    }

    pub fn intern(&mut self, text: &str) -> ValueId {
        if let Some(id) = self.ids.get(text) {
            return *id;
        }
        let id = self.strings.len() as ValueId;
        self.strings.push(text.to_owned());
        self.ids.insert(text.to_owned(), id);
        id
    }

    pub fn text(&self, id: ValueId) -> &str {
        &self.strings[id as usize]
    }
}

/// The prepared population, in content order.
#[derive(Debug)]
pub struct Prepared {
    pub records: Vec<PreparedRecord>,
    /// `input_position[canonical] = position in the caller's vector`.
    pub input_position: Vec<u32>,
    /// `caller_id[canonical]` = the caller's `ResolverRecord::id`.
    pub caller_id: Vec<u32>,
    pub interner: Interner,
    /// Phonetic key of every interned folded name (empty for other values).
    pub phonetic: Vec<ValueId>,
    pub frequencies: Frequencies,
    pub attribute_names: Vec<String>,
}

impl Prepared {
    pub fn attribute_slot(&self, name: &str) -> Option<usize> {
        self.attribute_names
            .iter()
            .position(|attribute| attribute == name)
    }
}

/// Relative frequency of values per field, for term-frequency adjustment.
#[derive(Debug, Default)]
pub struct Frequencies {
    /// Indexed by value id (dense: every pair scored looks names up).
    pub family: Vec<f64>,
    pub given: Vec<f64>,
    pub attributes: Vec<FxHashMap<ValueId, f64>>,
}

/// A hash of everything a record says, its id left out: the canonical order of records.
fn content_hash(record: &ResolverRecord) -> u64 {
    let mut hasher = FxHasher::default();
    record.names.hash(&mut hasher);
    record
        .birth_date
        .map(|date| (date.year(), date.month(), date.day()))
        .hash(&mut hasher);
    record.sex.hash(&mut hasher);
    record.citizenship.hash(&mut hasher);
    record.strong_keys.hash(&mut hasher);
    record.document_validity.hash(&mut hasher);
    record.attributes.hash(&mut hasher);
    hasher.finish()
}

pub fn prepare(records: Vec<ResolverRecord>, config: &ResolverConfig) -> Prepared {
    let hashes = crate::parallel_map(&records, config.threads, content_hash);
    let mut order: Vec<(u64, u32)> = hashes
        .into_iter()
        .enumerate()
        .map(|(position, hash)| (hash, position as u32))
        .collect();
    // Equal hashes are (almost surely) equal content: any order among them is the same.
    crate::parallel_sort_by_key(&mut order, config.threads, |&(hash, _)| hash);
    let mut slots: Vec<Option<ResolverRecord>> = records.into_iter().map(Some).collect();
    let mut input_position = Vec::with_capacity(order.len());
    let mut caller_id = Vec::with_capacity(order.len());
    let mut ordered: Vec<ResolverRecord> = Vec::with_capacity(order.len());
    for &(_, position) in &order {
        let Some(record) = slots[position as usize].take() else {
            continue;
        };
        input_position.push(position);
        caller_id.push(record.id);
        ordered.push(record);
    }
    drop(slots);
    drop(order);
    let (prepared_records, mut interner) = prepare_in_runs(ordered, config);
    let phonetic = phonetic_ids(&prepared_records, &mut interner, config.threads);
    let frequencies = frequencies(&prepared_records, config);
    Prepared {
        records: prepared_records,
        input_position,
        caller_id,
        interner,
        phonetic,
        frequencies,
        attribute_names: config
            .attributes
            .iter()
            .map(|attribute| attribute.name.clone())
            .collect(),
    }
}

/// A run of records (consecutive in content order) prepared on its own thread, with ids of its
/// own interner.
struct PreparedRun {
    records: Vec<PreparedRecord>,
    interner: Interner,
    /// Every SNILS, INN and ESIA id of the records that hold more than one of a kind (which a
    /// source should not send): which one is kept is decided on the ids of the merged interner.
    repeated_keys: Vec<(usize, KeyKind, ValueId)>,
}

/// Prepares records in content order on up to `config.threads` threads, each run with its own
/// interner; the runs' interners are then merged in run order, so every string gets the id it
/// would get from one interner fed in content order, and the result is the same whatever the
/// thread count.
fn prepare_in_runs(
    mut ordered: Vec<ResolverRecord>,
    config: &ResolverConfig,
) -> (Vec<PreparedRecord>, Interner) {
    let threads = config.threads.max(1);
    let run_length = ordered.len().div_ceil(threads).max(4096);
    let mut runs: Vec<Vec<ResolverRecord>> = Vec::new();
    while ordered.len() > run_length {
        let tail = ordered.split_off(ordered.len() - run_length.min(ordered.len()));
        runs.push(tail);
    }
    runs.push(ordered);
    runs.reverse();
    let mut prepared_runs: Vec<PreparedRun> = std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .into_iter()
            .map(|run| scope.spawn(move || prepare_run(run, config)))
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(prepared) => prepared,
                // A panicking worker is a bug in the engine, not bad input: re-raise it.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    // The first run's ids are already global: its interner saw the first records.
    let mut interner = std::mem::take(&mut prepared_runs[0].interner);
    let global_ids: Vec<Vec<ValueId>> = prepared_runs
        .iter_mut()
        .enumerate()
        .map(|(index, run)| {
            if index == 0 {
                return Vec::new();
            }
            std::mem::take(&mut run.interner.strings)
                .into_iter()
                .enumerate()
                .map(|(local, text)| {
                    if local == 0 {
                        0
                    } else {
                        interner.intern_owned(text)
                    }
                })
                .collect()
        })
        .collect();
    std::thread::scope(|scope| {
        for (run, global_ids) in prepared_runs.iter_mut().zip(&global_ids) {
            scope.spawn(move || {
                if !global_ids.is_empty() {
                    for record in &mut run.records {
                        renumber(record, global_ids);
                    }
                }
                let mut kept: FxHashMap<(usize, KeyKind), ValueId> = FxHashMap::default();
                for &(index, kind, local) in &run.repeated_keys {
                    let id = global_ids.get(local as usize).copied().unwrap_or(local);
                    kept.entry((index, kind))
                        .and_modify(|held| *held = (*held).min(id))
                        .or_insert(id);
                }
                for ((index, kind), id) in kept {
                    let record = &mut run.records[index];
                    match kind {
                        KeyKind::Snils => record.snils = Some(id),
                        KeyKind::Inn => record.inn = Some(id),
                        KeyKind::Esia => record.esia = Some(id),
                        KeyKind::Passport | KeyKind::NationalId => {}
                    }
                }
            });
        }
    });
    let mut records = Vec::with_capacity(prepared_runs.iter().map(|run| run.records.len()).sum());
    for run in prepared_runs {
        records.extend(run.records);
    }
    (records, interner)
}

fn prepare_run(run: Vec<ResolverRecord>, config: &ResolverConfig) -> PreparedRun {
    let mut interner = Interner::new();
    // Folding is the costliest step of preparation; raw spellings repeat a lot.
    let mut folded_cache: FxHashMap<&str, Option<ValueId>> = FxHashMap::default();
    let mut repeated_keys = Vec::new();
    let records = run
        .iter()
        .enumerate()
        .map(|(index, record)| {
            prepare_one(
                record,
                config,
                &mut interner,
                &mut folded_cache,
                &mut |kind, id| repeated_keys.push((index, kind, id)),
            )
        })
        .collect();
    drop(folded_cache);
    // Freed here, on this thread, rather than one by one on the caller's.
    drop(run);
    PreparedRun {
        records,
        interner,
        repeated_keys,
    }
}

/// Local interner ids of a run's record to the merged interner's.
fn renumber(record: &mut PreparedRecord, global_ids: &[ValueId]) {
    let global = |id: ValueId| global_ids[id as usize];
    for name in &mut record.names {
        name.family = name.family.map(global);
        name.given = name.given.map(global);
        name.patronymic = name.patronymic.map(global);
    }
    // Spellings are kept sorted by id.
    record.names.sort_unstable();
    record.citizenship = record.citizenship.map(global);
    for document in &mut record.documents {
        document.country = global(document.country);
        document.number = global(document.number);
        document.key = global(document.key);
    }
    record.snils = record.snils.map(global);
    record.inn = record.inn.map(global);
    record.esia = record.esia.map(global);
    for attribute in &mut record.attributes {
        *attribute = attribute.map(global);
    }
}

fn fold_interned<'record>(
    part: Option<&'record String>,
    interner: &mut Interner,
    cache: &mut FxHashMap<&'record str, Option<ValueId>>,
) -> Option<ValueId> {
    let part = part?;
    if let Some(id) = cache.get(part.as_str()) {
        return *id;
    }
    let folded = fold_name(part);
    let id = (!folded.is_empty()).then(|| interner.intern(&folded));
    cache.insert(part.as_str(), id);
    id
}

fn prepare_one<'record>(
    record: &'record ResolverRecord,
    config: &ResolverConfig,
    interner: &mut Interner,
    cache: &mut FxHashMap<&'record str, Option<ValueId>>,
    repeated_key: &mut dyn FnMut(KeyKind, ValueId),
) -> PreparedRecord {
    let mut names: Vec<FoldedName> = record
        .names
        .iter()
        .map(|name| FoldedName {
            family: fold_interned(name.family.as_ref(), interner, cache),
            given: fold_interned(name.given.as_ref(), interner, cache),
            patronymic: fold_interned(name.patronymic.as_ref(), interner, cache),
        })
        .filter(|name| name.family.is_some() || name.given.is_some())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut documents = Vec::new();
    let (mut snils, mut inn, mut esia) = (None, None, None);
    for key in &record.strong_keys {
        match key.kind {
            KeyKind::Passport | KeyKind::NationalId => {
                let (country, number) = key.value.split_once(':').unwrap_or(("", &key.value));
                let validity = record
                    .document_validity
                    .iter()
                    .find(|validity| validity.key == *key);
                documents.push(PreparedDocument {
                    kind: key.kind,
                    country: interner.intern(country),
                    number: interner.intern(number),
                    key: interner.intern(&key.value),
                    issued_on: validity.and_then(|validity| validity.issued_on),
                    expires_on: validity.and_then(|validity| validity.expires_on),
                });
            }
            KeyKind::Snils => keep_smallest(&mut snils, interner.intern(&key.value)),
            KeyKind::Inn => keep_smallest(&mut inn, interner.intern(&key.value)),
            KeyKind::Esia => keep_smallest(&mut esia, interner.intern(&key.value)),
        }
    }
    for kind in [KeyKind::Snils, KeyKind::Inn, KeyKind::Esia] {
        let mut held = record.strong_keys.iter().filter(|key| key.kind == kind);
        if held.clone().nth(1).is_some() {
            for key in held.by_ref() {
                repeated_key(kind, interner.intern(&key.value));
            }
        }
    }
    let attributes = config
        .attributes
        .iter()
        .map(|attribute| {
            record
                .attributes
                .iter()
                .find(|(name, value)| name == &attribute.name && !value.trim().is_empty())
                .map(|(_, value)| interner.intern(value.trim()))
        })
        .collect();
    PreparedRecord {
        names,
        birth_date: record.birth_date,
        sex: record.sex,
        citizenship: record
            .citizenship
            .as_deref()
            .map(|country| interner.intern(country)),
        documents,
        snils,
        inn,
        esia,
        attributes,
    }
}

fn keep_smallest(slot: &mut Option<ValueId>, id: ValueId) {
    // Ids follow content order, so "smallest" is the same whatever the input order.
    *slot = Some(slot.map_or(id, |current| current.min(id)));
}

fn phonetic_ids(
    records: &[PreparedRecord],
    interner: &mut Interner,
    threads: usize,
) -> Vec<ValueId> {
    let mut phonetic = vec![0; interner.strings.len()];
    let mut seen = vec![false; interner.strings.len()];
    for record in records {
        for name in &record.names {
            for id in [name.family, name.given].into_iter().flatten() {
                seen[id as usize] = true;
            }
        }
    }
    // Keys are computed on all threads, then interned in id order as one thread would.
    let named: Vec<usize> = (0..seen.len()).filter(|&id| seen[id]).collect();
    let keys = crate::parallel_map(&named, threads, |&id| {
        format!("#{}", phonetic_key(&interner.strings[id]))
    });
    for (id, key) in named.into_iter().zip(keys) {
        phonetic[id] = interner.intern_owned(key);
    }
    phonetic
}

fn frequencies(records: &[PreparedRecord], config: &ResolverConfig) -> Frequencies {
    let mut family: FxHashMap<ValueId, f64> = FxHashMap::default();
    let mut given: FxHashMap<ValueId, f64> = FxHashMap::default();
    let mut attributes: Vec<FxHashMap<ValueId, f64>> =
        vec![FxHashMap::default(); config.attributes.len()];
    let (mut family_total, mut given_total) = (0.0, 0.0);
    let mut attribute_totals = vec![0.0; config.attributes.len()];
    let mut distinct: Vec<ValueId> = Vec::new();
    for record in records {
        for (field, total, pick) in [
            (
                &mut family,
                &mut family_total,
                (|name: &FoldedName| name.family) as fn(&FoldedName) -> Option<ValueId>,
            ),
            (&mut given, &mut given_total, |name: &FoldedName| name.given),
        ] {
            distinct.clear();
            distinct.extend(record.names.iter().filter_map(pick));
            distinct.sort_unstable();
            distinct.dedup();
            // A record with two spellings counts each by half: it is still one record.
            let share = 1.0 / distinct.len().max(1) as f64;
            for id in &distinct {
                *field.entry(*id).or_default() += share;
            }
            if !distinct.is_empty() {
                *total += 1.0;
            }
        }
        for (slot, value) in record.attributes.iter().enumerate() {
            if let Some(value) = value
                && config.attributes[slot].term_frequency
            {
                *attributes[slot].entry(*value).or_default() += 1.0;
                attribute_totals[slot] += 1.0;
            }
        }
    }
    normalise(&mut family, family_total);
    normalise(&mut given, given_total);
    for (map, total) in attributes.iter_mut().zip(attribute_totals) {
        normalise(map, total);
    }
    let dense = |counts: FxHashMap<ValueId, f64>| {
        let mut table = vec![0.0; counts.keys().max().map_or(0, |&id| id as usize + 1)];
        for (id, frequency) in counts {
            table[id as usize] = frequency;
        }
        table
    };
    Frequencies {
        family: dense(family),
        given: dense(given),
        attributes,
    }
}

fn normalise(counts: &mut FxHashMap<ValueId, f64>, total: f64) {
    if total > 0.0 {
        for count in counts.values_mut() {
            *count /= total;
        }
    }
}
