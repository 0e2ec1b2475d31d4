//! Webhook delivery of the change feed (issue 7), at least once, in order per person.
//!
//! A worker per subscription does two things in turn. **Queue**: read the feed past the
//! subscription's cursor, keep the events it admits, and in one transaction log the delivery
//! (one access-log entry per person, before anything leaves), queue a delivery row per event and
//! move the cursor. **Deliver**: POST each due delivery in position order with
//! `Idempotency-Key` = the event id and `Dprofile-Signature: t=<unix time>,v1=<hex HMAC-SHA256
//! over "t.body" with the subscription's secret>`; a 2xx deletes the row; a failure counts an
//! attempt and waits an exponential backoff with full jitter (on the injected clock), and
//! after `max_attempts` parks the delivery in the dead-letter list until someone asks for it
//! again ([`replay`]). A delivery waiting for its retry holds back the later events of the same
//! person only; a parked one holds back nothing (one bad event must not stop a person's feed
//! for good: receivers order by `person_seq`, and a replayed event arrives late).
//!
//! A crash anywhere loses nothing: rows are queued in the transaction that moves the cursor,
//! and deleted only after a 2xx, so an event is sent again after a crash between the answer
//! and the delete; receivers deduplicate by the idempotency key.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use dprofile_policy::Policy;
use dprofile_store::{DeliveryFilter, EventRow, Store, StoreError, SubscriptionRow};
use sha2::{Digest, Sha256};

use crate::access_log::AccessLog;
use crate::clock::Clock;
use crate::subscriptions::{DeliveredEvent, Matcher, delivery_records};

/// Sends one webhook request; returns the HTTP status, or why none came back.
pub trait WebhookTransport: Send + Sync {
    fn post(&self, url: &str, headers: &[(&str, String)], body: &[u8]) -> Result<u16, String>;
}

/// Retry and batch settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Failed attempts after which a delivery is parked in the dead-letter list.
    pub max_attempts: u32,
    /// The first retry waits up to this long; each further one up to twice as long.
    pub base_delay: Duration,
    /// No retry waits longer than this.
    pub max_delay: Duration,
    /// Events read or deliveries tried per round.
    pub batch: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            max_attempts: 10,
            base_delay: Duration::seconds(1),
            max_delay: Duration::hours(1),
            batch: 500,
        }
    }
}

/// HMAC-SHA256 (RFC 2104) by hand over `sha2`: 20 lines instead of one more crate (the `hmac`
/// in the tree is a major version ahead of our `sha2`). Checked against RFC 4231's vectors.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|byte| byte ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|byte| byte ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The `Dprofile-Signature` header of `body` sent at `timestamp` (Unix seconds): a receiver
/// recomputes `v1` over `"{t}.{body}"` and refuses a `t` too far from its clock (replay).
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    format!(
        "t={timestamp},v1={}",
        hex(&hmac_sha256(secret.as_bytes(), &signed))
    )
}

/// Checks a `Dprofile-Signature` header as a receiver does: the HMAC, and a timestamp within
/// `tolerance` of `now`.
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> bool {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signature = Some(value),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return false;
    };
    if (now.timestamp() - timestamp).abs() > tolerance.num_seconds() {
        return false;
    }
    let expected = signature_header(secret, timestamp, body);
    // Compare the whole header in constant time over its bytes.
    let given = format!("t={timestamp},v1={signature}");
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The wait before retry number `attempt` (1 for the first retry): a uniformly random time in
/// `[0, min(max_delay, base_delay · 2^(attempt-1))]` ("full jitter"): receivers that came back
/// are not hit by every sender at the same instant.
pub fn backoff(config: &WebhookConfig, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let cap = config
        .base_delay
        .num_milliseconds()
        .saturating_mul(1i64 << exponent)
        .min(config.max_delay.num_milliseconds())
        .max(1);
    Duration::milliseconds(rand::random_range(0..=cap))
}

/// What one round of a worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub queued: usize,
    pub delivered: usize,
    pub failed: usize,
    pub parked: usize,
}

