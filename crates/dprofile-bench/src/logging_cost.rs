//! `logging-cost`: what the access log adds to the API's work, measured on a real server (a
//! child process, so that its CPU time is its own) over a synthetic SQLite store, side by side
//! with the same server whose access log writes nothing (`AccessLog::unlogged_for_benchmarks`,
//! compiled only into this benchmark through the pipeline's `bench-unlogged` feature).
//!
//! Per mode: a fresh store; every agency posts its synthetic records through
//! `POST /v1/records/batch` with its own key (records/s, server CPU per record); then
//! `GET /v1/persons/{id}` with a purpose and a case at a fixed rate, open loop (each request
//! is sent at its scheduled instant whatever the earlier ones do, and its latency counts from
//! that instant, so queueing is not hidden): server CPU per read, p50 and p99. Both servers
//! run at once and the reads alternate between them in rounds: on a machine shared with
//! other builds, one mode after the other measured the load's changes as often as logging.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use dprofile_audit::LogKey;
use dprofile_pipeline::access_log::{AccessLog, DEFAULT_ORIGIN};
use dprofile_pipeline::{Ingestor, SystemClock};
use dprofile_policy::Policy;
use dprofile_store::{SqliteStore, Store};

/// The benchmark's own log key: the store is thrown away afterwards.
fn log_key() -> anyhow::Result<LogKey> {
    Ok(LogKey::from_seed(DEFAULT_ORIGIN, [3; 32])?)
}

/// The child: serves the API over the store in `data_dir` on a free port, prints the port,
/// and stops when its standard input closes.
pub fn serve(data_dir: &Path, unlogged: bool) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(data_dir)?);
    let ingestor = Ingestor::new(Arc::clone(&store), Arc::new(SystemClock));
    let mut state = dprofile_api::AppState::new(
        Arc::clone(&store),
        ingestor,
        dprofile_api::ApiConfig::default(),
        log_key()?,
    );
    if unlogged {
        state.access_log = Arc::new(AccessLog::unlogged_for_benchmarks(store, log_key()?));
    }
    let access_log = Arc::clone(&state.access_log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("port {}", listener.local_addr()?.port());
        std::io::stdout().flush()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            let _ = stop.send(());
        });
        dprofile_api::serve(listener, state, async move {
            let _ = stopped.await;
        })
        .await?;
        if !unlogged {
            let stats = access_log.group_commit_stats();
            eprintln!(
                "server: {} access-log entries in {} group-commit transactions (mean {:.1}, largest {})",
                stats.entries,
                stats.batches,
                stats.mean_batch(),
                stats.largest_batch
            );
        }
        anyhow::Ok(())
    })
}

/// The server process of one mode.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(data_dir: &Path, unlogged: bool) -> anyhow::Result<Server> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .arg("logging-cost-serve")
            .arg("--data-dir")
            .arg(data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if unlogged {
            command.arg("--unlogged");
        }
        let mut child = command.spawn().context("cannot start the server process")?;
        let stdout = child.stdout.take().context("the server's output")?;
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first)?;
        let port = first
            .trim()
            .strip_prefix("port ")
            .and_then(|port| port.parse().ok())
            .with_context(|| format!("the server said `{first}` instead of its port"))?;
        Ok(Server { child, port })
    }

    /// User + system CPU time of the server process so far.
    fn cpu(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        let after_name = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .context("a /proc stat line")?;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // Fields 14 and 15 of stat(5), counted from the state (field 3) here.
        let ticks: u64 = fields
            .get(11)
            .and_then(|utime| utime.parse::<u64>().ok())
            .zip(fields.get(12).and_then(|stime| stime.parse::<u64>().ok()))
            .map(|(utime, stime)| utime + stime)
            .context("utime and stime")?;
        // Linux reports CPU time in USER_HZ ticks, 100 per second on every platform it runs.
        Ok(Duration::from_millis(ticks * 10))
    }

    fn stop(mut self) -> anyhow::Result<()> {
        drop(self.child.stdin.take());
        self.child.wait()?;
        Ok(())
    }
}

/// The records of a synthetic population by sending agency, in generation order.
fn synthetic_by_source(persons: u64) -> BTreeMap<String, String> {
    let mut by_source: BTreeMap<String, String> = BTreeMap::new();
    dprofile_synth::generate(&dprofile_synth::SynthConfig::new(persons, 7), |record| {
        let body = by_source.entry(record.source).or_default();
        body.push_str(&record.line);
        body.push('\n');
    });
    by_source
}

/// A key per sending agency (in a role its agency holds) and a migration officer's key.
fn issue_keys(data_dir: &Path) -> anyhow::Result<(BTreeMap<String, String>, String)> {
    let store = SqliteStore::open_dir(data_dir)?;
    let policy = Policy::default_policy();
    let now = chrono::Utc::now();
    let mut writers = BTreeMap::new();
    for agency in policy.writing_agencies() {
        let role = policy
            .roles()
            .find(|role| policy.role_agencies(role).any(|held| held == agency))
            .with_context(|| format!("no role for agency {agency}"))?;
        let issued =
            dprofile_pipeline::api_keys::issue(&store, &policy, "bench", agency, role, now)?;
        writers.insert(agency.to_owned(), issued.token);
    }
    let reader = dprofile_pipeline::api_keys::issue(
        &store,
        &policy,
        "bench reader",
        "mvd-migration",
        "migration_officer",
        now,
    )?;
    Ok((writers, reader.token))
}

