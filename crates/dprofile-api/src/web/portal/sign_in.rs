//! Signing in to the portal: the document number and birth date start the API's own sign-in
//! (same rate limits, the same answer whether or not they match anyone), the one-time code
//! finishes it, and the API's session token goes into the `dp_person` cookie.

use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::{FormProblem, Lang, PageQuery, chrome, page};
use crate::ApiContext;
use crate::routes::me::{
    SignInRequest, VerifyRequest, client_address, finish_sign_in, start_sign_in,
};
use crate::web::session::{PERSON_COOKIE, clear_cookie, cookie, safe_next, set_cookie};
use crate::web::templates::{WebError, render};

/// Where a signed-in person lands unless the sign-in was asked for by another page.
const HOME: &str = "/my";

pub(crate) async fn sign_in_page(
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let query = PageQuery::of(query);
    let lang = Lang::of_page(&query, &headers);
    let next = safe_next(query.next.as_deref(), HOME);
    let html = sign_in_form(lang, &next, "", "", &FormProblem::default())?;
    Ok(page(lang, html))
}

fn sign_in_form(
    lang: Lang,
    next: &str,
    document_number: &str,
    birth_date: &str,
    problem: &FormProblem,
) -> Result<axum::response::Html<String>, WebError> {
    render(
        "portal/sign_in.html",
        lang.code,
        context! {
            next => next,
            document_number => document_number,
            birth_date => birth_date,
            errors => problem.fields_value(),
            notice => problem.notice.clone(),
            ..chrome(false, "sign-in", "/my/sign-in", &[("next", next)])
        },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    document_number: String,
    #[serde(default)]
    birth_date: String,
    next: Option<String>,
}

pub(crate) async fn sign_in_submit(
    State(context): State<ApiContext>,
    parts: Parts,
    Form(form): Form<SignInForm>,
) -> Result<Response, WebError> {
    let lang = Lang::of_post(&parts.headers);
    let next = safe_next(form.next.as_deref(), HOME);
    let request = SignInRequest {
        document_number: form.document_number.clone(),
        birth_date: iso_date(&form.birth_date),
    };
    match start_sign_in(&context, &client_address(&parts), &request).await {
        Ok(started) => {
            let html = code_form(
                lang,
                &next,
                &started.sign_in_id,
                started.code_expires_at,
                &FormProblem::default(),
            )?;
            Ok(page(lang, html))
        }
        Err(error) => {
            let status = error.status();
            let problem = FormProblem::from_api(lang, error)?;
            let html = sign_in_form(
                lang,
                &next,
                &form.document_number,
                &form.birth_date,
                &problem,
            )?;
            Ok((status, page(lang, html)).into_response())
        }
    }
}

fn code_form(
    lang: Lang,
    next: &str,
    sign_in_id: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
    problem: &FormProblem,
) -> Result<axum::response::Html<String>, WebError> {
    render(
        "portal/code.html",
        lang.code,
        context! {
            next => next,
            sign_in_id => sign_in_id,
            expires_at => lang.date_time(expires_at),
            errors => problem.fields_value(),
            notice => problem.notice.clone(),
            ..chrome(false, "sign-in", "/my/sign-in", &[("next", next)])
        },
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    sign_in_id: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

pub(crate) async fn code_submit(
    State(context): State<ApiContext>,
    parts: Parts,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let lang = Lang::of_post(&parts.headers);
    let next = safe_next(form.next.as_deref(), HOME);
    let request = VerifyRequest {
        sign_in_id: form.sign_in_id.clone(),
        code: form.code.clone(),
    };
    match finish_sign_in(&context, &client_address(&parts), request).await {
        Ok(session) => {
            let seconds = (session.expires_at - context.state.clock.now())
                .num_seconds()
                .max(1);
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(PERSON_COOKIE, &session.token, Some(seconds)),
            );
            Ok(response)
        }
        Err(error) => {
            let status = error.status();
            // A wrong code is typed again; an expired, spent or unknown sign-in starts over.
            let again = matches!(
                error,
                crate::problem::ApiError::WrongCode { .. }
                    | crate::problem::ApiError::RateLimited { .. }
            );
            let problem = FormProblem::from_api(lang, error)?;
            let html = if again {
                code_form(
                    lang,
                    &next,
                    &form.sign_in_id,
                    context.state.clock.now(),
                    &problem,
                )?
            } else {
                sign_in_form(lang, &next, "", "", &problem)?
            };
            Ok((status, page(lang, html)).into_response())
        }
    }
}

/// Signing out ends the session (as `POST /v1/me/sign-out`: a copy of the cookie answers 401
/// from then on) and forgets it in this browser.
pub(crate) async fn sign_out(State(context): State<ApiContext>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, PERSON_COOKIE)
        && let Err(error) = crate::routes::me::end_session(&context, token.to_owned()).await
    {
        // The cookie is cleared all the same; the session ends at its expiry.
        tracing::error!(?error, "a person's sign-out could not end the session");
    }
    let mut response = Redirect::to("/my/sign-in").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(PERSON_COOKIE));
    (StatusCode::SEE_OTHER, response).into_response()
}

/// A date as people in the five locales type it — `1991-07-14`, `14.07.1991`, `14/07/1991` —
/// as the API's `YYYY-MM-DD`; anything else is passed on for the API's rule to name.
pub(crate) fn iso_date(typed: &str) -> String {
    let typed = typed.trim();
    let parts: Vec<&str> = typed.split(['.', '/']).collect();
    match parts.as_slice() {
        [day, month, year]
            if year.len() == 4 && day.len() <= 2 && month.len() <= 2 && !day.is_empty() =>
        {
            format!("{year}-{month:0>2}-{day:0>2}")
        }
        _ => typed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::iso_date;

    #[test]
    fn dates_are_read_as_each_locale_writes_them() {
        assert_eq!(iso_date("1991-07-14"), "1991-07-14");
        assert_eq!(iso_date("14.07.1991"), "1991-07-14");
        assert_eq!(iso_date(" 4/7/1991 "), "1991-07-04");
        assert_eq!(iso_date("14 Jul 1991"), "14 Jul 1991");
    }
}
