//! Probabilistic identity resolution, pure and deterministic: which records are about one
//! person. Blocking proposes candidate pairs, a Fellegi-Sunter model (u from random pairs, m by
//! EM) scores them with per-field explanations, and clustering links the strong pairs while
//! refusing merges that identifiers contradict. Pairs between thresholds go to human review.
//!
//! The result is a function of the records' content and the configuration only: records are
//! put in content order first, so input order and caller ids never change the partition.
//! No I/O, no clock, no globals.

pub mod blocking;
pub mod cluster;
pub mod compare;
pub mod config;
pub mod evaluate;
pub mod incremental;
pub mod model;
pub mod names;
pub mod prepare;
pub mod record;

use rustc_hash::FxHashMap;
use serde::Serialize;

pub use crate::cluster::{Constraints, ReviewReason};
pub use crate::config::{
    AttributeComparison, AttributeConfig, BlockingPart, BlockingRule, FixedProbabilities,
    NameMetric, ResolverConfig,
};
pub use crate::evaluate::{PairwiseQuality, pairwise_quality};
pub use crate::model::{Explanation, FieldContribution, Model, ModelError, TermFrequencies};
pub use crate::record::{DocumentValidity, NameVariant, ResolverRecord, observed_day};

use crate::blocking::unpack;
use crate::cluster::Edge;
use crate::compare::Pattern;

/// A pair for an officer to decide, with the evidence side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PossibleMatch {
    /// Caller ids of the two records.
    pub left: u32,
    pub right: u32,
    pub reason: ReviewReason,
    pub explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockingReport {
    pub blocks: usize,
    pub oversized_blocks: usize,
    pub candidate_pairs: u64,
    /// Share of true pairs among the candidates, when the truth was given.
    pub pair_completeness: Option<f64>,
    /// Per blocking rule: the pairs it proposes, those no other rule proposes, and (when the
    /// truth was given) the true pairs among those only it proposes, to see what a rule costs
    /// and what it alone finds.
    pub per_rule: Vec<RuleReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleReport {
    pub pairs: u64,
    pub only_this_rule: u64,
    pub true_only_this_rule: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    /// Person number of every record, by position in the input vector. Numbers follow first
    /// appearance in the input; only the partition they describe is independent of order.
    pub person_of: Vec<u32>,
    pub persons: usize,
    pub possible_matches: Vec<PossibleMatch>,
    pub model: Model,
    pub blocking: BlockingReport,
    pub pairs_above_review: usize,
    pub links_made: usize,
}

/// Stages reported to an observer (for timing by the caller; the engine keeps no clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Prepared,
    Blocked,
    Compared,
    Fitted,
    Scored,
    Clustered,
}

/// Resolves `records` into persons.
pub fn resolve(records: Vec<ResolverRecord>, config: &ResolverConfig) -> Resolution {
    resolve_observed(records, config, None, &mut |_| {})
}

/// [`resolve`], telling `observer` when each stage ends and measuring blocking against
/// `truth` (a person label per input position) when given.
pub fn resolve_observed(
    records: Vec<ResolverRecord>,
    config: &ResolverConfig,
    truth: Option<&[u64]>,
    observer: &mut dyn FnMut(Stage),
) -> Resolution {
    let prepared = prepare::prepare(records, config);
    observer(Stage::Prepared);
    let candidates = blocking::candidate_pairs(&prepared, config);
    let pair_completeness =
        truth.map(|truth| pair_completeness(&prepared, &candidates.pairs, truth));
    let per_rule = rule_reports(&prepared, &candidates, config, truth);
    observer(Stage::Blocked);
    let fields = compare::fields(config);
    let mut patterns: Vec<Pattern> = vec![0; candidates.pairs.len()];
    parallel_fill_with(
        &mut patterns,
        config.threads,
        compare::AgreementCache::new,
        |cache, index| {
            let (left, right) = unpack(candidates.pairs[index]);
            compare::compare_cached(
                &prepared.records[left as usize],
                &prepared.records[right as usize],
                &fields,
                &prepared.interner,
                compare::CompareOptions::of(config),
                cache,
            )
        },
    );
    observer(Stage::Compared);
    let mut session_counts: Vec<FxHashMap<Pattern, f64>> =
        vec![FxHashMap::default(); config.blocking_rules.len().min(8)];
    for (pattern, rules) in patterns.iter().zip(&candidates.rules) {
        for (rule_index, counts) in session_counts.iter_mut().enumerate() {
            if rules & (1 << rule_index) != 0 {
                *counts.entry(*pattern).or_default() += 1.0;
            }
        }
    }
    let sessions: Vec<model::TrainingSession> = config
        .blocking_rules
        .iter()
        .zip(session_counts)
        .map(|(rule, counts)| {
            let mut patterns: Vec<(Pattern, f64)> = counts.into_iter().collect();
            patterns.sort_unstable_by_key(|&(pattern, _)| pattern);
            model::TrainingSession {
                trains: rule.trains,
                blocked_fields: model::blocked_fields(rule, &fields, &prepared),
                patterns,
            }
        })
        .collect();
    let all_patterns = model::pattern_counts(&patterns);
    let model = model::fit(&prepared, &fields, &sessions, &all_patterns, config);
    drop(sessions);
    observer(Stage::Fitted);
    let blocking = BlockingReport {
        blocks: candidates.blocks,
        oversized_blocks: candidates.oversized_blocks,
        candidate_pairs: candidates.pairs.len() as u64,
        pair_completeness,
        per_rule,
    };
    let pairs = candidates.pairs;
    drop(candidates.rules);
    finish(
        prepared,
        pairs,
        patterns,
        &all_patterns,
        model,
        config,
        &Constraints::default(),
        blocking,
        observer,
    )
}

