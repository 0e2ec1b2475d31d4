//! Who each synthetic person is: country, name, birth date, documents and identifiers, and how
//! they relate to other persons (namesakes, twins, father and son).
//!
//! A person is a pure function of `(seed, index)`; relations look back at an earlier person's
//! core identity, which is cheap to re-derive, so generation stays streaming.

use chrono::{Datelike, NaiveDate};
use rand::Rng;

use crate::SynthConfig;
use crate::names::{NameChoice, PersonNames, Sex};
use crate::numbers::{self, permute, permute_reserving};
use crate::places::{EMPLOYER_FORMS, EMPLOYER_STEMS, REGIONS};
use crate::pools::{COUNTRIES, CountryPool, Language, UZBEKISTAN, position_of};
use crate::random::{
    Stream, add_years, chance, cumulative, date_between, days, pick, stream, weighted, zipf_table,
};
use crate::translit::NameForm;

/// What brings a person to Russia; decides which agencies hold records about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A worker on a patent (or, from the Eurasian Economic Union, on a contract alone).
    Labour,
    /// Temporary then permanent residence: permits, property, cars, a population register entry.
    Resident,
    Student,
    /// A school-age child who came with the family.
    Child,
    /// A short private or tourist visit.
    Visitor,
    /// A worker from a country whose citizens need a visa.
    VisaWorker,
    /// A member of a foreign mission.
    Diplomat,
}

/// How a person was made to resemble an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    None,
    /// Same name and birth date as person `.0`, a different person.
    Namesake(u64),
    /// Same family name, father and birth date as person `.0`, a different given name.
    Twin(u64),
    /// Son of person `.0`, with his father's family and given name.
    SonOf(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RelationKind {
    None,
    Namesake,
    Twin,
    SonOf,
}

#[derive(Debug, Clone)]
pub struct Passport {
    pub number: String,
    pub issued_on: NaiveDate,
    pub expires_on: NaiveDate,
    /// How this passport spells the name in Latin: older Uzbek passports used the Russian
    /// MVD style (`ABDULLAEV`), newer ones the national alphabet (`ABDULLAYEV`).
    pub latin_form: NameForm,
}

/// An identifier and the day it was issued: records older than that day cannot carry it.
#[derive(Debug, Clone)]
pub struct Identifier {
    pub value: String,
    pub since: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub index: u64,
    pub country: &'static CountryPool,
    pub choice: NameChoice,
    pub names: PersonNames,
    pub birth_date: NaiveDate,
    pub scenario: Scenario,
    pub relation: Relation,
    /// Index into [`REGIONS`] where the person mostly lives.
    pub region: usize,
    pub first_entry: NaiveDate,
    /// Oldest first; a renewal adds a passport with a new number.
    pub passports: Vec<Passport>,
    /// Kazakh and Kyrgyz identity cards, on which their citizens may cross the border.
    pub national_id: Option<String>,
    pub snils: Option<Identifier>,
    pub inn: Option<Identifier>,
    pub esia: Option<Identifier>,
    pub phones: Vec<String>,
}

impl Person {
    pub fn sex(&self) -> Sex {
        self.choice.sex
    }

    pub fn code(&self) -> &'static str {
        self.country.code
    }

    /// The passport the person held on `date` (the first one before any was issued).
    pub fn passport_on(&self, date: NaiveDate) -> &Passport {
        self.passports
            .iter()
            .rev()
            .find(|passport| passport.issued_on <= date)
            .unwrap_or(&self.passports[0])
    }

    pub fn is_eaeu(&self) -> bool {
        person_is_eaeu(self.code())
    }

    /// Citizens who may work only on a patent (visa-free, outside the Eurasian Economic Union).
    pub fn needs_patent(&self) -> bool {
        matches!(self.code(), "UZB" | "TJK" | "AZE" | "MDA")
    }

    pub fn needs_visa(&self) -> bool {
        matches!(self.code(), "VNM" | "TKM")
    }

    pub fn age_on(&self, date: NaiveDate) -> i32 {
        let mut age = date.year() - self.birth_date.year();
        if (date.month(), date.day()) < (self.birth_date.month(), self.birth_date.day()) {
            age -= 1;
        }
        age
    }
}

