//! `events`: the change feed (issue 7). Side by side in one run: ingest throughput of a
//! synthetic population into a fresh SQLite store with 0 and with 10 active webhook
//! subscriptions (receivers on localhost, the server's workers delivering while ingest runs),
//! then the pull feed read over HTTP page by page (events/s, every page logged).

use std::io::{BufRead, BufReader, Cursor, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use dprofile_api::{ApiConfig, AppState};
use dprofile_pipeline::access_log::AccessLog;
use dprofile_pipeline::subscriptions::SubscriptionRequest;
use dprofile_pipeline::webhooks::{
    HttpTransport, SupervisorConfig, WebhookConfig, WebhookWorker, spawn_supervisor,
};
use dprofile_pipeline::{Clock, IngestOptions, Ingestor, SystemClock};
use dprofile_policy::Policy;
use dprofile_store::{DeliveryFilter, SqliteStore, Store};
use dprofile_synth::{SynthConfig, generate};

/// Ten subscriptions of different agencies, as the default policy grants them: each receives
/// the events of the categories its role reads.
const SUBSCRIBERS: [(&str, &str, &str); 10] = [
    ("mvd-migration", "migration_officer", "stay_control"),
    ("fsb-border", "border_guard", "border_control"),
    ("mvd-offences", "police_officer", "street_check"),
    ("fns", "tax_inspector", "tax_administration"),
    ("gibdd", "traffic_police", "vehicle_registration"),
    ("sfr", "social_fund_officer", "social_insurance"),
    ("mid", "consular_officer", "visa_issuance"),
    ("minobr", "education_officer", "education"),
    ("minzdrav", "health_officer", "public_health"),
    ("mvd-migration", "labour_inspector", "labour_control"),
];

/// A receiver on port 0 that answers 200 at once and counts requests.
fn start_receiver(counter: Arc<AtomicU64>) -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(clone);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.trim_end().split_once(": ")
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            counter.fetch_add(1, Ordering::Relaxed);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    Ok(url)
}

struct IngestRun {
    records: u64,
    seconds: f64,
    events: i64,
    delivered_during_ingest: u64,
    drain_seconds: f64,
    delivered_total: u64,
}

