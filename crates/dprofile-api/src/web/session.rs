//! The pages' sessions: the API's own officer and person session tokens, kept in cookies the
//! page scripts cannot read (`HttpOnly`) and browsers do not send from other sites
//! (`SameSite=Strict`), and the extractors that turn them into a signed-in officer or person —
//! or send the browser to the sign-in page.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use dprofile_store::PersonId;

use crate::ApiContext;
use crate::auth::{Caller, caller_from_token};
use crate::routes::me::person_from_token;

/// The officer's (or analyst's) session token.
pub(crate) const OFFICER_COOKIE: &str = "dp_officer";
/// The person's session token.
pub(crate) const PERSON_COOKIE: &str = "dp_person";

/// The value of cookie `name` in the request, if sent.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value for a session or setting cookie: whole site, not readable by scripts,
/// not sent cross-site; `max_age_seconds` `None` ends with the browser.
pub(crate) fn set_cookie(name: &str, value: &str, max_age_seconds: Option<i64>) -> HeaderValue {
    let max_age = max_age_seconds
        .map(|seconds| format!("; Max-Age={seconds}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{max_age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("dp_invalid=; Path=/; Max-Age=0"))
}

/// A `Set-Cookie` value that removes cookie `name`.
pub(crate) fn clear_cookie(name: &str) -> HeaderValue {
    set_cookie(name, "", Some(0))
}

/// Where the browser goes to sign in, coming back to `next` afterwards.
fn sign_in_redirect(sign_in_path: &str, parts: &Parts) -> Response {
    let next = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.to_string(), |uri| uri.0.to_string());
    let target = format!("{sign_in_path}?next={}", percent_encode(&next));
    Redirect::to(&target).into_response()
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for a query value.
pub(crate) fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A local path to go back to after signing in: only paths of this site (no `//host`), else
/// `fallback`.
pub(crate) fn safe_next(next: Option<&str>, fallback: &str) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

/// A signed-in officer (or analyst) of the console: the same [`Caller`] as an API request
/// with the officer's session token. Without an open session the browser is sent to
/// `/officer/sign-in`.
pub(crate) struct OfficerPage(pub Caller);

impl FromRequestParts<ApiContext> for OfficerPage {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        context: &ApiContext,
    ) -> Result<OfficerPage, Response> {
        let Some(token) = cookie(&parts.headers, OFFICER_COOKIE)
            .filter(|token| token.starts_with(dprofile_pipeline::officers::SESSION_TOKEN_PREFIX))
            .map(str::to_owned)
        else {
            return Err(sign_in_redirect("/officer/sign-in", parts));
        };
        match caller_from_token(context, token).await {
            Ok(caller) => Ok(OfficerPage(caller)),
            Err(crate::problem::ApiError::OfficerSessionEnded) => {
                Err(sign_in_redirect("/officer/sign-in", parts))
            }
            Err(error) => Err(error.into_response()),
        }
    }
}

/// The signed-in person of the portal. Without an open session the browser is sent to
/// `/my/sign-in`.
pub(crate) struct PersonPage(pub PersonId);

impl FromRequestParts<ApiContext> for PersonPage {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        context: &ApiContext,
    ) -> Result<PersonPage, Response> {
        let Some(token) = cookie(&parts.headers, PERSON_COOKIE).map(str::to_owned) else {
            return Err(sign_in_redirect("/my/sign-in", parts));
        };
        match person_from_token(context, token).await {
            Ok(person) => Ok(PersonPage(person)),
            Err(crate::problem::ApiError::InvalidSession) => {
                Err(sign_in_redirect("/my/sign-in", parts))
            }
            Err(error) => Err(error.into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "dp_lang=en; dp_officer=dpo_abc".parse().expect("a header"),
        );
        assert_eq!(cookie(&headers, OFFICER_COOKIE), Some("dpo_abc"));
        assert_eq!(cookie(&headers, "dp_lan"), None);
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/officer/persons/4"), "/officer"),
            "/officer/persons/4"
        );
        assert_eq!(safe_next(Some("//evil.example/x"), "/officer"), "/officer");
        assert_eq!(
            safe_next(Some("https://evil.example"), "/officer"),
            "/officer"
        );
        assert_eq!(safe_next(None, "/my"), "/my");
    }
}
