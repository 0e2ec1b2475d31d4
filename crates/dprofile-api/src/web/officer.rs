//! The officers' console: sign in, find a person, the profile by category with sources and
//! dispute markers, statuses with their explanations, the person's history, the review queue and
//! the agency's correction requests. Every page view states a purpose and a case and is in the
//! access log, as in the API.
//!
//! The console is the API seen through a browser: the session is the officer's API session (the
//! `dpo_…` token in the `dp_officer` cookie), and every page with personal data calls the same
//! function as its API route (`read_profile`, `search_persons`, `authorize_review`,
//! `agency_queue`, …), so the policy decision and the access-log entry are the API's own. The
//! purpose and case the officer states are kept in the `dp_case` cookie for the session and
//! shown in the header; a page with personal data without them shows the form that states
//! them, not the data. Decisions (merge, split, confirm, reject) name the signed-in officer as
//! their actor: no form field can.

mod corrections;
mod persons;
mod review;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Form, OriginalUri, Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use dprofile_policy::{AccessRequest, Action};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::session::{
    OFFICER_COOKIE, OfficerPage, clear_cookie, cookie, percent_encode, safe_next, set_cookie,
};
use super::templates::{WebError, render};
use crate::ApiContext;
use crate::auth::{Caller, Principal, Purpose};
use crate::problem::ApiError;
use crate::routes::officer::sign_in_officer;

/// This area's templates, by the name pages render them with.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    (
        "officer/base.html",
        include_str!("../../templates/officer/base.html"),
    ),
    (
        "officer/sign_in.html",
        include_str!("../../templates/officer/sign_in.html"),
    ),
    (
        "officer/case.html",
        include_str!("../../templates/officer/case.html"),
    ),
    (
        "officer/error.html",
        include_str!("../../templates/officer/error.html"),
    ),
    (
        "officer/search.html",
        include_str!("../../templates/officer/search.html"),
    ),
    (
        "officer/person.html",
        include_str!("../../templates/officer/person.html"),
    ),
    (
        "officer/history.html",
        include_str!("../../templates/officer/history.html"),
    ),
    (
        "officer/review_list.html",
        include_str!("../../templates/officer/review_list.html"),
    ),
    (
        "officer/review_item.html",
        include_str!("../../templates/officer/review_item.html"),
    ),
    (
        "officer/corrections.html",
        include_str!("../../templates/officer/corrections.html"),
    ),
];

/// The purpose and case the officer stated, kept for the session.
pub(crate) const CASE_COOKIE: &str = "dp_case";
/// The console is in English: officers' working tool, not the five-language portal.
const LANG: &str = "en";
/// Longest case reference: a file number, not a text.
const CASE_REF_MAX_CHARS: usize = 100;
/// Longest reason of a decision or answer, as the API's.
const REASON_MAX_CHARS: usize = 2000;

pub(super) fn routes() -> Router<ApiContext> {
    Router::new()
        .route("/officer/sign-in", get(sign_in_page).post(sign_in))
        .route("/officer/sign-out", post(sign_out))
        .route("/officer/case", get(case_page).post(set_case))
        .route("/officer", get(persons::search_page))
        .route(
            "/officer/search",
            get(persons::search_again).post(persons::search),
        )
        .route("/officer/persons/{id}", get(persons::profile))
        .route("/officer/persons/{id}/history", get(persons::history))
        .route("/officer/persons/{id}/merge", post(persons::merge))
        .route("/officer/persons/{id}/split", post(persons::split))
        .route("/officer/review", get(review::queue))
        .route(
            "/officer/review/{id}",
            get(review::item).post(review::decide),
        )
        .route("/officer/corrections", get(corrections::queue))
        .route(
            "/officer/corrections/{id}/answer",
            post(corrections::answer),
        )
}

/// The purpose and case of the console session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CaseBar {
    pub purpose: String,
    pub case_ref: String,
}

impl CaseBar {
    fn cookie_value(&self) -> String {
        format!(
            "{}:{}",
            percent_encode(&self.purpose),
            percent_encode(&self.case_ref)
        )
    }

    /// The stated purpose and case from the cookie, if it holds a purpose the officer's role
    /// has (a cookie from another officer's session on this browser, or from before a policy
    /// change, states nothing).
    fn from_request(headers: &HeaderMap, context: &ApiContext, caller: &Caller) -> Option<CaseBar> {
        let value = cookie(headers, CASE_COOKIE)?;
        let (purpose, case_ref) = value.split_once(':')?;
        let bar = CaseBar {
            purpose: percent_decode(purpose)?,
            case_ref: percent_decode(case_ref)?,
        };
        let purposes = context.state.policy.purposes_of(&caller.role);
        (purposes.contains(bar.purpose.as_str()) && valid_case_ref(&bar.case_ref).is_ok())
            .then_some(bar)
    }

