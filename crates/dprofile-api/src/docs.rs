//! The OpenAPI 3.1 document, generated from the handlers' annotations so that it cannot drift
//! from the routes, and a Swagger UI page served from vendored assets (no CDN: the registry runs
//! on networks that reach nothing outside).

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::problem::ApiError;
use crate::routes::{
    corrections, decisions, me, officer, passes, persons, quarantine, records, review, share_codes,
    status, subscriptions, system,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dprofile",
        description = "Registry linking the records that agencies hold about each foreign citizen into one profile. Errors are RFC 9457 `application/problem+json` (`Problem`) with a stable `code`. Every route under `/v1/` serves personal data and needs an agency API key: `Authorization: Bearer <key>` (`dprofile apikey create`), or an officer's session token from `POST /v1/officer/sign-in` in its place (the officer's agency and role; the access log names the officer); without one it answers 401 (`auth.required`, `auth.invalid_key`, `auth.officer_session_ended`). Reads and searches of persons also state a purpose (`X-Purpose`) and a case (`X-Case-Ref`): the access policy decides with the key's role and agency, the profile shows only the categories (and fields) it allows, a refusal answers 403 with the policy's rule as `code`, and both are appended to the tamper-evident access log. The review desk (review items, merges, splits, histories, quarantine) needs a role with the `review` action for the stated purpose (`X-Purpose`, `X-Case-Ref`). The person's own routes (`/v1/me/profile`, `/v1/me/access-log`) take a person session instead (`POST /v1/me/sign-in`, `POST /v1/me/verify`; 401 `auth.invalid_session`); the sign-in routes (the person's and the officer's), `/v1/access-log/key` and the share-code check (`POST /v1/share-codes/check`) are public by design. Statuses (`/v1/persons/{id}/status`, `/v1/me/status`) are information for a human who decides, never an automated decision. Officers sign in at `POST /v1/officer/sign-in` and use the session token in place of a key; their review decisions (verdicts, merges, splits) are the officer's own (`actor` may be left out; naming another is refused), while an agency key names the officer it decides for in `actor`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        records::post_record,
        records::post_batch,
        persons::search,
        persons::get_person,
        quarantine::list,
        quarantine::show,
        quarantine::replay,
        review::list,
        review::show,
        review::decide,
        decisions::merge,
        decisions::split,
        decisions::history,
        me::sign_in,
        me::verify,
        me::profile,
        me::access_log,
        me::sign_out,
        me::log_key,
        status::person_status,
        status::my_status,
        share_codes::create,
        share_codes::list,
        share_codes::revoke,
        share_codes::check,
        officer::sign_in,
        officer::sign_out,
        corrections::file,
        corrections::mine,
        corrections::queue,
        corrections::answer,
        passes::issue,
        passes::list,
        passes::show,
        passes::revoke,
        passes::trust_list,
        passes::status_list,
        passes::root_key,
        subscriptions::create,
        subscriptions::list,
        subscriptions::show,
        subscriptions::delete,
        subscriptions::replay,
        subscriptions::feed,
        system::healthz,
        system::metrics,
        openapi_json,
        page,
    ),
    components(schemas(crate::wire::BatchSummaryLine, crate::wire::SummaryBody)),
    modifiers(&BearerSecurity),
    tags(
        (name = "records", description = "Ingest of source records."),
        (name = "persons", description = "Profiles and person search."),
        (name = "quarantine", description = "Refused lines, their correction and replay."),
        (name = "review", description = "Items waiting for a migration officer: read one with its persons side by side, confirm or reject it."),
        (name = "decisions", description = "Officers' merges and splits of persons, and each person's history of link decisions. With an officer's session the actor is the officer; an agency key names the officer in `actor`."),
        (name = "me", description = "The person's own rights: sign in with document number, birth date and a one-time code, read the whole profile and every access to it with proofs that verify offline against the published log key."),
        (name = "officer", description = "Officers' sign-in with login and password (argon2id; lock-out after repeated failures) and sign-out. The session token is accepted by the `/v1/` routes like an agency API key, with the officer's agency and role, and the access log names the officer (`officer:<login>`)."),
        (name = "corrections", description = "The person's correction requests in the queue of the agency that wrote the record: list the queue and answer (accept, then send the corrected revision; or reject with a reason). Needs a role with the `correct` action (`X-Purpose: correction_handling`); a key sees only its own agency's queue."),
        (name = "status", description = "Statuses derived from the profile by a versioned rule set — lawful stay, the 90-in-180-days count, right to work, entry ban, tax debt, registration expiring — each with its rule, version, records and dates. Information for a human who decides, never an automated decision."),
        (name = "share codes", description = "The person's share codes (one purpose each: work, rent, other; 90 days by default) and the public check a checker makes with a code and the person's birth date, which shows only what the purpose needs and is logged in the person's access log."),
        (name = "passes", description = "Signed QR passes: the person issues a pass for a view of their status (`/v1/me/passes`), lists, shows (PNG, SVG) and revokes them; the trust list, the status list and the root key are public for offline verifiers (`dprofile verify`)."),
        (name = "feed", description = "The change feed (issue 7): an agency subscribes to event types and categories for a purpose (refused, naming the category, when its role may not read one), then reads `GET /v1/feed?subscription=…&after=CURSOR&wait=SECONDS` (long polling, resumable from any cursor, each person's events in order) or receives signed webhooks (`Idempotency-Key` = the event id, `Dprofile-Signature: t=…,v1=HMAC-SHA256(secret, \"{t}.{body}\")`), retried with backoff, parked in a dead-letter list after repeated failures and replayed on request. Events carry ids, dates and statuses, never field values; every delivery is in the access log."),
        (name = "operations", description = "Health, metrics, documentation."),
    )
)]
pub struct ApiDoc;

