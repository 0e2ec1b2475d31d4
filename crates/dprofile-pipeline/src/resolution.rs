//! Probabilistic resolution inside an ingest chunk: after the chunk's versions are written
//! (and linked by rule), the closed neighbourhood of the changed keys is resolved again with
//! the store's frozen model, and its partition is applied to the persons of those keys by
//! merges and moves through the store's operations, each kept as a decision. Possible matches
//! that involve a changed key become review items. Officers' decisions are constraints: the
//! keys of a person an officer decided about stay together, and persons ruled apart stay
//! apart.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use dprofile_domain::linking::{StrongKey, name_keys};
use dprofile_domain::{Action, ParseMode, Subject, parse_record};
use dprofile_resolver::incremental::{self, Change, Neighbours};
use dprofile_resolver::{Constraints, Model, ResolverConfig, ResolverRecord};
use dprofile_store::{
    KeyId, LinkDecision, MergeMoves, NewReviewItem, PersonId, RecordId, StoreError, WriteTx,
};
use rustc_hash::{FxHashMap, FxHashSet};

/// Actor of the decisions this step writes.
pub const RESOLVER_ACTOR: &str = "resolver:probabilistic";

/// The frozen model and the configuration it was fitted with.
#[derive(Debug)]
pub struct FrozenResolver {
    pub config: ResolverConfig,
    pub model: Model,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelLoadError {
    #[error("the resolver model is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the resolver model does not fit the configuration: {0}")]
    Mismatch(#[from] dprofile_resolver::ModelError),
}

impl FrozenResolver {
    /// A model as `dprofile resolve --save-model` writes it, for the person-record
    /// configuration.
    pub fn from_json(text: &str) -> Result<FrozenResolver, ModelLoadError> {
        let config = ResolverConfig::for_person_records();
        FrozenResolver::from_json_with(text, config)
    }

    pub fn from_json_with(
        text: &str,
        config: ResolverConfig,
    ) -> Result<FrozenResolver, ModelLoadError> {
        let mut model: Model = serde_json::from_str(text)?;
        model.bind(&config)?;
        Ok(FrozenResolver { config, model })
    }
}

/// What the resolver reads of a key, and what its person's projections need.
#[derive(Debug, Clone)]
pub struct KeyContent {
    pub record: ResolverRecord,
    pub strong_keys: Vec<StrongKey>,
    pub name_rows: Vec<(String, i32)>,
}

impl KeyContent {
    /// What the resolver reads of a version: its subject, and the day it was observed (the
    /// renewal rules compare the days on which each passport is cited).
    pub fn of(
        subject: &Subject,
        observed_at: Option<DateTime<Utc>>,
        strong_keys: Vec<StrongKey>,
    ) -> KeyContent {
        let birth_year = subject.birth_date.map_or(0, |date| date.year());
        KeyContent {
            record: ResolverRecord {
                observed_on: observed_at.map(|instant| instant.date_naive()),
                ..ResolverRecord::from_subject(0, subject)
            },
            strong_keys,
            name_rows: name_keys(subject)
                .into_iter()
                .map(|key| (key, birth_year))
                .collect(),
        }
    }

    pub fn from_raw(raw: &[u8]) -> Option<KeyContent> {
        let record = parse_record(raw, ParseMode::SubjectOnly).ok()?;
        if record.action != Action::Upsert {
            return None;
        }
        let keys = dprofile_domain::linking::strong_keys(&record.subject);
        Some(KeyContent::of(&record.subject, record.observed_at, keys))
    }
}

/// One key this chunk changed.
pub struct KeyChange {
    pub key_id: KeyId,
    pub before: Option<KeyContent>,
    pub after: Option<KeyContent>,
    /// The version this chunk wrote, for review items.
    pub record_id: RecordId,
}

/// What the step did, for the line results.
#[derive(Default)]
pub struct Applied {
    /// The person of every key whose person changed.
    pub person_of_key: FxHashMap<KeyId, PersonId>,
    /// The merges and splits written, with their ids (the change feed's events).
    pub decisions: Vec<(LinkDecision, i64)>,
}

/// The store inside the chunk's transaction, as the closure reads it.
struct TxNeighbours<'a> {
    tx: &'a mut dyn WriteTx,
    content: FxHashMap<KeyId, Option<KeyContent>>,
    person_of: FxHashMap<KeyId, Option<PersonId>>,
    officer_held: FxHashMap<PersonId, bool>,
}

impl TxNeighbours<'_> {
    fn load(&mut self, ids: &[KeyId]) -> Result<(), StoreError> {
        let missing: Vec<KeyId> = ids
            .iter()
            .copied()
            .filter(|id| !self.person_of.contains_key(id))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        for key in self.tx.keys_in_force(&missing)? {
            self.person_of.insert(key.key_id, key.person_id);
            let content = if key.action == Action::Upsert {
                KeyContent::from_raw(&key.raw)
            } else {
                None
            };
            self.content.entry(key.key_id).or_insert(content);
        }
        for id in missing {
            self.person_of.entry(id).or_insert(None);
        }
        Ok(())
    }
}

