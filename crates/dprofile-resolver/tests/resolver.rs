//! The resolver as a caller uses it: hard cases (spellings across scripts, swapped names,
//! namesakes with different identifiers, renewed passports) and the property that the
//! partition does not depend on input order.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use dprofile_domain::linking::{KeyKind, StrongKey};
use dprofile_domain::subject::Sex;
use dprofile_domain::values::PartialDate;
use dprofile_resolver::{DocumentValidity, NameVariant, ResolverConfig, ResolverRecord, resolve};

/// A compact description of one test record.
struct Spec {
    family: &'static str,
    given: &'static str,
    birth: &'static str,
    passport: Option<&'static str>,
    validity: Option<(&'static str, &'static str)>,
    snils: Option<&'static str>,
}

const fn spec(family: &'static str, given: &'static str, birth: &'static str) -> Spec {
    Spec {
        family,
        given,
        birth,
        passport: None,
        validity: None,
        snils: None,
    }
}

fn record(id: u32, spec: &Spec) -> ResolverRecord {
    let mut strong_keys = Vec::new();
    let mut document_validity = Vec::new();
    if let Some(passport) = spec.passport {
        let key = StrongKey::new(KeyKind::Passport, format!("UZB:{passport}"));
        if let Some((issued, expires)) = spec.validity {
            document_validity.push(DocumentValidity {
                key: key.clone(),
                issued_on: NaiveDate::parse_from_str(issued, "%Y-%m-%d").ok(),
                expires_on: NaiveDate::parse_from_str(expires, "%Y-%m-%d").ok(),
            });
        }
        strong_keys.push(key);
    }
    if let Some(snils) = spec.snils {
        strong_keys.push(StrongKey::new(KeyKind::Snils, snils));
    }
    ResolverRecord {
        id,
        names: vec![NameVariant {
            family: Some(spec.family.to_owned()),
            given: Some(spec.given.to_owned()),
            patronymic: None,
        }],
        birth_date: PartialDate::parse(spec.birth).ok(),
        sex: Some(Sex::M),
        citizenship: Some("UZB".to_owned()),
        strong_keys,
        document_validity,
        attributes: Vec::new(),
    }
}

/// Filler population so that u and the prior are estimated on something like real data.
fn population(count: u32) -> Vec<ResolverRecord> {
    const FAMILIES: [&str; 12] = [
        "Karimov", "Rahimov", "Yusupov", "Tursunov", "Aliev", "Nazarov", "Saidov", "Ergashev",
        "Mirzaev", "Sobirov", "Hasanov", "Qodirov",
    ];
    const GIVENS: [&str; 10] = [
        "Aziz", "Bobur", "Dilshod", "Farrukh", "Jasur", "Otabek", "Sardor", "Timur", "Ulugbek",
        "Zafar",
    ];
    let mut records = Vec::new();
    for person in 0..count {
        let family = FAMILIES[(person % 12) as usize];
        let given = GIVENS[((person / 12) % 10) as usize];
        let birth = format!(
            "{}-{:02}-{:02}",
            1960 + person % 40,
            1 + person % 12,
            1 + person % 28
        );
        for copy in 0..3 {
            let mut record = record(0, &spec(family, given, "1990"));
            record.birth_date = PartialDate::parse(&birth).ok();
            record.strong_keys = vec![StrongKey::new(
                KeyKind::Passport,
                format!("UZB:FB{:07}", person),
            )];
            if copy == 2 {
                record.names.push(NameVariant {
                    family: Some(family.to_uppercase()),
                    given: Some(given.to_uppercase()),
                    patronymic: None,
                });
            }
            records.push(record);
        }
    }
    records
}

fn test_config() -> ResolverConfig {
    ResolverConfig {
        // Enough random pairs for this small population; keeps debug-build tests quick.
        u_sample_pairs: 50_000,
        ..ResolverConfig::for_person_records()
    }
}

/// Resolves the cases after the filler; returns the persons of the case records.
fn persons_of(cases: &[Spec]) -> Vec<u32> {
    let mut records = population(300);
    let first_case = records.len();
    for case in cases {
        records.push(record(0, case));
    }
    for (id, record) in records.iter_mut().enumerate() {
        record.id = id as u32;
    }
    let resolution = resolve(records, &test_config());
    resolution.person_of[first_case..].to_vec()
}

fn check_together(cases: &[Spec], expected_together: bool) {
    let persons = persons_of(cases);
    let together = persons.iter().all(|person| *person == persons[0]);
    assert_eq!(together, expected_together, "persons {persons:?}");
}

#[test]
fn spellings_across_scripts_join() {
    check_together(
        &[
            Spec {
                passport: Some("FA1234567"),
                ..spec("Абдуллаев", "Рустам", "1991-07-14")
            },
            Spec {
                passport: Some("FA1234567"),
                ..spec("ABDULLAYEV", "RUSTAM", "1991-07-14")
            },
            spec("Abdoullaev", "Roustam", "1991-07-14"),
        ],
        true,
    );
}

#[test]
fn swapped_names_and_day_month_join() {
    check_together(
        &[
            Spec {
                passport: Some("FA7654321"),
                ..spec("Xudoyberdiyev", "Shavkat", "1985-03-09")
            },
            Spec {
                passport: Some("FA7654321"),
                ..spec("Shavkat", "Xudoyberdiyev", "1985-09-03")
            },
        ],
        true,
    );
}

