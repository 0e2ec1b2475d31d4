//! The generator as its users see it: deterministic output, every line accepted by the domain
//! crate's envelope parser, every category present, and ground truth that holds together.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use dprofile_domain::linking::{KeyKind, name_keys, name_word_key, strong_keys};
use dprofile_domain::{Action, Category, ParseMode, SourceRecord, parse_record};
use dprofile_synth::{
    AVERAGE_RECORDS_PER_PERSON, DEMO_PASSPORT, DEMO_SNILS, Population, SynthConfig, SynthRecord,
    generate,
};
use serde_json::Value;

const PERSONS: u64 = 2_000;

fn collect(config: &SynthConfig) -> Vec<SynthRecord> {
    let mut records = Vec::new();
    generate(config, |record| records.push(record));
    records
}

/// The 2,000-person population most tests look at, generated once.
fn population() -> &'static [SynthRecord] {
    static RECORDS: OnceLock<Vec<SynthRecord>> = OnceLock::new();
    RECORDS.get_or_init(|| collect(&SynthConfig::new(PERSONS, 1)))
}

fn parsed() -> &'static [(usize, SourceRecord)] {
    static PARSED: OnceLock<Vec<(usize, SourceRecord)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        population()
            .iter()
            .enumerate()
            .filter_map(|(position, record)| {
                parse_record(record.line.as_bytes(), ParseMode::Full)
                    .ok()
                    .map(|parsed| (position, parsed))
            })
            .collect()
    })
}

fn json(record: &SynthRecord) -> Value {
    serde_json::from_str(&record.line).unwrap_or(Value::Null)
}

#[test]
fn same_seed_gives_identical_output_and_another_seed_differs() {
    let config = SynthConfig::new(300, 7);
    let first = collect(&config);
    let second = collect(&config);
    assert_eq!(first, second);
    let other = collect(&SynthConfig::new(300, 8));
    assert_ne!(first, other);
    // Person 0 is the same demo person under any seed; the rest differ.
    let lines_of = |records: &[SynthRecord], person: u64| -> Vec<String> {
        records
            .iter()
            .filter(|record| record.person == person)
            .map(|record| record.line.clone())
            .collect()
    };
    assert_ne!(lines_of(&first, 5), lines_of(&other, 5));
}

#[test]
fn a_larger_population_starts_with_the_same_persons() {
    let small = collect(&SynthConfig::new(50, 3));
    let large = collect(&SynthConfig::new(80, 3));
    assert_eq!(small[..], large[..small.len()]);
}

