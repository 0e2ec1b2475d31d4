//! Clustering that respects evidence: pairs above the link threshold are merged strongest
//! first, and a merge is refused when the merged person would hold two different
//! one-per-person identifiers (SNILS, INN, ESIA) or two passports of one country that no
//! renewal pattern explains. Weak links therefore cannot chain two persons together through a
//! third record.

use chrono::NaiveDate;
use dprofile_domain::linking::KeyKind;

use crate::compare::{Pattern, date_level, document_level, equality_level, level_of, name_level};
use crate::config::ResolverConfig;
use crate::prepare::{Interner, Prepared, PreparedDocument, ValueId};

/// A scored candidate pair, in content order.
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    pub weight: f64,
    pub left: u32,
    pub right: u32,
    pub pattern: Pattern,
}

/// Why a pair above the review threshold did not become a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// Between the review and the link threshold.
    BetweenThresholds,
    /// Above the link threshold, but merging would put conflicting identifiers in one person.
    ConflictingIdentifiers,
    /// Above the link threshold, but the two groups are not linked strongly enough as a whole.
    WeakGroupLinkage,
}

/// What a cluster holds that a merge must not contradict.
#[derive(Debug, Default, Clone)]
struct Evidence {
    one_per_person: Vec<(KeyKind, ValueId)>,
    documents: Vec<PreparedDocument>,
}

/// Officers' decisions that clustering must respect: records held together as one person
/// before any link is considered, and groups that must never be joined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Constraints {
    /// Groups of records (content-order indices inside the engine, caller ids outside it)
    /// that are one person whatever their scores say.
    pub together: Vec<Vec<u32>>,
    /// Pairs of groups (indices into `together`) that are different persons.
    pub apart: Vec<(usize, usize)>,
}

pub struct Clustering {
    /// Root (cluster) of every record, in content order.
    pub cluster_of: Vec<u32>,
    pub links_made: usize,
    /// Edges above review threshold whose ends stayed apart, with the reason.
    pub review: Vec<(Edge, ReviewReason)>,
}

struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    fn new(count: usize) -> UnionFind {
        UnionFind {
            parent: (0..count as u32).collect(),
            size: vec![1; count],
        }
    }

    fn find(&mut self, mut node: u32) -> u32 {
        while self.parent[node as usize] != node {
            let grandparent = self.parent[self.parent[node as usize] as usize];
            self.parent[node as usize] = grandparent;
            node = grandparent;
        }
        node
    }
}

fn validity_apart(left: &PreparedDocument, right: &PreparedDocument) -> bool {
    let ends_before = |earlier: &PreparedDocument, later: &PreparedDocument| {
        matches!((earlier.expires_on, later.issued_on), (Some(end), Some(start)) if end <= start)
            // A renewal is issued before the old passport expires; what matters is that the
            // new one was issued after the old one.
            || matches!((earlier.issued_on, later.issued_on), (Some(first), Some(second)) if first < second && earlier.expires_on.is_some_and(|end: NaiveDate| end <= second + chrono::Days::new(366)))
    };
    ends_before(left, right) || ends_before(right, left)
}

fn one_character_apart(
    left: &PreparedDocument,
    right: &PreparedDocument,
    interner: &Interner,
) -> bool {
    crate::names::bounded_damerau_levenshtein(
        interner.text(left.number),
        interner.text(right.number),
        1,
    ) <= 1
}

/// Whether the linking pair shares a SNILS, INN or ESIA account: then two passport numbers
/// are one person's.
fn edge_shares_identifier(pattern: Pattern) -> bool {
    (7..=9).any(|index| level_of(pattern, index) == equality_level::SAME)
}

