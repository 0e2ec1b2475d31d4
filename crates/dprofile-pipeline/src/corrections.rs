//! The person's right to correction (issue 4): a signed-in person files a request citing one
//! fact of their own profile, with the disputed fields and an explanation; it goes to the
//! queue of the agency whose `source` code wrote the record, with a deadline; that agency
//! accepts (and sends a corrected revision through ingest) or rejects it with a reason.
//!
//! While a request stands (open, or accepted until the corrected revision arrives), the fact
//! it cites carries a dispute marker in every profile built by
//! [`crate::profile::load_profile`], whoever reads it: the marker cannot be forgotten by a
//! route. A rejection lifts it; a newer version of the record replaces the disputed one, so
//! the marker (bound to the disputed version's record id) goes with it.
//!
//! Each step that touches personal data appends its access-log entry in the same transaction
//! as the write, so a filing or an answer never lands without its entry, nor the other way.

use chrono::{DateTime, Duration, Utc};
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome, SALT_LEN};
use dprofile_domain::{Rule, Violation};
use dprofile_store::{
    AccessAppend, CorrectionAnswer, CorrectionFilter, CorrectionRow, CorrectionStatus,
    NewCorrection, PersonId, RecordId, Store, StoreError, access_log,
};
use serde::Serialize;
use serde_json::Value;

use crate::profile::{Fact, ProfileLookup, load_profile};

/// How correction requests are handled; validated where it is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionConfig {
    /// Days the source agency has to answer. GDPR art. 12(3) gives the controller "one month
    /// of receipt" to act on a data subject's request (art. 16, rectification); 30 days is
    /// that month as a fixed count. A deployment bound by a shorter national rule (e.g. seven
    /// working days to rectify once inaccuracy is shown) sets its own.
    pub answer_within_days: u32,
    /// Longest explanation a person may write, and longest answer an agency may give, in
    /// characters: enough for a reasoned letter, not a document store.
    pub max_text_chars: usize,
    /// Most fields one request may dispute (one record has a few dozen at most).
    pub max_fields: usize,
}

impl Default for CorrectionConfig {
    fn default() -> Self {
        CorrectionConfig {
            answer_within_days: 30,
            max_text_chars: 4000,
            max_fields: 20,
        }
    }
}

/// The subject fields a request may dispute (`/subject/<name>`), whether or not the record
/// wrote them: a missing birth date can be wrong too.
pub const SUBJECT_FIELDS: [&str; 6] = [
    "names",
    "birth_date",
    "sex",
    "citizenship",
    "documents",
    "identifiers",
];
/// The envelope's validity dates, disputable as `/valid_from` and `/valid_to`.
pub const VALIDITY_FIELDS: [&str; 2] = ["valid_from", "valid_to"];

/// Which fact a request cites: the record id the profile shows, or its source key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CitedRecord {
    Id(RecordId),
    Key { source: String, source_ref: String },
}

/// A person's request, as written (checked by [`CorrectionDesk::file`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filing {
    pub cited: CitedRecord,
    pub fields: Vec<String>,
    pub explanation: String,
}

/// The agency's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The record is wrong: the agency sends a corrected revision through ingest.
    Accept,
    /// The record stands, for the reason given.
    Reject,
}

/// Who acts, as the access log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accessor {
    pub actor: String,
    pub agency: String,
    pub role: String,
    pub purpose: String,
    /// Days before the person sees the entry (the policy's delay for the role; 0 for most).
    pub disclosure_delay_days: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum CorrectionError {
    /// A field of the request is wrong: the pointer names it.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Violation>),
    /// The cited record is not a fact of the person's profile now (unknown, someone else's,
    /// superseded): one answer for all, so that nothing leaks about other persons' records.
    #[error("{}", .0.message)]
    RecordNotFound(Violation),
    /// Another standing request of the person disputes the field already.
    #[error(
        "`{field}` of this record is disputed already by request {correction_id}: wait for its answer"
    )]
    AlreadyDisputed { field: String, correction_id: i64 },
    /// No such request in this agency's queue (another agency's request is not shown either).
    #[error("correction request {0} is not in your agency's queue")]
    NotInQueue(i64),
    /// Answered before: an answer is final.
    #[error("correction request {id} was {status} already: an answer is final")]
    AlreadyAnswered { id: i64, status: &'static str },
    /// The person signed in has no profile any more.
    #[error("the registry holds no profile for you any more")]
    NoProfile,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a reader sees of a request's progress: the stored answer, and `overdue` for an open
/// request read after its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionState {
    Open,
    Overdue,
    Accepted,
    Rejected,
}

