//! `dprofile-bench`: reproducible benchmarks that print figures (see BENCHMARKS.md).
//!
//! `ingest` runs `dprofile ingest` on a file against fresh SQLite and PostgreSQL stores and,
//! side by side, the physical limit: the same rows written by a minimal loop (prepared inserts
//! in one transaction for SQLite, binary `COPY` for PostgreSQL). `passes` measures QR pass
//! issuing and offline verification on one core.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

mod access_log;
mod events;
mod logging_cost;
mod passes;
mod share_check;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Ingest throughput of `dprofile ingest` against the minimal-loop limit.
    Ingest {
        /// NDJSON file (make one with `dprofile synth`).
        #[arg(long)]
        file: PathBuf,
        /// The `dprofile` binary to measure.
        #[arg(long, default_value = "target/release/dprofile")]
        dprofile: PathBuf,
        /// PostgreSQL server for the PostgreSQL rows; a database is created and dropped per run.
        #[arg(long, env = "BENCH_DATABASE_URL", default_value = dprofile_store::testing::DEFAULT_TEST_DATABASE_URL)]
        database_url: String,
        /// Skip PostgreSQL.
        #[arg(long)]
        sqlite_only: bool,
        /// Ingest with this resolver model (`dprofile ingest --model`): probabilistic
        /// resolution of every chunk's neighbourhood instead of strong identifiers only.
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
    },
    /// Pairwise precision, recall and F1 of `dprofile resolve` output against ground truth,
    /// over the pairs of records that share a person.
    Quality {
        /// `source,source_ref,person` as `dprofile resolve --out` writes it.
        #[arg(long)]
        assignments: PathBuf,
        /// `source,source_ref,person` as `dprofile synth --truth` writes it.
        #[arg(long)]
        truth: PathBuf,
    },
    /// Access-log appends per second on SQLite by entries per transaction, and verify speed.
    AccessLog {
        #[arg(long, default_value_t = 200_000)]
        entries: u64,
        /// Entries per transaction, one run each (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "1,10,100,1000")]
        batch: Vec<usize>,
        /// Concurrent callers appending one entry each, as requests do: one transaction per
        /// entry (before group commit) and through the access log's group commit (0: skip).
        #[arg(long, default_value_t = 64)]
        concurrent: usize,
    },
    /// What access logging adds: profile reads at a fixed rate (server CPU per read, p50,
    /// p99) and NDJSON batch ingest (records/s), logged and with logging off, on a real server
    /// over a synthetic SQLite store.
    LoggingCost {
        /// Persons of the synthetic population (about 11 records each).
        #[arg(long, default_value_t = 2000)]
        persons: u64,
        /// Profile reads per second, open loop.
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        /// Seconds of reads per mode.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Slices the reads are cut into, alternating between the two servers, so that load
        /// from elsewhere on the machine falls on both modes alike.
        #[arg(long, default_value_t = 10)]
        rounds: u64,
    },
    /// The server process of `logging-cost` (started by it).
    #[command(hide = true)]
    LoggingCostServe {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        unlogged: bool,
    },
    /// The share-code check over HTTP at a fixed rate (open loop): latency percentiles.
    ShareCheck {
        /// Persons in the population, one share code each.
        #[arg(long, default_value_t = 10_000)]
        persons: usize,
        /// Requests per second.
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// The change feed (issue 7): ingest with 0 and with 10 active webhook subscriptions side
    /// by side, then the pull feed over HTTP.
    Events {
        /// Persons of the synthetic population (about 11 records each).
        #[arg(long, default_value_t = 20_000)]
        persons: u64,
        /// Events per feed page.
        #[arg(long, default_value_t = 1000)]
        page: usize,
        /// Runs without and with the subscriptions, alternating.
        #[arg(long, default_value_t = 1)]
        pairs: usize,
    },
    /// QR passes on one core: issuing, offline verification, QR rendering and reading.
    Passes {
        #[arg(long, default_value_t = 100_000)]
        passes: u64,
    },
}

