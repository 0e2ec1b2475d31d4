//! The change feed for agencies (issue 7): subscriptions (`/v1/subscriptions…`: create, list,
//! show with delivery state, delete, replay the dead-letter list) and the pull feed
//! (`GET /v1/feed`, long polling, resumable from any cursor).
//!
//! A subscription belongs to the caller's agency and reads as the caller's role: another
//! agency's subscription answers 404. Every page of the feed is in the access log (one entry
//! per person, appended before the page leaves: a page that cannot be logged answers 503).

use std::time::{Duration, Instant};

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use dprofile_domain::Violation;
use dprofile_pipeline::subscriptions::{
    DeliveredEvent, Matcher, SubscriptionError, SubscriptionRequest, decode_cursor,
    delivery_records, encode_cursor, read_feed,
};
use dprofile_store::{DeliveryFilter, DeliveryRow, Store, SubscriptionRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{self, Caller};
use crate::problem::{ApiError, Problem};
use crate::routes::me::parse_body;
use crate::routes::parse_path_id;
use crate::{ApiContext, run_blocking};

/// Largest subscription request body.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Events per feed page when the request names no `limit`, and the most it may ask for.
const DEFAULT_FEED_LIMIT: usize = 100;
const MAX_FEED_LIMIT: usize = 5000;
/// Longest long poll.
const MAX_WAIT_SECONDS: u64 = 60;
/// How often a long poll looks for new events: the store is the only channel between the
/// writers (other processes too) and the feed.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Events of the feed read per page at most, delivered or not, so that a subscriber of a rare
/// event type gets an answer (with a cursor past what was read) instead of a scan of the feed.
const MAX_SCAN: usize = 50_000;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateSubscriptionRequest {
    /// The purpose the events are read for; the caller's role must have a `read` grant for it.
    pub purpose: String,
    /// Event types (`record.accepted`, `record.superseded`, `record.retracted`,
    /// `person.created`, `person.linked`, `person.merged`, `person.split`,
    /// `person.kept_apart`, `status.changed`, `document.expiring`, `registration.expiring`);
    /// empty or absent for all.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Categories; empty or absent for every category the role may read for the purpose.
    #[serde(default)]
    pub categories: Vec<String>,
    /// `http://…` to receive each event as a signed POST; absent for the pull feed only.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionBody {
    pub id: i64,
    pub agency: String,
    pub role: String,
    pub purpose: String,
    pub event_types: Vec<String>,
    pub categories: Vec<String>,
    pub webhook_url: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl From<&SubscriptionRow> for SubscriptionBody {
    fn from(row: &SubscriptionRow) -> SubscriptionBody {
        SubscriptionBody {
            id: row.id,
            agency: row.agency.clone(),
            role: row.role.clone(),
            purpose: row.purpose.clone(),
            event_types: row.event_types.clone(),
            categories: row.categories.clone(),
            webhook_url: row.webhook_url.clone(),
            created_by: row.created_by.clone(),
            created_at: row.created_at,
            deleted_at: row.deleted_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSubscriptionBody {
    pub subscription: SubscriptionBody,
    /// The webhook signing secret, shown this once: `Dprofile-Signature: t=…,v1=…` is
    /// HMAC-SHA256 with it over `"{t}.{body}"`.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionListBody {
    pub subscriptions: Vec<SubscriptionBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryBody {
    /// The event's feed cursor.
    pub cursor: String,
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub person_id: Option<i64>,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub dead_at: Option<DateTime<Utc>>,
}

impl From<&DeliveryRow> for DeliveryBody {
    fn from(row: &DeliveryRow) -> DeliveryBody {
        DeliveryBody {
            cursor: encode_cursor(row.position),
            event_id: row.event.event_id.clone(),
            event_type: row.event.event_type.clone(),
            person_id: row.person_id,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error.clone(),
            dead_at: row.dead_at,
        }
    }
}

/// A subscription and its delivery state.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionStateBody {
    pub subscription: SubscriptionBody,
    /// Webhooks: the feed cursor up to which events were queued.
    pub queued_through: String,
    /// Webhooks: deliveries waiting (the first 100).
    pub pending: Vec<DeliveryBody>,
    /// Webhooks: the dead-letter list (the first 100): replay to send again.
    pub dead: Vec<DeliveryBody>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReplayRequest {
    /// One parked event's cursor; absent to replay the whole dead-letter list.
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayBody {
    /// Deliveries taken out of the dead-letter list, to be sent again now.
    pub replayed: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FeedQuery {
    /// The subscription whose events (types, categories, role × purpose) the page holds.
    pub subscription: Option<i64>,
    /// The cursor of the last event seen (`next` of the previous page); absent for the start
    /// of the feed.
    pub after: Option<String>,
    /// Events per page, 1 to 5000 (default 100).
    pub limit: Option<usize>,
    /// Seconds to wait for an event when there is none yet (long polling), 0 to 60 (default 0).
    pub wait: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedEventBody {
    /// Stable: the idempotency key.
    pub id: String,
    /// This event's cursor.
    pub cursor: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub person_id: Option<i64>,
    /// 1, 2, … per person.
    pub person_seq: i64,
    pub at: DateTime<Utc>,
    pub categories: Vec<String>,
    /// Ids, dates and statuses; never a record's field values.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPageBody {
    pub events: Vec<FeedEventBody>,
    /// Where the next page starts (`after=`): past every event read, delivered or not.
    pub next: String,
}

fn subscription_error(error: SubscriptionError) -> ApiError {
    match error {
        SubscriptionError::Invalid {
            pointer,
            rule,
            message,
        } => ApiError::InvalidBody {
            detail: format!("`{pointer}`: {message}"),
            errors: vec![Violation {
                pointer,
                rule: rule.to_owned(),
                message,
            }],
        },
        SubscriptionError::Refused {
            pointer,
            code,
            message,
        } => ApiError::WriteRefused {
            refusal: dprofile_policy::Refusal {
                code,
                message: message.clone(),
            },
            errors: vec![Violation {
                pointer,
                rule: code.to_owned(),
                message,
            }],
        },
        SubscriptionError::Store(error) => error.into(),
    }
}

/// The caller's agency's live subscription `id`, or 404.
fn own_subscription(
    store: &dyn Store,
    caller: &Caller,
    id: i64,
) -> Result<SubscriptionRow, ApiError> {
    store
        .subscription(id)?
        .filter(|row| row.agency == caller.agency && row.deleted_at.is_none())
        .ok_or_else(|| ApiError::NotFound(format!("subscription {id} does not exist")))
}

/// Creates a subscription for the caller's agency, read as the caller's role.
#[utoipa::path(
    post,
    path = "/v1/subscriptions",
    operation_id = "create_subscription",
    tag = "feed",
    request_body = CreateSubscriptionRequest,
    responses(
        (status = 201, description = "Created; the webhook secret is shown this once.", body = CreatedSubscriptionBody),
        (status = 400, description = "An unknown event type or category, or a webhook URL that is not `http://` (`invalid_body`; `errors` names the field).", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key (`auth.required`, `auth.invalid_key`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not read for the purpose, or may not read a category named (`policy.category_not_granted`; `errors` points at it).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(context): State<ApiContext>,
    caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::BodyUnreadable)?;
    let body: CreateSubscriptionRequest = parse_body(&body)?;
    let now = context.state.clock.now();
    let work_context = context.clone();
    let created = run_blocking(move || {
        dprofile_pipeline::subscriptions::create(
            work_context.state.store.as_ref(),
            &work_context.state.policy,
            &caller.agency,
            &SubscriptionRequest {
                role: caller.role.clone(),
                purpose: body.purpose,
                event_types: body.event_types,
                categories: body.categories,
                webhook_url: body.webhook_url,
            },
            &caller.actor(),
            now,
        )
        .map_err(subscription_error)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedSubscriptionBody {
            subscription: SubscriptionBody::from(&created.subscription),
            secret: created.secret,
        }),
    )
        .into_response())
}

/// The caller's agency's live subscriptions.
#[utoipa::path(
    get,
    path = "/v1/subscriptions",
    operation_id = "list_subscriptions",
    tag = "feed",
    responses(
        (status = 200, description = "The agency's subscriptions.", body = SubscriptionListBody),
        (status = 401, description = "No valid API key (`auth.required`, `auth.invalid_key`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(context): State<ApiContext>,
    caller: Caller,
) -> Result<Json<SubscriptionListBody>, ApiError> {
    let rows = run_blocking(move || context.state.store.subscriptions()).await?;
    Ok(Json(SubscriptionListBody {
        subscriptions: rows
            .iter()
            .filter(|row| row.agency == caller.agency && row.deleted_at.is_none())
            .map(SubscriptionBody::from)
            .collect(),
    }))
}

/// One subscription with its delivery state.
#[utoipa::path(
    get,
    path = "/v1/subscriptions/{id}",
    operation_id = "show_subscription",
    tag = "feed",
    params(("id" = i64, Path, description = "Subscription id.")),
    responses(
        (status = 200, description = "The subscription and its deliveries.", body = SubscriptionStateBody),
        (status = 401, description = "No valid API key (`auth.required`, `auth.invalid_key`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of your agency (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(
    State(context): State<ApiContext>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<SubscriptionStateBody>, ApiError> {
    let id = parse_path_id(path, "subscription")?;
    run_blocking(move || {
        let store = context.state.store.as_ref();
        let row = own_subscription(store, &caller, id)?;
        let pending = store.deliveries(id, DeliveryFilter::Pending, 100)?;
        let dead = store.deliveries(id, DeliveryFilter::Dead, 100)?;
        Ok::<_, ApiError>(Json(SubscriptionStateBody {
            subscription: SubscriptionBody::from(&row),
            queued_through: encode_cursor(store.webhook_cursor(id)?),
            pending: pending.iter().map(DeliveryBody::from).collect(),
            dead: dead.iter().map(DeliveryBody::from).collect(),
        }))
    })
    .await
}

/// Ends a subscription: nothing more is queued or sent.
#[utoipa::path(
    delete,
    path = "/v1/subscriptions/{id}",
    operation_id = "delete_subscription",
    tag = "feed",
    params(("id" = i64, Path, description = "Subscription id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = "No valid API key (`auth.required`, `auth.invalid_key`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of your agency (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    State(context): State<ApiContext>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = parse_path_id(path, "subscription")?;
    let now = context.state.clock.now();
    run_blocking(move || {
        let store = context.state.store.as_ref();
        own_subscription(store, &caller, id)?;
        store.write(&mut |tx| tx.delete_subscription(id, now).map(|_| ()))?;
        Ok::<_, ApiError>(StatusCode::NO_CONTENT)
    })
    .await
}

/// Sends parked webhook deliveries again: one (by its cursor) or the whole dead-letter list.
#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/replay",
    operation_id = "replay_subscription_dead_letters",
    tag = "feed",
    params(("id" = i64, Path, description = "Subscription id.")),
    request_body = ReplayRequest,
    responses(
        (status = 200, description = "How many were taken out of the dead-letter list.", body = ReplayBody),
        (status = 400, description = "A cursor that is not one (`invalid_body`).", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key (`auth.required`, `auth.invalid_key`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of your agency (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn replay(
    State(context): State<ApiContext>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Json<ReplayBody>, ApiError> {
    let id = parse_path_id(path, "subscription")?;
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::BodyUnreadable)?;
    let body: ReplayRequest = if body.is_empty() {
        ReplayRequest::default()
    } else {
        parse_body(&body)?
    };
    let position = match body.cursor.as_deref() {
        None => None,
        Some(text) => Some(decode_cursor(text).ok_or_else(|| {
            crate::routes::me::invalid_field(
                "cursor",
                dprofile_domain::Rule::Format,
                format!("`{text}` is not a feed cursor: copy the `cursor` of a delivery in the dead-letter list"),
            )
        })?),
    };
    let now = context.state.clock.now();
    run_blocking(move || {
        let store = context.state.store.as_ref();
        own_subscription(store, &caller, id)?;
        let replayed = dprofile_pipeline::webhooks::replay(store, id, position, now)?;
        Ok::<_, ApiError>(Json(ReplayBody { replayed }))
    })
    .await
}

/// A page of the subscription's events after a cursor, waiting up to `wait` seconds for one.
#[utoipa::path(
    get,
    path = "/v1/feed",
    operation_id = "read_feed",
    tag = "feed",
    params(FeedQuery),
    responses(
        (status = 200, description = "Events in feed order (each person's in order); `next` is the cursor to ask after. Logged: one access-log entry per person per page.", body = FeedPageBody),
        (status = 400, description = "A missing subscription, a cursor that is not one, or a limit or wait out of range (`invalid_query`; `errors` names the parameter).", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key (`auth.required`, `auth.invalid_key`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of your agency (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The access log cannot be written: nothing is shown (`store_unavailable`).", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn feed(
    State(context): State<ApiContext>,
    caller: Caller,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Json<FeedPageBody>, ApiError> {
    let Query(query) = query.map_err(crate::routes::persons::query_rejection)?;
    let Some(id) = query.subscription else {
        return Err(ApiError::invalid_parameter(
            "subscription",
            dprofile_domain::Rule::Required,
            "name the subscription whose events to read: `subscription=<id>` (`GET /v1/subscriptions` lists yours)".to_owned(),
        ));
    };
    let after = match query.after.as_deref() {
        None | Some("") => 0,
        Some(text) => decode_cursor(text).ok_or_else(|| {
            ApiError::invalid_parameter(
                "after",
                dprofile_domain::Rule::Format,
                format!("`{text}` is not a feed cursor: send the `next` of the previous page, or leave `after` out to start at the beginning"),
            )
        })?,
    };
    let limit = query.limit.unwrap_or(DEFAULT_FEED_LIMIT);
    if !(1..=MAX_FEED_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_parameter(
            "limit",
            dprofile_domain::Rule::Range,
            format!("`{limit}` is out of range: write 1 to {MAX_FEED_LIMIT}"),
        ));
    }
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(ApiError::invalid_parameter(
            "wait",
            dprofile_domain::Rule::Range,
            format!("`{wait}` is out of range: wait 0 to {MAX_WAIT_SECONDS} seconds and ask again"),
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(wait);
    let (subscription_context, subscription_caller) = (context.clone(), caller.clone());
    let subscription = run_blocking(move || {
        own_subscription(
            subscription_context.state.store.as_ref(),
            &subscription_caller,
            id,
        )
    })
    .await?;
    let subscription = std::sync::Arc::new(subscription);
    let mut cursor = after;
    loop {
        let (work_context, work_subscription) = (context.clone(), subscription.clone());
        let page = run_blocking(move || {
            let matcher = Matcher::new(&work_context.state.policy, &work_subscription);
            let page = read_feed(
                work_context.state.store.as_ref(),
                &matcher,
                cursor,
                limit,
                MAX_SCAN,
            )?;
            if !page.events.is_empty() {
                // Logged before the page leaves; a page that cannot be logged is not shown.
                let events: Vec<&dprofile_store::EventRow> = page.events.iter().collect();
                let records =
                    delivery_records(&work_subscription, &events, work_context.state.clock.now());
                auth::record_or_unavailable(&work_context, &records)?;
            }
            Ok::<_, ApiError>(page)
        })
        .await?;
        cursor = page.next_after;
        if !page.events.is_empty() || Instant::now() >= deadline {
            return Ok(Json(FeedPageBody {
                events: page
                    .events
                    .iter()
                    .map(|event| {
                        let delivered = DeliveredEvent::from_row(event);
                        FeedEventBody {
                            id: delivered.id,
                            cursor: encode_cursor(event.position),
                            event_type: delivered.event_type,
                            person_id: delivered.person_id,
                            person_seq: delivered.person_seq,
                            at: delivered.at,
                            categories: delivered.categories,
                            data: delivered.data,
                        }
                    })
                    .collect(),
                next: encode_cursor(page.next_after),
            }));
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline.saturating_duration_since(Instant::now())))
            .await;
    }
}
