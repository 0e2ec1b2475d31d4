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
use crate::model::TermFrequencies;
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
    /// Day the source recorded it, as days from the common era.
    pub observed_on: Option<i32>,
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
    /// Content hash of every record (what orders them).
    pub content_hash: Vec<u64>,
    pub interner: Interner,
    /// Phonetic key of every interned folded name (empty for other values).
    pub phonetic: Vec<ValueId>,
    /// [`stable_hash`] of every interned value.
    pub stable: Vec<u64>,
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
    record.observed_on.hash(&mut hasher);
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
    let mut prepared = Prepared::empty(config, order.len());
    for &(hash, position) in &order {
        prepared.input_position.push(position);
        prepared.caller_id.push(records[position as usize].id);
        prepared.content_hash.push(hash);
    }
    let (prepared_records, interner) = prepare_in_runs(records, &order, config);
    prepared.records = prepared_records;
    prepared.interner = interner;
    drop(order);
    prepared.complete_values(0);
    prepared.frequencies = frequencies(&prepared.records, config);
    prepared
}

impl Prepared {
    fn empty(config: &ResolverConfig, capacity: usize) -> Prepared {
        Prepared {
            records: Vec::with_capacity(capacity),
            input_position: Vec::with_capacity(capacity),
            caller_id: Vec::with_capacity(capacity),
            content_hash: Vec::with_capacity(capacity),
            interner: Interner::new(),
            phonetic: Vec::new(),
            stable: Vec::new(),
            frequencies: Frequencies::default(),
            attribute_names: config
                .attributes
                .iter()
                .map(|attribute| attribute.name.clone())
                .collect(),
        }
    }

    /// An empty population that records are added to one by one ([`Prepared::push`]), for
    /// exploring a neighbourhood; positions are then not in content order.
    pub fn growing(config: &ResolverConfig) -> Prepared {
        Prepared::empty(config, 0)
    }

    fn push_hashed(
        &mut self,
        record: &ResolverRecord,
        hash: u64,
        position: u32,
        config: &ResolverConfig,
        cache: &mut FxHashMap<String, Option<ValueId>>,
    ) {
        self.input_position.push(position);
        self.caller_id.push(record.id);
        self.content_hash.push(hash);
        let prepared = prepare_one(record, config, &mut self.interner, cache);
        self.records.push(prepared);
    }

    /// Adds records to a growing population and returns the index of the first one; their
    /// term frequencies come from `frequencies` (a frozen model's).
    pub fn push(
        &mut self,
        records: Vec<ResolverRecord>,
        config: &ResolverConfig,
        frequencies: &TermFrequencies,
    ) -> usize {
        let first = self.records.len();
        let mut cache = FxHashMap::default();
        for record in &records {
            let hash = content_hash(record);
            let position = self.records.len() as u32;
            self.push_hashed(record, hash, position, config, &mut cache);
        }
        drop(cache);
        self.complete_values(first);
        self.use_frequencies(frequencies);
        first
    }

    /// Phonetic keys of the names of `records[from..]` and stable hashes of every value
    /// interned since the last call.
    fn complete_values(&mut self, from: usize) {
        self.phonetic.resize(self.interner.strings.len(), 0);
        let mut names: Vec<ValueId> = Vec::new();
        for record in &self.records[from..] {
            for name in &record.names {
                names.extend([name.family, name.given].into_iter().flatten());
            }
        }
        names.sort_unstable();
        names.dedup();
        for id in names {
            if self.phonetic[id as usize] == 0 {
                let key = phonetic_key(&self.interner.strings[id as usize]);
                let phonetic = self.interner.intern(&format!("#{key}"));
                self.phonetic.resize(self.interner.strings.len(), 0);
                self.phonetic[id as usize] = phonetic;
            }
        }
        self.phonetic.resize(self.interner.strings.len(), 0);
        let known = self.stable.len();
        self.stable.extend(
            self.interner.strings[known..]
                .iter()
                .map(|text| stable_hash(text)),
        );
    }

    /// Replaces the population's own value frequencies with a frozen model's, so that a pair
    /// weighs the same whichever records are resolved together.
    pub fn use_frequencies(&mut self, frequencies: &TermFrequencies) {
        let values = self.interner.strings.len();
        let known = self
            .frequencies
            .family
            .len()
            .min(self.frequencies.given.len());
        self.frequencies.family.truncate(known);
        self.frequencies.given.truncate(known);
        for id in known..values {
            let text = &self.interner.strings[id];
            self.frequencies.family.push(
                frequencies
                    .family
                    .get(text)
                    .copied()
                    .unwrap_or(frequencies.unseen_family),
            );
            self.frequencies.given.push(
                frequencies
                    .given
                    .get(text)
                    .copied()
                    .unwrap_or(frequencies.unseen_given),
            );
        }
        let slots = self.attribute_names.len();
        self.frequencies
            .attributes
            .resize(slots, FxHashMap::default());
        for record in &self.records {
            for (slot, value) in record.attributes.iter().enumerate() {
                if let Some(value) = value {
                    let text = &self.interner.strings[*value as usize];
                    let frequency = frequencies
                        .attributes
                        .get(slot)
                        .and_then(|table| table.get(text).copied())
                        .or_else(|| frequencies.unseen_attributes.get(slot).copied())
                        .unwrap_or(0.0);
                    self.frequencies.attributes[slot].insert(*value, frequency);
                }
            }
        }
    }

