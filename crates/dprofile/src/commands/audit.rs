//! `dprofile audit`: sign a checkpoint of the access log, print the key to publish, and verify
//! the whole log against the published keys.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use dprofile_pipeline::access_log::{self, AccessLog, DEFAULT_ORIGIN};

use super::StoreLocation;

#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The access log's signing key (created on first use, readable by its owner only).
    /// Default: `access-log.key` in the data directory.
    #[arg(long, env = "DPROFILE_LOG_KEY_FILE")]
    key_file: Option<PathBuf>,
}

impl KeyArgs {
    pub fn path(&self, location: &StoreLocation) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| location.data_dir.join("access-log.key"))
    }

    pub fn load(&self, location: &StoreLocation) -> anyhow::Result<dprofile_audit::LogKey> {
        let path = self.path(location);
        access_log::load_or_create_key(&path, DEFAULT_ORIGIN)
            .with_context(|| format!("cannot use the log key {}", path.display()))
    }
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Sign a checkpoint of the access log as it is now.
    Checkpoint(KeyArgs),
    /// Print the verifier key to publish (checkers and persons verify proofs with it).
    Key(KeyArgs),
    /// Recompute the access log from the store and check every signed checkpoint; exits 1 and
    /// names the position of each edited, missing or moved entry and each bad checkpoint.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A published verifier key (`<origin>+<id>+<base64>`); repeat for earlier keys. Default:
    /// the public half of the key file.
    #[arg(long = "verifier-key")]
    verifier_keys: Vec<String>,
    #[command(flatten)]
    key: KeyArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(location: &StoreLocation, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Checkpoint(key) => {
            let log = AccessLog::new(location.open()?, key.load(location)?);
            match log.checkpoint(chrono::Utc::now())? {
                Some(checkpoint) => print!("{}", checkpoint.note),
                None => println!("the access log is empty: no checkpoint signed"),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Key(key) => {
            println!("{}", key.load(location)?.verifier_key());
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify(args) => {
            let verifier_keys = if args.verifier_keys.is_empty() {
                vec![args.key.load(location)?.verifier_key().to_owned()]
            } else {
                args.verifier_keys
            };
            let store = location.open()?;
            let report = access_log::verify_store(store.as_ref(), &verifier_keys)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "access log: {} entries, {} checkpoints, verified up to size {}",
                    report.entries,
                    report.checkpoints,
                    report
                        .verified_size
                        .map_or_else(|| "none".to_owned(), |size| size.to_string())
                );
                for problem in &report.problems {
                    println!("  {problem}");
                }
                if report.is_intact() {
                    println!("intact");
                } else {
                    println!("TAMPERED: {} problem(s)", report.problems.len());
                }
            }
            Ok(if report.is_intact() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
