//! The rows of the person's correction requests (issue 4): what a filing writes, what an
//! agency's answer writes, and a request as read back with the version now in force of the
//! record it cites. What a request may cite, who may answer it and when it is overdue is
//! decided in `dprofile_pipeline::corrections`; the store keeps rows.

use chrono::{DateTime, Utc};
use dprofile_domain::Action;
use serde::Serialize;

use crate::{KeyId, PersonId, RecordId};

/// The agency's answer to a request, as stored. "Overdue" is not a stored status: it is an
/// open request read after its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionStatus {
    Open,
    Accepted,
    Rejected,
}

impl CorrectionStatus {
    pub const ALL: [CorrectionStatus; 3] = [
        CorrectionStatus::Open,
        CorrectionStatus::Accepted,
        CorrectionStatus::Rejected,
    ];

    pub fn code(self) -> &'static str {
        match self {
            CorrectionStatus::Open => "open",
            CorrectionStatus::Accepted => "accepted",
            CorrectionStatus::Rejected => "rejected",
        }
    }

    pub fn from_code(code: &str) -> Option<CorrectionStatus> {
        CorrectionStatus::ALL
            .into_iter()
            .find(|status| status.code() == code)
    }
}

/// A request as filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCorrection<'a> {
    /// The person who filed it.
    pub person_id: PersonId,
    /// The version the request cites, and its key.
    pub record_id: RecordId,
    pub key_id: KeyId,
    /// The agency whose queue the request goes to: the record's `source`.
    pub source: &'a str,
    pub source_ref: &'a str,
    pub revision: u32,
    pub category: Option<&'a str>,
    /// Pointers into the record (`/data/balance`), in order, without repeats.
    pub fields: &'a [String],
    pub explanation: &'a str,
    pub filed_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// An agency's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrectionAnswer<'a> {
    /// Accepted or rejected.
    pub status: CorrectionStatus,
    pub answer: &'a str,
    /// Who answered, as the access log names them (`apikey:12`).
    pub answered_by: &'a str,
    pub answered_at: DateTime<Utc>,
}

/// The version in force now of a request's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VersionInForce {
    pub record_id: RecordId,
    pub revision: u32,
    #[serde(serialize_with = "crate::serialize_action")]
    pub action: Action,
}

/// A request as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorrectionRow {
    pub id: i64,
    pub person_id: PersonId,
    pub record_id: RecordId,
    pub key_id: KeyId,
    pub source: String,
    pub source_ref: String,
    pub revision: u32,
    pub category: Option<String>,
    pub fields: Vec<String>,
    pub explanation: String,
    pub filed_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub status: CorrectionStatus,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    /// The key's version in force now (`None` only if the key row is gone).
    pub in_force: Option<VersionInForce>,
}

impl CorrectionRow {
    /// Whether the cited version is still the one in force (no newer revision, no retraction).
    pub fn cites_version_in_force(&self) -> bool {
        self.in_force
            .is_some_and(|in_force| in_force.record_id == self.record_id)
    }
}

/// Which requests to list; every criterion left `None` matches all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrectionFilter<'a> {
    /// The agency's queue.
    pub source: Option<&'a str>,
    /// The person who filed.
    pub person_id: Option<PersonId>,
    pub status: Option<CorrectionStatus>,
    /// Only requests due at or before this instant (with `Open`: the overdue ones).
    pub due_before: Option<DateTime<Utc>>,
    /// Ids after this one, in id order (paging).
    pub after_id: i64,
    pub limit: usize,
}

impl Default for CorrectionFilter<'_> {
    fn default() -> Self {
        CorrectionFilter {
            source: None,
            person_id: None,
            status: None,
            due_before: None,
            after_id: 0,
            limit: 1000,
        }
    }
}

pub(crate) fn fields_from_json(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

pub(crate) fn fields_to_json(fields: &[String]) -> String {
    serde_json::to_string(fields).unwrap_or_else(|_| "[]".to_owned())
}