impl Neighbours for TxNeighbours<'_> {
    type Id = KeyId;
    type Error = StoreError;

    fn members(&mut self, keys: &[u64]) -> Result<Vec<(u64, KeyId)>, StoreError> {
        let stored: Vec<i64> = keys.iter().map(|key| *key as i64).collect();
        Ok(self
            .tx
            .resolver_block_members(&stored)?
            .into_iter()
            .map(|(key, id)| (key as u64, id))
            .collect())
    }

    fn records(&mut self, ids: &[KeyId]) -> Result<Vec<(KeyId, ResolverRecord)>, StoreError> {
        self.load(ids)?;
        Ok(ids
            .iter()
            .filter_map(|id| {
                let content = self.content.get(id)?.as_ref()?;
                Some((*id, content.record.clone()))
            })
            .collect())
    }

    fn companions(&mut self, ids: &[KeyId]) -> Result<Vec<KeyId>, StoreError> {
        self.load(ids)?;
        let mut persons: Vec<PersonId> = ids
            .iter()
            .filter_map(|id| self.person_of.get(id).copied().flatten())
            .collect();
        persons.sort_unstable();
        persons.dedup();
        let unknown: Vec<PersonId> = persons
            .iter()
            .copied()
            .filter(|person| !self.officer_held.contains_key(person))
            .collect();
        if !unknown.is_empty() {
            let held: FxHashSet<PersonId> = self
                .tx
                .persons_with_officer_decisions(&unknown)?
                .into_iter()
                .collect();
            for person in &unknown {
                self.officer_held.insert(*person, held.contains(person));
            }
            let held: Vec<PersonId> = held.into_iter().collect();
            let keys = self.tx.keys_of_persons(&held)?;
            for (key_id, person) in &keys {
                self.person_of.insert(*key_id, Some(*person));
            }
            return Ok(keys.into_iter().map(|(key_id, _)| key_id).collect());
        }
        Ok(Vec::new())
    }
}