impl RoundReport {
    pub fn idle(&self) -> bool {
        self.queued == 0 && self.delivered == 0 && self.failed == 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Queues and delivers one subscription's events. Cheap to share: one per server, called by
/// a thread per subscription.
pub struct WebhookWorker {
    pub store: Arc<dyn Store>,
    pub policy: Arc<Policy>,
    pub access_log: Arc<AccessLog>,
    pub clock: Arc<dyn Clock>,
    pub transport: Arc<dyn WebhookTransport>,
    pub config: WebhookConfig,
}

impl WebhookWorker {
    /// One round: queue what the feed has past the cursor, then try what is due.
    pub fn run_once(&self, subscription: &SubscriptionRow) -> Result<RoundReport, WebhookError> {
        let queued = self.queue(subscription)?;
        let mut report = self.deliver_due(subscription)?;
        report.queued = queued;
        Ok(report)
    }

    /// Moves the subscription's cursor over the next batch of the feed, queueing (and logging)
    /// the events it admits; returns how many were queued.
    pub fn queue(&self, subscription: &SubscriptionRow) -> Result<usize, WebhookError> {
        let cursor = self.store.webhook_cursor(subscription.id)?;
        let events = self.store.events_after(cursor, self.config.batch)?;
        let Some(last) = events.last() else {
            return Ok(0);
        };
        let through = last.position;
        let matcher = Matcher::new(&self.policy, subscription);
        let admitted: Vec<&EventRow> = events
            .iter()
            .filter(|event| matcher.admits(event))
            .collect();
        let rows: Vec<(i64, Option<i64>)> = admitted
            .iter()
            .map(|event| (event.position, event.person_id))
            .collect();
        let now = self.clock.now();
        let records = delivery_records(subscription, &admitted, now);
        self.store.write(&mut |tx| {
            self.access_log.record_in(tx, &records)?;
            tx.queue_deliveries(subscription.id, through, &rows, now)
        })?;
        Ok(rows.len())
    }

    /// Tries every due delivery in position order, holding back a person's later events
    /// behind one that waits for its retry.
    pub fn deliver_due(&self, subscription: &SubscriptionRow) -> Result<RoundReport, WebhookError> {
        let mut report = RoundReport::default();
        let Some(url) = subscription.webhook_url.as_deref() else {
            return Ok(report);
        };
        let matcher = Matcher::new(&self.policy, subscription);
        let pending =
            self.store
                .deliveries(subscription.id, DeliveryFilter::Pending, self.config.batch)?;
        let mut held_back: std::collections::HashSet<Option<i64>> = Default::default();
        // Delivered rows are deleted a batch at a time: one small write transaction per event
        // would take the store's writer as often as events go out, against ingestion. A crash
        // before the delete sends those events again, which the idempotency key absorbs.
        let mut delivered: Vec<i64> = Vec::new();
        for delivery in pending {
            let person = delivery.person_id;
            if person.is_some() && held_back.contains(&person) {
                continue;
            }
            let now = self.clock.now();
            if delivery.next_attempt_at > now {
                held_back.insert(person);
                continue;
            }
            if !matcher.admits(&delivery.event) {
                // The policy narrowed since the event was queued: it is not sent.
                self.store
                    .write(&mut |tx| tx.delete_delivery(subscription.id, delivery.position))?;
                continue;
            }
            let body =
                serde_json::to_vec(&DeliveredEvent::from_row(&delivery.event)).unwrap_or_default();
            let headers = [
                ("Idempotency-Key", delivery.event.event_id.clone()),
                ("Dprofile-Event-Type", delivery.event.event_type.clone()),
                (
                    "Dprofile-Signature",
                    signature_header(&subscription.secret, now.timestamp(), &body),
                ),
            ];
            let result = self.transport.post(url, &headers, &body);
            match result {
                Ok(status) if (200..300).contains(&status) => {
                    delivered.push(delivery.position);
                    if delivered.len() >= DELETE_BATCH {
                        self.forget_delivered(subscription.id, &mut delivered)?;
                    }
                    report.delivered += 1;
                }
                failure => {
                    let error = match failure {
                        Ok(status) => format!("the receiver answered {status}"),
                        Err(error) => error,
                    };
                    let attempts = delivery.attempts + 1;
                    let parked = attempts >= self.config.max_attempts;
                    let next = now + backoff(&self.config, attempts);
                    self.store.write(&mut |tx| {
                        tx.fail_delivery(
                            subscription.id,
                            delivery.position,
                            attempts,
                            next,
                            &error,
                            parked.then_some(now),
                        )
                    })?;
                    if parked {
                        report.parked += 1;
                    } else {
                        held_back.insert(person);
                    }
                    report.failed += 1;
                }
            }
        }
        self.forget_delivered(subscription.id, &mut delivered)?;
        Ok(report)
    }

    fn forget_delivered(
        &self,
        subscription: i64,
        delivered: &mut Vec<i64>,
    ) -> Result<(), WebhookError> {
        if delivered.is_empty() {
            return Ok(());
        }
        self.store.write(&mut |tx| {
            for position in delivered.iter() {
                tx.delete_delivery(subscription, *position)?;
            }
            Ok(())
        })?;
        delivered.clear();
        Ok(())
    }
}

/// Delivered rows deleted per transaction.
const DELETE_BATCH: usize = 100;

/// Takes a subscription's parked deliveries (one position, or all) out of the dead-letter list,
/// to be tried again at once; returns how many.
pub fn replay(
    store: &dyn Store,
    subscription: i64,
    position: Option<i64>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut count = 0;
    store.write(&mut |tx| {
        count = tx.replay_dead(subscription, position, now)?;
        Ok(())
    })?;
    Ok(count)
}

/// How the server runs the workers.
#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    /// A worker with nothing to do looks again after this long.
    pub idle_poll: StdDuration,
    /// The supervisor looks for new and deleted subscriptions this often.
    pub refresh: StdDuration,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        SupervisorConfig {
            idle_poll: StdDuration::from_millis(50),
            refresh: StdDuration::from_millis(500),
        }
    }
}

