//! The change feed's outbox (issue 7): the events a change writes in its own transaction.
//!
//! An ingest chunk, an officer's merge, split or review verdict, and the daily job each collect
//! their events in an [`Outbox`] and write it last in their transaction
//! ([`Outbox::write`]): the change and its events commit together or not at all, so a crash
//! between a commit and a delivery loses nothing (delivery reads the committed events later),
//! and an event never tells of a change that rolled back.
//!
//! An event says what changed with ids, dates and statuses, never a record's field values: a
//! subscriber who may read the category fetches the profile for the rest. Each event lists the
//! categories it tells about; delivery gives it only to subscribers whose role may read every
//! one of them for their purpose ([`crate::subscriptions`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use dprofile_domain::Category;
use dprofile_domain::payload::parse_payload;
use dprofile_domain::profile::select_facts;
use dprofile_status::{Answer, RecordRef, RuleSet, StatusFact, StatusKind, evaluate};
use dprofile_store::{
    EventRow, LinkDecision, NewEvent, Outcome, PersonId, RecordId, Store, StoreError,
    StoredVersion, WriteTx,
};
use serde::Serialize;
use serde_json::{Value, json};

/// Every event type, as subscriptions name them.
pub const EVENT_TYPES: [&str; 11] = [
    RECORD_ACCEPTED,
    RECORD_SUPERSEDED,
    RECORD_RETRACTED,
    PERSON_CREATED,
    PERSON_LINKED,
    PERSON_MERGED,
    PERSON_SPLIT,
    PERSON_KEPT_APART,
    STATUS_CHANGED,
    DOCUMENT_EXPIRING,
    REGISTRATION_EXPIRING,
];
pub const RECORD_ACCEPTED: &str = "record.accepted";
pub const RECORD_SUPERSEDED: &str = "record.superseded";
pub const RECORD_RETRACTED: &str = "record.retracted";
pub const PERSON_CREATED: &str = "person.created";
/// A record of an existing person was linked to it (a new key, or a key moved to it).
pub const PERSON_LINKED: &str = "person.linked";
pub const PERSON_MERGED: &str = "person.merged";
pub const PERSON_SPLIT: &str = "person.split";
/// An officer ruled two persons apart (a rejected review item).
pub const PERSON_KEPT_APART: &str = "person.kept_apart";
pub const STATUS_CHANGED: &str = "status.changed";
pub const DOCUMENT_EXPIRING: &str = "document.expiring";
pub const REGISTRATION_EXPIRING: &str = "registration.expiring";

/// A fresh event id: `evt_` and 128 random bits in hex.
pub fn new_event_id() -> String {
    format!("evt_{:032x}", rand::random::<u128>())
}

