//! `dprofile subscriptions`: agencies' subscriptions to the change feed — create (the webhook
//! secret is shown once), list, show with delivery state, delete, and replay the dead-letter
//! list.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use dprofile_pipeline::subscriptions::{
    SubscriptionError, SubscriptionRequest, decode_cursor, encode_cursor,
};
use dprofile_policy::Policy;
use dprofile_store::DeliveryFilter;
use serde_json::json;

use super::StoreLocation;

#[derive(Debug, Subcommand)]
pub enum SubscriptionsCommand {
    /// Subscribe an agency, read as one of its policy roles for a purpose; prints the id and
    /// the webhook signing secret (shown only now) as JSON.
    Create(CreateArgs),
    /// List the subscriptions.
    List,
    /// One subscription with its delivery state (queue cursor, pending, dead letters) as JSON.
    Show(IdArgs),
    /// End a subscription: nothing more is queued or sent.
    Delete(IdArgs),
    /// Send parked webhook deliveries again: one (`--cursor`) or the whole dead-letter list.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The agency (`fns`, `mvd-migration`, …).
    #[arg(long)]
    agency: String,
    /// A role of the access policy the agency holds.
    #[arg(long)]
    role: String,
    /// The purpose the role reads for.
    #[arg(long)]
    purpose: String,
    /// Event types, comma-separated (`record.accepted,status.changed`); all when absent.
    #[arg(long, value_delimiter = ',')]
    event_types: Vec<String>,
    /// Categories, comma-separated; every category the role may read when absent.
    #[arg(long, value_delimiter = ',')]
    categories: Vec<String>,
    /// `http://…` to receive each event as a signed POST; the pull feed only when absent.
    #[arg(long)]
    webhook_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// The subscription's id, as `subscriptions list` shows it.
    id: i64,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The subscription's id.
    id: i64,
    /// One parked delivery's cursor (`subscriptions show` lists them); all when absent.
    #[arg(long)]
    cursor: Option<String>,
}

pub fn run(location: &StoreLocation, command: SubscriptionsCommand) -> anyhow::Result<ExitCode> {
    let store = location.open()?;
    let now = chrono::Utc::now();
    match command {
        SubscriptionsCommand::Create(args) => {
            let created = dprofile_pipeline::subscriptions::create(
                store.as_ref(),
                &Policy::default_policy(),
                &args.agency,
                &SubscriptionRequest {
                    role: args.role,
                    purpose: args.purpose,
                    event_types: args.event_types,
                    categories: args.categories,
                    webhook_url: args.webhook_url,
                },
                "cli",
                now,
            );
            let created = match created {
                Ok(created) => created,
                Err(SubscriptionError::Invalid {
                    pointer,
                    rule,
                    message,
                }) => anyhow::bail!("{pointer}: {message} ({rule})"),
                Err(SubscriptionError::Refused {
                    pointer,
                    code,
                    message,
                }) => anyhow::bail!("{pointer}: {message} ({code})"),
                Err(SubscriptionError::Store(error)) => {
                    return Err(error).context("cannot create the subscription");
                }
            };
            eprintln!(
                "created subscription {}; its webhook secret is shown only now, keep it secret",
                created.subscription.id
            );
            println!(
                "{}",
                json!({"id": created.subscription.id, "secret": created.secret})
            );
        }
        SubscriptionsCommand::List => {
            println!("id\tagency\trole\tpurpose\tevent_types\tcategories\twebhook_url\tdeleted_at");
            for row in store.subscriptions()? {
                let list = |items: &[String]| {
                    if items.is_empty() {
                        "*".to_owned()
                    } else {
                        items.join(",")
                    }
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    row.id,
                    row.agency,
                    row.role,
                    row.purpose,
                    list(&row.event_types),
                    list(&row.categories),
                    row.webhook_url.as_deref().unwrap_or("-"),
                    row.deleted_at
                        .map_or_else(|| "-".to_owned(), |at| at.to_rfc3339()),
                );
            }
        }
        SubscriptionsCommand::Show(args) => {
            let Some(row) = store.subscription(args.id)? else {
                anyhow::bail!(
                    "no subscription has id {}: `dprofile subscriptions list` shows the ids",
                    args.id
                );
            };
            let deliveries = |filter| -> anyhow::Result<Vec<serde_json::Value>> {
                Ok(store
                    .deliveries(args.id, filter, 100)?
                    .iter()
                    .map(|delivery| {
                        json!({
                            "cursor": encode_cursor(delivery.position),
                            "event_id": delivery.event.event_id,
                            "type": delivery.event.event_type,
                            "person_id": delivery.person_id,
                            "attempts": delivery.attempts,
                            "next_attempt_at": delivery.next_attempt_at,
                            "last_error": delivery.last_error,
                            "dead_at": delivery.dead_at,
                        })
                    })
                    .collect())
            };
            let state = json!({
                "subscription": row,
                "queued_through": encode_cursor(store.webhook_cursor(args.id)?),
                "pending": deliveries(DeliveryFilter::Pending)?,
                "dead": deliveries(DeliveryFilter::Dead)?,
            });
            println!("{}", serde_json::to_string_pretty(&state)?);
        }
        SubscriptionsCommand::Delete(args) => {
            let mut deleted = false;
            store.write(&mut |tx| {
                deleted = tx.delete_subscription(args.id, now)?;
                Ok(())
            })?;
            if !deleted {
                anyhow::bail!(
                    "no live subscription has id {}: `dprofile subscriptions list` shows them",
                    args.id
                );
            }
            eprintln!("subscription {} is deleted", args.id);
        }
        SubscriptionsCommand::Replay(args) => {
            let position = match args.cursor.as_deref() {
                None => None,
                Some(text) => Some(decode_cursor(text).with_context(|| {
                    format!("--cursor `{text}` is not a feed cursor: copy one from `dprofile subscriptions show {}`", args.id)
                })?),
            };
            let replayed =
                dprofile_pipeline::webhooks::replay(store.as_ref(), args.id, position, now)?;
            eprintln!(
                "{replayed} parked deliveries of subscription {} will be sent again",
                args.id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
