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
    patronymic: Option<&'static str>,
    observed: Option<&'static str>,
}

const fn spec(family: &'static str, given: &'static str, birth: &'static str) -> Spec {
    Spec {
        family,
        given,
        birth,
        passport: None,
        validity: None,
        snils: None,
        patronymic: None,
        observed: None,
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
            patronymic: spec.patronymic.map(str::to_owned),
        }],
        birth_date: PartialDate::parse(spec.birth).ok(),
        sex: Some(Sex::M),
        citizenship: Some("UZB".to_owned()),
        strong_keys,
        document_validity,
        observed_on: spec
            .observed
            .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()),
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

/// One person's records over time: `(passport, observed day)`, full name with patronymic.
fn citing(citations: &[(&'static str, &'static str)]) -> Vec<Spec> {
    citations
        .iter()
        .map(|&(passport, observed)| Spec {
            passport: Some(passport),
            patronymic: Some("Eshmatovich"),
            observed: Some(observed),
            ..spec("Toshmatov", "Eshmat", "1979-05-05")
        })
        .collect()
}

#[test]
fn renewed_passport_cited_in_turn_joins_on_full_name() {
    // The old passport until the renewal, then the new one, and one agency with stale files
    // still citing the old one.
    check_together(
        &citing(&[
            ("AA1111111", "2021-01-10"),
            ("AA1111111", "2021-04-02"),
            ("AA1111111", "2021-08-20"),
            ("AB9999999", "2022-01-15"),
            ("AB9999999", "2022-03-01"),
            ("AA1111111", "2022-05-30"),
            ("AB9999999", "2022-07-11"),
            ("AB9999999", "2022-11-05"),
        ]),
        true,
    );
}

#[test]
fn namesakes_citing_their_passports_in_turn_stay_apart() {
    // The same full name, birth date and father's name, but both passports stay in use.
    check_together(
        &citing(&[
            ("AA1111111", "2021-01-10"),
            ("AB9999999", "2021-02-15"),
            ("AA1111111", "2021-04-02"),
            ("AB9999999", "2021-06-01"),
            ("AA1111111", "2021-08-20"),
            ("AB9999999", "2021-10-11"),
            ("AA1111111", "2022-01-05"),
            ("AB9999999", "2022-03-30"),
        ]),
        false,
    );
}

