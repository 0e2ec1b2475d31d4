//! `dprofile resolve FILE --out assignments.csv`: identity resolution of one batch, in memory,
//! with the probabilistic resolver. Reads only `source`, `source_ref`, `observed_at` and
//! `subject`.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use dprofile_domain::{Action, ParseMode, parse_record};
use dprofile_pipeline::resolution::FrozenResolver;
use dprofile_resolver::{ResolverConfig, ResolverRecord};
use rustc_hash::FxHashMap;

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// NDJSON file of records (`-` for standard input).
    pub file: PathBuf,
    /// Where to write `source,source_ref,person`, one row per input line.
    #[arg(long)]
    pub out: PathBuf,
    /// Score with this saved model instead of fitting one on the file (no estimation; term
    /// frequencies are the model's). Ingest with the same model reaches the same persons.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Write the model used (fitted, or the one given) to this file, as JSON.
    #[arg(long, value_name = "FILE")]
    pub save_model: Option<PathBuf>,
}

/// Bytes read per round; each round's lines are split over the cores.
const BYTES_PER_ROUND: usize = 8 << 20;

/// What one line told about its key.
enum LineReading {
    /// A version with a readable subject.
    Subject {
        revision: u32,
        record: Box<ResolverRecord>,
    },
    /// A retraction, or a subject the rules refuse: the key still gets a person.
    KeyOnly,
    /// No `source`/`source_ref`: no row can be written.
    Unreadable,
}

/// A line's key (`source`, `source_ref`), when it has one, and what it told about it.
type Reading = (Option<(String, String)>, LineReading);

/// The envelope fields `resolve` reads; `data` and the rest are skipped unparsed, which
/// makes reading a third faster than the full envelope.
#[derive(serde::Deserialize)]
struct ResolveLine<'line> {
    source: String,
    source_ref: String,
    #[serde(default)]
    revision: Option<u32>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    subject: Option<serde_json::Value>,
    /// The day tells a renewed passport from a namesake's (see the resolver's renewal rules).
    /// Borrowed from the line: no allocation per line.
    #[serde(default, borrow)]
    observed_at: Option<&'line str>,
}

/// [`ResolveLine`] with the subject deserialized in the same pass over the bytes, without an
/// intermediate JSON tree (building that tree and walking it again took half of a line's time).
#[derive(serde::Deserialize)]
struct TypedResolveLine<'line> {
    source: String,
    source_ref: String,
    /// The day tells a renewed passport from a namesake's; borrowed from the line.
    #[serde(default, borrow)]
    observed_at: Option<&'line str>,
    #[serde(default)]
    revision: Option<u32>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    subject: Option<dprofile_domain::subject::UncheckedSubject>,
}

