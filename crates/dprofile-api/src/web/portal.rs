//! The person's portal, in five languages: sign in with a document, birth date and one-time code; the profile; who looked at it and why; share codes; the QR pass; correction requests; notice of a planned arrival.
//!
//! Every page calls the same functions as the `/v1/me/` routes (`routes::me`,
//! `routes::share_codes`, `routes::passes`, `routes::corrections`): the same rules, rate limits
//! and access-log entries, whether the person uses the API or the pages. The pages only add
//! the language (the switcher's `?lang=`, remembered in `dp_lang`, else the browser's), the
//! session cookie `dp_person` and messages in the person's language next to the field they
//! are about.

mod arrival;
mod pages;
mod sharing;
mod sign_in;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::Value;
use serde::Deserialize;

use super::i18n;
use super::session::set_cookie;
use super::templates::WebError;
use crate::ApiContext;
use crate::problem::ApiError;

/// This area's templates, by the name pages render them with.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    (
        "portal/base.html",
        include_str!("../../templates/portal/base.html"),
    ),
    (
        "portal/sign_in.html",
        include_str!("../../templates/portal/sign_in.html"),
    ),
    (
        "portal/code.html",
        include_str!("../../templates/portal/code.html"),
    ),
    (
        "portal/profile.html",
        include_str!("../../templates/portal/profile.html"),
    ),
    (
        "portal/access_log.html",
        include_str!("../../templates/portal/access_log.html"),
    ),
    (
        "portal/share_codes.html",
        include_str!("../../templates/portal/share_codes.html"),
    ),
    (
        "portal/pass.html",
        include_str!("../../templates/portal/pass.html"),
    ),
    (
        "portal/corrections.html",
        include_str!("../../templates/portal/corrections.html"),
    ),
    (
        "portal/arrival.html",
        include_str!("../../templates/portal/arrival.html"),
    ),
];

pub(super) fn routes() -> Router<ApiContext> {
    Router::new()
        .route(
            "/my/sign-in",
            get(sign_in::sign_in_page).post(sign_in::sign_in_submit),
        )
        .route("/my/sign-in/code", post(sign_in::code_submit))
        .route("/my/sign-out", post(sign_in::sign_out))
        .route("/my", get(pages::profile_page))
        .route("/my/access-log", get(pages::access_log_page))
        .route(
            "/my/share-codes",
            get(sharing::share_codes_page).post(sharing::share_code_create),
        )
        .route(
            "/my/share-codes/{id}/revoke",
            post(sharing::share_code_revoke),
        )
        .route(
            "/my/pass",
            get(sharing::pass_page).post(sharing::pass_issue),
        )
        .route("/my/pass/{file}", get(sharing::pass_file))
        .route("/my/pass/{id}/revoke", post(sharing::pass_revoke))
        .route(
            "/my/corrections",
            get(pages::corrections_page).post(pages::correction_file),
        )
        .route(
            "/my/arrival",
            get(arrival::arrival_page).post(arrival::arrival_submit),
        )
}

/// How long the language cookie remembers the switcher's choice: a year.
const LANG_COOKIE_SECONDS: i64 = 365 * 24 * 60 * 60;

/// The query every portal page takes: the switcher's `lang`, and what some pages read.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    pub lang: Option<String>,
    /// Where to go after signing in.
    pub next: Option<String>,
    /// The record a correction request is about (from the profile's links).
    pub record: Option<String>,
    /// A notice just sent (the arrival page after a post).
    pub sent: Option<String>,
}

impl PageQuery {
    pub(super) fn of(query: Result<Query<PageQuery>, QueryRejection>) -> PageQuery {
        query.map(|Query(query)| query).unwrap_or_default()
    }
}

/// The language a page is answered in, and whether the switcher just chose it (then the
/// answer remembers it in the `dp_lang` cookie).
#[derive(Debug, Clone, Copy)]
pub(super) struct Lang {
    pub code: &'static str,
    chosen: bool,
}

