//! `dprofile events daily`: the change feed's scheduled events (documents and registrations
//! expiring within N days, statuses that moved with the calendar), once per day from cron.

use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Subcommand};

use super::StoreLocation;

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Writes the day's scheduled events; running it again the same day writes nothing twice.
    /// Prints a JSON report.
    Daily(DailyArgs),
}

#[derive(Debug, Args)]
pub struct DailyArgs {
    /// The day to compute for (`YYYY-MM-DD`); today (the status rules' calendar) when absent.
    #[arg(long)]
    today: Option<String>,
    /// Announce documents and registrations whose last valid day is within this many days.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=366))]
    days: u32,
}

pub fn run(location: &StoreLocation, command: EventsCommand) -> anyhow::Result<ExitCode> {
    let EventsCommand::Daily(args) = command;
    let store = location.open()?;
    let rules = dprofile_status::RuleSet::v1();
    let now = chrono::Utc::now();
    let today = match args.today.as_deref() {
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").with_context(|| {
            format!("--today `{text}` is not a date: write YYYY-MM-DD, e.g. 2026-03-01")
        })?,
        None => dprofile_pipeline::status::today(&rules, now),
    };
    let report =
        dprofile_pipeline::events::run_daily(store.as_ref(), today, args.days, now, &rules)
            .context("the daily events job failed; nothing of the failing page was written")?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}