/// Name of the security scheme in the document.
pub const SECURITY_SCHEME: &str = "agency_api_key";
/// Name of the person's session scheme (`/v1/me/` data routes).
pub const PERSON_SECURITY_SCHEME: &str = "person_session";
/// Routes under `/v1/` that are public by design: the person's and the officer's sign-ins
/// (they reveal nothing)
/// and the log's verifier key (published so that anyone can check proofs).
/// The pass trust list, status list and root key are published for offline verifiers.
pub const PUBLIC_V1_PATHS: [&str; 8] = [
    "/v1/me/sign-in",
    "/v1/me/verify",
    "/v1/officer/sign-in",
    "/v1/access-log/key",
    "/v1/share-codes/check",
    "/v1/passes/trust-list",
    "/v1/passes/status-list",
    "/v1/passes/root-key",
];
/// Name of the officer's session scheme, accepted wherever an agency API key is.
pub const OFFICER_SECURITY_SCHEME: &str = "officer_session";

/// Declares the bearer scheme and puts it, with its 401 answer, on every operation under
/// `/v1/`: the same rule the router applies, so the document cannot claim a route is open.
struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("dpk_<64 hex digits>".to_owned());
        scheme.description = Some(
            "An agency API key, created with `dprofile apikey create --agency … --role … --name …` and shown once."
                .to_owned(),
        );
        components.add_security_scheme(SECURITY_SCHEME, SecurityScheme::Http(scheme));
        let mut person_scheme = Http::new(HttpAuthScheme::Bearer);
        person_scheme.bearer_format = Some("dps_<64 hex digits>".to_owned());
        person_scheme.description =
            Some("A person's session token from `POST /v1/me/verify` (30 minutes).".to_owned());
        components.add_security_scheme(PERSON_SECURITY_SCHEME, SecurityScheme::Http(person_scheme));
        let mut officer_scheme = Http::new(HttpAuthScheme::Bearer);
        officer_scheme.bearer_format = Some("dpo_<64 hex digits>".to_owned());
        officer_scheme.description = Some(
            "An officer's session token from `POST /v1/officer/sign-in`: accepted wherever an agency API key is, with the officer's agency and role (8 hours at most, 30 minutes idle by default)."
                .to_owned(),
        );
        components.add_security_scheme(
            OFFICER_SECURITY_SCHEME,
            SecurityScheme::Http(officer_scheme),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/v1/") || PUBLIC_V1_PATHS.contains(&path.as_str()) {
                continue;
            }
            // Alternatives: an agency key or an officer session, except on the person's own.
            let scheme_names: &[&str] = if path.starts_with("/v1/me/") {
                &[PERSON_SECURITY_SCHEME]
            } else {
                &[SECURITY_SCHEME, OFFICER_SECURITY_SCHEME]
            };
            let operations = [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                operation.security = Some(
                    scheme_names
                        .iter()
                        .map(|name| SecurityRequirement::new(*name, Vec::<String>::new()))
                        .collect(),
                );
                operation
                    .responses
                    .responses
                    .entry("401".to_owned())
                    .or_insert_with(|| {
                        utoipa::openapi::ResponseBuilder::new()
                            .description("No valid API key: `auth.required` or `auth.invalid_key` (problem+json, with `WWW-Authenticate: Bearer`).")
                            .build()
                            .into()
                    });
            }
        }
    }
}

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "This document.", content_type = "application/json"))
)]
pub async fn openapi_json() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(text) => {
            let mut response = text.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(error) => {
            tracing::error!(error = %error, "the OpenAPI document does not serialise");
            ApiError::Internal.into_response()
        }
    }
}

