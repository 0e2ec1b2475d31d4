//! Quality benchmark of the resolver: pairwise precision, recall and F1 over record pairs that
//! share a person, cluster counts, blocking pair completeness, time and peak RSS, on the public
//! benchmarks (FEBRL3, FEBRL4, historical_50k) and on the synthetic cross-script population.
//!
//! ```text
//! cargo run --release -p dprofile-resolver --example quality -- febrl4 DIR/febrl
//! cargo run --release -p dprofile-resolver --example quality -- febrl3 DIR/febrl
//! cargo run --release -p dprofile-resolver --example quality -- historical FILE.csv
//! cargo run --release -p dprofile-resolver --example quality -- synthetic FILE.ndjson TRUTH.csv
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use dprofile_domain::ParseMode;
use dprofile_domain::subject::Sex;
use dprofile_domain::values::PartialDate;
use dprofile_resolver::{
    AttributeComparison, AttributeConfig, BlockingPart, BlockingRule, NameVariant, ResolverConfig,
    ResolverRecord, Stage, pairwise_quality, resolve_observed,
};

fn main() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let started = Instant::now();
    let mut synthetic_keys: Vec<SourceKey> = Vec::new();
    let (records, truth, config, label) = match arguments.first().map(String::as_str) {
        Some("febrl4") => {
            let directory = PathBuf::from(argument(&arguments, 1)?);
            let (mut records, mut truth) = read_febrl(&directory.join("dataset4a.csv"), 0)?;
            let (more, more_truth) = read_febrl(&directory.join("dataset4b.csv"), records.len())?;
            records.extend(more);
            truth.extend(more_truth);
            (records, truth, febrl_config(), "febrl4")
        }
        Some("febrl3") => {
            let directory = PathBuf::from(argument(&arguments, 1)?);
            let (records, truth) = read_febrl(&directory.join("dataset3.csv"), 0)?;
            (records, truth, febrl_config(), "febrl3")
        }
        Some("historical") => {
            let (records, truth) = read_historical(Path::new(argument(&arguments, 1)?))?;
            (records, truth, historical_config(), "historical_50k")
        }
        Some("synthetic") => {
            let (records, truth, keys) = read_synthetic(
                Path::new(argument(&arguments, 1)?),
                Path::new(argument(&arguments, 2)?),
            )?;
            synthetic_keys = keys;
            (
                records,
                truth,
                ResolverConfig::for_person_records(),
                "synthetic",
            )
        }
        _ => bail!("usage: quality febrl4|febrl3 DIR | historical FILE | synthetic NDJSON TRUTH"),
    };
    let mut config = config;
    // Knobs for experiments, so that a comparison needs no rebuild.
    if let Ok(value) = std::env::var("QUALITY_AVERAGE_LINKAGE") {
        config.minimum_average_linkage = value.parse().ok();
    }
    if let Ok(value) = std::env::var("QUALITY_DROP_RULE")
        && let Ok(index) = value.parse::<usize>()
        && index < config.blocking_rules.len()
    {
        config.blocking_rules.remove(index);
    }
    if let Ok(name) = std::env::var("QUALITY_DROP_ATTRIBUTE") {
        config.attributes.retain(|attribute| attribute.name != name);
    }
    if std::env::var_os("QUALITY_NO_LONE_NAMES").is_some() {
        config.lone_name_matches_either_part = false;
    }
    if std::env::var_os("QUALITY_FOLDED_SOUND").is_some() {
        config.name_metric = dprofile_resolver::NameMetric::FoldedSound;
    }
    if let Ok(value) = std::env::var("QUALITY_WINDOW") {
        config.sub_block_window = value.parse().unwrap_or(config.sub_block_window);
    }
    if let Ok(value) = std::env::var("QUALITY_MAX_BLOCK") {
        config.max_block_size = value.parse().unwrap_or(config.max_block_size);
    }
    if std::env::var_os("QUALITY_RENEWAL_ON_FULL_NAME_AND_DATE").is_some() {
        config.passport_renewal_on_full_name_and_birth_date = true;
    }
    if let Ok(value) = std::env::var("QUALITY_STALE_SHARE") {
        config.passport_renewal_stale_share =
            value.parse().unwrap_or(config.passport_renewal_stale_share);
    }
    if std::env::var_os("QUALITY_NO_RENEWAL_ON_FULL_NAME_AND_DATE").is_some() {
        config.passport_renewal_on_full_name_and_birth_date = false;
    }
    if std::env::var_os("QUALITY_RENEWAL_ON_NAME_AND_DATE").is_some() {
        config.passport_renewal_on_name_and_birth_date = true;
    }
    let read_seconds = started.elapsed().as_secs_f64();
    let record_count = records.len();
    let mut stage_started = Instant::now();
    let mut stage_times: Vec<(Stage, f64)> = Vec::new();
    // For looking at what blocking misses: the candidate pairs (input positions) and, after
    // the run, every record's person, written to a directory.
    let dump = std::env::var("QUALITY_DUMP").ok().map(PathBuf::from);
    if let Some(directory) = &dump {
        let prepared = dprofile_resolver::prepare::prepare(records.clone(), &config);
        let candidates = dprofile_resolver::blocking::candidate_pairs(&prepared, &config);
        let mut text = String::new();
        for (pair, rules) in candidates.pairs.iter().zip(&candidates.rules) {
            let (left, right) = dprofile_resolver::blocking::unpack(*pair);
            let (left, right) = (
                prepared.input_position[left as usize],
                prepared.input_position[right as usize],
            );
            text.push_str(&format!("{left}\t{right}\t{rules}\n"));
        }
        std::fs::create_dir_all(directory)?;
        std::fs::write(directory.join("candidates.tsv"), text)?;
    }
    let resolve_started = Instant::now();
    let resolution = resolve_observed(records, &config, Some(&truth), &mut |stage| {
        stage_times.push((stage, stage_started.elapsed().as_secs_f64()));
        stage_started = Instant::now();
    });
    let resolve_seconds = resolve_started.elapsed().as_secs_f64();
    let quality = pairwise_quality(&resolution.person_of, &truth);
    if let Some(directory) = &dump {
        let text: String = resolution
            .person_of
            .iter()
            .map(|person| format!("{person}\n"))
            .collect();
        std::fs::write(directory.join("persons.txt"), text)?;
    }
    // The synthetic partition as `dprofile resolve` writes it, for looking at mistakes.
    if let Ok(path) = std::env::var("QUALITY_ASSIGNMENTS")
        && !synthetic_keys.is_empty()
    {
        let mut text = String::from("source,source_ref,person\n");
        for ((source, source_ref), person) in synthetic_keys.iter().zip(&resolution.person_of) {
            text.push_str(&format!("{source},{source_ref},{person}\n"));
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {path}"))?;
    }
    println!("dataset            {label}");
    println!("records            {record_count}");
    println!(
        "candidate pairs    {} (blocks {}, oversized {}), pair completeness {:.4}",
        resolution.blocking.candidate_pairs,
        resolution.blocking.blocks,
        resolution.blocking.oversized_blocks,
        resolution.blocking.pair_completeness.unwrap_or(f64::NAN)
    );
    for (index, rule) in resolution.blocking.per_rule.iter().enumerate() {
        println!(
            "  rule {index}           pairs {}, only this rule {} (true {})",
            rule.pairs,
            rule.only_this_rule,
            rule.true_only_this_rule.unwrap_or(0)
        );
    }
    println!(
        "scored >= review   {}, links made {}, possible matches {}",
        resolution.pairs_above_review,
        resolution.links_made,
        resolution.possible_matches.len()
    );
    println!(
        "pairs              predicted {}, true {}, true positive {}",
        quality.predicted_pairs, quality.true_pairs, quality.true_positive_pairs
    );
    println!(
        "precision {:.4}  recall {:.4}  F1 {:.4}",
        quality.precision, quality.recall, quality.f1
    );
    println!(
        "clusters           predicted {}, true {}",
        quality.predicted_clusters, quality.true_clusters
    );
    let stages: Vec<String> = stage_times
        .iter()
        .map(|(stage, seconds)| format!("{stage:?} {seconds:.2}"))
        .collect();
    println!(
        "time               read {read_seconds:.2} s, resolve {resolve_seconds:.2} s ({}), total {:.2} s",
        stages.join(", "),
        started.elapsed().as_secs_f64()
    );
    println!("peak RSS           {}", peak_rss());
    println!(
        "model              candidate match share {:.4}, EM iterations {}",
        resolution.model.candidate_match_share, resolution.model.em_iterations_run
    );
    if std::env::var_os("QUALITY_SHOW_MODEL").is_some() {
        for field in &resolution.model.fields {
            let levels: Vec<String> = field
                .levels
                .iter()
                .enumerate()
                .skip(1)
                .map(|(level, name)| {
                    format!(
                        "{name} m={:.3} u={:.5} w={:+.1}",
                        field.m[level],
                        field.u[level],
                        field.level_weight(level as u8)
                    )
                })
                .collect();
            println!("  {:<14} {}", field.field, levels.join(" | "));
        }
    }
    Ok(())
}