/// The id of an event that must be written once whatever how often its job runs: `evt_` and
/// the first 128 bits of SHA-256 over what makes it unique.
pub fn stable_event_id(parts: &[&str]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let hash = hasher.finalize();
    let mut text = String::from("evt_");
    for byte in &hash[..16] {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// One stored version an ingest chunk wrote, as its events need it.
#[derive(Debug, Clone)]
pub struct RecordChange<'a> {
    pub person: Option<PersonId>,
    pub outcome: Outcome,
    pub record_id: RecordId,
    pub source: &'a str,
    pub source_ref: &'a str,
    pub revision: u32,
    pub category: Option<Category>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    /// The key was linked to this person before the chunk (`None`: a new key).
    pub person_before: Option<PersonId>,
}

/// The events of one transaction, written last in it by [`Outbox::write`].
#[derive(Debug, Default)]
pub struct Outbox {
    events: Vec<NewEvent>,
    /// Persons whose statuses may have changed: computed again before writing.
    status_persons: BTreeSet<PersonId>,
}

/// The categories any status is derived from: a change elsewhere cannot move a status.
fn status_relevant(category: Category) -> bool {
    StatusKind::ALL
        .iter()
        .any(|kind| kind.categories().contains(&category))
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox::default()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.status_persons.is_empty()
    }

    pub fn push(&mut self, event: NewEvent) {
        self.events.push(event);
    }

    /// Computes the statuses of `person` again when the outbox is written.
    pub fn track_status(&mut self, person: PersonId) {
        self.status_persons.insert(person);
    }

    /// Persons the chunk created: one `person.created` each, before their records' events.
    pub fn persons_created(&mut self, persons: &[PersonId], at: DateTime<Utc>) {
        for person in persons {
            self.push(NewEvent {
                event_id: new_event_id(),
                person_id: Some(*person),
                at,
                event_type: PERSON_CREATED.to_owned(),
                categories: Vec::new(),
                payload: json!({ "person_id": person }),
            });
        }
    }

    /// The events of the versions an ingest chunk stored. Stale versions change nothing a
    /// subscriber sees and write no event. A key that joins a person already there (not one
    /// of `created`, which `person.created` announces) is a `person.linked` too.
    pub fn records(
        &mut self,
        changes: &[RecordChange<'_>],
        created: &[PersonId],
        at: DateTime<Utc>,
    ) {
        let created: std::collections::HashSet<PersonId> = created.iter().copied().collect();
        for change in changes {
            let event_type = match change.outcome {
                Outcome::Accepted => RECORD_ACCEPTED,
                Outcome::Superseded => RECORD_SUPERSEDED,
                Outcome::Retracted => RECORD_RETRACTED,
                _ => continue,
            };
            let Some(person) = change.person else {
                // A retraction of a key never received is about nobody.
                continue;
            };
            let categories: Vec<String> = change
                .category
                .map(|category| vec![category.code().to_owned()])
                // A retraction may omit its category: only subscribers who may read every
                // category (none) would get it, so it is about the person's records at large.
                .unwrap_or_else(|| vec![UNKNOWN_CATEGORY.to_owned()]);
            let payload = json!({
                "person_id": person,
                "record_id": change.record_id,
                "source": change.source,
                "source_ref": change.source_ref,
                "revision": change.revision,
                "category": change.category.map(Category::code),
                "valid_from": change.valid_from,
                "valid_to": change.valid_to,
            });
            if change.outcome != Outcome::Retracted
                && change.person_before != Some(person)
                && !created.contains(&person)
            {
                if let Some(before) = change.person_before {
                    self.track_status(before);
                }
                self.push(NewEvent {
                    event_id: new_event_id(),
                    person_id: Some(person),
                    at,
                    event_type: PERSON_LINKED.to_owned(),
                    categories: categories.clone(),
                    payload: json!({
                        "person_id": person,
                        "record_id": change.record_id,
                        "source": change.source,
                        "source_ref": change.source_ref,
                        "previous_person_id": change.person_before,
                    }),
                });
            }
            self.push(NewEvent {
                event_id: new_event_id(),
                person_id: Some(person),
                at,
                event_type: event_type.to_owned(),
                categories,
                payload,
            });
            if change.category.is_none_or(status_relevant) {
                self.track_status(person);
            }
        }
    }

    /// The events of identity decisions (`ids[i]` is the stored id of `decisions[i]`): a merge
    /// or split tells both persons, a rejection both persons kept apart.
    pub fn decisions(&mut self, decisions: &[LinkDecision], ids: &[i64]) {
        for (decision, id) in decisions.iter().zip(ids) {
            let event_type = match decision.kind.as_str() {
                "merge" => PERSON_MERGED,
                "split" => PERSON_SPLIT,
                "reject" => PERSON_KEPT_APART,
                _ => continue,
            };
            let automatic = dprofile_store::AUTOMATIC_ACTOR_PREFIXES
                .iter()
                .any(|prefix| decision.actor.starts_with(prefix));
            let payload = json!({
                "decision_id": id,
                "person_id": decision.person_id,
                "other_person_id": decision.other_person_id,
                "by": if automatic { "automatic" } else { "officer" },
            });
            let mut persons = vec![decision.person_id];
            persons.extend(decision.other_person_id);
            for person in persons {
                self.push(NewEvent {
                    event_id: new_event_id(),
                    person_id: Some(person),
                    at: decision.decided_at,
                    event_type: event_type.to_owned(),
                    categories: Vec::new(),
                    payload: payload.clone(),
                });
                if event_type != PERSON_KEPT_APART {
                    self.track_status(person);
                }
            }
        }
    }

    /// Computes the tracked persons' statuses, adds a `status.changed` for every status that
    /// moved since it was last announced, and writes every event. Call it last in the
    /// transaction: it locks the feed's head until the commit.
    pub fn write(
        mut self,
        tx: &mut dyn WriteTx,
        now: DateTime<Utc>,
        rules: &RuleSet,
    ) -> Result<Vec<EventRow>, StoreError> {
        let today = crate::status::today(rules, now);
        self.status_changes(tx, now, today, rules)?;
        if self.events.is_empty() {
            return Ok(Vec::new());
        }
        tx.insert_events(&self.events)
    }

    fn status_changes(
        &mut self,
        tx: &mut dyn WriteTx,
        now: DateTime<Utc>,
        today: NaiveDate,
        rules: &RuleSet,
    ) -> Result<(), StoreError> {
        if self.status_persons.is_empty() {
            return Ok(());
        }
        let persons: Vec<PersonId> = self.status_persons.iter().copied().collect();
        let before: BTreeMap<PersonId, StatusSnapshot> = tx
            .status_snapshots(&persons)?
            .into_iter()
            .map(|(person, text)| (person, serde_json::from_str(&text).unwrap_or_default()))
            .collect();
        let mut snapshots = Vec::new();
        for person in persons {
            let versions = tx.person_versions_in(person)?;
            let after = snapshot_of(&versions, today, rules);
            let previous = before.get(&person).cloned().unwrap_or_default();
            if after == previous {
                continue;
            }
            for kind in StatusKind::ALL {
                let (old, new) = (previous.get(kind), after.get(kind));
                if old == new {
                    continue;
                }
                self.push(NewEvent {
                    event_id: new_event_id(),
                    person_id: Some(person),
                    at: now,
                    event_type: STATUS_CHANGED.to_owned(),
                    categories: kind
                        .categories()
                        .iter()
                        .map(|category| category.code().to_owned())
                        .collect(),
                    payload: json!({
                        "person_id": person,
                        "status": kind.code(),
                        "on": today,
                        "before": old,
                        "after": new,
                    }),
                });
            }
            snapshots.push((
                person,
                serde_json::to_string(&after).unwrap_or_else(|_| "{}".to_owned()),
            ));
        }
        tx.set_status_snapshots(&snapshots)
    }
}

/// The category an event lists when it could not tell which: no grant names it, so no
/// subscriber receives the event.
pub const UNKNOWN_CATEGORY: &str = "unknown";

/// What a status change announces of a status: the answer, the last day it holds and its
/// basis. Not the explanation: that cites records a subscriber may not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StatusSignature {
    pub answer: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub valid_until: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub basis: Option<String>,
}