/// Citizens of the Eurasian Economic Union work without a patent and may travel on their
/// identity cards.
fn person_is_eaeu(code: &str) -> bool {
    matches!(code, "KGZ" | "KAZ")
}

pub struct Employer {
    pub name: String,
    /// A valid organisation INN whose first two digits are the employer's region.
    pub inn: String,
}

/// Tables built once per run and shared by every person.
pub struct World {
    pub config: SynthConfig,
    pub reference: NaiveDate,
    /// The earliest day of the stays generated (six years before the reference date).
    pub window_start: NaiveDate,
    country_table: Vec<f64>,
    family_tables: Vec<Vec<f64>>,
    male_tables: Vec<Vec<f64>>,
    female_tables: Vec<Vec<f64>>,
    region_table: Vec<f64>,
    pub employers: Vec<Employer>,
    employers_by_region: Vec<Vec<usize>>,
}

const PURPOSE_CORE: u64 = 1;
const PURPOSE_DETAILS: u64 = 2;

const EMPLOYER_COUNT: usize = 800;

/// The demo person's fixed identifiers (DESIGN.md's example record).
pub const DEMO_PASSPORT: &str = "FA1234567";
/// The demo person's birth date, as every source writes it (the portal's demo sign-in).
pub const DEMO_BIRTH_DATE: &str = "1991-07-14";
pub const DEMO_SNILS: &str = "123-456-789 64";
pub const DEMO_INN: &str = "771234567859";
pub const DEMO_ESIA: &str = "1000012345";
pub const DEMO_PHONE: &str = "+79161234567";

/// Passport number formats: letter prefixes and the count of digits after them. Every country
/// has room for at least 50 million numbers, four per person: numbers stay unique up to
/// [`UNIQUE_PERSONS`] persons.
fn passport_format(code: &str) -> (&'static [&'static str], u32) {
    match code {
        "UZB" => (&["AA", "AB", "AC", "AD", "FA", "FB", "FK"], 7),
        "TJK" => (&["4", "5"], 8),
        "KGZ" => (&["AC", "AN", "PE", "AD", "AE"], 7),
        "KAZ" => (&["N"], 8),
        "AZE" => (&["C"], 8),
        "TKM" => (&["A", "B", "C", "D", "E"], 7),
        "MDA" => (&["AB", "BA", "AA", "AC", "BB"], 7),
        "TUR" => (&["U", "S"], 8),
        _ => (&["C", "P", "B", "N", "K"], 7),
    }
}

/// Kazakh and Kyrgyz identity card formats (one card per person).
fn national_id_format(code: &str) -> (&'static [&'static str], u32) {
    match code {
        "KAZ" => (&["0"], 8),
        _ => (&["ID"], 8),
    }
}

/// Up to this many persons every passport, identity card, SNILS, INN, ESIA id and phone number
/// is unique; past it numbers wrap around and may repeat.
pub const UNIQUE_PERSONS: u64 = 12_500_000;

fn country_key(seed: u64, code: &str, kind: u64) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[..code.len()].copy_from_slice(code.as_bytes());
    numbers::mix64(seed ^ numbers::mix64(u64::from_le_bytes(bytes) ^ kind))
}

/// The number in `slot` of a format, with `reserved` kept for slot 0.
fn document_number(
    (prefixes, digit_count): (&[&str], u32),
    key: u64,
    slot: u64,
    reserved: Option<u64>,
) -> String {
    let per_prefix = 10u64.pow(digit_count);
    let domain = per_prefix * prefixes.len() as u64;
    let value = permute_reserving(slot, domain, key, reserved);
    let mut number = String::with_capacity(12);
    number.push_str(prefixes[(value / per_prefix) as usize]);
    numbers::push_digits(&mut number, value % per_prefix, digit_count);
    number
}

