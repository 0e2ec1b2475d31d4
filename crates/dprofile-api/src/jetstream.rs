//! The change feed on NATS JetStream (issue 7), for deployments that outgrow one server: the
//! same events, in feed order, published to a stream (subject `<prefix>.<event type>`) with
//! `Nats-Msg-Id` = the event id, so the stream's duplicate window drops a re-publish after a
//! crash, and `Dprofile-Position` = the feed position, from which a restarted publisher resumes
//! (it reads the stream's last message: no cursor of its own in the store).
//!
//! The stream is an internal channel between the registry's own servers, like the database: it
//! carries every event (ids, dates, statuses, never field values). Agencies are not consumers of
//! it; what reaches an agency goes through a subscription's policy filter and the access log
//! (the pull feed and the webhooks), whichever server delivers it.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use dprofile_pipeline::subscriptions::DeliveredEvent;
use dprofile_store::Store;

/// Header carrying the feed position of a published event.
pub const POSITION_HEADER: &str = "Dprofile-Position";

#[derive(Debug, thiserror::Error)]
pub enum JetStreamError {
    #[error("cannot reach NATS at {url}: {message}")]
    Connect { url: String, message: String },
    #[error("JetStream: {0}")]
    JetStream(String),
    #[error("store: {0}")]
    Store(#[from] dprofile_store::StoreError),
    #[error("a blocking task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

fn jetstream_error(error: impl std::fmt::Display) -> JetStreamError {
    JetStreamError::JetStream(error.to_string())
}

/// Publishes the store's events to one JetStream stream.
pub struct JetStreamPublisher {
    store: Arc<dyn Store>,
    context: jetstream::Context,
    stream: stream::Stream,
    subject_prefix: String,
    /// Events read from the store per batch.
    pub batch: usize,
}

impl JetStreamPublisher {
    /// Connects and creates the stream `stream_name` (subjects `<subject_prefix>.>`) if it does
    /// not exist.
    pub async fn connect(
        url: &str,
        stream_name: &str,
        subject_prefix: &str,
        store: Arc<dyn Store>,
    ) -> Result<JetStreamPublisher, JetStreamError> {
        let client = async_nats::connect(url)
            .await
            .map_err(|error| JetStreamError::Connect {
                url: url.to_owned(),
                message: error.to_string(),
            })?;
        let context = jetstream::new(client);
        let stream = context
            .get_or_create_stream(stream::Config {
                name: stream_name.to_owned(),
                subjects: vec![format!("{subject_prefix}.>")],
                // Re-publishes after a crash come within seconds; two minutes is NATS' default.
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(jetstream_error)?;
        Ok(JetStreamPublisher {
            store,
            context,
            stream,
            subject_prefix: subject_prefix.to_owned(),
            batch: 1000,
        })
    }

    /// The feed position of the last event in the stream (0: empty): where to resume.
    pub async fn resume_position(&mut self) -> Result<i64, JetStreamError> {
        let info = self.stream.info().await.map_err(jetstream_error)?;
        let last = info.state.last_sequence;
        if info.state.messages == 0 || last == 0 {
            return Ok(0);
        }
        let message = self
            .stream
            .get_raw_message(last)
            .await
            .map_err(jetstream_error)?;
        Ok(message
            .headers
            .get(POSITION_HEADER)
            .and_then(|value| value.as_str().parse::<i64>().ok())
            .unwrap_or(0))
    }

    /// Publishes the events after `after` (at most one batch), waiting for every ack; returns
    /// the position of the last one published (`after` when there was none).
    pub async fn publish_after(&self, after: i64) -> Result<i64, JetStreamError> {
        let store = self.store.clone();
        let batch = self.batch;
        let events =
            tokio::task::spawn_blocking(move || store.events_after(after, batch)).await??;
        let mut acks = Vec::with_capacity(events.len());
        let mut last = after;
        for event in &events {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", event.event_id.as_str());
            headers.insert(POSITION_HEADER, event.position.to_string().as_str());
            let body = serde_json::to_vec(&DeliveredEvent::from_row(event)).unwrap_or_default();
            let subject = format!("{}.{}", self.subject_prefix, event.event_type);
            acks.push(
                self.context
                    .publish_with_headers(subject, headers, body.into())
                    .await
                    .map_err(jetstream_error)?,
            );
            last = event.position;
        }
        // Acks in order: an event counts as published only once the stream has it.
        for ack in acks {
            ack.await.map_err(jetstream_error)?;
        }
        Ok(last)
    }

    /// Publishes until `stop` resolves: resumes after the stream's last event, then follows the
    /// feed, looking for new events every `poll` when there are none.
    pub async fn run(
        mut self,
        poll: Duration,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), JetStreamError> {
        let mut position = self.resume_position().await?;
        while !*stop.borrow() {
            match self.publish_after(position).await {
                Ok(next) if next == position => tokio::time::sleep(poll).await,
                Ok(next) => position = next,
                Err(error) => {
                    tracing::warn!(%error, "publishing to JetStream failed; trying again");
                    tokio::time::sleep(poll * 20).await;
                }
            }
        }
        Ok(())
    }
}
