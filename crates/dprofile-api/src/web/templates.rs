//! The page templates (`templates/`, embedded in the binary) and their rendering: HTML-escaped,
//! an undefined variable is an error (not an empty string), and every page gets its language,
//! the message function `t`, and the locale's date and number formats.

use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use fluent_bundle::FluentValue;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, UndefinedBehavior};

use super::i18n;
use crate::problem::ApiError;

/// Every template by name; each area keeps its own list next to its handlers.
fn all_templates() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    COMMON
        .iter()
        .chain(super::officer::TEMPLATES)
        .chain(super::portal::TEMPLATES)
        .chain(super::checker::TEMPLATES)
        .chain(super::dashboard::TEMPLATES)
}

const COMMON: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("error.html", include_str!("../../templates/error.html")),
];

/// The templates, parsed once.
fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut environment = Environment::new();
        environment.set_undefined_behavior(UndefinedBehavior::Strict);
        environment.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (name, source) in all_templates() {
            if let Err(error) = environment.add_template(name, source) {
                tracing::error!(template = name, %error, "a page template does not parse");
            }
        }
        environment
    })
}

/// Why a page could not be shown: rendered as a small page of its own.
#[derive(Debug)]
pub(crate) enum WebError {
    /// What the API would answer (not found, refused by the policy, store unavailable…).
    Api(ApiError),
    /// A template failed: a defect, logged with its cause; the browser sees a generic page.
    Template(minijinja::Error),
}

impl From<ApiError> for WebError {
    fn from(error: ApiError) -> WebError {
        WebError::Api(error)
    }
}

impl From<minijinja::Error> for WebError {
    fn from(error: minijinja::Error) -> WebError {
        WebError::Template(error)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            WebError::Api(error) => {
                let status = error.status();
                (status, error.to_string())
            }
            WebError::Template(error) => {
                tracing::error!(error = %format!("{error:#}"), "a page failed to render");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be shown; the error is logged".to_owned(),
                )
            }
        };
        let page = environment()
            .get_template("error.html")
            .and_then(|template| {
                template.render(minijinja::context! {
                    status => status.as_u16(),
                    reason => status.canonical_reason().unwrap_or(""),
                    message => message,
                    lang => "en",
                })
            });
        match page {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}

/// Renders page `template` in `lang` with `context`; the page also gets `lang`, `locales`
/// (for the switcher), `t(id, name=value…)` (the message in `lang`), `date(iso_date)` and
/// `number(n)` in the locale's forms.
pub(crate) fn render(
    template: &str,
    lang: &'static str,
    context: Value,
) -> Result<Html<String>, WebError> {
    let template = environment().get_template(template)?;
    let html = template.render(minijinja::context! {
        lang => lang,
        locales => i18n::LOCALES,
        t => Value::from_function(move |id: &str, kwargs: Kwargs| -> Result<String, minijinja::Error> {
            let args = i18n::fluent_args(kwargs.args().map(|name| {
                let value: Value = kwargs.get(name).unwrap_or_default();
                let fluent = match (value.as_i64(), value.as_str()) {
                    (Some(number), _) => FluentValue::from(number),
                    (None, Some(text)) => FluentValue::from(text.to_owned()),
                    (None, None) => FluentValue::from(value.to_string()),
                };
                (name.to_owned(), fluent)
            }));
            Ok(i18n::localizer().text(lang, id, Some(&args)))
        }),
        date => Value::from_function(move |iso: &str| -> String {
            chrono::NaiveDate::parse_from_str(iso.get(..10).unwrap_or(iso), "%Y-%m-%d")
                .map_or_else(|_| iso.to_owned(), |date| i18n::format_date(lang, date))
        }),
        number => Value::from_function(move |number: i64| -> String {
            i18n::format_number(lang, number)
        }),
        ..context
    })?;
    Ok(Html(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let mut environment = Environment::new();
        for (name, source) in all_templates() {
            environment
                .add_template(name, source)
                .unwrap_or_else(|error| panic!("{name}: {error:#}"));
        }
    }
}