fn passport_number(seed: u64, code: &str, slot: u64) -> String {
    // The demo passport FA1234567 belongs to slot 0 alone.
    let reserved = (code == "UZB").then_some(4 * 10_000_000 + 1_234_567);
    document_number(
        passport_format(code),
        country_key(seed, code, 1),
        slot,
        reserved,
    )
}

fn national_id_number(seed: u64, code: &str, index: u64) -> String {
    document_number(
        national_id_format(code),
        country_key(seed, code, 2),
        index,
        None,
    )
}

impl World {
    pub fn new(config: &SynthConfig) -> World {
        let reference = config.reference_date;
        let mut employers = Vec::with_capacity(EMPLOYER_COUNT);
        let mut employers_by_region = vec![Vec::new(); REGIONS.len()];
        let region_table = cumulative(REGIONS.iter().map(|region| f64::from(region.weight)));
        let mut employer_stream = stream(config.seed, u64::MAX, 7);
        for employer_index in 0..EMPLOYER_COUNT {
            let stem = EMPLOYER_STEMS[employer_index % EMPLOYER_STEMS.len()];
            let form = pick(&mut employer_stream, EMPLOYER_FORMS);
            let round = employer_index / EMPLOYER_STEMS.len();
            let region = weighted(&mut employer_stream, &region_table);
            let name = if round == 0 {
                format!("{form} «{stem}»")
            } else {
                format!("{form} «{stem}-{}»", round + 1)
            };
            let body = permute(employer_index as u64, 10_000_000, config.seed ^ 0x0e11);
            let inn = numbers::organisation_inn(&format!(
                "{}{}",
                REGIONS[region].code,
                numbers::digits(body, 7)
            ));
            employers_by_region[region].push(employer_index);
            employers.push(Employer { name, inn });
        }
        World {
            config: config.clone(),
            reference,
            window_start: add_years(reference, -6),
            country_table: cumulative(COUNTRIES.iter().map(|pool| f64::from(pool.weight))),
            family_tables: COUNTRIES
                .iter()
                .map(|pool| zipf_table(pool.family.len()))
                .collect(),
            male_tables: COUNTRIES
                .iter()
                .map(|pool| zipf_table(pool.male_given.len()))
                .collect(),
            female_tables: COUNTRIES
                .iter()
                .map(|pool| zipf_table(pool.female_given.len()))
                .collect(),
            region_table,
            employers,
            employers_by_region,
        }
    }

    pub fn pick_region(&self, rng: &mut Stream) -> usize {
        weighted(rng, &self.region_table)
    }

    /// An employer in `region` (any employer if the region has none).
    pub fn pick_employer(&self, rng: &mut Stream, region: usize) -> &Employer {
        let local = &self.employers_by_region[region];
        if local.is_empty() {
            pick(rng, &self.employers)
        } else {
            &self.employers[*pick(rng, local)]
        }
    }

    fn pick_given(&self, rng: &mut Stream, country: usize, sex: Sex) -> usize {
        match sex {
            Sex::Male => weighted(rng, &self.male_tables[country]),
            Sex::Female => weighted(rng, &self.female_tables[country]),
        }
    }
}

/// A person's identity before relations: enough for a later namesake to copy.
#[derive(Debug, Clone, Copy)]
struct Core {
    choice: NameChoice,
    scenario: Scenario,
    birth_date: NaiveDate,
    relation: RelationKind,
    relation_draw: u64,
}

fn scenario_for(code: &str, rng: &mut Stream) -> Scenario {
    // Weights in per mille: the Central Asian bulk comes to work.
    let table: &[(Scenario, u32)] = match code {
        "VNM" | "TKM" => &[
            (Scenario::VisaWorker, 420),
            (Scenario::Student, 250),
            (Scenario::Visitor, 200),
            (Scenario::Resident, 110),
            (Scenario::Diplomat, 20),
        ],
        "TUR" => &[
            (Scenario::VisaWorker, 400),
            (Scenario::Visitor, 300),
            (Scenario::Student, 100),
            (Scenario::Resident, 180),
            (Scenario::Diplomat, 20),
        ],
        _ => &[
            (Scenario::Labour, 600),
            (Scenario::Resident, 130),
            (Scenario::Student, 85),
            (Scenario::Child, 70),
            (Scenario::Visitor, 108),
            (Scenario::Diplomat, 7),
        ],
    };
    let weights = cumulative(table.iter().map(|(_, weight)| f64::from(*weight)));
    table[weighted(rng, &weights)].0
}

