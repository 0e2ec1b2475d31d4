//! `access-log`: append throughput of the access log on SQLite (entries per second, by how
//! many entries one transaction carries), and how fast `audit verify` recomputes the log.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, TimeZone as _, Utc};
use dprofile_audit::{AccessAction, AccessEntry, AccessOutcome, LogKey};
use dprofile_pipeline::access_log::{self, AccessLog, AccessRecord, DEFAULT_ORIGIN};

fn entry(number: u64) -> AccessEntry {
    AccessEntry {
        at: Utc
            .timestamp_opt(1_780_000_000, 0)
            .single()
            .unwrap_or_default()
            + Duration::milliseconds(number as i64),
        actor: format!("officer:{}", number % 500),
        agency: "mvd-migration".into(),
        role: "migration_officer".into(),
        purpose: "stay_control".into(),
        case_ref: Some(format!("case-{}", number / 3)),
        action: AccessAction::Read,
        person: Some((number * 7919 % 1_000_003) as i64),
        categories: vec![
            "migration_registration".into(),
            "stay_document".into(),
            "visa".into(),
        ],
        outcome: AccessOutcome::Allowed,
    }
}

pub fn bench(entries: u64, batches: &[usize]) -> anyhow::Result<()> {
    println!("access log on SQLite: {entries} entries per run");
    println!("| entries per transaction | appends/s | verify (entries/s) |\n|---:|---:|---:|");
    for &batch in batches {
        let directory = tempfile::tempdir()?;
        let store: Arc<dyn dprofile_store::Store> =
            Arc::new(dprofile_store::SqliteStore::open_dir(directory.path())?);
        let key = LogKey::from_seed(DEFAULT_ORIGIN, [1; 32])?;
        let verifier_key = key.verifier_key().to_owned();
        let log = AccessLog::new(Arc::clone(&store), key);
        let started = Instant::now();
        let mut number = 0u64;
        while number < entries {
            let take = (batch as u64).min(entries - number);
            let records: Vec<AccessRecord> = (number..number + take)
                .map(|index| AccessRecord {
                    entry: entry(index),
                    disclosure_delay: Duration::zero(),
                })
                .collect();
            log.record(&records)?;
            number += take;
        }
        let append_seconds = started.elapsed().as_secs_f64();
        log.checkpoint(Utc::now())?;
        let started = Instant::now();
        let report = access_log::verify_store(store.as_ref(), &[verifier_key])?;
        let verify_seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(report.is_intact(), "the benchmark log must verify");
        println!(
            "| {batch} | {:.0} | {:.0} |",
            entries as f64 / append_seconds,
            entries as f64 / verify_seconds
        );
    }
    Ok(())
}
