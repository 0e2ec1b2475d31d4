//! The person's portal, in five languages: sign in with a document, birth date and one-time code; the profile; who looked at it and why; share codes; the QR pass; correction requests; notice of a planned arrival.

use axum::Router;

use crate::ApiContext;

/// This area's templates, by the name pages render them with.
pub(super) const TEMPLATES: &[(&str, &str)] = &[];

pub(super) fn routes() -> Router<ApiContext> {
    Router::new()
}
