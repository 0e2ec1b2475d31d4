//! The registry's HTTP API: ingest (single records and streamed NDJSON batches), profiles and
//! person search, the quarantine, review items and officers' identity decisions (confirm,
//! reject, merge, split, history), the person's own sign-in, profile and access log with proofs
//! (`/v1/me/`, [`person_auth`]), the person's correction requests and the source agencies'
//! queues of them, statuses with explanations (for agencies and for the person), the person's
//! share codes and their public check ([`share_codes`]), QR passes (issue, list, revoke, the
//! trust and status lists), health, metrics, and the OpenAPI document with its Swagger UI.
//!
//! Handlers are thin: they parse the request, run the pipeline or the store on the blocking
//! pool (the store's calls block), and turn the answer into wire types ([`wire`]) or an RFC 9457
//! problem ([`problem`]).

pub mod auth;
pub mod docs;
pub mod jetstream;
mod metrics;
pub mod officer_auth;
pub mod person_auth;
pub mod problem;
mod routes;
pub mod share_codes;
mod web;
pub mod wire;
pub mod write_log;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use dprofile_audit::LogKey;
use dprofile_pipeline::access_log::AccessLog;
use dprofile_pipeline::corrections::CorrectionConfig;
use dprofile_pipeline::passes::PassService;
use dprofile_pipeline::review::IdentityDesk;
use dprofile_pipeline::{Clock, Ingestor, SystemClock};
use dprofile_policy::Policy;
use dprofile_store::Store;
use tower_http::trace::TraceLayer;

use crate::metrics::Metrics;
use crate::officer_auth::OfficerAuth;
use crate::person_auth::{LoggingCodeSender, PersonSessions, SignInLimits};
use crate::problem::ApiError;
use crate::routes::{
    corrections, decisions, me, officer, passes, persons, quarantine, records, review,
    share_codes as share_code_routes, status, subscriptions, system,
};
use crate::share_codes::{ShareCodeLimits, ShareCodes};

/// Limits and sizes of the API, validated by whoever builds it from configuration.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest body of `POST /v1/records` and of a replay, and largest line of a batch: a
    /// record is a person's facts, not a document store.
    pub max_record_bytes: u64,
    /// Largest body of `POST /v1/records/batch`; larger exports go through `dprofile ingest`.
    pub max_batch_bytes: u64,
    /// Lines per store transaction in a batch: small enough that the first answers come back
    /// quickly and a failure re-does little, large enough to amortise commits.
    pub batch_chunk_lines: usize,
    /// Deadlines and limits of the persons' correction requests.
    pub corrections: CorrectionConfig,
    /// The analysts' dashboard suppresses every count below this (and, where a total would
    /// give one away, the next smallest too), in charts, tables and CSV alike: a group of
    /// fewer persons could single one out. `serve --min-count`.
    pub dashboard_min_count: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_record_bytes: 1024 * 1024,
            max_batch_bytes: 256 * 1024 * 1024,
            batch_chunk_lines: 1000,
            corrections: CorrectionConfig::default(),
            dashboard_min_count: 10,
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub ingestor: Ingestor,
    /// Officers' merges, splits and review verdicts. Behind an `Arc` because the desk is not
    /// `Clone` and every handler takes its own handle onto the blocking pool.
    pub identity_desk: Arc<IdentityDesk>,
    pub config: ApiConfig,
    /// Who may see what, for which purpose.
    pub policy: Arc<Policy>,
    /// Where every read and search of personal data is logged, allowed or refused.
    pub access_log: Arc<AccessLog>,
    /// Stamps access-log entries; the ingestor's clock, so that tests fix both.
    pub clock: Arc<dyn Clock>,
    /// The persons' own sign-ins and sessions (`/v1/me/`), with their rate limits.
    pub person_sessions: Arc<PersonSessions>,
    /// Officers' session rules and the sign-in rate limit.
    pub officer_auth: Arc<OfficerAuth>,
    /// Share codes' lifetimes and the checkers' rate limit.
    pub share_codes: Arc<ShareCodes>,
    /// The status engine's rules (issue 5).
    pub status_rules: Arc<dprofile_status::RuleSet>,
    /// QR passes: the signing keys, issuing, revocation, the trust and status lists. `None`
    /// until [`AppState::with_passes`]: the pass routes then answer 503.
    pub passes: Option<Arc<PassService>>,
}