impl CorrectionState {
    pub fn of(row: &CorrectionRow, now: DateTime<Utc>) -> CorrectionState {
        match row.status {
            CorrectionStatus::Open if now > row.due_at => CorrectionState::Overdue,
            CorrectionStatus::Open => CorrectionState::Open,
            CorrectionStatus::Accepted => CorrectionState::Accepted,
            CorrectionStatus::Rejected => CorrectionState::Rejected,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            CorrectionState::Open => "open",
            CorrectionState::Overdue => "overdue",
            CorrectionState::Accepted => "accepted",
            CorrectionState::Rejected => "rejected",
        }
    }
}

/// The marker a disputed fact carries while a request about it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisputeMarker {
    pub correction_id: i64,
    /// When the person filed it.
    pub since: DateTime<Utc>,
    pub fields: Vec<String>,
    /// `open` (waiting for the agency) or `accepted` (waiting for the corrected record).
    pub status: CorrectionStatus,
}

/// Puts a marker on every fact whose cited version a standing request disputes.
pub(crate) fn mark_disputes<'a>(
    facts: impl Iterator<Item = &'a mut Fact>,
    standing: &[CorrectionRow],
) {
    if standing.is_empty() {
        return;
    }
    for fact in facts {
        fact.disputed.extend(
            standing
                .iter()
                .filter(|row| row.record_id == fact.cited.record_id)
                .map(|row| DisputeMarker {
                    correction_id: row.id,
                    since: row.filed_at,
                    fields: row.fields.clone(),
                    status: row.status,
                }),
        );
    }
}

/// Files, lists and answers correction requests over a store.
pub struct CorrectionDesk<'a> {
    pub store: &'a dyn Store,
    pub config: &'a CorrectionConfig,
}

