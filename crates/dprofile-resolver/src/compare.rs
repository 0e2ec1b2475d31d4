//! Comparison of two prepared records field by field into comparison levels, packed into one
//! integer (a "comparison vector", four bits per field) so that EM can count patterns.

use serde::Serialize;

use crate::config::{AttributeComparison, NameMetric, ResolverConfig};
use crate::names::{bounded_damerau_levenshtein, jaro_winkler};
use crate::prepare::{FoldedName, Interner, PreparedRecord, ValueId};

/// Fields compared for every pair, then one per configured attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Field {
    Family,
    Given,
    Patronymic,
    BirthDate,
    Sex,
    Citizenship,
    Document,
    Snils,
    Inn,
    Esia,
    Attribute(usize, AttributeComparison),
}

pub const FIXED_FIELDS: [Field; 10] = [
    Field::Family,
    Field::Given,
    Field::Patronymic,
    Field::BirthDate,
    Field::Sex,
    Field::Citizenship,
    Field::Document,
    Field::Snils,
    Field::Inn,
    Field::Esia,
];

/// Level 0 of every field: one side does not say; it weighs nothing.
pub const NULL: u8 = 0;

pub mod name_level {
    pub const EXACT: u8 = 1;
    pub const CLOSE: u8 = 2;
    pub const FUZZY: u8 = 3;
    /// Family level only: family and given agree crosswise.
    pub const SWAPPED: u8 = 4;
    /// Family: 5; given and fuzzy attributes: 4 (no swapped level there).
    pub const FAMILY_DIFFERENT: u8 = 5;
    pub const OTHER_DIFFERENT: u8 = 4;
}

pub mod date_level {
    pub const EXACT: u8 = 1;
    pub const PARTIAL_COMPATIBLE: u8 = 2;
    pub const DAY_MONTH_SWAPPED: u8 = 3;
    pub const ONE_DIGIT_OFF: u8 = 4;
    pub const DIFFERENT: u8 = 5;
}

pub mod document_level {
    pub const SAME: u8 = 1;
    pub const ONE_CHARACTER_OFF: u8 = 2;
    pub const DIFFERENT_SAME_COUNTRY: u8 = 3;
}

/// Same/different fields (sex, citizenship, identifiers, exact attributes).
pub mod equality_level {
    pub const SAME: u8 = 1;
    pub const DIFFERENT: u8 = 2;
}

impl Field {
    pub fn name(self, config: &ResolverConfig) -> String {
        match self {
            Field::Family => "family_name".into(),
            Field::Given => "given_name".into(),
            Field::Patronymic => "patronymic".into(),
            Field::BirthDate => "birth_date".into(),
            Field::Sex => "sex".into(),
            Field::Citizenship => "citizenship".into(),
            Field::Document => "document".into(),
            Field::Snils => "snils".into(),
            Field::Inn => "inn".into(),
            Field::Esia => "esia".into(),
            Field::Attribute(slot, _) => config.attributes[slot].name.clone(),
        }
    }

    /// Level names, null first, then from strongest agreement to disagreement.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Field::Family => &[
                "null",
                "exact",
                "close",
                "fuzzy",
                "swapped_with_given",
                "different",
            ],
            Field::Given | Field::Attribute(_, AttributeComparison::Fuzzy) => {
                &["null", "exact", "close", "fuzzy", "different"]
            }
            Field::Patronymic => &["null", "exact", "close", "different"],
            Field::BirthDate => &[
                "null",
                "exact",
                "partial_compatible",
                "day_month_swapped",
                "one_digit_off",
                "different",
            ],
            Field::Document => &[
                "null",
                "same",
                "one_character_off",
                "different_same_country",
            ],
            Field::Sex
            | Field::Citizenship
            | Field::Snils
            | Field::Inn
            | Field::Esia
            | Field::Attribute(_, AttributeComparison::Exact) => &["null", "same", "different"],
        }
    }
}

pub fn fields(config: &ResolverConfig) -> Vec<Field> {
    let mut fields = FIXED_FIELDS.to_vec();
    for (slot, attribute) in config.attributes.iter().enumerate() {
        fields.push(Field::Attribute(slot, attribute.comparison));
    }
    fields
}

