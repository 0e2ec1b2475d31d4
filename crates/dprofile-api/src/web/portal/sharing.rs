//! Proving one's status to others: share codes (make one for a purpose, see and revoke them)
//! and the signed QR pass (issue one, see it, download it as PNG or SVG, revoke it), through
//! the API's own functions and access-log entries.

use axum::Form;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{FluentArg, FormProblem, Lang, PageQuery, chrome, page};
use crate::ApiContext;
use crate::routes::passes::{IssuePassRequest, issue_pass, list_passes, revoke_pass, show_pass};
use crate::routes::share_codes::{
    CreateShareCode, CreatedShareCode, create_code, list_codes, revoke_code,
};
use crate::web::session::PersonPage;
use crate::web::templates::{WebError, render};

/// The share-code purposes, in the order the form offers them.
const SHARE_PURPOSES: [&str; 3] = ["work", "rent", "other"];
/// The pass views, in the order the form offers them.
const PASS_VIEWS: [&str; 2] = ["status_only", "status_identity"];

#[derive(Debug, Serialize)]
struct CodeView {
    id: i64,
    purpose: String,
    created: String,
    expires: String,
    state: String,
    state_code: String,
    failed_checks: String,
    active: bool,
}

pub(crate) async fn share_codes_page(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let lang = Lang::of_page(&PageQuery::of(query), &headers);
    let html = share_codes_view(&context, person, lang, None, "", &FormProblem::default()).await?;
    Ok(page(lang, html))
}

async fn share_codes_view(
    context: &ApiContext,
    person: dprofile_store::PersonId,
    lang: Lang,
    created: Option<&CreatedShareCode>,
    valid_days: &str,
    problem: &FormProblem,
) -> Result<axum::response::Html<String>, WebError> {
    let codes: Vec<CodeView> = list_codes(context, person)
        .await?
        .into_iter()
        .map(|code| CodeView {
            id: code.id,
            purpose: lang.name_of("portal-share-purpose", &code.purpose),
            created: lang.date(code.created_at.date_naive()),
            expires: lang.date(code.expires_at.date_naive()),
            state: lang.name_of("portal-code-state", &code.state),
            active: code.state == "active",
            state_code: code.state,
            failed_checks: crate::web::i18n::format_number(
                lang.code,
                i64::from(code.failed_checks),
            ),
        })
        .collect();
    let purposes: Vec<(String, String, String)> = SHARE_PURPOSES
        .iter()
        .map(|code| {
            (
                (*code).to_owned(),
                lang.name_of("portal-share-purpose", code),
                lang.text(&format!("portal-share-purpose-{code}-hint")),
            )
        })
        .collect();
    let created = created.map(|created| {
        context! {
            code => created.code.clone(),
            purpose => lang.name_of("portal-share-purpose", &created.purpose),
            expires => lang.date(created.expires_at.date_naive()),
        }
    });
    let max_days = context.state.share_codes.limits.lifetime.num_days();
    render(
        "portal/share_codes.html",
        lang.code,
        context! {
            codes => codes,
            purposes => purposes,
            created => created,
            valid_days => valid_days,
            max_days => max_days,
            errors => problem.fields_value(),
            notice => problem.notice.clone(),
            ..chrome(true, "share-codes", "/my/share-codes", &[])
        },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct ShareCodeForm {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    valid_days: String,
}

/// Empty is "as long as allowed"; anything that is not a whole number is the API's range
/// error, named for the field.
fn optional_days(text: &str) -> Result<Option<i64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| ())
}

fn not_a_number(lang: Lang, field: &str) -> FormProblem {
    FormProblem::field(
        field,
        lang.text_with(
            "portal-rule-type",
            &[(
                "field",
                FluentArg::Text(lang.name_of("portal-field", field)),
            )],
        ),
    )
}

pub(crate) async fn share_code_create(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    parts: Parts,
    Form(form): Form<ShareCodeForm>,
) -> Result<Response, WebError> {
    let lang = Lang::of_post(&parts.headers);
    let outcome = match optional_days(&form.valid_days) {
        Err(()) => Err(not_a_number(lang, "valid_days")),
        Ok(valid_days) => {
            let asked = CreateShareCode {
                purpose: form.purpose.clone(),
                valid_days,
            };
            match create_code(&context, person, &asked).await {
                Ok(created) => Ok(created),
                Err(error) => Err(FormProblem::from_api(lang, error)?),
            }
        }
    };
    // The code is shown once, on this answer: it is not kept, only its hash.
    let (status, html) = match outcome {
        Ok(created) => (
            StatusCode::CREATED,
            share_codes_view(
                &context,
                person,
                lang,
                Some(&created),
                "",
                &FormProblem::default(),
            )
            .await?,
        ),
        Err(problem) => (
            StatusCode::BAD_REQUEST,
            share_codes_view(&context, person, lang, None, &form.valid_days, &problem).await?,
        ),
    };
    Ok((status, page(lang, html)).into_response())
}

