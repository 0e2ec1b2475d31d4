//! The share-code check over HTTP, open loop: a population of patent workers with one share
//! code each, the real API on 127.0.0.1 (SQLite store, access log on), and a client that sends
//! `POST /v1/share-codes/check` at a fixed rate whatever the answers do. Latency is measured
//! from the moment each request was due, so a server that falls behind is charged for the
//! queue (no coordinated omission).

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{Days, Utc};
use dprofile_api::share_codes::{ShareCodeLimits, code_hash, display_code, generate_code};
use dprofile_api::{ApiConfig, AppState};
use dprofile_domain::linking::KeyKind;
use dprofile_pipeline::{IngestOptions, Ingestor, SystemClock};
use dprofile_store::{NewShareCode, SqliteStore, Store};

struct Holder {
    code: String,
    birth_date: String,
}

const FAMILIES: [&str; 6] = [
    "KARIMOV", "ALIEV", "RAHIMOV", "YUSUPOV", "TURSUNOV", "NAZAROV",
];

fn population_ndjson(persons: usize) -> String {
    let today = Utc::now().date_naive();
    let day = |offset: i64| {
        if offset >= 0 {
            today + Days::new(offset.unsigned_abs())
        } else {
            today - Days::new(offset.unsigned_abs())
        }
    };
    let mut lines = String::new();
    for index in 0..persons {
        let subject = serde_json::json!({
            "names": [{"script": "Latn", "family": FAMILIES[index % FAMILIES.len()], "given": "ALISHER"}],
            "birth_date": format!("19{:02}-{:02}-{:02}", 70 + index % 30, 1 + index % 12, 1 + index % 28),
            "citizenship": "UZB",
            "documents": [{"kind": "passport", "country": "UZB", "number": format!("FA{:07}", index)}],
        });
        let records = [
            (
                "border_crossing",
                serde_json::json!({"direction": "entry", "crossed_at": format!("{}T09:00:00Z", day(-40)),
                                   "checkpoint": "Domodedovo", "transport": "air"}),
            ),
            (
                "stay_document",
                serde_json::json!({"kind": "patent", "number": format!("77 {index:010}"),
                                   "issued_on": day(-30).to_string(), "expires_on": day(330).to_string(),
                                   "region": "77", "patent_paid_until": day(30).to_string()}),
            ),
            (
                "tax_debt",
                serde_json::json!({"balance": -100.0, "as_of": day(-5).to_string()}),
            ),
        ];
        for (number, (category, data)) in records.into_iter().enumerate() {
            let line = serde_json::json!({
                "source": "bench", "source_ref": format!("bench-{index}-{number}"),
                "category": category, "observed_at": "2026-01-01T00:00:00Z",
                "subject": subject, "data": data,
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
    }
    lines
}

/// Runs the benchmark and prints one table row.
pub fn bench(persons: usize, rate: u32, seconds: u64) -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(directory.path())?);
    let ingestor = Ingestor::new(store.clone(), Arc::new(SystemClock));
    let summary = ingestor
        .ingest_reader(
            Cursor::new(population_ndjson(persons)),
            &IngestOptions::default(),
            &mut |_, _| {},
        )
        .context("ingesting the population")?;
    eprintln!(
        "population: {persons} persons, {} records accepted, {} quarantined",
        summary.accepted, summary.quarantined
    );
    if summary.quarantined > 0 {
        let refused = store.quarantine_list(None, 0, 1)?;
        bail!(
            "the population was refused: {:?}",
            refused.first().map(|item| &item.violations)
        );
    }
    let purposes = ["work", "rent", "other"];
    let mut holders = Vec::with_capacity(persons);
    let now = Utc::now();
    for index in 0..persons {
        let number = format!("FA{index:07}");
        let found = store.find_by_identifier(Some(KeyKind::Passport), &number)?;
        let Some(person) = found.first().copied() else {
            bail!("passport {number} was not ingested");
        };
        let code = generate_code();
        let hash = code_hash(&code);
        store.write(&mut |tx| {
            tx.insert_share_code(&NewShareCode {
                person_id: person,
                code_hash: &hash,
                purpose: purposes[index % purposes.len()],
                created_at: now,
                expires_at: now + chrono::Duration::days(90),
            })?;
            Ok(())
        })?;
        holders.push(Holder {
            code: display_code(&code),
            birth_date: format!(
                "19{:02}-{:02}-{:02}",
                70 + index % 30,
                1 + index % 12,
                1 + index % 28
            ),
        });
    }

    let log_key = dprofile_audit::LogKey::from_seed("dprofile/bench-log", [9; 32])?;
    // One client address sends every check: the per-address limit is lifted for the run.
    let limits = ShareCodeLimits {
        checks_per_address: u32::MAX,
        ..ShareCodeLimits::default()
    };
    let state = AppState::new(store.clone(), ingestor, ApiConfig::default(), log_key)
        .with_share_code_limits(limits);
    let (address_sender, address_receiver) = std::sync::mpsc::channel();
    let (shutdown_sender, shutdown_receiver) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            address_sender.send(listener.local_addr()?)?;
            dprofile_api::serve(listener, state, async move {
                let _ = shutdown_receiver.await;
            })
            .await?;
            Ok(())
        })
    });
    let address = address_receiver.recv()?;
    let url = format!("http://{address}/v1/share-codes/check");
    let bodies: Vec<String> = holders
        .iter()
        .map(|holder| {
            serde_json::json!({"code": holder.code, "birth_date": holder.birth_date, "checker": "bench"})
                .to_string()
        })
        .collect();

    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = client_runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?;
        // One second at the rate to open connections and warm caches, not counted.
        let _ = open_loop(&client, &url, &bodies, rate, 1).await?;
        open_loop(&client, &url, &bodies, rate, seconds).await
    });
    let _ = shutdown_sender.send(());
    let _ = server.join();
    let (mut latencies, failures) = outcome?;
    latencies.sort_unstable();
    let count = latencies.len();
    let percentile = |fraction: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let rank = ((fraction * count as f64).ceil() as usize).clamp(1, count) - 1;
        latencies[rank].as_secs_f64() * 1000.0
    };
    println!(
        "| rate | requests | success | p50 | p99 | p99.9 | slowest |\n|---:|---:|---:|---:|---:|---:|---:|"
    );
    println!(
        "| {rate}/s | {} | {:.2} % | {:.2} ms | **{:.2} ms** | {:.2} ms | {:.2} ms |",
        count + failures,
        100.0 * count as f64 / (count + failures).max(1) as f64,
        percentile(0.50),
        percentile(0.99),
        percentile(0.999),
        latencies
            .last()
            .map_or(0.0, |slowest| slowest.as_secs_f64() * 1000.0),
    );
    Ok(())
}

/// Sends `rate` requests a second for `seconds`, each at its due time; returns the latencies of
/// the answers that were 200 (from the due time) and the number of other answers.
async fn open_loop(
    client: &reqwest::Client,
    url: &str,
    bodies: &[String],
    rate: u32,
    seconds: u64,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let total = u64::from(rate) * seconds;
    let period = Duration::from_secs(1) / rate.max(1);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for index in 0..total {
        let due = start + period * u32::try_from(index).unwrap_or(u32::MAX);
        tokio::time::sleep_until(due).await;
        let client = client.clone();
        let url = url.to_owned();
        let body = bodies[usize::try_from(index).unwrap_or(0) % bodies.len()].clone();
        let due = due.into_std();
        tasks.push(tokio::spawn(async move {
            let answer = client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            let ok = match answer {
                Ok(response) => {
                    let status = response.status();
                    let _ = response.bytes().await;
                    status.is_success()
                }
                Err(_) => false,
            };
            (ok, Instant::now().duration_since(due))
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failures = 0;
    for task in tasks {
        let (ok, latency) = task.await?;
        if ok {
            latencies.push(latency);
        } else {
            failures += 1;
        }
    }
    Ok((latencies, failures))
}