/// Runs a thread per live webhook subscription (started as subscriptions appear, ended when
/// they are deleted) until `stop` is set: a slow or failing receiver holds up only its own
/// thread, never ingestion (which only writes the outbox) nor other subscribers.
pub fn spawn_supervisor(
    worker: Arc<WebhookWorker>,
    config: SupervisorConfig,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    use std::sync::atomic::Ordering;
    std::thread::spawn(move || {
        let mut running: std::collections::HashMap<i64, std::thread::JoinHandle<()>> =
            std::collections::HashMap::new();
        while !stop.load(Ordering::SeqCst) {
            match worker.store.subscriptions() {
                Ok(subscriptions) => {
                    running.retain(|_, handle| !handle.is_finished());
                    for subscription in subscriptions {
                        if subscription.deleted_at.is_some()
                            || subscription.webhook_url.is_none()
                            || running.contains_key(&subscription.id)
                        {
                            continue;
                        }
                        let (worker, stop, config) = (worker.clone(), stop.clone(), config.clone());
                        let id = subscription.id;
                        running.insert(
                            id,
                            std::thread::spawn(move || {
                                run_subscription(&worker, subscription, &config, &stop)
                            }),
                        );
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot list the subscriptions; trying again"),
            }
            std::thread::sleep(config.refresh);
        }
        for (_, handle) in running {
            let _ = handle.join();
        }
    })
}

fn run_subscription(
    worker: &WebhookWorker,
    mut subscription: SubscriptionRow,
    config: &SupervisorConfig,
    stop: &std::sync::atomic::AtomicBool,
) {
    use std::sync::atomic::Ordering;
    let mut last_check = std::time::Instant::now();
    while !stop.load(Ordering::SeqCst) {
        // A deleted subscription ends its thread; the row is read again now and then.
        if last_check.elapsed() >= config.refresh {
            last_check = std::time::Instant::now();
            match worker.store.subscription(subscription.id) {
                Ok(Some(row)) if row.deleted_at.is_none() => subscription = row,
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, "cannot read subscription {}", subscription.id)
                }
            }
        }
        match worker.run_once(&subscription) {
            Ok(report) if report.idle() => std::thread::sleep(config.idle_poll),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, subscription = subscription.id, "webhook round failed; trying again");
                std::thread::sleep(config.idle_poll * 10);
            }
        }
    }
}

/// Plain HTTP/1.1 over `std::net`, one connection per request: webhooks go to agencies' own
/// endpoints, over `http://` (a TLS-terminating proxy in front for https), and a blocking
/// client keeps each subscription's worker a plain thread.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    pub timeout: StdDuration,
}

impl Default for HttpTransport {
    fn default() -> Self {
        HttpTransport {
            timeout: StdDuration::from_secs(10),
        }
    }
}

impl WebhookTransport for HttpTransport {
    fn post(&self, url: &str, headers: &[(&str, String)], body: &[u8]) -> Result<u16, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("`{url}` is not an http:// URL"))?;
        let (authority, path) = match rest.find('/') {
            Some(index) => (&rest[..index], &rest[index..]),
            None => (rest, "/"),
        };
        let address = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let socket = address
            .to_socket_addrs()
            .map_err(|error| format!("cannot resolve {authority}: {error}"))?
            .next()
            .ok_or_else(|| format!("{authority} has no address"))?;
        let mut stream = TcpStream::connect_timeout(&socket, self.timeout)
            .map_err(|error| format!("cannot connect to {authority}: {error}"))?;
        stream
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
            .map_err(|error| error.to_string())?;
        let _ = stream.set_nodelay(true);
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        stream
            .write_all(&bytes)
            .map_err(|error| format!("sending to {authority}: {error}"))?;
        // The status line is all we need: read until its end.
        let mut head = Vec::with_capacity(64);
        let mut buffer = [0u8; 256];
        while !head.contains(&b'\n') && head.len() < 4096 {
            let read = stream
                .read(&mut buffer)
                .map_err(|error| format!("reading from {authority}: {error}"))?;
            if read == 0 {
                break;
            }
            head.extend_from_slice(&buffer[..read]);
        }
        let line = String::from_utf8_lossy(&head);
        line.split_whitespace()
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| format!("{authority} answered no HTTP status"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_time() {
        let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
        let header = signature_header("whsec_a", now.timestamp(), b"{}");
        let tolerance = Duration::minutes(5);
        assert!(verify_signature("whsec_a", &header, b"{}", now, tolerance));
        assert!(!verify_signature("whsec_b", &header, b"{}", now, tolerance));
        assert!(!verify_signature(
            "whsec_a", &header, b"{ }", now, tolerance
        ));
        assert!(!verify_signature(
            "whsec_a",
            &header,
            b"{}",
            now + Duration::minutes(6),
            tolerance
        ));
    }

    #[test]
    fn backoff_grows_to_its_cap_with_full_jitter() {
        let config = WebhookConfig::default();
        for attempt in 1..40 {
            let wait = backoff(&config, attempt);
            let cap = (1000i64 << (attempt - 1).min(30)).min(3_600_000);
            assert!(wait >= Duration::zero() && wait <= Duration::milliseconds(cap));
        }
    }
}
