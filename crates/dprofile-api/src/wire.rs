//! The JSON the API serves, apart from the pipeline's and store's own types: these are the
//! contract (and the OpenAPI schemas), so a change inside the pipeline cannot silently change
//! the wire. Each type converts from its inner counterpart.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use dprofile_domain::Violation;
use dprofile_pipeline::corrections::DisputeMarker;
use dprofile_pipeline::profile::{Citation, Fact, Profile};
use dprofile_pipeline::{LineResult, Summary};
use dprofile_store::{LinkDecision, Outcome, QuarantineItem, QuarantineStatus, ReviewItem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The path of a person's profile, as search results and redirects give it.
pub fn person_url(person_id: i64) -> String {
    format!("/v1/persons/{person_id}")
}

/// One broken rule in one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ViolationBody {
    /// RFC 6901 JSON pointer into the record (`/subject/birth_date`), or into the query
    /// parameters (`/birth_date`); empty for the whole record.
    pub pointer: String,
    /// Stable rule code: `required`, `date_format`, `checksum`, `too_large`, …
    pub rule: String,
    pub message: String,
}

impl From<Violation> for ViolationBody {
    fn from(violation: Violation) -> ViolationBody {
        ViolationBody {
            pointer: violation.pointer,
            rule: violation.rule,
            message: violation.message,
        }
    }
}

/// What happened to one received record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeBody {
    Accepted,
    Duplicate,
    Superseded,
    Retracted,
    Stale,
    Quarantined,
    /// Not stored at all: the caller's key may not send it (its agency is not the record's
    /// `source`, or the category is not in the agency's `[writes]`). Logged.
    Refused,
}

impl From<Outcome> for OutcomeBody {
    fn from(outcome: Outcome) -> OutcomeBody {
        match outcome {
            Outcome::Accepted => OutcomeBody::Accepted,
            Outcome::Duplicate => OutcomeBody::Duplicate,
            Outcome::Superseded => OutcomeBody::Superseded,
            Outcome::Retracted => OutcomeBody::Retracted,
            Outcome::Stale => OutcomeBody::Stale,
            Outcome::Quarantined => OutcomeBody::Quarantined,
        }
    }
}

/// What became of one input line (or the one posted record, line 1).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineResultBody {
    /// 1-based line number in the input.
    pub line: u64,
    pub outcome: OutcomeBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<i64>,
    /// Set when the line is (or was) in quarantine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine_id: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ViolationBody>,
    /// Accepted, but worth a look: unknown fields, failed check digits of optional fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ViolationBody>,
}

impl From<LineResult> for LineResultBody {
    fn from(result: LineResult) -> LineResultBody {
        LineResultBody {
            line: result.line,
            outcome: result.outcome.into(),
            source: result.source,
            source_ref: result.source_ref,
            person_id: result.person_id,
            record_id: result.record_id,
            quarantine_id: result.quarantine_id,
            errors: result.errors.into_iter().map(ViolationBody::from).collect(),
            warnings: result
                .warnings
                .into_iter()
                .map(ViolationBody::from)
                .collect(),
        }
    }
}

/// Counts of lines per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SummaryBody {
    pub accepted: u64,
    pub duplicate: u64,
    pub superseded: u64,
    pub retracted: u64,
    pub stale: u64,
    pub quarantined: u64,
    /// Lines the caller's key may not send (present when any were).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refused: u64,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

impl From<Summary> for SummaryBody {
    fn from(summary: Summary) -> SummaryBody {
        SummaryBody {
            accepted: summary.accepted,
            duplicate: summary.duplicate,
            superseded: summary.superseded,
            retracted: summary.retracted,
            stale: summary.stale,
            quarantined: summary.quarantined,
            refused: 0,
        }
    }
}

/// The last line of a batch response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchSummaryLine {
    pub summary: SummaryBody,
}

/// Where a fact comes from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CitationBody {
    pub record_id: i64,
    pub source: String,
    pub source_ref: String,
    pub revision: u32,
    pub received_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<DateTime<Utc>>,
}

impl From<Citation> for CitationBody {
    fn from(citation: Citation) -> CitationBody {
        CitationBody {
            record_id: citation.record_id,
            source: citation.source,
            source_ref: citation.source_ref,
            revision: citation.revision,
            received_at: citation.received_at,
            observed_at: citation.observed_at,
        }
    }
}

/// One fact in force, citing its record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FactBody {
    pub category: String,
    /// The record's `data`, as received (validated per category).
    pub data: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<NaiveDate>,
    pub cited: CitationBody,
    /// Present while the person disputes this fact (a correction request stands): shown to
    /// everyone who sees the fact, until the source agency rejects the request or replaces
    /// the record with a corrected revision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disputed: Vec<DisputeBody>,
}

/// The marker of a disputed fact.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisputeBody {
    /// The correction request.
    pub request_id: i64,
    /// When the person filed it.
    pub since: DateTime<Utc>,
    /// The disputed fields, as pointers into the record (`/data/balance`).
    pub fields: Vec<String>,
    /// `open` (waiting for the agency's answer) or `accepted` (waiting for the corrected record).
    pub status: String,
}