fn read_line(line: &[u8]) -> Reading {
    // Fastest path: the subject typed straight from the bytes. A line it cannot take (a
    // subject of the wrong shape, a duplicate key) goes down the paths below, as before.
    if let Ok(fast) = serde_json::from_slice::<TypedResolveLine>(line)
        && dprofile_domain::values::SourceId::parse(&fast.source).is_ok()
        && dprofile_domain::values::SourceRef::parse(&fast.source_ref).is_ok()
        && fast.revision.is_none_or(|revision| revision >= 1)
    {
        let key = Some((fast.source, fast.source_ref));
        if !matches!(fast.action.as_deref(), None | Some("upsert")) {
            return (key, LineReading::KeyOnly);
        }
        let subject = match fast.subject {
            None => dprofile_domain::Subject::default(),
            Some(unchecked) => match unchecked.check() {
                Ok(subject) => subject,
                Err(_) => return (key, LineReading::KeyOnly),
            },
        };
        let reading = LineReading::Subject {
            revision: fast.revision.unwrap_or(1),
            record: Box::new(ResolverRecord::from_envelope(0, &subject, fast.observed_at)),
        };
        return (key, reading);
    }
    // Fast path for well-formed lines; anything unusual goes through the full envelope rules.
    if let Ok(fast) = serde_json::from_slice::<ResolveLine>(line)
        && dprofile_domain::values::SourceId::parse(&fast.source).is_ok()
        && dprofile_domain::values::SourceRef::parse(&fast.source_ref).is_ok()
        && fast.revision.is_none_or(|revision| revision >= 1)
    {
        let key = Some((fast.source, fast.source_ref));
        match fast.action.as_deref() {
            None | Some("upsert") => {}
            Some("retract") => return (key, LineReading::KeyOnly),
            Some(_) => return (key, LineReading::KeyOnly),
        }
        let subject = match &fast.subject {
            None | Some(serde_json::Value::Null) => dprofile_domain::Subject::default(),
            Some(value @ serde_json::Value::Object(_)) => {
                match dprofile_domain::subject::parse_subject(value).result {
                    Ok(subject) => subject,
                    Err(_) => return (key, LineReading::KeyOnly),
                }
            }
            Some(_) => return (key, LineReading::KeyOnly),
        };
        let reading = LineReading::Subject {
            revision: fast.revision.unwrap_or(1),
            record: Box::new(ResolverRecord::from_envelope(0, &subject, fast.observed_at)),
        };
        return (key, reading);
    }
    match parse_record(line, ParseMode::SubjectOnly) {
        Ok(record) => {
            let key = Some((
                record.source.as_str().to_owned(),
                record.source_ref.as_str().to_owned(),
            ));
            if record.action == Action::Retract {
                return (key, LineReading::KeyOnly);
            }
            let reading = LineReading::Subject {
                revision: record.revision,
                record: Box::new(ResolverRecord {
                    observed_on: record.observed_at.map(|instant| instant.date_naive()),
                    ..ResolverRecord::from_subject(0, &record.subject)
                }),
            };
            (key, reading)
        }
        Err(rejection) => match (rejection.source, rejection.source_ref) {
            (Some(source), Some(source_ref)) => (Some((source, source_ref)), LineReading::KeyOnly),
            _ => (None, LineReading::Unreadable),
        },
    }
}

/// Splits `bytes` into up to `pieces` runs of whole lines of about equal size.
fn split_at_lines(bytes: &[u8], pieces: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(pieces);
    let mut start = 0;
    for piece in 1..pieces {
        let target = (bytes.len() * piece / pieces).max(start);
        let cut = bytes[target..]
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or(bytes.len(), |offset| target + offset + 1);
        parts.push(&bytes[start..cut]);
        start = cut;
    }
    parts.push(&bytes[start..]);
    parts
}

