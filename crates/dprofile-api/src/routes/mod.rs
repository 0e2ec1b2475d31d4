//! The HTTP handlers, one module per resource.

pub mod decisions;
pub mod persons;
pub mod quarantine;
pub mod records;
pub mod review;
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