fn ingest_run(population: &str, subscriptions: usize) -> anyhow::Result<IngestRun> {
    let directory = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(directory.path())?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let policy = Arc::new(Policy::default_policy());
    let delivered = Arc::new(AtomicU64::new(0));
    let mut ids = Vec::new();
    for (agency, role, purpose) in SUBSCRIBERS.iter().take(subscriptions) {
        let url = start_receiver(delivered.clone())?;
        let created = dprofile_pipeline::subscriptions::create(
            store.as_ref(),
            &policy,
            agency,
            &SubscriptionRequest {
                role: (*role).to_owned(),
                purpose: (*purpose).to_owned(),
                webhook_url: Some(url),
                ..SubscriptionRequest::default()
            },
            "bench",
            clock.now(),
        )
        .map_err(|error| anyhow::anyhow!("subscription for {role}: {error}"))?;
        ids.push(created.subscription.id);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let supervisor = (subscriptions > 0).then(|| {
        let log_key =
            dprofile_audit::LogKey::from_seed("dprofile/bench-log", [9; 32]).expect("a log key");
        spawn_supervisor(
            Arc::new(WebhookWorker {
                store: store.clone(),
                policy: policy.clone(),
                access_log: Arc::new(AccessLog::new(store.clone(), log_key)),
                clock: clock.clone(),
                transport: Arc::new(HttpTransport::default()),
                config: WebhookConfig::default(),
            }),
            SupervisorConfig {
                refresh: Duration::from_millis(100),
                ..SupervisorConfig::default()
            },
            stop.clone(),
        )
    });
    // The workers are up before the clock starts.
    std::thread::sleep(Duration::from_millis(300));
    let ingestor = Ingestor::new(store.clone(), clock.clone());
    let started = Instant::now();
    let summary = ingestor
        .ingest_reader(
            Cursor::new(population.as_bytes()),
            &IngestOptions::default(),
            &mut |_, _| {},
        )
        .context("ingesting the population")?;
    let seconds = started.elapsed().as_secs_f64();
    let delivered_during_ingest = delivered.load(Ordering::Relaxed);
    let events = store.events_head()?;
    // Drain: every subscription's cursor at the head and nothing pending.
    let drain_started = Instant::now();
    if subscriptions > 0 {
        loop {
            let mut done = true;
            for id in &ids {
                if store.webhook_cursor(*id)? < events
                    || !store
                        .deliveries(*id, DeliveryFilter::Pending, 1)?
                        .is_empty()
                {
                    done = false;
                    break;
                }
            }
            if done || drain_started.elapsed() > Duration::from_secs(1800) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let drain_seconds = drain_started.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    if let Some(handle) = supervisor {
        let _ = handle.join();
    }
    Ok(IngestRun {
        records: summary.total(),
        seconds,
        events,
        delivered_during_ingest,
        drain_seconds,
        delivered_total: delivered.load(Ordering::Relaxed),
    })
}

fn feed_run(population: &str, page: usize) -> anyhow::Result<(u64, f64, u64)> {
    let directory = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(directory.path())?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ingestor = Ingestor::new(store.clone(), clock.clone());
    ingestor.ingest_reader(
        Cursor::new(population.as_bytes()),
        &IngestOptions::default(),
        &mut |_, _| {},
    )?;
    let policy = Policy::default_policy();
    let subscription = dprofile_pipeline::subscriptions::create(
        store.as_ref(),
        &policy,
        "mvd-migration",
        &SubscriptionRequest {
            role: "migration_officer".to_owned(),
            purpose: "stay_control".to_owned(),
            ..SubscriptionRequest::default()
        },
        "bench",
        clock.now(),
    )
    .map_err(|error| anyhow::anyhow!("{error}"))?
    .subscription
    .id;
    let token = dprofile_pipeline::api_keys::issue(
        store.as_ref(),
        &policy,
        "bench",
        "mvd-migration",
        "migration_officer",
        clock.now(),
    )?
    .token;
    let log_key = dprofile_audit::LogKey::from_seed("dprofile/bench-log", [9; 32])?;
    let logged_before = store.access_head()?;
    let state = AppState::new(store.clone(), ingestor, ApiConfig::default(), log_key);
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (events, seconds) = runtime.block_on(async move {
        let client = reqwest::Client::new();
        let mut after = String::new();
        let mut events = 0u64;
        let started = Instant::now();
        loop {
            let response: serde_json::Value = client
                .get(format!(
                    "http://{address}/v1/feed?subscription={subscription}&limit={page}&after={after}"
                ))
                .bearer_auth(&token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let count = response["events"].as_array().map_or(0, Vec::len);
            if count == 0 {
                break;
            }
            events += count as u64;
            after = response["next"].as_str().unwrap_or_default().to_owned();
        }
        Ok::<_, anyhow::Error>((events, started.elapsed().as_secs_f64()))
    })?;
    let _ = shutdown_sender.send(());
    let _ = server.join();
    let logged = dprofile_store::access_log::decode_head(store.access_head()?)?.size()
        - dprofile_store::access_log::decode_head(logged_before)?.size();
    Ok((events, seconds, logged))
}

pub fn bench(persons: u64, page: usize, pairs: usize) -> anyhow::Result<()> {
    let mut population = String::new();
    generate(&SynthConfig::new(persons, 42), |record| {
        population.push_str(&record.line);
        population.push('\n');
    });
    println!(
        "| webhook subscriptions | records | ingest s | records/s | events | delivered during ingest | drain s | delivered total |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut rates = Vec::new();
    for subscriptions in [0, 10].repeat(pairs.max(1)) {
        let run = ingest_run(&population, subscriptions)?;
        let rate = run.records as f64 / run.seconds;
        rates.push((subscriptions, rate));
        println!(
            "| {subscriptions} | {} | {:.2} | {:.0} | {} | {} | {:.1} | {} |",
            run.records,
            run.seconds,
            rate,
            run.events,
            run.delivered_during_ingest,
            run.drain_seconds,
            run.delivered_total
        );
    }
    let mean = |wanted: usize| {
        let picked: Vec<f64> = rates
            .iter()
            .filter(|(subscriptions, _)| *subscriptions == wanted)
            .map(|(_, rate)| *rate)
            .collect();
        picked.iter().sum::<f64>() / picked.len() as f64
    };
    let (without, with) = (mean(0), mean(10));
    println!(
        "\ningest with 10 webhook subscriptions: {:.1} % of the throughput without ({:.0} vs {:.0} records/s; cost {:.1} %)",
        100.0 * with / without,
        with,
        without,
        100.0 * (1.0 - with / without)
    );
    let (events, seconds, logged) = feed_run(&population, page)?;
    println!(
        "\npull feed over HTTP, pages of {page}: {events} events in {seconds:.2} s = {:.0} events/s ({logged} access-log entries)",
        events as f64 / seconds
    );
    Ok(())
}
