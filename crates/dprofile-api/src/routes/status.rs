//! A person's statuses, derived by the status engine (`dprofile-status`) from the profile's
//! facts in force: for an agency (`GET /v1/persons/{id}/status`, purpose and case, policy-checked
//! and logged like the profile) and for the signed-in person (`GET /v1/me/status`).
//!
//! A status is information for a human who decides, never an automated decision. An agency's
//! statuses are computed only from the categories its role may read for the stated purpose (the
//! engine never sees the others), and a status kind none of whose categories it may read is
//! left out.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::response::Json;
use chrono::NaiveDate;
use dprofile_audit::AccessAction;
use dprofile_pipeline::profile::{Profile, ProfileLookup, load_profile};
use dprofile_policy::Action;
use dprofile_status::{Answer, Status, StatusKind, StatusReport, evaluate};
use dprofile_store::{PersonId, Store};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{self, AccessEvent, Caller, Purpose};
use crate::problem::{ApiError, Problem};
use crate::routes::me::SignedInPerson;
use crate::routes::persons::parse_person_id;
use crate::{ApiContext, run_blocking};

/// Said with every set of statuses.
pub const NOTICE: &str = "information for a human who decides: the registry takes no decision by itself; check the records cited before acting";

pub(crate) use dprofile_pipeline::status::{status_facts, today};