fn age_range(scenario: Scenario) -> (i32, i32) {
    match scenario {
        Scenario::Labour => (18, 55),
        Scenario::Resident => (25, 66),
        Scenario::Student => (17, 27),
        Scenario::Child => (8, 17),
        Scenario::Visitor => (18, 70),
        Scenario::VisaWorker => (20, 50),
        Scenario::Diplomat => (28, 60),
    }
}

fn male_share(scenario: Scenario) -> f64 {
    match scenario {
        Scenario::Labour => 0.8,
        Scenario::Resident => 0.55,
        Scenario::Student => 0.6,
        Scenario::Child | Scenario::Visitor => 0.5,
        Scenario::VisaWorker => 0.85,
        Scenario::Diplomat => 0.75,
    }
}

/// A child's scenario follows the age; adults keep theirs.
fn scenario_for_age(scenario: Scenario, age: i32) -> Scenario {
    if age < 17 {
        Scenario::Child
    } else if scenario == Scenario::Child {
        Scenario::Labour
    } else {
        scenario
    }
}

fn core(world: &World, index: u64) -> Core {
    let mut rng = stream(world.config.seed, index, PURPOSE_CORE);
    let country = weighted(&mut rng, &world.country_table);
    let code = COUNTRIES[country].code;
    let scenario = scenario_for(code, &mut rng);
    let sex = if chance(&mut rng, male_share(scenario)) {
        Sex::Male
    } else {
        Sex::Female
    };
    let (youngest, oldest) = age_range(scenario);
    let age = youngest + (f64::from(oldest - youngest) * rng.random::<f64>().powf(1.6)) as i32;
    let birth_date = days(
        add_years(world.reference, -age - 1),
        rng.random_range(1..365),
    );
    let family = weighted(&mut rng, &world.family_tables[country]);
    let given = world.pick_given(&mut rng, country, sex);
    let father = world.pick_given(&mut rng, country, Sex::Male);
    let config = &world.config;
    let draw = rng.random::<f64>();
    let relation = if index < 2 {
        RelationKind::None
    } else if draw < config.namesake_share {
        RelationKind::Namesake
    } else if draw < config.namesake_share + config.twin_share {
        RelationKind::Twin
    } else if draw < config.namesake_share + config.twin_share + config.father_son_share {
        RelationKind::SonOf
    } else {
        RelationKind::None
    };
    Core {
        choice: NameChoice {
            country,
            sex,
            family,
            given,
            father,
        },
        scenario,
        birth_date,
        relation,
        relation_draw: rng.random(),
    }
}

