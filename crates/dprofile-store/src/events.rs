//! Rows of the change feed (issue 7): events written in the transaction of the change that
//! causes them (a transactional outbox), agencies' subscriptions, and the webhook delivery
//! state (migrations `0010_events`, `0011_deliveries`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::PersonId;

/// An event to write. Its position and per-person sequence number are given by the store, in
/// commit order.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Stable: `evt_` and 32 hex digits (random, or a hash of what makes a scheduled event
    /// unique, so that the daily job writes it once).
    pub event_id: String,
    pub person_id: Option<PersonId>,
    pub at: DateTime<Utc>,
    /// `record.accepted`, `person.merged`, `status.changed`, `document.expiring`, …
    pub event_type: String,
    /// The categories the event tells about (a subscriber must be allowed to read them all).
    pub categories: Vec<String>,
    /// Ids, dates and statuses: never a record's field values.
    pub payload: serde_json::Value,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    /// The feed's cursor: increasing in commit order.
    pub position: i64,
    pub event_id: String,
    pub person_id: Option<PersonId>,
    /// 1, 2, … per person.
    pub person_seq: i64,
    pub at: DateTime<Utc>,
    pub event_type: String,
    pub categories: Vec<String>,
    pub payload: serde_json::Value,
}

/// A new subscription's row; the id is given by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewSubscription<'a> {
    pub agency: &'a str,
    pub role: &'a str,
    pub purpose: &'a str,
    pub event_types: &'a [String],
    pub categories: &'a [String],
    pub webhook_url: Option<&'a str>,
    pub secret: &'a str,
    pub created_by: &'a str,
    pub created_at: DateTime<Utc>,
}

/// A subscription as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionRow {
    pub id: i64,
    pub agency: String,
    pub role: String,
    pub purpose: String,
    /// Empty: every type.
    pub event_types: Vec<String>,
    pub categories: Vec<String>,
    pub webhook_url: Option<String>,
    /// The webhook signing secret: never serialised.
    #[serde(skip)]
    pub secret: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// One queued webhook delivery and its event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryRow {
    pub subscription_id: i64,
    pub position: i64,
    pub person_id: Option<PersonId>,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// Set when parked in the dead-letter list.
    pub dead_at: Option<DateTime<Utc>>,
    pub event: EventRow,
}

/// Which queued deliveries to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFilter {
    /// Waiting (not parked), by position.
    Pending,
    /// In the dead-letter list, by position.
    Dead,
}

pub(crate) fn join_list(items: &[String]) -> String {
    items.join(",")
}

pub(crate) fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}