/// Resolves the neighbourhood of `changes` again and applies the partition. The changes'
/// versions, key states and blocking keys are already written in `tx`.
pub fn resolve_changes(
    tx: &mut dyn WriteTx,
    resolver: &Arc<FrozenResolver>,
    changes: Vec<KeyChange>,
    now: DateTime<Utc>,
) -> Result<Applied, StoreError> {
    let config = &resolver.config;
    let model = &resolver.model;
    // The index of blocking keys follows the versions in force.
    let changed_ids: Vec<KeyId> = changes.iter().map(|change| change.key_id).collect();
    let mut block_rows: Vec<(i64, KeyId)> = Vec::new();
    for change in &changes {
        if let Some(after) = &change.after {
            for key in incremental::blocking_keys(&after.record, config) {
                block_rows.push((key as i64, change.key_id));
            }
        }
    }
    tx.replace_resolver_blocks(&changed_ids, &block_rows)?;

    let record_of_key: FxHashMap<KeyId, RecordId> = changes
        .iter()
        .map(|change| (change.key_id, change.record_id))
        .collect();
    let mut neighbours = TxNeighbours {
        tx: &mut *tx,
        content: FxHashMap::default(),
        person_of: FxHashMap::default(),
        officer_held: FxHashMap::default(),
    };
    let mut engine_changes = Vec::with_capacity(changes.len());
    for change in changes {
        neighbours
            .content
            .insert(change.key_id, change.after.clone());
        engine_changes.push(Change {
            id: change.key_id,
            before: change.before.map(|content| content.record),
            after: change.after.map(|content| content.record),
        });
    }
    let closure = incremental::closure(engine_changes, config, model, &mut neighbours)?;
    if closure.ids.is_empty() {
        return Ok(Applied::default());
    }
    neighbours.load(&closure.ids)?;
    let person_now: Vec<Option<PersonId>> = closure
        .ids
        .iter()
        .map(|id| neighbours.person_of.get(id).copied().flatten())
        .collect();
    let mut persons: Vec<PersonId> = person_now.iter().flatten().copied().collect();
    persons.sort_unstable();
    persons.dedup();

    // Officers' decisions as constraints: each held person's keys are one group.
    let held: Vec<PersonId> = persons
        .iter()
        .copied()
        .filter(|person| {
            neighbours
                .officer_held
                .get(person)
                .copied()
                .unwrap_or(false)
        })
        .collect();
    let group_of_person: BTreeMap<PersonId, usize> = held
        .iter()
        .enumerate()
        .map(|(group, person)| (*person, group))
        .collect();
    let mut constraints = Constraints {
        together: vec![Vec::new(); held.len()],
        apart: Vec::new(),
    };
    for (position, person) in person_now.iter().enumerate() {
        if let Some(group) = person.and_then(|person| group_of_person.get(&person)) {
            constraints.together[*group].push(position as u32);
        }
    }
    if held.len() > 1 {
        for (first, second) in neighbours.tx.cannot_links(&held)? {
            if let (Some(first), Some(second)) =
                (group_of_person.get(&first), group_of_person.get(&second))
            {
                constraints.apart.push((*first, *second));
            }
        }
    }
    let contents: Vec<KeyContent> = closure
        .ids
        .iter()
        .map(|id| {
            neighbours
                .content
                .get(id)
                .cloned()
                .flatten()
                .ok_or_else(|| StoreError::Corrupt(format!("key {id} has no readable subject")))
        })
        .collect::<Result<_, _>>()?;
    drop(neighbours);
    let resolution = dprofile_resolver::resolve_pairs_with_model(
        closure.records.clone(),
        &closure.pairs,
        config,
        model,
        &constraints,
    );

    // Each cluster keeps the person that holds most of its keys (the lowest id on a tie),
    // unless a larger cluster took it first; the others get new persons.
    let mut clusters: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (position, cluster) in resolution.person_of.iter().enumerate() {
        clusters.entry(*cluster).or_default().push(position);
    }
    let mut clusters: Vec<Vec<usize>> = clusters.into_values().collect();
    clusters.sort_by_key(|members| (std::cmp::Reverse(members.len()), closure.ids[members[0]]));
    let mut taken: FxHashSet<PersonId> = FxHashSet::default();
    let mut target: Vec<Option<PersonId>> = Vec::with_capacity(clusters.len());
    for members in &clusters {
        let mut counts: BTreeMap<PersonId, usize> = BTreeMap::new();
        for &position in members {
            if let Some(person) = person_now[position] {
                *counts.entry(person).or_default() += 1;
            }
        }
        let best = counts
            .into_iter()
            .filter(|(person, _)| !taken.contains(person))
            .max_by_key(|&(person, count)| (count, std::cmp::Reverse(person)))
            .map(|(person, _)| person);
        if let Some(person) = best {
            taken.insert(person);
        }
        target.push(best);
    }
    let fresh = tx.create_persons(target.iter().filter(|slot| slot.is_none()).count(), now)?;
    let mut fresh = fresh.into_iter();
    let mut target_of_position: Vec<PersonId> = vec![0; closure.ids.len()];
    for (members, slot) in clusters.iter().zip(target.iter_mut()) {
        let person = match slot {
            Some(person) => *person,
            None => fresh
                .next()
                .ok_or_else(|| StoreError::Corrupt("fewer persons created than asked".into()))?,
        };
        *slot = Some(person);
        for &position in members {
            target_of_position[position] = person;
        }
    }

    // Apply: a person whose keys all go to another target merges into it; keys that leave a
    // person otherwise move with their identifiers and name rows.
    let mut applied = Applied::default();
    let mut decisions: Vec<LinkDecision> = Vec::new();
    let mut by_person: BTreeMap<PersonId, Vec<usize>> = BTreeMap::new();
    let mut unassigned: Vec<usize> = Vec::new();
    for (position, person) in person_now.iter().enumerate() {
        match person {
            Some(person) => by_person.entry(*person).or_default().push(position),
            None => unassigned.push(position),
        }
    }
    for (&person, positions) in &by_person {
        let destinations: BTreeSet<PersonId> = positions
            .iter()
            .map(|&position| target_of_position[position])
            .collect();
        if destinations.len() == 1 && !destinations.contains(&person) {
            let into = target_of_position[positions[0]];
            let moves = tx.merge_persons(person, into)?;
            for &position in positions {
                applied.person_of_key.insert(closure.ids[position], into);
            }
            decisions.push(decision("merge", into, person, &moves, now));
            continue;
        }
        for destination in destinations {
            if destination == person {
                continue;
            }
            let (moving, staying): (Vec<usize>, Vec<usize>) = positions
                .iter()
                .partition(|&&position| target_of_position[position] == destination);
            let moves = moves_of(&moving, &staying, &contents, &closure.ids);
            tx.unmerge_persons(destination, person, &moves)?;
            for &position in &moving {
                applied
                    .person_of_key
                    .insert(closure.ids[position], destination);
            }
            decisions.push(decision("split", person, destination, &moves, now));
        }
    }
    if !unassigned.is_empty() {
        // Keys without a person (a new version of a key withdrawn before): their rows go in
        // with the person they join.
        return Err(StoreError::Corrupt(
            "a key in force has no person after linking".to_owned(),
        ));
    }
    let decision_ids = tx.insert_decisions(&decisions)?;
    applied.decisions = decisions.into_iter().zip(decision_ids).collect();

    // Possible matches that a changed key takes part in.
    let seeds: FxHashSet<u32> = closure.seeds.iter().copied().collect();
    let mut review_items = Vec::new();
    for possible in &resolution.possible_matches {
        if !seeds.contains(&possible.left) && !seeds.contains(&possible.right) {
            continue;
        }
        let (left, right) = (possible.left as usize, possible.right as usize);
        let persons = vec![target_of_position[left], target_of_position[right]];
        let seed = if seeds.contains(&possible.left) {
            left
        } else {
            right
        };
        review_items.push(NewReviewItem {
            kind: "possible_match".to_owned(),
            person_ids: persons,
            record_id: record_of_key.get(&closure.ids[seed]).copied(),
            evidence: serde_json::json!({
                "reason": possible.reason,
                "explanation": possible.explanation,
            }),
            created_at: now,
        });
    }
    tx.insert_review_items(&review_items)?;
    Ok(applied)
}