impl Lang {
    /// For a page: the switcher's `?lang=`, the cookie, the browser's languages, Russian.
    pub(super) fn of_page(query: &PageQuery, headers: &HeaderMap) -> Lang {
        Lang {
            code: i18n::negotiate(query.lang.as_deref(), headers),
            chosen: query.lang.as_deref().and_then(i18n::known_locale).is_some(),
        }
    }

    /// For a form post: the cookie, the browser's languages, Russian.
    pub(super) fn of_post(headers: &HeaderMap) -> Lang {
        Lang {
            code: i18n::negotiate(None, headers),
            chosen: false,
        }
    }

    /// The message `id` in this language (a missing one shows `⟦id⟧`, as in templates).
    pub(super) fn text(self, id: &str) -> String {
        i18n::localizer().text(self.code, id, None)
    }

    /// The message `id` with arguments.
    pub(super) fn text_with(self, id: &str, args: &[(&str, FluentArg)]) -> String {
        let args = i18n::fluent_args(args.iter().map(|(name, value)| {
            let value = match value {
                FluentArg::Text(text) => fluent_bundle::FluentValue::from(text.clone()),
                FluentArg::Number(number) => fluent_bundle::FluentValue::from(*number),
            };
            ((*name).to_owned(), value)
        }));
        i18n::localizer().text(self.code, id, Some(&args))
    }

    /// A code's name in this language (`{prefix}-{code}`: a category, a purpose, an agency),
    /// or the code itself where no message names it: codes come from the policy and the
    /// sources, and a new one must not break the page.
    pub(super) fn name_of(self, prefix: &str, code: &str) -> String {
        i18n::localizer()
            .message(self.code, &format!("{prefix}-{code}"), None)
            .unwrap_or_else(|| code.replace('_', " "))
    }

    pub(super) fn date(self, date: chrono::NaiveDate) -> String {
        i18n::format_date(self.code, date)
    }

    /// An instant as the locale writes the day, and the time in UTC.
    pub(super) fn date_time(self, at: chrono::DateTime<chrono::Utc>) -> String {
        format!(
            "{} {} UTC",
            i18n::format_date(self.code, at.date_naive()),
            at.format("%H:%M")
        )
    }
}

/// An argument of a message.
pub(super) enum FluentArg {
    Text(String),
    Number(i64),
}

/// The page's HTML, remembering the language the switcher chose.
pub(super) fn page(lang: Lang, html: Html<String>) -> Response {
    let mut response = html.into_response();
    if lang.chosen {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(i18n::LANG_COOKIE, lang.code, Some(LANG_COOKIE_SECONDS)),
        );
    }
    response
}

/// What every portal page's frame needs: whether the person is signed in (the navigation and
/// the sign-out button), which page is current, and where the language switcher goes (with
/// the page's own query values kept as hidden fields).
pub(super) fn chrome(signed_in: bool, current: &str, path: &str, keep: &[(&str, &str)]) -> Value {
    minijinja::context! {
        signed_in => signed_in,
        current => current,
        switch_path => path,
        keep => keep
            .iter()
            .map(|(name, value)| [(*name).to_owned(), (*value).to_owned()])
            .collect::<Vec<_>>(),
    }
}

/// What went wrong with a form, in the person's language: messages per field (shown next to
/// it) and one for the whole form.
#[derive(Debug, Default)]
pub(super) struct FormProblem {
    pub fields: BTreeMap<String, String>,
    pub notice: Option<String>,
}

impl FormProblem {
    pub(super) fn field(field: &str, message: String) -> FormProblem {
        let mut problem = FormProblem::default();
        problem.fields.insert(field.to_owned(), message);
        problem
    }

    pub(super) fn notice(message: String) -> FormProblem {
        FormProblem {
            notice: Some(message),
            ..FormProblem::default()
        }
    }

