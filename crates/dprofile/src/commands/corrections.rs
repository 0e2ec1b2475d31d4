//! `dprofile corrections list`: the persons' correction requests for operators, per agency
//! queue and status. Shows what each request is about (ids, record key, fields, deadline,
//! status), never the person's explanation nor the agency's answer: those are read through
//! the API, where every read is in the access log.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use dprofile_pipeline::corrections::CorrectionState;
use dprofile_store::{CorrectionFilter, CorrectionStatus};

use super::StoreLocation;

#[derive(Debug, Subcommand)]
pub enum CorrectionsCommand {
    /// List requests, oldest first, one per line.
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this agency's queue (the records' `source` code).
    #[arg(long)]
    agency: Option<String>,
    /// `open`, `overdue` (open past the deadline), `accepted` or `rejected`.
    #[arg(long, value_parser = ["open", "overdue", "accepted", "rejected"])]
    status: Option<String>,
    /// Most requests to list.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
}

pub fn run(location: &StoreLocation, command: CorrectionsCommand) -> anyhow::Result<ExitCode> {
    let store = location.open()?;
    let CorrectionsCommand::List(args) = command;
    let now = chrono::Utc::now();
    let overdue = args.status.as_deref() == Some("overdue");
    let status = match args.status.as_deref() {
        Some("overdue") => Some(CorrectionStatus::Open),
        Some(code) => CorrectionStatus::from_code(code),
        None => None,
    };
    let rows = store.corrections(&CorrectionFilter {
        source: args.agency.as_deref(),
        status,
        due_before: overdue.then_some(now - chrono::Duration::microseconds(1)),
        limit: args.limit,
        ..CorrectionFilter::default()
    })?;
    println!("id\tagency\tsource_ref\trevision\tperson\tfields\tfiled_at\tdue_at\tstatus");
    for row in &rows {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            row.id,
            row.source,
            row.source_ref,
            row.revision,
            row.person_id,
            row.fields.join(","),
            row.filed_at.to_rfc3339(),
            row.due_at.to_rfc3339(),
            CorrectionState::of(row, now).code(),
        );
    }
    eprintln!("{} request(s)", rows.len());
    Ok(ExitCode::SUCCESS)
}
