//! `dprofile retention`: run the retention schedule (erase what expired, with everything derived
//! from it, leaving tombstones in the access log), and check a schedule file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use dprofile_pipeline::access_log::AccessLog;
use dprofile_pipeline::retention::{self, Schedule};

use super::StoreLocation;
use super::audit::KeyArgs;

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Erase every record whose period ran out, with what was derived from it; print a JSON
    /// report (counts per category). A second run at the same time erases nothing.
    Run(RunArgs),
    /// Check a schedule file and print it as read (JSON); exits 1 naming the key at fault.
    Check(ScheduleArgs),
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// The retention schedule (TOML). Default: the shipped `default-retention.toml`.
    #[arg(long, env = "DPROFILE_RETENTION_SCHEDULE")]
    schedule: Option<PathBuf>,
}

impl ScheduleArgs {
    fn load(&self) -> anyhow::Result<Schedule> {
        let text = match &self.schedule {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the schedule {}", path.display()))?,
            None => retention::DEFAULT_SCHEDULE.to_owned(),
        };
        let origin = self.schedule.as_ref().map_or_else(
            || "the default schedule".to_owned(),
            |path| path.display().to_string(),
        );
        Schedule::from_toml(&text).with_context(|| format!("{origin} cannot be used"))
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// The time to run at (RFC 3339), instead of now: what would have expired then.
    #[arg(long, value_parser = parse_instant)]
    now: Option<DateTime<Utc>>,
    /// Report what would be erased, and erase nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    key: KeyArgs,
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|instant| instant.to_utc())
        .map_err(|error| {
            format!("`{text}` is not an RFC 3339 time ({error}): write e.g. 2030-06-01T12:00:00Z")
        })
}

pub fn run(location: &StoreLocation, command: RetentionCommand) -> anyhow::Result<ExitCode> {
    match command {
        RetentionCommand::Check(args) => {
            let schedule = args.load()?;
            println!("{}", serde_json::to_string_pretty(&schedule)?);
            Ok(ExitCode::SUCCESS)
        }
        RetentionCommand::Run(args) => {
            let schedule = args.schedule.load()?;
            let store = location.open()?;
            let log = AccessLog::new(store.clone(), args.key.load(location)?);
            let now = args.now.unwrap_or_else(Utc::now);
            let report = retention::run(&store, &log, &schedule, now, args.dry_run)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