/// Applies a relation to an earlier person; falls back to no relation when it cannot hold.
fn related(world: &World, index: u64, own: Core) -> (Core, Relation) {
    if own.relation == RelationKind::None {
        return (own, Relation::None);
    }
    // Look back a little: related people are registered around the same time.
    let reach = (index - 1).min(5_000);
    let target = index - 1 - own.relation_draw % reach;
    let other = core(world, target);
    if other.relation != RelationKind::None || target == 0 {
        return (own, Relation::None);
    }
    let mut rng = stream(world.config.seed, index, PURPOSE_CORE + 100);
    let reference = world.reference;
    let adopt = |birth_date: NaiveDate, choice: NameChoice, scenario: Scenario| {
        let age = {
            let mut age = reference.year() - birth_date.year();
            if (reference.month(), reference.day()) < (birth_date.month(), birth_date.day()) {
                age -= 1;
            }
            age
        };
        Core {
            choice,
            scenario: scenario_for_age(scenario, age),
            birth_date,
            relation: own.relation,
            relation_draw: own.relation_draw,
        }
    };
    match own.relation {
        RelationKind::Namesake => {
            let father = if chance(&mut rng, 0.5) {
                other.choice.father
            } else {
                world.pick_given(&mut rng, other.choice.country, Sex::Male)
            };
            let choice = NameChoice {
                father,
                ..other.choice
            };
            (
                adopt(other.birth_date, choice, own.scenario),
                Relation::Namesake(target),
            )
        }
        RelationKind::Twin => {
            let pool = &COUNTRIES[other.choice.country];
            let list_length = match other.choice.sex {
                Sex::Male => pool.male_given.len(),
                Sex::Female => pool.female_given.len(),
            };
            let mut given = world.pick_given(&mut rng, other.choice.country, other.choice.sex);
            if given == other.choice.given {
                given = (given + 1 + rng.random_range(0..list_length - 1)) % list_length;
            }
            let choice = NameChoice {
                given,
                ..other.choice
            };
            (
                adopt(other.birth_date, choice, own.scenario),
                Relation::Twin(target),
            )
        }
        RelationKind::SonOf => {
            if other.choice.sex != Sex::Male {
                return (own, Relation::None);
            }
            // The son is at least 8 (old enough for school records), the father at least 20
            // years older than him.
            let father_age = reference.year() - other.birth_date.year();
            if father_age < 29 {
                return (own, Relation::None);
            }
            let gap = rng.random_range(20..(father_age - 8).min(38));
            let birth_date = days(add_years(other.birth_date, gap), rng.random_range(0..365))
                .min(add_years(reference, -8));
            let choice = NameChoice {
                country: other.choice.country,
                sex: Sex::Male,
                family: other.choice.family,
                given: other.choice.given,
                father: other.choice.given,
            };
            (
                adopt(birth_date, choice, own.scenario),
                Relation::SonOf(target),
            )
        }
        RelationKind::None => (own, Relation::None),
    }
}

fn first_entry(world: &World, scenario: Scenario, rng: &mut Stream) -> NaiveDate {
    let reference = world.reference;
    match scenario {
        Scenario::Labour | Scenario::VisaWorker | Scenario::Visitor => {
            date_between(rng, days(world.window_start, 30), days(reference, -30))
        }
        Scenario::Resident => date_between(rng, add_years(reference, -8), add_years(reference, -2)),
        Scenario::Student => {
            let year = reference.year() - rng.random_range(0..6);
            let start = NaiveDate::from_ymd_opt(year, 8, 15).unwrap_or(reference);
            let start = if start > days(reference, -20) {
                add_years(start, -1)
            } else {
                start
            };
            days(start, rng.random_range(0..20))
        }
        Scenario::Child => date_between(rng, add_years(reference, -5), days(reference, -60)),
        Scenario::Diplomat => date_between(rng, add_years(reference, -4), days(reference, -60)),
    }
}

fn passports(
    world: &World,
    index: u64,
    code: &str,
    language: Language,
    birth_date: NaiveDate,
    first_entry: NaiveDate,
    rng: &mut Stream,
) -> Vec<Passport> {
    let adult_from = add_years(birth_date, 16);
    let earliest = add_years(first_entry, -9).max(days(birth_date, 200));
    let issued_on = date_between(rng, earliest, days(first_entry, -15)).max(days(birth_date, 30));
    let validity = if issued_on < adult_from { 5 } else { 10 };
    let latin_form = |issued_on: NaiveDate, rng: &mut Stream| {
        // Uzbekistan moved its passports from Russian-style to national Latin spellings.
        if language == Language::Uzbek && issued_on.year() < 2021 && chance(rng, 0.4) {
            NameForm::Gost
        } else {
            NameForm::Passport
        }
    };
    let seed = world.config.seed;
    let mut list = vec![Passport {
        number: passport_number(seed, code, index * 4),
        issued_on,
        expires_on: add_years(issued_on, validity),
        latin_form: latin_form(issued_on, rng),
    }];
    // Expired passports are renewed a little before they run out; a few people renew early
    // (a lost passport, a new spelling) at any time during their stay.
    let reference = world.reference;
    let mut slot = 1;
    loop {
        let last = &list[list.len() - 1];
        let renewal = if last.expires_on <= reference && slot < 4 {
            Some(date_between(
                rng,
                days(last.expires_on, -150),
                days(last.expires_on, -5),
            ))
        } else if slot == 1 && chance(rng, world.config.passport_renewal_share) {
            Some(date_between(
                rng,
                days(first_entry, 120),
                days(reference, -20),
            ))
        } else {
            None
        };
        let Some(renewed_on) = renewal else {
            break;
        };
        let renewed_on = renewed_on.max(days(last.issued_on, 60));
        if renewed_on > days(reference, -5) {
            break;
        }
        let adult = renewed_on >= adult_from;
        list.push(Passport {
            number: passport_number(seed, code, index * 4 + slot),
            issued_on: renewed_on,
            expires_on: add_years(renewed_on, if adult { 10 } else { 5 }),
            latin_form: latin_form(renewed_on, rng),
        });
        slot += 1;
    }
    list
}

