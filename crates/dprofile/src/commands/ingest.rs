//! `dprofile ingest FILE…`: batch import with a progress bar and a summary line.

use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use dprofile_pipeline::resolution::FrozenResolver;
use dprofile_pipeline::{FailPoint, IngestOptions, Ingestor, Summary, SystemClock};

use super::StoreLocation;

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// NDJSON files, one record per line; `-` for standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Lines per transaction.
    #[arg(long, default_value_t = dprofile_pipeline::DEFAULT_CHUNK_SIZE)]
    pub chunk_size: usize,
    /// Exit with status 2 when any line was quarantined.
    #[arg(long)]
    pub strict: bool,
    /// A resolver model (as `dprofile resolve --save-model` writes it) to resolve with
    /// probabilistically; it is kept in the store and used by later ingests and `serve`.
    /// Only an empty store takes a model (its persons were resolved without one otherwise).
    /// Without it, the store's model is used if it has one, else linking is by strong
    /// identifiers only.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

pub fn run(location: &StoreLocation, args: IngestArgs) -> anyhow::Result<ExitCode> {
    let store = location.open()?;
    if let Some(path) = &args.model {
        install_model(store.as_ref(), path)?;
    }
    let ingestor = Ingestor::from_store(store, Arc::new(SystemClock))
        .context("cannot load the store's resolver model")?;
    eprintln!(
        "linking: {}",
        if ingestor.resolver().is_some() {
            "probabilistic, with the store's resolver model"
        } else {
            "by strong identifiers (the store has no resolver model)"
        }
    );
    let mut total = Summary::default();
    let started = Instant::now();
    for file in &args.files {
        let summary = ingest_one(&ingestor, file, args.chunk_size)?;
        add(&mut total, &summary);
    }
    let seconds = started.elapsed().as_secs_f64();
    let rate = total.total() as f64 / seconds.max(1e-9);
    println!(
        "ingested {} records in {seconds:.1} s ({rate:.0} records/s): {total}",
        total.total()
    );
    if args.strict && total.quarantined > 0 {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// Keeps `path`'s model in the store: into an empty store, or the same model again.
fn install_model(store: &dyn dprofile_store::Store, path: &PathBuf) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the model {}", path.display()))?;
    // Parsed first, so that a broken file is refused before anything is written. The text is
    // kept as given: `resolve --model` parses the same text, so both score with the same
    // numbers to the last bit.
    FrozenResolver::from_json(&text)
        .with_context(|| format!("{} is not a resolver model", path.display()))?;
    if let Some(held) = store.resolver_model()? {
        if held == text {
            return Ok(());
        }
        anyhow::bail!(
            "the store already resolves with another model: persons were resolved with it, so it cannot be replaced"
        );
    }
    let counts = store.counts()?;
    if counts.records > 0 {
        anyhow::bail!(
            "the store already holds {} records linked without a model: give the model to an empty store",
            counts.records
        );
    }
    store
        .write(&mut |tx| tx.set_resolver_model(&text, chrono::Utc::now()))
        .context("cannot save the model in the store")?;
    Ok(())
}

fn add(total: &mut Summary, summary: &Summary) {
    total.accepted += summary.accepted;
    total.duplicate += summary.duplicate;
    total.superseded += summary.superseded;
    total.retracted += summary.retracted;
    total.stale += summary.stale;
    total.quarantined += summary.quarantined;
}

fn ingest_one(ingestor: &Ingestor, file: &PathBuf, chunk_size: usize) -> anyhow::Result<Summary> {
    let origin = file.display().to_string();
    let options = IngestOptions {
        chunk_size,
        origin: origin.clone(),
        failpoint: FailPoint::from_env(),
        ..IngestOptions::default()
    };
    let show_progress = std::io::stderr().is_terminal();
    let (reader, length): (Box<dyn std::io::BufRead + Send>, Option<u64>) = if origin == "-" {
        (
            Box::new(BufReader::with_capacity(1 << 20, std::io::stdin())),
            None,
        )
    } else {
        let opened = File::open(file).with_context(|| format!("cannot open {origin}"))?;
        let length = opened.metadata().ok().map(|metadata| metadata.len());
        (Box::new(BufReader::with_capacity(1 << 20, opened)), length)
    };
    let progress = if show_progress {
        let bar = match length {
            Some(length) => indicatif::ProgressBar::new(length),
            None => indicatif::ProgressBar::new_spinner(),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {prefix} [{bar:30}] {bytes}/{total_bytes} {msg} ({eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(origin.clone());
        Some(bar)
    } else {
        None
    };
    let mut running = Summary::default();
    let summary = ingestor
        .ingest_reader(reader, &options, &mut |results, bytes_read| {
            for result in results {
                running.add(result.outcome);
            }
            if let Some(bar) = &progress {
                bar.set_position(bytes_read);
                bar.set_message(format!("{} records", running.total()));
            }
        })
        .with_context(|| format!("ingest of {origin} stopped; committed chunks are kept and a re-run continues safely"))?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    eprintln!("{origin}: {summary}");
    Ok(summary)
}