/// With `--features mimalloc`, the allocator `dprofile serve` has (crates/dprofile/src/main.rs):
/// the request benchmarks' server child is this binary.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        BenchCommand::Ingest {
            file,
            dprofile,
            database_url,
            sqlite_only,
            model,
        } => bench_ingest(
            &file,
            &dprofile,
            &database_url,
            sqlite_only,
            model.as_deref(),
        ),
        BenchCommand::Quality { assignments, truth } => quality(&assignments, &truth),
        BenchCommand::AccessLog {
            entries,
            batch,
            concurrent,
        } => {
            access_log::bench(entries, &batch)?;
            if concurrent > 0 {
                access_log::bench_concurrent(entries, concurrent)?;
            }
            Ok(())
        }
        BenchCommand::LoggingCost {
            persons,
            rate,
            seconds,
            rounds,
        } => logging_cost::bench(persons, rate, seconds, rounds),
        BenchCommand::LoggingCostServe { data_dir, unlogged } => {
            logging_cost::serve(&data_dir, unlogged)
        }
        BenchCommand::ShareCheck {
            persons,
            rate,
            seconds,
        } => share_check::bench(persons, rate, seconds),
        BenchCommand::Passes { passes } => passes::bench(passes),
        BenchCommand::Events {
            persons,
            page,
            pairs,
        } => events::bench(persons, page, pairs),
    }
}

/// Reads `source,source_ref,person` rows (header skipped) into key → label; a key listed twice
/// (several versions of one record) keeps its last label.
fn read_assignments(
    path: &Path,
) -> anyhow::Result<std::collections::HashMap<(String, String), String>> {
    let reader = BufReader::new(
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    let mut rows = std::collections::HashMap::new();
    for line in reader.lines().skip(1) {
        let line = line?;
        // The person is the last field; source and source_ref hold no commas in our data.
        let mut fields = line.rsplitn(2, ',');
        let (Some(person), Some(key)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some((source, source_ref)) = key.split_once(',') else {
            continue;
        };
        rows.insert(
            (source.to_owned(), source_ref.to_owned()),
            person.to_owned(),
        );
    }
    Ok(rows)
}

fn quality(assignments: &Path, truth: &Path) -> anyhow::Result<()> {
    let predicted = read_assignments(assignments)?;
    let truth = read_assignments(truth)?;
    let mut predicted_labels = Vec::with_capacity(truth.len());
    let mut true_labels = Vec::with_capacity(truth.len());
    let mut missing = 0u64;
    let mut intern: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut label = |text: &str| -> u64 {
        let next = intern.len() as u64;
        *intern.entry(text.to_owned()).or_insert(next)
    };
    for (key, true_person) in &truth {
        match predicted.get(key) {
            Some(person) => {
                predicted_labels.push(label(&format!("p{person}")));
                true_labels.push(label(&format!("t{true_person}")));
            }
            None => missing += 1,
        }
    }
    let counts = pairwise_counts(&predicted_labels, &true_labels);
    println!(
        "records compared: {} (in truth but not in the assignments: {missing})",
        predicted_labels.len()
    );
    println!(
        "persons: predicted {}, true {}",
        counts.predicted_clusters, counts.true_clusters
    );
    println!(
        "pairs: predicted {}, true {}, both {}",
        counts.predicted_pairs, counts.true_pairs, counts.both_pairs
    );
    let precision = counts.both_pairs as f64 / counts.predicted_pairs.max(1) as f64;
    let recall = counts.both_pairs as f64 / counts.true_pairs.max(1) as f64;
    let f1 = 2.0 * precision * recall / (precision + recall).max(1e-12);
    println!("pairwise precision {precision:.4}, recall {recall:.4}, F1 {f1:.4}");
    Ok(())
}

struct PairCounts {
    predicted_pairs: u64,
    true_pairs: u64,
    both_pairs: u64,
    predicted_clusters: usize,
    true_clusters: usize,
}

/// Pairs within clusters from cluster sizes and the contingency table: no pair is listed.
fn pairwise_counts(predicted: &[u64], truth: &[u64]) -> PairCounts {
    use std::collections::HashMap;
    let pairs = |size: u64| size * size.saturating_sub(1) / 2;
    let mut predicted_sizes: HashMap<u64, u64> = HashMap::new();
    let mut true_sizes: HashMap<u64, u64> = HashMap::new();
    let mut joint: HashMap<(u64, u64), u64> = HashMap::new();
    for (left, right) in predicted.iter().zip(truth) {
        *predicted_sizes.entry(*left).or_default() += 1;
        *true_sizes.entry(*right).or_default() += 1;
        *joint.entry((*left, *right)).or_default() += 1;
    }
    PairCounts {
        predicted_pairs: predicted_sizes.values().map(|size| pairs(*size)).sum(),
        true_pairs: true_sizes.values().map(|size| pairs(*size)).sum(),
        both_pairs: joint.values().map(|size| pairs(*size)).sum(),
        predicted_clusters: predicted_sizes.len(),
        true_clusters: true_sizes.len(),
    }
}

/// One measured row of the report.
struct Measurement {
    name: String,
    records: u64,
    seconds: f64,
    peak_rss_mib: Option<f64>,
}

impl Measurement {
    fn rate(&self) -> f64 {
        self.records as f64 / self.seconds.max(1e-9)
    }
}

fn count_lines(file: &Path) -> anyhow::Result<u64> {
    let reader = BufReader::with_capacity(1 << 20, std::fs::File::open(file)?);
    Ok(reader
        .split(b'\n')
        .filter(|line| line.as_ref().is_ok_and(|line| !line.is_empty()))
        .count() as u64)
}

fn bench_ingest(
    file: &Path,
    dprofile: &Path,
    database_url: &str,
    sqlite_only: bool,
    model: Option<&Path>,
) -> anyhow::Result<()> {
    let model_text = model.map(|path| path.display().to_string());
    let ingest_args: Vec<&str> = match &model_text {
        Some(path) => vec!["--model", path],
        None => Vec::new(),
    };
    let label = if model.is_some() {
        " (probabilistic)"
    } else {
        ""
    };
    if !dprofile.exists() {
        bail!(
            "{} does not exist: build it with `cargo build --release -p dprofile`",
            dprofile.display()
        );
    }
    let records = count_lines(file)?;
    println!(
        "file: {} ({records} lines, {:.0} MiB)",
        file.display(),
        std::fs::metadata(file)?.len() as f64 / 1048576.0
    );
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |cores| cores.get()),
        cpu_model()
    );
    let mut rows = Vec::new();

    let directory = tempfile::tempdir()?;
    rows.push(sqlite_minimal_loop(
        file,
        &directory.path().join("baseline.sqlite3"),
        records,
    )?);
    let data_dir = directory.path().join("dprofile-data");
    rows.push(run_dprofile(
        dprofile,
        file,
        &["--data-dir", data_dir.to_str().unwrap_or_default()],
        &ingest_args,
        &format!("dprofile ingest, SQLite{label}"),
        records,
    )?);

    if !sqlite_only {
        let mut admin =
            postgres::Client::connect(database_url, postgres::NoTls).with_context(|| {
                format!("PostgreSQL at {database_url} does not answer (use --sqlite-only to skip)")
            })?;
        let suffix = std::process::id();
        let baseline_db = format!("dprofile_bench_baseline_{suffix}");
        let ours_db = format!("dprofile_bench_ingest_{suffix}");
        for name in [&baseline_db, &ours_db] {
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))?;
            admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        }
        let baseline_url = dprofile_store::testing::replace_database(database_url, &baseline_db);
        let ours_url = dprofile_store::testing::replace_database(database_url, &ours_db);
        rows.push(postgres_minimal_loop(file, &baseline_url, records)?);
        rows.push(run_dprofile(
            dprofile,
            file,
            &["--database-url", &ours_url],
            &ingest_args,
            &format!("dprofile ingest, PostgreSQL{label}"),
            records,
        )?);
        for name in [&baseline_db, &ours_db] {
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        }
    }

    println!();
    println!("| what | records | seconds | records/s | share of the limit | peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|");
    for pair in rows.chunks(2) {
        let limit = pair[0].rate();
        for row in pair {
            println!(
                "| {} | {} | {:.2} | {:.0} | {:.0} % | {} |",
                row.name,
                row.records,
                row.seconds,
                row.rate(),
                100.0 * row.rate() / limit,
                row.peak_rss_mib
                    .map_or("-".to_owned(), |mib| format!("{mib:.0} MiB"))
            );
        }
    }
    Ok(())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// The fields of a line that the records table keeps beside the raw bytes.