fn snils_text(seed: u64, index: u64) -> String {
    let value = permute_reserving(
        index,
        997_000_000,
        seed ^ 0x5_0115,
        Some(123_456_789 - 2_000_000),
    );
    let body = 2_000_000 + value;
    numbers::format_snils(body, numbers::snils_check(body))
}

fn inn_text(seed: u64, index: u64, region_code: &str) -> String {
    let body = permute_reserving(index, 100_000_000, seed ^ 0x1_11, Some(12_345_678));
    let region_code = if index == 0 { "77" } else { region_code };
    numbers::person_inn(&format!("{region_code}{}", numbers::digits(body, 8)))
}

fn esia_text(seed: u64, index: u64) -> String {
    let value = permute_reserving(index, 9_000_000_000, seed ^ 0xe51a, Some(12_345));
    (1_000_000_000 + value).to_string()
}

pub fn phone_text(seed: u64, slot: u64) -> String {
    let value = permute_reserving(slot, 1_000_000_000, seed ^ 0xf0e, Some(161_234_567));
    format!("+79{}", numbers::digits(value, 9))
}

/// Shares of each scenario that hold SNILS, INN and an ESIA account.
fn identifier_shares(scenario: Scenario) -> (f64, f64, f64) {
    match scenario {
        Scenario::Labour => (0.4, 0.7, 0.3),
        Scenario::Resident => (0.92, 0.9, 0.75),
        Scenario::Student => (0.45, 0.3, 0.4),
        Scenario::Child => (0.3, 0.1, 0.0),
        Scenario::Visitor => (0.02, 0.02, 0.02),
        Scenario::VisaWorker => (0.3, 0.6, 0.15),
        Scenario::Diplomat => (0.0, 0.0, 0.0),
    }
}

impl Person {
    pub fn generate(world: &World, index: u64) -> Person {
        if index == 0 {
            return demo_person(world);
        }
        let own = core(world, index);
        let (core, relation) = related(world, index, own);
        let pool = &COUNTRIES[core.choice.country];
        let mut rng = stream(world.config.seed, index, PURPOSE_DETAILS);
        let region = world.pick_region(&mut rng);
        let first_entry =
            first_entry(world, core.scenario, &mut rng).max(days(core.birth_date, 400));
        let passports = passports(
            world,
            index,
            pool.code,
            pool.language,
            core.birth_date,
            first_entry,
            &mut rng,
        );
        let seed = world.config.seed;
        let national_id = (person_is_eaeu(pool.code) && chance(&mut rng, 0.5))
            .then(|| national_id_number(seed, pool.code, index));
        let (snils_share, inn_share, esia_share) = identifier_shares(core.scenario);
        let reference = world.reference;
        let snils = chance(&mut rng, snils_share).then(|| Identifier {
            value: snils_text(seed, index),
            since: date_between(&mut rng, days(first_entry, 20), days(first_entry, 300))
                .min(days(reference, -3)),
        });
        let inn = chance(&mut rng, inn_share).then(|| Identifier {
            value: inn_text(seed, index, REGIONS[region].code),
            since: date_between(&mut rng, days(first_entry, 5), days(first_entry, 60))
                .min(days(reference, -3)),
        });
        let esia = match &snils {
            Some(snils) if chance(&mut rng, esia_share / snils_share.max(0.01)) => {
                Some(Identifier {
                    value: esia_text(seed, index),
                    since: date_between(&mut rng, snils.since, days(snils.since, 200))
                        .min(days(reference, -2)),
                })
            }
            _ => None,
        };
        let phone_share = match core.scenario {
            Scenario::Child => 0.05,
            Scenario::Visitor => 0.2,
            Scenario::Resident => 0.85,
            _ => 0.6,
        };
        let mut phones = Vec::new();
        if chance(&mut rng, phone_share) {
            phones.push(phone_text(seed, index * 2));
            if chance(&mut rng, 0.15) {
                phones.push(phone_text(seed, index * 2 + 1));
            }
        }
        Person {
            index,
            country: pool,
            choice: core.choice,
            names: PersonNames::build(pool, core.choice),
            birth_date: core.birth_date,
            scenario: core.scenario,
            relation,
            region,
            first_entry,
            passports,
            national_id,
            snils,
            inn,
            esia,
            phones,
        }
    }
}

