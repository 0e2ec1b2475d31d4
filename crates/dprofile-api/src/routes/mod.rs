//! The HTTP handlers, one module per resource.

pub mod corrections;
pub mod decisions;
pub mod me;
pub mod officer;
pub mod passes;
pub mod persons;
pub mod quarantine;
pub mod records;
pub mod review;
pub mod share_codes;
pub mod status;
pub mod subscriptions;
pub mod system;

use axum::extract::Path;
use axum::extract::rejection::PathRejection;

use crate::problem::ApiError;

/// The numeric id in a route's path; anything else names nothing, so it is a 404 for `what`
/// (`"quarantine item"`, `"review item"`).
pub(crate) fn parse_path_id(
    path: Result<Path<String>, PathRejection>,
    what: &str,
) -> Result<i64, ApiError> {
    let Path(text) = path.map_err(|_| ApiError::NotFound(format!("no such {what}")))?;
    text.parse()
        .map_err(|_| ApiError::NotFound(format!("{what} `{text}` does not exist")))
}

/// Items per page when a list request names no `limit`.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 100;
/// Largest page a list request may ask for.
pub(crate) const MAX_PAGE_SIZE: usize = 1000;

/// The `limit` of a list request: the default when absent, refused outside 1..=1000.
pub(crate) fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::invalid_parameter(
            "limit",
            dprofile_domain::Rule::Range,
            format!("`{limit}` is out of range: write 1 to {MAX_PAGE_SIZE}"),
        ));
    }
    Ok(limit)
}
