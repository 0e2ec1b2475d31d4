//! The person's right to correction (issue 4): the signed-in person files a request citing one
//! fact of their profile (`POST /v1/me/corrections`) and follows it (`GET /v1/me/corrections`);
//! the agency whose `source` code wrote the record lists its queue (`GET /v1/corrections`) and
//! answers (`POST /v1/corrections/{id}/answer`).
//!
//! Who answers: a key of the record's own source agency, whatever its role, provided the
//! access policy grants that role the `correct` action for the stated purpose
//! (`correction_handling`); the default policy gives every agency that sends records the role
//! `source_system` for that. A key never sees or answers another agency's request: such a
//! request answers 404, as if it did not exist.
//!
//! Every step is in the access log: the filing and the answer in the same transaction as
//! their write, the person's and the agency's reads before the answer is built.

use std::collections::BTreeMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use dprofile_audit::AccessAction;
use dprofile_domain::{Rule, Violation};
use dprofile_pipeline::corrections::{
    Accessor, CitedRecord, CorrectionDesk, CorrectionError, CorrectionState, Filing, Verdict,
};
use dprofile_policy::Action;
use dprofile_store::{CorrectionRow, PersonId, Store, StoreResult};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{self, AccessEvent, Caller, Purpose};
use crate::problem::{ApiError, Problem};
use crate::routes::me::{PERSON_ROLE, log_own_read, parse_body, signed_in};
use crate::routes::{page_limit, parse_path_id};
use crate::{ApiContext, run_blocking};

/// The purpose of a person's filing in the access log.
pub const CORRECTION_REQUEST_PURPOSE: &str = "correction_request";

/// Largest body of a filing or an answer: a letter, not an attachment.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// A person's correction request: cite the fact by `record_id`, or by `source` and
/// `source_ref`, as `GET /v1/me/profile` shows them (`cited`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct FileCorrectionRequest {
    pub record_id: Option<i64>,
    pub source: Option<String>,
    pub source_ref: Option<String>,
    /// The disputed fields, as pointers into the record: `/data/<field>`, `/subject/<field>`
    /// (names, birth_date, sex, citizenship, documents, identifiers), `/valid_from`, `/valid_to`.
    #[serde(default)]
    pub fields: Vec<String>,
    /// What is wrong and what is right, in the person's words (at most 4000 characters).
    #[serde(default)]
    pub explanation: String,
}

/// The agency's answer.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AnswerCorrectionRequest {
    /// `accept` (the agency sends a corrected revision of the record through ingest) or
    /// `reject`.
    pub verdict: String,
    /// The answer the person reads: for a rejection, the reason.
    #[serde(default)]
    pub answer: String,
}

/// The version that replaced the disputed one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionBody {
    pub record_id: i64,
    pub revision: u32,
    /// `upsert`, or `retract` when the source withdrew the record.
    pub action: String,
}

/// A correction request, as its person and its agency see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorrectionBody {
    pub id: i64,
    pub person_id: i64,
    /// The disputed version, and its source: the agency whose queue has the request.
    pub record_id: i64,
    pub source: String,
    pub source_ref: String,
    pub revision: u32,
    pub category: Option<String>,
    pub fields: Vec<String>,
    pub explanation: String,
    pub filed_at: DateTime<Utc>,
    /// The agency answers by then.
    pub due_at: DateTime<Utc>,
    /// `open`, `overdue` (open past `due_at`), `accepted` or `rejected`.
    pub status: String,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    /// Whether the fact carries the dispute marker now (open or accepted, and the disputed
    /// version still in force).
    pub disputed: bool,
    /// The version in force now, when a newer one replaced the disputed version (for an
    /// accepted request: the correction arrived).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<VersionBody>,
}

