//! QR passes (issue 5): the signed-in person issues a pass for a view of their status, lists
//! and revokes their passes and fetches the QR (PNG or SVG); anyone fetches the signer keys'
//! trust list, the revocation status list and the root key that signs the trust list, which
//! offline verifiers cache (`dprofile verify --refresh`).
//!
//! Issuing, showing, listing and revoking are in the person's access log, as their own reads.
//! Checks of a pass are offline by design: the registry never learns of them.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome};
use dprofile_domain::Rule;
use dprofile_pass::PassView;
use dprofile_pipeline::access_log::AccessRecord;
use dprofile_pipeline::passes::{DEFAULT_PASS_LIFETIME, MAX_PASS_LIFETIME, PassError, PassService};
use dprofile_pipeline::profile::{Profile, ProfileLookup, load_profile};
use dprofile_store::{PassRow, PersonId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::{ApiError, Problem};
use crate::routes::me::{OWN_DATA_PURPOSE, PERSON_ROLE, SignedInPerson};
use crate::{ApiContext, run_blocking};

/// Media type of the trust list (a COSE_Sign1 over CBOR).
pub const TRUST_LIST_CONTENT_TYPE: &str = "application/cose; cose-type=\"cose-sign1\"";
/// Media type of the status list token (draft-ietf-oauth-status-list).
pub const STATUS_LIST_CONTENT_TYPE: &str = "application/statuslist+cwt";

impl From<PassError> for ApiError {
    fn from(error: PassError) -> ApiError {
        match error {
            PassError::Store(error) => error.into(),
            PassError::KeyFile { .. } => {
                tracing::error!(error = %error, "the pass keys cannot be read");
                ApiError::PassesUnavailable
            }
            PassError::IdentityUnknown { .. } => ApiError::PassIdentityUnknown(error.to_string()),
            PassError::Lifetime { .. } => {
                invalid_field("valid_days", Rule::Range, error.to_string())
            }
        }
    }
}

fn invalid_field(field: &str, rule: Rule, message: String) -> ApiError {
    ApiError::InvalidBody {
        detail: format!("`{field}`: {message}"),
        errors: vec![dprofile_domain::Violation::new(
            format!("/{field}"),
            rule,
            message,
        )],
    }
}

fn service(context: &ApiContext) -> Result<std::sync::Arc<PassService>, ApiError> {
    context
        .state
        .passes
        .clone()
        .ok_or(ApiError::PassesUnavailable)
}

fn signed_in(request: &Request) -> Result<PersonId, ApiError> {
    request
        .extensions()
        .get::<SignedInPerson>()
        .map(|person| person.0)
        .ok_or(ApiError::InvalidSession)
}

/// Logs the person's own action on their passes before anything is shown or changed.
fn log_pass_access(
    context: &ApiContext,
    person: PersonId,
    action: AccessAction,
    what: &str,
) -> Result<(), ApiError> {
    let entry = AccessEntry {
        at: context.state.clock.now(),
        actor: format!("person:{person}"),
        agency: PERSON_ROLE.to_owned(),
        role: PERSON_ROLE.to_owned(),
        purpose: OWN_DATA_PURPOSE.to_owned(),
        case_ref: Some(what.to_owned()),
        action,
        person: Some(person),
        categories: vec!["pass".to_owned()],
        outcome: AccessOutcome::Allowed,
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

#[derive(Debug, Deserialize, ToSchema)]
pub struct IssuePassRequest {
    /// `status_only` (lawful stay and right to work) or `status_identity` (also name, birth
    /// date and document number).
    pub view: String,
    /// Days the pass lives, 1 to 90; 30 when left out.
    pub valid_days: Option<i64>,
}

/// A pass as the person sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassBody {
    /// Also the pass's index in the status list.
    pub id: i64,
    pub view: String,
    pub key_id: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The signed pass (`DP1:…`), what the QR code holds.
    pub text: String,
    /// The QR code as PNG.
    pub png: String,
    /// The QR code as SVG.
    pub svg: String,
}

impl From<PassRow> for PassBody {
    fn from(row: PassRow) -> PassBody {
        PassBody {
            png: format!("/v1/me/passes/{}.png", row.id),
            svg: format!("/v1/me/passes/{}.svg", row.id),
            id: row.id,
            view: row.view,
            key_id: row.key_id,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            text: row.text,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PassList {
    /// Newest first.
    pub passes: Vec<PassBody>,
}

/// The person's profile, following merges (a person merged since signing in reads the
/// survivor).
fn own_profile(context: &ApiContext, person: PersonId) -> Result<(PersonId, Profile), ApiError> {
    let mut current = person;
    for _ in 0..8 {
        match load_profile(context.state.store.as_ref(), current, None, None)? {
            ProfileLookup::Found(profile) => return Ok((current, *profile)),
            ProfileLookup::Merged { into } => current = into,
            ProfileLookup::NotFound => break,
        }
    }
    Err(ApiError::NotFound(
        "the registry holds no profile for you any more".to_owned(),
    ))
}

/// Issues a signed pass for one view of the signed-in person's status, as of now.
#[utoipa::path(
    post,
    path = "/v1/me/passes",
    tag = "passes",
    request_body = IssuePassRequest,
    responses(
        (status = 201, description = "The pass, with the links of its QR code.", body = PassBody),
        (status = 400, description = "An unknown view or a lifetime outside 1 to 90 days (`invalid_body`).", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The view needs an identity the registry does not hold (`pass.identity_unknown`).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The pass keys are not available (`passes.unavailable`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn issue(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Response, ApiError> {
    let person = signed_in(&request)?;
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|_| ApiError::BodyUnreadable)?;
    let asked: IssuePassRequest = crate::routes::me::parse_body(&body)?;
    let row = issue_pass(&context, person, &asked).await?;
    Ok((StatusCode::CREATED, Json(PassBody::from(row))).into_response())
}

/// Issues a pass for the person: the API route's and the portal's page's one way to it.
pub(crate) async fn issue_pass(
    context: &ApiContext,
    person: PersonId,
    asked: &IssuePassRequest,
) -> Result<PassRow, ApiError> {
    let view = PassView::from_code(&asked.view).ok_or_else(|| {
        invalid_field(
            "view",
            Rule::Enum,
            format!(
                "`{}` is no view: write `status_only` or `status_identity`",
                asked.view
            ),
        )
    })?;
    let lifetime = asked
        .valid_days
        .map_or(DEFAULT_PASS_LIFETIME, Duration::days);
    if lifetime > MAX_PASS_LIFETIME || lifetime < Duration::days(1) {
        return Err(PassError::Lifetime {
            asked: lifetime.num_days(),
        }
        .into());
    }
    let passes = service(context)?;
    let now = context.state.clock.now();
    let issue_context = context.clone();
    run_blocking(move || {
        let (person, profile) = own_profile(&issue_context, person)?;
        log_pass_access(
            &issue_context,
            person,
            AccessAction::Read,
            &format!("pass_issue:{}", view.code()),
        )?;
        passes
            .issue(person, &profile, view, now, lifetime)
            .map_err(ApiError::from)
    })
    .await
}

/// The signed-in person's passes, newest first, revoked and expired ones too.
#[utoipa::path(
    get,
    path = "/v1/me/passes",
    tag = "passes",
    responses(
        (status = 200, description = "The person's passes.", body = PassList),
        (status = 401, description = "No valid session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Json<PassList>, ApiError> {
    let person = signed_in(&request)?;
    let rows = list_passes(&context, person).await?;
    Ok(Json(PassList {
        passes: rows.into_iter().map(PassBody::from).collect(),
    }))
}

/// The person's passes, newest first, the read logged first.
pub(crate) async fn list_passes(
    context: &ApiContext,
    person: PersonId,
) -> Result<Vec<PassRow>, ApiError> {
    let list_context = context.clone();
    run_blocking(move || {
        log_pass_access(&list_context, person, AccessAction::Read, "pass_list")?;
        list_context
            .state
            .store
            .person_passes(person)
            .map_err(ApiError::from)
    })
    .await
}

/// The person's own pass `id`, or a 404 that does not say whether it is someone else's.
fn own_pass(context: &ApiContext, person: PersonId, id: i64) -> Result<PassRow, ApiError> {
    context
        .state
        .store
        .pass(id)?
        .filter(|row| row.person_id == person)
        .ok_or_else(|| ApiError::NotFound(format!("you have no pass {id}: see GET /v1/me/passes")))
}

/// One of the person's passes: `{id}` as JSON, `{id}.png` or `{id}.svg` as its QR code.
#[utoipa::path(
    get,
    path = "/v1/me/passes/{file}",
    tag = "passes",
    params(("file" = String, Path, description = "`12`, `12.png` or `12.svg`.")),
    responses(
        (status = 200, description = "The pass (JSON), or its QR code (`image/png`, `image/svg+xml`).", body = PassBody),
        (status = 401, description = "No valid session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such pass of yours (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(
    State(context): State<ApiContext>,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let person = signed_in(&request)?;
    let Path(file) = path.map_err(|_| ApiError::NotFound("no such pass".to_owned()))?;
    show_pass(&context, person, &file).await
}

/// The person's pass `file` (`12`, `12.png`, `12.svg`) as JSON or its QR code, the look
/// logged first: the API route's and the portal's download links' one way to it.
pub(crate) async fn show_pass(
    context: &ApiContext,
    person: PersonId,
    file: &str,
) -> Result<Response, ApiError> {
    let (id_text, format) = match file.rsplit_once('.') {
        Some((id, "png")) => (id, "png"),
        Some((id, "svg")) => (id, "svg"),
        Some(_) => {
            return Err(ApiError::NotFound(format!(
                "`{file}`: a pass is served as `{{id}}`, `{{id}}.png` or `{{id}}.svg`"
            )));
        }
        None => (file, "json"),
    };
    let id: i64 = id_text
        .parse()
        .map_err(|_| ApiError::NotFound(format!("pass `{id_text}` does not exist")))?;
    let show_context = context.clone();
    let row = run_blocking(move || {
        let row = own_pass(&show_context, person, id)?;
        log_pass_access(
            &show_context,
            person,
            AccessAction::Read,
            &format!("pass_show:{id}"),
        )?;
        Ok::<_, ApiError>(row)
    })
    .await?;
    let qr_failed = |error: dprofile_pass::QrError| {
        tracing::error!(error = %error, "a pass does not render as a QR code");
        ApiError::Internal
    };
    let (bytes, content_type) = match format {
        "png" => (
            dprofile_pass::render_png(&row.text).map_err(qr_failed)?,
            "image/png",
        ),
        "svg" => (
            dprofile_pass::render_svg(&row.text)
                .map_err(qr_failed)?
                .into_bytes(),
            "image/svg+xml",
        ),
        _ => return Ok(Json(PassBody::from(row)).into_response()),
    };
    let mut response = bytes.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedBody {
    pub id: i64,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Revokes one of the person's passes: the next status list marks it, and verifiers that
/// refresh reject it as `revoked`. Revoking twice keeps the first time.
#[utoipa::path(
    post,
    path = "/v1/me/passes/{id}/revoke",
    tag = "passes",
    params(("id" = i64, Path, description = "The pass's id.")),
    responses(
        (status = 200, description = "Revoked.", body = RevokedBody),
        (status = 401, description = "No valid session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such pass of yours (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    State(context): State<ApiContext>,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Json<RevokedBody>, ApiError> {
    let person = signed_in(&request)?;
    let id = crate::routes::parse_path_id(path, "pass")?;
    let row = revoke_pass(&context, person, id).await?;
    Ok(Json(RevokedBody {
        id: row.id,
        revoked_at: row.revoked_at,
    }))
}

/// Revokes the person's pass `id`, the change logged first; answers the pass as it is now.
pub(crate) async fn revoke_pass(
    context: &ApiContext,
    person: PersonId,
    id: i64,
) -> Result<PassRow, ApiError> {
    let passes = service(context)?;
    let now = context.state.clock.now();
    let revoke_context = context.clone();
    run_blocking(move || {
        own_pass(&revoke_context, person, id)?;
        log_pass_access(
            &revoke_context,
            person,
            AccessAction::Write,
            &format!("pass_revoke:{id}"),
        )?;
        passes.revoke(person, id, now)?;
        own_pass(&revoke_context, person, id)
    })
    .await
}

fn binary(bytes: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The signer keys verifiers accept, each with the time window in which it signs passes,
/// signed by the root key (COSE_Sign1 over CBOR). Public by design.
#[utoipa::path(
    get,
    path = "/v1/passes/trust-list",
    tag = "passes",
    responses(
        (status = 200, description = "The signed trust list.", content_type = "application/cose"),
        (status = 503, description = "The pass keys are not available (`passes.unavailable`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn trust_list(State(context): State<ApiContext>) -> Result<Response, ApiError> {
    let passes = service(&context)?;
    let bytes = passes.signed_trust_list(context.state.clock.now());
    Ok(binary(bytes, TRUST_LIST_CONTENT_TYPE))
}

/// The revocation status list (draft-ietf-oauth-status-list: one bit per pass, 1 = revoked),
/// signed by a listed signer. Public by design: it says nothing about whose passes they are.
#[utoipa::path(
    get,
    path = "/v1/passes/status-list",
    tag = "passes",
    responses(
        (status = 200, description = "The signed status list token.", content_type = "application/statuslist+cwt"),
        (status = 503, description = "The pass keys are not available (`passes.unavailable`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn status_list(State(context): State<ApiContext>) -> Result<Response, ApiError> {
    let passes = service(&context)?;
    let now = context.state.clock.now();
    let bytes = run_blocking(move || passes.signed_status_list(now)).await?;
    Ok(binary(bytes, STATUS_LIST_CONTENT_TYPE))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RootKeyBody {
    /// The Ed25519 public key that signs the trust list, base64.
    pub root_key: String,
    pub key_id: String,
}

/// The root key that signs the trust list: verifiers pin it (compare it with the one the
/// registry publishes elsewhere) before they trust any list. Public by design.
#[utoipa::path(
    get,
    path = "/v1/passes/root-key",
    tag = "passes",
    responses(
        (status = 200, description = "The root key.", body = RootKeyBody),
        (status = 503, description = "The pass keys are not available (`passes.unavailable`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn root_key(State(context): State<ApiContext>) -> Result<Json<RootKeyBody>, ApiError> {
    let key = service(&context)?.root_key();
    Ok(Json(RootKeyBody {
        root_key: base64::engine::general_purpose::STANDARD.encode(key.as_bytes()),
        key_id: dprofile_pass::key_id_of(&key),
    }))
}
