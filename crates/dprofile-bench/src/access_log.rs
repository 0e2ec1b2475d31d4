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

/// `callers` threads append `entries` single entries between them, as concurrent requests do:
/// first each as its own transaction (the store's `append_access`, what the log did before
/// group commit), then through [`AccessLog::record`] (group commit).
pub fn bench_concurrent(entries: u64, callers: usize) -> anyhow::Result<()> {
    println!(
        "\naccess log on SQLite: {entries} single-entry appends from {callers} concurrent callers"
    );
    println!(
        "| appends | entries/s | transactions | mean entries per transaction | largest |\n|---|---:|---:|---:|---:|"
    );
    for grouped in [false, true] {
        let directory = tempfile::tempdir()?;
        let store: Arc<dyn dprofile_store::Store> =
            Arc::new(dprofile_store::SqliteStore::open_dir(directory.path())?);
        let key = LogKey::from_seed(DEFAULT_ORIGIN, [1; 32])?;
        let verifier_key = key.verifier_key().to_owned();
        let log = Arc::new(AccessLog::new(Arc::clone(&store), key));
        let next = std::sync::atomic::AtomicU64::new(0);
        let started = Instant::now();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let workers: Vec<_> = (0..callers)
                .map(|_| {
                    let (log, store, next) = (Arc::clone(&log), Arc::clone(&store), &next);
                    scope.spawn(move || -> anyhow::Result<()> {
                        loop {
                            let number = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if number >= entries {
                                return Ok(());
                            }
                            let record = AccessRecord {
                                entry: entry(number),
                                disclosure_delay: Duration::zero(),
                            };
                            if grouped {
                                log.record(&[record])?;
                            } else {
                                store.append_access(&[dprofile_store::AccessAppend {
                                    disclosed_at: record.entry.at,
                                    entry: record.entry,
                                    salt: [7; dprofile_audit::SALT_LEN],
                                }])?;
                            }
                        }
                    })
                })
                .collect();
            for worker in workers {
                worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("an appending thread panicked"))??;
            }
            Ok(())
        })?;
        let seconds = started.elapsed().as_secs_f64();
        log.checkpoint(Utc::now())?;
        let report = access_log::verify_store(store.as_ref(), &[verifier_key])?;
        anyhow::ensure!(report.is_intact(), "the benchmark log must verify");
        let stats = log.group_commit_stats();
        if grouped {
            println!(
                "| group commit | {:.0} | {} | {:.1} | {} |",
                entries as f64 / seconds,
                stats.batches,
                stats.mean_batch(),
                stats.largest_batch
            );
        } else {
            println!(
                "| one transaction per entry | {:.0} | {entries} | 1 | 1 |",
                entries as f64 / seconds
            );
        }
    }
    Ok(())
}