impl CorrectionBody {
    pub(crate) fn of(row: CorrectionRow, now: DateTime<Utc>) -> CorrectionBody {
        let state = CorrectionState::of(&row, now);
        let in_force = row.cites_version_in_force();
        let disputed = in_force
            && matches!(
                state,
                CorrectionState::Open | CorrectionState::Overdue | CorrectionState::Accepted
            );
        let superseded_by = row
            .in_force
            .filter(|_| !in_force)
            .map(|version| VersionBody {
                record_id: version.record_id,
                revision: version.revision,
                action: version.action.code().to_owned(),
            });
        CorrectionBody {
            id: row.id,
            person_id: row.person_id,
            record_id: row.record_id,
            source: row.source,
            source_ref: row.source_ref,
            revision: row.revision,
            category: row.category,
            fields: row.fields,
            explanation: row.explanation,
            filed_at: row.filed_at,
            due_at: row.due_at,
            status: state.code().to_owned(),
            answer: row.answer,
            answered_at: row.answered_at,
            disputed,
            superseded_by,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionListBody {
    pub corrections: Vec<CorrectionBody>,
}

impl From<CorrectionError> for ApiError {
    fn from(error: CorrectionError) -> ApiError {
        let detail = error.to_string();
        let correction = |status, code, errors| ApiError::Correction {
            status,
            code,
            detail: detail.clone(),
            errors,
        };
        match error {
            CorrectionError::Invalid(errors) => ApiError::InvalidBody { detail, errors },
            CorrectionError::RecordNotFound(violation) => correction(
                StatusCode::NOT_FOUND,
                "correction.record_not_found",
                vec![violation],
            ),
            CorrectionError::AlreadyDisputed { .. } => correction(
                StatusCode::CONFLICT,
                "correction.already_disputed",
                vec![Violation::new("/fields", Rule::Enum, detail.clone())],
            ),
            CorrectionError::NotInQueue(_) => {
                correction(StatusCode::NOT_FOUND, "correction.not_found", Vec::new())
            }
            CorrectionError::AlreadyAnswered { .. } => correction(
                StatusCode::CONFLICT,
                "correction.already_answered",
                Vec::new(),
            ),
            CorrectionError::NoProfile => ApiError::NotFound(detail),
            CorrectionError::Store(store_error) => ApiError::from(store_error),
        }
    }
}

/// The person a session belongs to now: a person merged since signing in is the survivor.
fn current_person(store: &dyn Store, person: PersonId) -> StoreResult<Option<PersonId>> {
    let mut current = person;
    for _ in 0..8 {
        match store.person(current)? {
            Some(row) => match row.merged_into {
                Some(into) => current = into,
                None => return Ok(Some(current)),
            },
            None => return Ok(None),
        }
    }
    Ok(None)
}

fn person_accessor(person: PersonId, purpose: &str) -> Accessor {
    Accessor {
        actor: format!("person:{person}"),
        agency: PERSON_ROLE.to_owned(),
        role: PERSON_ROLE.to_owned(),
        purpose: purpose.to_owned(),
        disclosure_delay_days: 0,
    }
}

/// Files a correction request about one fact of the signed-in person's profile. It goes to the
/// queue of the agency that wrote the record, with a deadline; the fact carries a dispute
/// marker for every reader until the request is answered.
#[utoipa::path(
    post,
    path = "/v1/me/corrections",
    tag = "me",
    request_body = FileCorrectionRequest,
    responses(
        (status = 201, description = "Filed.", body = CorrectionBody),
        (status = 400, description = "A field is missing or wrong (`invalid_body`; `errors` names it).", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The cited record is not a fact of your profile now (`correction.record_not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A field is disputed already by a standing request (`correction.already_disputed`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn file(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Response, ApiError> {
    let session_person = signed_in(&request)?.0;
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::BodyUnreadable)?;
    let body: FileCorrectionRequest = parse_body(&body)?;
    let filed = file_correction(&context, session_person, body).await?;
    Ok((StatusCode::CREATED, Json(filed)).into_response())
}

/// Files the person's request: the API route's and the portal's page's one way to it.
pub(crate) async fn file_correction(
    context: &ApiContext,
    session_person: PersonId,
    body: FileCorrectionRequest,
) -> Result<CorrectionBody, ApiError> {
    let cited = match (body.record_id, body.source, body.source_ref) {
        (Some(id), None, None) => CitedRecord::Id(id),
        (None, Some(source), Some(source_ref)) => CitedRecord::Key { source, source_ref },
        (None, Some(_), None) => {
            return Err(required(
                "/source_ref",
                "`source` needs `source_ref`: cite both, as the profile shows them",
            ));
        }
        (None, None, Some(_)) => {
            return Err(required(
                "/source",
                "`source_ref` needs `source`: cite both, as the profile shows them",
            ));
        }
        _ => {
            return Err(required(
                "/record_id",
                "cite the fact: its `record_id`, or its `source` and `source_ref`, as `GET /v1/me/profile` shows them (one of the two)",
            ));
        }
    };
    let filing = Filing {
        cited,
        fields: body.fields,
        explanation: body.explanation,
    };
    let now = context.state.clock.now();
    let work_context = context.clone();
    let row = run_blocking(move || {
        let store = work_context.state.store.as_ref();
        let person = current_person(store, session_person)?.ok_or(CorrectionError::NoProfile)?;
        let desk = CorrectionDesk {
            store,
            config: &work_context.state.config.corrections,
        };
        desk.file(
            person,
            &filing,
            &person_accessor(person, CORRECTION_REQUEST_PURPOSE),
            now,
        )
        .map_err(ApiError::from)
    })
    .await?;
    Ok(CorrectionBody::of(row, now))
}

fn required(pointer: &str, message: &str) -> ApiError {
    ApiError::InvalidBody {
        detail: message.to_owned(),
        errors: vec![Violation::new(pointer, Rule::Required, message)],
    }
}

/// The signed-in person's correction requests, oldest first, with their status (`overdue`
/// when the agency let the deadline pass) and the agency's answer.
#[utoipa::path(
    get,
    path = "/v1/me/corrections",
    tag = "me",
    responses(
        (status = 200, description = "The person's requests.", body = CorrectionListBody),
        (status = 401, description = "No valid session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn mine(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Json<CorrectionListBody>, ApiError> {
    let session_person = signed_in(&request)?.0;
    Ok(Json(CorrectionListBody {
        corrections: my_corrections(&context, session_person).await?,
    }))
}

/// The person's requests, the read logged first: the API route's and the portal's page's one
/// way to them.
pub(crate) async fn my_corrections(
    context: &ApiContext,
    session_person: PersonId,
) -> Result<Vec<CorrectionBody>, ApiError> {
    let now = context.state.clock.now();
    let work_context = context.clone();
    let rows = run_blocking(move || {
        let store = work_context.state.store.as_ref();
        let desk = CorrectionDesk {
            store,
            config: &work_context.state.config.corrections,
        };
        let person = current_person(store, session_person)?.unwrap_or(session_person);
        let mut rows = desk.of_person(person)?;
        if person != session_person {
            rows.extend(desk.of_person(session_person)?);
            rows.sort_by_key(|row| row.id);
        }
        let categories = rows.iter().filter_map(|row| row.category.clone()).collect();
        log_own_read(&work_context, person, categories)?;
        Ok::<_, ApiError>(rows)
    })
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| CorrectionBody::of(row, now))
        .collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `open`, `overdue` (open past the deadline), `accepted` or `rejected`; default all.
    status: Option<String>,
    /// Requests after this id (paging); default 0.
    after_id: Option<i64>,
    /// Requests to return, 1 to 1000; default 100.
    limit: Option<usize>,
}

/// The caller's agency's queue: the requests about records it wrote, oldest first. Needs a
/// role with the `correct` action for the stated purpose (`correction_handling`); each person
/// in the page is an entry in the access log.
#[utoipa::path(
    get,
    path = "/v1/corrections",
    tag = "corrections",
    params(QueueQuery,
        ("X-Purpose" = String, Header, description = "`correction_handling`."),
        ("X-Case-Ref" = Option<String>, Header, description = "The case, if the agency has one.")),
    responses(
        (status = 200, description = "The agency's requests.", body = CorrectionListBody),
        (status = 400, description = "A malformed parameter.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key (`auth.required`, `auth.invalid_key`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Refused by the access policy; `code` is its rule. Logged.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn queue(
    State(context): State<ApiContext>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Result<Json<CorrectionListBody>, ApiError> {
    let Query(query) = query.map_err(crate::routes::persons::query_rejection)?;
    let limit = page_limit(query.limit)?;
    let (status, overdue) = match query.status.as_deref() {
        None => (None, false),
        Some("overdue") => (None, true),
        Some(code) => match dprofile_store::CorrectionStatus::from_code(code) {
            Some(status) => (Some(status), false),
            None => {
                return Err(ApiError::invalid_parameter(
                    "status",
                    Rule::Enum,
                    format!("`{code}` is no status: write open, overdue, accepted or rejected"),
                ));
            }
        },
    };
    let purpose = Purpose::from_headers(&headers);
    let now = context.state.clock.now();
    let rows = agency_queue(
        &context,
        caller,
        purpose,
        QueueFilter {
            status,
            overdue,
            after_id: query.after_id.unwrap_or(0),
            limit,
        },
    )
    .await?;
    Ok(Json(CorrectionListBody {
        corrections: rows
            .into_iter()
            .map(|row| CorrectionBody::of(row, now))
            .collect(),
    }))
}

/// Which requests of the queue a read lists.
pub(crate) struct QueueFilter {
    pub status: Option<dprofile_store::CorrectionStatus>,
    /// Only open requests past their deadline.
    pub overdue: bool,
    pub after_id: i64,
    pub limit: usize,
}

/// A page of the caller's agency's correction queue, as `GET /v1/corrections` reads it, for
/// the API and the officers' console alike: the role needs the `correct` action for the stated
/// purpose (a refusal is logged and answered), the grant's categories bound the requests
/// listed, and the read is logged (one entry per person listed) before it is returned.
pub(crate) async fn agency_queue(
    context: &ApiContext,
    caller: Caller,
    purpose: Purpose,
    filter: QueueFilter,
) -> Result<Vec<CorrectionRow>, ApiError> {
    let now = context.state.clock.now();
    let allowance = match auth::decide(context, &caller, &purpose, Action::Correct) {
        Ok(allowance) => allowance,
        Err(refusal) => {
            return Err(auth::refuse(
                context,
                &caller,
                &purpose,
                AccessAction::Read,
                None,
                refusal,
            )
            .await);
        }
    };
    let work_context = context.clone();
    run_blocking(move || {
        let desk = CorrectionDesk {
            store: work_context.state.store.as_ref(),
            config: &work_context.state.config.corrections,
        };
        let rows: Vec<CorrectionRow> = desk
            .queue(
                &caller.agency,
                filter.status,
                filter.overdue.then_some(now),
                filter.after_id,
                filter.limit,
            )?
            .into_iter()
            // The grant's categories bound which records' requests the role handles.
            .filter(|row| {
                row.category
                    .as_deref()
                    .and_then(dprofile_domain::Category::from_code)
                    .is_some_and(|category| allowance.allows(category))
            })
            .collect();
        // One entry per person in the page, naming the categories of their requests.
        let mut by_person: BTreeMap<PersonId, Vec<String>> = BTreeMap::new();
        for row in &rows {
            by_person
                .entry(row.person_id)
                .or_default()
                .extend(row.category.clone());
        }
        if by_person.is_empty() {
            auth::log_access(
                &work_context,
                AccessEvent {
                    caller: &caller,
                    purpose: &purpose,
                    action: AccessAction::Read,
                    persons: vec![None],
                    categories: Vec::new(),
                    decision: Ok(allowance.disclosure_delay_days),
                },
            )?;
        }
        for (person, categories) in by_person {
            auth::log_access(
                &work_context,
                AccessEvent {
                    caller: &caller,
                    purpose: &purpose,
                    action: AccessAction::Read,
                    persons: vec![Some(person)],
                    categories,
                    decision: Ok(allowance.disclosure_delay_days),
                },
            )?;
        }
        Ok::<_, ApiError>(rows)
    })
    .await
}

/// Answers a request in the caller's agency's queue, once: `accept` (then send the corrected
/// revision of the record through ingest: the dispute marker stays until it arrives) or
/// `reject` with the reason (the marker goes at once). Logged with the answer.
#[utoipa::path(
    post,
    path = "/v1/corrections/{id}/answer",
    tag = "corrections",
    params(("id" = i64, Path, description = "Correction request id."),
        ("X-Purpose" = String, Header, description = "`correction_handling`."),
        ("X-Case-Ref" = Option<String>, Header, description = "Not needed: the request is the case.")),
    request_body = AnswerCorrectionRequest,
    responses(
        (status = 200, description = "Answered.", body = CorrectionBody),
        (status = 400, description = "A missing or unknown verdict, or an empty answer (`invalid_body`).", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key (`auth.required`, `auth.invalid_key`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Refused by the access policy; `code` is its rule. Logged.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in your agency's queue (`correction.not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Answered already (`correction.already_answered`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn answer(
    State(context): State<ApiContext>,
    caller: Caller,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Json<CorrectionBody>, ApiError> {
    let id = parse_path_id(path, "correction request")?;
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::BodyUnreadable)?;
    let body: AnswerCorrectionRequest = parse_body(&body)?;
    let verdict = match body.verdict.as_str() {
        "accept" => Verdict::Accept,
        "reject" => Verdict::Reject,
        other => {
            let message = format!("`{other}` is no verdict: write `accept` or `reject`");
            return Err(ApiError::InvalidBody {
                detail: message.clone(),
                errors: vec![Violation::new("/verdict", Rule::Enum, message)],
            });
        }
    };
    let purpose = Purpose::from_headers(&headers);
    let now = context.state.clock.now();
    let row = answer_request(&context, caller, purpose, id, verdict, body.answer).await?;
    Ok(Json(CorrectionBody::of(row, now)))
}

/// Answers a request of the caller's agency's queue, as `POST /v1/corrections/{id}/answer`
/// does, for the API and the officers' console alike: the role needs the `correct` action for
/// the stated purpose (a refusal is logged and answered), a request outside the agency's queue
/// or the grant's categories is not found, and the answer and its log entry commit together.
pub(crate) async fn answer_request(
    context: &ApiContext,
    caller: Caller,
    purpose: Purpose,
    id: i64,
    verdict: Verdict,
    answer: String,
) -> Result<CorrectionRow, ApiError> {
    let now = context.state.clock.now();
    let allowance = match auth::decide(context, &caller, &purpose, Action::Correct) {
        Ok(allowance) => allowance,
        Err(refusal) => {
            return Err(auth::refuse(
                context,
                &caller,
                &purpose,
                AccessAction::Write,
                None,
                refusal,
            )
            .await);
        }
    };
    let work_context = context.clone();
    run_blocking(move || {
        let desk = CorrectionDesk {
            store: work_context.state.store.as_ref(),
            config: &work_context.state.config.corrections,
        };
        let request = desk.in_queue(&caller.agency, id)?;
        let handled = request
            .category
            .as_deref()
            .and_then(dprofile_domain::Category::from_code)
            .is_some_and(|category| allowance.allows(category));
        if !handled {
            return Err(CorrectionError::NotInQueue(id).into());
        }
        let accessor = Accessor {
            actor: caller.actor(),
            agency: caller.agency.clone(),
            role: caller.role.clone(),
            purpose: purpose.purpose.clone(),
            disclosure_delay_days: allowance.disclosure_delay_days,
        };
        desk.answer(&caller.agency, id, verdict, &answer, &accessor, now)
            .map_err(ApiError::from)
    })
    .await
}