impl From<DisputeMarker> for DisputeBody {
    fn from(marker: DisputeMarker) -> DisputeBody {
        DisputeBody {
            request_id: marker.correction_id,
            since: marker.since,
            fields: marker.fields,
            status: marker.status.code().to_owned(),
        }
    }
}

impl From<Fact> for FactBody {
    fn from(fact: Fact) -> FactBody {
        FactBody {
            category: fact.category,
            data: fact.data,
            valid_from: fact.valid_from,
            valid_to: fact.valid_to,
            cited: fact.cited.into(),
            disputed: fact.disputed.into_iter().map(DisputeBody::from).collect(),
        }
    }
}

/// A person's profile: the facts in force per category.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileBody {
    pub person_id: i64,
    pub created_at: DateTime<Utc>,
    /// The `as_of` asked for; null means now.
    pub as_of: Option<DateTime<Utc>>,
    /// The `valid_at` asked for; null means any date.
    pub valid_at: Option<NaiveDate>,
    /// Strong identifiers the person holds (`passport:UZB:FA1234567`).
    pub identifiers: Vec<String>,
    /// Every distinct way the sources wrote the person's names, birth date and citizenship.
    pub identity: Vec<Value>,
    /// Facts per category code, in order of receipt.
    pub facts: BTreeMap<String, Vec<FactBody>>,
}

impl From<Profile> for ProfileBody {
    fn from(profile: Profile) -> ProfileBody {
        ProfileBody {
            person_id: profile.person_id,
            created_at: profile.created_at,
            as_of: profile.as_of,
            valid_at: profile.valid_at,
            identifiers: profile.identifiers,
            identity: profile.identity,
            facts: profile
                .facts
                .into_iter()
                .map(|(category, facts)| {
                    (category, facts.into_iter().map(FactBody::from).collect())
                })
                .collect(),
        }
    }
}