/// A person's statuses as last announced, by kind code; a status with no records to say
/// (`unknown`) is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct StatusSnapshot(BTreeMap<String, StatusSignature>);

impl StatusSnapshot {
    fn get(&self, kind: StatusKind) -> Option<&StatusSignature> {
        self.0.get(kind.code())
    }
}

/// The statuses of a person from their stored versions (those in force now), on `today`.
pub fn snapshot_of(
    versions: &[StoredVersion],
    today: NaiveDate,
    rules: &RuleSet,
) -> StatusSnapshot {
    let facts = status_facts_of_versions(versions);
    let report = evaluate(&facts, today, rules);
    let mut snapshot = BTreeMap::new();
    for status in &report.statuses {
        if status.answer == Answer::Unknown {
            continue;
        }
        let answer = match status.answer {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::Unknown => "unknown",
        };
        snapshot.insert(
            status.kind.code().to_owned(),
            StatusSignature {
                answer: answer.to_owned(),
                valid_until: status.valid_until,
                basis: status.basis.map(str::to_owned),
            },
        );
    }
    StatusSnapshot(snapshot)
}

/// The status engine's facts from stored versions in force: what
/// [`crate::status::status_facts`] reads of a profile, without building one.
pub fn status_facts_of_versions(versions: &[StoredVersion]) -> Vec<StatusFact> {
    let mut facts = Vec::new();
    for version in select_facts(versions, None, None) {
        let Some(category) = version.category.as_deref().and_then(Category::from_code) else {
            continue;
        };
        if !status_relevant(category) {
            continue;
        }
        let Ok(raw) = serde_json::from_slice::<Value>(&version.raw) else {
            continue;
        };
        let data = raw.get("data").cloned().unwrap_or(Value::Null);
        if let Ok(payload) = parse_payload(category, &data).result {
            facts.push(StatusFact {
                cited: RecordRef {
                    record_id: version.record_id,
                    source: version.source.clone(),
                    source_ref: version.source_ref.clone(),
                },
                payload,
            });
        }
    }
    facts
}

