//! `dprofile serve`: the HTTP API, on the embedded store by default, with demo data if asked.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use dprofile_pipeline::{IngestOptions, Ingestor, Line, SystemClock};
use dprofile_synth::{SynthConfig, generate};

use super::StoreLocation;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "DPROFILE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Load a synthetic demo population first (only into an empty store).
    #[arg(long)]
    pub demo: bool,
    /// Persons in the demo population.
    #[arg(long, default_value_t = 2000)]
    pub demo_persons: u64,
}

pub fn run(location: &StoreLocation, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let store = location.open()?;
    // Resolves probabilistically when the store holds a resolver model (`ingest --model`).
    let ingestor = Ingestor::from_store(store.clone(), Arc::new(SystemClock))
        .context("cannot load the store's resolver model")?;
    if args.demo {
        load_demo(&ingestor, args.demo_persons)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        println!(
            "dprofile is serving {} at http://{address}/",
            location.describe()
        );
        println!("  API docs:  http://{address}/docs");
        println!("  health:    http://{address}/healthz");
        if args.demo {
            println!("  a demo person: http://{address}/v1/persons?document=FA1234567");
        }
        let state =
            dprofile_api::AppState::new(store, ingestor, dprofile_api::ApiConfig::default());
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        dprofile_api::serve(listener, state, shutdown)
            .await
            .context("the server stopped")
    })?;
    Ok(ExitCode::SUCCESS)
}

fn load_demo(ingestor: &Ingestor, persons: u64) -> anyhow::Result<()> {
    let counts = ingestor.store().counts()?;
    if counts.records > 0 {
        eprintln!(
            "the store already holds {} records: demo data not loaded again",
            counts.records
        );
        return Ok(());
    }
    let config = SynthConfig::new(persons, 42);
    let mut lines = Vec::new();
    generate(&config, |record| {
        lines.push(Line {
            number: lines.len() as u64 + 1,
            bytes: record.line.into_bytes(),
        });
    });
    let options = IngestOptions {
        origin: "demo".to_owned(),
        ..IngestOptions::default()
    };
    let total = lines.len();
    let mut summary = dprofile_pipeline::Summary::default();
    let mut remaining = lines.into_iter().peekable();
    while remaining.peek().is_some() {
        let chunk: Vec<Line> = remaining.by_ref().take(options.chunk_size).collect();
        for result in ingestor.ingest_lines(chunk, &options)? {
            summary.add(result.outcome);
        }
    }
    eprintln!("demo data: {total} synthetic records about {persons} persons: {summary}");
    Ok(())
}
