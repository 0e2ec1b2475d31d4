//! Who is calling, and for what: the agency API key or the officer's session token in
//! `Authorization: Bearer <token>`, checked
//! before any handler of a route with personal data runs, and the purpose and case of a read
//! (`X-Purpose`, `X-Case-Ref`) that the access policy decides on.
//!
//! Every decision about a person's data — allowed or refused — is appended to the access log
//! before the answer leaves ([`log_access`]): if the log cannot be written, nothing is shown.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome};
use dprofile_pipeline::access_log::AccessRecord;
use dprofile_pipeline::officers;
use dprofile_pipeline::profile::Profile;
use dprofile_policy::{AccessRequest, Action, Allowance, Refusal};
use dprofile_store::PersonId;

use crate::problem::ApiError;
use crate::{ApiContext, run_blocking};

/// Header naming the purpose of a read or search (a purpose of the access policy).
pub const PURPOSE_HEADER: &str = "x-purpose";
/// Header naming the case a read or search is made for.
pub const CASE_HEADER: &str = "x-case-ref";

/// Who is behind a request: an agency system with its API key, or an officer signed in with
/// a session. Either acts for one agency in one role of the access policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    pub agency: String,
    pub role: String,
}

/// The credential a caller presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An agency API key (`dpk_…`), by its id.
    ApiKey { key_id: i64 },
    /// An officer's session (`dpo_…`): the officer's account.
    Officer { officer_id: i64, login: String },
}

impl Caller {
    /// How the access log names the caller: `apikey:<id>` or `officer:<login>`, so that the
    /// person sees which officer looked.
    pub fn actor(&self) -> String {
        match &self.principal {
            Principal::ApiKey { key_id } => format!("apikey:{key_id}"),
            Principal::Officer { login, .. } => format!("officer:{login}"),
        }
    }
}

/// Reads and checks the bearer token: an agency API key or an officer's session, told apart
/// by their prefixes. A request that already passed [`require_caller`] carries its caller in
/// the extensions and is not checked twice.
impl FromRequestParts<ApiContext> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        context: &ApiContext,
    ) -> Result<Caller, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let token = bearer_token(&parts.headers)?.to_owned();
        let caller = caller_from_token(context, token).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// The caller behind a bearer token — an agency API key or an officer's session, told apart by
/// their prefixes — as the API's `Authorization` header and the officers' console's session
/// cookie carry it.
pub(crate) async fn caller_from_token(
    context: &ApiContext,
    token: String,
) -> Result<Caller, ApiError> {
    let store = context.state.store.clone();
    let caller = if token.starts_with(officers::SESSION_TOKEN_PREFIX) {
        let config = context.state.officer_auth.config.clone();
        let now = context.state.clock.now();
        let officer =
            run_blocking(move || officers::authenticate(store.as_ref(), &config, &token, now))
                .await?
                .ok_or(ApiError::OfficerSessionEnded)?;
        Caller {
            principal: Principal::Officer {
                officer_id: officer.id,
                login: officer.login,
            },
            agency: officer.agency,
            role: officer.role,
        }
    } else {
        let key =
            run_blocking(move || dprofile_pipeline::api_keys::authenticate(store.as_ref(), &token))
                .await?
                .ok_or(ApiError::InvalidKey)?;
        Caller {
            principal: Principal::ApiKey { key_id: key.id },
            agency: key.agency,
            role: key.role,
        }
    };
    Ok(caller)
}

pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(ApiError::AuthRequired)?;
    let text = value.to_str().map_err(|_| ApiError::InvalidKey)?;
    let (scheme, token) = text.split_once(' ').ok_or(ApiError::InvalidKey)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::InvalidKey);
    }
    Ok(token.trim())
}

/// Middleware over every route with personal data: no valid key or officer session, no
/// handler.
pub(crate) async fn require_caller(
    State(context): State<ApiContext>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    match Caller::from_request_parts(&mut parts, &context).await {
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(error) => error.into_response(),
    }
}

/// Middleware over the review desk (review items, merges, splits, histories, the quarantine):
/// the caller's role must hold the `review` action for the stated purpose. The decision is in
/// the access log either way (an allowed one without the persons the route then touches).
pub(crate) async fn require_review(
    State(context): State<ApiContext>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &context).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let purpose = Purpose::from_headers(&parts.headers);
    match authorize_review(&context, caller, purpose).await {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(error) => error.into_response(),
    }
}

/// The review desk's gate, for the API's desk routes and the officers' console's review pages
/// alike: the policy decides the `review` action for the stated purpose, and the decision is in
/// the access log either way (an allowed one as one `review` entry without persons) before the
/// desk answers.
pub(crate) async fn authorize_review(
    context: &ApiContext,
    caller: Caller,
    purpose: Purpose,
) -> Result<(), ApiError> {
    match decide(context, &caller, &purpose, Action::Review) {
        Err(refusal) => Err(refuse(
            context,
            &caller,
            &purpose,
            AccessAction::Review,
            None,
            refusal,
        )
        .await),
        Ok(allowance) => {
            let log_context = context.clone();
            run_blocking(move || {
                log_access(
                    &log_context,
                    AccessEvent {
                        caller: &caller,
                        purpose: &purpose,
                        action: AccessAction::Review,
                        persons: vec![None],
                        categories: Vec::new(),
                        decision: Ok(allowance.disclosure_delay_days),
                    },
                )
            })
            .await
        }
    }
}