/// What the daily job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DailyReport {
    pub persons: u64,
    pub expiring_events: u64,
    pub status_events: u64,
}

/// Persons per transaction of the daily job.
const DAILY_PAGE: usize = 500;

/// The scheduled events of `today`: `document.expiring` (stay documents and visas) and
/// `registration.expiring` (migration registration) for every version in force whose
/// `valid_to` falls within `horizon_days` from `today`, once per person, version and horizon
/// (the event id is computed from them: running the job again, the same day or the next,
/// writes nothing twice); and `status.changed` for statuses that moved with the calendar (a
/// stay that ended yesterday).
pub fn run_daily(
    store: &dyn Store,
    today: NaiveDate,
    horizon_days: u32,
    now: DateTime<Utc>,
    rules: &RuleSet,
) -> Result<DailyReport, StoreError> {
    let mut report = DailyReport::default();
    let mut after: PersonId = 0;
    let horizon = Duration::days(i64::from(horizon_days));
    loop {
        let page = store.persons_after(after, DAILY_PAGE)?;
        let Some(&last) = page.last() else {
            break;
        };
        after = last;
        store.write(&mut |tx| {
            let mut outbox = Outbox::new();
            for &person in &page {
                let versions = tx.person_versions_in(person)?;
                for version in select_facts(&versions, None, None) {
                    let (Some(category), Some(valid_to)) = (
                        version.category.as_deref().and_then(Category::from_code),
                        version.valid_to,
                    ) else {
                        continue;
                    };
                    let event_type = match category {
                        Category::StayDocument | Category::Visa => DOCUMENT_EXPIRING,
                        Category::MigrationRegistration => REGISTRATION_EXPIRING,
                        _ => continue,
                    };
                    if valid_to < today || valid_to > today + horizon {
                        continue;
                    }
                    let revision = version.revision.to_string();
                    let valid_to_text = valid_to.to_string();
                    let horizon_text = horizon_days.to_string();
                    let person_text = person.to_string();
                    outbox.push(NewEvent {
                        event_id: stable_event_id(&[
                            event_type,
                            &person_text,
                            &version.source,
                            &version.source_ref,
                            &revision,
                            &valid_to_text,
                            &horizon_text,
                        ]),
                        person_id: Some(person),
                        at: now,
                        event_type: event_type.to_owned(),
                        categories: vec![category.code().to_owned()],
                        payload: json!({
                            "person_id": person,
                            "record_id": version.record_id,
                            "source": version.source,
                            "source_ref": version.source_ref,
                            "category": category.code(),
                            "valid_to": valid_to,
                            "days_left": (valid_to - today).num_days(),
                            "horizon_days": horizon_days,
                            "on": today,
                        }),
                    });
                }
                outbox.track_status(person);
            }
            outbox.status_changes(tx, now, today, rules)?;
            let written = if outbox.events.is_empty() {
                Vec::new()
            } else {
                tx.insert_events(&outbox.events)?
            };
            let status_written = written
                .iter()
                .filter(|event| event.event_type == STATUS_CHANGED)
                .count() as u64;
            report.status_events += status_written;
            report.expiring_events += (written.len() as u64).saturating_sub(status_written);
            Ok(())
        })?;
        report.persons += page.len() as u64;
    }
    Ok(report)
}