/// Packed comparison levels, four bits per field in the order of [`fields`].
pub type Pattern = u128;

pub fn level_of(pattern: Pattern, field_index: usize) -> u8 {
    ((pattern >> (4 * field_index)) & 0xF) as u8
}

fn set_level(pattern: &mut Pattern, field_index: usize, level: u8) {
    *pattern |= Pattern::from(level) << (4 * field_index);
}

/// Agreement of two folded strings: exact, close, fuzzy or different (rank 3..0).
fn string_agreement(left: ValueId, right: ValueId, interner: &Interner, metric: NameMetric) -> u8 {
    if left == right {
        return 3;
    }
    let (left, right) = (interner.text(left), interner.text(right));
    let shortest = left.len().min(right.len());
    let jaro_winkler = jaro_winkler(left, right);
    // One or two edits keep Jaro-Winkler above 0.7 for names of four letters and more; below
    // it the costlier edit distance cannot change the level.
    let near = jaro_winkler >= 0.7;
    let (similarity, close, fuzzy) = match metric {
        NameMetric::JaroWinkler => (jaro_winkler, 0.95, 0.88),
        // The mean of Jaro-Winkler and the sound-weighted edit similarity, which forgives the
        // vowel and consonant shifts between scripts; it runs lower than Jaro-Winkler alone.
        NameMetric::FoldedSound if near => (
            0.5 * jaro_winkler + 0.5 * dprofile_domain::names::sound_similarity(left, right),
            0.92,
            0.85,
        ),
        NameMetric::FoldedSound => (jaro_winkler, 0.95, 0.88),
    };
    if similarity >= close
        || (near && shortest >= 4 && bounded_damerau_levenshtein(left, right, 1) <= 1)
    {
        2
    } else if similarity >= fuzzy
        || (near && shortest >= 7 && bounded_damerau_levenshtein(left, right, 2) <= 2)
    {
        1
    } else {
        0
    }
}

fn agreement(
    left: Option<ValueId>,
    right: Option<ValueId>,
    interner: &Interner,
    metric: NameMetric,
) -> Option<u8> {
    Some(string_agreement(left?, right?, interner, metric))
}

/// Agreements of pairs of folded names already computed on this thread. Candidate pairs
/// compare the same few spellings of a person again and again; a direct-mapped table of
/// fixed size (no growth, a clash overwrites) returns them without touching the strings.
pub struct AgreementCache {
    slots: Vec<(u64, u8)>,
}

impl AgreementCache {
    const SLOTS: usize = 1 << 16;

    pub fn new() -> AgreementCache {
        // Key 0 never occurs: id 0 is never interned, and equal ids are not looked up.
        AgreementCache {
            slots: vec![(0, 0); Self::SLOTS],
        }
    }

    fn agreement(
        &mut self,
        left: Option<ValueId>,
        right: Option<ValueId>,
        interner: &Interner,
        metric: NameMetric,
    ) -> Option<u8> {
        let (left, right) = (left?, right?);
        if left == right {
            return Some(3);
        }
        let key = (u64::from(left) << 32) | u64::from(right);
        let slot = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48) as usize;
        let (held, rank) = self.slots[slot];
        if held == key {
            return Some(rank);
        }
        let rank = string_agreement(left, right, interner, metric);
        self.slots[slot] = (key, rank);
        Some(rank)
    }
}

impl Default for AgreementCache {
    fn default() -> Self {
        AgreementCache::new()
    }
}

/// Rank 3..0 to a name or fuzzy attribute level.
fn rank_to_level(rank: Option<u8>, different: u8) -> u8 {
    match rank {
        None => NULL,
        Some(3) => name_level::EXACT,
        Some(2) => name_level::CLOSE,
        Some(1) => name_level::FUZZY,
        Some(_) => different,
    }
}

/// What comparing two records needs from the configuration besides the fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareOptions {
    pub metric: NameMetric,
    /// See [`ResolverConfig::lone_name_matches_either_part`].
    pub lone_name_either_part: bool,
}

