//! Random draws the generator repeats everywhere: skewed picks, dates in a range, coin flips.
//!
//! Every person gets their own ChaCha stream seeded from `(seed, person, purpose)`, so a person's
//! records do not depend on how many random numbers earlier persons used, and a namesake can
//! re-derive another person's identity without generating that person's records.

use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::numbers::mix64;

pub type Stream = ChaCha8Rng;

/// Independent stream for one purpose of one person.
pub fn stream(seed: u64, person: u64, purpose: u64) -> Stream {
    let mixed = mix64(seed ^ mix64(person.wrapping_add(mix64(purpose.wrapping_add(0x9e37)))));
    ChaCha8Rng::seed_from_u64(mixed)
}

pub fn chance(rng: &mut Stream, probability: f64) -> bool {
    probability > 0.0 && rng.random::<f64>() < probability
}

pub fn pick<'item, T>(rng: &mut Stream, items: &'item [T]) -> &'item T {
    &items[rng.random_range(0..items.len())]
}

/// Cumulative weights for [`weighted`].
pub fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut total = 0.0;
    weights
        .into_iter()
        .map(|weight| {
            total += weight;
            total
        })
        .collect()
}

/// An index drawn with the weights that `table` accumulates.
pub fn weighted(rng: &mut Stream, table: &[f64]) -> usize {
    let total = table.last().copied().unwrap_or(0.0);
    let target = rng.random::<f64>() * total;
    table
        .partition_point(|bound| *bound <= target)
        .min(table.len().saturating_sub(1))
}

/// Zipf-like weights `1 / (rank + 1)^0.7`: a few very common names and a long tail.
pub fn zipf_table(length: usize) -> Vec<f64> {
    cumulative((0..length).map(|rank| 1.0 / ((rank + 1) as f64).powf(0.7)))
}

pub fn days(date: NaiveDate, count: i64) -> NaiveDate {
    date.checked_add_signed(Duration::days(count))
        .unwrap_or(date)
}

/// The same day `years` later (28 February for a 29 February that does not exist).
pub fn add_years(date: NaiveDate, years: i32) -> NaiveDate {
    let year = date.year() + years;
    NaiveDate::from_ymd_opt(year, date.month(), date.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, date.month(), 28))
        .unwrap_or(date)
}

pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(chrono::Months::new(months))
        .unwrap_or(date)
}

/// A day in `from..=to`; `from` itself when the range is empty.
pub fn date_between(rng: &mut Stream, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days();
    if span <= 0 {
        return from;
    }
    days(from, rng.random_range(0..=span))
}

/// A whole number of days in `low..=high`.
pub fn span(rng: &mut Stream, low: i64, high: i64) -> i64 {
    if high <= low {
        return low;
    }
    rng.random_range(low..=high)
}