pub(crate) async fn share_code_revoke(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, WebError> {
    let id = crate::routes::parse_path_id(path, "share code")?;
    revoke_code(&context, person, id).await?;
    Ok(Redirect::to("/my/share-codes").into_response())
}

#[derive(Debug, Serialize)]
struct PassView {
    id: i64,
    view: String,
    issued: String,
    expires: String,
    active: bool,
    state: String,
    alt: String,
}

pub(crate) async fn pass_page(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let lang = Lang::of_page(&PageQuery::of(query), &headers);
    let html = pass_view(&context, person, lang, "", "", &FormProblem::default()).await?;
    Ok(page(lang, html))
}

async fn pass_view(
    context: &ApiContext,
    person: dprofile_store::PersonId,
    lang: Lang,
    chosen_view: &str,
    valid_days: &str,
    problem: &FormProblem,
) -> Result<axum::response::Html<String>, WebError> {
    let now = context.state.clock.now();
    let passes: Vec<PassView> = list_passes(context, person)
        .await?
        .into_iter()
        .map(|row| {
            let state = if row.revoked_at.is_some() {
                "revoked"
            } else if row.expires_at <= now {
                "expired"
            } else {
                "active"
            };
            let expires = lang.date(row.expires_at.date_naive());
            PassView {
                id: row.id,
                view: lang.name_of("portal-pass-view", &row.view),
                issued: lang.date(row.issued_at.date_naive()),
                alt: lang.text_with(
                    "portal-pass-alt",
                    &[
                        (
                            "view",
                            FluentArg::Text(lang.name_of("portal-pass-view", &row.view)),
                        ),
                        ("expires", FluentArg::Text(expires.clone())),
                    ],
                ),
                expires,
                active: state == "active",
                state: lang.name_of("portal-pass-state", state),
            }
        })
        .collect();
    let views: Vec<(String, String, String)> = PASS_VIEWS
        .iter()
        .map(|code| {
            (
                (*code).to_owned(),
                lang.name_of("portal-pass-view", code),
                lang.text(&format!("portal-pass-view-{code}-hint")),
            )
        })
        .collect();
    let max_days = dprofile_pipeline::passes::MAX_PASS_LIFETIME.num_days();
    render(
        "portal/pass.html",
        lang.code,
        context! {
            passes => passes,
            views => views,
            chosen_view => if chosen_view.is_empty() { PASS_VIEWS[0] } else { chosen_view },
            valid_days => valid_days,
            max_days => max_days,
            errors => problem.fields_value(),
            notice => problem.notice.clone(),
            ..chrome(true, "pass", "/my/pass", &[])
        },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct PassForm {
    #[serde(default)]
    view: String,
    #[serde(default)]
    valid_days: String,
}

pub(crate) async fn pass_issue(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    parts: Parts,
    Form(form): Form<PassForm>,
) -> Result<Response, WebError> {
    let lang = Lang::of_post(&parts.headers);
    let problem = match optional_days(&form.valid_days) {
        Err(()) => not_a_number(lang, "valid_days"),
        Ok(valid_days) => {
            let asked = IssuePassRequest {
                view: form.view.clone(),
                valid_days,
            };
            match issue_pass(&context, person, &asked).await {
                Ok(_) => return Ok(Redirect::to("/my/pass").into_response()),
                Err(error) => FormProblem::from_api(lang, error)?,
            }
        }
    };
    let html = pass_view(
        &context,
        person,
        lang,
        &form.view,
        &form.valid_days,
        &problem,
    )
    .await?;
    Ok((StatusCode::BAD_REQUEST, page(lang, html)).into_response())
}

/// The QR code of one of the person's passes, `{id}.png` or `{id}.svg`, as the API serves
/// it (and logs it); `?download` makes the browser save it as a file.
pub(crate) async fn pass_file(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let Path(file) =
        path.map_err(|_| crate::problem::ApiError::NotFound("no such pass".to_owned()))?;
    if !(file.ends_with(".png") || file.ends_with(".svg")) {
        return Err(crate::problem::ApiError::NotFound(format!(
            "`{file}`: a pass image is `{{id}}.png` or `{{id}}.svg`"
        ))
        .into());
    }
    let mut response = show_pass(&context, person, &file).await?;
    let download = query.is_ok_and(|Query(query)| query.download.is_some());
    if download
        && let Ok(value) =
            HeaderValue::from_str(&format!("attachment; filename=\"dprofile-pass-{file}\""))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub(crate) struct DownloadQuery {
    download: Option<String>,
}

pub(crate) async fn pass_revoke(
    State(context): State<ApiContext>,
    PersonPage(person): PersonPage,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, WebError> {
    let id = crate::routes::parse_path_id(path, "pass")?;
    revoke_pass(&context, person, id).await?;
    Ok(Redirect::to("/my/pass").into_response())
}