#[derive(serde::Deserialize)]
struct LineKey {
    source: String,
    source_ref: String,
    #[serde(default)]
    revision: Option<i64>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    category: Option<String>,
}

fn read_keys(
    file: &Path,
    mut each: impl FnMut(LineKey, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let reader = BufReader::with_capacity(1 << 20, std::fs::File::open(file)?);
    for line in reader.split(b'\n') {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        if let Ok(key) = serde_json::from_slice::<LineKey>(&line) {
            each(key, &line)?;
        }
    }
    Ok(())
}

/// The physical limit on SQLite: the same `records` rows (the largest table, raw line
/// included) by prepared inserts in one transaction, same pragmas as the store.
fn sqlite_minimal_loop(file: &Path, path: &Path, records: u64) -> anyhow::Result<Measurement> {
    settle();
    let started = Instant::now();
    let mut connection = rusqlite::Connection::open(path)?;
    connection.pragma_update(None, "page_size", 16_384)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.execute_batch(
        "CREATE TABLE records (id INTEGER PRIMARY KEY, source TEXT NOT NULL, source_ref TEXT NOT NULL,
             revision INTEGER NOT NULL, action TEXT NOT NULL, category TEXT, received_at INTEGER NOT NULL,
             content_hash BLOB NOT NULL, raw BLOB NOT NULL, outcome TEXT NOT NULL);
         CREATE UNIQUE INDEX records_version ON records (source, source_ref, revision, action);",
    )?;
    let transaction = connection.transaction()?;
    {
        let mut statement = transaction.prepare(
            "INSERT OR IGNORE INTO records (source, source_ref, revision, action, category, received_at, content_hash, raw, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'accepted')",
        )?;
        read_keys(file, |key, line| {
            statement.execute(rusqlite::params![
                key.source,
                key.source_ref,
                key.revision.unwrap_or(1),
                key.action.unwrap_or_else(|| "upsert".to_owned()),
                key.category,
                0i64,
                &[0u8; 32][..],
                line
            ])?;
            Ok(())
        })?;
    }
    transaction.commit()?;
    Ok(Measurement {
        name: "minimal loop, SQLite (prepared inserts, one transaction)".to_owned(),
        records,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_mib: None,
    })
}