fn argument(arguments: &[String], index: usize) -> anyhow::Result<&str> {
    arguments
        .get(index)
        .map(String::as_str)
        .with_context(|| format!("argument {index} is missing"))
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .map(|line| line.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Splits one CSV line (RFC 4180 quoting, no embedded newlines in these files).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut characters = line.chars().peekable();
    while let Some(character) = characters.next() {
        match (character, quoted) {
            ('"', true) if characters.peek() == Some(&'"') => {
                current.push('"');
                characters.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut current).trim().to_owned()),
            (other, _) => current.push(other),
        }
    }
    fields.push(current.trim().to_owned());
    fields
}

fn read_csv(path: &Path) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines();
    let header = csv_fields(lines.next().context("empty file")?);
    let rows = lines
        .filter(|line| !line.trim().is_empty())
        .map(csv_fields)
        .collect();
    Ok((header, rows))
}

fn column(header: &[String], name: &str) -> anyhow::Result<usize> {
    header
        .iter()
        .position(|column| column == name)
        .with_context(|| format!("no column {name}"))
}

fn non_empty(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// `YYYYMMDD` or `YYYY-MM-DD` (years before 1880 too, as historical figures need).
fn parse_full_date(text: &str) -> Option<PartialDate> {
    let digits: String = text.chars().filter(|character| *character != '-').collect();
    let negative = text.starts_with('-');
    if digits.len() < 8 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let split = digits.len() - 4;
    let year: i32 = digits[..split].parse().ok()?;
    let month: u32 = digits[split..split + 2].parse().ok()?;
    let day: u32 = digits[split + 2..].parse().ok()?;
    let year = if negative { -year } else { year };
    // A day or month that does not exist (`1850-17-13`, `1851-08-45`) is a typo in that part:
    // the parts that can be read are kept, as a partial date.
    NaiveDate::from_ymd_opt(year, month, day)
        .map(PartialDate::from_date)
        .or_else(|| PartialDate::from_year_and_month(year, Some(month)))
        .or_else(|| PartialDate::from_year_and_month(year, None))
}

fn read_febrl(path: &Path, first_id: usize) -> anyhow::Result<(Vec<ResolverRecord>, Vec<u64>)> {
    let (header, rows) = read_csv(path)?;
    let index = |name: &str| column(&header, name);
    let (rec_id, given, surname, dob) = (
        index("rec_id")?,
        index("given_name")?,
        index("surname")?,
        index("date_of_birth")?,
    );
    let attribute_columns = [
        "street_number",
        "address_1",
        "address_2",
        "suburb",
        "postcode",
        "state",
        "soc_sec_id",
    ];
    let attribute_indices: Vec<usize> = attribute_columns
        .iter()
        .map(|name| index(name))
        .collect::<anyhow::Result<_>>()?;
    let mut records = Vec::new();
    let mut truth = Vec::new();
    for row in rows {
        let cell = |index: usize| row.get(index).map(String::as_str).unwrap_or("");
        // `rec-123-org` and `rec-123-dup-0` are one person.
        let person: u64 = cell(rec_id)
            .split('-')
            .nth(1)
            .and_then(|number| number.parse().ok())
            .with_context(|| format!("bad rec_id {}", cell(rec_id)))?;
        records.push(ResolverRecord {
            id: (first_id + records.len()) as u32,
            names: vec![NameVariant {
                family: non_empty(cell(surname)),
                given: non_empty(cell(given)),
                patronymic: None,
            }],
            birth_date: parse_full_date(cell(dob)),
            attributes: attribute_columns
                .iter()
                .zip(&attribute_indices)
                .filter_map(|(name, &index)| {
                    non_empty(cell(index)).map(|value| ((*name).to_owned(), value))
                })
                .collect(),
            ..ResolverRecord::default()
        });
        truth.push(person);
    }
    Ok((records, truth))
}

fn febrl_config() -> ResolverConfig {
    use AttributeComparison::{Exact, Fuzzy};
    use BlockingPart::*;
    let attribute = |name: &str| Attribute(name.to_owned());
    ResolverConfig::for_attributes(
        vec![
            AttributeConfig::new("street_number", Exact, false),
            AttributeConfig::new("address_1", Fuzzy, true),
            AttributeConfig::new("address_2", Fuzzy, true),
            AttributeConfig::new("suburb", Fuzzy, true),
            AttributeConfig::new("postcode", Fuzzy, true),
            AttributeConfig::new("state", Exact, false),
            AttributeConfig::new("soc_sec_id", Fuzzy, false),
        ],
        vec![
            BlockingRule::new(vec![FamilyPhonetic, BirthYear]),
            BlockingRule::new(vec![GivenPhonetic, BirthDate]),
            BlockingRule::new(vec![NamePairPhonetic]),
            BlockingRule::new(vec![attribute("soc_sec_id")]),
            BlockingRule::new(vec![attribute("postcode"), attribute("street_number")]),
            BlockingRule::new(vec![BirthDate, attribute("postcode")]),
        ],
    )
}

fn read_historical(path: &Path) -> anyhow::Result<(Vec<ResolverRecord>, Vec<u64>)> {
    let (header, rows) = read_csv(path)?;
    let index = |name: &str| column(&header, name);
    let (cluster, first_name, surname, dob, gender) = (
        index("cluster")?,
        index("first_name")?,
        index("surname")?,
        index("dob")?,
        index("gender")?,
    );
    let attribute_columns = ["birth_place", "postcode_fake", "occupation"];
    let attribute_indices: Vec<usize> = attribute_columns
        .iter()
        .map(|name| index(name))
        .collect::<anyhow::Result<_>>()?;
    let mut labels: HashMap<String, u64> = HashMap::new();
    let mut records = Vec::new();
    let mut truth = Vec::new();
    for row in rows {
        let cell = |index: usize| row.get(index).map(String::as_str).unwrap_or("");
        let next = labels.len() as u64;
        truth.push(*labels.entry(cell(cluster).to_owned()).or_insert(next));
        records.push(ResolverRecord {
            id: records.len() as u32,
            names: vec![NameVariant {
                family: non_empty(cell(surname)),
                given: non_empty(cell(first_name)),
                patronymic: None,
            }],
            birth_date: parse_full_date(cell(dob)),
            sex: match cell(gender) {
                "male" => Some(Sex::M),
                "female" => Some(Sex::F),
                _ => None,
            },
            attributes: attribute_columns
                .iter()
                .zip(&attribute_indices)
                .filter_map(|(name, &index)| {
                    non_empty(cell(index)).map(|value| ((*name).to_owned(), value))
                })
                .collect(),
            ..ResolverRecord::default()
        });
    }
    Ok((records, truth))
}

fn historical_config() -> ResolverConfig {
    use AttributeComparison::{Exact, Fuzzy};
    use BlockingPart::*;
    let attribute = |name: &str| Attribute(name.to_owned());
    ResolverConfig::for_attributes(
        // Not `full_name`: it is mostly the given and family names again, and a model that
        // takes fields as independent counted a shared name three times (family +10, given
        // +5, full name +12.5 bits), which let namesakes born centuries apart merge. Without
        // it precision went 0.9460 -> 0.9869 and recall 0.8819 -> 0.8731.
        vec![
            AttributeConfig::new("birth_place", Fuzzy, true),
            AttributeConfig::new("postcode_fake", Fuzzy, true),
            AttributeConfig::new("occupation", Exact, true),
        ],
        // At most eight rules. The birth date alone subsumes the rules that paired it with a
        // name or a place; the family name alone (windowed where common) and the postcode
        // alone catch records whose given names and dates are both garbled. The given name
        // alone proposed more namesakes than it found and lowered precision. A word of the
        // name, as family or given name, with the birth place or the occupation catches the
        // records whose only name is the family name written in the first-name column
        // (pair completeness 0.8586 -> 0.8764 with the two rules they replaced, birth place
        // or occupation with the given name).
        vec![
            BlockingRule::new(vec![attribute("birth_place"), BirthYear]),
            BlockingRule::new(vec![FamilyPhonetic]),
            BlockingRule::new(vec![BirthDate]),
            BlockingRule::new(vec![NamePairPhonetic]),
            BlockingRule::new(vec![attribute("postcode_fake")]),
            BlockingRule::new(vec![attribute("birth_place"), AnyNamePhonetic]),
            BlockingRule::new(vec![attribute("occupation"), AnyNamePhonetic]),
        ],
    )
}

/// A record's `(source, source_ref)`.
type SourceKey = (String, String);

/// Reads the NDJSON on two threads; keeps the latest revision of every (source, source_ref)
/// that carries a subject (retraction lines carry none; the record they withdraw stays).
fn read_synthetic(
    records_path: &Path,
    truth_path: &Path,
) -> anyhow::Result<(Vec<ResolverRecord>, Vec<u64>, Vec<SourceKey>)> {
    let text = std::fs::read(records_path)
        .with_context(|| format!("cannot read {}", records_path.display()))?;
    let lines: Vec<&[u8]> = text
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|count| count.get())
        .unwrap_or(1);
    let chunk = lines.len().div_ceil(threads).max(1);
    type Parsed = Option<(String, String, u32, ResolverRecord)>;
    let parsed: Vec<Parsed> = std::thread::scope(|scope| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .map(|slice| {
                scope.spawn(move || {
                    slice
                        .iter()
                        .map(|line| {
                            let record =
                                dprofile_domain::parse_record(line, ParseMode::SubjectOnly).ok()?;
                            if record.action == dprofile_domain::Action::Retract {
                                return None;
                            }
                            Some((
                                record.source.to_string(),
                                record.source_ref.to_string(),
                                record.revision,
                                ResolverRecord {
                                    observed_on: record
                                        .observed_at
                                        .map(|instant| instant.date_naive()),
                                    ..ResolverRecord::from_subject(0, &record.subject)
                                },
                            ))
                        })
                        .collect::<Vec<Parsed>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    });
    drop(lines);
    drop(text);
    let mut latest: HashMap<(String, String), (u32, ResolverRecord)> = HashMap::new();
    for (source, source_ref, revision, record) in parsed.into_iter().flatten() {
        match latest.entry((source, source_ref)) {
            std::collections::hash_map::Entry::Occupied(mut entry) => {
                if revision > entry.get().0 {
                    entry.insert((revision, record));
                }
            }
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert((revision, record));
            }
        }
    }
    let (_, truth_rows) = read_csv(truth_path)?;
    let mut person_of: HashMap<(String, String), u64> = HashMap::with_capacity(truth_rows.len());
    for row in truth_rows {
        if let [source, source_ref, person] = row.as_slice() {
            person_of.insert(
                (source.clone(), source_ref.clone()),
                person.parse().context("bad person in truth")?,
            );
        }
    }
    let mut keyed: Vec<((String, String), ResolverRecord)> = latest
        .into_iter()
        .map(|(key, (_, record))| (key, record))
        .collect();
    keyed.sort_by(|left, right| left.0.cmp(&right.0));
    let mut records = Vec::with_capacity(keyed.len());
    let mut truth = Vec::with_capacity(keyed.len());
    let mut keys = Vec::with_capacity(keyed.len());
    for (key, mut record) in keyed {
        let person = *person_of
            .get(&key)
            .with_context(|| format!("{}/{} has no truth", key.0, key.1))?;
        record.id = records.len() as u32;
        records.push(record);
        truth.push(person);
        keys.push(key);
    }
    Ok((records, truth, keys))
}