    pub(crate) fn purpose(&self) -> Purpose {
        Purpose {
            purpose: self.purpose.clone(),
            case_ref: Some(self.case_ref.clone()),
        }
    }
}

/// Decodes `%XX` escapes (as [`percent_encode`] writes them); `None` for a malformed one.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

fn valid_case_ref(case_ref: &str) -> Result<(), String> {
    if case_ref.trim().is_empty() {
        return Err(
            "Case reference is required: write the number of the case this work is for (e.g. MV-2026-0412)"
                .to_owned(),
        );
    }
    if case_ref.chars().count() > CASE_REF_MAX_CHARS {
        return Err(format!(
            "Case reference is longer than {CASE_REF_MAX_CHARS} characters: write the case number only"
        ));
    }
    if case_ref.chars().any(char::is_control) {
        return Err(
            "Case reference holds a control character: write the case number only".to_owned(),
        );
    }
    Ok(())
}

/// A signed-in officer on a console page: who, and the purpose and case stated (if any).
pub(crate) struct Console {
    pub caller: Caller,
    pub case: Option<CaseBar>,
    /// The page's own path, to come back to after changing the case.
    pub here: String,
}

impl Console {
    pub(crate) fn new(
        OfficerPage(caller): OfficerPage,
        context: &ApiContext,
        headers: &HeaderMap,
        uri: &OriginalUri,
    ) -> Console {
        let case = CaseBar::from_request(headers, context, &caller);
        Console {
            caller,
            case,
            here: uri.0.path().to_owned(),
        }
    }

    fn login(&self) -> &str {
        match &self.caller.principal {
            Principal::Officer { login, .. } => login,
            Principal::ApiKey { .. } => "",
        }
    }

    /// What every console page shows in its header, merged with the page's own `fields`.
    pub(crate) fn context(&self, section: &str, fields: Json) -> Json {
        let mut context = json!({
            "officer": {
                "login": self.login(),
                "agency": self.caller.agency,
                "role": self.caller.role,
            },
            "case": self.case,
            "here": self.here,
            "here_encoded": percent_encode(&self.here),
            "section": section,
        });
        if let (Some(target), Json::Object(page)) = (context.as_object_mut(), fields) {
            target.extend(page);
        }
        context
    }

    /// The page, or — when no purpose and case are stated yet — the form that states them
    /// (and comes back here afterwards). Personal data is never shown without them.
    pub(crate) fn require_case(&self, context: &ApiContext) -> Result<Purpose, Box<Response>> {
        match &self.case {
            Some(case) => Ok(case.purpose()),
            None => Err(Box::new(case_form(
                self,
                context,
                &CaseForm {
                    purpose: None,
                    case_ref: None,
                    next: Some(self.here.clone()),
                },
                Vec::new(),
                StatusCode::OK,
            ))),
        }
    }

    /// A failure of the API underneath, shown inside the console.
    pub(crate) fn error(&self, error: ApiError) -> Response {
        let status = error.status();
        let (title, hint) = match &error {
            ApiError::Refused(refusal) => {
                ("Not allowed for this purpose", refusal_hint(refusal.code))
            }
            ApiError::NotFound(_) => ("Not found", ""),
            ApiError::DecisionConflict(_) => (
                "Already decided",
                "Someone decided first, or the persons changed since: open the item again.",
            ),
            ApiError::StoreUnavailable => (
                "Not available now",
                "Nothing was shown because the access could not be logged. Try again shortly.",
            ),
            _ => ("The request could not be done", ""),
        };
        page(
            "officer/error.html",
            self.context(
                "",
                json!({
                    "title": title,
                    "message": error.to_string(),
                    "code": error_code(&error),
                    "hint": hint,
                }),
            ),
            status,
        )
    }
}

fn refusal_hint(code: &str) -> &'static str {
    match code {
        "policy.purpose_not_granted" | "policy.action_not_granted" => {
            "Your role may not do this for the purpose you stated. If your work has another purpose your role holds, change the purpose and case."
        }
        "policy.case_required" => "State the case this work is for.",
        _ => "The access policy decides what each role sees; the refusal is in the access log.",
    }
}

fn error_code(error: &ApiError) -> String {
    match error {
        ApiError::Refused(refusal) => refusal.code.to_owned(),
        other => other.status().as_u16().to_string(),
    }
}

/// Renders a console page with `status`.
pub(crate) fn page(template: &str, context: Json, status: StatusCode) -> Response {
    match render(template, LANG, minijinja::Value::from_serialize(&context)) {
        Ok(html) => (status, html).into_response(),
        Err(error) => error.into_response(),
    }
}

