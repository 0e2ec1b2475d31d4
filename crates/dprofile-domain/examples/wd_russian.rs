//! Name-level cross-script benchmark on the Wikidata Latin/Russian pairs: the recall of true
//! (Latin, Cyrillic) pairs at the similarity threshold where random non-matching pairs pass at a
//! rate of at most 0.0003, for `names::name_similarity` and for the baseline (ICAO
//! transliteration, lowercase, Jaro–Winkler).
//!
//! `cargo run --release -p dprofile-domain --example wd_russian -- FILE.tsv [--misses N]`
//! Each line: `latin<TAB>cyrillic letters separated by spaces<TAB>count`.

use std::process::ExitCode;

use dprofile_domain::names;

/// The false-positive rate the threshold is chosen for.
const TARGET_FALSE_POSITIVE_RATE: f64 = 0.0003;
const RANDOM_PAIR_COUNT: usize = 200_000;

struct NamePair {
    latin: String,
    cyrillic: String,
}

/// A fixed-seed xorshift, so that every run draws the same random pairs.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

struct Measurement {
    recall: f64,
    false_positive_rate: f64,
    threshold: f64,
}

/// The lowest threshold whose false-positive rate is within the target, and the recall there.
fn measure(true_scores: &[f64], random_scores: &[f64]) -> Measurement {
    let mut sorted_random = random_scores.to_vec();
    sorted_random.sort_by(|a, b| b.total_cmp(a));
    let allowed = (TARGET_FALSE_POSITIVE_RATE * sorted_random.len() as f64).floor() as usize;
    // Pairs scoring strictly above the (allowed+1)-th highest random score pass.
    let threshold = sorted_random
        .get(allowed)
        .map_or(0.0, |score| score + 1e-12);
    let passing_random = random_scores
        .iter()
        .filter(|score| **score >= threshold)
        .count();
    let passing_true = true_scores
        .iter()
        .filter(|score| **score >= threshold)
        .count();
    Measurement {
        recall: passing_true as f64 / true_scores.len().max(1) as f64,
        false_positive_rate: passing_random as f64 / random_scores.len().max(1) as f64,
        threshold,
    }
}

fn baseline_similarity(latin: &str, cyrillic: &str) -> f64 {
    let transliterated = names::transliterate_icao(cyrillic).to_lowercase();
    strsim::jaro_winkler(&latin.to_lowercase(), &transliterated)
}

/// One metric alone over the candidate folds, to show what each part of the mean contributes.
fn best_over(latin: &str, cyrillic: &str, metric: fn(&str, &str) -> f64) -> f64 {
    let mut best: f64 = 0.0;
    for folded_latin in names::fold_candidates(latin) {
        for folded_cyrillic in names::fold_candidates(cyrillic) {
            best = best.max(metric(&folded_latin, &folded_cyrillic));
        }
    }
    best
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = arguments.first() else {
        eprintln!("usage: wd_russian FILE.tsv [--misses N]");
        return ExitCode::FAILURE;
    };
    let misses_to_show: usize = arguments
        .iter()
        .position(|argument| argument == "--misses")
        .and_then(|position| arguments.get(position + 1))
        .and_then(|count| count.parse().ok())
        .unwrap_or(0);
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("cannot read {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let pairs: Vec<NamePair> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let latin = fields.next()?.trim();
            let cyrillic: String = fields.next()?.split(' ').collect();
            (!latin.is_empty() && !cyrillic.is_empty()).then(|| NamePair {
                latin: latin.to_owned(),
                cyrillic,
            })
        })
        .collect();
    if pairs.len() < 2 {
        eprintln!("{path}: fewer than two pairs");
        return ExitCode::FAILURE;
    }
    let mut random = Xorshift(0x9E37_79B9_7F4A_7C15);
    let random_pairs: Vec<(usize, usize)> = (0..RANDOM_PAIR_COUNT)
        .filter_map(|_| {
            let latin_index = random.below(pairs.len());
            let cyrillic_index = random.below(pairs.len());
            let same_name = pairs[latin_index].cyrillic == pairs[cyrillic_index].cyrillic
                || pairs[latin_index].latin == pairs[cyrillic_index].latin;
            (!same_name).then_some((latin_index, cyrillic_index))
        })
        .collect();

    type Scorer = fn(&str, &str) -> f64;
    let scorers: [(&str, Scorer); 4] = [
        ("baseline ICAO + Jaro-Winkler", baseline_similarity),
        ("fold + Jaro-Winkler only", |latin, cyrillic| {
            best_over(latin, cyrillic, names::similarity)
        }),
        ("fold + sound similarity only", |latin, cyrillic| {
            best_over(latin, cyrillic, names::sound_similarity)
        }),
        ("names::name_similarity", names::name_similarity),
    ];
    println!(
        "{path}: {} true pairs, {} random pairs",
        pairs.len(),
        random_pairs.len()
    );
    println!(
        "{:<32} {:>8} {:>10} {:>10}",
        "method", "recall", "fpr", "threshold"
    );
    for (label, scorer) in scorers {
        let true_scores: Vec<f64> = pairs
            .iter()
            .map(|pair| scorer(&pair.latin, &pair.cyrillic))
            .collect();
        let random_scores: Vec<f64> = random_pairs
            .iter()
            .map(|(latin_index, cyrillic_index)| {
                scorer(&pairs[*latin_index].latin, &pairs[*cyrillic_index].cyrillic)
            })
            .collect();
        let measurement = measure(&true_scores, &random_scores);
        println!(
            "{label:<32} {:>8.4} {:>10.6} {:>10.4}",
            measurement.recall, measurement.false_positive_rate, measurement.threshold
        );
        if misses_to_show > 0 && label.starts_with("names") {
            for (pair, score) in pairs
                .iter()
                .zip(&true_scores)
                .filter(|(_, score)| **score < measurement.threshold)
                .take(misses_to_show)
            {
                println!(
                    "  miss {score:.3} {} {} | {:?} {:?}",
                    pair.latin,
                    pair.cyrillic,
                    names::fold_candidates(&pair.latin),
                    names::fold_candidates(&pair.cyrillic)
                );
            }
            let mut false_positives: Vec<(f64, &(usize, usize))> = random_scores
                .iter()
                .copied()
                .zip(&random_pairs)
                .filter(|(score, _)| *score >= measurement.threshold - 0.02)
                .collect();
            false_positives.sort_by(|a, b| b.0.total_cmp(&a.0));
            for (score, (latin_index, cyrillic_index)) in false_positives.iter().take(20) {
                println!(
                    "  random {score:.3} {} {}",
                    pairs[*latin_index].latin, pairs[*cyrillic_index].cyrillic
                );
            }
        }
    }
    ExitCode::SUCCESS
}
