//! Prints the lines of a small population, or times a large one: `synth_dump PERSONS [SEED]`
//! prints NDJSON; `synth_dump --truth PERSONS [SEED]` prefixes each line with its person and a
//! tab; `synth_dump --records N` generates about N records and prints the speed.

use std::io::Write;
use std::time::Instant;

use dprofile_synth::{SynthConfig, generate};

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.first().map(String::as_str) == Some("--records") {
        let records: u64 = arguments
            .get(1)
            .and_then(|text| text.parse().ok())
            .unwrap_or(1_000_000);
        let config = SynthConfig::new(SynthConfig::persons_for_records(records), 1);
        let started = Instant::now();
        let (mut count, mut bytes) = (0u64, 0usize);
        generate(&config, |record| {
            count += 1;
            bytes += record.line.len() + 1;
        });
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{count} records of {} persons ({:.2} per person), {:.1} MB, in {seconds:.2} s: {:.0} records/s",
            config.persons,
            count as f64 / config.persons as f64,
            bytes as f64 / 1e6,
            count as f64 / seconds
        );
        return;
    }
    let with_truth = arguments.first().map(String::as_str) == Some("--truth");
    let arguments = &arguments[usize::from(with_truth)..];
    let persons = arguments
        .first()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20);
    let seed = arguments
        .get(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(1);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = false;
    generate(&SynthConfig::new(persons, seed), |record| {
        let written = if with_truth {
            writeln!(out, "{}\t{}", record.person, record.line)
        } else {
            writeln!(out, "{}", record.line)
        };
        failed |= written.is_err();
    });
    failed |= out.flush().is_err();
    if failed {
        std::process::exit(1);
    }
}