/// One wrong field of a form: shown next to it, and named in the summary at the top.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// The errors as `{field: message}` for the templates, with the list for the summary.
pub(crate) fn errors_context(errors: &[FieldError]) -> Json {
    let by_field: serde_json::Map<String, Json> = errors
        .iter()
        .map(|error| (error.field.clone(), Json::String(error.message.clone())))
        .collect();
    json!({ "errors": by_field, "error_list": errors })
}

/// A reason an officer writes for a decision: required, bounded.
pub(crate) fn check_reason(field: &str, reason: Option<&str>) -> Result<String, FieldError> {
    let reason = reason.unwrap_or("").trim();
    if reason.is_empty() {
        return Err(FieldError::new(
            field,
            "Reason is required: write why you decide so; it is kept with the decision",
        ));
    }
    if reason.chars().count() > REASON_MAX_CHARS {
        return Err(FieldError::new(
            field,
            format!("Reason is longer than {REASON_MAX_CHARS} characters: shorten it"),
        ));
    }
    Ok(reason.to_owned())
}

/// A 303 to `target`: after a form post, the browser loads the result with a GET.
pub(crate) fn see_other(target: &str) -> Response {
    Redirect::to(target).into_response()
}

// ---- sign in and out ------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct SignInForm {
    login: Option<String>,
    password: Option<String>,
    next: Option<String>,
}

async fn sign_in_page(Query(query): Query<NextQuery>) -> Response {
    sign_in_form(None, query.next.as_deref(), &[], None, StatusCode::OK)
}

fn sign_in_form(
    login: Option<&str>,
    next: Option<&str>,
    errors: &[FieldError],
    failure: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut context = json!({
        "officer": null,
        "case": null,
        "section": "sign-in",
        "login": login.unwrap_or(""),
        "next": safe_next(next, ""),
        "failure": failure,
    });
    if let (Some(target), Json::Object(errors)) = (context.as_object_mut(), errors_context(errors))
    {
        target.extend(errors);
    }
    page("officer/sign_in.html", context, status)
}

/// Signs the officer in as `POST /v1/officer/sign-in` does (the same rate limit per address,
/// lock-out and one answer for every failure), keeps the session token in an `HttpOnly`
/// cookie, and goes on to `next`. The page never says whether the login exists.
async fn sign_in(
    State(context): State<ApiContext>,
    extensions: Extensions,
    Form(form): Form<SignInForm>,
) -> Response {
    let login = form.login.as_deref().unwrap_or("").trim().to_owned();
    let password = form.password.clone().unwrap_or_default();
    let mut errors = Vec::new();
    if login.is_empty() {
        errors.push(FieldError::new(
            "login",
            "Login is required: write your officer login",
        ));
    }
    if password.is_empty() {
        errors.push(FieldError::new(
            "password",
            "Password is required: write your password",
        ));
    }
    if !errors.is_empty() {
        return sign_in_form(
            Some(&login),
            form.next.as_deref(),
            &errors,
            None,
            StatusCode::BAD_REQUEST,
        );
    }
    let address = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string());
    match sign_in_officer(&context, &address, login.clone(), password).await {
        Ok(issued) => {
            let default = if can_see_persons(&context, &issued.officer.role) {
                "/officer"
            } else {
                // An analyst's console is the dashboard: aggregates, never persons.
                "/analytics"
            };
            let target = safe_next(
                form.next.as_deref().filter(|next| !next.is_empty()),
                default,
            );
            let mut response = see_other(&target);
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(OFFICER_COOKIE, &issued.token, None),
            );
            // A new session states its own purpose and case.
            headers.append(header::SET_COOKIE, clear_cookie(CASE_COOKIE));
            response
        }
        Err(ApiError::OfficerSignInFailed) => sign_in_form(
            Some(&login),
            form.next.as_deref(),
            &[],
            Some(
                "Sign-in failed: the login or the password is wrong, or the account is locked or disabled. \
                 Check both and try again; after 5 failed attempts the account is locked for 15 minutes.",
            ),
            StatusCode::UNAUTHORIZED,
        ),
        Err(ApiError::RateLimited {
            retry_after_seconds,
        }) => sign_in_form(
            Some(&login),
            form.next.as_deref(),
            &[],
            Some(&format!(
                "Too many sign-ins from this address: try again in {} minutes.",
                retry_after_seconds.div_ceil(60).max(1)
            )),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(error) => WebError::from(error).into_response(),
    }
}