/// Resolves `records` with a model fitted before (on another file, or saved by an earlier
/// run): no estimation, and term frequencies are the model's. Pairs then weigh the same
/// whichever records are resolved together, which is what lets ingest resolve a
/// neighbourhood of the registry and reach the partition of the whole.
pub fn resolve_with_model(
    records: Vec<ResolverRecord>,
    config: &ResolverConfig,
    model: &Model,
) -> Resolution {
    let mut prepared = prepare::prepare(records, config);
    prepared.frequencies = prepare::Frequencies::default();
    prepared.use_frequencies(&model.term_frequencies);
    let candidates = blocking::candidate_pairs(&prepared, config);
    let blocking = BlockingReport {
        blocks: candidates.blocks,
        oversized_blocks: candidates.oversized_blocks,
        candidate_pairs: candidates.pairs.len() as u64,
        pair_completeness: None,
        per_rule: Vec::new(),
    };
    let patterns = compare_pairs(&prepared, &candidates.pairs, config);
    finish(
        prepared,
        candidates.pairs,
        patterns,
        &[],
        model.clone(),
        config,
        &Constraints::default(),
        blocking,
        &mut |_| {},
    )
}

/// Resolves `records` with a frozen model on the candidate pairs given (caller ids), instead
/// of blocking them: the records are a closed neighbourhood of a larger population and
/// `pairs` are the pairs blocking makes among them in that population
/// ([`incremental::closure`]). `constraints` name records by caller id.
pub fn resolve_pairs_with_model(
    records: Vec<ResolverRecord>,
    pairs: &[(u32, u32)],
    config: &ResolverConfig,
    model: &Model,
    constraints: &Constraints,
) -> Resolution {
    let mut prepared = prepare::prepare(records, config);
    prepared.frequencies = prepare::Frequencies::default();
    prepared.use_frequencies(&model.term_frequencies);
    let canonical_of_caller: FxHashMap<u32, u32> = prepared
        .caller_id
        .iter()
        .enumerate()
        .map(|(canonical, &caller)| (caller, canonical as u32))
        .collect();
    let canonical = |caller: &u32| canonical_of_caller.get(caller).copied();
    let mut packed: Vec<u64> = pairs
        .iter()
        .filter_map(|(left, right)| {
            let (left, right) = (canonical(left)?, canonical(right)?);
            (left != right).then(|| blocking::pack(left.min(right), left.max(right)))
        })
        .collect();
    packed.sort_unstable();
    packed.dedup();
    let constraints = Constraints {
        together: constraints
            .together
            .iter()
            .map(|group| group.iter().filter_map(canonical).collect())
            .collect(),
        apart: constraints.apart.clone(),
    };
    let blocking = BlockingReport {
        blocks: 0,
        oversized_blocks: 0,
        candidate_pairs: packed.len() as u64,
        pair_completeness: None,
        per_rule: Vec::new(),
    };
    let patterns = compare_pairs(&prepared, &packed, config);
    finish(
        prepared,
        packed,
        patterns,
        &[],
        model.clone(),
        config,
        &constraints,
        blocking,
        &mut |_| {},
    )
}

