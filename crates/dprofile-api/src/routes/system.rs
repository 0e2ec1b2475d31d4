//! Operations endpoints: liveness with a store ping, and Prometheus metrics.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Json, Response};
use dprofile_store::Backend;

use crate::problem::{ApiError, Problem};
use crate::wire::HealthBody;
use crate::{ApiContext, run_blocking};

/// Whether the service and its store answer.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "The store answered.", body = HealthBody),
        (status = 503, description = "The store does not answer.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn healthz(State(context): State<ApiContext>) -> Result<Json<HealthBody>, ApiError> {
    let store = context.state.store.clone();
    let backend = match store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    run_blocking(move || store.ping()).await?;
    Ok(Json(HealthBody {
        status: "ok".to_owned(),
        backend: backend.to_owned(),
    }))
}

/// Prometheus text exposition.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Counters of requests and ingest outcomes, a request duration histogram, store row counts, and the access log's entries per transaction (group commit).", body = String, content_type = "text/plain; version=0.0.4"),
    )
)]
pub async fn metrics(State(context): State<ApiContext>) -> Response {
    let store = context.state.store.clone();
    // A scrape must answer even when the store does not: `dprofile_store_up 0` says so.
    let counts = run_blocking(move || store.counts()).await.ok();
    let mut text = context.metrics.render(counts.as_ref());
    crate::metrics::render_group_commit(&mut text, &context.state.access_log.group_commit_stats());
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