#[test]
fn namesakes_with_different_snils_stay_apart() {
    check_together(
        &[
            Spec {
                snils: Some("112-233-445 95"),
                ..spec("Toshmatov", "Eshmat", "1979-05-05")
            },
            Spec {
                snils: Some("123-456-789 64"),
                ..spec("Toshmatov", "Eshmat", "1979-05-05")
            },
        ],
        false,
    );
}

#[test]
fn namesakes_with_different_passports_stay_apart() {
    check_together(
        &[
            Spec {
                passport: Some("AA1111111"),
                ..spec("Toshmatov", "Eshmat", "1979-05-05")
            },
            Spec {
                passport: Some("AB9999999"),
                ..spec("Toshmatov", "Eshmat", "1979-05-05")
            },
        ],
        false,
    );
}

#[test]
fn renewed_passport_with_successive_validity_joins() {
    check_together(
        &[
            Spec {
                passport: Some("AA1111111"),
                validity: Some(("2010-01-10", "2020-01-10")),
                ..spec("Toshmatov", "Eshmat", "1979-05-05")
            },
            Spec {
                passport: Some("AB9999999"),
                validity: Some(("2020-01-05", "2030-01-05")),
                ..spec("Toshmatov", "Eshmat", "1979-05-05")
            },
        ],
        true,
    );
}

/// A deterministic shuffle (splitmix64 driving Fisher-Yates).
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    for index in (1..items.len()).rev() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^= mixed >> 31;
        items.swap(index, (mixed % (index as u64 + 1)) as usize);
    }
}

/// The partition as sets of caller ids, independent of person numbering.
fn partition(records: &[ResolverRecord], person_of: &[u32]) -> BTreeSet<BTreeSet<u32>> {
    let mut groups: std::collections::BTreeMap<u32, BTreeSet<u32>> = Default::default();
    for (record, person) in records.iter().zip(person_of) {
        groups.entry(*person).or_default().insert(record.id);
    }
    groups.into_values().collect()
}

#[test]
fn partition_does_not_depend_on_input_order() {
    let mut records = population(120);
    // Records that differ only slightly, so that ties and borderline pairs occur.
    for (index, record) in records.iter_mut().enumerate() {
        if index % 7 == 0 {
            record.strong_keys.clear();
        }
        if index % 11 == 0 {
            record.birth_date = record
                .birth_date
                .and_then(|date| PartialDate::parse(&date.year().to_string()).ok());
        }
        // Distinct content per record: identical records are interchangeable and
        // their ids could legitimately trade places.
        record
            .attributes
            .push(("serial".to_owned(), index.to_string()));
    }
    for (id, record) in records.iter_mut().enumerate() {
        record.id = id as u32;
    }
    let config = test_config();
    let baseline = resolve(records.clone(), &config);
    let expected = partition(&records, &baseline.person_of);
    for seed in 1..=6 {
        let mut shuffled = records.clone();
        shuffle(&mut shuffled, seed);
        let resolution = resolve(shuffled.clone(), &config);
        assert_eq!(
            partition(&shuffled, &resolution.person_of),
            expected,
            "seed {seed}"
        );
        assert_eq!(resolution.model, baseline.model, "seed {seed}");
    }
}

#[test]
fn a_record_with_nothing_but_a_shared_passport_joins_its_person() {
    let mut records = population(300);
    let first_case = records.len() as u32;
    let mut known = record(
        0,
        &Spec {
            passport: Some("FA1234567"),
            ..spec("Abdullaev", "Rustam", "1991-07-14")
        },
    );
    known.id = first_case;
    let bare = ResolverRecord {
        id: first_case + 1,
        strong_keys: vec![StrongKey::new(KeyKind::Passport, "UZB:FA1234567")],
        ..ResolverRecord::default()
    };
    records.push(known);
    records.push(bare);
    for (index, record) in records.iter_mut().enumerate() {
        record.id = index as u32;
    }
    let resolution = resolve(records, &test_config());
    let person_of = &resolution.person_of;
    assert_eq!(
        person_of[first_case as usize],
        person_of[first_case as usize + 1]
    );
}

#[test]
fn result_does_not_depend_on_thread_count() {
    // Enough records that preparation splits them into runs with interners of their own.
    let mut records = population(3_000);
    for (index, record) in records.iter_mut().enumerate() {
        // A few records carry two SNILS (which one is kept is decided on merged ids) and
        // strings first seen late in content order.
        if index % 97 == 0 {
            record.strong_keys.push(StrongKey::new(
                KeyKind::Snils,
                format!("{:011}", 90_000_000_000u64 - index as u64),
            ));
            record.strong_keys.push(StrongKey::new(
                KeyKind::Snils,
                format!("{:011}", 10_000_000_000u64 + index as u64),
            ));
        }
        record.id = index as u32;
    }
    let resolve_on = |threads: usize| {
        resolve(
            records.clone(),
            &ResolverConfig {
                threads,
                ..test_config()
            },
        )
    };
    let single = resolve_on(1);
    for threads in [2, 3] {
        let resolution = resolve_on(threads);
        assert_eq!(resolution.person_of, single.person_of, "{threads} threads");
        assert_eq!(resolution.model, single.model, "{threads} threads");
        assert_eq!(
            resolution.possible_matches, single.possible_matches,
            "{threads} threads"
        );
    }
}