fn decision(
    kind: &str,
    person: PersonId,
    other: PersonId,
    moves: &MergeMoves,
    now: DateTime<Utc>,
) -> LinkDecision {
    LinkDecision {
        id: 0,
        kind: kind.to_owned(),
        person_id: person,
        other_person_id: Some(other),
        record_id: None,
        actor: RESOLVER_ACTOR.to_owned(),
        reason: match kind {
            "merge" => "the probabilistic resolver puts these records in one person".to_owned(),
            _ => "the probabilistic resolver puts these records in another person".to_owned(),
        },
        evidence: serde_json::json!({ "moves": moves }),
        decided_at: now,
    }
}

/// What moving keys out of a person takes with them: their identifiers and name rows that
/// the keys staying behind do not hold.
fn moves_of(
    moving: &[usize],
    staying: &[usize],
    contents: &[KeyContent],
    ids: &[KeyId],
) -> MergeMoves {
    let kept_keys: BTreeSet<&StrongKey> = staying
        .iter()
        .flat_map(|&position| &contents[position].strong_keys)
        .collect();
    let kept_names: BTreeSet<&(String, i32)> = staying
        .iter()
        .flat_map(|&position| &contents[position].name_rows)
        .collect();
    let identifiers: BTreeSet<(String, String)> = moving
        .iter()
        .flat_map(|&position| &contents[position].strong_keys)
        .filter(|key| !kept_keys.contains(key))
        .map(|key| (key.kind.code().to_owned(), key.value.clone()))
        .collect();
    let names: BTreeSet<(String, i32)> = moving
        .iter()
        .flat_map(|&position| contents[position].name_rows.iter().cloned())
        .collect();
    MergeMoves {
        key_ids: moving.iter().map(|&position| ids[position]).collect(),
        identifiers: identifiers.into_iter().collect(),
        name_keys_added: names
            .iter()
            .filter(|row| !kept_names.contains(row))
            .cloned()
            .collect(),
        name_keys_moved: names.into_iter().collect(),
        redirected_persons: Vec::new(),
    }
}
