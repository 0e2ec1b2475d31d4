//! The person's own rights: sign in with document number, birth date and a one-time code, then
//! read everything the registry holds about oneself (`/v1/me/profile`) and every access to it
//! (`/v1/me/access-log`), each entry with an inclusion proof that checks offline against the
//! published verifier key (`/v1/access-log/key`).
//!
//! The sign-in never says whether a person exists: a document and birth date that match nobody
//! get the same answer, and a sign-in that no code can finish.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Duration, Utc};
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome};
use dprofile_domain::Rule;
use dprofile_domain::linking::KeyKind;
use dprofile_domain::values::{DocumentNumber, PartialDate, parse_full_date};
use dprofile_pipeline::access_log::AccessRecord;
use dprofile_pipeline::profile::{ProfileLookup, load_profile};
use dprofile_store::{PersonId, Store, StoreResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::person_auth::VerifyError;
use crate::problem::{ApiError, Problem};
use crate::wire::ProfileBody;
use crate::{ApiContext, run_blocking};

/// The role and purpose of a person's read of their own data in the access log.
pub const PERSON_ROLE: &str = "person";
pub const OWN_DATA_PURPOSE: &str = "own_data";

/// The signed-in person, put in the request by [`require_person`].
#[derive(Debug, Clone, Copy)]
pub struct SignedInPerson(pub PersonId);

/// Middleware over `/v1/me/` data routes: no open person session, no handler.
pub(crate) async fn require_person(
    State(context): State<ApiContext>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    match session_person(&parts, &context).await {
        Ok(person) => {
            parts.extensions.insert(SignedInPerson(person));
            next.run(Request::from_parts(parts, body)).await
        }
        Err(error) => error.into_response(),
    }
}

async fn session_person(parts: &Parts, context: &ApiContext) -> Result<PersonId, ApiError> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(ApiError::AuthRequired)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|text| text.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .ok_or(ApiError::InvalidSession)?;
    person_from_token(context, token).await
}

/// Signs out: ends the session in `Authorization`, which answers 401 from then on (also in
/// the portal, whose cookie carries the same session).
#[utoipa::path(
    post,
    path = "/v1/me/sign-out",
    operation_id = "person_sign_out",
    tag = "me",
    responses(
        (status = 204, description = "Signed out."),
        (status = 401, description = "No open session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_out(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Response, ApiError> {
    let token = crate::auth::bearer_token(request.headers())?.to_owned();
    end_session(&context, token).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Ends the person session `token` (the API's sign-out and the portal's).
pub(crate) async fn end_session(context: &ApiContext, token: String) -> Result<(), ApiError> {
    let sessions = context.state.person_sessions.clone();
    let store = context.state.store.clone();
    run_blocking(move || sessions.close_session(store.as_ref(), &token)).await?;
    Ok(())
}

/// The person whose open session `token` is, as the `Authorization` header of `/v1/me/` and
/// the portal's session cookie carry it.
pub(crate) async fn person_from_token(
    context: &ApiContext,
    token: String,
) -> Result<PersonId, ApiError> {
    let sessions = context.state.person_sessions.clone();
    let store = context.state.store.clone();
    let now = context.state.clock.now();
    run_blocking(move || sessions.session_person(store.as_ref(), &token, now))
        .await?
        .ok_or(ApiError::InvalidSession)
}

/// The client's address, the key of the per-address rate limit.
pub(crate) fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string())
}

pub(crate) fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        let message = format!("the body is not the JSON this route takes: {error}");
        ApiError::InvalidBody {
            detail: message.clone(),
            errors: vec![dprofile_domain::Violation::new("", Rule::Type, message)],
        }
    })
}

