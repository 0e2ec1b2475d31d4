//! `dprofile quarantine list|show|replay`: what was refused, why, and feeding it back once fixed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use dprofile_domain::ParseMode;
use dprofile_pipeline::{Ingestor, SystemClock};
use dprofile_store::{Outcome, QuarantineStatus};

use super::StoreLocation;

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// List quarantined lines with their first reason.
    List {
        /// open, replayed or all.
        #[arg(long, default_value = "open")]
        status: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Start after this item id (for paging).
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one item: every reason and the line as received.
    Show { id: i64 },
    /// Run an item through the pipeline again, as it is or as corrected in FILE.
    Replay {
        /// The item to replay (omit with --all).
        id: Option<i64>,
        /// A file holding the corrected record (one JSON object).
        #[arg(long)]
        file: Option<PathBuf>,
        /// Replay every open item as it is (after a rule or category was added).
        #[arg(long, conflicts_with_all = ["id", "file"])]
        all: bool,
    },
}

pub fn run(location: &StoreLocation, command: QuarantineCommand) -> anyhow::Result<ExitCode> {
    let store = location.open()?;
    match command {
        QuarantineCommand::List {
            status,
            limit,
            after,
            json,
        } => {
            let status = match status.as_str() {
                "all" => None,
                other => Some(QuarantineStatus::from_code(other).with_context(|| {
                    format!("status `{other}` is unknown: use open, replayed or all")
                })?),
            };
            let items = store.quarantine_list(status, after, limit)?;
            if json {
                for item in &items {
                    println!("{}", serde_json::to_string(item)?);
                }
            } else {
                println!(
                    "{:>8}  {:<9}  {:<28}  {:>6}  reason",
                    "id", "status", "source/source_ref", "line"
                );
                for item in &items {
                    let key = format!(
                        "{}/{}",
                        item.source.as_deref().unwrap_or("?"),
                        item.source_ref.as_deref().unwrap_or("?")
                    );
                    let first = item
                        .violations
                        .get(0)
                        .map(|violation| {
                            format!(
                                "{} {}: {}",
                                violation["pointer"].as_str().unwrap_or(""),
                                violation["rule"].as_str().unwrap_or(""),
                                violation["message"].as_str().unwrap_or("")
                            )
                        })
                        .unwrap_or_default();
                    println!(
                        "{:>8}  {:<9}  {:<28}  {:>6}  {}",
                        item.id,
                        item.status.code(),
                        key,
                        item.line_number
                            .map(|number| number.to_string())
                            .unwrap_or_default(),
                        first
                    );
                }
                if items.is_empty() {
                    println!("(no items)");
                }
            }
        }
        QuarantineCommand::Show { id } => {
            let item = store
                .quarantine_get(id)?
                .with_context(|| format!("quarantine item {id} does not exist"))?;
            let mut shown = serde_json::to_value(&item)?;
            shown["raw"] =
                serde_json::Value::String(String::from_utf8_lossy(&item.raw).into_owned());
            println!("{}", serde_json::to_string_pretty(&shown)?);
        }
        QuarantineCommand::Replay { id, file, all } => {
            let ingestor = Ingestor::from_store(store.clone(), Arc::new(SystemClock))
                .context("cannot load the store's resolver model")?;
            let ids: Vec<i64> = if all {
                let mut ids = Vec::new();
                let mut after = 0;
                loop {
                    let page = store.quarantine_list(Some(QuarantineStatus::Open), after, 1000)?;
                    let Some(last) = page.last() else { break };
                    after = last.id;
                    ids.extend(page.iter().map(|item| item.id));
                }
                ids
            } else {
                vec![id.context("name the item to replay, or use --all")?]
            };
            let corrected = match file {
                Some(path) => Some(
                    std::fs::read(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                ),
                None => None,
            };
            let mut still_refused = 0;
            for id in ids {
                let result = ingestor.replay_quarantine(id, corrected.clone(), ParseMode::Full)?;
                if result.outcome == Outcome::Quarantined {
                    still_refused += 1;
                }
                println!("{}", serde_json::to_string(&result)?);
            }
            if still_refused > 0 {
                eprintln!(
                    "{still_refused} item(s) still refused: see the errors above, fix the record and replay with --file"
                );
                return Ok(ExitCode::from(2));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
