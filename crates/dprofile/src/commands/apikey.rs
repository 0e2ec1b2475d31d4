//! `dprofile apikey`: create, list and revoke the API keys agency systems call the API with.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use dprofile_pipeline::api_keys;
use dprofile_policy::Policy;

use super::StoreLocation;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key for one agency in one role of the access policy; prints the key once.
    Create(CreateArgs),
    /// List the keys (never the tokens: only their hashes are stored).
    List,
    /// Revoke a key by its id: requests with it answer 401 from then on.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The agency the key acts for (a `source` code: `fns`, `mvd-migration`, …).
    #[arg(long)]
    agency: String,
    /// A role of the access policy (`tax_inspector`, `migration_officer`, …).
    #[arg(long)]
    role: String,
    /// What the key is for, to recognise it in `apikey list` and in the access log.
    #[arg(long)]
    name: String,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The key's id, as `apikey list` shows it.
    id: i64,
}

pub fn run(location: &StoreLocation, command: ApiKeyCommand) -> anyhow::Result<ExitCode> {
    let store = location.open()?;
    let now = chrono::Utc::now();
    match command {
        ApiKeyCommand::Create(args) => {
            let issued = api_keys::issue(
                store.as_ref(),
                &Policy::default_policy(),
                &args.name,
                &args.agency,
                &args.role,
                now,
            )
            .context("cannot create the API key")?;
            eprintln!(
                "created API key {} for agency `{}` as `{}`; it is shown only now, keep it secret:",
                issued.row.id, issued.row.agency, issued.row.role
            );
            println!("{}", issued.token);
        }
        ApiKeyCommand::List => {
            println!("id\tagency\trole\tcreated_at\trevoked_at\tname");
            for key in store.api_keys()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    key.id,
                    key.agency,
                    key.role,
                    key.created_at.to_rfc3339(),
                    key.revoked_at
                        .map_or_else(|| "-".to_owned(), |at| at.to_rfc3339()),
                    key.name
                );
            }
        }
        ApiKeyCommand::Revoke(args) => {
            if !api_keys::revoke(store.as_ref(), args.id, now)? {
                anyhow::bail!(
                    "no API key has id {}: `dprofile apikey list` shows the ids",
                    args.id
                );
            }
            eprintln!("API key {} is revoked", args.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}
