//! The quarantine of refused lines: list them, read one with its raw line, and replay it as it
//! is (after a rule was fixed) or as corrected by an operator.

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Json, Response};
use dprofile_domain::{ParseMode, Rule};
use dprofile_store::QuarantineStatus;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::problem::{ApiError, Problem};
use crate::routes::persons::query_rejection;
use crate::routes::records::{line_result_response, read_body_limited};
use crate::wire::{EnvelopeDoc, LineResultBody, QuarantineItemBody, QuarantineListBody};
use crate::{ApiContext, run_blocking};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuarantineQuery {
    /// `open` or `replayed`; default both.
    status: Option<String>,
    /// Only items with a larger id (for paging).
    after: Option<i64>,
    /// Items per page, 1 to 1000; default 100.
    limit: Option<usize>,
}

/// Lists quarantined lines, oldest first.
#[utoipa::path(
    get,
    path = "/v1/quarantine",
    operation_id = "list_quarantine",
    tag = "quarantine",
    params(QuarantineQuery),
    responses(
        (status = 200, description = "One page of items, without the raw lines.", body = QuarantineListBody),
        (status = 400, description = "A malformed parameter.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(context): State<ApiContext>,
    query: Result<Query<QuarantineQuery>, QueryRejection>,
) -> Result<Json<QuarantineListBody>, ApiError> {
    let Query(query) = query.map_err(query_rejection)?;
    let status = match query.status.as_deref() {
        None => None,
        Some(code) => Some(QuarantineStatus::from_code(code).ok_or_else(|| {
            ApiError::invalid_parameter(
                "status",
                Rule::Enum,
                format!("`{code}` is no status: write open or replayed"),
            )
        })?),
    };
    let limit = super::page_limit(query.limit)?;
    let after = query.after.unwrap_or(0);
    let store = context.state.store.clone();
    let items = run_blocking(move || store.quarantine_list(status, after, limit)).await?;
    let next_after = (items.len() == limit)
        .then(|| items.last().map(|item| item.id))
        .flatten();
    Ok(Json(QuarantineListBody {
        items: items
            .into_iter()
            .map(|item| QuarantineItemBody::from_item(item, false))
            .collect(),
        next_after,
    }))
}

/// One quarantined line, with the line as received.
#[utoipa::path(
    get,
    path = "/v1/quarantine/{id}",
    operation_id = "show_quarantine_item",
    tag = "quarantine",
    params(("id" = i64, Path, description = "Quarantine item id.")),
    responses(
        (status = 200, description = "The item, with `raw`.", body = QuarantineItemBody),
        (status = 404, description = "No such item.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(
    State(context): State<ApiContext>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<QuarantineItemBody>, ApiError> {
    let id = super::parse_path_id(path, "quarantine item")?;
    let store = context.state.store.clone();
    let item = run_blocking(move || store.quarantine_get(id)).await?;
    let item =
        item.ok_or_else(|| ApiError::NotFound(format!("quarantine item {id} does not exist")))?;
    Ok(Json(QuarantineItemBody::from_item(item, true)))
}

/// Feeds a quarantined line back through ingest: as it is (empty body) or corrected (the body).
#[utoipa::path(
    post,
    path = "/v1/quarantine/{id}/replay",
    operation_id = "replay_quarantine_item",
    tag = "quarantine",
    params(("id" = i64, Path, description = "Quarantine item id.")),
    request_body(content = EnvelopeDoc, description = "Optional: the corrected record. Empty: replay the line as it is.", content_type = "application/json"),
    responses(
        (status = 200, description = "Ingested; the item is now `replayed`.", body = LineResultBody),
        (status = 404, description = "No such item.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The item was already replayed.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The corrected record is over the per-record limit.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Still refused; the item stays open with the new reasons.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn replay(
    State(context): State<ApiContext>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = super::parse_path_id(path, "quarantine item")?;
    let bytes = read_body_limited(body, &headers, context.state.config.max_record_bytes).await?;
    let corrected = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(bytes)
    };
    let ingestor = context.state.ingestor.clone();
    let result =
        run_blocking(move || ingestor.replay_quarantine(id, corrected, ParseMode::Full)).await?;
    context.metrics.record_outcome(result.outcome);
    line_result_response(result, StatusCode::OK)
}
