//! Pairwise quality of a partition against the truth, counted from cluster sizes and the
//! contingency table (pairs within clusters = n(n-1)/2), never by listing pairs.

use std::hash::Hash;

use rustc_hash::FxHashMap;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairwiseQuality {
    pub predicted_pairs: u64,
    pub true_pairs: u64,
    pub true_positive_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub predicted_clusters: usize,
    pub true_clusters: usize,
}

fn pairs_within(size: u64) -> u64 {
    size * size.saturating_sub(1) / 2
}

/// Compares `predicted[i]` with `truth[i]` over all records `i`.
pub fn pairwise_quality<P: Hash + Eq + Copy, T: Hash + Eq + Copy>(
    predicted: &[P],
    truth: &[T],
) -> PairwiseQuality {
    let mut predicted_sizes: FxHashMap<P, u64> = FxHashMap::default();
    let mut true_sizes: FxHashMap<T, u64> = FxHashMap::default();
    let mut joint_sizes: FxHashMap<(P, T), u64> = FxHashMap::default();
    for (predicted, truth) in predicted.iter().zip(truth) {
        *predicted_sizes.entry(*predicted).or_default() += 1;
        *true_sizes.entry(*truth).or_default() += 1;
        *joint_sizes.entry((*predicted, *truth)).or_default() += 1;
    }
    let predicted_pairs: u64 = predicted_sizes
        .values()
        .map(|&size| pairs_within(size))
        .sum();
    let true_pairs: u64 = true_sizes.values().map(|&size| pairs_within(size)).sum();
    let true_positive_pairs: u64 = joint_sizes.values().map(|&size| pairs_within(size)).sum();
    let ratio = |part: u64, whole: u64| {
        if whole == 0 {
            1.0
        } else {
            part as f64 / whole as f64
        }
    };
    let precision = ratio(true_positive_pairs, predicted_pairs);
    let recall = ratio(true_positive_pairs, true_pairs);
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    PairwiseQuality {
        predicted_pairs,
        true_pairs,
        true_positive_pairs,
        precision,
        recall,
        f1,
        predicted_clusters: predicted_sizes.len(),
        true_clusters: true_sizes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(predicted: &[u32], truth: &[u32], expected: (u64, u64, u64)) {
        let quality = pairwise_quality(predicted, truth);
        assert_eq!(
            (
                quality.predicted_pairs,
                quality.true_pairs,
                quality.true_positive_pairs
            ),
            expected,
            "{predicted:?} vs {truth:?}"
        );
    }

    #[test]
    fn counts_pairs_from_cluster_sizes() {
        check(&[1, 1, 1], &[1, 1, 1], (3, 3, 3));
        check(&[1, 2, 3], &[1, 1, 1], (0, 3, 0));
        check(&[1, 1, 2, 2], &[1, 1, 1, 1], (2, 6, 2));
        check(&[1, 1, 1, 1], &[1, 1, 2, 2], (6, 2, 2));
        check(&[], &[], (0, 0, 0));
    }
}