/// Person 0: Рустам Шухратович Абдуллаев, the registry's demo citizen (DESIGN.md's example).
fn demo_person(world: &World) -> Person {
    let pool = &COUNTRIES[UZBEKISTAN];
    let choice = NameChoice {
        country: UZBEKISTAN,
        sex: Sex::Male,
        family: position_of(pool.family, "Абдуллаев").unwrap_or(0),
        given: position_of(pool.male_given, "Рустам").unwrap_or(0),
        father: position_of(pool.male_given, "Шуҳрат").unwrap_or(0),
    };
    let reference = world.reference;
    let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or(reference);
    let first_entry = add_years(reference, -2);
    let moscow = REGIONS
        .iter()
        .position(|region| region.code == "77")
        .unwrap_or(0);
    let passport_issued = date("2019-02-11");
    Person {
        index: 0,
        country: pool,
        choice,
        names: PersonNames::build(pool, choice),
        birth_date: date(DEMO_BIRTH_DATE),
        scenario: Scenario::Labour,
        relation: Relation::None,
        region: moscow,
        first_entry,
        passports: vec![Passport {
            number: DEMO_PASSPORT.to_owned(),
            issued_on: passport_issued,
            expires_on: add_years(passport_issued, 10),
            latin_form: NameForm::Passport,
        }],
        national_id: None,
        snils: Some(Identifier {
            value: DEMO_SNILS.to_owned(),
            since: days(first_entry, 60),
        }),
        inn: Some(Identifier {
            value: DEMO_INN.to_owned(),
            since: days(first_entry, 20),
        }),
        esia: Some(Identifier {
            value: DEMO_ESIA.to_owned(),
            since: days(first_entry, 90),
        }),
        phones: vec![DEMO_PHONE.to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn document_numbers_are_unique_and_well_formed() {
        for pool in COUNTRIES {
            let mut seen = HashSet::new();
            for slot in 0..40_000 {
                let number = passport_number(9, pool.code, slot);
                assert!(
                    number
                        .chars()
                        .all(|character| character.is_ascii_alphanumeric())
                );
                assert!(seen.insert(number), "{} slot {slot}", pool.code);
            }
        }
        assert_eq!(passport_number(9, "UZB", 0), DEMO_PASSPORT);
        assert_eq!(national_id_number(9, "KGZ", 5).len(), 10);
        assert_eq!(snils_text(9, 0), DEMO_SNILS);
        assert_eq!(inn_text(9, 0, "50"), DEMO_INN);
        assert_eq!(esia_text(9, 0), DEMO_ESIA);
        assert_eq!(phone_text(9, 0), DEMO_PHONE);
        let snils: HashSet<String> = (1..40_000).map(|index| snils_text(9, index)).collect();
        assert_eq!(snils.len(), 39_999);
        assert!(!snils.contains(DEMO_SNILS));
    }
}