    /// The order of members in an oversized block: the alphabetically first spelling
    /// (family, given), then the birth date, then the content hash. It reads only the
    /// record's own content, so a neighbourhood resolved alone orders a block as the whole
    /// population does.
    pub fn window_key(&self, index: u32) -> WindowKey<'_> {
        let record = &self.records[index as usize];
        let text = |id: Option<ValueId>| id.map_or("", |id| self.interner.text(id));
        let name = record
            .names
            .iter()
            .map(|name| (text(name.family), text(name.given)))
            .min()
            .unwrap_or(("", ""));
        (
            name.0,
            name.1,
            record
                .birth_date
                .map(|date| (date.year(), date.month(), date.day())),
            self.content_hash[index as usize],
        )
    }
}

/// See [`Prepared::window_key`].
pub type WindowKey<'a> = (
    &'a str,
    &'a str,
    Option<(i32, Option<u32>, Option<u32>)>,
    u64,
);

/// A hash of a value's text that does not depend on interning order: blocking keys are made
/// of these, so they are the same in every run and can be stored.
pub fn stable_hash(text: &str) -> u64 {
    let mut hasher = FxHasher::default();
    text.hash(&mut hasher);
    hasher.finish()
}

/// Prepares the records in content order (`order`) on up to `config.threads` threads: each
/// thread takes a run of consecutive records with an interner of its own, and the runs'
/// interners are then merged in run order. A string's id is its place in the order of first
/// sight, and a run's own order of first sight is that order for the strings new in it, so
/// every string gets the id one interner fed the records in content order gives: the result
/// does not depend on the thread count.
/// Fewer records than this are prepared on one thread.
const MINIMUM_RUN: usize = 1024;

fn prepare_in_runs(
    mut records: Vec<ResolverRecord>,
    order: &[(u64, u32)],
    config: &ResolverConfig,
) -> (Vec<PreparedRecord>, Interner) {
    let threads = config.threads.max(1);
    let run_length = order.len().div_ceil(threads).max(MINIMUM_RUN);
    let mut runs: Vec<(Vec<PreparedRecord>, Interner)> = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for run in order.chunks(run_length) {
            // Each run owns its records and frees each one once prepared, as one thread
            // going through them would: the input is not held twice.
            let owned: Vec<ResolverRecord> = run
                .iter()
                .map(|&(_, position)| std::mem::take(&mut records[position as usize]))
                .collect();
            handles.push(scope.spawn(move || {
                let mut interner = Interner::new();
                // Folding is the costliest step of preparation; raw spellings repeat a lot.
                let mut cache: FxHashMap<String, Option<ValueId>> = FxHashMap::default();
                let prepared = owned
                    .into_iter()
                    .map(|record| prepare_one(&record, config, &mut interner, &mut cache))
                    .collect::<Vec<_>>();
                (prepared, interner)
            }));
        }
        drop(records);
        handles.into_iter().map(join_worker).collect()
    });
    if runs.is_empty() {
        return (Vec::new(), Interner::new());
    }
    // The first run's ids are already the merged ones: its interner saw the first records.
    let mut interner = std::mem::take(&mut runs[0].1);
    let merged_ids: Vec<Vec<ValueId>> = runs
        .iter_mut()
        .skip(1)
        .map(|(_, local)| {
            let strings = std::mem::take(&mut local.strings);
            drop(std::mem::take(&mut local.ids));
            strings
                .into_iter()
                .enumerate()
                .map(|(id, text)| {
                    if id == 0 {
                        0
                    } else {
                        interner.intern_owned(text)
                    }
                })
                .collect()
        })
        .collect();
    std::thread::scope(|scope| {
        for ((run, _), merged) in runs.iter_mut().skip(1).zip(&merged_ids) {
            scope.spawn(move || {
                for record in run.iter_mut() {
                    renumber(record, merged);
                }
            });
        }
    });
    let mut prepared = Vec::with_capacity(order.len());
    for (run, _) in runs {
        prepared.extend(run);
    }
    (prepared, interner)
}

