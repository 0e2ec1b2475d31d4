//! Review items: what the resolver could not decide alone, waiting for a migration officer,
//! who reads an item with its persons side by side and confirms or rejects it.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Json;
use dprofile_domain::Rule;
use dprofile_pipeline::profile::{Profile, ProfileLookup, load_profile};
use dprofile_pipeline::review::ReviewVerdict;
use dprofile_store::{PersonId, Store};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::problem::{ApiError, Problem};
use crate::routes::decisions::read_decision_fields;
use crate::routes::persons::query_rejection;
use crate::wire::{
    ReviewDecisionBody, ReviewDecisionRequest, ReviewItemBody, ReviewItemDetailBody,
    ReviewListBody, ReviewPersonBody, ReviewStatusBody, ReviewVerdictBody, person_url,
};
use crate::{ApiContext, run_blocking};

/// Most `merged_into` links followed from an item's person id: merges redirect earlier merged
/// persons to the survivor, so a real chain is one or two long; a longer one means the stored
/// links loop.
const MAX_MERGE_HOPS: usize = 64;

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
    operation_id = "list_review_items",
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
    let limit = super::page_limit(query.limit)?;
    let store = context.state.store.clone();
    let items = run_blocking(move || store.review_items("open", limit)).await?;
    Ok(Json(ReviewListBody {
        items: items.into_iter().map(ReviewItemBody::from).collect(),
    }))
}

/// One review item with its evidence and its persons side by side: for each person, who the
/// sources say they are, what identifies them, and how many facts the registry holds per
/// category. A person merged since the item opened is shown as the person it is now.
#[utoipa::path(
    get,
    path = "/v1/review/{id}",
    operation_id = "show_review_item",
    tag = "review",
    params(("id" = i64, Path, description = "Review item id.")),
    responses(
        (status = 200, description = "The item, with `persons`.", body = ReviewItemDetailBody),
        (status = 404, description = "No such item.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(
    State(context): State<ApiContext>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ReviewItemDetailBody>, ApiError> {
    let item_id = super::parse_path_id(path, "review item")?;
    let store = context.state.store.clone();
    let detail = run_blocking(move || load_review_detail(store.as_ref(), item_id)).await?;
    Ok(Json(detail))
}

pub(crate) fn load_review_detail(
    store: &dyn Store,
    item_id: i64,
) -> Result<ReviewItemDetailBody, ApiError> {
    let item = store
        .review_item(item_id)?
        .ok_or_else(|| ApiError::NotFound(format!("review item {item_id} does not exist")))?;
    let mut persons: Vec<ReviewPersonBody> = Vec::new();
    for &listed in &item.person_ids {
        let profile = current_profile(store, listed)?;
        match persons
            .iter_mut()
            .find(|person| person.person_id == profile.person_id)
        {
            Some(already_shown) => already_shown.listed_as.push(listed),
            None => persons.push(person_summary(profile, listed)),
        }
    }
    Ok(ReviewItemDetailBody {
        item: ReviewItemBody::from(item),
        persons,
    })
}

/// The profile of the person `person_id` is now, following merges.
fn current_profile(store: &dyn Store, person_id: PersonId) -> Result<Profile, ApiError> {
    let mut current = person_id;
    for _ in 0..MAX_MERGE_HOPS {
        match load_profile(store, current, None, None)? {
            ProfileLookup::Found(profile) => return Ok(*profile),
            ProfileLookup::Merged { into } => current = into,
            ProfileLookup::NotFound => {
                // A review item names persons the store created: one missing is a bug.
                tracing::error!(person_id, current, "a review item names a missing person");
                return Err(ApiError::Internal);
            }
        }
    }
    tracing::error!(person_id, "the merges of a review item's person loop");
    Err(ApiError::Internal)
}

fn person_summary(profile: Profile, listed_as: PersonId) -> ReviewPersonBody {
    let fact_counts: BTreeMap<String, u64> = profile
        .facts
        .iter()
        .map(|(category, facts)| (category.clone(), facts.len() as u64))
        .collect();
    ReviewPersonBody {
        person_id: profile.person_id,
        listed_as: vec![listed_as],
        url: person_url(profile.person_id),
        identifiers: profile.identifiers,
        identity: profile.identity,
        fact_counts,
    }
}

/// Closes a review item: `confirm` merges its persons into the one with the lowest id, `reject`
/// keeps them apart for good (they are never linked automatically again).
///
/// The decisions are kept with the actor and reason and appear in the persons' histories
/// (`GET /v1/persons/{id}/history`). The actor is the signed-in officer for an officer's
/// session (`actor` may be left out); an agency key names the officer in `actor`.
#[utoipa::path(
    post,
    path = "/v1/review/{id}/decision",
    operation_id = "decide_review_item",
    tag = "review",
    params(("id" = i64, Path, description = "Review item id.")),
    request_body(content = ReviewDecisionRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The item is closed; the decisions written.", body = ReviewDecisionBody),
        (status = 400, description = "Not JSON, `decision` not `confirm` or `reject`, `actor` or `reason` missing or empty (`invalid_decision`, with pointers).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The item was already closed (`decision_conflict`).", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over the per-record limit.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn decide(
    State(context): State<ApiContext>,
    path: Result<Path<String>, PathRejection>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ReviewDecisionBody>, ApiError> {
    let item_id = super::parse_path_id(path, "review item")?;
    let mut fields = read_decision_fields(&context, &headers, body).await?;
    let verdict = fields.required("decision").and_then(|value| {
        let verdict = serde_json::from_value::<ReviewVerdictBody>(value.clone()).ok();
        if verdict.is_none() {
            fields.refuse_field(
                "decision",
                Rule::Enum,
                format!("{value} is no decision: write confirm or reject"),
            );
        }
        verdict
    });
    let officer = fields.officer(&caller);
    let (verdict, officer) = fields.finish(verdict.zip(officer))?;
    let (verdict, status) = match verdict {
        ReviewVerdictBody::Confirm => (ReviewVerdict::Confirm, ReviewStatusBody::Confirmed),
        ReviewVerdictBody::Reject => (ReviewVerdict::Reject, ReviewStatusBody::Rejected),
    };
    let desk = context.state.identity_desk.clone();
    let decision_ids = run_blocking(move || desk.decide(item_id, verdict, &officer)).await?;
    Ok(Json(ReviewDecisionBody {
        decision_ids,
        status,
    }))
}
