//! Agencies' subscriptions to the change feed (issue 7): creating one (refused when the role ×
//! purpose may not read a category it names), deciding which events a subscriber receives (the
//! same policy as reads, decided again at every delivery), the wire form of a delivered event,
//! and the access-log entries of a delivery (one per person per page or batch).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome};
use dprofile_domain::Category;
use dprofile_policy::{AccessRequest, Action, Allowance, Policy};
use dprofile_store::{EventRow, NewSubscription, Store, StoreError, SubscriptionRow};
use serde::Serialize;

use crate::access_log::AccessRecord;
use crate::events::EVENT_TYPES;

/// Why a subscription was not created: the field, the stable rule and what to do.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error("{message}")]
    Invalid {
        /// A JSON pointer into the request (`/categories/1`).
        pointer: String,
        rule: &'static str,
        message: String,
    },
    /// The policy refuses the role × purpose (or a category): 403 with the policy's code.
    #[error("{message}")]
    Refused {
        pointer: String,
        code: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an agency asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct SubscriptionRequest {
    /// The policy role the events are read as: one the policy gives the agency.
    pub role: String,
    pub purpose: String,
    /// Event types (`record.accepted`, …); empty for every type.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Categories the subscriber wants events about; empty for every category it may read.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Where to POST events (`http://…`); none for a pull-feed subscription.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

/// A created subscription and its webhook signing secret, shown this once.
#[derive(Debug, Clone)]
pub struct CreatedSubscription {
    pub subscription: SubscriptionRow,
    pub secret: String,
}

/// Checks `request` against the policy for `agency` and keeps it. `created_by` names the key
/// or officer (`apikey:3`, `officer:ivanova`).
pub fn create(
    store: &dyn Store,
    policy: &Policy,
    agency: &str,
    request: &SubscriptionRequest,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<CreatedSubscription, SubscriptionError> {
    for (index, event_type) in request.event_types.iter().enumerate() {
        if !EVENT_TYPES.contains(&event_type.as_str()) {
            return Err(SubscriptionError::Invalid {
                pointer: format!("/event_types/{index}"),
                rule: "subscription.unknown_event_type",
                message: format!(
                    "`{event_type}` is not an event type: use one of {}",
                    EVENT_TYPES.join(", ")
                ),
            });
        }
    }
    let mut categories = Vec::new();
    for (index, code) in request.categories.iter().enumerate() {
        let Some(category) = Category::from_code(code) else {
            return Err(SubscriptionError::Invalid {
                pointer: format!("/categories/{index}"),
                rule: "subscription.unknown_category",
                message: format!(
                    "`{code}` is not a record category: use a category code such as `tax_debt`"
                ),
            });
        };
        categories.push(category);
    }
    if let Some(url) = &request.webhook_url
        && !(url.starts_with("http://") && url.len() > "http://".len())
    {
        return Err(SubscriptionError::Invalid {
            pointer: "/webhook_url".to_owned(),
            rule: "subscription.webhook_url",
            message: format!(
                "`{url}` is not an http:// URL: webhooks are posted over plain HTTP (put a TLS-terminating proxy in front for https)"
            ),
        });
    }
    let access = AccessRequest {
        role: &request.role,
        agency,
        purpose: &request.purpose,
        case_ref: Some("subscription"),
        action: Action::Read,
    };
    let allowance = policy
        .decide(&access)
        .map_err(|refusal| SubscriptionError::Refused {
            pointer: "/purpose".to_owned(),
            code: refusal.code,
            message: refusal.message,
        })?;
    if let Some((index, refused)) = categories
        .iter()
        .enumerate()
        .find(|(_, category)| !allowance.allows(**category))
    {
        return Err(SubscriptionError::Refused {
            pointer: format!("/categories/{index}"),
            code: "policy.category_not_granted",
            message: format!(
                "role `{}` may not read `{}` for purpose `{}`: leave the category out or subscribe for a purpose that grants it",
                request.role,
                refused.code(),
                request.purpose
            ),
        });
    }
    let secret = new_secret();
    let mut id = 0;
    store.write(&mut |tx| {
        id = tx.insert_subscription(&NewSubscription {
            agency,
            role: &request.role,
            purpose: &request.purpose,
            event_types: &request.event_types,
            categories: &request.categories,
            webhook_url: request.webhook_url.as_deref(),
            secret: &secret,
            created_by,
            created_at: now,
        })?;
        Ok(())
    })?;
    let subscription = store
        .subscription(id)?
        .ok_or_else(|| StoreError::Corrupt(format!("subscription {id} vanished")))?;
    Ok(CreatedSubscription {
        subscription,
        secret,
    })
}

/// A webhook signing secret: `whsec_` and 32 random bytes in hex.
fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    let mut text = String::from("whsec_");
    for byte in bytes {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// Which events one subscriber receives, decided with the policy as it is now (a policy
/// narrowed since the subscription was made narrows its deliveries at once).
pub struct Matcher<'a> {
    subscription: &'a SubscriptionRow,
    /// `None`: the policy refuses the role × purpose now: nothing is delivered.
    allowance: Option<Allowance>,
}

impl<'a> Matcher<'a> {
    pub fn new(policy: &Policy, subscription: &'a SubscriptionRow) -> Matcher<'a> {
        let allowance = policy
            .decide(&AccessRequest {
                role: &subscription.role,
                agency: &subscription.agency,
                purpose: &subscription.purpose,
                case_ref: Some("subscription"),
                action: Action::Read,
            })
            .ok();
        Matcher {
            subscription,
            allowance,
        }
    }

    /// Whether the subscriber receives `event`: its type is subscribed, the subscriber may read
    /// every category the event tells about, and those are among the subscribed ones.
    pub fn admits(&self, event: &EventRow) -> bool {
        let Some(allowance) = &self.allowance else {
            return false;
        };
        if !self.subscription.event_types.is_empty()
            && !self.subscription.event_types.contains(&event.event_type)
        {
            return false;
        }
        event.categories.iter().all(|code| {
            Category::from_code(code).is_some_and(|category| allowance.allows(category))
                && (self.subscription.categories.is_empty()
                    || self.subscription.categories.contains(code))
        })
    }
}

/// An event as a subscriber receives it (feed pages, webhook bodies, the JetStream subject).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct DeliveredEvent {
    /// Stable: the idempotency key.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub person_id: Option<i64>,
    /// 1, 2, … per person: a receiver applies a person's events in this order.
    pub person_seq: i64,
    pub at: DateTime<Utc>,
    pub categories: Vec<String>,
    /// Ids, dates and statuses.
    pub data: serde_json::Value,
}

impl DeliveredEvent {
    pub fn from_row(event: &EventRow) -> DeliveredEvent {
        DeliveredEvent {
            id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            person_id: event.person_id,
            person_seq: event.person_seq,
            at: event.at,
            categories: event.categories.clone(),
            data: event.payload.clone(),
        }
    }
}

/// The access-log entries of delivering `events` to the subscriber: one per person, with the
/// categories its events told about. Logged before the events leave.
pub fn delivery_records(
    subscription: &SubscriptionRow,
    events: &[&EventRow],
    at: DateTime<Utc>,
) -> Vec<AccessRecord> {
    let mut per_person: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for event in events {
        if let Some(person) = event.person_id {
            per_person
                .entry(person)
                .or_default()
                .extend(event.categories.iter().cloned());
        }
    }
    per_person
        .into_iter()
        .map(|(person, categories)| AccessRecord {
            entry: AccessEntry {
                at,
                actor: format!("subscription:{}", subscription.id),
                agency: subscription.agency.clone(),
                role: subscription.role.clone(),
                purpose: subscription.purpose.clone(),
                case_ref: Some(format!("subscription/{}", subscription.id)),
                action: AccessAction::Deliver,
                person: Some(person),
                categories: categories.into_iter().collect(),
                outcome: AccessOutcome::Allowed,
            },
            disclosure_delay: chrono::Duration::zero(),
        })
        .collect()
}

/// One page of the pull feed for a subscriber.
#[derive(Debug, Clone)]
pub struct FeedPage {
    pub events: Vec<EventRow>,
    /// Where the next page starts: past every event read, delivered or not.
    pub next_after: i64,
}

/// Events past `after` the subscriber receives, at most `limit`, reading at most `scan`
/// events of the feed (so a subscriber of a rare type does not read the whole feed per page).
pub fn read_feed(
    store: &dyn Store,
    matcher: &Matcher<'_>,
    after: i64,
    limit: usize,
    scan: usize,
) -> Result<FeedPage, StoreError> {
    let mut events = Vec::new();
    let mut next_after = after;
    let mut scanned = 0;
    while events.len() < limit && scanned < scan {
        let batch = store.events_after(next_after, (limit - events.len()).max(256).min(scan))?;
        let Some(last) = batch.last() else {
            break;
        };
        scanned += batch.len();
        let last_position = last.position;
        for event in batch {
            if events.len() == limit {
                break;
            }
            next_after = event.position;
            if matcher.admits(&event) {
                events.push(event);
            }
        }
        if events.len() == limit || next_after < last_position {
            break;
        }
    }
    Ok(FeedPage { events, next_after })
}

/// The feed's opaque cursor for a position.
pub fn encode_cursor(position: i64) -> String {
    format!("c1.{position:x}")
}

/// The position a cursor names; `None` for text that is not a cursor.
pub fn decode_cursor(cursor: &str) -> Option<i64> {
    let hex = cursor.strip_prefix("c1.")?;
    i64::from_str_radix(hex, 16)
        .ok()
        .filter(|position| *position >= 0)
}
