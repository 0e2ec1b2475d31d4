//! `dprofile resolve FILE --out assignments.csv`: identity resolution of one batch in a fresh
//! temporary store, reading only `source`, `source_ref` and `subject`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use dprofile_domain::ParseMode;
use dprofile_pipeline::{IngestOptions, Ingestor, SystemClock};
use dprofile_store::SqliteStore;

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// NDJSON file of records (`-` for standard input).
    pub file: PathBuf,
    /// Where to write `source,source_ref,person`, one row per input line.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: ResolveArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let directory = tempfile::tempdir().context("cannot create a temporary store")?;
    let store = Arc::new(SqliteStore::open_dir(directory.path())?);
    let ingestor = Ingestor::new(store.clone(), Arc::new(SystemClock));
    let options = IngestOptions {
        mode: ParseMode::SubjectOnly,
        origin: args.file.display().to_string(),
        ..IngestOptions::default()
    };
    let reader: Box<dyn std::io::BufRead + Send> = if args.file.as_os_str() == "-" {
        Box::new(BufReader::with_capacity(1 << 20, std::io::stdin()))
    } else {
        let file = File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    // Input order, kept so that the output has one row per input line.
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut unreadable = 0u64;
    ingestor.ingest_reader(reader, &options, &mut |results, _| {
        for result in results {
            match (&result.source, &result.source_ref) {
                (Some(source), Some(source_ref)) => {
                    lines.push((source.clone(), source_ref.clone()))
                }
                _ => unreadable += 1,
            }
        }
    })?;
    let mut person_of: HashMap<(String, String), i64> = HashMap::with_capacity(lines.len());
    let mut highest_person = 0;
    dprofile_store::Store::assignments(store.as_ref(), &mut |source, source_ref, person| {
        if let Some(person) = person {
            highest_person = highest_person.max(person);
            person_of.insert((source.to_owned(), source_ref.to_owned()), person);
        }
    })?;
    let output =
        File::create(&args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
    let mut writer = BufWriter::new(output);
    writeln!(writer, "source,source_ref,person")?;
    let mut singletons: HashMap<(String, String), i64> = HashMap::new();
    for key in &lines {
        // A line whose subject was refused still names a record: it stands alone.
        let person = match person_of.get(key) {
            Some(person) => *person,
            None => {
                let next = highest_person + singletons.len() as i64 + 1;
                *singletons.entry(key.clone()).or_insert(next)
            }
        };
        writeln!(
            writer,
            "{},{},{person}",
            csv_field(&key.0),
            csv_field(&key.1)
        )?;
    }
    writer.flush()?;
    eprintln!(
        "resolved {} records into {} persons in {:.1} s; {} lines without source/source_ref skipped, {} refused subjects kept as their own persons",
        lines.len(),
        person_of
            .values()
            .collect::<std::collections::HashSet<_>>()
            .len()
            + singletons.len(),
        started.elapsed().as_secs_f64(),
        unreadable,
        singletons.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
