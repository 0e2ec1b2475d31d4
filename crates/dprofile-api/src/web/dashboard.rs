//! The analysts' dashboard: the migration picture as aggregates only, charts drawn on the server and tables with CSV downloads, with small counts suppressed so no individual can be singled out.

use axum::Router;

use crate::ApiContext;

/// This area's templates, by the name pages render them with.
pub(super) const TEMPLATES: &[(&str, &str)] = &[];

pub(super) fn routes() -> Router<ApiContext> {
    Router::new()
}
