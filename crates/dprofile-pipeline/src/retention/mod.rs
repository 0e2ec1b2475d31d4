//! Retention: erase what the schedule says has expired, with everything derived from it, and
//! leave a tombstone in the access log; a while later, erase the access log's details about
//! persons whose data is gone (their leaf hashes stay, so the log still verifies).
//!
//! The unit of erasure is a key (`source`, `source_ref`) with all its versions: a superseded or
//! stale version is part of the record its successor continues, so it is kept exactly as long
//! as the version in force and never outlives it. A key's period is read from its latest
//! upsert (a retraction keeps the period of the data it withdrew). What remains of a person is
//! left as it is: its keys stay with it (retention never re-links), its identifiers and name
//! index are rebuilt from the versions that remain, and a person with nothing left is removed.
//!
//! Each person is erased in one transaction together with its tombstone, so an erasure is
//! never without its log entry. A person whose keys changed since they were read (an ingest
//! in between) is left for the next run. A dry run does the same work and rolls it back.

pub mod schedule;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome, erasure};
use dprofile_domain::linking::{StrongKey, name_keys, strong_keys};
use dprofile_domain::payload::{CrossingDirection, Payload};
use dprofile_domain::{Action, Category, ParseMode, parse_record};
use dprofile_store::{KeyId, PersonId, Store, StoreError, StoredVersion, WriteTx};
use serde::Serialize;

use crate::access_log::{AccessLog, AccessLogError, AccessRecord};
pub use schedule::{Anchor, DEFAULT_SCHEDULE, Rule, Schedule, ScheduleError};

pub use dprofile_audit::erasure::RETENTION_ACTOR;
/// Persons read per page while looking for what expired.
const PERSON_PAGE: usize = 1_000;
/// The reason a dry run's transactions give to roll back.
const DRY_RUN: &str = "retention dry run: rolled back";

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    AccessLog(#[from] AccessLogError),
}

/// Keys and versions erased in one category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CategoryCount {
    pub keys: u64,
    pub versions: u64,
}

/// What a run erased (or, in a dry run, would erase), machine-readable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub now: DateTime<Utc>,
    pub dry_run: bool,
    pub persons_examined: u64,
    /// Persons some of whose records were erased.
    pub persons_erased_from: u64,
    /// Persons with nothing left, removed (with the persons once merged into them).
    pub persons_removed: u64,
    /// Per category code (`uncategorised` for keys without one).
    pub categories: BTreeMap<String, CategoryCount>,
    pub identifiers_removed: u64,
    pub name_rows_removed: u64,
    pub review_items_removed: u64,
    /// Quarantined lines that were replayed into erased versions.
    pub quarantine_items_removed: u64,
    /// Decisions whose evidence quoted erased identifiers or cited erased versions.
    pub decisions_redacted: u64,
    /// Tombstones appended to the access log.
    pub tombstones: u64,
    /// Persons whose access-log details were erased (their data went long enough ago).
    pub log_details_persons: u64,
    pub log_details_entries: u64,
    /// Persons whose keys changed while the run read them: left for the next run.
    pub persons_changed_during_run: u64,
}

impl RetentionReport {
    pub fn keys_erased(&self) -> u64 {
        self.categories.values().map(|count| count.keys).sum()
    }
}

/// One key of a person as retention reads it: its versions, oldest first.
#[derive(Debug)]
struct KeyVersions<'a> {
    source: &'a str,
    source_ref: &'a str,
    versions: Vec<&'a StoredVersion>,
}

impl<'a> KeyVersions<'a> {
    /// The version in force, ordered as ingest orders them: the highest revision, and at one
    /// revision a retraction over an upsert (a lower one arriving later is stale).
    fn in_force(&self) -> &'a StoredVersion {
        self.versions
            .iter()
            .copied()
            .max_by_key(|version| (version.revision, version.action == Action::Retract))
            .unwrap_or(self.versions[0])
    }

    /// The version the period is read from: the latest upsert, else the version in force.
    fn basis(&self) -> &'a StoredVersion {
        self.versions
            .iter()
            .copied()
            .filter(|version| version.action == Action::Upsert)
            .max_by_key(|version| (version.revision, version.record_id))
            .unwrap_or_else(|| self.in_force())
    }

    fn category(&self) -> Option<Category> {
        self.versions
            .iter()
            .rev()
            .find_map(|version| version.category.as_deref().and_then(Category::from_code))
    }
}