/// Reads every line of `bytes` (whole lines), one run of lines per core, in order.
fn read_round(bytes: &[u8]) -> Vec<Reading> {
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    let read_lines = |run: &[u8]| {
        run.split(|&byte| byte == b'\n')
            .map(|line| {
                let end = line
                    .iter()
                    .rposition(|&byte| byte != b'\r')
                    .map_or(0, |last| last + 1);
                &line[..end]
            })
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .map(read_line)
            .collect::<Vec<_>>()
    };
    let read_lines = &read_lines;
    std::thread::scope(|scope| {
        let workers: Vec<_> = split_at_lines(bytes, cores)
            .into_iter()
            .map(|run| scope.spawn(move || read_lines(run)))
            .collect();
        let mut readings = Vec::new();
        for worker in workers {
            // A panicking worker is a bug, not bad input: re-raise it.
            match worker.join() {
                Ok(part) => readings.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        readings
    })
}

/// Tops `buffer` up to about [`BYTES_PER_ROUND`] and returns the length of its whole lines
/// (all of it at the end of the input), or `None` when nothing is left.
fn fill_round(
    reader: &mut dyn Read,
    buffer: &mut Vec<u8>,
    at_end: &mut bool,
) -> std::io::Result<Option<usize>> {
    loop {
        if !*at_end {
            // A line longer than a round makes the buffer grow until the line ends.
            let room = BYTES_PER_ROUND.saturating_sub(buffer.len()).max(1 << 16);
            *at_end = reader.take(room as u64).read_to_end(buffer)? == 0;
        }
        if *at_end {
            return Ok((!buffer.is_empty()).then_some(buffer.len()));
        }
        if let Some(last) = buffer.iter().rposition(|&byte| byte == b'\n') {
            return Ok(Some(last + 1));
        }
    }
}

/// mimalloc keeps freed pages for a while before handing them back (its purge delay). Resolve
/// frees and allocates gigabytes stage after stage, and the kept pages add up: on the synthetic
/// million, peak RSS was 1.31–1.73 GiB from run to run with the default delay and 1.10 GiB with
/// immediate purging, at the same speed. mimalloc takes the option from the environment when
/// the process starts, so without it set the command runs itself again once with it.
///
/// Purged pages come back zeroed by the kernel when used again, and with transparent huge
/// pages each first touch zeroes 2 MiB at once: the kernel's page zeroing was a sixth of the
/// CPU time. Without huge pages (mimalloc's `allow_thp` off, for this process only) system
/// time fell from 5.0-5.2 s to 2.6 s on the synthetic million and reading got a second
/// faster, for 0.5 s more user time (more TLB misses); peak RSS 1.09 instead of 1.11 GiB.
fn rerun_with_prompt_purging() -> anyhow::Result<Option<ExitCode>> {
    const PURGE_DELAY: &str = "MIMALLOC_PURGE_DELAY";
    const ALLOW_THP: &str = "MIMALLOC_ALLOW_THP";
    if std::env::var_os(PURGE_DELAY).is_some() {
        return Ok(None);
    }
    let program = std::env::current_exe().context("cannot find the dprofile executable")?;
    let mut command = std::process::Command::new(program);
    command
        .args(std::env::args_os().skip(1))
        .env(PURGE_DELAY, "0");
    if std::env::var_os(ALLOW_THP).is_none() {
        command.env(ALLOW_THP, "0");
    }
    let status = command
        .status()
        .context("cannot run resolve with prompt purging")?;
    Ok(Some(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    }))
}

pub fn run(args: ResolveArgs) -> anyhow::Result<ExitCode> {
    if let Some(code) = rerun_with_prompt_purging()? {
        return Ok(code);
    }
    let started = Instant::now();
    let mut reader: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            File::open(&args.file)
                .with_context(|| format!("cannot open {}", args.file.display()))?,
        )
    };
    // Keys in order of first appearance; each line refers to its key.
    let mut key_index: FxHashMap<(String, String), u32> = FxHashMap::default();
    // The latest readable subject of each key.
    let mut subjects: Vec<Option<(u32, Box<ResolverRecord>)>> = Vec::new();
    let mut line_keys: Vec<u32> = Vec::new();
    let mut unreadable = 0u64;
    // Whole rounds of bytes, split at line ends: no allocation per line, and the lines'
    // parsing runs on every core. While one round is parsed, this thread files the lines of
    // the round before (in round order, so the outcome is that of one pass in file order).
    let mut buffer: Vec<u8> = Vec::with_capacity(BYTES_PER_ROUND + (1 << 16));
    let mut at_end = false;
    let mut file_round = |readings: Vec<Reading>| {
        for (key, reading) in readings {
            let Some(key) = key else {
                unreadable += 1;
                continue;
            };
            let next = key_index.len() as u32;
            let index = *key_index.entry(key).or_insert(next);
            if index == next {
                subjects.push(None);
            }
            line_keys.push(index);
            if let LineReading::Subject { revision, record } = reading {
                let slot = &mut subjects[index as usize];
                if slot.as_ref().is_none_or(|(held, _)| revision > *held) {
                    *slot = Some((revision, record));
                }
            }
        }
    };
    let mut parsed: Option<Vec<Reading>> = None;
    while let Some(round_end) = fill_round(&mut reader, &mut buffer, &mut at_end)? {
        let round = &buffer[..round_end];
        let readings = std::thread::scope(|scope| {
            let parsing = scope.spawn(move || read_round(round));
            if let Some(previous) = parsed.take() {
                file_round(previous);
            }
            match parsing.join() {
                Ok(readings) => readings,
                // A panicking worker is a bug, not bad input: re-raise it.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        });
        parsed = Some(readings);
        buffer.drain(..round_end);
    }
    if let Some(last) = parsed.take() {
        file_round(last);
    }
    drop(buffer);
    // The map's keys become the key list: one copy of each key is kept, not two.
    let mut keys: Vec<(String, String)> = vec![Default::default(); key_index.len()];
    for (key, index) in key_index {
        keys[index as usize] = key;
    }
    let read_seconds = started.elapsed().as_secs_f64();

    // One resolver record per key with a readable subject; the rest stand alone.
    let mut record_keys: Vec<u32> = Vec::new();
    let mut records: Vec<ResolverRecord> = Vec::new();
    for (index, subject) in subjects.into_iter().enumerate() {
        if let Some((_, mut record)) = subject {
            record.id = records.len() as u32;
            record_keys.push(index as u32);
            records.push(*record);
        }
    }
    let config = ResolverConfig::for_person_records();
    // Stage times go to stderr: the engine keeps no clock, the observer lets the caller keep one.
    let mut stage_started = Instant::now();
    let mut stage_times: Vec<String> = Vec::new();
    let resolution = match &args.model {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the model {}", path.display()))?;
            let frozen = FrozenResolver::from_json_with(&text, config.clone())
                .with_context(|| format!("{} is not a resolver model", path.display()))?;
            dprofile_resolver::resolve_with_model(records, &config, &frozen.model)
        }
        None => dprofile_resolver::resolve_observed(records, &config, None, &mut |stage| {
            stage_times.push(format!(
                "{stage:?} {:.1} s",
                stage_started.elapsed().as_secs_f64()
            ));
            stage_started = Instant::now();
        }),
    };
    if let Some(path) = &args.save_model {
        let text = serde_json::to_string(&resolution.model)?;
        std::fs::write(path, text)
            .with_context(|| format!("cannot write the model to {}", path.display()))?;
    }
    let mut person_of_key: Vec<u64> = vec![0; keys.len()];
    for (position, key) in record_keys.iter().enumerate() {
        person_of_key[*key as usize] = u64::from(resolution.person_of[position]) + 1;
    }
    let mut next_alone = resolution.persons as u64 + 1;
    let mut alone = 0u64;
    for person in &mut person_of_key {
        if *person == 0 {
            *person = next_alone;
            next_alone += 1;
            alone += 1;
        }
    }

    let output =
        File::create(&args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
    let mut writer = BufWriter::new(output);
    writeln!(writer, "source,source_ref,person")?;
    for key in &line_keys {
        let (source, source_ref) = &keys[*key as usize];
        writeln!(
            writer,
            "{},{},{}",
            csv_field(source),
            csv_field(source_ref),
            person_of_key[*key as usize]
        )?;
    }
    writer.flush()?;
    eprintln!(
        "resolved {} lines ({} records) into {} persons in {:.1} s (reading {:.1} s; {}; {} candidate pairs); {} possible matches for review; {} lines without source/source_ref skipped, {} records without a readable subject kept as their own persons",
        line_keys.len(),
        keys.len(),
        next_alone - 1,
        started.elapsed().as_secs_f64(),
        read_seconds,
        stage_times.join(", "),
        resolution.blocking.candidate_pairs,
        resolution.possible_matches.len(),
        unreadable,
        alone
    );
    Ok(ExitCode::SUCCESS)
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
