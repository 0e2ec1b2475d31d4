//! Writes through the API are authorised and logged. A record is accepted only when its
//! `source` is the key's agency and its category is in that agency's `[writes]` of the policy
//! (whatever the key's role: agencies that only send records hold the `source_system` role, which
//! reads nothing). A refused line is not stored, not even in quarantine (it is not a
//! malformed record to fix, but a record this caller may not send); its refusal is logged.
//!
//! Accepted writes are logged in the chunk's own transaction (`Ingestor::ingest_lines_and`):
//! one `write` entry per person per chunk, with the categories written. The records and their
//! log entries commit together or not at all, so no write is ever stored without its entry,
//! and a failed log append stores nothing. Appending after the commit would leave a window
//! (a crash, a failing log) in which data is stored unlogged.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome};
use dprofile_domain::{Category, Violation};
use dprofile_pipeline::LineResult;
use dprofile_pipeline::access_log::AccessRecord;
use dprofile_policy::{Policy, Refusal};
use dprofile_store::{Outcome, PersonId};
use serde::Deserialize;

use crate::auth::Caller;

/// The purpose written in the access log for a record sent to the registry.
pub const WRITE_PURPOSE: &str = "record_submission";

/// Refusal code: the record's `source` is not the key's agency.
pub const SOURCE_NOT_CALLER: &str = "write.source_not_caller";

/// What a line says about itself, read before the pipeline parses it.
#[derive(Deserialize)]
struct Declared<'a> {
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    category: Option<Cow<'a, str>>,
}

/// Why a line may not be written by this caller.
#[derive(Debug, Clone)]
pub(crate) struct WriteRefusal {
    pub refusal: Refusal,
    /// The envelope field at fault: `source` or `category`.
    pub field: &'static str,
    pub source: Option<String>,
    pub source_ref: Option<String>,
    /// The category the line named, when it is one.
    pub category: Option<Category>,
}

impl WriteRefusal {
    pub fn violation(&self) -> Violation {
        Violation {
            pointer: format!("/{}", self.field),
            rule: self.refusal.code.to_owned(),
            message: self.refusal.message.clone(),
        }
    }
}

/// The category of a line `caller` may write (`None` when the line does not say one the
/// pipeline would accept: it then quarantines the line with its reasons), or why not.
pub(crate) fn authorise_line(
    policy: &Policy,
    caller: &Caller,
    bytes: &[u8],
) -> Result<Option<Category>, Box<WriteRefusal>> {
    #[derive(Deserialize)]
    struct SourceRef<'a> {
        #[serde(borrow, default)]
        source_ref: Option<Cow<'a, str>>,
    }
    // Not an object with string fields: the pipeline's parse says what is wrong with it.
    let Ok(declared) = serde_json::from_slice::<Declared<'_>>(bytes) else {
        return Ok(None);
    };
    let category = declared.category.as_deref().and_then(Category::from_code);
    let refused = |field: &'static str, refusal: Refusal| {
        let source_ref = serde_json::from_slice::<SourceRef<'_>>(bytes)
            .ok()
            .and_then(|line| line.source_ref.map(Cow::into_owned));
        Box::new(WriteRefusal {
            refusal,
            field,
            source: declared.source.as_deref().map(str::to_owned),
            source_ref,
            category,
        })
    };
    if let Some(source) = declared.source.as_deref()
        && source != caller.agency
    {
        return Err(refused(
            "source",
            Refusal {
                code: SOURCE_NOT_CALLER,
                message: format!(
                    "`source` is `{source}` but the API key acts for agency `{}`: send records under your own agency's source code, with a key of that agency",
                    caller.agency
                ),
            },
        ));
    }
    let Some(category) = category else {
        return Ok(None);
    };
    match policy.may_write(&caller.agency, category) {
        Ok(()) => Ok(Some(category)),
        Err(refusal) => Err(refused(
            "category",
            Refusal {
                code: refusal.code,
                message: format!(
                    "{}: the access policy's `[writes]` lists the categories each agency sends",
                    refusal.message
                ),
            },
        )),
    }
}

fn write_entry(
    caller: &Caller,
    at: DateTime<Utc>,
    person: Option<PersonId>,
    categories: Vec<String>,
    outcome: AccessOutcome,
) -> AccessRecord {
    AccessRecord {
        entry: AccessEntry {
            at,
            actor: caller.actor(),
            agency: caller.agency.clone(),
            role: caller.role.clone(),
            purpose: WRITE_PURPOSE.to_owned(),
            case_ref: None,
            action: AccessAction::Write,
            person,
            categories,
            outcome,
        }
        .normalised(),
        disclosure_delay: Duration::zero(),
    }
}

/// The log entry of a refused line (no person: nothing was stored or linked).
pub(crate) fn refused_entry(
    caller: &Caller,
    at: DateTime<Utc>,
    refusal: &WriteRefusal,
) -> AccessRecord {
    write_entry(
        caller,
        at,
        None,
        refusal
            .category
            .map(|category| vec![category.code().to_owned()])
            .unwrap_or_default(),
        AccessOutcome::Refused {
            rule: refusal.refusal.code.to_owned(),
        },
    )
}

/// One entry per person the chunk wrote to, with the categories of the versions it stored
/// (accepted, superseded, retracted or stale lines; duplicates and quarantined lines store
/// nothing of a person). `categories` maps line numbers to the category each line declared.
pub(crate) fn accepted_entries(
    caller: &Caller,
    at: DateTime<Utc>,
    results: &[LineResult],
    categories: &BTreeMap<u64, Category>,
) -> Vec<AccessRecord> {
    let mut by_person: BTreeMap<Option<PersonId>, BTreeSet<&'static str>> = BTreeMap::new();
    for result in results {
        if matches!(result.outcome, Outcome::Duplicate | Outcome::Quarantined) {
            continue;
        }
        let written = by_person.entry(result.person_id).or_default();
        if let Some(category) = categories.get(&result.line) {
            written.insert(category.code());
        }
    }
    by_person
        .into_iter()
        .map(|(person, written)| {
            write_entry(
                caller,
                at,
                person,
                written.into_iter().map(str::to_owned).collect(),
                AccessOutcome::Allowed,
            )
        })
        .collect()
}