impl CompareOptions {
    pub fn of(config: &ResolverConfig) -> CompareOptions {
        CompareOptions {
            metric: config.name_metric,
            lone_name_either_part: config.lone_name_matches_either_part,
        }
    }
}

/// The one name part of a spelling that has only a family or only a given name.
fn lone_part(name: &FoldedName) -> Option<ValueId> {
    match (name.family, name.given) {
        (Some(part), None) | (None, Some(part)) => Some(part),
        _ => None,
    }
}

/// The best alignment of two records' spellings: (family level, given level, patronymic level).
fn compare_names(
    left: &[FoldedName],
    right: &[FoldedName],
    lone_either_part: bool,
    agreement: &mut dyn FnMut(Option<ValueId>, Option<ValueId>) -> Option<u8>,
) -> (u8, u8, u8) {
    let mut best: Option<(u8, u8, u8)> = None;
    let mut best_score = -1i32;
    let mut patronymic_rank: Option<u8> = None;
    let score = |rank: Option<u8>| rank.map_or(0, i32::from);
    for left_name in left {
        for right_name in right {
            let family = agreement(left_name.family, right_name.family);
            let given = agreement(left_name.given, right_name.given);
            let direct_score = score(family) + score(given);
            if direct_score > best_score {
                best_score = direct_score;
                best = Some((
                    rank_to_level(family, name_level::FAMILY_DIFFERENT),
                    rank_to_level(given, name_level::OTHER_DIFFERENT),
                    NULL,
                ));
            }
            // A spelling with one name part (a mononym, or a source that filled one field)
            // does not say which part it is: it is set against each part of the other
            // spelling, and a match counts as a family or given agreement, the other part
            // unknown. A lone word can never score more than one part does.
            if lone_either_part {
                // (left part, right part, counts as family). Two lone words count as family
                // names when either source wrote one so, whichever record comes first.
                let options = match (lone_part(left_name), lone_part(right_name)) {
                    (Some(left), Some(right)) => [
                        (
                            Some(left),
                            Some(right),
                            left_name.family.is_some() || right_name.family.is_some(),
                        ),
                        (None, None, false),
                    ],
                    (Some(left), None) => [
                        (Some(left), right_name.family, true),
                        (Some(left), right_name.given, false),
                    ],
                    (None, Some(right)) => [
                        (left_name.family, Some(right), true),
                        (left_name.given, Some(right), false),
                    ],
                    (None, None) => [(None, None, false), (None, None, false)],
                };
                for (left_part, right_part, is_family) in options {
                    if let Some(rank) = agreement(left_part, right_part)
                        && i32::from(rank) > best_score
                    {
                        best_score = i32::from(rank);
                        best = Some(if is_family {
                            (
                                rank_to_level(Some(rank), name_level::FAMILY_DIFFERENT),
                                NULL,
                                NULL,
                            )
                        } else {
                            (
                                NULL,
                                rank_to_level(Some(rank), name_level::OTHER_DIFFERENT),
                                NULL,
                            )
                        });
                    }
                }
            }
            // Crosswise only counts when both parts agree well that way round, and only
            // wins when it beats the best so far; six (both exact) cannot be beaten.
            if best_score < 6
                && let Some(crossed_family) = agreement(left_name.family, right_name.given)
                && crossed_family >= 2
                && let Some(crossed_given) = agreement(left_name.given, right_name.family)
                && crossed_given >= 2
            {
                let crossed_score = i32::from(crossed_family + crossed_given);
                if crossed_score > best_score {
                    best_score = crossed_score;
                    best = Some((
                        name_level::SWAPPED,
                        rank_to_level(Some(crossed_given), name_level::OTHER_DIFFERENT),
                        NULL,
                    ));
                }
            }
            if patronymic_rank == Some(3) {
                continue;
            }
            if let Some(rank) = agreement(left_name.patronymic, right_name.patronymic) {
                patronymic_rank = Some(patronymic_rank.map_or(rank, |best| best.max(rank)));
            }
        }
    }
    let (family, given, _) = best.unwrap_or((NULL, NULL, NULL));
    let patronymic = match patronymic_rank {
        None => NULL,
        Some(3) => 1,
        Some(2) => 2,
        Some(_) => 3,
    };
    (family, given, patronymic)
}

