//! Officers' sign-in and sign-out. The session token answered here is accepted by every
//! `/v1/` route exactly like an agency API key (the officer's agency and role), and the access
//! log names the officer (`officer:<login>`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use dprofile_pipeline::officers::{self, OfficerError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Principal};
use crate::problem::{ApiError, Problem};
use crate::{ApiContext, run_blocking};

#[derive(Debug, Deserialize, ToSchema)]
pub struct OfficerSignInRequest {
    pub login: String,
    pub password: String,
}

/// Who signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfficerBody {
    pub login: String,
    pub display_name: String,
    pub agency: String,
    /// The officer's role in the access policy.
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfficerSessionBody {
    /// Send as `Authorization: Bearer <token>` to the `/v1/` routes. Shown once.
    pub token: String,
    /// The session ends then, however active.
    pub expires_at: DateTime<Utc>,
    /// The session also ends after this many seconds without a request.
    pub idle_timeout_seconds: i64,
    pub officer: OfficerBody,
}

fn invalid_field(field: &str, message: String) -> ApiError {
    ApiError::InvalidBody {
        detail: format!("`{field}`: {message}"),
        errors: vec![dprofile_domain::Violation::new(
            format!("/{field}"),
            dprofile_domain::Rule::Required,
            message,
        )],
    }
}

/// Signs an officer in with login and password; answers a session token. An unknown login, a
/// wrong password, a locked account (after repeated failures, for a cool-down) and a disabled
/// one all answer the same 401.
#[utoipa::path(
    post,
    path = "/v1/officer/sign-in",
    operation_id = "officer_sign_in",
    tag = "officer",
    request_body = OfficerSignInRequest,
    responses(
        (status = 200, description = "The session.", body = OfficerSessionBody),
        (status = 400, description = "A field is missing or malformed (`invalid_body`).", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong login or password, or the account is locked or disabled (`officer.sign_in_failed`).", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-ins from this address (`rate_limited`, `Retry-After`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_in(
    State(context): State<ApiContext>,
    request: Request,
) -> Result<Json<OfficerSessionBody>, ApiError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| ApiError::BodyUnreadable)?;
    let request: OfficerSignInRequest = serde_json::from_slice(&body).map_err(|error| {
        let message = format!(
            "the body is not the JSON this route takes (`{{\"login\": …, \"password\": …}}`): {error}"
        );
        ApiError::InvalidBody {
            detail: message.clone(),
            errors: vec![dprofile_domain::Violation::new(
                "",
                dprofile_domain::Rule::Type,
                message,
            )],
        }
    })?;
    if request.login.trim().is_empty() {
        return Err(invalid_field(
            "login",
            "write the officer's login".to_owned(),
        ));
    }
    if request.password.is_empty() {
        return Err(invalid_field("password", "write the password".to_owned()));
    }
    let address = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string());
    let issued = sign_in_officer(&context, &address, request.login, request.password).await?;
    Ok(Json(OfficerSessionBody {
        token: issued.token,
        expires_at: issued.expires_at,
        idle_timeout_seconds: context.state.officer_auth.config.idle_timeout.num_seconds(),
        officer: OfficerBody {
            login: issued.officer.login,
            display_name: issued.officer.display_name,
            agency: issued.officer.agency,
            role: issued.officer.role,
        },
    }))
}

/// Signs an officer in, for the API and the officers' console alike: the per-address rate
/// limit first, then the account's own rules (lock-out after repeated failures, disabled
/// accounts); every refusal of the account is the same `officer.sign_in_failed`, whether the
/// login exists or not.
pub(crate) async fn sign_in_officer(
    context: &ApiContext,
    address: &str,
    login: String,
    password: String,
) -> Result<officers::IssuedSession, ApiError> {
    let now = context.state.clock.now();
    context
        .state
        .officer_auth
        .by_address
        .hit(address, now)
        .map_err(|retry_after_seconds| ApiError::RateLimited {
            retry_after_seconds,
        })?;
    let store = context.state.store.clone();
    let config = context.state.officer_auth.config.clone();
    let address = address.to_owned();
    tokio::task::spawn_blocking(move || {
        officers::sign_in(store.as_ref(), &config, &login, &password, now)
    })
    .await?
    .map_err(|error| match error {
        OfficerError::SignInRefused => {
            tracing::info!(%address, "officer sign-in refused");
            ApiError::OfficerSignInFailed
        }
        OfficerError::Store(store_error) => ApiError::from(store_error),
        other => {
            tracing::error!(error = %other, "officer sign-in failed");
            ApiError::Internal
        }
    })
}

/// Ends the officer's session (the one in `Authorization`); the token answers 401 from then on.
#[utoipa::path(
    post,
    path = "/v1/officer/sign-out",
    operation_id = "officer_sign_out",
    tag = "officer",
    responses(
        (status = 204, description = "Signed out."),
        (status = 400, description = "The token is an agency API key, not an officer's session (`auth.not_an_officer_session`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_out(
    State(context): State<ApiContext>,
    caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    if !matches!(caller.principal, Principal::Officer { .. }) {
        return Err(ApiError::NotAnOfficerSession);
    }
    let token = crate::auth::bearer_token(request.headers())?.to_owned();
    let store = context.state.store.clone();
    let now = context.state.clock.now();
    run_blocking(move || officers::sign_out(store.as_ref(), &token, now)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