fn compare_pairs(
    prepared: &prepare::Prepared,
    pairs: &[u64],
    config: &ResolverConfig,
) -> Vec<Pattern> {
    let fields = compare::fields(config);
    parallel_map(pairs, config.threads, |&pair| {
        let (left, right) = unpack(pair);
        compare::compare(
            &prepared.records[left as usize],
            &prepared.records[right as usize],
            &fields,
            &prepared.interner,
            compare::CompareOptions::of(config),
        )
    })
}

/// Whether a pattern shares a passport, SNILS, INN or ESIA id: a link by rule.
pub(crate) fn shares_strong_identifier(pattern: Pattern) -> bool {
    compare::level_of(pattern, 6) == compare::document_level::SAME
        || (7..=9).any(|index| compare::level_of(pattern, index) == compare::equality_level::SAME)
}

/// The weight of a compared pair under `model`, or `None` below `floor`. A shared strong
/// identifier weighs at least the link weight, as in the ingest pipeline's deterministic
/// linking, whatever the other fields say (a record may carry nothing but a document
/// number); clustering still refuses it when one-per-person identifiers clash.
/// `base` is the pattern's weight and whether it needs term frequencies, when known.
#[expect(
    clippy::too_many_arguments,
    reason = "the hot path passes what it cached"
)]
pub(crate) fn pair_weight(
    model: &Model,
    config: &ResolverConfig,
    prepared: &prepare::Prepared,
    pattern: Pattern,
    left: u32,
    right: u32,
    floor: f64,
    base: Option<(f64, bool)>,
    largest_bonus: f64,
    single_names: &[[prepare::ValueId; 2]],
) -> Option<f64> {
    let plain = |floor: f64| -> Option<f64> {
        let (base, needs_term_frequency) = base.unwrap_or_else(|| {
            (
                model.pattern_weight(pattern),
                model.needs_term_frequency(pattern),
            )
        });
        if !needs_term_frequency {
            return (base >= floor).then_some(base);
        }
        if base + largest_bonus < floor {
            return None;
        }
        let weight = base
            + model.term_frequency_weight_of(
                pattern,
                (left, right),
                prepared,
                config,
                single_names,
            );
        (weight >= floor).then_some(weight)
    };
    if shares_strong_identifier(pattern) {
        let link_weight = config.link_weight();
        let scored = plain(f64::NEG_INFINITY).unwrap_or(link_weight);
        return Some(scored.max(link_weight));
    }
    plain(floor)
}

