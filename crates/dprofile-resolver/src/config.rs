//! The resolver's whole configuration in one typed struct: blocking rules, generic attributes,
//! thresholds, how m and u are obtained, and the clustering constraints.

use serde::Serialize;

/// How a generic attribute is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AttributeComparison {
    /// Same or different (identifiers, codes).
    Exact,
    /// Exact, close (one edit or Jaro-Winkler >= 0.95), fuzzy (Jaro-Winkler >= 0.88), different.
    Fuzzy,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeConfig {
    pub name: String,
    pub comparison: AttributeComparison,
    /// Whether agreement on a rare value counts for more than on a common one.
    pub term_frequency: bool,
}

impl AttributeConfig {
    pub fn new(name: &str, comparison: AttributeComparison, term_frequency: bool) -> Self {
        AttributeConfig {
            name: name.to_owned(),
            comparison,
            term_frequency,
        }
    }
}

/// How two different folded name forms are scored for the close and fuzzy levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NameMetric {
    /// Jaro-Winkler, close at 0.95 and fuzzy at 0.88.
    JaroWinkler,
    /// [`dprofile_domain::names::folded_similarity`]: the mean of Jaro-Winkler and the
    /// sound-weighted edit similarity, close at 0.92 and fuzzy at 0.85.
    FoldedSound,
}

/// One component of a blocking key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum BlockingPart {
    FamilyPhonetic,
    GivenPhonetic,
    FamilyFolded,
    GivenFolded,
    /// The phonetic keys of family and given name as an unordered pair: catches swapped names.
    NamePairPhonetic,
    /// The phonetic key of each name part, family or given, one key per part: a word that one
    /// source wrote as the family name and another as the given name (or as the only name)
    /// still blocks together.
    AnyNamePhonetic,
    BirthYear,
    /// The full birth date; records with a partial date give no key.
    BirthDate,
    /// Month and day of a full birth date: catches a mistyped year.
    BirthMonthDay,
    /// Any strong identifier (passport, national id, SNILS, INN, ESIA): one key per identifier.
    StrongKey,
    /// The exact value of a configured generic attribute.
    Attribute(String),
}

/// Records that agree on every part of a rule become candidate pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockingRule {
    pub parts: Vec<BlockingPart>,
    /// Whether EM trains m on this rule's pairs. A loose rule (names alone) gathers namesakes
    /// who agree on sex, citizenship and birth place far more than random pairs do; EM then
    /// counts them as matches, so such a rule proposes pairs but does not train.
    pub trains: bool,
}

impl BlockingRule {
    pub fn new(parts: Vec<BlockingPart>) -> BlockingRule {
        BlockingRule {
            parts,
            trains: true,
        }
    }

    pub fn without_training(self) -> BlockingRule {
        BlockingRule {
            trains: false,
            ..self
        }
    }
}

/// m and u of one field, set by hand instead of estimated (levels in the order of
/// [`crate::model::FieldModel::levels`], the null level included and ignored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixedProbabilities {
    pub field: String,
    pub m: Vec<f64>,
    pub u: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolverConfig {
    pub blocking_rules: Vec<BlockingRule>,
    /// Blocks larger than this are not compared all against all: their members are sorted by
    /// name and each is compared with its `sub_block_window` neighbours, so that cost stays
    /// about linear when a key is shared by thousands (a common name born in a common year).
    pub max_block_size: usize,
    pub sub_block_window: usize,
    pub attributes: Vec<AttributeConfig>,
    pub name_metric: NameMetric,
    /// Match probability at or above which a pair is linked automatically.
    pub link_probability: f64,
    /// Match probability at or above which an unlinked pair is listed for human review.
    pub review_probability: f64,
    pub em_iterations: usize,
    /// Random pairs drawn to estimate u (the chance that two different persons agree).
    pub u_sample_pairs: usize,
    /// Seeds the random-pair draw; the draw is over records in content order, so the result
    /// stays independent of input order.
    pub seed: u64,
    /// Fields whose m and u are set here rather than estimated.
    pub fixed_probabilities: Vec<FixedProbabilities>,
    /// Lower bound of a value's relative frequency in term-frequency adjustment, so that one
    /// unique typo does not weigh like a fingerprint.
    pub term_frequency_minimum: f64,
    /// Two different passport numbers of one country may join one person on a name and full
    /// birth date agreement alone (no validity dates, no shared SNILS/INN/ESIA). Off by
    /// default: namesakes agree on exactly those.
    pub passport_renewal_on_name_and_birth_date: bool,
    /// The same with the patronymic agreeing exactly, citizenship the same and sex not
    /// different: the father's name sets namesakes apart.
    pub passport_renewal_on_full_name_and_birth_date: bool,
    /// Either name rule above also needs the records' days to fit a renewal: after the newer
    /// passport was issued (or first cited), at most this share of the records citing either
    /// passport may still cite the older one. A renewed passport replaces the old one, which
    /// only sources with stale files keep citing; two namesakes each keep using their own
    /// passport. Records without an observation day give no such evidence, and then the name
    /// rules do not apply.
    pub passport_renewal_stale_share: f64,
    /// Two groups of records merge only if the average match probability over all pairs of
    /// records across them (scored afresh, proposed by blocking or not) reaches this: a chain
    /// of pairwise links cannot join records that disagree with each other.
    pub minimum_average_linkage: Option<f64>,
    /// A spelling with only a family or only a given name is compared with both parts of
    /// the other record's spelling: sources put a single name (a mononym, or the one word
    /// a source had) in either field.
    pub lone_name_matches_either_part: bool,
    pub threads: usize,
}