/// The body of the redirect from a merged person to the one it was merged into.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MergedBody {
    pub merged_into: i64,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonLink {
    pub person_id: i64,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonSearchBody {
    pub persons: Vec<PersonLink>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineStatusBody {
    Open,
    Replayed,
}

impl From<QuarantineStatus> for QuarantineStatusBody {
    fn from(status: QuarantineStatus) -> QuarantineStatusBody {
        match status {
            QuarantineStatus::Open => QuarantineStatusBody::Open,
            QuarantineStatus::Replayed => QuarantineStatusBody::Replayed,
        }
    }
}

/// A refused line kept for correction and replay.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuarantineItemBody {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    /// Where the line came from: `api`, `api-batch`, a file name.
    pub origin: String,
    pub line_number: Option<u64>,
    pub source: Option<String>,
    pub source_ref: Option<String>,
    pub violations: Vec<ViolationBody>,
    pub status: QuarantineStatusBody,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_record_id: Option<i64>,
    /// The line as received, as text (invalid UTF-8 shown as U+FFFD); only on the single-item
    /// read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl QuarantineItemBody {
    pub fn from_item(item: QuarantineItem, with_raw: bool) -> QuarantineItemBody {
        let violations: Vec<ViolationBody> =
            serde_json::from_value(item.violations).unwrap_or_default();
        QuarantineItemBody {
            id: item.id,
            received_at: item.received_at,
            origin: item.origin,
            line_number: item.line_number,
            source: item.source,
            source_ref: item.source_ref,
            violations,
            status: item.status.into(),
            resolved_at: item.resolved_at,
            resolved_record_id: item.resolved_record_id,
            raw: with_raw.then(|| String::from_utf8_lossy(&item.raw).into_owned()),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuarantineListBody {
    pub items: Vec<QuarantineItemBody>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}

/// Something a migration officer has to look at.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewItemBody {
    pub id: i64,
    /// `identifier_conflict`, …
    pub kind: String,
    pub person_ids: Vec<i64>,
    pub record_id: Option<i64>,
    pub evidence: Value,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl From<ReviewItem> for ReviewItemBody {
    fn from(item: ReviewItem) -> ReviewItemBody {
        ReviewItemBody {
            id: item.id,
            kind: item.kind,
            person_ids: item.person_ids,
            record_id: item.record_id,
            evidence: item.evidence,
            status: item.status,
            created_at: item.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewListBody {
    pub items: Vec<ReviewItemBody>,
}

/// One person of a review item as the officer compares it with the others: who the sources say
/// the person is, what identifies them, and how much the registry holds about them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewPersonBody {
    /// The person as they are now: an id of the item merged since into another person is
    /// shown as the person it was merged into.
    pub person_id: i64,
    /// The item's own person ids that lead to this person (more than one when the persons of
    /// the item were merged since).
    pub listed_as: Vec<i64>,
    pub url: String,
    /// Strong identifiers the person holds (`snils:12345678964`, `passport:UZB:FA1234567`).
    pub identifiers: Vec<String>,
    /// Every distinct way the sources wrote the person's names, birth date, sex and
    /// citizenship, as they wrote it.
    pub identity: Vec<Value>,
    /// Facts in force per category code.
    pub fact_counts: BTreeMap<String, u64>,
}

/// A review item with its evidence and its persons side by side.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewItemDetailBody {
    #[serde(flatten)]
    pub item: ReviewItemBody,
    /// The item's persons, in the item's order.
    pub persons: Vec<ReviewPersonBody>,
}

/// An officer's verdict on a review item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewVerdictBody {
    /// The persons are one: merge them into the one with the lowest id.
    Confirm,
    /// The persons are different: keep them apart for good.
    Reject,
}

/// The body of `POST /v1/review/{id}/decision`. With an agency key, `actor` names the officer
/// the case system decides for; with an officer's session it is the signed-in officer (leave
/// it out; naming anyone else is refused).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"decision": "reject", "actor": "officer:ivanova", "reason": "different fathers' names in the passports"}))]
pub struct ReviewDecisionRequest {
    pub decision: ReviewVerdictBody,
    /// Who decides; kept with the decision. Required with an agency key; with an officer's
    /// session, the officer (may be left out).
    pub actor: String,
    /// Why; kept with the decision.
    pub reason: String,
}

/// How a review item was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatusBody {
    Confirmed,
    Rejected,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewDecisionBody {
    /// The decisions written (one merge per merged person for a confirmation, one rejection);
    /// they appear in the persons' histories.
    pub decision_ids: Vec<i64>,
    pub status: ReviewStatusBody,
}

/// The body of `POST /v1/persons/{id}/merge`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"from": 42, "actor": "officer:ivanova", "reason": "same man, passport renewed"}))]
pub struct MergeRequest {
    /// The person merged into the one of the path; its id then redirects there.
    pub from: i64,
    pub actor: String,
    pub reason: String,
}

/// The body of `POST /v1/persons/{id}/split`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"merge_decision_id": 17, "actor": "officer:ivanova", "reason": "two men after all"}))]
pub struct SplitRequest {
    /// The merge to undo, from the person's history.
    pub merge_decision_id: i64,
    pub actor: String,
    pub reason: String,
}

/// The id of the decision an officer's merge or split wrote.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionCreatedBody {
    pub decision_id: i64,
}

/// One decision about which records belong together, kept forever.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkDecisionBody {
    pub id: i64,
    /// `merge`, `split` or `reject`.
    pub kind: String,
    /// The surviving person of a merge or split; the first person of a rejection.
    pub person_id: i64,
    /// The merged (or split off) person; the second person of a rejection.
    pub other_person_id: Option<i64>,
    /// The record that led to the decision, where one did.
    pub record_id: Option<i64>,
    /// `officer:…` as the officer wrote it, or `rule:…` for an automatic link.
    pub actor: String,
    pub reason: String,
    /// What the decision rested on and, for a merge, what it moved (a split moves it back).
    pub evidence: Value,
    pub decided_at: DateTime<Utc>,
}

impl From<LinkDecision> for LinkDecisionBody {
    fn from(decision: LinkDecision) -> LinkDecisionBody {
        LinkDecisionBody {
            id: decision.id,
            kind: decision.kind,
            person_id: decision.person_id,
            other_person_id: decision.other_person_id,
            record_id: decision.record_id,
            actor: decision.actor,
            reason: decision.reason,
            evidence: decision.evidence,
            decided_at: decision.decided_at,
        }
    }
}

/// A person's link decisions, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryBody {
    pub decisions: Vec<LinkDecisionBody>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthBody {
    /// Always `ok` on a 200.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
}

/// The ingest envelope, for the documentation only: the server reads the raw bytes (they are
/// stored exactly as received) and checks them field by field, so this type never parses.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "source": "fns", "source_ref": "fns-2026-000123", "revision": 1, "action": "upsert",
    "category": "tax_debt", "observed_at": "2026-03-01T09:00:00Z", "valid_from": "2026-03-01",
    "subject": {"names": [{"script": "Latn", "family": "ABDULLAYEV", "given": "RUSTAM"}],
                "birth_date": "1991-07-14", "citizenship": "UZB",
                "documents": [{"kind": "passport", "country": "UZB", "number": "FA1234567"}],
                "identifiers": {"snils": "112-233-445 95"}},
    "data": {"balance": -1250.00, "as_of": "2026-03-01"}
}))]
pub struct EnvelopeDoc {
    /// The sending agency's id (`fns`, `border`, …).
    pub source: String,
    /// The record's id at its source; with `source` the record's key.
    pub source_ref: String,
    /// Defaults to 1; a higher one supersedes.
    pub revision: Option<u32>,
    /// `upsert` (default) or `retract`.
    pub action: Option<String>,
    /// A record category code; required for an upsert.
    pub category: Option<String>,
    pub observed_at: Option<DateTime<Utc>>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    /// Who the record is about: names, birth date (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`), sex,
    /// citizenship, documents, identifiers.
    pub subject: Value,
    /// Category-specific payload, validated per category.
    pub data: Value,
}