/// Scoring, clustering and the result, once pairs are compared and the model is known.
#[expect(
    clippy::too_many_arguments,
    reason = "the stages hand over what they built"
)]
fn finish(
    prepared: prepare::Prepared,
    pairs: Vec<u64>,
    patterns: Vec<Pattern>,
    all_patterns: &[(Pattern, f64)],
    model: Model,
    config: &ResolverConfig,
    constraints: &Constraints,
    blocking: BlockingReport,
    observer: &mut dyn FnMut(Stage),
) -> Resolution {
    let fields = compare::fields(config);
    let review_weight = config.review_weight();
    // A weight is the pattern's weight plus, where a term-frequency field agrees exactly, an
    // adjustment by the shared value's frequency. Pattern weights are computed once per
    // distinct pattern; pairs that cannot reach review even with the largest adjustment are
    // skipped without looking at their records.
    let pattern_weights: FxHashMap<Pattern, (f64, bool)> = all_patterns
        .iter()
        .map(|&(pattern, _)| {
            (
                pattern,
                (
                    model.pattern_weight(pattern),
                    model.needs_term_frequency(pattern),
                ),
            )
        })
        .collect();
    let largest_bonus = model.largest_term_frequency_bonus(config);
    let single_names = model::single_names(&prepared);
    let weigh = |pattern: Pattern, left: u32, right: u32, floor: f64| -> Option<f64> {
        pair_weight(
            &model,
            config,
            &prepared,
            pattern,
            left,
            right,
            floor,
            pattern_weights.get(&pattern).copied(),
            largest_bonus,
            &single_names,
        )
    };
    let edges: Vec<Edge> = parallel_ranges(patterns.len(), config.threads, |range| {
        range
            .filter_map(|index| {
                let (left, right) = unpack(pairs[index]);
                let pattern = patterns[index];
                weigh(pattern, left, right, review_weight).map(|weight| Edge {
                    weight,
                    left,
                    right,
                    pattern,
                })
            })
            .collect()
    });
    drop(patterns);
    // The candidate list is as large as the edges; clustering needs only its counts.
    drop(pairs);
    let pairs_above_review = edges.len();
    observer(Stage::Scored);
    // Group linkage scores the pairs across two groups; most are scored edges already, so
    // their weights are looked up rather than compared again. Only with group linkage on.
    // A sorted vector rather than a hash map: a third of the memory for millions of edges;
    // each record's pairs (as the left one) start at `known_from[record]`, so a look-up
    // searches only that record's few pairs instead of all of them (millions of look-ups).
    let (known_weights, known_from): (Vec<(u32, f64)>, Vec<u32>) =
        if config.minimum_average_linkage.is_some() {
            let mut known: Vec<(u64, f64)> = edges
                .iter()
                .map(|edge| (blocking::pack(edge.left, edge.right), edge.weight))
                .collect();
            // Edges come in pair order already; sorting sorted input is one pass.
            known.sort_unstable_by_key(|&(pair, _)| pair);
            let mut from = vec![0u32; prepared.records.len() + 1];
            for &(pair, _) in &known {
                from[unpack(pair).0 as usize + 1] += 1;
            }
            for record in 0..prepared.records.len() {
                from[record + 1] += from[record];
            }
            let known = known
                .into_iter()
                .map(|(pair, weight)| (unpack(pair).1, weight))
                .collect();
            (known, from)
        } else {
            (Vec::new(), Vec::new())
        };
    let score = |one: u32, other: u32| {
        let (left, right) = (one.min(other), one.max(other));
        if let Some(range) = known_from.get(left as usize..left as usize + 2) {
            let pairs_of_left = &known_weights[range[0] as usize..range[1] as usize];
            if let Ok(position) = pairs_of_left.binary_search_by_key(&right, |&(right, _)| right) {
                return pairs_of_left[position].1;
            }
        }
        let pattern = compare::compare(
            &prepared.records[left as usize],
            &prepared.records[right as usize],
            &fields,
            &prepared.interner,
            compare::CompareOptions::of(config),
        );
        weigh(pattern, left, right, f64::NEG_INFINITY).unwrap_or(f64::NEG_INFINITY)
    };
    let clustering = cluster::cluster(&prepared, edges, config, constraints, &score);
    drop(known_weights);
    drop(known_from);
    observer(Stage::Clustered);
    let mut number_of_root: FxHashMap<u32, u32> = FxHashMap::default();
    let mut canonical_of_position = vec![0u32; prepared.records.len()];
    for (canonical, &position) in prepared.input_position.iter().enumerate() {
        canonical_of_position[position as usize] = canonical as u32;
    }
    let person_of: Vec<u32> = canonical_of_position
        .iter()
        .map(|&canonical| {
            let root = clustering.cluster_of[canonical as usize];
            let next = number_of_root.len() as u32;
            *number_of_root.entry(root).or_insert(next)
        })
        .collect();
    let possible_matches = clustering
        .review
        .iter()
        .map(|(edge, reason)| PossibleMatch {
            left: prepared.caller_id[edge.left as usize],
            right: prepared.caller_id[edge.right as usize],
            reason: *reason,
            explanation: model.explain(
                edge.pattern,
                &prepared.records[edge.left as usize],
                &prepared.records[edge.right as usize],
                &prepared,
                config,
            ),
        })
        .collect();
    Resolution {
        persons: number_of_root.len(),
        person_of,
        possible_matches,
        model,
        blocking,
        pairs_above_review,
        links_made: clustering.links_made,
    }
}

fn rule_reports(
    prepared: &prepare::Prepared,
    candidates: &blocking::Candidates,
    config: &ResolverConfig,
    truth: Option<&[u64]>,
) -> Vec<RuleReport> {
    let rules = config.blocking_rules.len().min(8);
    let mut reports = vec![RuleReport::default(); rules];
    let label = |canonical: u32| {
        truth.and_then(|truth| truth.get(prepared.input_position[canonical as usize] as usize))
    };
    for (&pair, &rule_bits) in candidates.pairs.iter().zip(&candidates.rules) {
        for (rule_index, report) in reports.iter_mut().enumerate() {
            if rule_bits & (1 << rule_index) == 0 {
                continue;
            }
            report.pairs += 1;
            if rule_bits == 1 << rule_index {
                report.only_this_rule += 1;
                if truth.is_some() {
                    let (left, right) = unpack(pair);
                    let is_true = matches!((label(left), label(right)), (Some(left), Some(right)) if left == right);
                    *report.true_only_this_rule.get_or_insert(0) += u64::from(is_true);
                }
            }
        }
    }
    reports
}