/// Whether the linking pair's names and birth date are strong enough for the name rules of
/// renewal (which still need the citations' days to fit: [`citations_fit_renewal`]).
fn edge_supports_renewal_by_name(pattern: Pattern, config: &ResolverConfig) -> bool {
    // Field order is fixed: see `compare::FIXED_FIELDS`.
    let (family, given, patronymic, birth_date) = (
        level_of(pattern, 0),
        level_of(pattern, 1),
        level_of(pattern, 2),
        level_of(pattern, 3),
    );
    let strong_name_and_date = matches!(family, name_level::EXACT | name_level::CLOSE)
        && matches!(given, name_level::EXACT | name_level::CLOSE)
        && patronymic != 3
        && birth_date == date_level::EXACT;
    // Namesakes share a name and a birth date far more often than they also share a
    // patronymic (the father's name), citizenship and sex.
    let full_name_and_date = strong_name_and_date
        && patronymic == name_level::EXACT
        && level_of(pattern, 4) != equality_level::DIFFERENT
        && level_of(pattern, 5) == equality_level::SAME;
    (config.passport_renewal_on_name_and_birth_date && strong_name_and_date)
        || (config.passport_renewal_on_full_name_and_birth_date && full_name_and_date)
}

/// Days on which the records of `members` that cite `document` were observed, sorted.
fn citation_days(members: &[u32], document: ValueId, prepared: &Prepared) -> Vec<i32> {
    let mut days: Vec<i32> = members
        .iter()
        .map(|&member| &prepared.records[member as usize])
        .filter(|record| record.documents.iter().any(|held| held.key == document))
        .filter_map(|record| record.observed_on)
        .collect();
    days.sort_unstable();
    days
}

/// Whether the days of the records citing two passports fit one person who replaced one by
/// the other. A renewed passport replaces the old one: after the new one was issued (or, when
/// its issue date is unknown, first cited), the old one is cited only by sources whose files
/// lag behind — at most `stale_share` of the citations of either passport from then on. Two
/// namesakes each keep citing their own passport, so the "old" one keeps coming. Without
/// validity dates either passport may be the newer one, so both orders are tried. Records
/// without an observation day say nothing; with none on either side the answer is no.
pub(crate) fn citations_fit_renewal(
    (left, left_days): (&PreparedDocument, &[i32]),
    (right, right_days): (&PreparedDocument, &[i32]),
    stale_share: f64,
) -> bool {
    let fits =
        |old: &PreparedDocument, old_days: &[i32], new: &PreparedDocument, new_days: &[i32]| {
            let Some(&first_new) = new_days.first() else {
                return false;
            };
            if old_days.is_empty() {
                return false;
            }
            if let (Some(old_issued), Some(new_issued)) = (old.issued_on, new.issued_on)
                && old_issued >= new_issued
            {
                return false;
            }
            let replaced_from = new.issued_on.map_or(first_new, |issued| {
                chrono::Datelike::num_days_from_ce(&issued).min(first_new)
            });
            let stale = old_days
                .iter()
                .filter(|&&observed| observed > replaced_from)
                .count();
            stale as f64 <= stale_share * (stale + new_days.len()) as f64
        };
    fits(left, left_days, right, right_days) || fits(right, right_days, left, left_days)
}

/// One of the two groups a link would merge: what it holds and which records it is.
struct Side<'a> {
    evidence: &'a Evidence,
    members: &'a [u32],
}

fn compatible(
    left: Side<'_>,
    right: Side<'_>,
    edge: &Edge,
    prepared: &Prepared,
    config: &ResolverConfig,
) -> bool {
    for (left_kind, left_value) in &left.evidence.one_per_person {
        for (right_kind, right_value) in &right.evidence.one_per_person {
            if left_kind == right_kind && left_value != right_value {
                return false;
            }
        }
    }
    // Two groups that already share a SNILS, INN or ESIA account are one person: passports
    // that differ between them are a renewal, whichever records carried the shared key.
    let shares_identifier = edge_shares_identifier(edge.pattern)
        || left
            .evidence
            .one_per_person
            .iter()
            .any(|key| right.evidence.one_per_person.contains(key));
    let mut name_support: Option<bool> = None;
    for left_document in &left.evidence.documents {
        if right
            .evidence
            .documents
            .iter()
            .any(|document| document.key == left_document.key)
        {
            continue;
        }
        for right_document in &right.evidence.documents {
            if right_document.kind != left_document.kind
                || right_document.country != left_document.country
                || left
                    .evidence
                    .documents
                    .iter()
                    .any(|document| document.key == right_document.key)
            {
                continue;
            }
            let explained = shares_identifier
                || validity_apart(left_document, right_document)
                || (level_of(edge.pattern, 6) != document_level::DIFFERENT_SAME_COUNTRY
                    && one_character_apart(left_document, right_document, &prepared.interner))
                // Names and days speak for a renewed passport only: an identity card number
                // is the person's for life in the countries that issue one.
                || (left_document.kind == KeyKind::Passport
                    && *name_support
                        .get_or_insert_with(|| edge_supports_renewal_by_name(edge.pattern, config))
                    && citations_fit_renewal(
                        (
                            left_document,
                            &citation_days(left.members, left_document.key, prepared),
                        ),
                        (
                            right_document,
                            &citation_days(right.members, right_document.key, prepared),
                        ),
                        config.passport_renewal_stale_share,
                    ));
            if !explained {
                return false;
            }
        }
    }
    true
}