/// Whether any purpose of `role` lets it search persons (else it is an analyst's role).
fn can_see_persons(context: &ApiContext, role: &str) -> bool {
    let policy = &context.state.policy;
    policy.purposes_of(role).into_iter().any(|purpose| {
        policy.role_agencies(role).any(|agency| {
            policy
                .decide(&AccessRequest {
                    role,
                    agency,
                    purpose,
                    case_ref: Some("any"),
                    action: Action::Search,
                })
                .is_ok()
        })
    })
}

/// Ends the session (as `POST /v1/officer/sign-out`) and forgets the case.
async fn sign_out(State(context): State<ApiContext>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, OFFICER_COOKIE).map(str::to_owned) {
        let store = context.state.store.clone();
        let now = context.state.clock.now();
        let ended = crate::run_blocking(move || {
            dprofile_pipeline::officers::sign_out(store.as_ref(), &token, now)
        })
        .await;
        if let Err(error) = ended {
            return WebError::from(error).into_response();
        }
    }
    let mut response = see_other("/officer/sign-in");
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, clear_cookie(OFFICER_COOKIE));
    headers.append(header::SET_COOKIE, clear_cookie(CASE_COOKIE));
    response
}

// ---- purpose and case -----------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct CaseForm {
    purpose: Option<String>,
    case_ref: Option<String>,
    next: Option<String>,
}

fn case_form(
    console: &Console,
    context: &ApiContext,
    form: &CaseForm,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Response {
    let purposes: Vec<&str> = context
        .state
        .policy
        .purposes_of(&console.caller.role)
        .into_iter()
        .collect();
    let chosen = form
        .purpose
        .clone()
        .or_else(|| console.case.as_ref().map(|case| case.purpose.clone()))
        .unwrap_or_default();
    let case_ref = form
        .case_ref
        .clone()
        .or_else(|| console.case.as_ref().map(|case| case.case_ref.clone()))
        .unwrap_or_default();
    let mut fields = json!({
        "purposes": purposes,
        "chosen_purpose": chosen,
        "case_ref": case_ref,
        "next": safe_next(form.next.as_deref(), "/officer"),
        "needed": console.case.is_none(),
    });
    if let (Some(target), Json::Object(errors)) = (fields.as_object_mut(), errors_context(&errors))
    {
        target.extend(errors);
    }
    page("officer/case.html", console.context("case", fields), status)
}

async fn case_page(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
    Query(query): Query<NextQuery>,
) -> Response {
    let console = Console::new(officer, &context, &headers, &uri);
    case_form(
        &console,
        &context,
        &CaseForm {
            purpose: None,
            case_ref: None,
            next: query.next,
        },
        Vec::new(),
        StatusCode::OK,
    )
}

/// States (or changes) the purpose and case for the rest of the session.
async fn set_case(
    State(context): State<ApiContext>,
    officer: OfficerPage,
    headers: HeaderMap,
    uri: OriginalUri,
    Form(form): Form<CaseForm>,
) -> Response {
    let console = Console::new(officer, &context, &headers, &uri);
    let purposes = context.state.policy.purposes_of(&console.caller.role);
    let purpose = form.purpose.as_deref().unwrap_or("").trim().to_owned();
    let case_ref = form.case_ref.as_deref().unwrap_or("").trim().to_owned();
    let mut errors = Vec::new();
    if !purposes.contains(purpose.as_str()) {
        errors.push(FieldError::new(
            "purpose",
            format!(
                "Purpose must be one your role has ({}): choose the one this work is for",
                purposes.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    if let Err(message) = valid_case_ref(&case_ref) {
        errors.push(FieldError::new("case_ref", message));
    }
    if !errors.is_empty() {
        return case_form(&console, &context, &form, errors, StatusCode::BAD_REQUEST);
    }
    let bar = CaseBar { purpose, case_ref };
    let mut response = see_other(&safe_next(form.next.as_deref(), "/officer"));
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(CASE_COOKIE, &bar.cookie_value(), None),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_cookie_keeps_any_text() {
        let bar = CaseBar {
            purpose: "stay_control".to_owned(),
            case_ref: "МВ-2026/04: 12; x=y".to_owned(),
        };
        let value = bar.cookie_value();
        assert!(!value.contains([';', ' ', ',', '=']), "{value}");
        let (purpose, case_ref) = value.split_once(':').expect("two parts");
        assert_eq!(percent_decode(purpose).as_deref(), Some("stay_control"));
        assert_eq!(
            percent_decode(case_ref).as_deref(),
            Some(bar.case_ref.as_str())
        );
        assert_eq!(percent_decode("%4"), None);
    }

    #[test]
    fn a_case_reference_is_required_and_short() {
        assert!(valid_case_ref("MV-2026-0412").is_ok());
        assert!(valid_case_ref("  ").is_err());
        assert!(valid_case_ref(&"x".repeat(101)).is_err());
        assert!(valid_case_ref("a\nb").is_err());
    }
}
