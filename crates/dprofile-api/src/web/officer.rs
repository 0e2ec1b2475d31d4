//! The officers' console: sign in, find a person, the profile by category with sources and dispute markers, statuses with their explanations, the person's history, the review queue and the agency's correction requests. Every page view states a purpose and a case and is in the access log, as in the API.

use axum::Router;

use crate::ApiContext;

/// This area's templates, by the name pages render them with.
pub(super) const TEMPLATES: &[(&str, &str)] = &[];

pub(super) fn routes() -> Router<ApiContext> {
    Router::new()
}