pub(crate) fn invalid_field(field: &str, rule: Rule, message: String) -> ApiError {
    ApiError::InvalidBody {
        detail: format!("`{field}`: {message}"),
        errors: vec![dprofile_domain::Violation::new(
            format!("/{field}"),
            rule,
            message,
        )],
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignInRequest {
    /// The passport or national id number, any spelling (`FA 123-4567`).
    pub document_number: String,
    /// `YYYY-MM-DD`, as on the document.
    pub birth_date: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInStarted {
    /// Send it with the code to `POST /v1/me/verify`.
    pub sign_in_id: String,
    /// When the code stops working.
    pub code_expires_at: DateTime<Utc>,
    pub message: String,
}

/// Starts the person's sign-in: when the document number and birth date match exactly one
/// person, a one-time code goes to the contact the registry holds. The answer is the same
/// whether or not they match anyone.
#[utoipa::path(
    post,
    path = "/v1/me/sign-in",
    tag = "me",
    request_body = SignInRequest,
    responses(
        (status = 202, description = "Sign-in started; a code was sent if the data match a person.", body = SignInStarted),
        (status = 400, description = "A field is missing or malformed (`invalid_body`).", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-ins from this address or for this document (`rate_limited`, `Retry-After`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_in(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| ApiError::BodyUnreadable)?;
    let request: SignInRequest = parse_body(&body)?;
    let body = start_sign_in(&context, &client_address(&parts), &request).await?;
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// The sign-in's rules, shared by the API route and the portal's page: the fields checked, the
/// rate limits per client address and per document, the code sent only on a match.
pub(crate) async fn start_sign_in(
    context: &ApiContext,
    client_address: &str,
    request: &SignInRequest,
) -> Result<SignInStarted, ApiError> {
    let document = DocumentNumber::parse(&request.document_number)
        .map_err(|error| invalid_field("document_number", error.rule, error.message))?;
    let birth_date = parse_full_date(&request.birth_date)
        .map_err(|error| invalid_field("birth_date", error.rule, error.message))?;
    let now = context.state.clock.now();
    let sessions = &context.state.person_sessions;
    let limited = |retry_after_seconds| ApiError::RateLimited {
        retry_after_seconds,
    };
    sessions
        .by_address
        .hit(&format!("sign-in {client_address}"), now)
        .map_err(limited)?;
    sessions
        .by_document
        .hit(document.as_str(), now)
        .map_err(limited)?;
    let store = context.state.store.clone();
    let number = document.as_str().to_owned();
    let started_sessions = sessions.clone();
    let sign_in_id = run_blocking(move || {
        let person = find_person(store.as_ref(), &number, birth_date)?;
        started_sessions.start(store.as_ref(), &number, person, now)
    })
    .await?;
    Ok(SignInStarted {
        sign_in_id,
        code_expires_at: now + sessions.limits().code_lifetime,
        message: "if the document and birth date are ours, a code is on its way: send it to POST /v1/me/verify".to_owned(),
    })
}

/// The one person holding `number` as a passport or national id whose sources wrote exactly
/// `birth_date`; `None` for none or several (several is ambiguous: no sign-in).
fn find_person(
    store: &dyn Store,
    number: &str,
    birth_date: chrono::NaiveDate,
) -> StoreResult<Option<PersonId>> {
    let mut holders = store.find_by_identifier(Some(KeyKind::Passport), number)?;
    holders.extend(store.find_by_identifier(Some(KeyKind::NationalId), number)?);
    holders.sort_unstable();
    holders.dedup();
    let wanted = PartialDate::parse(&birth_date.format("%Y-%m-%d").to_string()).ok();
    let mut matching = Vec::new();
    for person in holders {
        let versions = store.person_versions(person)?;
        let born_then = versions.iter().any(|version| {
            serde_json::from_slice::<serde_json::Value>(&version.raw)
                .ok()
                .and_then(|raw| {
                    raw.pointer("/subject/birth_date")
                        .and_then(serde_json::Value::as_str)
                        .and_then(|text| PartialDate::parse(text).ok())
                })
                .is_some_and(|written| Some(written) == wanted)
        });
        if born_then {
            matching.push(person);
        }
    }
    Ok(match matching.as_slice() {
        [person] => Some(*person),
        _ => None,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyRequest {
    pub sign_in_id: String,
    /// The six-digit code that was sent.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionBody {
    /// Send as `Authorization: Bearer <token>` to the `/v1/me/` routes. Shown once.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Finishes the sign-in with the code; answers a session token bound to the person.
#[utoipa::path(
    post,
    path = "/v1/me/verify",
    tag = "me",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "The session.", body = SessionBody),
        (status = 400, description = "A field is missing (`invalid_body`).", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong or expired code (`sign_in.wrong_code`, `sign_in.expired`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Too many wrong codes (`sign_in.locked`): start again.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such sign-in (`sign_in.unknown`).", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address or for this document (`rate_limited`, `Retry-After`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Json<SessionBody>, ApiError> {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| ApiError::BodyUnreadable)?;
    let request: VerifyRequest = parse_body(&body)?;
    Ok(Json(
        finish_sign_in(&context, &client_address(&parts), request).await?,
    ))
}

/// The code check, shared by the API route and the portal's page: the per-address rate limit,
/// then the code (wrong codes counted, a spent sign-in locked).
pub(crate) async fn finish_sign_in(
    context: &ApiContext,
    client_address: &str,
    request: VerifyRequest,
) -> Result<SessionBody, ApiError> {
    let now = context.state.clock.now();
    let sessions = &context.state.person_sessions;
    sessions
        .by_address
        .hit(&format!("verify {client_address}"), now)
        .map_err(|retry_after_seconds| ApiError::RateLimited {
            retry_after_seconds,
        })?;
    let verifying = sessions.clone();
    let store = context.state.store.clone();
    let (token, expires_at) = tokio::task::spawn_blocking(move || {
        verifying.verify(store.as_ref(), &request.sign_in_id, &request.code, now)
    })
    .await?
    .map_err(|error| match error {
        VerifyError::StoreUnavailable => ApiError::StoreUnavailable,
        VerifyError::Unknown => ApiError::SignInUnknown,
        VerifyError::Expired => ApiError::SignInExpired,
        VerifyError::Locked => ApiError::SignInLocked,
        VerifyError::WrongCode { attempts_left: 0 } => ApiError::SignInLocked,
        VerifyError::WrongCode { attempts_left } => ApiError::WrongCode { attempts_left },
        VerifyError::RateLimited {
            retry_after_seconds,
        } => ApiError::RateLimited {
            retry_after_seconds,
        },
    })?;
    Ok(SessionBody { token, expires_at })
}

/// Logs the person's read of their own data (before anything is shown).
pub(crate) fn log_own_read(
    context: &ApiContext,
    person: PersonId,
    categories: Vec<String>,
) -> Result<(), ApiError> {
    let entry = AccessEntry {
        at: context.state.clock.now(),
        actor: format!("person:{person}"),
        agency: PERSON_ROLE.to_owned(),
        role: PERSON_ROLE.to_owned(),
        purpose: OWN_DATA_PURPOSE.to_owned(),
        case_ref: None,
        action: AccessAction::Read,
        person: Some(person),
        categories,
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

/// Everything the registry holds about the signed-in person, every fact with its source. The
/// read is in the access log, as the person's own.
#[utoipa::path(
    get,
    path = "/v1/me/profile",
    tag = "me",
    responses(
        (status = 200, description = "The whole profile.", body = ProfileBody),
        (status = 401, description = "No valid session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn profile(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Json<ProfileBody>, ApiError> {
    let SignedInPerson(person) = signed_in(&request)?;
    let profile = read_own_profile(&context, person).await?;
    Ok(Json(ProfileBody::from(profile)))
}

/// The person's whole profile, their read of it logged first: the API route's and the
/// portal's page's one way to it.
pub(crate) async fn read_own_profile(
    context: &ApiContext,
    person: PersonId,
) -> Result<dprofile_pipeline::profile::Profile, ApiError> {
    let read_context = context.clone();
    run_blocking(move || {
        // A person merged since signing in reads the surviving person (a few hops at most).
        let mut current = person;
        for _ in 0..8 {
            match load_profile(read_context.state.store.as_ref(), current, None, None)? {
                ProfileLookup::Found(profile) => {
                    log_own_read(
                        &read_context,
                        current,
                        profile.facts.keys().cloned().collect(),
                    )?;
                    return Ok(*profile);
                }
                ProfileLookup::Merged { into } => current = into,
                ProfileLookup::NotFound => break,
            }
        }
        Err(ApiError::NotFound(
            "the registry holds no profile for you any more".to_owned(),
        ))
    })
    .await
}

pub(crate) fn signed_in(request: &Request) -> Result<SignedInPerson, ApiError> {
    request
        .extensions()
        .get::<SignedInPerson>()
        .copied()
        .ok_or(ApiError::InvalidSession)
}

/// One access to the person's data, as they see it, with its proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyAccessEntry {
    pub at: DateTime<Utc>,
    /// Who exactly: `officer:<login>` for a signed-in officer, `apikey:<id>` for an agency
    /// system, `person:<id>` for the person's own reads.
    pub actor: String,
    /// Who: the agency and the role of its user or system (`person` for the person's own).
    pub agency: String,
    pub role: String,
    pub purpose: String,
    pub case_ref: Option<String>,
    /// `read`, `search`, `review`, …
    pub action: String,
    pub categories: Vec<String>,
    /// `allowed`, or `refused:<policy rule>`.
    pub outcome: String,
    pub proof: ProofBody,
}

/// The entry as hashed into the log, its inclusion proof and the signed checkpoint: check it
/// with the key of `GET /v1/access-log/key` (`dprofile_audit::ProvenEntry::verify`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProofBody {
    pub position: u64,
    /// Base64.
    pub salt: String,
    /// The canonical JSON that was hashed.
    pub canonical: String,
    /// Base64 hashes, leaf side first.
    pub proof: Vec<String>,
    /// C2SP signed note.
    pub checkpoint: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyAccessLog {
    pub entries: Vec<MyAccessEntry>,
}

/// Every access to the signed-in person's data visible now (reads under a law-enforcement
/// purpose appear after the policy's delay), each with its inclusion proof.
#[utoipa::path(
    get,
    path = "/v1/me/access-log",
    tag = "me",
    responses(
        (status = 200, description = "The person's access entries, oldest first.", body = MyAccessLog),
        (status = 401, description = "No valid session (`auth.required`, `auth.invalid_session`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn access_log(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Json<MyAccessLog>, ApiError> {
    let SignedInPerson(person) = signed_in(&request)?;
    let entries = read_own_access_log(&context, person).await?;
    Ok(Json(MyAccessLog { entries }))
}

/// The person's access entries visible now (law-enforcement reads after their delay), each
/// with its proof: the API route's and the portal's page's one way to them.
pub(crate) async fn read_own_access_log(
    context: &ApiContext,
    person: PersonId,
) -> Result<Vec<MyAccessEntry>, ApiError> {
    let now = context.state.clock.now();
    let log = context.state.access_log.clone();
    let proven = run_blocking(move || {
        log.person_view(person, now).map_err(|error| {
            tracing::error!(error = %error, "the access log cannot be read");
            ApiError::StoreUnavailable
        })
    })
    .await?;
    let mut entries = Vec::with_capacity(proven.len());
    for proven_entry in proven {
        let Some((_, entry)) = AccessEntry::from_canonical(proven_entry.canonical.as_bytes())
        else {
            tracing::error!(
                position = proven_entry.position,
                "an access entry does not decode"
            );
            return Err(ApiError::Internal);
        };
        entries.push(MyAccessEntry {
            at: entry.at,
            actor: entry.actor,
            agency: entry.agency,
            role: entry.role,
            purpose: entry.purpose,
            case_ref: entry.case_ref,
            action: serde_json::to_value(entry.action)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default(),
            categories: entry.categories,
            outcome: match entry.outcome {
                AccessOutcome::Allowed => "allowed".to_owned(),
                AccessOutcome::Refused { rule } => format!("refused:{rule}"),
            },
            proof: ProofBody {
                position: proven_entry.position,
                salt: proven_entry.salt,
                canonical: proven_entry.canonical,
                proof: proven_entry.proof,
                checkpoint: proven_entry.checkpoint,
            },
        });
    }
    Ok(entries)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogKeyBody {
    /// The log's origin (first line of every checkpoint).
    pub origin: String,
    /// The C2SP verifier key (`<name>+<hash>+<base64 key>`).
    pub verifier_key: String,
}

/// The access log's published verifier key: what checks every checkpoint and proof offline.
#[utoipa::path(
    get,
    path = "/v1/access-log/key",
    tag = "me",
    responses((status = 200, description = "The verifier key.", body = LogKeyBody))
)]
pub async fn log_key(State(context): State<ApiContext>) -> Json<LogKeyBody> {
    let key = context.state.access_log.key();
    Json(LogKeyBody {
        origin: key.origin().to_owned(),
        verifier_key: key.verifier_key().to_owned(),
    })
}