fn date_digits(year: i32, month: u32, day: u32) -> [u32; 8] {
    let year = year.unsigned_abs();
    [
        year / 1000 % 10,
        year / 100 % 10,
        year / 10 % 10,
        year % 10,
        month / 10,
        month % 10,
        day / 10,
        day % 10,
    ]
}

fn compare_birth_dates(
    left: Option<dprofile_domain::values::PartialDate>,
    right: Option<dprofile_domain::values::PartialDate>,
) -> u8 {
    let (Some(left), Some(right)) = (left, right) else {
        return NULL;
    };
    match (left.month().zip(left.day()), right.month().zip(right.day())) {
        (Some((left_month, left_day)), Some((right_month, right_day))) => {
            if left.year() == right.year() && left_month == right_month && left_day == right_day {
                date_level::EXACT
            } else if left.year() == right.year()
                && left_month == right_day
                && left_day == right_month
            {
                date_level::DAY_MONTH_SWAPPED
            } else {
                let left_digits = date_digits(left.year(), left_month, left_day);
                let right_digits = date_digits(right.year(), right_month, right_day);
                let differing = left_digits
                    .iter()
                    .zip(right_digits.iter())
                    .filter(|(left, right)| left != right)
                    .count();
                if differing == 1 {
                    date_level::ONE_DIGIT_OFF
                } else {
                    date_level::DIFFERENT
                }
            }
        }
        _ => {
            if left.compatible_with(right) {
                date_level::PARTIAL_COMPATIBLE
            } else {
                date_level::DIFFERENT
            }
        }
    }
}

fn compare_documents(left: &PreparedRecord, right: &PreparedRecord, interner: &Interner) -> u8 {
    let mut level = NULL;
    for left_document in &left.documents {
        for right_document in &right.documents {
            if left_document.kind != right_document.kind
                || left_document.country != right_document.country
            {
                continue;
            }
            if left_document.number == right_document.number {
                return document_level::SAME;
            }
            let distance = bounded_damerau_levenshtein(
                interner.text(left_document.number),
                interner.text(right_document.number),
                1,
            );
            let this = if distance <= 1 {
                document_level::ONE_CHARACTER_OFF
            } else {
                document_level::DIFFERENT_SAME_COUNTRY
            };
            // Lower level numbers are stronger agreement.
            level = if level == NULL { this } else { level.min(this) };
        }
    }
    level
}

fn compare_equal<T: PartialEq>(left: Option<T>, right: Option<T>) -> u8 {
    match (left, right) {
        (Some(left), Some(right)) if left == right => equality_level::SAME,
        (Some(_), Some(_)) => equality_level::DIFFERENT,
        _ => NULL,
    }
}

/// The comparison vector of two records.
pub fn compare(
    left: &PreparedRecord,
    right: &PreparedRecord,
    fields: &[Field],
    interner: &Interner,
    options: CompareOptions,
) -> Pattern {
    let names = compare_names(
        &left.names,
        &right.names,
        options.lone_name_either_part,
        &mut |left, right| agreement(left, right, interner, options.metric),
    );
    compare_rest(left, right, fields, interner, names)
}

/// [`compare`] with name agreements remembered in `cache` (same result).
pub fn compare_cached(
    left: &PreparedRecord,
    right: &PreparedRecord,
    fields: &[Field],
    interner: &Interner,
    options: CompareOptions,
    cache: &mut AgreementCache,
) -> Pattern {
    let names = compare_names(
        &left.names,
        &right.names,
        options.lone_name_either_part,
        &mut |left, right| cache.agreement(left, right, interner, options.metric),
    );
    compare_rest(left, right, fields, interner, names)
}

