//! `dprofile passes`: the QR pass keys in the data directory (rotate the signer, print the
//! root key that verifiers pin).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine as _;
use clap::{Args, Subcommand};
use dprofile_pipeline::passes::{MAX_PASS_LIFETIME, PASS_KEYS_FILE, PassKeyring};

use super::StoreLocation;

#[derive(Debug, Args)]
pub struct PassKeyArgs {
    /// The pass keys (created on first use, readable by their owner only). Default:
    /// `pass-keys.json` in the data directory.
    #[arg(long, env = "DPROFILE_PASS_KEY_FILE")]
    pass_key_file: Option<PathBuf>,
}

impl PassKeyArgs {
    pub fn path(&self, location: &StoreLocation) -> PathBuf {
        self.pass_key_file
            .clone()
            .unwrap_or_else(|| location.data_dir.join(PASS_KEYS_FILE))
    }
}

#[derive(Debug, Subcommand)]
pub enum PassesCommand {
    /// Retire the signing key and make a new one. The old key stays in the trust list until
    /// its passes have expired; restart `serve` to sign with the new key.
    RotateKey(PassKeyArgs),
    /// Print the root key that signs the trust list: publish it, verifiers pin it.
    RootKey(PassKeyArgs),
}

pub fn run(location: &StoreLocation, command: PassesCommand) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now();
    match command {
        PassesCommand::RotateKey(args) => {
            let path = args.path(location);
            let before = PassKeyring::load_or_create(&path, now)
                .with_context(|| format!("cannot use the pass keys {}", path.display()))?;
            let after = PassKeyring::rotate(&path, now)
                .with_context(|| format!("cannot rotate the pass keys {}", path.display()))?;
            println!(
                "pass signing key {} retired: it stays in the trust list until {} (its passes live {} days at most)",
                before.signer().key_id(),
                (now + MAX_PASS_LIFETIME).format("%Y-%m-%d %H:%M UTC"),
                MAX_PASS_LIFETIME.num_days()
            );
            println!(
                "new signing key: {} (restart `dprofile serve` to use it)",
                after.signer().key_id()
            );
        }
        PassesCommand::RootKey(args) => {
            let path = args.path(location);
            let keyring = PassKeyring::load_or_create(&path, now)
                .with_context(|| format!("cannot use the pass keys {}", path.display()))?;
            println!(
                "{}",
                base64::engine::general_purpose::STANDARD
                    .encode(keyring.root().verifying_key().as_bytes())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
