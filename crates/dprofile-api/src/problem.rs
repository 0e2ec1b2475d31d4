//! Errors on the wire: every failure answers RFC 9457 `application/problem+json` with a stable
//! snake_case `code` that clients match on; the `detail` is for humans and never carries SQL,
//! file paths or other internals (those go to the log).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dprofile_domain::Violation;
use dprofile_pipeline::PipelineError;
use dprofile_pipeline::review::DecisionError;
use dprofile_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::wire::ViolationBody;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Base of the `type` URIs: one page per code. The URI identifies the problem kind; it is
/// not promised to resolve.
const PROBLEM_TYPE_BASE: &str = "https://dprofile.example/problems/";

/// An RFC 9457 problem document, with the registry's extension members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `https://dprofile.example/problems/<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine code, snake_case: `not_found`, `invalid_query`, `record_rejected`,
    /// `payload_too_large`, `already_replayed`, `invalid_decision`, `decision_conflict`,
    /// `method_not_allowed`, `body_unreadable`, `store_unavailable`, `internal`; `auth.required`,
    /// `auth.invalid_key`, `auth.invalid_session`, `auth.officer_session_ended` and
    /// `officer.sign_in_failed` (401); `auth.not_an_officer_session` (400); `rate_limited` (429,
    /// with `Retry-After`); `sign_in.unknown`, `sign_in.expired`, `sign_in.wrong_code`,
    /// `sign_in.locked`, `invalid_body`; `correction.record_not_found`, `correction.not_found`
    /// (404), `correction.already_disputed`, `correction.already_answered` (409);
    /// `share_code.no_match` (404), `share_code.expired`, `share_code.revoked` (410),
    /// `share_code.locked` (423); `pass.identity_unknown` (422), `passes.unavailable` (503); a
    /// refusal by the access policy (403) carries the policy's rule
    /// (`policy.purpose_not_granted`, `policy.case_required`, …), and a refused write its rule
    /// (`write.source_not_caller`, `policy.write_not_granted`) with the field in `errors`.
    pub code: String,
    /// What was wrong, field by field, where that is known.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ViolationBody>,
    /// Where a refused record is kept, to be corrected and replayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine_id: Option<i64>,
}

