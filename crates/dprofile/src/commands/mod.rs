//! The subcommands, one module each.

pub mod apikey;
pub mod audit;
pub mod corrections;
pub mod events;
pub mod ingest;
pub mod officer;
pub mod passes;
pub mod quarantine;
pub mod resolve;
pub mod retention;
pub mod serve;
pub mod subscriptions;
pub mod synth;
pub mod verify;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use dprofile_store::Store;

/// Where the store is: `--database-url` if given, else the data directory.
#[derive(Debug, Clone)]
pub struct StoreLocation {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
}

impl StoreLocation {
    pub fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        dprofile_store::open(self.database_url.as_deref(), &self.data_dir).with_context(|| {
            match &self.database_url {
                Some(_) => "cannot open the PostgreSQL store".to_owned(),
                None => format!("cannot open the store in {}", self.data_dir.display()),
            }
        })
    }

    pub fn describe(&self) -> String {
        match &self.database_url {
            Some(_) => "PostgreSQL".to_owned(),
            None => format!("SQLite in {}", self.data_dir.display()),
        }
    }
}

pub fn migrate(location: &StoreLocation) -> anyhow::Result<ExitCode> {
    let store = location.open()?;
    let counts = store.counts()?;
    println!(
        "schema is up to date ({}): {} persons, {} records",
        location.describe(),
        counts.persons,
        counts.records
    );
    Ok(ExitCode::SUCCESS)
}