impl AppState {
    /// The server's state, on the system clock: the officers' decisions are stamped by the
    /// system clock, as the ingestor's records are in `dprofile serve`. Whoever runs the
    /// ingestor on another clock builds the state with [`AppState::with_clock`] instead, so
    /// that records and decisions keep one time line.
    pub fn new(
        store: Arc<dyn Store>,
        ingestor: Ingestor,
        config: ApiConfig,
        log_key: LogKey,
    ) -> AppState {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let identity_desk = Arc::new(IdentityDesk::new(store.clone(), clock.clone()));
        AppState {
            access_log: Arc::new(AccessLog::new(store.clone(), log_key)),
            store,
            ingestor,
            identity_desk,
            config,
            policy: Arc::new(Policy::default_policy()),
            clock,
            person_sessions: default_person_sessions(),
            share_codes: Arc::new(ShareCodes::default()),
            status_rules: Arc::new(dprofile_status::RuleSet::v1()),
            officer_auth: Arc::new(OfficerAuth::default()),
            passes: None,
        }
    }

    /// The ingestor and the identity desk on one clock (tests fix it): a decision is never
    /// stamped before the records it rests on.
    pub fn with_clock(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: ApiConfig,
        log_key: LogKey,
    ) -> AppState {
        AppState {
            ingestor: Ingestor::new(store.clone(), clock.clone()),
            identity_desk: Arc::new(IdentityDesk::new(store.clone(), clock.clone())),
            access_log: Arc::new(AccessLog::new(store.clone(), log_key)),
            store,
            config,
            policy: Arc::new(Policy::default_policy()),
            clock,
            person_sessions: default_person_sessions(),
            share_codes: Arc::new(ShareCodes::default()),
            status_rules: Arc::new(dprofile_status::RuleSet::v1()),
            officer_auth: Arc::new(OfficerAuth::default()),
            passes: None,
        }
    }

    /// The state with another delivery channel or other limits for the persons' sign-in.
    pub fn with_person_sessions(mut self, sessions: PersonSessions) -> AppState {
        self.person_sessions = Arc::new(sessions);
        self
    }

    /// The state with other officer session lifetimes, lock-out or sign-in rate limit.
    pub fn with_officer_auth(mut self, officer_auth: OfficerAuth) -> AppState {
        self.officer_auth = Arc::new(officer_auth);
        self
    }

    /// The state with other share-code lifetimes or limits.
    pub fn with_share_code_limits(mut self, limits: ShareCodeLimits) -> AppState {
        self.share_codes = Arc::new(ShareCodes::new(limits));
        self
    }

    /// The state with QR passes issued and revoked by `passes`.
    pub fn with_passes(mut self, passes: PassService) -> AppState {
        self.passes = Some(Arc::new(passes));
        self
    }

    /// The state with another access policy than the shipped default.
    pub fn with_policy(mut self, policy: Policy) -> AppState {
        self.policy = Arc::new(policy);
        self
    }
}

fn default_person_sessions() -> Arc<PersonSessions> {
    Arc::new(PersonSessions::new(
        SignInLimits::default(),
        Box::new(LoggingCodeSender),
    ))
}

/// The handlers' state: the caller's [`AppState`] and this router's own metrics (per router,
/// not global, so that tests running side by side do not see each other's counts).
#[derive(Clone)]
pub(crate) struct ApiContext(Arc<ContextInner>);

pub(crate) struct ContextInner {
    pub state: AppState,
    pub metrics: Metrics,
}

impl std::ops::Deref for ApiContext {
    type Target = ContextInner;
    fn deref(&self) -> &ContextInner {
        &self.0
    }
}

/// Runs blocking store or pipeline work off the async workers.
pub(crate) async fn run_blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await?.map_err(Into::into)
}