/// Every way a request can fail, each with its status and stable code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{detail}")]
    InvalidQuery {
        detail: String,
        errors: Vec<Violation>,
    },
    #[error("the record was refused and kept in quarantine: `errors` says what to fix")]
    RecordRejected {
        quarantine_id: Option<i64>,
        errors: Vec<Violation>,
    },
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("quarantine item {0} was already replayed")]
    AlreadyReplayed(i64),
    /// An officer's decision that cannot be taken as written: a missing actor or reason, an
    /// unknown verdict, a merge of a person into itself, a split of something not a merge.
    #[error("{detail}")]
    InvalidDecision {
        detail: String,
        errors: Vec<Violation>,
    },
    /// An officer's decision that contradicts the current state: the review item is closed,
    /// the person was merged away, the merge was already split. The detail says what to do.
    #[error("{0}")]
    DecisionConflict(String),
    #[error("this route does not accept the method")]
    MethodNotAllowed,
    #[error("the request body could not be read")]
    BodyUnreadable,
    /// No `Authorization` header on a route with personal data.
    #[error(
        "this route serves personal data: send an agency API key as `Authorization: Bearer <key>` (`dprofile apikey create`)"
    )]
    AuthRequired,
    /// A key that is malformed, unknown or revoked.
    #[error(
        "the API key is not valid (unknown, revoked, or not `Authorization: Bearer <key>`): ask for a new key"
    )]
    InvalidKey,
    /// An officer's session token that is unknown, ended, expired or idle too long.
    #[error(
        "the officer session has ended (signed out, expired, idle too long, or the account was disabled): sign in again with `POST /v1/officer/sign-in`"
    )]
    OfficerSessionEnded,
    /// An officer's sign-in refused: unknown login, wrong password, locked or disabled
    /// account, all alike (nobody learns which logins exist).
    #[error(
        "the login or password is wrong, or the account is locked for a while after repeated failures or disabled: check both and try again later, or ask your administrator"
    )]
    OfficerSignInFailed,
    /// Sign-out with something that is not an officer's session (an agency key).
    #[error(
        "only an officer's session signs out: an agency API key is revoked with `dprofile apikey revoke`"
    )]
    NotAnOfficerSession,
    /// No valid person session on a `/v1/me/` route (missing, unknown or expired token).
    #[error(
        "sign in first: `POST /v1/me/sign-in`, then `POST /v1/me/verify`, and send the session token as `Authorization: Bearer <token>`"
    )]
    InvalidSession,
    /// Too many sign-in or verification requests from one address or for one document.
    #[error("too many attempts: try again after {retry_after_seconds} seconds")]
    RateLimited { retry_after_seconds: u64 },
    /// The sign-in id names no pending sign-in.
    #[error(
        "no such sign-in (finished, expired or never started): start again with `POST /v1/me/sign-in`"
    )]
    SignInUnknown,
    #[error("the code has expired: start again with `POST /v1/me/sign-in`")]
    SignInExpired,
    #[error("too many wrong codes: this sign-in is locked, start again with `POST /v1/me/sign-in`")]
    SignInLocked,
    #[error("the code is wrong: {attempts_left} attempts left")]
    WrongCode { attempts_left: u32 },
    /// A JSON request body that is not what the route takes; `errors` names the field.
    #[error("{detail}")]
    InvalidBody {
        detail: String,
        errors: Vec<Violation>,
    },
    /// The access policy refused the request; the code is the policy's rule.
    #[error("{}", .0.message)]
    Refused(dprofile_policy::Refusal),
    /// A share-code check that shows nothing, and why (`share_code.*`).
    #[error("{0}")]
    ShareCode(crate::share_codes::ShareCodeError),
    /// A correction request that cannot be filed or answered as asked (issue 4): the cited
    /// record is not the person's, a field is disputed already, the request is not in the
    /// agency's queue, or it was answered before. `code` is `correction.*`.
    #[error("{detail}")]
    Correction {
        status: StatusCode,
        code: &'static str,
        detail: String,
        errors: Vec<Violation>,
    },
    /// A record the caller's key may not send; `errors` names the field (`/source`,
    /// `/category`) and the code is the rule (`write.source_not_caller`,
    /// `policy.write_not_granted`). Also a subscription naming a category the role may not
    /// read (`policy.category_not_granted`, pointer `/categories/N`).
    #[error("{}", .refusal.message)]
    WriteRefused {
        refusal: dprofile_policy::Refusal,
        errors: Vec<Violation>,
    },
    /// The view of a pass needs identity data the registry does not hold for the person.
    #[error("{0}")]
    PassIdentityUnknown(String),
    /// The server has no pass keys (not configured, or the key file is unreadable).
    #[error("passes cannot be issued or checked here now: the pass keys are not available")]
    PassesUnavailable,
    /// The store failed; the cause is logged, not shown.
    #[error("the store is unavailable")]
    StoreUnavailable,
    /// A bug or a failed task; the cause is logged, not shown.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::InvalidQuery { .. } => StatusCode::BAD_REQUEST,
            ApiError::RecordRejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::AlreadyReplayed(_) => StatusCode::CONFLICT,
            ApiError::InvalidDecision { .. } => StatusCode::BAD_REQUEST,
            ApiError::DecisionConflict(_) => StatusCode::CONFLICT,
            ApiError::ShareCode(error) => error.status(),
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BodyUnreadable => StatusCode::BAD_REQUEST,
            ApiError::AuthRequired | ApiError::InvalidKey => StatusCode::UNAUTHORIZED,
            ApiError::Refused(_) | ApiError::WriteRefused { .. } => StatusCode::FORBIDDEN,
            ApiError::InvalidSession => StatusCode::UNAUTHORIZED,
            ApiError::OfficerSessionEnded | ApiError::OfficerSignInFailed => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::NotAnOfficerSession => StatusCode::BAD_REQUEST,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::SignInUnknown => StatusCode::NOT_FOUND,
            ApiError::SignInExpired | ApiError::WrongCode { .. } => StatusCode::UNAUTHORIZED,
            ApiError::SignInLocked => StatusCode::FORBIDDEN,
            ApiError::InvalidBody { .. } => StatusCode::BAD_REQUEST,
            ApiError::Correction { status, .. } => *status,
            ApiError::PassIdentityUnknown(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PassesUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "not_found",
            ApiError::InvalidQuery { .. } => "invalid_query",
            ApiError::RecordRejected { .. } => "record_rejected",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::ShareCode(error) => error.code(),
            ApiError::AlreadyReplayed(_) => "already_replayed",
            ApiError::InvalidDecision { .. } => "invalid_decision",
            ApiError::DecisionConflict(_) => "decision_conflict",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::BodyUnreadable => "body_unreadable",
            ApiError::AuthRequired => "auth.required",
            ApiError::InvalidKey => "auth.invalid_key",
            ApiError::Refused(refusal) | ApiError::WriteRefused { refusal, .. } => refusal.code,
            ApiError::InvalidSession => "auth.invalid_session",
            ApiError::OfficerSessionEnded => "auth.officer_session_ended",
            ApiError::OfficerSignInFailed => "officer.sign_in_failed",
            ApiError::NotAnOfficerSession => "auth.not_an_officer_session",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::SignInUnknown => "sign_in.unknown",
            ApiError::SignInExpired => "sign_in.expired",
            ApiError::SignInLocked => "sign_in.locked",
            ApiError::WrongCode { .. } => "sign_in.wrong_code",
            ApiError::InvalidBody { .. } => "invalid_body",
            ApiError::Correction { code, .. } => code,
            ApiError::PassIdentityUnknown(_) => "pass.identity_unknown",
            ApiError::PassesUnavailable => "passes.unavailable",
            ApiError::StoreUnavailable => "store_unavailable",
            ApiError::Internal => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::ShareCode(error) => error.title(),
            ApiError::NotFound(_) => "not found",
            ApiError::InvalidQuery { .. } => "invalid query",
            ApiError::RecordRejected { .. } => "record rejected",
            ApiError::PayloadTooLarge { .. } => "payload too large",
            ApiError::AlreadyReplayed(_) => "already replayed",
            ApiError::InvalidDecision { .. } => "invalid decision",
            ApiError::DecisionConflict(_) => "decision conflict",
            ApiError::MethodNotAllowed => "method not allowed",
            ApiError::BodyUnreadable => "body unreadable",
            ApiError::AuthRequired => "authentication required",
            ApiError::InvalidKey => "invalid API key",
            ApiError::Refused(_) | ApiError::WriteRefused { .. } => "refused by the access policy",
            ApiError::InvalidSession => "no valid session",
            ApiError::OfficerSessionEnded => "officer session ended",
            ApiError::OfficerSignInFailed => "sign-in failed",
            ApiError::NotAnOfficerSession => "not an officer session",
            ApiError::RateLimited { .. } => "too many requests",
            ApiError::SignInUnknown => "no such sign-in",
            ApiError::SignInExpired => "code expired",
            ApiError::SignInLocked => "sign-in locked",
            ApiError::WrongCode { .. } => "wrong code",
            ApiError::InvalidBody { .. } => "invalid body",
            ApiError::Correction { .. } => "correction request refused",
            ApiError::PassIdentityUnknown(_) => "identity unknown",
            ApiError::PassesUnavailable => "passes unavailable",
            ApiError::StoreUnavailable => "store unavailable",
            ApiError::Internal => "internal error",
        }
    }

    /// A query parameter that failed its rule.
    pub fn invalid_parameter(
        parameter: &str,
        rule: dprofile_domain::Rule,
        message: impl Into<String>,
    ) -> ApiError {
        let message = message.into();
        ApiError::InvalidQuery {
            detail: format!("query parameter `{parameter}`: {message}"),
            errors: vec![Violation::new(format!("/{parameter}"), rule, message)],
        }
    }

    /// A decision refused for one field of the request body (`/actor`), or for the whole body
    /// (empty pointer).
    pub fn invalid_decision_field(
        pointer: &str,
        rule: dprofile_domain::Rule,
        message: impl Into<String>,
    ) -> ApiError {
        let message = message.into();
        let detail = match pointer.strip_prefix('/') {
            Some(field) => format!("`{field}`: {message}"),
            None => message.clone(),
        };
        ApiError::InvalidDecision {
            detail,
            errors: vec![Violation::new(pointer, rule, message)],
        }
    }

    pub fn to_problem(&self) -> Problem {
        let code = self.code();
        let (errors, quarantine_id) = match self {
            ApiError::InvalidQuery { errors, .. }
            | ApiError::InvalidDecision { errors, .. }
            | ApiError::InvalidBody { errors, .. }
            | ApiError::Correction { errors, .. } => (errors.clone(), None),
            ApiError::WriteRefused { errors, .. } => (errors.clone(), None),
            ApiError::RecordRejected {
                quarantine_id,
                errors,
            } => (errors.clone(), *quarantine_id),
            _ => (Vec::new(), None),
        };
        Problem {
            problem_type: format!("{PROBLEM_TYPE_BASE}{code}"),
            title: self.title().to_owned(),
            status: self.status().as_u16(),
            detail: self.to_string(),
            code: code.to_owned(),
            errors: errors.into_iter().map(ViolationBody::from).collect(),
            quarantine_id,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        // RFC 6750: a 401 names the scheme the client should use.
        if let ApiError::RateLimited {
            retry_after_seconds,
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        let challenge = match self {
            ApiError::AuthRequired => Some("Bearer realm=\"dprofile\""),
            ApiError::InvalidKey => Some("Bearer realm=\"dprofile\", error=\"invalid_token\""),
            ApiError::InvalidSession => Some("Bearer realm=\"dprofile-person\""),
            ApiError::OfficerSessionEnded => {
                Some("Bearer realm=\"dprofile\", error=\"invalid_token\"")
            }
            _ => None,
        };
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        // The store's message may quote SQL; it stays in the log.
        tracing::error!(error = %error, "store operation failed");
        match error {
            StoreError::Corrupt(_) | StoreError::Aborted(_) => ApiError::Internal,
            StoreError::Sqlite(_) | StoreError::Postgres(_) | StoreError::Open(_) => {
                ApiError::StoreUnavailable
            }
        }
    }
}

impl From<PipelineError> for ApiError {
    fn from(error: PipelineError) -> ApiError {
        match error {
            PipelineError::Store(store_error) => ApiError::from(store_error),
            PipelineError::QuarantineNotFound(id) => {
                ApiError::NotFound(format!("quarantine item {id} does not exist"))
            }
            PipelineError::AlreadyReplayed(id) => ApiError::AlreadyReplayed(id),
            PipelineError::Read(read_error) => {
                tracing::error!(error = %read_error, "reading ingest input failed");
                ApiError::BodyUnreadable
            }
            // The stored model is the server's own state, not the caller's input.
            PipelineError::Model(model_error) => {
                tracing::error!(error = %model_error, "the store's resolver model cannot be used");
                ApiError::Internal
            }
        }
    }
}

impl From<DecisionError> for ApiError {
    fn from(error: DecisionError) -> ApiError {
        match error {
            // The desk's messages name only ids and kinds the officer sent or can read back
            // (`person 7 was merged into person 3: decide on 3`): safe and useful to show.
            DecisionError::NotFound(what) => ApiError::NotFound(format!("{what} does not exist")),
            DecisionError::Conflict(detail) => ApiError::DecisionConflict(detail),
            DecisionError::Invalid(detail) => ApiError::InvalidDecision {
                detail,
                errors: Vec::new(),
            },
            DecisionError::Store(store_error) => ApiError::from(store_error),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(error: tokio::task::JoinError) -> ApiError {
        tracing::error!(error = %error, "a blocking store task failed");
        ApiError::Internal
    }
}
