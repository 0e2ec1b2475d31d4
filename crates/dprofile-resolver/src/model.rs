//! The Fellegi-Sunter model: per field and level, m (the chance that records of one person
//! agree so) and u (the chance for two different persons). u comes from random pairs, m and
//! the share of matches among candidates from EM over candidate pairs (as Splink does), unless
//! configuration fixes them. A pair's match weight is the sum of per-field log2(m/u) terms plus
//! term-frequency adjustments; every term is kept for explanation.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::compare::{AgreementCache, Field, NULL, Pattern, compare_cached, level_of};
use crate::config::ResolverConfig;
use crate::prepare::{FoldedName, Prepared, PreparedRecord, ValueId};

/// The smallest probability a level keeps, so that no level weighs infinitely.
const PROBABILITY_FLOOR: f64 = 1e-7;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldModel {
    pub field: String,
    /// Set from the configuration when a saved model is loaded ([`Model::bind`]).
    #[serde(skip, default = "placeholder_field")]
    pub kind: Field,
    pub levels: Vec<String>,
    pub m: Vec<f64>,
    pub u: Vec<f64>,
    pub term_frequency: bool,
}

impl FieldModel {
    pub fn level_weight(&self, level: u8) -> f64 {
        if level == NULL {
            return 0.0;
        }
        let level = level as usize;
        (self.m[level].max(PROBABILITY_FLOOR) / self.u[level].max(PROBABILITY_FLOOR)).log2()
    }
}

fn placeholder_field() -> Field {
    Field::Family
}

/// Relative frequencies of folded values, by text, as the model was fitted: a frozen model
/// weighs a shared rare name the same whichever records are resolved with it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TermFrequencies {
    pub family: BTreeMap<String, f64>,
    pub given: BTreeMap<String, f64>,
    /// One table per configured attribute, in configuration order.
    pub attributes: Vec<BTreeMap<String, f64>>,
    /// The frequency of a value the fitted data never held: as if seen once.
    pub unseen_family: f64,
    pub unseen_given: f64,
    pub unseen_attributes: Vec<f64>,
}

/// Why a saved model cannot be used with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("the model has {model} fields but the configuration compares {config}")]
    FieldCount { model: usize, config: usize },
    #[error("field {index} of the model is `{model}` but the configuration has `{config}` there")]
    FieldMismatch {
        index: usize,
        model: String,
        config: String,
    },
    #[error("field `{field}` of the model has {model} levels, the configuration {config}")]
    LevelMismatch {
        field: String,
        model: usize,
        config: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub fields: Vec<FieldModel>,
    /// Share of true matches among candidate pairs, from EM.
    pub candidate_match_share: f64,
    /// Chance that two records drawn at random are one person: the expected matches among
    /// candidates over all pairs. Weights start from it (as in Splink), so a pair must bring
    /// evidence against the odds of the whole population, not of the blocked candidates.
    pub random_match_probability: f64,
    pub em_iterations_run: usize,
    /// Value frequencies for term-frequency adjustment, as fitted.
    #[serde(default)]
    pub term_frequencies: TermFrequencies,
}

/// One field's part of a pair's weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldContribution {
    pub field: String,
    pub level: String,
    pub m: f64,
    pub u: f64,
    /// log2(m/u), plus the term-frequency adjustment.
    pub weight: f64,
    pub term_frequency_adjustment: f64,
}

/// Why a pair scored as it did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub prior_weight: f64,
    pub contributions: Vec<FieldContribution>,
    pub match_weight: f64,
    pub match_probability: f64,
}

/// A deterministic pseudo-random generator (splitmix64): enough to draw pairs.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// Initial m for EM: most matches agree exactly, fewer on each weaker level.
fn initial_m(levels: usize) -> Vec<f64> {
    let mut m = vec![0.0; levels];
    let mut remaining = 1.0;
    for slot in m.iter_mut().skip(1) {
        *slot = remaining * 0.8;
        remaining -= *slot;
    }
    if let Some(last) = m.last_mut() {
        *last += remaining;
    }
    m
}