const SWAGGER_UI_BUNDLE: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_UI_CSS: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui.css");
const SWAGGER_UI_LICENSE: &[u8] = include_bytes!("../assets/swagger-ui/LICENSE");

const DOCS_PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>dprofile API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.addEventListener("load", function () {
      window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
    });
  </script>
</body>
</html>
"##;

/// The API documentation page (Swagger UI).
#[utoipa::path(
    get,
    path = "/docs",
    tag = "operations",
    responses((status = 200, description = "HTML page.", body = String, content_type = "text/html"))
)]
pub async fn page() -> Html<&'static str> {
    Html(DOCS_PAGE)
}

/// The landing page: where a person who opened the server's address in a browser goes next.
const INDEX_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>dprofile</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<main>
<h1>dprofile</h1>
<p>The registry of digital profiles of foreign citizens.</p>
<ul>
<li><a href="/docs">API documentation</a> (Swagger UI) and the <a href="/openapi.json">OpenAPI document</a></li>
<li><a href="/healthz">Health</a> and <a href="/metrics">metrics</a></li>
<li>Find a person: <code>GET /v1/persons?document=FA1234567</code> (the demo data's first person), with an API key (<code>Authorization: Bearer dpk_…</code>; <code>serve --demo</code> prints one), a purpose (<code>X-Purpose: stay_control</code>) and a case (<code>X-Case-Ref</code>)</li>
</ul>
</main>
</body>
</html>
"#;

pub async fn index() -> Html<&'static str> {
    Html(INDEX_PAGE)
}

/// The vendored Swagger UI files (swagger-ui-dist 5.35.0).
pub async fn asset(Path(file): Path<String>) -> Response {
    let (bytes, content_type) = match file.as_str() {
        "swagger-ui-bundle.js" => (SWAGGER_UI_BUNDLE, "text/javascript; charset=utf-8"),
        "swagger-ui.css" => (SWAGGER_UI_CSS, "text/css; charset=utf-8"),
        "LICENSE" => (SWAGGER_UI_LICENSE, "text/plain; charset=utf-8"),
        _ => return ApiError::NotFound(format!("no documentation asset `{file}`")).into_response(),
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The files are compiled in: they change only with the binary.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}