    pub(super) fn fields_value(&self) -> Value {
        Value::from_serialize(&self.fields)
    }

    /// The person's form errors that the API expresses as problems: field violations, rate
    /// limits, a wrong or spent code, a record not theirs. Anything else is not the form's
    /// fault and becomes the error page.
    pub(super) fn from_api(lang: Lang, error: ApiError) -> Result<FormProblem, WebError> {
        let violations = match &error {
            ApiError::InvalidBody { errors, .. } | ApiError::Correction { errors, .. } => {
                errors.clone()
            }
            _ => Vec::new(),
        };
        match error {
            ApiError::InvalidBody { .. } => Ok(FormProblem::from_violations(lang, &violations)),
            ApiError::Correction {
                code: "correction.already_disputed",
                ..
            } => Ok(FormProblem::field(
                "fields",
                lang.text("portal-error-already-disputed"),
            )),
            ApiError::Correction {
                code: "correction.record_not_found",
                ..
            } => Ok(FormProblem::field(
                "record_id",
                lang.text("portal-error-record-not-found"),
            )),
            ApiError::RateLimited {
                retry_after_seconds,
            } => Ok(FormProblem::notice(lang.text_with(
                "portal-error-rate-limited",
                &[(
                    "minutes",
                    FluentArg::Number(
                        i64::try_from(retry_after_seconds.div_ceil(60)).unwrap_or(15),
                    ),
                )],
            ))),
            ApiError::WrongCode { attempts_left } => Ok(FormProblem::field(
                "code",
                lang.text_with(
                    "portal-error-wrong-code",
                    &[("attempts", FluentArg::Number(i64::from(attempts_left)))],
                ),
            )),
            ApiError::SignInExpired => {
                Ok(FormProblem::notice(lang.text("portal-error-code-expired")))
            }
            ApiError::SignInLocked => {
                Ok(FormProblem::notice(lang.text("portal-error-code-locked")))
            }
            ApiError::SignInUnknown => Ok(FormProblem::notice(
                lang.text("portal-error-sign-in-unknown"),
            )),
            ApiError::PassIdentityUnknown(_) => Ok(FormProblem::field(
                "view",
                lang.text("portal-error-identity-unknown"),
            )),
            other => Err(WebError::Api(other)),
        }
    }

    /// One message per field: the field's name, the rule it broke and what to do, in the
    /// person's language; the API's English sentence where no message covers the rule.
    pub(super) fn from_violations(lang: Lang, violations: &[dprofile_domain::Violation]) -> Self {
        let mut problem = FormProblem::default();
        for violation in violations {
            let field = field_of_pointer(&violation.pointer);
            let label = lang.name_of("portal-field", &field);
            let message = i18n::localizer()
                .message(
                    lang.code,
                    &format!("portal-rule-{}", violation.rule),
                    Some(&i18n::fluent_args([(
                        "field".to_owned(),
                        fluent_bundle::FluentValue::from(label.clone()),
                    )])),
                )
                .unwrap_or_else(|| format!("{label}: {}", violation.message));
            problem.fields.entry(field).or_insert(message);
        }
        problem
    }
}

/// The form field a violation's JSON pointer is about: `/data/address/city` → `address_city`,
/// `/fields/2` → `fields`, `/birth_date` → `birth_date`.
fn field_of_pointer(pointer: &str) -> String {
    let path = pointer.trim_start_matches('/');
    let path = path.strip_prefix("data/").unwrap_or(path);
    path.split('/')
        .filter(|part| !part.is_empty() && !part.chars().all(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join("_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_land_next_to_their_form_field() {
        assert_eq!(field_of_pointer("/data/address/city"), "address_city");
        assert_eq!(field_of_pointer("/fields/2"), "fields");
        assert_eq!(field_of_pointer("/birth_date"), "birth_date");
        assert_eq!(field_of_pointer("/data/arrival_on"), "arrival_on");
    }
}
