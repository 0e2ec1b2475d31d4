//! Review items: what the resolver could not decide alone, waiting for a migration officer.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Json;
use dprofile_domain::Rule;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::problem::{ApiError, Problem};
use crate::routes::persons::query_rejection;
use crate::wire::{ReviewItemBody, ReviewListBody};
use crate::{ApiContext, run_blocking};

const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// Items to return, 1 to 1000; default 100.
    limit: Option<usize>,
}

/// Open review items, oldest first.
#[utoipa::path(
    get,
    path = "/v1/review",
    tag = "review",
    params(ReviewQuery),
    responses(
        (status = 200, description = "Open review items.", body = ReviewListBody),
        (status = 400, description = "A malformed parameter.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(context): State<ApiContext>,
    query: Result<Query<ReviewQuery>, QueryRejection>,
) -> Result<Json<ReviewListBody>, ApiError> {
    let Query(query) = query.map_err(query_rejection)?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::invalid_parameter(
            "limit",
            Rule::Range,
            format!("`{limit}` is out of range: write 1 to {MAX_PAGE_SIZE}"),
        ));
    }
    let store = context.state.store.clone();
    let items = run_blocking(move || store.review_items("open", limit)).await?;
    Ok(Json(ReviewListBody {
        items: items.into_iter().map(ReviewItemBody::from).collect(),
    }))
}