/// Share of true pairs that blocking proposes.
fn pair_completeness(prepared: &prepare::Prepared, pairs: &[u64], truth: &[u64]) -> f64 {
    let label = |canonical: u32| truth.get(prepared.input_position[canonical as usize] as usize);
    let kept = pairs
        .iter()
        .filter(|&&pair| {
            let (left, right) = unpack(pair);
            matches!((label(left), label(right)), (Some(left), Some(right)) if left == right)
        })
        .count() as u64;
    let mut sizes: FxHashMap<u64, u64> = FxHashMap::default();
    for label in truth {
        *sizes.entry(*label).or_default() += 1;
    }
    let total: u64 = sizes.values().map(|&size| size * (size - 1) / 2).sum();
    if total == 0 {
        1.0
    } else {
        kept as f64 / total as f64
    }
}

/// Sorts by `key` in place on up to `threads` threads without a second buffer: the slice is
/// split around its median (linear time), then each side is sorted on its own thread.
pub(crate) fn parallel_sort_by_key<Item: Send, Key: Ord>(
    items: &mut [Item],
    threads: usize,
    key: fn(&Item) -> Key,
) {
    if threads < 2 || items.len() < 1 << 16 {
        items.sort_unstable_by_key(key);
        return;
    }
    let middle = items.len() / 2;
    items.select_nth_unstable_by_key(middle, key);
    let (low, high) = items.split_at_mut(middle);
    std::thread::scope(|scope| {
        let low_threads = threads / 2;
        let high_threads = threads - low_threads;
        scope.spawn(move || parallel_sort_by_key(low, low_threads, key));
        parallel_sort_by_key(high, high_threads, key);
    });
}

/// [`parallel_fill`] with a state of its own on each thread (made by `state`).
fn parallel_fill_with<State, Output: Send>(
    output: &mut [Output],
    threads: usize,
    state: impl Fn() -> State + Sync,
    map: impl Fn(&mut State, usize) -> Output + Sync,
) {
    let threads = threads.max(1);
    let chunk = output.len().div_ceil(threads).max(1024);
    let (state, map) = (&state, &map);
    std::thread::scope(|scope| {
        for (run, slots) in output.chunks_mut(chunk).enumerate() {
            scope.spawn(move || {
                let mut own = state();
                for (offset, slot) in slots.iter_mut().enumerate() {
                    *slot = map(&mut own, run * chunk + offset);
                }
            });
        }
    });
}

/// Runs `map` over `0..count` split into one range per thread and joins the outputs in order.
fn parallel_ranges<Output: Send>(
    count: usize,
    threads: usize,
    map: impl Fn(std::ops::Range<usize>) -> Vec<Output> + Sync,
) -> Vec<Output> {
    let threads = threads.max(1);
    if threads == 1 || count < 1024 {
        return map(0..count);
    }
    let chunk = count.div_ceil(threads);
    let map = &map;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|start| scope.spawn(move || map(start..(start + chunk).min(count))))
            .collect();
        let mut output = Vec::new();
        for handle in handles {
            // A panicking worker is a bug in the engine, not bad input: re-raise it.
            match handle.join() {
                Ok(part) => output.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        output
    })
}

/// Maps `items` on `threads` scoped threads, keeping order.
pub(crate) fn parallel_map<Item: Sync, Output: Send>(
    items: &[Item],
    threads: usize,
    map: impl Fn(&Item) -> Output + Sync,
) -> Vec<Output> {
    let threads = threads.max(1);
    if threads == 1 || items.len() < 1024 {
        return items.iter().map(&map).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let map = &map;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|slice| scope.spawn(move || slice.iter().map(map).collect::<Vec<Output>>()))
            .collect();
        let mut output = Vec::with_capacity(items.len());
        for handle in handles {
            // A panicking worker is a bug in the engine, not bad input: re-raise it.
            match handle.join() {
                Ok(part) => output.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        output
    })
}

/// Pattern of a pair, for callers that explain decisions outside a run.
pub type ComparisonPattern = Pattern;