/// Counts of each distinct comparison pattern, in pattern order.
pub fn pattern_counts(patterns: &[Pattern]) -> Vec<(Pattern, f64)> {
    let mut counts: FxHashMap<Pattern, f64> = FxHashMap::default();
    for pattern in patterns {
        *counts.entry(*pattern).or_default() += 1.0;
    }
    let mut sorted: Vec<(Pattern, f64)> = counts.into_iter().collect();
    sorted.sort_unstable_by_key(|&(pattern, _)| pattern);
    sorted
}

/// The candidate pairs that one blocking rule proposed first, as pattern counts, and the
/// fields that rule blocks on: those always agree within it, so they say nothing about m there.
#[derive(Debug, Clone)]
pub struct TrainingSession {
    pub trains: bool,
    pub blocked_fields: Vec<bool>,
    pub patterns: Vec<(Pattern, f64)>,
}

/// The fields a blocking rule makes agree (and so cannot train).
pub fn blocked_fields(
    rule: &crate::config::BlockingRule,
    fields: &[Field],
    prepared: &Prepared,
) -> Vec<bool> {
    use crate::config::BlockingPart;
    let mut blocked = vec![false; fields.len()];
    for part in &rule.parts {
        for (index, field) in fields.iter().enumerate() {
            let hit = match (part, field) {
                (BlockingPart::FamilyPhonetic | BlockingPart::FamilyFolded, Field::Family) => true,
                (BlockingPart::GivenPhonetic | BlockingPart::GivenFolded, Field::Given) => true,
                (BlockingPart::NamePairPhonetic, Field::Family | Field::Given) => true,
                (
                    BlockingPart::BirthYear | BlockingPart::BirthDate | BlockingPart::BirthMonthDay,
                    Field::BirthDate,
                ) => true,
                (
                    BlockingPart::StrongKey,
                    Field::Document | Field::Snils | Field::Inn | Field::Esia,
                ) => true,
                (BlockingPart::Attribute(name), Field::Attribute(slot, _)) => {
                    prepared.attribute_slot(name) == Some(*slot)
                }
                _ => false,
            };
            if hit {
                blocked[index] = true;
            }
        }
    }
    blocked
}

/// One EM run over one session: m of the unblocked fields and the session's match share.
fn expectation_maximisation(
    model_fields: &[FieldModel],
    fixed: &[bool],
    session: &TrainingSession,
    iterations: usize,
) -> (Vec<Vec<f64>>, f64, usize) {
    let mut m: Vec<Vec<f64>> = model_fields.iter().map(|field| field.m.clone()).collect();
    let mut match_share: f64 = 0.3;
    let mut run = 0;
    for _ in 0..iterations {
        run += 1;
        let mut expected_matches = 0.0;
        let mut total = 0.0;
        let mut level_mass: Vec<Vec<f64>> =
            m.iter().map(|levels| vec![0.0; levels.len()]).collect();
        for &(pattern, count) in &session.patterns {
            let mut log_ratio = (match_share / (1.0 - match_share)).log2();
            for (index, field) in model_fields.iter().enumerate() {
                let level = level_of(pattern, index);
                if session.blocked_fields[index] || level == NULL {
                    continue;
                }
                let level = level as usize;
                log_ratio += (m[index][level].max(PROBABILITY_FLOOR)
                    / field.u[level].max(PROBABILITY_FLOOR))
                .log2();
            }
            let probability = 1.0 / (1.0 + (-log_ratio).exp2());
            expected_matches += probability * count;
            total += count;
            for (index, mass) in level_mass.iter_mut().enumerate() {
                mass[level_of(pattern, index) as usize] += probability * count;
            }
        }
        if total == 0.0 {
            break;
        }
        let previous_share = match_share;
        match_share = (expected_matches / total).clamp(1e-6, 1.0 - 1e-6);
        let mut largest_change: f64 = (match_share - previous_share).abs();
        for (index, mass) in level_mass.iter().enumerate() {
            if fixed[index] || session.blocked_fields[index] {
                continue;
            }
            let observed: f64 = mass.iter().skip(1).sum();
            if observed <= 0.0 {
                continue;
            }
            for level in 1..m[index].len() {
                let updated = (mass[level] / observed).max(PROBABILITY_FLOOR);
                largest_change = largest_change.max((updated - m[index][level]).abs());
                m[index][level] = updated;
            }
        }
        if largest_change < 1e-5 {
            break;
        }
    }
    (m, match_share, run)
}