/// Most record pairs scored when checking that two groups belong together; beyond it the
/// first members of each group (in content order) stand for the group.
const LINKAGE_PAIR_CAP: usize = 256;

/// Whether the average match probability over the pairs of records across two groups, scored
/// afresh (blocking may not have proposed them), reaches `minimum`. Scoring stops as soon as
/// the answer is certain: probabilities lie in 0..=1, so the pairs already scored bound the
/// average from both sides.
fn linked_on_average(
    left_members: &[u32],
    right_members: &[u32],
    score: &dyn Fn(u32, u32) -> f64,
    minimum: f64,
) -> bool {
    let side = (LINKAGE_PAIR_CAP as f64).sqrt() as usize;
    let (left_take, right_take) = if left_members.len() * right_members.len() <= LINKAGE_PAIR_CAP {
        (left_members.len(), right_members.len())
    } else {
        (left_members.len().min(side), right_members.len().min(side))
    };
    let count = left_take * right_take;
    if count == 0 {
        return true;
    }
    let needed = minimum * count as f64;
    let mut total = 0.0;
    let mut remaining = count as f64;
    for &left in left_members.iter().take(left_take) {
        for &right in right_members.iter().take(right_take) {
            total += crate::config::weight_to_probability(score(left, right));
            remaining -= 1.0;
            if total >= needed {
                return true;
            }
            if total + remaining < needed {
                return false;
            }
        }
    }
    total >= needed
}

/// Joins two roots: union by size; the merged evidence, members and officers' groups move
/// to the new root.
fn join(
    union_find: &mut UnionFind,
    evidence: &mut [Option<Evidence>],
    members: &mut [Vec<u32>],
    groups: &mut [Vec<usize>],
    left_root: u32,
    right_root: u32,
) -> u32 {
    let (root, child) =
        if union_find.size[left_root as usize] >= union_find.size[right_root as usize] {
            (left_root, right_root)
        } else {
            (right_root, left_root)
        };
    union_find.parent[child as usize] = root;
    union_find.size[root as usize] += union_find.size[child as usize];
    if let Some(child_evidence) = evidence[child as usize].take() {
        let root_evidence = evidence[root as usize].get_or_insert_with(Evidence::default);
        for key in child_evidence.one_per_person {
            if !root_evidence.one_per_person.contains(&key) {
                root_evidence.one_per_person.push(key);
            }
        }
        for document in child_evidence.documents {
            match root_evidence
                .documents
                .iter_mut()
                .find(|held| held.key == document.key)
            {
                // Validity dates that only some records gave still count for the person.
                Some(held) => {
                    held.issued_on = held.issued_on.or(document.issued_on);
                    held.expires_on = held.expires_on.or(document.expires_on);
                }
                None => root_evidence.documents.push(document),
            }
        }
    }
    if !members.is_empty() {
        let moved = std::mem::take(&mut members[child as usize]);
        let kept = &mut members[root as usize];
        kept.extend(moved);
        kept.sort_unstable();
    }
    let moved_groups = std::mem::take(&mut groups[child as usize]);
    groups[root as usize].extend(moved_groups);
    root
}