/// The purpose and case a request states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    /// Empty when the request named none (refused by the policy, and logged as such).
    pub purpose: String,
    pub case_ref: Option<String>,
}

impl Purpose {
    pub fn from_headers(headers: &HeaderMap) -> Purpose {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        Purpose {
            purpose: text(PURPOSE_HEADER).unwrap_or_default(),
            case_ref: text(CASE_HEADER),
        }
    }
}

/// The policy's decision on `action` by `caller` for `purpose`.
pub(crate) fn decide(
    context: &ApiContext,
    caller: &Caller,
    purpose: &Purpose,
    action: Action,
) -> Result<Allowance, Refusal> {
    if purpose.purpose.is_empty() {
        let purposes: Vec<&str> = context
            .state
            .policy
            .purposes_of(&caller.role)
            .into_iter()
            .collect();
        return Err(Refusal {
            code: "policy.purpose_required",
            message: format!(
                "state the purpose of the access in the `X-Purpose` header (role `{}` has: {}) and the case in `X-Case-Ref`",
                caller.role,
                if purposes.is_empty() {
                    "none".to_owned()
                } else {
                    purposes.join(", ")
                }
            ),
        });
    }
    context.state.policy.decide(&AccessRequest {
        role: &caller.role,
        agency: &caller.agency,
        purpose: &purpose.purpose,
        case_ref: purpose.case_ref.as_deref(),
        action,
    })
}

/// One access event by `caller`, about `person` (if one), of `categories`, with the decision.
pub(crate) struct AccessEvent<'a> {
    pub caller: &'a Caller,
    pub purpose: &'a Purpose,
    pub action: AccessAction,
    pub persons: Vec<Option<PersonId>>,
    pub categories: Vec<String>,
    pub decision: Result<u32, &'a Refusal>,
}

/// Appends the event to the access log (one entry per person), blocking. Called before the
/// answer is built: no log entry, no data.
pub(crate) fn log_access(context: &ApiContext, event: AccessEvent<'_>) -> Result<(), ApiError> {
    let now = context.state.clock.now();
    let (outcome, delay_days) = match event.decision {
        Ok(days) => (AccessOutcome::Allowed, days),
        Err(refusal) => (
            AccessOutcome::Refused {
                rule: refusal.code.to_owned(),
            },
            0,
        ),
    };
    let records: Vec<AccessRecord> = event
        .persons
        .iter()
        .map(|person| AccessRecord {
            entry: AccessEntry {
                at: now,
                actor: event.caller.actor(),
                agency: event.caller.agency.clone(),
                role: event.caller.role.clone(),
                purpose: event.purpose.purpose.clone(),
                case_ref: event.purpose.case_ref.clone(),
                action: event.action,
                person: *person,
                categories: event.categories.clone(),
                outcome: outcome.clone(),
            }
            .normalised(),
            disclosure_delay: Duration::days(i64::from(delay_days)),
        })
        .collect();
    record_or_unavailable(context, &records)
}

/// Appends `records` to the access log before anything is shown; if the log cannot be written
/// the request fails with 503 and shows nothing (the API's invariant).
pub(crate) fn record_or_unavailable(
    context: &ApiContext,
    records: &[AccessRecord],
) -> Result<(), ApiError> {
    context.state.access_log.record(records).map_err(|error| {
        tracing::error!(error = %error, "the access log cannot be written: nothing is shown");
        ApiError::StoreUnavailable
    })?;
    Ok(())
}

/// Logs a refusal and turns it into the 403 answer.
pub(crate) async fn refuse(
    context: &ApiContext,
    caller: &Caller,
    purpose: &Purpose,
    action: AccessAction,
    person: Option<PersonId>,
    refusal: Refusal,
) -> ApiError {
    let (log_context, log_caller, log_purpose, log_refusal) = (
        context.clone(),
        caller.clone(),
        purpose.clone(),
        refusal.clone(),
    );
    let logged = run_blocking(move || {
        log_access(
            &log_context,
            AccessEvent {
                caller: &log_caller,
                purpose: &log_purpose,
                action,
                persons: vec![person],
                categories: Vec::new(),
                decision: Err(&log_refusal),
            },
        )
    })
    .await;
    match logged {
        Ok(()) => ApiError::Refused(refusal),
        Err(error) => error,
    }
}

/// Keeps only what `allowance` shows: the allowed categories, and in a narrowed category only
/// the allowed fields of each fact's `data`. Identity and identifiers stay: they say whose
/// profile it is, which every allowed read needs.
pub(crate) fn restrict_profile(profile: &mut Profile, allowance: &Allowance) {
    profile.facts.retain(|code, _| {
        dprofile_domain::Category::from_code(code)
            .is_some_and(|category| allowance.allows(category))
    });
    for (code, facts) in &mut profile.facts {
        let Some(category) = dprofile_domain::Category::from_code(code) else {
            continue;
        };
        let Some(fields) = allowance.visible_fields(category) else {
            continue;
        };
        for fact in facts {
            if let Some(object) = fact.data.as_object_mut() {
                object.retain(|name, _| fields.contains(name));
            }
            // The fact stays marked disputed, but a hidden field is not named.
            for marker in &mut fact.disputed {
                marker.fields.retain(|pointer| {
                    pointer
                        .strip_prefix("/data/")
                        .is_none_or(|name| fields.contains(name))
                });
            }
        }
    }
}