impl ResolverConfig {
    /// Blocking and fields for person records of the registry (names in any script, birth
    /// date, documents and identifiers).
    pub fn for_person_records() -> ResolverConfig {
        use BlockingPart::*;
        ResolverConfig {
            blocking_rules: vec![
                BlockingRule::new(vec![StrongKey]),
                // Unordered, so swapped family and given names block together too.
                BlockingRule::new(vec![NamePairPhonetic, BirthYear]),
                BlockingRule::new(vec![GivenPhonetic, BirthDate]),
                BlockingRule::new(vec![FamilyPhonetic, BirthDate]),
                // Same names with a mistyped birth year. Names alone (without the month and
                // day) proposed twice the pairs of all other rules together, most of them
                // namesakes, for 0.4 points of recall and a loss of precision.
                BlockingRule::new(vec![FamilyFolded, GivenFolded, BirthMonthDay])
                    .without_training(),
            ],
            max_block_size: 100,
            sub_block_window: 10,
            attributes: Vec::new(),
            name_metric: NameMetric::JaroWinkler,
            link_probability: 0.99,
            review_probability: 0.5,
            em_iterations: 25,
            u_sample_pairs: 1_000_000,
            seed: 7,
            fixed_probabilities: Vec::new(),
            term_frequency_minimum: 0.0001,
            passport_renewal_on_name_and_birth_date: false,
            // Same-father namesakes agree on all of it; the days of the citations set them
            // apart (`passport_renewal_stale_share`).
            passport_renewal_on_full_name_and_birth_date: true,
            // On the synthetic 100k: 0.15 gave P 0.9964 R 0.9722, 0.2 P 0.9958 R 0.9741,
            // 0.25 P 0.9956 R 0.9754, 0.34 P 0.9954 R 0.9761; precision first.
            passport_renewal_stale_share: 0.2,
            minimum_average_linkage: Some(0.5),
            lone_name_matches_either_part: true,
            threads: std::thread::available_parallelism()
                .map(|count| count.get())
                .unwrap_or(1),
        }
    }

    /// The same engine for generic tabular data: the named attributes, blocking on the given
    /// rules.
    pub fn for_attributes(
        attributes: Vec<AttributeConfig>,
        blocking_rules: Vec<BlockingRule>,
    ) -> ResolverConfig {
        ResolverConfig {
            blocking_rules,
            attributes,
            ..ResolverConfig::for_person_records()
        }
    }

    pub fn link_weight(&self) -> f64 {
        probability_to_weight(self.link_probability)
    }

    pub fn review_weight(&self) -> f64 {
        probability_to_weight(self.review_probability)
    }
}

impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig::for_person_records()
    }
}

/// Match weight (log2 of the odds) of a match probability.
pub fn probability_to_weight(probability: f64) -> f64 {
    let clamped = probability.clamp(1e-12, 1.0 - 1e-12);
    (clamped / (1.0 - clamped)).log2()
}

/// Match probability of a match weight.
pub fn weight_to_probability(weight: f64) -> f64 {
    let odds = weight.exp2();
    odds / (1.0 + odds)
}