impl CorrectionDesk<'_> {
    /// Files `filing` for `person` at `now`: checks it against the person's profile as it is
    /// now, writes it to the source agency's queue with its deadline and logs it, in one
    /// transaction. Returns the request as stored.
    pub fn file(
        &self,
        person: PersonId,
        filing: &Filing,
        accessor: &Accessor,
        now: DateTime<Utc>,
    ) -> Result<CorrectionRow, CorrectionError> {
        let explanation = self.checked_text("/explanation", &filing.explanation)?;
        let fields = self.checked_fields(&filing.fields)?;
        let fact = self.cited_fact(person, &filing.cited)?;
        check_fields_exist(&fields, &fact)?;
        let due_at = now + Duration::days(i64::from(self.config.answer_within_days));
        let mut outcome: Option<Result<i64, CorrectionError>> = None;
        let written = self.store.write(&mut |tx| {
            // The fact must still be in force inside the transaction: a revision that landed
            // since the profile was read makes the citation stale.
            let state = tx.load_keys(&[(&fact.cited.source, &fact.cited.source_ref)])?[0].clone();
            let Some((key_id, in_force)) =
                state.and_then(|state| state.key_id.map(|key_id| (key_id, state.record_id)))
            else {
                outcome = Some(Err(record_not_found(&filing.cited)));
                return Err(StoreError::Aborted("the cited record is gone".to_owned()));
            };
            if in_force != fact.cited.record_id {
                outcome = Some(Err(record_not_found(&filing.cited)));
                return Err(StoreError::Aborted(
                    "the cited record was superseded".to_owned(),
                ));
            }
            let id = tx.insert_correction(&NewCorrection {
                person_id: person,
                record_id: fact.cited.record_id,
                key_id,
                source: &fact.cited.source,
                source_ref: &fact.cited.source_ref,
                revision: fact.cited.revision,
                category: Some(&fact.category),
                fields: &fields,
                explanation: &explanation,
                filed_at: now,
                due_at,
            })?;
            let held = tx.claim_correction_fields(id, fact.cited.record_id, &fields)?;
            if let Some((field, correction_id)) = held.into_iter().next() {
                outcome = Some(Err(CorrectionError::AlreadyDisputed {
                    field,
                    correction_id,
                }));
                return Err(StoreError::Aborted(
                    "a field is disputed already".to_owned(),
                ));
            }
            access_log::append_access(tx, &[log_entry(accessor, person, &fact.category, id, now)])?;
            outcome = Some(Ok(id));
            Ok(())
        });
        let id = match (written, outcome) {
            (Ok(()), Some(Ok(id))) => id,
            (_, Some(Err(error))) => return Err(error),
            (Err(error), _) => return Err(error.into()),
            (Ok(()), None) => {
                return Err(StoreError::Corrupt("a filing wrote nothing".to_owned()).into());
            }
        };
        self.store
            .correction(id)?
            .ok_or_else(|| StoreError::Corrupt(format!("correction {id} vanished")).into())
    }

    /// The person's own requests, oldest first.
    pub fn of_person(&self, person: PersonId) -> Result<Vec<CorrectionRow>, CorrectionError> {
        let mut rows = Vec::new();
        let mut after_id = 0;
        loop {
            let page = self.store.corrections(&CorrectionFilter {
                person_id: Some(person),
                after_id,
                ..CorrectionFilter::default()
            })?;
            let Some(last) = page.last().map(|row| row.id) else {
                break;
            };
            after_id = last;
            rows.extend(page);
        }
        Ok(rows)
    }

    /// One page of `agency`'s queue: only requests about records `agency` wrote. With
    /// `overdue_at`, only open requests past their deadline at that instant.
    pub fn queue(
        &self,
        agency: &str,
        status: Option<CorrectionStatus>,
        overdue_at: Option<DateTime<Utc>>,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<CorrectionRow>, CorrectionError> {
        Ok(self.store.corrections(&CorrectionFilter {
            source: Some(agency),
            person_id: None,
            status: if overdue_at.is_some() {
                Some(CorrectionStatus::Open)
            } else {
                status
            },
            // Stored deadlines are inclusive bounds; overdue is strictly after the deadline.
            due_before: overdue_at.map(|now| now - Duration::microseconds(1)),
            after_id,
            limit,
        })?)
    }

    /// A request in `agency`'s queue; another agency's request answers as if it did not exist.
    pub fn in_queue(&self, agency: &str, id: i64) -> Result<CorrectionRow, CorrectionError> {
        self.store
            .correction(id)?
            .filter(|row| row.source == agency)
            .ok_or(CorrectionError::NotInQueue(id))
    }

    /// `agency`'s answer to request `id`, final, logged in the same transaction. A rejection
    /// lifts the dispute at once; an acceptance keeps the marker until the corrected revision
    /// replaces the disputed version.
    pub fn answer(
        &self,
        agency: &str,
        id: i64,
        verdict: Verdict,
        text: &str,
        accessor: &Accessor,
        now: DateTime<Utc>,
    ) -> Result<CorrectionRow, CorrectionError> {
        let request = self.in_queue(agency, id)?;
        let text = self.checked_text("/answer", text)?;
        let status = match verdict {
            Verdict::Accept => CorrectionStatus::Accepted,
            Verdict::Reject => CorrectionStatus::Rejected,
        };
        let mut answered = false;
        self.store.write(&mut |tx| {
            answered = tx.answer_correction(
                id,
                &CorrectionAnswer {
                    status,
                    answer: &text,
                    answered_by: &accessor.actor,
                    answered_at: now,
                },
            )?;
            if !answered {
                return Ok(());
            }
            if status == CorrectionStatus::Rejected {
                tx.release_correction_fields(id)?;
            }
            let category = request.category.as_deref().unwrap_or_default();
            access_log::append_access(
                tx,
                &[log_entry(accessor, request.person_id, category, id, now)],
            )?;
            Ok(())
        })?;
        let row = self
            .store
            .correction(id)?
            .ok_or(CorrectionError::NotInQueue(id))?;
        if !answered {
            return Err(CorrectionError::AlreadyAnswered {
                id,
                status: row.status.code(),
            });
        }
        Ok(row)
    }

    fn checked_text(&self, pointer: &str, text: &str) -> Result<String, CorrectionError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CorrectionError::Invalid(vec![Violation::new(
                pointer,
                Rule::Required,
                "write a few words: what is wrong and what is right",
            )]));
        }
        let chars = text.chars().count();
        if chars > self.config.max_text_chars {
            return Err(CorrectionError::Invalid(vec![Violation::new(
                pointer,
                Rule::Length,
                format!(
                    "{chars} characters is more than the {} allowed: shorten it",
                    self.config.max_text_chars
                ),
            )]));
        }
        Ok(text.to_owned())
    }

    /// The fields as pointers, each well formed, without repeats, in the order given.
    fn checked_fields(&self, fields: &[String]) -> Result<Vec<String>, CorrectionError> {
        if fields.is_empty() {
            return Err(CorrectionError::Invalid(vec![Violation::new(
                "/fields",
                Rule::Required,
                "name at least one disputed field, as a pointer into the record: `/data/<field>`, `/subject/<field>`, `/valid_from` or `/valid_to`",
            )]));
        }
        if fields.len() > self.config.max_fields {
            return Err(CorrectionError::Invalid(vec![Violation::new(
                "/fields",
                Rule::Length,
                format!(
                    "{} fields is more than the {} one request may dispute: file several requests",
                    fields.len(),
                    self.config.max_fields
                ),
            )]));
        }
        let mut checked: Vec<String> = Vec::with_capacity(fields.len());
        let mut violations = Vec::new();
        for (index, field) in fields.iter().enumerate() {
            let field = field.trim();
            let well_formed = match field.strip_prefix('/').map(|rest| rest.split_once('/')) {
                Some(Some(("data", name))) => is_field_name(name),
                Some(Some(("subject", name))) => SUBJECT_FIELDS.contains(&name),
                Some(None) => VALIDITY_FIELDS.contains(&&field[1..]),
                _ => false,
            };
            if !well_formed {
                violations.push(Violation::new(
                    format!("/fields/{index}"),
                    Rule::Format,
                    format!(
                        "`{field}` is not a disputable field: write `/data/<field>`, `/subject/<{}>`, `/valid_from` or `/valid_to`",
                        SUBJECT_FIELDS.join("|")
                    ),
                ));
            } else if !checked.iter().any(|known| known == field) {
                checked.push(field.to_owned());
            }
        }
        if !violations.is_empty() {
            return Err(CorrectionError::Invalid(violations));
        }
        Ok(checked)
    }

    /// The fact of the person's profile now that `cited` names.
    fn cited_fact(&self, person: PersonId, cited: &CitedRecord) -> Result<Fact, CorrectionError> {
        let profile = match load_profile(self.store, person, None, None)? {
            ProfileLookup::Found(profile) => profile,
            ProfileLookup::Merged { .. } | ProfileLookup::NotFound => {
                return Err(CorrectionError::NoProfile);
            }
        };
        profile
            .facts
            .into_values()
            .flatten()
            .find(|fact| match cited {
                CitedRecord::Id(id) => fact.cited.record_id == *id,
                CitedRecord::Key { source, source_ref } => {
                    fact.cited.source == *source && fact.cited.source_ref == *source_ref
                }
            })
            .ok_or_else(|| record_not_found(cited))
    }
}

fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

/// A `/data/<field>` must be a field the record holds; subject and validity fields may be
/// disputed though missing.
fn check_fields_exist(fields: &[String], fact: &Fact) -> Result<(), CorrectionError> {
    let present: Vec<&str> = match &fact.data {
        Value::Object(object) => object.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let violations: Vec<Violation> = fields
        .iter()
        .enumerate()
        .filter_map(|(index, field)| {
            let name = field.strip_prefix("/data/")?;
            (!present.contains(&name)).then(|| {
                Violation::new(
                    format!("/fields/{index}"),
                    Rule::Enum,
                    format!(
                        "the record has no `{name}` in its data: dispute one of {}",
                        present
                            .iter()
                            .map(|name| format!("/data/{name}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
        })
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(CorrectionError::Invalid(violations))
    }
}

fn record_not_found(cited: &CitedRecord) -> CorrectionError {
    let (pointer, message) = match cited {
        CitedRecord::Id(id) => (
            "/record_id",
            format!(
                "record {id} is not a fact of your profile now: cite a `record_id` from `GET /v1/me/profile`"
            ),
        ),
        CitedRecord::Key { source, source_ref } => (
            "/source_ref",
            format!(
                "no fact of your profile now comes from `{source}` `{source_ref}`: cite a `source` and `source_ref` from `GET /v1/me/profile`"
            ),
        ),
    };
    CorrectionError::RecordNotFound(Violation::new(pointer, Rule::Enum, message))
}

fn log_entry(
    accessor: &Accessor,
    person: PersonId,
    category: &str,
    correction_id: i64,
    now: DateTime<Utc>,
) -> AccessAppend {
    let entry = AccessEntry {
        at: now,
        actor: accessor.actor.clone(),
        agency: accessor.agency.clone(),
        role: accessor.role.clone(),
        purpose: accessor.purpose.clone(),
        case_ref: Some(case_ref(correction_id)),
        action: AccessAction::Write,
        person: Some(person),
        categories: if category.is_empty() {
            Vec::new()
        } else {
            vec![category.to_owned()]
        },
        outcome: AccessOutcome::Allowed,
    }
    .normalised();
    AccessAppend {
        disclosed_at: now + Duration::days(i64::from(accessor.disclosure_delay_days)),
        salt: rand::random::<[u8; SALT_LEN]>(),
        entry,
    }
}

/// How the access log names a request as the case of an access.
pub fn case_ref(correction_id: i64) -> String {
    format!("correction:{correction_id}")
}