fn join_worker<Output>(handle: std::thread::ScopedJoinHandle<'_, Output>) -> Output {
    match handle.join() {
        Ok(output) => output,
        // A panicking worker is a bug in the engine, not bad input: re-raise it.
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A run's interner ids to the merged interner's.
fn renumber(record: &mut PreparedRecord, merged: &[ValueId]) {
    let merged = |id: ValueId| merged[id as usize];
    for name in &mut record.names {
        name.family = name.family.map(merged);
        name.given = name.given.map(merged);
        name.patronymic = name.patronymic.map(merged);
    }
    // Spellings are kept sorted by id (equal ids stay equal: they were deduplicated already).
    record.names.sort_unstable();
    record.citizenship = record.citizenship.map(merged);
    for document in &mut record.documents {
        document.country = merged(document.country);
        document.number = merged(document.number);
        document.key = merged(document.key);
    }
    record.snils = record.snils.map(merged);
    record.inn = record.inn.map(merged);
    record.esia = record.esia.map(merged);
    for attribute in &mut record.attributes {
        *attribute = attribute.map(merged);
    }
}

fn fold_interned(
    part: Option<&String>,
    interner: &mut Interner,
    cache: &mut FxHashMap<String, Option<ValueId>>,
) -> Option<ValueId> {
    let part = part?;
    if let Some(id) = cache.get(part.as_str()) {
        return *id;
    }
    let folded = fold_name(part);
    let id = (!folded.is_empty()).then(|| interner.intern(&folded));
    cache.insert(part.clone(), id);
    id
}

fn prepare_one(
    record: &ResolverRecord,
    config: &ResolverConfig,
    interner: &mut Interner,
    cache: &mut FxHashMap<String, Option<ValueId>>,
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
            KeyKind::Snils => keep_smallest(&mut snils, &key.value, interner),
            KeyKind::Inn => keep_smallest(&mut inn, &key.value, interner),
            KeyKind::Esia => keep_smallest(&mut esia, &key.value, interner),
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
        observed_on: record
            .observed_on
            .map(|day| chrono::Datelike::num_days_from_ce(&day)),
    }
}

fn keep_smallest(slot: &mut Option<ValueId>, value: &str, interner: &mut Interner) {
    // Smallest by text, not by id: ids follow the order values were first seen, which
    // differs between the whole population and a neighbourhood of it.
    match slot {
        Some(current) if interner.text(*current) <= value => {}
        _ => *slot = Some(interner.intern(value)),
    }
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

#[cfg(test)]
pub(crate) mod tests {
    use dprofile_domain::linking::{KeyKind, StrongKey};
    use dprofile_domain::values::PartialDate;

    use super::*;
    use crate::record::NameVariant;

    /// Records whose strings are first seen all along the content order, with repeats, two
    /// scripts, and some records holding two SNILS (the smallest is kept by text).
    pub(crate) fn records(count: usize) -> Vec<ResolverRecord> {
        let families = [
            "Иванов",
            "IVANOV",
            "Petrova",
            "Абдуллаев",
            "ABDULLAYEV",
            "Ким",
        ];
        let givens = ["Ivan", "Мария", "Rustam", "Рустам", "Olga"];
        (0..count)
            .map(|index| {
                let mut strong_keys = vec![StrongKey::new(
                    KeyKind::Passport,
                    format!("UZB:AA{:07}", index * 7 % 5003),
                )];
                if index % 13 == 0 {
                    strong_keys.push(StrongKey::new(
                        KeyKind::Snils,
                        format!("{:011}", 90_000_000_000u64 - index as u64),
                    ));
                    strong_keys.push(StrongKey::new(
                        KeyKind::Snils,
                        format!("{:011}", 10_000_000_000u64 + index as u64),
                    ));
                }
                ResolverRecord {
                    id: index as u32,
                    names: vec![
                        NameVariant {
                            family: Some(families[index % families.len()].to_owned()),
                            given: Some(givens[index % givens.len()].to_owned()),
                            patronymic: None,
                        },
                        NameVariant {
                            family: Some(format!("Family{}", index % 1700)),
                            given: Some(givens[(index / 3) % givens.len()].to_owned()),
                            patronymic: Some(format!("Otchestvo{}", index % 311)),
                        },
                    ],
                    birth_date: PartialDate::parse(&format!(
                        "{}-{:02}-{:02}",
                        1950 + index % 50,
                        1 + index % 12,
                        1 + index % 28
                    ))
                    .ok(),
                    sex: None,
                    citizenship: Some(["UZB", "TJK", "KGZ"][index % 3].to_owned()),
                    strong_keys,
                    document_validity: Vec::new(),
                    observed_on: None,
                    attributes: Vec::new(),
                }
            })
            .collect()
    }

    #[test]
    fn preparation_in_runs_gives_the_ids_of_one_thread() {
        let records = records(5 * MINIMUM_RUN + 17);
        let on = |threads: usize| {
            prepare(
                records.clone(),
                &ResolverConfig {
                    threads,
                    ..ResolverConfig::for_person_records()
                },
            )
        };
        let single = on(1);
        for threads in [2, 3, 5] {
            let runs = on(threads);
            assert_eq!(runs.interner.strings, single.interner.strings, "{threads}");
            assert_eq!(
                format!("{:?}", runs.records),
                format!("{:?}", single.records),
                "{threads} threads"
            );
            assert_eq!(runs.input_position, single.input_position);
            assert_eq!(runs.phonetic, single.phonetic);
            assert_eq!(runs.stable, single.stable);
        }
        // Every record was prepared, in content order.
        assert_eq!(single.records.len(), records.len());
        assert!(single.content_hash.is_sorted());
    }
}