#[test]
fn every_line_parses_with_the_domain_crate() {
    let records = population();
    let mut failures = Vec::new();
    for record in records {
        if let Err(rejection) = parse_record(record.line.as_bytes(), ParseMode::Full) {
            failures.push(format!(
                "{}\n    {}",
                record.line,
                rejection
                    .violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} lines refused; first ones:\n{}",
        failures.len(),
        records.len(),
        failures
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_line_of_other_seeds_parses_too() {
    for seed in 2..7 {
        let config = SynthConfig {
            // Heavier noise than the default: the parser must accept every kind of it.
            typo_rate: 0.2,
            name_swap_rate: 0.1,
            birth_date_noise_rate: 0.3,
            identifier_typo_rate: 0.05,
            missing_field_rate: 0.2,
            ..SynthConfig::new(400, seed)
        };
        for record in collect(&config) {
            if let Err(rejection) = parse_record(record.line.as_bytes(), ParseMode::Full) {
                panic!("seed {seed}: {}\n{:?}", record.line, rejection.violations);
            }
        }
    }
}

#[test]
fn follow_ups_are_observed_after_their_originals() {
    let mut first_seen: HashMap<(String, String), String> = HashMap::new();
    for record in population() {
        let value = json(record);
        let observed = value["observed_at"].as_str().unwrap_or_default().to_owned();
        let key = (record.source.clone(), record.source_ref.clone());
        match first_seen.get(&key) {
            Some(original) => assert!(&observed >= original, "{}", record.line),
            None => {
                first_seen.insert(key, observed);
            }
        }
    }
}

#[test]
fn lines_raise_no_warnings_but_deliberate_identifier_typos() {
    let mut unexpected = Vec::new();
    let mut checksum_warnings = 0;
    for (position, record) in parsed() {
        for warning in &record.warnings {
            if warning.rule == "checksum" {
                checksum_warnings += 1;
            } else {
                unexpected.push(format!("{warning} in {}", population()[*position].line));
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "{}",
        unexpected[..unexpected.len().min(5)].join("\n")
    );
    let share = f64::from(checksum_warnings) / population().len() as f64;
    assert!(
        share < 0.01,
        "{checksum_warnings} identifiers fail their check digits"
    );
}

#[test]
fn every_category_appears() {
    let categories: BTreeSet<String> = population()
        .iter()
        .filter_map(|record| json(record)["category"].as_str().map(str::to_owned))
        .collect();
    let missing: Vec<&str> = Category::ALL
        .iter()
        .map(|category| category.code())
        .filter(|code| !categories.contains(*code))
        .collect();
    assert!(
        missing.is_empty(),
        "categories never generated: {missing:?}"
    );
    assert!(
        categories
            .iter()
            .all(|code| Category::from_code(code).is_some()),
        "{categories:?}"
    );
}

#[test]
fn sources_are_plausible_codes_and_references_are_unique() {
    let mut originals: HashSet<(String, String)> = HashSet::new();
    let mut sources = BTreeSet::new();
    for record in population() {
        let value = json(record);
        assert_eq!(value["source"].as_str(), Some(record.source.as_str()));
        assert_eq!(
            value["source_ref"].as_str(),
            Some(record.source_ref.as_str())
        );
        assert!(
            record
                .source
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte == b'-')
        );
        sources.insert(record.source.clone());
        let key = (record.source.clone(), record.source_ref.clone());
        let follow_up = value["revision"].as_u64().unwrap_or(1) > 1;
        if follow_up {
            assert!(
                originals.contains(&key),
                "a correction before its original: {key:?}"
            );
        } else {
            assert!(
                originals.insert(key.clone()),
                "reference used twice: {key:?}"
            );
        }
    }
    for expected in [
        "fsb-border",
        "mvd-migration",
        "fns",
        "sfr",
        "gibdd",
        "rosreestr",
        "mid",
        "minobr",
        "minzdrav",
        "gims",
        "esia",
        "mvd-offences",
        "rossvyaz",
        "ern",
    ] {
        assert!(sources.contains(expected), "no records from {expected}");
    }
}

#[test]
fn corrections_and_retractions_come_in_the_expected_shares() {
    let records = population();
    let (mut revisions, mut retractions, mut originals) = (0usize, 0usize, 0usize);
    for (_, record) in parsed() {
        match (record.action, record.revision) {
            (Action::Retract, _) => retractions += 1,
            (Action::Upsert, 1) => originals += 1,
            (Action::Upsert, _) => revisions += 1,
        }
    }
    assert_eq!(revisions + retractions + originals, parsed().len());
    let revision_share = revisions as f64 / originals as f64;
    let retraction_share = retractions as f64 / originals as f64;
    assert!((0.012..0.03).contains(&revision_share), "{revision_share}");
    assert!(
        (0.002..0.01).contains(&retraction_share),
        "{retraction_share}"
    );
    let average = records.len() as f64 / PERSONS as f64;
    assert!(
        (average / AVERAGE_RECORDS_PER_PERSON - 1.0).abs() < 0.1,
        "{average} records per person, documented {AVERAGE_RECORDS_PER_PERSON}"
    );
    assert!((8.0..=12.0).contains(&average), "{average}");
}

/// Within one person, every record shares a strong identifier or a name key with another of
/// that person's records; across persons, no strong identifier is shared.
#[test]
fn ground_truth_holds_together() {
    let records = population();
    let mut by_person: BTreeMap<u64, Vec<&SourceRecord>> = BTreeMap::new();
    let mut owners: HashMap<String, BTreeSet<u64>> = HashMap::new();
    for (position, record) in parsed() {
        if record.action == Action::Retract {
            continue;
        }
        let person = records[*position].person;
        by_person.entry(person).or_default().push(record);
        for key in strong_keys(&record.subject) {
            owners.entry(key.to_string()).or_default().insert(person);
        }
    }
    let shared: Vec<(&String, &BTreeSet<u64>)> = owners
        .iter()
        .filter(|(_, persons)| persons.len() > 1)
        .collect();
    assert!(
        shared.is_empty(),
        "strong keys of several persons: {shared:?}"
    );

    let mut unlinked = 0;
    for records_of_person in by_person.values() {
        if records_of_person.len() < 2 {
            continue;
        }
        let keys: Vec<(BTreeSet<String>, BTreeSet<String>)> = records_of_person
            .iter()
            .map(|record| {
                (
                    strong_keys(&record.subject)
                        .into_iter()
                        .map(|key| key.to_string())
                        .collect(),
                    name_keys(&record.subject).into_iter().collect(),
                )
            })
            .collect();
        for (position, (strong, names)) in keys.iter().enumerate() {
            let linked = keys
                .iter()
                .enumerate()
                .any(|(other, (other_strong, other_names))| {
                    other != position
                        && (!strong.is_disjoint(other_strong) || !names.is_disjoint(other_names))
                });
            if !linked {
                unlinked += 1;
            }
        }
    }
    // A record may miss every link only when all its name parts were mistyped and it cites no
    // document: rare by construction.
    assert!(
        unlinked < 10,
        "{unlinked} records share nothing with their person"
    );
}

#[test]
fn each_person_keeps_one_snils_inn_and_citizenship() {
    let records = population();
    let mut seen: HashMap<(u64, KeyKind), BTreeSet<String>> = HashMap::new();
    let mut citizenship: HashMap<u64, BTreeSet<String>> = HashMap::new();
    for (position, record) in parsed() {
        let person = records[*position].person;
        for key in strong_keys(&record.subject) {
            if key.kind.one_per_person() {
                seen.entry((person, key.kind))
                    .or_default()
                    .insert(key.value);
            }
        }
        if let Some(code) = record.subject.citizenship {
            citizenship
                .entry(person)
                .or_default()
                .insert(code.to_string());
        }
    }
    for ((person, kind), values) in &seen {
        // A digit typo that keeps the check digits valid is possible but must stay rare.
        assert!(values.len() <= 2, "person {person} has {kind:?} {values:?}");
    }
    assert!(citizenship.values().all(|codes| codes.len() == 1));
}

fn all_name_text() -> String {
    let mut text = String::new();
    for record in population() {
        if let Some(names) = json(record)["subject"]["names"].as_array() {
            for name in names {
                for part in ["family", "given", "patronymic"] {
                    if let Some(value) = name[part].as_str() {
                        text.push_str(value);
                        text.push(' ');
                    }
                }
            }
        }
    }
    text
}

#[test]
fn names_come_in_every_script_and_transliteration() {
    let text = all_name_text();
    let letters = |list: &str| {
        list.chars()
            .filter(|letter| !text.contains(*letter))
            .collect::<String>()
    };
    assert_eq!(letters("ўқғҳ"), "", "Uzbek Cyrillic");
    assert_eq!(letters("ӣӯҷҳқғ"), "", "Tajik Cyrillic");
    assert_eq!(letters("ңөү"), "", "Kyrgyz Cyrillic");
    assert_eq!(letters("әғқңөұүһі"), "", "Kazakh Cyrillic");
    assert_eq!(letters("əşçğıüö"), "", "Azerbaijani and Turkish Latin");
    for fragment in [
        "oʻ", "gʻ", "Sh", "Ch", "q", "x", // Uzbek national Latin
        "ou", "Dj", "Tch", // old French style
        "KH", "ZH", "IU", "IA", // ICAO 9303
        "YE", // BGN
        "ович", "овна", "ўғли", "қизи", "уулу", "кызы", "ұлы", "зода",
        "oğlu", // patronymics and -zoda
    ] {
        assert!(text.contains(fragment), "no name contains `{fragment}`");
    }
    let scripts: BTreeSet<String> = population()
        .iter()
        .flat_map(|record| {
            json(record)["subject"]["names"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|name| name["script"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        scripts,
        BTreeSet::from(["Cyrl".to_owned(), "Latn".to_owned()])
    );
}

#[test]
fn noise_of_every_kind_occurs() {
    let records = population();
    let mut partial_dates = 0;
    let mut dates_by_person: HashMap<u64, BTreeSet<String>> = HashMap::new();
    let mut passports_by_person: HashMap<u64, BTreeSet<String>> = HashMap::new();
    let mut without_document = 0;
    for record in records {
        let value = json(record);
        let subject = &value["subject"];
        if subject.is_null() {
            continue;
        }
        if let Some(date) = subject["birth_date"].as_str() {
            if date.len() < 10 {
                partial_dates += 1;
            } else {
                dates_by_person
                    .entry(record.person)
                    .or_default()
                    .insert(date.to_owned());
            }
        }
        match subject["documents"].as_array() {
            Some(documents) => {
                for document in documents {
                    if document["kind"] == "passport" {
                        passports_by_person
                            .entry(record.person)
                            .or_default()
                            .insert(document["number"].as_str().unwrap_or_default().to_owned());
                    }
                }
            }
            None => without_document += 1,
        }
    }
    assert!(partial_dates > 50, "{partial_dates} partial birth dates");
    let conflicting_dates = dates_by_person
        .values()
        .filter(|dates| dates.len() > 1)
        .count();
    assert!(
        conflicting_dates > 50,
        "{conflicting_dates} persons with differing birth dates"
    );
    let renewed = passports_by_person
        .values()
        .filter(|numbers| numbers.len() > 1)
        .count();
    assert!(renewed > 100, "{renewed} persons cited with two passports");
    assert!(
        without_document > 200,
        "{without_document} records without a document"
    );

    // Namesakes, twins and fathers and sons, as the ground truth tells.
    let population = Population::new(&SynthConfig::new(PERSONS, 1));
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for index in 0..PERSONS {
        let truth = population.truth(index);
        let Some((kind, other)) = truth.resembles else {
            continue;
        };
        *kinds.entry(kind).or_default() += 1;
        let other = population.truth(other);
        assert_ne!(truth.passports, other.passports);
        match kind {
            "namesake" => {
                assert_eq!(truth.russian_name.0, other.russian_name.0);
                assert_eq!(truth.russian_name.1, other.russian_name.1);
                assert_eq!(truth.birth_date, other.birth_date);
            }
            "twin" => {
                assert_eq!(truth.russian_name.0, other.russian_name.0);
                assert_ne!(truth.russian_name.1, other.russian_name.1);
                assert_eq!(truth.birth_date, other.birth_date);
            }
            _ => {
                assert_eq!(truth.russian_name.0, other.russian_name.0);
                assert_eq!(truth.russian_name.1, other.russian_name.1);
                assert!(truth.birth_date > other.birth_date);
            }
        }
    }
    for kind in ["namesake", "twin", "son"] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} in {kinds:?}"
        );
    }

    // Common names make natural namesakes too: same Russian family and given name.
    let mut by_name: HashMap<(String, String), usize> = HashMap::new();
    for index in 0..PERSONS {
        let truth = population.truth(index);
        *by_name
            .entry((truth.russian_name.0, truth.russian_name.1))
            .or_default() += 1;
    }
    assert!(by_name.values().any(|count| *count >= 4));
}

#[test]
fn person_zero_is_the_demo_citizen() {
    let records: Vec<&SynthRecord> = population()
        .iter()
        .filter(|record| record.person == 0)
        .collect();
    assert!(records.len() >= 15);
    let values: Vec<Value> = records.iter().map(|record| json(record)).collect();
    let categories: BTreeSet<&str> = values
        .iter()
        .filter_map(|value| value["category"].as_str())
        .collect();
    for expected in [
        "border_crossing",
        "migration_registration",
        "stay_document",
        "stay_application",
        "employment",
        "tax_debt",
        "medical_examination",
        "snils",
        "phone_number",
    ] {
        assert!(categories.contains(expected), "demo lacks {expected}");
    }
    let reference = SynthConfig::new(1, 1).reference_date.to_string();
    let valid_patent = values.iter().any(|value| {
        let data = &value["data"];
        data["kind"] == "patent"
            && data["region"] == "77"
            && data["issued_on"]
                .as_str()
                .is_some_and(|issued| issued <= reference.as_str())
            && data["expires_on"]
                .as_str()
                .is_some_and(|expires| expires >= reference.as_str())
    });
    assert!(
        valid_patent,
        "the demo person needs a patent for region 77 valid on the reference date"
    );
    let debt = values
        .iter()
        .find(|value| value["category"] == "tax_debt")
        .and_then(|value| value["data"]["balance"].as_f64());
    assert_eq!(debt, Some(-1250.0));
    for value in &values {
        let subject = &value["subject"];
        assert_eq!(subject["birth_date"], "1991-07-14");
        assert_eq!(subject["citizenship"], "UZB");
        let names = subject["names"].as_array().cloned().unwrap_or_default();
        // Every spelling (Абдуллаев, ABDULLAYEV, Abdullaev, Abdoullaev) folds to one key.
        assert!(
            names.iter().any(|name| {
                name["family"].as_str().map(name_word_key) == Some(name_word_key("Абдуллаев"))
                    && name["given"].as_str().map(name_word_key) == Some(name_word_key("Рустам"))
            }),
            "{subject}"
        );
        let documents = subject["documents"].as_array().cloned().unwrap_or_default();
        assert!(
            documents
                .iter()
                .any(|document| document["number"] == DEMO_PASSPORT)
        );
    }
    let full_name = values
        .iter()
        .any(|value| value["subject"]["names"][0]["patronymic"] == "Шухратович");
    assert!(full_name);
    assert!(
        values
            .iter()
            .any(|value| value["subject"]["identifiers"]["snils"] == DEMO_SNILS)
    );
    assert!(
        values
            .iter()
            .all(|value| value.get("revision").is_none_or(|revision| revision == 1)),
        "the demo person has no corrections"
    );
}

#[test]
fn persons_for_records_sizes_a_run() {
    let persons = SynthConfig::persons_for_records(20_000);
    let mut count = 0u64;
    generate(&SynthConfig::new(persons, 11), |_| count += 1);
    assert!(
        (17_000..23_000).contains(&count),
        "{count} records for {persons} persons"
    );
}