/// The profile of `person`, following merges (a few hops at most).
pub(crate) fn load_current(
    store: &dyn Store,
    person: PersonId,
) -> Result<(PersonId, Box<Profile>), ApiError> {
    let mut current = person;
    for _ in 0..8 {
        match load_profile(store, current, None, None)? {
            ProfileLookup::Found(profile) => return Ok((current, profile)),
            ProfileLookup::Merged { into } => current = into,
            ProfileLookup::NotFound => break,
        }
    }
    Err(ApiError::NotFound(format!(
        "person {person} does not exist"
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleBody {
    /// `stay.visa_free_90_180`, `work.right_to_work`, …
    pub id: String,
    pub version: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamedDateBody {
    pub name: String,
    pub date: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamedFigureBody {
    pub name: String,
    pub value: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CitedRecordBody {
    pub record_id: i64,
    pub source: String,
    pub source_ref: String,
}

/// One status and its explanation.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusBody {
    /// `lawful_stay`, `visa_free_stay`, `right_to_work`, `entry_ban`, `tax_debt`,
    /// `registration_expiring`.
    pub kind: String,
    /// `yes`, `no`, or `unknown` (no record to say).
    pub answer: String,
    pub rule: RuleBody,
    pub basis: Option<String>,
    pub region: Option<String>,
    pub valid_until: Option<NaiveDate>,
    pub conditions: Vec<String>,
    pub dates: Vec<NamedDateBody>,
    pub figures: Vec<NamedFigureBody>,
    /// The records the answer relied on.
    pub relied_on: Vec<CitedRecordBody>,
    pub explanation: String,
}

pub(crate) fn answer_code(answer: Answer) -> &'static str {
    match answer {
        Answer::Yes => "yes",
        Answer::No => "no",
        Answer::Unknown => "unknown",
    }
}

impl From<&Status> for StatusBody {
    fn from(status: &Status) -> StatusBody {
        StatusBody {
            kind: status.kind.code().to_owned(),
            answer: answer_code(status.answer).to_owned(),
            rule: RuleBody {
                id: status.rule.id.to_owned(),
                version: status.rule.version,
            },
            basis: status.basis.map(str::to_owned),
            region: status.region.clone(),
            valid_until: status.valid_until,
            conditions: status.conditions.clone(),
            dates: status
                .dates
                .iter()
                .map(|date| NamedDateBody {
                    name: date.name.to_owned(),
                    date: date.date,
                })
                .collect(),
            figures: status
                .figures
                .iter()
                .map(|figure| NamedFigureBody {
                    name: figure.name.to_owned(),
                    value: figure.value,
                })
                .collect(),
            relied_on: status
                .relied_on
                .iter()
                .map(|cited| CitedRecordBody {
                    record_id: cited.record_id,
                    source: cited.source.clone(),
                    source_ref: cited.source_ref.clone(),
                })
                .collect(),
            explanation: status.explanation.clone(),
        }
    }
}

/// A person's statuses on one day.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusReportBody {
    pub person_id: i64,
    /// The day the statuses hold on (Moscow time).
    pub today: NaiveDate,
    /// The version of the rule set that computed them.
    pub rule_set: String,
    /// Information for a human, never an automated decision.
    pub notice: String,
    pub statuses: Vec<StatusBody>,
}

fn report_body(
    person_id: PersonId,
    report: &StatusReport,
    kinds: &[StatusKind],
) -> StatusReportBody {
    StatusReportBody {
        person_id,
        today: report.today,
        rule_set: report.rule_set.to_owned(),
        notice: NOTICE.to_owned(),
        statuses: report
            .statuses
            .iter()
            .filter(|status| kinds.contains(&status.kind))
            .map(StatusBody::from)
            .collect(),
    }
}

/// A person's statuses as far as the access policy lets the caller's role read their sources
/// for the stated purpose: lawful stay (basis, until), the 90/180 count of a visa-free stay,
/// right to work, entry ban, tax debt, registration expiring — each with its rule and version,
/// the records it relied on and the dates computed. **Information for a human, never an
/// automated decision.** Allowed or refused, the read is in the access log.
#[utoipa::path(
    get,
    path = "/v1/persons/{id}/status",
    operation_id = "person_status",
    tag = "status",
    params(("id" = i64, Path, description = "Person id (a merged id answers for the survivor)."),
        ("X-Purpose" = String, Header, description = "Purpose of the read, one of the caller's role's purposes in the access policy."),
        ("X-Case-Ref" = Option<String>, Header, description = "The case the read is made for; most purposes require one.")),
    responses(
        (status = 200, description = "The statuses the caller's role may see, each explained.", body = StatusReportBody),
        (status = 401, description = "No valid API key (`auth.required`, `auth.invalid_key`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Refused by the access policy; `code` is its rule. Logged.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such person.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn person_status(
    State(context): State<ApiContext>,
    caller: Caller,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<StatusReportBody>, ApiError> {
    let Path(id_text) = path.map_err(|_| ApiError::NotFound("no such person".to_owned()))?;
    let person_id = parse_person_id(&id_text)?;
    let purpose = Purpose::from_headers(&headers);
    let allowance = match auth::decide(&context, &caller, &purpose, Action::Read) {
        Ok(allowance) => allowance,
        Err(refusal) => {
            return Err(auth::refuse(
                &context,
                &caller,
                &purpose,
                AccessAction::Read,
                Some(person_id),
                refusal,
            )
            .await);
        }
    };
    let read_context = context.clone();
    run_blocking(move || {
        let (current, mut profile) = load_current(read_context.state.store.as_ref(), person_id)?;
        auth::restrict_profile(&mut profile, &allowance);
        let shown: Vec<String> = profile.facts.keys().cloned().collect();
        auth::log_access(
            &read_context,
            AccessEvent {
                caller: &caller,
                purpose: &purpose,
                action: AccessAction::Read,
                persons: vec![Some(current)],
                categories: shown,
                decision: Ok(allowance.disclosure_delay_days),
            },
        )?;
        Ok::<_, ApiError>(Json(allowed_statuses(
            &read_context,
            current,
            &profile,
            &allowance,
        )))
    })
    .await
}

/// The statuses an agency's caller sees of a profile already cut down to `allowance`
/// ([`auth::restrict_profile`]): the engine sees only those facts, and a status kind none of
/// whose categories the allowance reads is left out. The API's status route and the officers'
/// console's profile page both answer with it, after logging the read.
pub(crate) fn allowed_statuses(
    context: &ApiContext,
    person_id: PersonId,
    restricted_profile: &Profile,
    allowance: &dprofile_policy::Allowance,
) -> StatusReportBody {
    let kinds: Vec<StatusKind> = StatusKind::ALL
        .into_iter()
        .filter(|kind| {
            kind.categories()
                .iter()
                .any(|category| allowance.allows(*category))
        })
        .collect();
    let rules = &context.state.status_rules;
    let report = evaluate(
        &status_facts(restricted_profile),
        today(rules, context.state.clock.now()),
        rules,
    );
    report_body(person_id, &report, &kinds)
}

/// Every status of the signed-in person, each explained (information for the person, never a
/// decision). The read is in their access log, as their own.
#[utoipa::path(
    get,
    path = "/v1/me/status",
    operation_id = "my_status",
    tag = "status",
    responses(
        (status = 200, description = "Every status, each explained.", body = StatusReportBody),
        (status = 401, description = "No valid session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn my_status(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Json<StatusReportBody>, ApiError> {
    let SignedInPerson(person) = request
        .extensions()
        .get::<SignedInPerson>()
        .copied()
        .ok_or(ApiError::InvalidSession)?;
    let read_context = context.clone();
    run_blocking(move || {
        let (current, profile) = load_current(read_context.state.store.as_ref(), person)?;
        crate::routes::me::log_own_read(
            &read_context,
            current,
            profile.facts.keys().cloned().collect(),
        )?;
        let rules = &read_context.state.status_rules;
        let report = evaluate(
            &status_facts(&profile),
            today(rules, read_context.state.clock.now()),
            rules,
        );
        Ok::<_, ApiError>(Json(report_body(current, &report, &StatusKind::ALL)))
    })
    .await
}