/// Every route of the API.
pub fn router(state: AppState) -> Router {
    let context = ApiContext(Arc::new(ContextInner {
        state,
        metrics: Metrics::default(),
    }));
    // The review desk: officers' work on identities and refused lines. Beyond a key, the
    // caller's role needs the `review` action for the stated purpose.
    let review_desk = Router::new()
        .route("/v1/persons/{id}/merge", post(decisions::merge))
        .route("/v1/persons/{id}/split", post(decisions::split))
        .route("/v1/persons/{id}/history", get(decisions::history))
        .route("/v1/quarantine", get(quarantine::list))
        .route("/v1/quarantine/{id}", get(quarantine::show))
        .route("/v1/quarantine/{id}/replay", post(quarantine::replay))
        .route("/v1/review", get(review::list))
        .route("/v1/review/{id}", get(review::show))
        .route("/v1/review/{id}/decision", post(review::decide))
        .route_layer(middleware::from_fn_with_state(
            context.clone(),
            auth::require_review,
        ));
    // Every route with personal data, behind the API key check: a route added here cannot
    // forget it (and the OpenAPI walk in the tests calls each one without a key).
    let personal_data = Router::new()
        .route("/v1/records", post(records::post_record))
        .route("/v1/records/batch", post(records::post_batch))
        .route("/v1/persons", get(persons::search))
        .route("/v1/persons/{id}", get(persons::get_person))
        .route("/v1/persons/{id}/status", get(status::person_status))
        .route("/v1/officer/sign-out", post(officer::sign_out))
        .route("/v1/corrections", get(corrections::queue))
        .route("/v1/corrections/{id}/answer", post(corrections::answer))
        .route(
            "/v1/subscriptions",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/v1/subscriptions/{id}",
            get(subscriptions::show).delete(subscriptions::delete),
        )
        .route("/v1/subscriptions/{id}/replay", post(subscriptions::replay))
        .route("/v1/feed", get(subscriptions::feed))
        .merge(review_desk)
        .route_layer(middleware::from_fn_with_state(
            context.clone(),
            auth::require_caller,
        ));
    // The person's own data: a person session (not an agency key), checked before any handler.
    let own_data = Router::new()
        .route("/v1/me/profile", get(me::profile))
        .route("/v1/me/access-log", get(me::access_log))
        .route("/v1/me/sign-out", post(me::sign_out))
        .route("/v1/me/status", get(status::my_status))
        .route(
            "/v1/me/share-codes",
            get(share_code_routes::list).post(share_code_routes::create),
        )
        .route(
            "/v1/me/share-codes/{id}",
            axum::routing::delete(share_code_routes::revoke),
        )
        .route(
            "/v1/me/corrections",
            get(corrections::mine).post(corrections::file),
        )
        .route("/v1/me/passes", get(passes::list).post(passes::issue))
        .route("/v1/me/passes/{file}", get(passes::show))
        .route("/v1/me/passes/{id}/revoke", post(passes::revoke))
        .route_layer(middleware::from_fn_with_state(
            context.clone(),
            me::require_person,
        ));
    Router::new()
        .merge(personal_data)
        .merge(own_data)
        // Public by design: the sign-ins say nothing about who exists, and the verifier key is
        // published so that anyone can check the log's checkpoints.
        .route("/v1/me/sign-in", post(me::sign_in))
        .route("/v1/me/verify", post(me::verify))
        .route("/v1/officer/sign-in", post(officer::sign_in))
        .route("/v1/access-log/key", get(me::log_key))
        // Public by design: a checker has a share code and a birth date, not an account.
        .route("/v1/share-codes/check", post(share_code_routes::check))
        // Public by design: what offline verifiers of QR passes cache.
        .route("/v1/passes/trust-list", get(passes::trust_list))
        .route("/v1/passes/status-list", get(passes::status_list))
        .route("/v1/passes/root-key", get(passes::root_key))
        .route("/healthz", get(system::healthz))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(docs::openapi_json))
        .route("/", get(docs::index))
        .route("/docs", get(docs::page))
        .route("/docs/assets/{file}", get(docs::asset))
        // The pages for people (console, portal, checker, dashboard): their own sessions in
        // cookies, the same policy and access log underneath.
        .merge(web::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            context.clone(),
            track_request,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(context)
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "serving the dprofile API");
    }
    // The PostgreSQL client closes its connections by blocking on a runtime of its own, which
    // panics on an async worker: the last reference to the store is let go on the blocking
    // pool instead.
    let last_reference = state.clone();
    // The peer address is the key of the sign-in rate limit.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = tokio::task::spawn_blocking(move || drop(last_reference)).await;
    served
}

async fn unknown_route() -> ApiError {
    ApiError::NotFound("no such route: see /openapi.json for the routes".to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Counts every request by method, route template and status, and times it to the response
/// head (a streamed batch goes on after that).
async fn track_request(
    State(context): State<ApiContext>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    context.metrics.record_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