pub fn cluster(
    prepared: &Prepared,
    mut edges: Vec<Edge>,
    config: &ResolverConfig,
    constraints: &Constraints,
    score: &dyn Fn(u32, u32) -> f64,
) -> Clustering {
    let count = prepared.records.len();
    let link_weight = config.link_weight();
    // Strongest first; ties in content order, so the outcome does not follow input order.
    // The key orders weights descending as integers: the bits of a float ordered as its
    // value (`total_cmp`'s order), inverted.
    crate::parallel_sort_by_key(&mut edges, config.threads, |edge| {
        let bits = edge.weight.to_bits() as i64;
        let ordered = bits ^ ((((bits >> 63) as u64) >> 1) as i64);
        (std::cmp::Reverse(ordered), edge.left, edge.right)
    });
    let mut union_find = UnionFind::new(count);
    let mut evidence: Vec<Option<Evidence>> = prepared
        .records
        .iter()
        .map(|record| {
            let mut one_per_person = Vec::new();
            for (kind, value) in [
                (KeyKind::Snils, record.snils),
                (KeyKind::Inn, record.inn),
                (KeyKind::Esia, record.esia),
            ] {
                if let Some(value) = value {
                    one_per_person.push((kind, value));
                }
            }
            if one_per_person.is_empty() && record.documents.is_empty() {
                None
            } else {
                Some(Evidence {
                    one_per_person,
                    documents: record.documents.clone(),
                })
            }
        })
        .collect();
    // Members per root: group linkage scores them, and the renewal rules read their days.
    let mut members: Vec<Vec<u32>> = (0..count as u32).map(|node| vec![node]).collect();
    // Officers' groups per root, and the pairs of groups kept apart.
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (group, records) in constraints.together.iter().enumerate() {
        let Some(&first) = records.first() else {
            continue;
        };
        let root = union_find.find(first);
        groups[root as usize].push(group);
        for &record in &records[1..] {
            let (left_root, right_root) = (union_find.find(first), union_find.find(record));
            if left_root != right_root {
                join(
                    &mut union_find,
                    &mut evidence,
                    &mut members,
                    &mut groups,
                    left_root,
                    right_root,
                );
            }
        }
    }
    let apart: std::collections::HashSet<(usize, usize)> = constraints
        .apart
        .iter()
        .map(|&(first, second)| (first.min(second), first.max(second)))
        .collect();
    let ruled_apart = |groups: &[Vec<usize>], left_root: u32, right_root: u32| {
        !apart.is_empty()
            && groups[left_root as usize].iter().any(|&left| {
                groups[right_root as usize]
                    .iter()
                    .any(|&right| apart.contains(&(left.min(right), left.max(right))))
            })
    };
    let mut links_made = 0;
    let mut refused: Vec<(Edge, ReviewReason)> = Vec::new();
    let mut between: Vec<Edge> = Vec::new();
    for edge in edges {
        if edge.weight < link_weight {
            between.push(edge);
            continue;
        }
        let left_root = union_find.find(edge.left);
        let right_root = union_find.find(edge.right);
        if left_root == right_root {
            continue;
        }
        // An officer ruled these apart: no link, and nothing to review again.
        if ruled_apart(&groups, left_root, right_root) {
            continue;
        }
        let empty = Evidence::default();
        let left = Side {
            evidence: evidence[left_root as usize].as_ref().unwrap_or(&empty),
            members: &members[left_root as usize],
        };
        let right = Side {
            evidence: evidence[right_root as usize].as_ref().unwrap_or(&empty),
            members: &members[right_root as usize],
        };
        if !compatible(left, right, &edge, prepared, config) {
            refused.push((edge, ReviewReason::ConflictingIdentifiers));
            continue;
        }
        if let Some(minimum) = config.minimum_average_linkage
            && members[left_root as usize].len() + members[right_root as usize].len() > 2
            && !linked_on_average(
                &members[left_root as usize],
                &members[right_root as usize],
                score,
                minimum,
            )
        {
            refused.push((edge, ReviewReason::WeakGroupLinkage));
            continue;
        }
        join(
            &mut union_find,
            &mut evidence,
            &mut members,
            &mut groups,
            left_root,
            right_root,
        );
        links_made += 1;
    }
    let cluster_of: Vec<u32> = (0..count as u32)
        .map(|node| union_find.find(node))
        .collect();
    let mut review: Vec<(Edge, ReviewReason)> = refused
        .into_iter()
        .chain(
            between
                .into_iter()
                .map(|edge| (edge, ReviewReason::BetweenThresholds)),
        )
        .filter(|(edge, _)| {
            let (left, right) = (
                cluster_of[edge.left as usize],
                cluster_of[edge.right as usize],
            );
            left != right && !ruled_apart(&groups, left, right)
        })
        .collect();
    // One review item per pair of persons: the strongest pair of records between them.
    review.sort_unstable_by(|(left, _), (right, _)| {
        let key = |edge: &Edge| {
            let (first, second) = (
                cluster_of[edge.left as usize],
                cluster_of[edge.right as usize],
            );
            (first.min(second), first.max(second))
        };
        key(left)
            .cmp(&key(right))
            .then(right.weight.total_cmp(&left.weight))
            .then(left.left.cmp(&right.left))
            .then(left.right.cmp(&right.right))
    });
    review.dedup_by_key(|(edge, _)| {
        let (first, second) = (
            cluster_of[edge.left as usize],
            cluster_of[edge.right as usize],
        );
        (first.min(second), first.max(second))
    });
    Clustering {
        cluster_of,
        links_made,
        review,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passport(key: ValueId, issued_on: Option<&str>) -> PreparedDocument {
        PreparedDocument {
            kind: KeyKind::Passport,
            country: 1,
            number: key,
            key,
            issued_on: issued_on.and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()),
            expires_on: None,
        }
    }

    /// `old` and `new` are the days the two passports were cited.
    fn check_fit(
        (old_issued, old_days): (Option<&str>, &[i32]),
        (new_issued, new_days): (Option<&str>, &[i32]),
        expected: bool,
    ) {
        let (old, new) = (passport(2, old_issued), passport(3, new_issued));
        // The answer must not depend on which group is left.
        for (left, right) in [
            ((&old, old_days), (&new, new_days)),
            ((&new, new_days), (&old, old_days)),
        ] {
            assert_eq!(
                citations_fit_renewal(left, right, 0.25),
                expected,
                "old {old_days:?} new {new_days:?}"
            );
        }
    }

    const YEAR_2022: i32 = 738_156; // 2022-01-01 in days from the common era

    #[test]
    fn a_renewal_replaces_the_old_passport() {
        let day = |offset: i32| YEAR_2022 + offset;
        // Old until day 100, new from day 120: no interleaving.
        check_fit(
            (None, &[day(0), day(50), day(100)]),
            (None, &[day(120), day(200)]),
            true,
        );
        // One stale citation of the old passport among five of the new one.
        check_fit(
            (None, &[day(0), day(50), day(300)]),
            (None, &[day(120), day(200), day(250), day(400), day(500)]),
            true,
        );
        // The new passport was issued on day 60; old citations after it are stale.
        check_fit(
            (Some("2012-03-01"), &[day(0), day(50), day(100)]),
            (Some("2022-03-02"), &[day(120), day(200)]),
            false,
        );
    }

    #[test]
    fn namesakes_keep_citing_both_passports() {
        let day = |offset: i32| YEAR_2022 + offset;
        check_fit(
            (None, &[day(0), day(60), day(130), day(260)]),
            (None, &[day(30), day(100), day(200), day(300)]),
            false,
        );
        // Validity dates fix which passport is the newer: the one issued later cannot be
        // replaced by one issued before it, whatever the order of citations.
        check_fit(
            (Some("2020-05-01"), &[day(120), day(200)]),
            (Some("2015-05-01"), &[day(0), day(50)]),
            false,
        );
        // Without days nothing fits.
        check_fit((None, &[]), (None, &[day(0)]), false);
    }
}
