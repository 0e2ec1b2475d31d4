//! Officers' decisions about identity: merge two persons, split a merge, confirm or reject a
//! review item. Every decision is kept with who, when, why and the evidence; a split moves back
//! exactly what its merge moved, and the two persons are never linked automatically again.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use dprofile_status::RuleSet;
use dprofile_store::{LinkDecision, MergeMoves, PersonId, Store, StoreError, WriteTx};
use serde::Serialize;

use crate::clock::Clock;
use crate::events::Outbox;

/// Who decides and why; both are required and kept with the decision.
#[derive(Debug, Clone)]
pub struct Officer {
    pub actor: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewVerdict {
    /// The persons are one: merge them.
    Confirm,
    /// The persons are different: keep them apart for good.
    Reject,
}

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("{0} does not exist")]
    NotFound(String),
    /// The decision contradicts the current state (already merged, already split, closed item).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct IdentityDesk {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl IdentityDesk {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> IdentityDesk {
        IdentityDesk { store, clock }
    }

    fn check_officer(officer: &Officer) -> Result<(), DecisionError> {
        if officer.actor.trim().is_empty() {
            return Err(DecisionError::Invalid(
                "actor is required: say who decides".to_owned(),
            ));
        }
        if officer.reason.trim().is_empty() {
            return Err(DecisionError::Invalid(
                "reason is required: say why".to_owned(),
            ));
        }
        Ok(())
    }

    fn active_person(&self, id: PersonId) -> Result<(), DecisionError> {
        let person = self
            .store
            .person(id)?
            .ok_or_else(|| DecisionError::NotFound(format!("person {id}")))?;
        if let Some(into) = person.merged_into {
            return Err(DecisionError::Conflict(format!(
                "person {id} was merged into person {into}: decide on {into}"
            )));
        }
        Ok(())
    }

    /// Merges `from` into `into`; returns the decision's id.
    pub fn merge(
        &self,
        into: PersonId,
        from: PersonId,
        officer: &Officer,
    ) -> Result<i64, DecisionError> {
        Self::check_officer(officer)?;
        if into == from {
            return Err(DecisionError::Invalid(
                "a person cannot be merged into itself".to_owned(),
            ));
        }
        self.active_person(into)?;
        self.active_person(from)?;
        let now = self.clock.now();
        let mut decision_id = 0;
        self.store.write(&mut |tx| {
            let moves = tx.merge_persons(from, into)?;
            let decision = LinkDecision {
                id: 0,
                kind: "merge".to_owned(),
                person_id: into,
                other_person_id: Some(from),
                record_id: None,
                actor: officer.actor.clone(),
                reason: officer.reason.clone(),
                evidence: serde_json::json!({ "moves": moves }),
                decided_at: now,
            };
            decision_id = tx.insert_decisions(std::slice::from_ref(&decision))?[0];
            write_events(tx, &[decision], &[decision_id], now)
        })?;
        Ok(decision_id)
    }

    /// Undoes the merge `merge_decision_id`: the merged person gets back exactly what the merge
    /// moved, and the two are kept apart from then on. Returns the split decision's id.
    pub fn split(&self, merge_decision_id: i64, officer: &Officer) -> Result<i64, DecisionError> {
        Self::check_officer(officer)?;
        let merge = self
            .store
            .decision(merge_decision_id)?
            .ok_or_else(|| DecisionError::NotFound(format!("decision {merge_decision_id}")))?;
        if merge.kind != "merge" {
            return Err(DecisionError::Invalid(format!(
                "decision {merge_decision_id} is a {}, not a merge: only merges can be split",
                merge.kind
            )));
        }
        let (into, from) = (merge.person_id, merge.other_person_id.unwrap_or_default());
        let already = self
            .store
            .person_decisions(into)?
            .into_iter()
            .any(|decision| {
                decision.kind == "split"
                    && decision.evidence["undoes"] == serde_json::json!(merge_decision_id)
            });
        if already {
            return Err(DecisionError::Conflict(format!(
                "merge {merge_decision_id} was already split"
            )));
        }
        let merged = self
            .store
            .person(from)?
            .ok_or_else(|| DecisionError::NotFound(format!("person {from}")))?;
        if merged.merged_into != Some(into) {
            return Err(DecisionError::Conflict(format!(
                "person {from} is no longer merged into {into}: split the later merge first"
            )));
        }
        let moves: MergeMoves = serde_json::from_value(merge.evidence["moves"].clone()).map_err(|_| {
            DecisionError::Invalid(format!(
                "merge {merge_decision_id} did not record what it moved and cannot be undone exactly"
            ))
        })?;
        let now = self.clock.now();
        let mut decision_id = 0;
        self.store.write(&mut |tx| {
            tx.unmerge_persons(from, into, &moves)?;
            let decision = LinkDecision {
                id: 0,
                kind: "split".to_owned(),
                person_id: into,
                other_person_id: Some(from),
                record_id: None,
                actor: officer.actor.clone(),
                reason: officer.reason.clone(),
                evidence: serde_json::json!({ "undoes": merge_decision_id }),
                decided_at: now,
            };
            decision_id = tx.insert_decisions(std::slice::from_ref(&decision))?[0];
            tx.add_cannot_link(into, from, decision_id)?;
            write_events(tx, &[decision], &[decision_id], now)
        })?;
        Ok(decision_id)
    }

    /// Closes a review item: `Confirm` merges its persons into the one with the lowest id,
    /// `Reject` keeps them apart for good. Returns the ids of the decisions written.
    pub fn decide(
        &self,
        item_id: i64,
        verdict: ReviewVerdict,
        officer: &Officer,
    ) -> Result<Vec<i64>, DecisionError> {
        Self::check_officer(officer)?;
        let item = self
            .store
            .review_item(item_id)?
            .ok_or_else(|| DecisionError::NotFound(format!("review item {item_id}")))?;
        if item.status != "open" {
            return Err(DecisionError::Conflict(format!(
                "review item {item_id} is already {}",
                item.status
            )));
        }
        // Persons may have been merged since the item opened: decide on who they are now.
        let mut persons: Vec<PersonId> = Vec::new();
        for id in &item.person_ids {
            let mut current = *id;
            while let Some(person) = self.store.person(current)? {
                match person.merged_into {
                    Some(into) => current = into,
                    None => break,
                }
            }
            if !persons.contains(&current) {
                persons.push(current);
            }
        }
        persons.sort_unstable();
        if persons.len() < 2 {
            return Err(DecisionError::Conflict(format!(
                "the persons of review item {item_id} have since been merged into person {}: nothing is left to decide",
                persons.first().copied().unwrap_or_default()
            )));
        }
        let now = self.clock.now();
        let mut decision_ids = Vec::new();
        self.store.write(&mut |tx| {
            decision_ids.clear();
            let mut written: Vec<LinkDecision> = Vec::new();
            let evidence_base =
                serde_json::json!({ "review_item": item_id, "item_evidence": item.evidence });
            match verdict {
                ReviewVerdict::Confirm => {
                    let into = persons[0];
                    for &from in &persons[1..] {
                        let moves = tx.merge_persons(from, into)?;
                        let mut evidence = evidence_base.clone();
                        evidence["moves"] = serde_json::to_value(&moves).unwrap_or_default();
                        let decision = LinkDecision {
                            id: 0,
                            kind: "merge".to_owned(),
                            person_id: into,
                            other_person_id: Some(from),
                            record_id: item.record_id,
                            actor: officer.actor.clone(),
                            reason: officer.reason.clone(),
                            evidence,
                            decided_at: now,
                        };
                        decision_ids.extend(tx.insert_decisions(std::slice::from_ref(&decision))?);
                        written.push(decision);
                    }
                }
                ReviewVerdict::Reject => {
                    let decision = LinkDecision {
                        id: 0,
                        kind: "reject".to_owned(),
                        person_id: persons[0],
                        other_person_id: persons.get(1).copied(),
                        record_id: item.record_id,
                        actor: officer.actor.clone(),
                        reason: officer.reason.clone(),
                        evidence: evidence_base.clone(),
                        decided_at: now,
                    };
                    let ids = tx.insert_decisions(std::slice::from_ref(&decision))?;
                    written.push(decision);
                    for (index, &first) in persons.iter().enumerate() {
                        for &second in &persons[index + 1..] {
                            tx.add_cannot_link(first, second, ids[0])?;
                        }
                    }
                    decision_ids.extend(ids);
                }
            }
            let status = match verdict {
                ReviewVerdict::Confirm => "confirmed",
                ReviewVerdict::Reject => "rejected",
            };
            tx.close_review_item(
                item_id,
                status,
                decision_ids.first().copied().unwrap_or_default(),
            )?;
            write_events(tx, &written, &decision_ids, now)
        })?;
        Ok(decision_ids)
    }
}

/// The change feed's events of the desk's decisions, last in their transaction: a merge or
/// split tells both persons and announces the statuses it moved.
fn write_events(
    tx: &mut dyn WriteTx,
    decisions: &[LinkDecision],
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut outbox = Outbox::new();
    outbox.decisions(decisions, ids);
    outbox.write(tx, now, &RuleSet::v1())?;
    Ok(())
}
