//! `dprofile`: the registry's one binary. Each subcommand is a thin layer over the library
//! crates: parse arguments, open the store, call the library, print.

mod commands;

/// Ingest allocates and frees many small strings per record (JSON values, names, keys); the
/// system allocator spent a fifth of the ingest threads' time on them, mimalloc far less.
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "dprofile",
    version,
    about = "Digital profiles of foreign citizens: ingest, link, serve"
)]
struct Cli {
    /// Directory of the embedded store (SQLite).
    #[arg(
        long,
        global = true,
        env = "DPROFILE_DATA_DIR",
        default_value = "./dprofile-data"
    )]
    data_dir: PathBuf,
    /// PostgreSQL URL (postgres://…); when given, used instead of the embedded store.
    #[arg(long, global = true, env = "DATABASE_URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API and pages.
    Serve(commands::serve::ServeArgs),
    /// Import NDJSON files of records (`-` reads standard input).
    Ingest(commands::ingest::IngestArgs),
    /// Link the records of one NDJSON file in a fresh temporary store and write who is who.
    Resolve(commands::resolve::ResolveArgs),
    /// Look at and replay refused lines.
    #[command(subcommand)]
    Quarantine(commands::quarantine::QuarantineCommand),
    /// Create or upgrade the store's schema.
    Migrate,
    /// Write a synthetic multi-agency population with ground truth.
    Synth(commands::synth::SynthArgs),
    /// The tamper-evident access log: checkpoints, the key to publish, verification.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Agency API keys: create (shown once), list, revoke.
    #[command(subcommand)]
    Apikey(commands::apikey::ApiKeyCommand),
    /// Officers' accounts: create, list, disable, set-password.
    #[command(subcommand)]
    Officer(commands::officer::OfficerCommand),
    /// The retention schedule: erase what expired (with tombstones in the access log).
    #[command(subcommand)]
    Retention(commands::retention::RetentionCommand),
    /// The persons' correction requests in the agencies' queues.
    #[command(subcommand)]
    Corrections(commands::corrections::CorrectionsCommand),
    /// QR pass keys: rotate the signing key, print the root key to publish.
    #[command(subcommand)]
    Passes(commands::passes::PassesCommand),
    /// Agencies' subscriptions to the change feed: create (secret shown once), list, show
    /// with delivery state, delete, replay the dead-letter list.
    #[command(subcommand)]
    Subscriptions(commands::subscriptions::SubscriptionsCommand),
    /// The change feed's scheduled events: `events daily [--today D] [--days N]`.
    #[command(subcommand)]
    Events(commands::events::EventsCommand),
    /// Check a QR pass offline against the cached trust and status lists; exits 1 when it
    /// is rejected. `--refresh URL` downloads the lists (the only network step).
    Verify(commands::verify::VerifyArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DPROFILE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let store_location = commands::StoreLocation {
        data_dir: cli.data_dir,
        database_url: cli.database_url,
    };
    let result = match cli.command {
        Command::Serve(args) => commands::serve::run(&store_location, args),
        Command::Ingest(args) => commands::ingest::run(&store_location, args),
        Command::Resolve(args) => commands::resolve::run(args),
        Command::Quarantine(command) => commands::quarantine::run(&store_location, command),
        Command::Migrate => commands::migrate(&store_location),
        Command::Synth(args) => commands::synth::run(args),
        Command::Audit(command) => commands::audit::run(&store_location, command),
        Command::Apikey(command) => commands::apikey::run(&store_location, command),
        Command::Officer(command) => commands::officer::run(&store_location, command),
        Command::Retention(command) => commands::retention::run(&store_location, command),
        Command::Corrections(command) => commands::corrections::run(&store_location, command),
        Command::Passes(command) => commands::passes::run(&store_location, command),
        Command::Verify(args) => commands::verify::run(args),
        Command::Subscriptions(command) => commands::subscriptions::run(&store_location, command),
        Command::Events(command) => commands::events::run(&store_location, command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