struct WriteFigures {
    records: u64,
    seconds: f64,
    cpu: Duration,
    persons: Vec<i64>,
}

async fn post_batches(
    client: &reqwest::Client,
    base: &str,
    server: &Server,
    by_source: &BTreeMap<String, String>,
    keys: &BTreeMap<String, String>,
) -> anyhow::Result<WriteFigures> {
    let mut persons = std::collections::BTreeSet::new();
    let mut records = 0u64;
    let cpu_before = server.cpu()?;
    let started = Instant::now();
    for (source, body) in by_source {
        let key = keys
            .get(source)
            .with_context(|| format!("no key for source {source}"))?;
        let answer = client
            .post(format!("{base}/v1/records/batch"))
            .bearer_auth(key)
            .header("content-type", "application/x-ndjson")
            .body(body.clone())
            .send()
            .await?
            .text()
            .await?;
        for line in answer.lines() {
            let value: serde_json::Value = serde_json::from_str(line)?;
            if let Some(summary) = value.get("summary") {
                if summary.get("refused").is_some() {
                    bail!("{source}: lines were refused: {summary}");
                }
                continue;
            }
            if value.get("error").is_some() {
                bail!("{source}: the batch failed: {value}");
            }
            records += 1;
            if let Some(person) = value.get("person_id").and_then(serde_json::Value::as_i64) {
                persons.insert(person);
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = server.cpu()? - cpu_before;
    Ok(WriteFigures {
        records,
        seconds,
        cpu,
        persons: persons.into_iter().collect(),
    })
}

/// One slice of reads against one server.
struct ReadSlice {
    reads: u64,
    failed: u64,
    cpu: Duration,
    /// Each read's latency from its scheduled instant.
    latencies: Vec<Duration>,
}

/// Sends `total` `GET /v1/persons/{id}` at `rate` per second, open loop, for persons drawn by
/// a pseudo-random walk continued from `walk` (the same walk in both modes).
#[expect(
    clippy::too_many_arguments,
    reason = "one caller, every argument named there"
)]
async fn read_open_loop(
    client: &reqwest::Client,
    base: &str,
    server: &Server,
    persons: &[i64],
    reader_key: &str,
    rate: u64,
    total: u64,
    walk: &mut u64,
) -> anyhow::Result<ReadSlice> {
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let cpu_before = server.cpu()?;
    let start = tokio::time::Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(total as usize);
    for index in 0..total {
        // A fixed pseudo-random walk over the persons (xorshift), the same in both modes.
        *walk ^= *walk << 13;
        *walk ^= *walk >> 7;
        *walk ^= *walk << 17;
        let person = persons[(*walk % persons.len() as u64) as usize];
        let scheduled = start + interval * index as u32;
        tokio::time::sleep_until(scheduled).await;
        let request = client
            .get(format!("{base}/v1/persons/{person}"))
            .bearer_auth(reader_key)
            .header("x-purpose", "stay_control")
            .header("x-case-ref", format!("bench-{index}"));
        tasks.push(tokio::spawn(async move {
            let ok = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    // A merged person answers 308: a read all the same.
                    response.bytes().await.is_ok()
                        && (status.is_success() || status.is_redirection())
                }
                Err(_) => false,
            };
            (ok, scheduled.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failed = 0;
    for task in tasks {
        let (ok, latency) = task.await?;
        if !ok {
            failed += 1;
        }
        latencies.push(latency);
    }
    let cpu = server.cpu()? - cpu_before;
    Ok(ReadSlice {
        reads: total,
        failed,
        cpu,
        latencies,
    })
}

/// Every slice of one mode's reads, summed.
#[derive(Default)]
struct ReadFigures {
    reads: u64,
    failed: u64,
    cpu: Duration,
    latencies: Vec<Duration>,
    /// Server CPU per read of each round.
    per_round: Vec<f64>,
}

impl ReadFigures {
    fn add(&mut self, slice: ReadSlice) {
        self.reads += slice.reads;
        self.failed += slice.failed;
        self.cpu += slice.cpu;
        self.per_round
            .push(slice.cpu.as_secs_f64() / slice.reads.max(1) as f64);
        self.latencies.extend(slice.latencies);
    }

    fn percentile(&self, share: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        sorted
            .get(((sorted.len() as f64 * share) as usize).min(sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    }

    fn cpu_per_read(&self) -> f64 {
        self.cpu.as_secs_f64() / self.reads.max(1) as f64
    }
}

/// One mode's server, its keys and figures.
struct Mode {
    unlogged: bool,
    server: Server,
    writer_keys: BTreeMap<String, String>,
    reader_key: String,
    writes: Option<WriteFigures>,
    reads: ReadFigures,
    walk: u64,
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Both servers run side by side, each over its own store; after the ingest and a second of
/// warm-up each, the reads alternate between them in `rounds` slices (off, on, off, on, …), so
/// that the other engineers' builds on the shared machine weigh on both modes alike.
pub fn bench(persons: u64, rate: u64, seconds: u64, rounds: u64) -> anyhow::Result<()> {
    let rounds = rounds.max(1);
    let by_source = synthetic_by_source(persons);
    let lines: usize = by_source.values().map(|body| body.lines().count()).sum();
    println!(
        "synthetic store: {persons} persons, {lines} records from {} agencies; reads at {rate}/s for {seconds} s per mode in {rounds} alternating rounds, open loop",
        by_source.len()
    );
    let work_dir = tempfile::tempdir()?;
    let mut modes = Vec::new();
    for unlogged in [true, false] {
        let data_dir: PathBuf = work_dir
            .path()
            .join(if unlogged { "unlogged" } else { "logged" });
        std::fs::create_dir_all(&data_dir)?;
        let (writer_keys, reader_key) = issue_keys(&data_dir)?;
        modes.push(Mode {
            unlogged,
            server: Server::start(&data_dir, unlogged)?,
            writer_keys,
            reader_key,
            writes: None,
            reads: ReadFigures::default(),
            walk: 0x9E37_79B9_7F4A_7C15,
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let per_round = (rate * seconds / rounds).max(1);
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(256)
            .build()?;
        for mode in &mut modes {
            let base = format!("http://127.0.0.1:{}", mode.server.port);
            let writes =
                post_batches(&client, &base, &mode.server, &by_source, &mode.writer_keys).await?;
            anyhow::ensure!(!writes.persons.is_empty(), "no persons were written");
            // A second of the same load first: connections opened, caches warm.
            let mut warm_up_walk = 1;
            read_open_loop(
                &client,
                &base,
                &mode.server,
                &writes.persons,
                &mode.reader_key,
                rate,
                rate,
                &mut warm_up_walk,
            )
            .await?;
            mode.writes = Some(writes);
        }
        for _ in 0..rounds {
            for mode in &mut modes {
                let base = format!("http://127.0.0.1:{}", mode.server.port);
                let persons = mode
                    .writes
                    .as_ref()
                    .map(|writes| writes.persons.clone())
                    .unwrap_or_default();
                let slice = read_open_loop(
                    &client,
                    &base,
                    &mode.server,
                    &persons,
                    &mode.reader_key,
                    rate,
                    per_round,
                    &mut mode.walk,
                )
                .await?;
                mode.reads.add(slice);
            }
        }
        anyhow::Ok(())
    })?;
    let label = |mode: &Mode| {
        if mode.unlogged {
            "logging off"
        } else {
            "logged"
        }
    };
    println!(
        "\n| reads | reads | failed | server CPU per read | p50 | p99 |\n|---|---:|---:|---:|---:|---:|"
    );
    for mode in &modes {
        let reads = &mode.reads;
        println!(
            "| {} | {} | {} | {:.3} ms | {:.2} ms | {:.2} ms |",
            label(mode),
            reads.reads,
            reads.failed,
            reads.cpu_per_read() * 1000.0,
            millis(reads.percentile(0.50)),
            millis(reads.percentile(0.99))
        );
    }
    println!(
        "\n| batch ingest | records | seconds | records/s | server CPU per record |\n|---|---:|---:|---:|---:|"
    );
    for mode in &modes {
        let Some(writes) = &mode.writes else {
            continue;
        };
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.3} ms |",
            if mode.unlogged {
                "write logging off"
            } else {
                "writes logged"
            },
            writes.records,
            writes.seconds,
            writes.records as f64 / writes.seconds,
            millis(writes.cpu) / writes.records as f64
        );
    }
    if let [off, on] = modes.as_slice()
        && let (Some(off_writes), Some(on_writes)) = (&off.writes, &on.writes)
    {
        let added = |on: f64, off: f64| (on / off.max(f64::MIN_POSITIVE) - 1.0) * 100.0;
        let by_round: Vec<String> = off
            .reads
            .per_round
            .iter()
            .zip(&on.reads.per_round)
            .map(|(off, on)| format!("{:+.1} %", added(*on, *off)))
            .collect();
        println!(
            "\nadded server CPU per read, round by round: {}",
            by_round.join(", ")
        );
        println!(
            "logging adds {:+.1} % server CPU per read, {:+.1} % at p50, {:+.1} % at p99; write logging changes batch records/s by {:+.1} %",
            added(on.reads.cpu_per_read(), off.reads.cpu_per_read()),
            added(
                on.reads.percentile(0.50).as_secs_f64(),
                off.reads.percentile(0.50).as_secs_f64()
            ),
            added(
                on.reads.percentile(0.99).as_secs_f64(),
                off.reads.percentile(0.99).as_secs_f64()
            ),
            added(
                on_writes.records as f64 / on_writes.seconds,
                off_writes.records as f64 / off_writes.seconds
            )
        );
    }
    for mode in modes {
        mode.server.stop()?;
    }
    Ok(())
}
