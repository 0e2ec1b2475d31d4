//! Share codes over HTTP: the signed-in person creates, lists and revokes codes
//! (`/v1/me/share-codes`); a checker — employer, landlord — checks one with the person's birth
//! date (`POST /v1/share-codes/check`, public by design) and sees only what the code's purpose
//! needs. See [`crate::share_codes`] for the code format and why guessing is hopeless.
//!
//! Every check that reaches a code is in the person's access log: allowed (actor the code,
//! agency the checker's organisation as they named it, purpose the code's) or refused with the
//! reason, so the person sees who tried.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome};
use dprofile_domain::values::{PartialDate, parse_full_date};
use dprofile_domain::{Category, Rule};
use dprofile_pipeline::access_log::AccessRecord;
use dprofile_pipeline::profile::Profile;
use dprofile_status::{Answer, StatusKind, evaluate};
use dprofile_store::{NewShareCode, PersonId, ShareCodeRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::problem::{ApiError, Problem};
use crate::routes::me::{SignedInPerson, client_address, invalid_field, parse_body};
use crate::routes::status::{NOTICE, load_current, status_facts, today};
use crate::share_codes::{
    CodeState, ShareCodeError, SharePurpose, code_hash, display_code, generate_code, normalise_code,
};
use crate::{ApiContext, run_blocking};

/// The role a checker's access has in the access log.
pub const CHECKER_ROLE: &str = "share_code_checker";
/// The agency a checker who names no organisation is logged under.
pub const UNNAMED_CHECKER: &str = "unnamed checker";
/// Longest organisation name a checker may give.
const MAX_CHECKER_NAME: usize = 200;

fn signed_in(request: &Request) -> Result<PersonId, ApiError> {
    request
        .extensions()
        .get::<SignedInPerson>()
        .map(|person| person.0)
        .ok_or(ApiError::InvalidSession)
}

async fn read_body<T: for<'de> Deserialize<'de>>(
    request: Request,
) -> Result<(axum::http::request::Parts, T), ApiError> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map_err(|_| ApiError::BodyUnreadable)?;
    Ok((parts, parse_body(&bytes)?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateShareCode {
    /// `work` (right to work), `rent` (right to rent), or `other` (lawful stay only).
    pub purpose: String,
    /// Days the code lives, 1 to the server's lifetime (90 by default, also when absent).
    pub valid_days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedShareCode {
    pub id: i64,
    /// Give it to the checker with your birth date. Shown once: only its hash is kept.
    pub code: String,
    pub purpose: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Creates a share code for one purpose; the code is in this answer only.
#[utoipa::path(
    post,
    path = "/v1/me/share-codes",
    operation_id = "create_share_code",
    tag = "share codes",
    request_body = CreateShareCode,
    responses(
        (status = 201, description = "The new code, shown once.", body = CreatedShareCode),
        (status = 400, description = "Unknown purpose or validity out of range (`invalid_body`).", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Response, ApiError> {
    let person = signed_in(&request)?;
    let (_, body): (_, CreateShareCode) = read_body(request).await?;
    let created = create_code(&context, person, &body).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Makes a share code for the person: the API route's and the portal's page's one way to it.
pub(crate) async fn create_code(
    context: &ApiContext,
    person: PersonId,
    body: &CreateShareCode,
) -> Result<CreatedShareCode, ApiError> {
    let purpose = SharePurpose::parse(&body.purpose).ok_or_else(|| {
        invalid_field(
            "purpose",
            Rule::Enum,
            format!(
                "`{}` is not a share-code purpose: write `work`, `rent` or `other`",
                body.purpose
            ),
        )
    })?;
    let lifetime = context.state.share_codes.limits.lifetime;
    let valid_for = match body.valid_days {
        None => lifetime,
        Some(days) if days >= 1 && Duration::days(days) <= lifetime => Duration::days(days),
        Some(days) => {
            return Err(invalid_field(
                "valid_days",
                Rule::Range,
                format!(
                    "{days} is out of range: a code lives 1 to {} days",
                    lifetime.num_days()
                ),
            ));
        }
    };
    let now = context.state.clock.now();
    let code = generate_code();
    let hash = code_hash(&code);
    let store = context.state.store.clone();
    let expires_at = now + valid_for;
    let id = run_blocking(move || {
        let mut id = 0;
        store.write(&mut |tx| {
            id = tx.insert_share_code(&NewShareCode {
                person_id: person,
                code_hash: &hash,
                purpose: purpose.code(),
                created_at: now,
                expires_at,
            })?;
            Ok(())
        })?;
        Ok::<_, ApiError>(id)
    })
    .await?;
    Ok(CreatedShareCode {
        id,
        code: display_code(&code),
        purpose: purpose.code().to_owned(),
        created_at: now,
        expires_at,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareCodeBody {
    pub id: i64,
    pub purpose: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// `active`, `expired`, `revoked` or `locked` (too many wrong birth dates).
    pub state: String,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Checks with a wrong birth date so far.
    pub failed_checks: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareCodeList {
    /// Newest first. The codes themselves are not kept, only their hashes.
    pub codes: Vec<ShareCodeBody>,
}

fn code_body(row: &ShareCodeRow, now: DateTime<Utc>) -> ShareCodeBody {
    ShareCodeBody {
        id: row.id,
        purpose: row.purpose.clone(),
        created_at: row.created_at,
        expires_at: row.expires_at,
        state: CodeState::of(row, now).code().to_owned(),
        revoked_at: row.revoked_at,
        failed_checks: row.failed_checks,
    }
}

/// The signed-in person's share codes, with their state; who checked them is in
/// `/v1/me/access-log`.
#[utoipa::path(
    get,
    path = "/v1/me/share-codes",
    operation_id = "list_share_codes",
    tag = "share codes",
    responses(
        (status = 200, description = "The person's codes, newest first.", body = ShareCodeList),
        (status = 401, description = "No valid session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Json<ShareCodeList>, ApiError> {
    let person = signed_in(&request)?;
    Ok(Json(ShareCodeList {
        codes: list_codes(&context, person).await?,
    }))
}

/// The person's codes with their state, newest first.
pub(crate) async fn list_codes(
    context: &ApiContext,
    person: PersonId,
) -> Result<Vec<ShareCodeBody>, ApiError> {
    let store = context.state.store.clone();
    let rows = run_blocking(move || store.person_share_codes(person)).await?;
    let now = context.state.clock.now();
    Ok(rows.iter().map(|row| code_body(row, now)).collect())
}

/// Revokes one of the signed-in person's codes: from now on a check with it shows nothing
/// and answers `share_code.revoked`.
#[utoipa::path(
    delete,
    path = "/v1/me/share-codes/{id}",
    operation_id = "revoke_share_code",
    tag = "share codes",
    params(("id" = i64, Path, description = "The code's id (from the list).")),
    responses(
        (status = 204, description = "Revoked (revoking again changes nothing)."),
        (status = 401, description = "No valid session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The person has no code with this id.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    State(context): State<ApiContext>,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<StatusCode, ApiError> {
    let person = signed_in(&request)?;
    let id = crate::routes::parse_path_id(path, "share code")?;
    revoke_code(&context, person, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes the person's code `id` (again changes nothing); a 404 when it is not theirs.
pub(crate) async fn revoke_code(
    context: &ApiContext,
    person: PersonId,
    id: i64,
) -> Result<(), ApiError> {
    let now = context.state.clock.now();
    let store = context.state.store.clone();
    let revoked = run_blocking(move || {
        let mut revoked = false;
        store.write(&mut |tx| {
            revoked = tx.revoke_share_code(person, id, now)?;
            Ok(())
        })?;
        Ok::<_, ApiError>(revoked)
    })
    .await?;
    if revoked {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "you have no share code {id}: see GET /v1/me/share-codes"
        )))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckShareCode {
    /// The code as the person gave it (`ABC-DEF-GHJ`; case, spaces and dashes do not matter).
    pub code: String,
    /// The person's birth date, `YYYY-MM-DD`.
    pub birth_date: String,
    /// The checker's organisation, as it wants to appear in the person's access log.
    pub checker: Option<String>,
}

/// What a `work` code shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkView {
    pub right_to_work: bool,
    /// Limits the employer must respect (region, profession, paid period).
    pub conditions: Vec<String>,
    pub valid_until: Option<NaiveDate>,
    /// The person's name as a source wrote it (Latin script where one did).
    pub name: Option<String>,
    /// The national biometric system's reference to the person's photo, when a source sends
    /// one (none does yet: always `null` for now).
    pub photo_reference: Option<String>,
}

/// What a `rent` code shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct RentView {
    pub right_to_rent: bool,
    pub lawful_stay_until: Option<NaiveDate>,
}

/// What an `other` code shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct OtherView {
    pub lawful_stay: bool,
}

/// Exactly one of the views, by the code's purpose.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PurposeView {
    Work(WorkView),
    Rent(RentView),
    Other(OtherView),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareCheckBody {
    /// The code's purpose: `work`, `rent` or `other`.
    pub purpose: String,
    /// The day the answer holds on (Moscow time): a live status, not a copy.
    pub checked_on: NaiveDate,
    pub notice: String,
    pub status: PurposeView,
}

/// Checks a share code with the holder's birth date and shows only what the code's purpose
/// needs: `work` — right to work, conditions, valid until, name, photo reference; `rent` —
/// right to rent (lawful stay) and until; `other` — lawful stay only. Never offences, health
/// or debts. **Information for a human, never an automated decision.** Public by design; rate
/// limited per client address; every check that reaches a code is in the holder's access log.
#[utoipa::path(
    post,
    path = "/v1/share-codes/check",
    operation_id = "check_share_code",
    tag = "share codes",
    request_body = CheckShareCode,
    responses(
        (status = 200, description = "The purpose's view of the person's live status.", body = ShareCheckBody),
        (status = 400, description = "A malformed code or birth date (`invalid_body`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Code and birth date do not match (`share_code.no_match`): also for a code that does not exist.", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The code expired or was revoked (`share_code.expired`, `share_code.revoked`).", body = Problem, content_type = "application/problem+json"),
        (status = 423, description = "Locked after too many wrong birth dates (`share_code.locked`).", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many checks from this address (`rate_limited`, `Retry-After`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn check(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Json<ShareCheckBody>, ApiError> {
    let (parts, body): (_, CheckShareCode) = read_body(request).await?;
    check_share_code(&context, &client_address(&parts), body)
        .await
        .map(Json)
}

/// The whole check as `POST /v1/share-codes/check` and the checker's page both make it: the
/// per-address rate limit, the fields' rules, the code and birth date, the holder's access log
/// entry, and the purpose's view.
pub(crate) async fn check_share_code(
    context: &ApiContext,
    client_address: &str,
    body: CheckShareCode,
) -> Result<ShareCheckBody, ApiError> {
    let now = context.state.clock.now();
    context
        .state
        .share_codes
        .checks_by_address
        .hit(client_address, now)
        .map_err(|retry_after_seconds| ApiError::RateLimited {
            retry_after_seconds,
        })?;
    let code = normalise_code(&body.code)
        .map_err(|message| invalid_field("code", Rule::Format, message))?;
    let birth_date = parse_full_date(&body.birth_date)
        .map_err(|error| invalid_field("birth_date", error.rule, error.message))?;
    let checker = match body.checker.as_deref().map(str::trim) {
        None | Some("") => UNNAMED_CHECKER.to_owned(),
        Some(name) if name.chars().count() <= MAX_CHECKER_NAME => name.to_owned(),
        Some(_) => {
            return Err(invalid_field(
                "checker",
                Rule::Length,
                format!(
                    "the organisation name is longer than {MAX_CHECKER_NAME} characters: shorten it"
                ),
            ));
        }
    };
    let check_context = context.clone();
    run_blocking(move || check_code(&check_context, &code, birth_date, &checker, now)).await
}

fn check_code(
    context: &ApiContext,
    code: &str,
    birth_date: NaiveDate,
    checker: &str,
    now: DateTime<Utc>,
) -> Result<ShareCheckBody, ApiError> {
    let store = context.state.store.as_ref();
    let Some(row) = store.share_code_by_hash(&code_hash(code))? else {
        return Err(ApiError::ShareCode(ShareCodeError::NoMatch));
    };
    let (person, profile) = load_current(store, row.person_id)
        .map_err(|_| ApiError::ShareCode(ShareCodeError::NoMatch))?;
    let state = CodeState::of(&row, now);
    let Some(purpose) = SharePurpose::parse(&row.purpose) else {
        tracing::error!(
            code_id = row.id,
            "a stored share code has an unknown purpose"
        );
        return Err(ApiError::Internal);
    };
    if !born_on(&profile, birth_date) {
        // Only a live code counts failures: a dead one shows nothing anyway.
        if state == CodeState::Active {
            let limit = context.state.share_codes.limits.max_failed_checks;
            store.write(&mut |tx| {
                tx.record_share_code_failure(row.id, limit, now)?;
                Ok(())
            })?;
        }
        log_check(
            context,
            &row,
            person,
            purpose,
            checker,
            Vec::new(),
            Err(ShareCodeError::NoMatch),
        )?;
        return Err(ApiError::ShareCode(ShareCodeError::NoMatch));
    }
    let refusal = match state {
        CodeState::Active => None,
        CodeState::Expired => Some(ShareCodeError::Expired),
        CodeState::Revoked => Some(ShareCodeError::Revoked),
        CodeState::Locked => Some(ShareCodeError::Locked),
    };
    if let Some(refusal) = refusal {
        log_check(
            context,
            &row,
            person,
            purpose,
            checker,
            Vec::new(),
            Err(refusal),
        )?;
        return Err(ApiError::ShareCode(refusal));
    }
    // The engine sees only the categories the purpose needs: nothing else can leak into
    // the answer, whatever a rule does.
    let kind = match purpose {
        SharePurpose::Work => StatusKind::RightToWork,
        SharePurpose::Rent | SharePurpose::Other => StatusKind::LawfulStay,
    };
    let mut needed = (*profile).clone();
    needed.facts.retain(|code, _| {
        Category::from_code(code).is_some_and(|category| kind.categories().contains(&category))
    });
    let categories: Vec<String> = needed.facts.keys().cloned().collect();
    log_check(context, &row, person, purpose, checker, categories, Ok(()))?;
    let rules = &context.state.status_rules;
    let checked_on = today(rules, now);
    let report = evaluate(&status_facts(&needed), checked_on, rules);
    let status = report.get(kind);
    let yes = status.is_some_and(|status| status.answer == Answer::Yes);
    let valid_until = status.and_then(|status| status.valid_until).filter(|_| yes);
    let view = match purpose {
        SharePurpose::Work => PurposeView::Work(WorkView {
            right_to_work: yes,
            conditions: status
                .filter(|_| yes)
                .map(|status| status.conditions.clone())
                .unwrap_or_default(),
            valid_until,
            name: display_name(&profile),
            photo_reference: None,
        }),
        SharePurpose::Rent => PurposeView::Rent(RentView {
            right_to_rent: yes,
            lawful_stay_until: valid_until,
        }),
        SharePurpose::Other => PurposeView::Other(OtherView { lawful_stay: yes }),
    };
    Ok(ShareCheckBody {
        purpose: purpose.code().to_owned(),
        checked_on,
        notice: NOTICE.to_owned(),
        status: view,
    })
}

/// Whether a source wrote exactly this birth date for the person.
fn born_on(profile: &Profile, birth_date: NaiveDate) -> bool {
    let wanted = PartialDate::parse(&birth_date.format("%Y-%m-%d").to_string()).ok();
    wanted.is_some()
        && profile.identity.iter().any(|identity| {
            identity
                .get("birth_date")
                .and_then(Value::as_str)
                .and_then(|text| PartialDate::parse(text).ok())
                == wanted
        })
}

/// The person's name for an employer: the first Latin-script name a source wrote, else the
/// first name at all, as `FAMILY Given`.
fn display_name(profile: &Profile) -> Option<String> {
    let names: Vec<&Value> = profile
        .identity
        .iter()
        .filter_map(|identity| identity.get("names").and_then(Value::as_array))
        .flatten()
        .collect();
    let chosen = names
        .iter()
        .find(|name| name.get("script").and_then(Value::as_str) == Some("Latn"))
        .or_else(|| names.first())?;
    let part = |field: &str| chosen.get(field).and_then(Value::as_str).map(str::trim);
    let text = [part("family"), part("given")]
        .into_iter()
        .flatten()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!text.is_empty()).then_some(text)
}

/// Appends the check to the person's access log before anything is shown.
fn log_check(
    context: &ApiContext,
    row: &ShareCodeRow,
    person: PersonId,
    purpose: SharePurpose,
    checker: &str,
    categories: Vec<String>,
    outcome: Result<(), ShareCodeError>,
) -> Result<(), ApiError> {
    let entry = AccessEntry {
        at: context.state.clock.now(),
        actor: format!("share_code:{}", row.id),
        agency: checker.to_owned(),
        role: CHECKER_ROLE.to_owned(),
        purpose: purpose.code().to_owned(),
        case_ref: None,
        action: AccessAction::Read,
        person: Some(person),
        categories,
        outcome: match outcome {
            Ok(()) => AccessOutcome::Allowed,
            Err(error) => AccessOutcome::Refused {
                rule: error.code().to_owned(),
            },
        },
    }
    .normalised();
    crate::auth::record_or_unavailable(
        context,
        &[AccessRecord {
            entry,
            disclosure_delay: Duration::zero(),
        }],
    )
}