/// The physical limit on PostgreSQL: the same rows by one binary `COPY`.
fn postgres_minimal_loop(file: &Path, url: &str, records: u64) -> anyhow::Result<Measurement> {
    settle();
    let started = Instant::now();
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    client.batch_execute(
        "CREATE TABLE records (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, source TEXT NOT NULL,
             source_ref TEXT NOT NULL, revision INTEGER NOT NULL, action TEXT NOT NULL, category TEXT,
             content_hash BYTEA NOT NULL, raw BYTEA NOT NULL, outcome TEXT NOT NULL);
         CREATE UNIQUE INDEX records_version ON records (source, source_ref, revision, action);",
    )?;
    let mut transaction = client.transaction()?;
    let sink = transaction.copy_in(
        "COPY records (source, source_ref, revision, action, category, content_hash, raw, outcome) FROM STDIN (FORMAT binary)",
    )?;
    let types = [
        Type::TEXT,
        Type::TEXT,
        Type::INT4,
        Type::TEXT,
        Type::TEXT,
        Type::BYTEA,
        Type::BYTEA,
        Type::TEXT,
    ];
    let mut writer = BinaryCopyInWriter::new(sink, &types);
    let hash: &[u8] = &[0u8; 32];
    // The file holds a few resent versions; COPY cannot skip them, so keep the first.
    let mut seen = std::collections::HashSet::new();
    read_keys(file, |key, line| {
        let revision = key.revision.unwrap_or(1) as i32;
        let action = key.action.unwrap_or_else(|| "upsert".to_owned());
        if seen.insert((
            key.source.clone(),
            key.source_ref.clone(),
            revision,
            action.clone(),
        )) {
            writer.write(&[
                &key.source,
                &key.source_ref,
                &revision,
                &action,
                &key.category,
                &hash,
                &line,
                &"accepted",
            ])?;
        }
        Ok(())
    })?;
    writer.finish()?;
    transaction.commit()?;
    Ok(Measurement {
        name: "minimal loop, PostgreSQL (binary COPY)".to_owned(),
        records,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_mib: None,
    })
}

/// Flushes what earlier steps left in the page cache, so that one step's write-back does
/// not land in the next step's time.
fn settle() {
    let _ = Command::new("sync").status();
    std::thread::sleep(Duration::from_secs(2));
}

/// Runs `dprofile ingest FILE` and measures its wall time and peak RSS (VmHWM, polled).
fn run_dprofile(
    dprofile: &Path,
    file: &Path,
    store_args: &[&str],
    ingest_args: &[&str],
    name: &str,
    records: u64,
) -> anyhow::Result<Measurement> {
    settle();
    let started = Instant::now();
    let mut child = Command::new(dprofile)
        .args(store_args)
        .arg("ingest")
        .arg(file)
        .args(ingest_args)
        .env("DPROFILE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run {}", dprofile.display()))?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib: u64 = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path)
            && let Some(line) = text.lines().find(|line| line.starts_with("VmHWM:"))
        {
            let kib: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|value| value.parse().ok())
                .unwrap_or(0);
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let seconds = started.elapsed().as_secs_f64();
    let mut output = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        std::io::Read::read_to_string(&mut stdout, &mut output)?;
    }
    print!("{name}: {output}");
    std::io::stdout().flush()?;
    if !status.success() {
        bail!("{name} failed with {status}");
    }
    Ok(Measurement {
        name: name.to_owned(),
        records,
        seconds,
        peak_rss_mib: Some(peak_kib as f64 / 1024.0),
    })
}
