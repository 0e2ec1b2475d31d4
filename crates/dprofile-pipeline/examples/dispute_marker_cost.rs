//! What the dispute markers cost a profile read: every `load_profile` asks the store for the
//! person's standing correction requests. Ingests a synthetic population into SQLite, files
//! requests about one fact of every tenth person, then times whole profile reads and the
//! markers' query alone over the same persons.
//!
//! `cargo run --release -p dprofile-pipeline --example dispute_marker_cost -- [persons] [reads]`

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use dprofile_pipeline::corrections::{
    Accessor, CitedRecord, CorrectionConfig, CorrectionDesk, Filing,
};
use dprofile_pipeline::profile::{ProfileLookup, load_profile};
use dprofile_pipeline::{IngestOptions, Ingestor, Line, SystemClock};
use dprofile_store::{SqliteStore, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let persons: u64 = arguments.next().map_or(Ok(20_000), |text| text.parse())?;
    let reads: usize = arguments.next().map_or(Ok(20_000), |text| text.parse())?;
    let directory = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(directory.path())?);
    let ingestor = Ingestor::new(store.clone(), Arc::new(SystemClock));
    let mut lines = Vec::new();
    dprofile_synth::generate(&dprofile_synth::SynthConfig::new(persons, 42), |record| {
        lines.push(Line {
            number: lines.len() as u64 + 1,
            bytes: record.line.into_bytes(),
        });
    });
    let options = IngestOptions::default();
    let mut remaining = lines.into_iter().peekable();
    while remaining.peek().is_some() {
        let chunk: Vec<Line> = remaining.by_ref().take(options.chunk_size).collect();
        ingestor.ingest_lines(chunk, &options)?;
    }
    let mut ids = Vec::new();
    store.assignments(&mut |_, _, person| ids.extend(person))?;
    ids.sort_unstable();
    ids.dedup();

    let config = CorrectionConfig::default();
    let desk = CorrectionDesk {
        store: store.as_ref(),
        config: &config,
    };
    let mut filed = 0;
    for &person in ids.iter().step_by(10) {
        let ProfileLookup::Found(profile) = load_profile(store.as_ref(), person, None, None)?
        else {
            continue;
        };
        let Some(fact) = profile.facts.values().flatten().next() else {
            continue;
        };
        let accessor = Accessor {
            actor: format!("person:{person}"),
            agency: "person".into(),
            role: "person".into(),
            purpose: "correction_request".into(),
            disclosure_delay_days: 0,
        };
        desk.file(
            person,
            &Filing {
                cited: CitedRecord::Id(fact.cited.record_id),
                fields: vec!["/valid_from".into()],
                explanation: "wrong date".into(),
            },
            &accessor,
            Utc::now(),
        )?;
        filed += 1;
    }

    // The same pseudo-random persons for both timings.
    let sample: Vec<i64> = (0..reads)
        .map(|index| ids[(index * 7919) % ids.len()])
        .collect();
    let started = Instant::now();
    let mut marked = 0usize;
    for &person in &sample {
        if let ProfileLookup::Found(profile) = load_profile(store.as_ref(), person, None, None)? {
            marked += profile
                .facts
                .values()
                .flatten()
                .filter(|fact| !fact.disputed.is_empty())
                .count();
        }
    }
    let whole = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for &person in &sample {
        std::hint::black_box(store.standing_corrections(person)?);
    }
    let markers = started.elapsed().as_secs_f64();
    // For scale: another one-query read of the profile, the person's identifiers.
    let started = Instant::now();
    for &person in &sample {
        std::hint::black_box(store.person_identifiers(person)?);
    }
    let identifiers = started.elapsed().as_secs_f64();
    println!(
        "{} persons, {filed} standing requests, {reads} reads ({marked} marked facts seen)",
        ids.len()
    );
    println!(
        "profile read: {:.1} µs; markers' query alone: {:.1} µs ({:.1} % of the read)",
        whole / reads as f64 * 1e6,
        markers / reads as f64 * 1e6,
        markers / whole * 100.0
    );
    println!(
        "for scale, the identifiers' query of the same read: {:.1} µs",
        identifiers / reads as f64 * 1e6
    );
    Ok(())
}
