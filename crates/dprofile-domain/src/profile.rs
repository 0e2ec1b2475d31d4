//! Which stored record versions make up a profile at a time: the pure rules behind `as_of`
//! (what the registry knew then) and `valid_at` (what held on a date).

use chrono::{DateTime, NaiveDate, Utc};

use crate::envelope::Action;

/// What the selection needs to know of one stored version of a record.
pub trait VersionView {
    fn key(&self) -> (&str, &str);
    fn revision(&self) -> u32;
    fn action(&self) -> Action;
    fn received_at(&self) -> DateTime<Utc>;
    fn valid_from(&self) -> Option<NaiveDate>;
    fn valid_to(&self) -> Option<NaiveDate>;
}

/// Picks, per `(source, source_ref)`, the version in force at `as_of` (the highest revision
/// received by then, a retraction outranking an upsert of the same revision; none if that one
/// is a retraction), then keeps those valid at `valid_at`
/// (both ends inclusive, a missing end open). `None` for `as_of` means now.
pub fn select_facts<V: VersionView>(
    versions: &[V],
    as_of: Option<DateTime<Utc>>,
    valid_at: Option<NaiveDate>,
) -> Vec<&V> {
    let mut in_force: std::collections::BTreeMap<(&str, &str), &V> =
        std::collections::BTreeMap::new();
    for version in versions {
        if as_of.is_some_and(|as_of| version.received_at() > as_of) {
            continue;
        }
        let slot = in_force.entry(version.key()).or_insert(version);
        if precedence(version) > precedence(*slot) {
            *slot = version;
        }
    }
    in_force
        .into_values()
        .filter(|version| version.action() == Action::Upsert)
        .filter(|version| match valid_at {
            None => true,
            Some(date) => {
                version.valid_from().is_none_or(|from| from <= date)
                    && version.valid_to().is_none_or(|to| date <= to)
            }
        })
        .collect()
}

/// Order of versions of one key: higher revision first, then a retraction over an upsert of
/// the same revision (a source may withdraw without bumping the revision), then later receipt.
pub fn precedence<V: VersionView>(version: &V) -> (u32, bool, DateTime<Utc>) {
    (
        version.revision(),
        version.action() == Action::Retract,
        version.received_at(),
    )
}
