//! The checker's page, public: a share code with the birth date, or a photo of a QR pass, answered with the verdict and only the purpose's fields.

use axum::Router;

use crate::ApiContext;

/// This area's templates, by the name pages render them with.
pub(super) const TEMPLATES: &[(&str, &str)] = &[];

pub(super) fn routes() -> Router<ApiContext> {
    Router::new()
}