/// When a person's border crossings expire (EES art. 34), read from the crossings in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BorderCrossings {
    /// `None`: not yet (the person is in the country, and the stay has not ended).
    expiry: Option<DateTime<Utc>>,
    /// The stay record whose validity ended the authorised stay of an overstayer: kept as long
    /// as the crossings, since their period is counted from it (erasing it first would make the
    /// stay look shorter, and the crossings expire earlier, on the next run).
    stay_key: Option<usize>,
}

/// `None` when the person has no crossing in force.
fn border_crossings(
    schedule: &Schedule,
    keys: &[KeyVersions<'_>],
    rule: Rule,
    now: DateTime<Utc>,
) -> Option<BorderCrossings> {
    let mut last_entry: Option<DateTime<Utc>> = None;
    let mut last_exit: Option<DateTime<Utc>> = None;
    let mut authorised_until: Option<(DateTime<Utc>, usize)> = None;
    for (index, key) in keys.iter().enumerate() {
        let in_force = key.in_force();
        if in_force.action != Action::Upsert {
            continue;
        }
        match key.category() {
            Some(Category::BorderCrossing) => {
                let Ok(record) = parse_record(&in_force.raw, ParseMode::Full) else {
                    continue;
                };
                if let Some(Payload::BorderCrossing(crossing)) = record.payload {
                    let slot = match crossing.direction {
                        CrossingDirection::Entry => &mut last_entry,
                        CrossingDirection::Exit => &mut last_exit,
                    };
                    *slot = (*slot).max(Some(crossing.crossed_at.0));
                }
            }
            Some(category) if schedule.stay.authorised_by.contains(&category) => {
                if let Some(valid_to) = in_force.valid_to {
                    let until = (schedule::end_of_day(valid_to), index);
                    authorised_until = authorised_until.max(Some(until));
                }
            }
            _ => {}
        }
    }
    if last_entry.is_none() && last_exit.is_none() {
        return None;
    }
    Some(match last_entry {
        Some(entry) if last_exit.is_none_or(|exit| entry > exit) => {
            // In the country since the last entry: the stay is authorised until the latest
            // validity of a stay record, or the visa-free stay after that entry. Past it with
            // no exit, the person overstayed (art. 34(3)); before it, nothing expires yet.
            let visa_free = entry + Duration::days(i64::from(schedule.stay.visa_free_days));
            let (stay_ends, stay_key) = match authorised_until {
                Some((until, index)) if until > visa_free => (until, Some(index)),
                _ => (visa_free, None),
            };
            let overstay_years = rule.overstay_years.unwrap_or(rule.years);
            BorderCrossings {
                expiry: (stay_ends <= now)
                    .then(|| schedule::years_after(stay_ends, overstay_years)),
                stay_key,
            }
        }
        _ => BorderCrossings {
            expiry: last_exit.map(|exit| schedule::years_after(exit, rule.years)),
            stay_key: None,
        },
    })
}

/// When a key expires by its own rule, from its latest upsert's validity or receipt.
fn own_expiry(key: &KeyVersions<'_>, rule: Rule) -> DateTime<Utc> {
    let basis = key.basis();
    let anchor = match rule.anchor {
        Anchor::ValidTo => basis
            .valid_to
            .map_or(basis.received_at, schedule::end_of_day),
        Anchor::Received | Anchor::LastExit => basis.received_at,
    };
    schedule::years_after(anchor, rule.years)
}

/// When each of a person's keys may be erased (`None`: not yet known to expire).
fn expiries(
    schedule: &Schedule,
    keys: &[KeyVersions<'_>],
    now: DateTime<Utc>,
) -> Vec<Option<DateTime<Utc>>> {
    let border_rule = schedule.rule_of(Some(Category::BorderCrossing));
    let border = if border_rule.anchor == Anchor::LastExit {
        border_crossings(schedule, keys, border_rule, now)
    } else {
        None
    };
    let mut expiries: Vec<Option<DateTime<Utc>>> = keys
        .iter()
        .map(|key| {
            let rule = schedule.rule_of(key.category());
            match (rule.anchor, border) {
                (Anchor::LastExit, Some(crossings)) => crossings.expiry,
                // Crossings all withdrawn: each by its own receipt.
                _ => Some(own_expiry(key, rule)),
            }
        })
        .collect();
    if let Some(BorderCrossings {
        expiry,
        stay_key: Some(index),
    }) = border
    {
        expiries[index] = match (expiries[index], expiry) {
            (Some(own), Some(crossings)) => Some(own.max(crossings)),
            _ => None,
        };
    }
    expiries
}

/// What a person's remaining versions still carry: identifiers and name-index rows.
fn index_of(versions: &[&StoredVersion]) -> (Vec<StrongKey>, Vec<(String, i32)>) {
    let mut identifiers = BTreeSet::new();
    let mut name_rows = BTreeSet::new();
    for version in versions {
        let Ok(record) = parse_record(&version.raw, ParseMode::SubjectOnly) else {
            continue;
        };
        identifiers.extend(strong_keys(&record.subject));
        let birth_year = record.subject.birth_date.map_or(0, |date| date.year());
        name_rows.extend(
            name_keys(&record.subject)
                .into_iter()
                .map(|key| (key, birth_year)),
        );
    }
    (
        identifiers.into_iter().collect(),
        name_rows.into_iter().collect(),
    )
}

/// What an erasure took away, to take it out of decisions' evidence too.
struct Erased<'a> {
    key_ids: &'a HashSet<KeyId>,
    identifiers: HashSet<String>,
    identifier_pairs: HashSet<(String, String)>,
    name_rows: HashSet<(String, i32)>,
}

/// Takes erased content out of a decision's evidence: erased key ids, identifier pairs and
/// name rows leave the lists of what a merge moved (a later split moves back what is left),
/// and identifiers quoted as text become `[erased]`. Returns whether anything changed.
fn redact(value: &mut serde_json::Value, erased: &Erased<'_>) -> bool {
    use serde_json::Value;
    let mut changed = false;
    match value {
        Value::Object(object) => {
            for (field, inner) in object.iter_mut() {
                let Value::Array(items) = inner else {
                    changed |= redact(inner, erased);
                    continue;
                };
                let before = items.len();
                match field.as_str() {
                    "key_ids" => items.retain(|item| {
                        item.as_i64()
                            .is_none_or(|key_id| !erased.key_ids.contains(&key_id))
                    }),
                    "identifiers" => items.retain(|item| {
                        let pair = serde_json::from_value::<(String, String)>(item.clone());
                        pair.map_or(true, |pair| !erased.identifier_pairs.contains(&pair))
                    }),
                    "name_keys_moved" | "name_keys_added" => items.retain(|item| {
                        let row = serde_json::from_value::<(String, i32)>(item.clone());
                        row.map_or(true, |row| !erased.name_rows.contains(&row))
                    }),
                    _ => {
                        for item in items.iter_mut() {
                            changed |= redact(item, erased);
                        }
                    }
                }
                changed |= items.len() != before;
            }
        }
        Value::String(text) if erased.identifiers.contains(text.as_str()) => {
            *text = "[erased]".to_owned();
            changed = true;
        }
        Value::Array(items) => {
            for item in items {
                changed |= redact(item, erased);
            }
        }
        _ => {}
    }
    changed
}

/// Runs the schedule over the whole store at `now`; with `dry_run`, every transaction is
/// rolled back and the report says what would have been erased.
pub fn run(
    store: &Arc<dyn Store>,
    log: &AccessLog,
    schedule: &Schedule,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<RetentionReport, RetentionError> {
    let mut report = RetentionReport {
        now,
        dry_run,
        persons_examined: 0,
        persons_erased_from: 0,
        persons_removed: 0,
        categories: BTreeMap::new(),
        identifiers_removed: 0,
        name_rows_removed: 0,
        review_items_removed: 0,
        quarantine_items_removed: 0,
        decisions_redacted: 0,
        tombstones: 0,
        log_details_persons: 0,
        log_details_entries: 0,
        persons_changed_during_run: 0,
    };
    let mut after: PersonId = 0;
    loop {
        let persons = store.persons_after(after, PERSON_PAGE)?;
        let Some(&last) = persons.last() else {
            break;
        };
        after = last;
        for person in persons {
            report.persons_examined += 1;
            erase_person(store.as_ref(), schedule, person, now, dry_run, &mut report)?;
        }
    }
    erase_log_details(store.as_ref(), schedule, now, dry_run, &mut report)?;
    if !dry_run && report.tombstones > 0 {
        // Sign the log with the tombstones in it, so the erasures are under a checkpoint.
        log.checkpoint(now)?;
    }
    Ok(report)
}

/// Commits `work`, or, in a dry run, does it and rolls it back.
fn write(
    store: &dyn Store,
    dry_run: bool,
    work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let result = store.write(&mut |tx| {
        work(tx)?;
        if dry_run {
            Err(StoreError::Aborted(DRY_RUN.to_owned()))
        } else {
            Ok(())
        }
    });
    match result {
        Err(StoreError::Aborted(reason)) if dry_run && reason == DRY_RUN => Ok(()),
        other => other,
    }
}

/// What one person's erasure did, counted inside its transaction.
#[derive(Default)]
struct PersonErasure {
    changed_meanwhile: bool,
    categories: BTreeMap<String, CategoryCount>,
    identifiers: u64,
    name_rows: u64,
    review_items: u64,
    quarantine_items: u64,
    decisions: u64,
    removed: u64,
}

fn erase_person(
    store: &dyn Store,
    schedule: &Schedule,
    person: PersonId,
    now: DateTime<Utc>,
    dry_run: bool,
    report: &mut RetentionReport,
) -> Result<(), RetentionError> {
    let versions = store.person_versions(person)?;
    let mut by_key: HashMap<(&str, &str), usize> = HashMap::new();
    let mut keys: Vec<KeyVersions<'_>> = Vec::new();
    for version in &versions {
        let slot = *by_key
            .entry((version.source.as_str(), version.source_ref.as_str()))
            .or_insert_with(|| {
                keys.push(KeyVersions {
                    source: &version.source,
                    source_ref: &version.source_ref,
                    versions: Vec::new(),
                });
                keys.len() - 1
            });
        keys[slot].versions.push(version);
    }
    let expiries = expiries(schedule, &keys, now);
    let expired: Vec<usize> = (0..keys.len())
        .filter(|&index| expiries[index].is_some_and(|expiry| expiry <= now))
        .collect();
    if expired.is_empty() {
        return Ok(());
    }
    let remaining: Vec<&StoredVersion> = keys
        .iter()
        .enumerate()
        .filter(|(index, _)| !expired.contains(index))
        .flat_map(|(_, key)| key.versions.iter().copied())
        .collect();
    let (identifiers, name_rows) = index_of(&remaining);
    let decisions = store.person_decisions(person)?;
    let pairs: Vec<(&str, &str)> = keys
        .iter()
        .map(|key| (key.source, key.source_ref))
        .collect();
    let mut erasure = PersonErasure::default();
    write(store, dry_run, &mut |tx| {
        erasure = PersonErasure::default();
        // The keys must be those read above, each with the same version in force; otherwise
        // an ingest came in between and the person is looked at again next run.
        let states = tx.load_keys(&pairs)?;
        let mut key_ids = Vec::with_capacity(keys.len());
        for (key, state) in keys.iter().zip(&states) {
            match state {
                Some(state)
                    if state.person_id == Some(person)
                        && state.record_id == key.in_force().record_id =>
                {
                    key_ids.push(state.key_id.unwrap_or_default());
                }
                _ => {
                    erasure.changed_meanwhile = true;
                    return Ok(());
                }
            }
        }
        let mut held: Vec<KeyId> = tx
            .keys_of_persons(&[person])?
            .into_iter()
            .map(|(key_id, _)| key_id)
            .collect();
        held.sort_unstable();
        let mut read: Vec<KeyId> = key_ids.clone();
        read.sort_unstable();
        if held != read {
            erasure.changed_meanwhile = true;
            return Ok(());
        }
        let erased_ids: HashSet<KeyId> = expired.iter().map(|&index| key_ids[index]).collect();
        let mut categories_erased = BTreeSet::new();
        let mut versions_erased = 0u64;
        for &index in &expired {
            let code = keys[index]
                .category()
                .map_or("uncategorised", Category::code)
                .to_owned();
            let counted = tx.erase_keys(&[key_ids[index]])?;
            let count = erasure.categories.entry(code.clone()).or_default();
            count.keys += counted.keys;
            count.versions += counted.versions;
            versions_erased += counted.versions;
            erasure.review_items += counted.review_items;
            erasure.quarantine_items += counted.quarantine_items;
            erasure.decisions += counted.decisions_uncited;
            categories_erased.insert(code);
        }
        let removals = tx.retain_person_index(person, &identifiers, &name_rows)?;
        erasure.identifiers = removals.identifiers.len() as u64;
        erasure.name_rows = removals.name_rows.len() as u64;
        let erased = Erased {
            key_ids: &erased_ids,
            identifiers: removals
                .identifiers
                .iter()
                .map(ToString::to_string)
                .collect(),
            identifier_pairs: removals
                .identifiers
                .iter()
                .map(|key| (key.kind.code().to_owned(), key.value.clone()))
                .collect(),
            name_rows: removals.name_rows.iter().cloned().collect(),
        };
        for decision in &decisions {
            let mut evidence = decision.evidence.clone();
            if redact(&mut evidence, &erased) {
                evidence["redacted_by_retention"] = serde_json::json!(now);
                tx.update_decision_evidence(decision.id, &evidence)?;
                erasure.decisions += 1;
            }
        }
        if remaining.is_empty() {
            erasure.removed = tx.remove_persons(&[person], now)?.len() as u64;
        }
        let tombstone = AccessEntry {
            at: now,
            actor: RETENTION_ACTOR.to_owned(),
            agency: "dprofile".to_owned(),
            role: "retention".to_owned(),
            purpose: "retention_schedule".to_owned(),
            // The count, where an access entry has room for free text.
            case_ref: Some(format!(
                "retention/keys={}/versions={versions_erased}",
                expired.len()
            )),
            action: AccessAction::Erase,
            person: Some(person),
            categories: categories_erased.into_iter().collect(),
            outcome: AccessOutcome::Allowed,
        };
        AccessLog::append_in(
            tx,
            &[AccessRecord {
                entry: tombstone,
                disclosure_delay: Duration::zero(),
            }],
        )?;
        Ok(())
    })?;
    if erasure.changed_meanwhile {
        report.persons_changed_during_run += 1;
        return Ok(());
    }
    report.persons_erased_from += 1;
    report.persons_removed += erasure.removed;
    for (code, count) in erasure.categories {
        let total = report.categories.entry(code).or_default();
        total.keys += count.keys;
        total.versions += count.versions;
    }
    report.identifiers_removed += erasure.identifiers;
    report.name_rows_removed += erasure.name_rows;
    report.review_items_removed += erasure.review_items;
    report.quarantine_items_removed += erasure.quarantine_items;
    report.decisions_redacted += erasure.decisions;
    report.tombstones += 1;
    Ok(())
}

/// Erases the access-log details about persons whose data went at least
/// `schedule.log_details_after()` ago, with one retention record (about no person) naming the
/// positions erased, so that `audit verify` can tell them from details removed by hand.
fn erase_log_details(
    store: &dyn Store,
    schedule: &Schedule,
    now: DateTime<Utc>,
    dry_run: bool,
    report: &mut RetentionReport,
) -> Result<(), RetentionError> {
    let persons = store.persons_erased_before(now - schedule.log_details_after())?;
    if persons.is_empty() {
        return Ok(());
    }
    let mut entries = 0u64;
    write(store, dry_run, &mut |tx| {
        entries = erase_access_details(tx, &persons, now)?;
        Ok(())
    })?;
    report.log_details_persons += persons.len() as u64;
    report.log_details_entries += entries;
    report.tombstones += 1;
    Ok(())
}

/// Erases the details of every access-log entry about `persons` inside `tx` and appends the
/// retention record naming their positions; returns how many were erased.
pub fn erase_access_details(
    tx: &mut dyn WriteTx,
    persons: &[PersonId],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let positions = tx.erase_access_details(persons, now)?;
    AccessLog::append_in(
        tx,
        &[AccessRecord {
            entry: erasure::details_erasure(now, &positions),
            disclosure_delay: Duration::zero(),
        }],
    )?;
    Ok(positions.len() as u64)
}
