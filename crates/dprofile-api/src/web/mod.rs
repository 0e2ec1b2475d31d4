//! Server-rendered pages for people, over the same store, policy and access log as the API:
//! the officers' console (`/officer/…`), the person's portal (`/my/…`, five languages), the
//! checker's page (`/check`) and the analysts' dashboard (`/analytics/…`).
//!
//! Pages are HTML rendered on the server from templates (`templates/`, embedded in the binary)
//! and work without JavaScript; htmx, served by the registry itself like every other asset, only
//! makes some forms update in place. Sessions are the API's own (an officer's `dpo_…` token, a
//! person's `dps_…` token) carried in `HttpOnly`, `SameSite=Strict` cookies, and every form that
//! changes something is a POST that must come from the registry's own pages
//! ([`same_origin_posts`]).

mod assets;
mod checker;
mod dashboard;
pub(crate) mod i18n;
mod officer;
mod portal;
pub(crate) mod session;
pub(crate) mod templates;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::ApiContext;

/// Every page route, with the security headers and the same-origin rule for forms.
pub(crate) fn router() -> Router<ApiContext> {
    Router::new()
        .merge(officer::routes())
        .merge(portal::routes())
        .merge(checker::routes())
        .merge(dashboard::routes())
        .route("/static/{file}", get(assets::serve))
        .layer(middleware::from_fn(same_origin_posts))
        .layer(middleware::from_fn(security_headers))
}

/// Pages load nothing from elsewhere, cannot be framed, and pages with personal data are not
/// kept by caches or the browser's history.
async fn security_headers(request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null` with
    // every form post, and `same_origin_posts` could not tell the registry's own forms from a
    // foreign page's. Other sites still get no referrer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !is_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A form post must come from the registry's own pages: the session cookies are
/// `SameSite=Strict` already, and this refuses what a browser marks as cross-site (or an
/// `Origin` that is not this host) before any handler runs.
async fn same_origin_posts(request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let headers = request.headers();
        let fetch_site = headers
            .get("sec-fetch-site")
            .and_then(|value| value.to_str().ok());
        // A browser that sends `Sec-Fetch-Site` says where the form came from, and that
        // decides. Without it, the `Origin` must name this host; `Origin: null` (what Chromium
        // sends for a same-origin form under `Referrer-Policy: no-referrer`) says nothing, and
        // the `SameSite=Strict` cookies are the guard then.
        let cross_site =
            matches!(fetch_site, Some(site) if site != "same-origin" && site != "none");
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok());
        let foreign_origin = match (fetch_site, headers.get(header::ORIGIN), host) {
            (None, Some(origin), Some(host)) if origin != "null" => origin
                .to_str()
                .ok()
                .and_then(|origin| origin.split_once("://").map(|(_, rest)| rest != host))
                .unwrap_or(true),
            _ => false,
        };
        if cross_site || foreign_origin {
            return (
                StatusCode::FORBIDDEN,
                "forms of this registry are only accepted from its own pages",
            )
                .into_response();
        }
    }
    next.run(request).await
}