/// Estimates u from random pairs of records and m by EM over the candidate pairs, one session
/// per blocking rule (as Splink trains), m averaged over the sessions that could see a field,
/// weighted by each session's expected matches.
pub fn fit(
    prepared: &Prepared,
    fields: &[Field],
    sessions: &[TrainingSession],
    all_patterns: &[(Pattern, f64)],
    config: &ResolverConfig,
) -> Model {
    let mut model_fields: Vec<FieldModel> = fields
        .iter()
        .map(|field| {
            let levels = field.levels();
            FieldModel {
                field: field.name(config),
                kind: *field,
                levels: levels.iter().map(|level| (*level).to_owned()).collect(),
                m: initial_m(levels.len()),
                u: vec![0.0; levels.len()],
                term_frequency: match field {
                    Field::Family | Field::Given => true,
                    Field::Attribute(slot, _) => config.attributes[*slot].term_frequency,
                    _ => false,
                },
            }
        })
        .collect();
    estimate_u(prepared, fields, &mut model_fields, config);
    let mut fixed = vec![false; model_fields.len()];
    for (index, field) in model_fields.iter_mut().enumerate() {
        if let Some(given) = config
            .fixed_probabilities
            .iter()
            .find(|given| given.field == field.field)
            && given.m.len() == field.levels.len()
            && given.u.len() == field.levels.len()
        {
            field.m = given.m.clone();
            field.u = given.u.clone();
            fixed[index] = true;
        }
    }
    let mut sums: Vec<Vec<f64>> = model_fields
        .iter()
        .map(|field| vec![0.0; field.m.len()])
        .collect();
    let mut weights = vec![0.0; model_fields.len()];
    let mut expected_matches = 0.0;
    let mut candidates = 0.0;
    let mut iterations = 0;
    for session in sessions {
        let pairs: f64 = session.patterns.iter().map(|(_, count)| count).sum();
        if pairs == 0.0 || !session.trains {
            continue;
        }
        let (m, share, run) =
            expectation_maximisation(&model_fields, &fixed, session, config.em_iterations);
        iterations = iterations.max(run);
        expected_matches += share * pairs;
        candidates += pairs;
        for (index, levels) in m.iter().enumerate() {
            if session.blocked_fields[index] {
                continue;
            }
            // A plain mean over sessions, as Splink takes: the largest session is usually the
            // loosest, where dependence between fields misleads EM most.
            for (level, value) in levels.iter().enumerate() {
                sums[index][level] += value;
            }
            weights[index] += 1.0;
        }
    }
    for (index, field) in model_fields.iter_mut().enumerate() {
        if !fixed[index] && weights[index] > 0.0 {
            for (m, sum) in field.m.iter_mut().zip(&sums[index]).skip(1) {
                *m = (sum / weights[index]).max(PROBABILITY_FLOOR);
            }
        }
    }
    // The sessions overlap, so their match shares do not add up: the share among all
    // candidates is re-estimated with the final m and u.
    let mut match_share: f64 = if candidates > 0.0 {
        (expected_matches / candidates).clamp(1e-6, 1.0 - 1e-6)
    } else {
        0.5
    };
    let total: f64 = all_patterns.iter().map(|(_, count)| count).sum();
    for _ in 0..config.em_iterations {
        if total == 0.0 {
            break;
        }
        let prior = (match_share / (1.0 - match_share)).log2();
        let expected: f64 = all_patterns
            .iter()
            .map(|&(pattern, count)| {
                let log_ratio = prior
                    + model_fields
                        .iter()
                        .enumerate()
                        .map(|(index, field)| field.level_weight(level_of(pattern, index)))
                        .sum::<f64>();
                count / (1.0 + (-log_ratio).exp2())
            })
            .sum();
        let updated = (expected / total).clamp(1e-6, 1.0 - 1e-6);
        let change = (updated - match_share).abs();
        match_share = updated;
        if change < 1e-6 {
            break;
        }
    }
    let records = prepared.records.len() as f64;
    let all_pairs = (records * (records - 1.0) / 2.0).max(1.0);
    Model {
        fields: model_fields,
        candidate_match_share: match_share,
        random_match_probability: (match_share * total / all_pairs).clamp(1e-12, 0.5),
        em_iterations_run: iterations,
        term_frequencies: term_frequencies_of(prepared),
    }
}

