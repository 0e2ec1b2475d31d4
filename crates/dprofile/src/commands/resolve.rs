//! `dprofile resolve FILE --out assignments.csv`: identity resolution of one batch, in memory,
//! with the probabilistic resolver. Reads only `source`, `source_ref` and `subject`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use dprofile_domain::{Action, ParseMode, parse_record};
use dprofile_resolver::{ResolverConfig, ResolverRecord};

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// NDJSON file of records (`-` for standard input).
    pub file: PathBuf,
    /// Where to write `source,source_ref,person`, one row per input line.
    #[arg(long)]
    pub out: PathBuf,
}

/// Lines parsed per round: each round is split over the cores.
const LINES_PER_ROUND: usize = 32_768;

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

/// The envelope fields `resolve` reads; `data` and the rest are skipped unparsed, which
/// makes reading a third faster than the full envelope.
#[derive(serde::Deserialize)]
struct ResolveLine {
    source: String,
    source_ref: String,
    #[serde(default)]
    revision: Option<u32>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    subject: Option<serde_json::Value>,
}

fn read_line(line: &[u8]) -> (Option<(String, String)>, LineReading) {
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
            record: Box::new(ResolverRecord::from_subject(0, &subject)),
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
                record: Box::new(ResolverRecord::from_subject(0, &record.subject)),
            };
            (key, reading)
        }
        Err(rejection) => match (rejection.source, rejection.source_ref) {
            (Some(source), Some(source_ref)) => (Some((source, source_ref)), LineReading::KeyOnly),
            _ => (None, LineReading::Unreadable),
        },
    }
}

fn read_round(lines: &[Vec<u8>]) -> Vec<(Option<(String, String)>, LineReading)> {
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    let share = lines.len().div_ceil(cores).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = lines
            .chunks(share)
            .map(|slice| {
                scope.spawn(move || slice.iter().map(|line| read_line(line)).collect::<Vec<_>>())
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_default())
            .collect()
    })
}

pub fn run(args: ResolveArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut reader: Box<dyn BufRead> = if args.file.as_os_str() == "-" {
        Box::new(BufReader::with_capacity(1 << 20, std::io::stdin()))
    } else {
        let file = File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    // Keys in order of first appearance; each line refers to its key.
    let mut key_index: HashMap<(String, String), u32> = HashMap::new();
    let mut keys: Vec<(String, String)> = Vec::new();
    // The latest readable subject of each key.
    let mut subjects: Vec<Option<(u32, Box<ResolverRecord>)>> = Vec::new();
    let mut line_keys: Vec<u32> = Vec::new();
    let mut unreadable = 0u64;
    loop {
        let mut round = Vec::with_capacity(LINES_PER_ROUND);
        while round.len() < LINES_PER_ROUND {
            let mut line = Vec::new();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            while line
                .last()
                .is_some_and(|byte| *byte == b'\n' || *byte == b'\r')
            {
                line.pop();
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                round.push(line);
            }
        }
        if round.is_empty() {
            break;
        }
        for (key, reading) in read_round(&round) {
            let Some(key) = key else {
                unreadable += 1;
                continue;
            };
            let index = match key_index.entry(key) {
                Entry::Occupied(entry) => *entry.get(),
                Entry::Vacant(entry) => {
                    let index = keys.len() as u32;
                    keys.push(entry.key().clone());
                    subjects.push(None);
                    entry.insert(index);
                    index
                }
            };
            line_keys.push(index);
            if let LineReading::Subject { revision, record } = reading {
                let slot = &mut subjects[index as usize];
                if slot.as_ref().is_none_or(|(held, _)| revision > *held) {
                    *slot = Some((revision, record));
                }
            }
        }
    }
    drop(key_index);
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
    // Stage times go to stderr: the engine keeps no clock, the observer lets the caller keep one.
    let mut stage_started = Instant::now();
    let mut stage_times: Vec<String> = Vec::new();
    let resolution = dprofile_resolver::resolve_observed(
        records,
        &ResolverConfig::for_person_records(),
        None,
        &mut |stage| {
            stage_times.push(format!(
                "{stage:?} {:.1} s",
                stage_started.elapsed().as_secs_f64()
            ));
            stage_started = Instant::now();
        },
    );
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