#[test]
fn renewal_on_full_name_needs_observation_days() {
    // Without the days nothing tells the renewal from a same-father namesake.
    let cases: Vec<Spec> = citing(&[
        ("AA1111111", "2021-01-10"),
        ("AA1111111", "2021-04-02"),
        ("AB9999999", "2022-01-15"),
        ("AB9999999", "2022-03-01"),
    ])
    .into_iter()
    .map(|case| Spec {
        observed: None,
        ..case
    })
    .collect();
    check_together(&cases, false);
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
fn a_lone_family_name_in_the_given_field_is_matched_as_a_family_name() {
    use dprofile_resolver::{BlockingPart, BlockingRule};
    // Whether the lone record ends up with the full ones or listed for review with them.
    let lone_is_matched = |lone_either_part: bool| {
        let mut records = population(300);
        let first_case = records.len() as u32;
        records.push(record(0, &spec("Abdullaev", "Rustam", "1991-07-14")));
        records.push(record(0, &spec("Abdullaev", "Rustam", "1991-07-14")));
        // A source that had one word of the name put it in the given-name field.
        let mut lone = record(0, &spec("", "", "1991-07-14"));
        lone.names = vec![NameVariant {
            family: None,
            given: Some("ABDULLAEV".to_owned()),
            patronymic: None,
        }];
        records.push(lone);
        for (id, record) in records.iter_mut().enumerate() {
            record.id = id as u32;
        }
        let mut config = test_config();
        config.blocking_rules.push(BlockingRule::new(vec![
            BlockingPart::AnyNamePhonetic,
            BlockingPart::BirthDate,
        ]));
        config.lone_name_matches_either_part = lone_either_part;
        let resolution = resolve(records, &config);
        let person = |id: u32| resolution.person_of[id as usize];
        assert_eq!(person(first_case), person(first_case + 1));
        let lone = first_case + 2;
        person(lone) == person(first_case)
            || resolution
                .possible_matches
                .iter()
                .any(|pair| pair.left == lone || pair.right == lone)
    };
    assert!(lone_is_matched(true));
    // Read as a given name only, the lone word disagrees with "Rustam".
    assert!(!lone_is_matched(false));
}

// ---------------------------------------------------------------------------------------------
// A frozen model and the neighbourhood of a change (issue 3).

mod incremental {
    use std::collections::{BTreeMap, BTreeSet};

    use dprofile_domain::{Action, ParseMode, parse_record};
    use dprofile_resolver::incremental::{Change, Neighbours, blocking_keys, closure};
    use dprofile_resolver::{
        Constraints, Model, ResolverConfig, ResolverRecord, resolve, resolve_pairs_with_model,
        resolve_with_model,
    };
    use dprofile_synth::{SynthConfig, generate};

    /// Latest upsert of every key of a synthetic population with many hard cases.
    fn population(persons: u64, seed: u64) -> Vec<ResolverRecord> {
        let mut config = SynthConfig::new(persons, seed);
        config.namesake_share = 0.2;
        config.twin_share = 0.05;
        config.passport_renewal_share = 0.3;
        config.typo_rate = 0.1;
        let mut latest: BTreeMap<(String, String), (u32, Option<ResolverRecord>)> = BTreeMap::new();
        generate(&config, |line| {
            let Ok(record) = parse_record(line.line.as_bytes(), ParseMode::SubjectOnly) else {
                return;
            };
            let content = (record.action == Action::Upsert)
                .then(|| ResolverRecord::from_subject(0, &record.subject));
            let entry = latest
                .entry((line.source, line.source_ref))
                .or_insert((0, None));
            if record.revision > entry.0 {
                *entry = (record.revision, content);
            }
        });
        latest
            .into_values()
            .filter_map(|(_, record)| record)
            .enumerate()
            .map(|(id, mut record)| {
                record.id = id as u32;
                record
            })
            .collect()
    }

    /// A registry in memory: the records inserted so far and their blocking keys.
    #[derive(Default)]
    struct Registry {
        records: BTreeMap<u32, ResolverRecord>,
        blocks: BTreeMap<u64, BTreeSet<u32>>,
        person: BTreeMap<u32, u64>,
        next_person: u64,
    }

    impl Neighbours for Registry {
        type Id = u32;
        type Error = std::convert::Infallible;
        fn members(&mut self, keys: &[u64]) -> Result<Vec<(u64, u32)>, Self::Error> {
            Ok(keys
                .iter()
                .flat_map(|key| {
                    self.blocks
                        .get(key)
                        .into_iter()
                        .flatten()
                        .map(move |id| (*key, *id))
                })
                .collect())
        }
        fn records(&mut self, ids: &[u32]) -> Result<Vec<(u32, ResolverRecord)>, Self::Error> {
            Ok(ids
                .iter()
                .filter_map(|id| Some((*id, self.records.get(id)?.clone())))
                .collect())
        }
        fn companions(&mut self, _: &[u32]) -> Result<Vec<u32>, Self::Error> {
            Ok(Vec::new())
        }
    }

    impl Registry {
        fn insert(&mut self, record: ResolverRecord, config: &ResolverConfig, model: &Model) {
            let id = record.id;
            for key in blocking_keys(&record, config) {
                self.blocks.entry(key).or_default().insert(id);
            }
            self.records.insert(id, record.clone());
            let change = Change {
                id,
                before: None,
                after: Some(record),
            };
            let Ok(found) = closure(vec![change], config, model, self);
            let resolution = resolve_pairs_with_model(
                found.records,
                &found.pairs,
                config,
                model,
                &Constraints::default(),
            );
            let base = self.next_person;
            for (position, cluster) in resolution.person_of.iter().enumerate() {
                self.person
                    .insert(found.ids[position], base + u64::from(*cluster));
            }
            self.next_person += resolution.persons as u64;
        }
    }

    fn partition(pairs: impl Iterator<Item = (u32, u64)>) -> BTreeSet<BTreeSet<u32>> {
        let mut groups: BTreeMap<u64, BTreeSet<u32>> = BTreeMap::new();
        for (id, person) in pairs {
            groups.entry(person).or_default().insert(id);
        }
        groups.into_values().collect()
    }

    fn shuffle<T>(items: &mut [T], seed: u64) {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for index in (1..items.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            items.swap(index, (state % (index as u64 + 1)) as usize);
        }
    }

    fn check(config: ResolverConfig, persons: u64, orders: u64) {
        let records = population(persons, 5);
        let model = resolve(records.clone(), &config).model;
        let batch = resolve_with_model(records.clone(), &config, &model);
        let expected = partition(
            records
                .iter()
                .map(|record| (record.id, u64::from(batch.person_of[record.id as usize]))),
        );
        assert!(expected.len() < records.len());
        for order in 0..orders {
            let mut shuffled = records.clone();
            shuffle(&mut shuffled, order + 1);
            let mut registry = Registry::default();
            for record in shuffled {
                registry.insert(record, &config, &model);
            }
            let found = partition(registry.person.iter().map(|(id, person)| (*id, *person)));
            assert_eq!(found, expected, "order {order}");
        }
    }

    #[test]
    fn a_fitted_model_reused_gives_the_fitted_partition() {
        let config = super::test_config();
        let records = population(60, 3);
        let fitted = resolve(records.clone(), &config);
        let text = serde_json::to_string(&fitted.model).expect("serialises");
        let mut loaded: Model = serde_json::from_str(&text).expect("deserialises");
        loaded.bind(&config).expect("fits the configuration");
        let reused = resolve_with_model(records.clone(), &config, &loaded);
        let of = |person_of: &[u32]| {
            partition(
                person_of
                    .iter()
                    .enumerate()
                    .map(|(id, person)| (id as u32, u64::from(*person))),
            )
        };
        assert_eq!(of(&reused.person_of), of(&fitted.person_of));
    }

    #[test]
    fn records_added_one_by_one_reach_the_batch_partition() {
        check(super::test_config(), 60, 4);
    }

    #[test]
    fn records_added_one_by_one_reach_the_batch_partition_in_windowed_blocks() {
        for (max_block_size, sub_block_window) in [(3, 1), (5, 2), (8, 3)] {
            let mut config = super::test_config();
            config.max_block_size = max_block_size;
            config.sub_block_window = sub_block_window;
            check(config, 60, 4);
        }
    }

    /// A record that sorts between two records of one person in an oversized block takes
    /// their window pair away: the batch resolver no longer sees that pair, so the two must
    /// be resolved again even though the new record links to neither.
    #[test]
    fn a_record_that_shifts_a_window_reresolves_the_pair_it_displaced() {
        use dprofile_resolver::{BlockingPart, BlockingRule};
        let mut config = super::test_config();
        config.blocking_rules = vec![BlockingRule::new(vec![BlockingPart::FamilyFolded])];
        config.max_block_size = 2;
        config.sub_block_window = 1;
        let mut records = super::population(120);
        let first = records.len() as u32;
        for (offset, (given, birth)) in [
            ("Zoirjona", "1990-01-01"),
            ("Zoirjonu", "1990-01-01"),
            ("Zoirjonm", "1975-06-30"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut record = super::record(0, &super::spec("Abdurakhmanov", given, birth));
            record.id = first + offset as u32;
            records.push(record);
        }
        for (id, record) in records.iter_mut().enumerate() {
            record.id = id as u32;
        }
        let model = resolve(records.clone(), &config).model;
        let (pair, newcomer) = (first..first + 2, first + 2);
        // The case is what it means to be: together without the newcomer, apart with it.
        let without: Vec<ResolverRecord> = records[..newcomer as usize].to_vec();
        let before = resolve_with_model(without, &config, &model);
        assert_eq!(
            before.person_of[pair.start as usize],
            before.person_of[pair.start as usize + 1]
        );
        let after = resolve_with_model(records.clone(), &config, &model);
        assert_ne!(
            after.person_of[pair.start as usize],
            after.person_of[pair.start as usize + 1]
        );
        let mut registry = Registry::default();
        for record in records {
            registry.insert(record, &config, &model);
        }
        assert_ne!(
            registry.person[&pair.start],
            registry.person[&(pair.start + 1)],
            "the displaced pair was not resolved again"
        );
    }
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