/// The prepared population's value frequencies keyed by text, so that they outlive its
/// interner.
fn term_frequencies_of(prepared: &Prepared) -> TermFrequencies {
    let by_text = |table: &[f64]| -> BTreeMap<String, f64> {
        table
            .iter()
            .enumerate()
            .filter(|(_, frequency)| **frequency > 0.0)
            .map(|(id, frequency)| (prepared.interner.text(id as ValueId).to_owned(), *frequency))
            .collect()
    };
    let attributes: Vec<BTreeMap<String, f64>> = prepared
        .frequencies
        .attributes
        .iter()
        .map(|table| {
            table
                .iter()
                .map(|(id, frequency)| (prepared.interner.text(*id).to_owned(), *frequency))
                .collect()
        })
        .collect();
    // The smallest frequency seen is one record's share: what an unseen value would have.
    let smallest = |values: &mut dyn Iterator<Item = f64>| values.fold(1.0_f64, f64::min);
    TermFrequencies {
        unseen_family: smallest(
            &mut prepared
                .frequencies
                .family
                .iter()
                .copied()
                .filter(|f| *f > 0.0),
        ),
        unseen_given: smallest(
            &mut prepared
                .frequencies
                .given
                .iter()
                .copied()
                .filter(|f| *f > 0.0),
        ),
        unseen_attributes: prepared
            .frequencies
            .attributes
            .iter()
            .map(|table| smallest(&mut table.values().copied()))
            .collect(),
        family: by_text(&prepared.frequencies.family),
        given: by_text(&prepared.frequencies.given),
        attributes,
    }
}