fn compare_rest(
    left: &PreparedRecord,
    right: &PreparedRecord,
    fields: &[Field],
    interner: &Interner,
    (family, given, patronymic): (u8, u8, u8),
) -> Pattern {
    let mut pattern: Pattern = 0;
    for (index, field) in fields.iter().enumerate() {
        let level = match *field {
            Field::Family => family,
            Field::Given => given,
            Field::Patronymic => patronymic,
            Field::BirthDate => compare_birth_dates(left.birth_date, right.birth_date),
            Field::Sex => compare_equal(left.sex, right.sex),
            Field::Citizenship => compare_equal(left.citizenship, right.citizenship),
            Field::Document => compare_documents(left, right, interner),
            Field::Snils => compare_equal(left.snils, right.snils),
            Field::Inn => compare_equal(left.inn, right.inn),
            Field::Esia => compare_equal(left.esia, right.esia),
            Field::Attribute(slot, AttributeComparison::Exact) => {
                compare_equal(left.attributes[slot], right.attributes[slot])
            }
            Field::Attribute(slot, AttributeComparison::Fuzzy) => rank_to_level(
                agreement(
                    left.attributes[slot],
                    right.attributes[slot],
                    interner,
                    NameMetric::JaroWinkler,
                ),
                name_level::OTHER_DIFFERENT,
            ),
        };
        set_level(&mut pattern, index, level);
    }
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;
    use dprofile_domain::values::PartialDate;

    fn check_dates(left: &str, right: &str, expected: u8) {
        let parse = |text: &str| PartialDate::parse(text).ok();
        assert_eq!(
            compare_birth_dates(parse(left), parse(right)),
            expected,
            "{left} vs {right}"
        );
    }

    #[test]
    fn a_lone_name_is_compared_with_either_part() {
        let mut same = |left: Option<ValueId>, right: Option<ValueId>| {
            Some(if left? == right? { 3 } else { 0 })
        };
        let name = |family: Option<ValueId>, given: Option<ValueId>| FoldedName {
            family,
            given,
            patronymic: None,
        };
        let full = [name(Some(7), Some(8))];
        // The family name written in the given-name field, as the only name.
        let lone_family = [name(None, Some(7))];
        assert_eq!(
            compare_names(&lone_family, &full, true, &mut same),
            (name_level::EXACT, NULL, NULL)
        );
        assert_eq!(
            compare_names(&full, &lone_family, true, &mut same),
            (name_level::EXACT, NULL, NULL)
        );
        assert_eq!(
            compare_names(&lone_family, &full, false, &mut same),
            (NULL, name_level::OTHER_DIFFERENT, NULL)
        );
        let lone_given = [name(None, Some(8))];
        assert_eq!(
            compare_names(&lone_given, &full, true, &mut same),
            (NULL, name_level::EXACT, NULL)
        );
        // Two lone names agree whichever field each source used, in either order.
        assert_eq!(
            compare_names(&[name(Some(7), None)], &lone_family, true, &mut same),
            (name_level::EXACT, NULL, NULL)
        );
        assert_eq!(
            compare_names(&lone_family, &[name(Some(7), None)], true, &mut same),
            (name_level::EXACT, NULL, NULL)
        );
        // Two full spellings are compared part by part as before.
        assert_eq!(
            compare_names(&full, &[name(Some(7), Some(9))], true, &mut same),
            (name_level::EXACT, name_level::OTHER_DIFFERENT, NULL)
        );
    }

    #[test]
    fn birth_date_levels() {
        check_dates("1991-07-14", "1991-07-14", date_level::EXACT);
        check_dates("1991-07-14", "1991-07", date_level::PARTIAL_COMPATIBLE);
        check_dates("1991", "1991-07-14", date_level::PARTIAL_COMPATIBLE);
        check_dates("1991-07-04", "1991-04-07", date_level::DAY_MONTH_SWAPPED);
        check_dates("1991-07-14", "1991-07-15", date_level::ONE_DIGIT_OFF);
        check_dates("1991-07-14", "1981-07-14", date_level::ONE_DIGIT_OFF);
        check_dates("1991-07-14", "1985-02-01", date_level::DIFFERENT);
        check_dates("1991", "1992", date_level::DIFFERENT);
        check_dates("1991-07-14", "", NULL);
    }
}
