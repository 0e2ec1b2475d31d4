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
    let mut slots: Vec<Option<ResolverRecord>> = records.into_iter().map(Some).collect();
    let mut interner = Interner::new();
    // Folding is the costliest step of preparation; raw spellings repeat a lot.
    let mut folded_cache: FxHashMap<String, Option<ValueId>> = FxHashMap::default();
    let mut prepared_records = Vec::with_capacity(order.len());
    let mut input_position = Vec::with_capacity(order.len());
    let mut caller_id = Vec::with_capacity(order.len());
    for &(_, position) in &order {
        let Some(record) = slots[position as usize].take() else {
            continue;
        };
        input_position.push(position);
        caller_id.push(record.id);
        prepared_records.push(prepare_one(
            record,
            config,
            &mut interner,
            &mut folded_cache,
        ));
    }
    drop(folded_cache);
    let phonetic = phonetic_ids(&prepared_records, &mut interner);
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
    record: ResolverRecord,
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
            KeyKind::Snils => keep_smallest(&mut snils, interner.intern(&key.value)),
            KeyKind::Inn => keep_smallest(&mut inn, interner.intern(&key.value)),
            KeyKind::Esia => keep_smallest(&mut esia, interner.intern(&key.value)),
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

fn keep_smallest(slot: &mut Option<ValueId>, id: ValueId) {
    // Ids follow content order, so "smallest" is the same whatever the input order.
    *slot = Some(slot.map_or(id, |current| current.min(id)));
}

fn phonetic_ids(records: &[PreparedRecord], interner: &mut Interner) -> Vec<ValueId> {
    let mut phonetic = vec![0; interner.strings.len()];
    let mut seen = vec![false; interner.strings.len()];
    for record in records {
        for name in &record.names {
            for id in [name.family, name.given].into_iter().flatten() {
                seen[id as usize] = true;
            }
        }
    }
    for id in 0..seen.len() {
        if seen[id] {
            let key = phonetic_key(&interner.strings[id]);
            phonetic[id] = interner.intern(&format!("#{key}"));
        }
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