fn estimate_u(
    prepared: &Prepared,
    fields: &[Field],
    model_fields: &mut [FieldModel],
    config: &ResolverConfig,
) {
    let records = prepared.records.len();
    if records < 2 {
        for field in model_fields.iter_mut() {
            field.u = vec![1.0 / field.levels.len() as f64; field.levels.len()];
        }
        return;
    }
    let mut random = SplitMix(config.seed);
    let draws = config.u_sample_pairs.max(1);
    let pairs: Vec<(usize, usize)> = (0..draws)
        .filter_map(|_| {
            let left = random.below(records);
            let right = random.below(records);
            (left != right).then_some((left, right))
        })
        .collect();
    let threads = config.threads.max(1);
    let chunk = pairs.len().div_ceil(threads).max(1);
    let counts: Vec<Vec<Vec<f64>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = pairs
            .chunks(chunk)
            .map(|slice| {
                scope.spawn(move || {
                    let mut counts: Vec<Vec<f64>> = fields
                        .iter()
                        .map(|field| vec![0.0; field.levels().len()])
                        .collect();
                    // Common names meet often even among random pairs.
                    let mut cache = AgreementCache::new();
                    for &(left, right) in slice {
                        let pattern = compare_cached(
                            &prepared.records[left],
                            &prepared.records[right],
                            fields,
                            &prepared.interner,
                            crate::compare::CompareOptions::of(config),
                            &mut cache,
                        );
                        for (index, field_counts) in counts.iter_mut().enumerate() {
                            field_counts[level_of(pattern, index) as usize] += 1.0;
                        }
                    }
                    counts
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(counts) => counts,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    for (index, field) in model_fields.iter_mut().enumerate() {
        let levels = field.levels.len();
        let mut totals = vec![0.0; levels];
        for part in &counts {
            for (level, count) in part[index].iter().enumerate() {
                totals[level] += count;
            }
        }
        let observed: f64 = totals.iter().skip(1).sum();
        // Add-one smoothing: a level never seen among random pairs (a shared passport) gets
        // the chance of one in the sample, not zero.
        for (u, total) in field.u.iter_mut().zip(&totals).skip(1) {
            *u = (total + 1.0) / (observed + levels as f64);
        }
    }
}

/// Relative frequency of the most common value both records share in a term-frequency field;
/// the most common rather than the rarest so that a shared common spelling is not outweighed.
fn shared_value_frequency(
    field: Field,
    left: &PreparedRecord,
    right: &PreparedRecord,
    prepared: &Prepared,
) -> Option<f64> {
    let lookup = |table: &[f64], pick: fn(&FoldedName) -> Option<ValueId>| {
        let mut best: Option<f64> = None;
        for left_name in &left.names {
            let Some(left_value) = pick(left_name) else {
                continue;
            };
            if right
                .names
                .iter()
                .any(|name| pick(name) == Some(left_value))
            {
                let frequency = table.get(left_value as usize).copied().unwrap_or(0.0);
                best = Some(best.map_or(frequency, |best: f64| best.max(frequency)));
            }
        }
        best
    };
    match field {
        Field::Family => lookup(&prepared.frequencies.family, |name| name.family),
        Field::Given => lookup(&prepared.frequencies.given, |name| name.given),
        Field::Attribute(slot, _) => {
            let value = left.attributes[slot]?;
            (right.attributes[slot] == Some(value)).then(|| {
                prepared.frequencies.attributes[slot]
                    .get(&value)
                    .copied()
                    .unwrap_or(0.0)
            })
        }
        _ => None,
    }
}

/// Marks a record with several spellings in [`single_names`]: its names are read in full.
const SEVERAL_NAMES: ValueId = ValueId::MAX;

/// Every record's folded (family, given) ids when it has at most one spelling (0 for a part
/// it lacks), [`SEVERAL_NAMES`] otherwise: 8 bytes a record, so that weighing millions of
/// pairs reads this small table instead of two records and their name lists (cache misses
/// that were an eighth of the synthetic million's CPU time).
pub(crate) fn single_names(prepared: &Prepared) -> Vec<[ValueId; 2]> {
    prepared
        .records
        .iter()
        .map(|record| match record.names.as_slice() {
            [] => [0, 0],
            [name] => [name.family.unwrap_or(0), name.given.unwrap_or(0)],
            _ => [SEVERAL_NAMES, SEVERAL_NAMES],
        })
        .collect()
}

/// The term-frequency adjustment of an exact agreement: log2(u / frequency of the value).
fn term_frequency_adjustment(
    field_model: &FieldModel,
    level: u8,
    left: &PreparedRecord,
    right: &PreparedRecord,
    prepared: &Prepared,
    minimum: f64,
) -> f64 {
    if !field_model.term_frequency || level != 1 {
        return 0.0;
    }
    match shared_value_frequency(field_model.kind, left, right, prepared) {
        Some(frequency) => {
            (field_model.u[1].max(PROBABILITY_FLOOR) / frequency.max(minimum)).log2()
        }
        None => 0.0,
    }
}

impl Model {
    /// Checks a loaded model against the configuration's fields and restores what is not
    /// saved (each field's comparison kind).
    pub fn bind(&mut self, config: &ResolverConfig) -> Result<(), ModelError> {
        let fields = crate::compare::fields(config);
        if fields.len() != self.fields.len() {
            return Err(ModelError::FieldCount {
                model: self.fields.len(),
                config: fields.len(),
            });
        }
        for (index, (field, model)) in fields.iter().zip(&mut self.fields).enumerate() {
            let name = field.name(config);
            if name != model.field {
                return Err(ModelError::FieldMismatch {
                    index,
                    model: model.field.clone(),
                    config: name,
                });
            }
            let levels = field.levels().len();
            if model.m.len() != levels || model.u.len() != levels || model.levels.len() != levels {
                return Err(ModelError::LevelMismatch {
                    field: name,
                    model: model.m.len(),
                    config: levels,
                });
            }
            model.kind = *field;
        }
        Ok(())
    }

    pub fn prior_weight(&self) -> f64 {
        (self.random_match_probability / (1.0 - self.random_match_probability)).log2()
    }

    /// The weight of a pattern before term-frequency adjustment: the prior plus every
    /// field's log2(m/u). It depends on the pattern alone, so callers compute it once per
    /// distinct pattern.
    pub fn pattern_weight(&self, pattern: Pattern) -> f64 {
        let mut weight = self.prior_weight();
        for (index, field) in self.fields.iter().enumerate() {
            weight += field.level_weight(level_of(pattern, index));
        }
        weight
    }

    /// Whether a pattern's weight depends on the records' values: some term-frequency field
    /// agrees exactly.
    pub fn needs_term_frequency(&self, pattern: Pattern) -> bool {
        self.fields
            .iter()
            .enumerate()
            .any(|(index, field)| field.term_frequency && level_of(pattern, index) == 1)
    }

    /// The largest bonus term-frequency adjustment can add to any pattern: every exact
    /// agreement on the rarest possible value.
    pub fn largest_term_frequency_bonus(&self, config: &ResolverConfig) -> f64 {
        self.fields
            .iter()
            .filter(|field| field.term_frequency)
            .map(|field| {
                (field.u[1].max(PROBABILITY_FLOOR) / config.term_frequency_minimum)
                    .log2()
                    .max(0.0)
            })
            .sum()
    }

    /// The term-frequency part of a compared pair's weight.
    pub fn term_frequency_weight(
        &self,
        pattern: Pattern,
        left: &PreparedRecord,
        right: &PreparedRecord,
        prepared: &Prepared,
        config: &ResolverConfig,
    ) -> f64 {
        let mut weight = 0.0;
        for (index, field) in self.fields.iter().enumerate() {
            weight += term_frequency_adjustment(
                field,
                level_of(pattern, index),
                left,
                right,
                prepared,
                config.term_frequency_minimum,
            );
        }
        weight
    }

    /// [`Model::term_frequency_weight`] of records `left` and `right`, reading names from
    /// `single_names` (see [`single_names`]; empty: from the records) where it can.
    pub(crate) fn term_frequency_weight_of(
        &self,
        pattern: Pattern,
        (left, right): (u32, u32),
        prepared: &Prepared,
        config: &ResolverConfig,
        single_names: &[[ValueId; 2]],
    ) -> f64 {
        let (left_record, right_record) = (
            &prepared.records[left as usize],
            &prepared.records[right as usize],
        );
        let names = single_names
            .get(left as usize)
            .zip(single_names.get(right as usize))
            .filter(|(left, right)| left[0] != SEVERAL_NAMES && right[0] != SEVERAL_NAMES);
        let mut weight = 0.0;
        for (index, field) in self.fields.iter().enumerate() {
            if !field.term_frequency || level_of(pattern, index) != 1 {
                weight += 0.0;
                continue;
            }
            let frequency = match (field.kind, names) {
                (Field::Family | Field::Given, Some((left_names, right_names))) => {
                    let (slot, table) = if field.kind == Field::Family {
                        (0, &prepared.frequencies.family)
                    } else {
                        (1, &prepared.frequencies.given)
                    };
                    let value = left_names[slot];
                    (value != 0 && value == right_names[slot])
                        .then(|| table.get(value as usize).copied().unwrap_or(0.0))
                }
                _ => shared_value_frequency(field.kind, left_record, right_record, prepared),
            };
            weight += match frequency {
                Some(frequency) => (field.u[1].max(PROBABILITY_FLOOR)
                    / frequency.max(config.term_frequency_minimum))
                .log2(),
                None => 0.0,
            };
        }
        weight
    }

    /// The match weight of a compared pair.
    pub fn weight(
        &self,
        pattern: Pattern,
        left: &PreparedRecord,
        right: &PreparedRecord,
        prepared: &Prepared,
        config: &ResolverConfig,
    ) -> f64 {
        let mut weight = self.prior_weight();
        for (index, field) in self.fields.iter().enumerate() {
            let level = level_of(pattern, index);
            weight += field.level_weight(level);
            weight += term_frequency_adjustment(
                field,
                level,
                left,
                right,
                prepared,
                config.term_frequency_minimum,
            );
        }
        weight
    }

    pub fn explain(
        &self,
        pattern: Pattern,
        left: &PreparedRecord,
        right: &PreparedRecord,
        prepared: &Prepared,
        config: &ResolverConfig,
    ) -> Explanation {
        let prior_weight = self.prior_weight();
        let mut match_weight = prior_weight;
        let mut contributions = Vec::new();
        for (index, field) in self.fields.iter().enumerate() {
            let level = level_of(pattern, index);
            if level == NULL {
                continue;
            }
            let adjustment = term_frequency_adjustment(
                field,
                level,
                left,
                right,
                prepared,
                config.term_frequency_minimum,
            );
            let weight = field.level_weight(level) + adjustment;
            match_weight += weight;
            contributions.push(FieldContribution {
                field: field.field.clone(),
                level: field.levels[level as usize].clone(),
                m: field.m[level as usize],
                u: field.u[level as usize],
                weight,
                term_frequency_adjustment: adjustment,
            });
        }
        Explanation {
            prior_weight,
            contributions,
            match_weight,
            match_probability: crate::config::weight_to_probability(match_weight),
        }
    }
}
