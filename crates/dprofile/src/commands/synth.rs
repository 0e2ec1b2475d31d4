//! `dprofile synth`: a synthetic population in the ingest envelope, with ground truth.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use dprofile_synth::{SynthConfig, generate};

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// How many persons (records are about ten times as many).
    #[arg(long, default_value_t = 1000)]
    pub persons: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write the NDJSON records (standard output if absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where to write the truth, `source,source_ref,person` per record.
    #[arg(long)]
    pub truth: Option<PathBuf>,
}

pub fn run(args: SynthArgs) -> anyhow::Result<ExitCode> {
    let mut output: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut truth: Option<BufWriter<File>> = match &args.truth {
        Some(path) => {
            let mut writer = BufWriter::new(
                File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
            );
            writeln!(writer, "source,source_ref,person")?;
            Some(writer)
        }
        None => None,
    };
    let config = SynthConfig::new(args.persons, args.seed);
    let mut records = 0u64;
    let mut failure: Option<std::io::Error> = None;
    generate(&config, |record| {
        if failure.is_some() {
            return;
        }
        let written = output
            .write_all(record.line.as_bytes())
            .and_then(|()| output.write_all(b"\n"));
        let written = written.and_then(|()| match truth.as_mut() {
            Some(writer) => writeln!(
                writer,
                "{},{},{}",
                record.source, record.source_ref, record.person
            ),
            None => Ok(()),
        });
        if let Err(error) = written {
            failure = Some(error);
        }
        records += 1;
    });
    if let Some(error) = failure {
        return Err(error).context("cannot write the synthetic records");
    }
    output.flush()?;
    if let Some(mut writer) = truth {
        writer.flush()?;
    }
    eprintln!(
        "wrote {records} records about {} persons (seed {})",
        args.persons, args.seed
    );
    Ok(ExitCode::SUCCESS)
}
