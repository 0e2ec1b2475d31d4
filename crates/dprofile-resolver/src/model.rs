//! The Fellegi-Sunter model: per field and level, m (the chance that records of one person
//! agree so) and u (the chance for two different persons). u comes from random pairs, m and
//! the share of matches among candidates from EM over candidate pairs (as Splink does), unless
//! configuration fixes them. A pair's match weight is the sum of per-field log2(m/u) terms plus
//! term-frequency adjustments; every term is kept for explanation.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::compare::{Field, NULL, Pattern, compare, level_of};
use crate::config::ResolverConfig;
use crate::prepare::{FoldedName, Prepared, PreparedRecord, ValueId};

/// The smallest probability a level keeps, so that no level weighs infinitely.
const PROBABILITY_FLOOR: f64 = 1e-7;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldModel {
    pub field: String,
    #[serde(skip)]
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    pub fields: Vec<FieldModel>,
    /// Share of true matches among candidate pairs, from EM.
    pub candidate_match_share: f64,
    /// Chance that two records drawn at random are one person: the expected matches among
    /// candidates over all pairs. Weights start from it (as in Splink), so a pair must bring
    /// evidence against the odds of the whole population, not of the blocked candidates.
    pub random_match_probability: f64,
    pub em_iterations_run: usize,
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

/// Estimates u from random pairs of records and m by EM over the candidate patterns.
pub fn fit(
    prepared: &Prepared,
    fields: &[Field],
    candidate_patterns: &[(Pattern, f64)],
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
    let fixed: Vec<Option<&crate::config::FixedProbabilities>> = model_fields
        .iter()
        .map(|field| {
            config
                .fixed_probabilities
                .iter()
                .find(|fixed| fixed.field == field.field)
        })
        .collect();
    for (field, fixed) in model_fields.iter_mut().zip(&fixed) {
        if let Some(fixed) = fixed
            && fixed.m.len() == field.levels.len()
            && fixed.u.len() == field.levels.len()
        {
            field.m = fixed.m.clone();
            field.u = fixed.u.clone();
        }
    }
    let mut match_share: f64 = 0.1;
    let mut iterations = 0;
    for _ in 0..config.em_iterations {
        iterations += 1;
        let mut expected_matches = 0.0;
        let mut total = 0.0;
        let mut level_mass: Vec<Vec<f64>> = model_fields
            .iter()
            .map(|field| vec![0.0; field.levels.len()])
            .collect();
        for &(pattern, count) in candidate_patterns {
            let mut log_ratio = (match_share / (1.0 - match_share)).log2();
            for (index, field) in model_fields.iter().enumerate() {
                log_ratio += field.level_weight(level_of(pattern, index));
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
        for ((field, mass), fixed) in model_fields.iter_mut().zip(&level_mass).zip(&fixed) {
            if fixed.is_some() {
                continue;
            }
            let observed: f64 = mass.iter().skip(1).sum();
            if observed <= 0.0 {
                continue;
            }
            for level in 1..field.m.len() {
                let updated = (mass[level] / observed).max(PROBABILITY_FLOOR);
                largest_change = largest_change.max((updated - field.m[level]).abs());
                field.m[level] = updated;
            }
        }
        if largest_change < 1e-5 {
            break;
        }
    }
    Model {
        fields: model_fields,
        candidate_match_share: match_share,
        random_match_probability: {
            let records = prepared.records.len() as f64;
            let all_pairs = (records * (records - 1.0) / 2.0).max(1.0);
            let candidates: f64 = candidate_patterns.iter().map(|(_, count)| count).sum();
            (match_share * candidates / all_pairs).clamp(1e-12, 0.5)
        },
        em_iterations_run: iterations,
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
                    for &(left, right) in slice {
                        let pattern = compare(
                            &prepared.records[left],
                            &prepared.records[right],
                            fields,
                            &prepared.interner,
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
            .filter_map(|handle| handle.join().ok())
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
        for level in 1..levels {
            field.u[level] = (totals[level] + 1.0) / (observed + levels as f64);
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
    let lookup = |table: &FxHashMap<ValueId, f64>, pick: fn(&FoldedName) -> Option<ValueId>| {
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
                let frequency = table.get(&left_value).copied().unwrap_or(0.0);
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
    pub fn prior_weight(&self) -> f64 {
        (self.random_match_probability / (1.0 - self.random_match_probability)).log2()
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
