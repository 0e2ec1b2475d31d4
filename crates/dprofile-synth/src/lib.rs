//! A deterministic generator of a synthetic population of foreign citizens in Russia, as the
//! records many agencies would send about them (ingest envelope lines), with the ground truth of
//! which person each record is about.
//!
//! What it is for: filling test beds and demos, and measuring identity resolution against a
//! known answer. Persons come mostly from Uzbekistan, Tajikistan, Kyrgyzstan and Kazakhstan,
//! some from Latin-script countries; their names appear in national Cyrillic, Russian Cyrillic
//! and several Latin transliterations, with typos, swapped name parts, partial or mistyped
//! birth dates, renewed passports, namesakes, twins, and fathers and sons of one name.
//!
//! The output is a pure function of [`SynthConfig`]: same configuration, same lines, byte for
//! byte. Records are streamed person by person; memory does not grow with the population.

mod json;
mod names;
mod noise;
mod numbers;
mod person;
mod places;
mod pools;
mod random;
mod story;
mod subject;
mod translit;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rand::Rng;

use crate::json::JsonObject;
use crate::person::{Person, World};
use crate::random::{Stream, chance, days, stream};
use crate::story::{Draft, Story};
use crate::subject::{NoiseRates, SubjectContext, profile, write_subject};

pub use crate::person::{
    DEMO_BIRTH_DATE, DEMO_ESIA, DEMO_INN, DEMO_PASSPORT, DEMO_PHONE, DEMO_SNILS, UNIQUE_PERSONS,
};

/// The expected number of lines per person (originals, corrections and retractions together)
/// with the default configuration, measured over large populations; a run of `N` records
/// needs about `N / AVERAGE_RECORDS_PER_PERSON` persons.
pub const AVERAGE_RECORDS_PER_PERSON: f64 = 11.0;

/// What to generate. Build with [`SynthConfig::new`] and adjust the knobs. Identifiers stay
/// unique between persons up to [`UNIQUE_PERSONS`] persons (about 130 million records).
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    pub persons: u64,
    pub seed: u64,
    /// "Today" for the population: no event lies after it; stays are spread over the six
    /// years before it. Fixed by default (not the clock) so that output is reproducible.
    pub reference_date: NaiveDate,
    /// Share of records with one letter of a name dropped, doubled or swapped (before the
    /// per-agency multiplier: hand-typed registers err more than passport readers).
    pub typo_rate: f64,
    /// Share of records with family and given name swapped.
    pub name_swap_rate: f64,
    /// Share of records whose birth date is cut to the year or month, has day and month
    /// swapped, or has one digit wrong.
    pub birth_date_noise_rate: f64,
    /// Share of cited passports, SNILS and INN with one digit mistyped.
    pub identifier_typo_rate: f64,
    /// Share of otherwise present subject fields that a record leaves out anyway.
    pub missing_field_rate: f64,
    /// Share of persons who copy an earlier person's name and birth date (distinct persons).
    pub namesake_share: f64,
    /// Share of persons who are the twin of an earlier person (same family name, father and
    /// birth date, another given name).
    pub twin_share: f64,
    /// Share of persons who are the son of an earlier person and carry his name.
    pub father_son_share: f64,
    /// Share of persons who renew their passport during the stay (besides renewals of
    /// passports that expire), so records cite either number.
    pub passport_renewal_share: f64,
    /// Share of records that get a later `revision: 2` correction line.
    pub revision_rate: f64,
    /// Share of records that get a later `action: "retract"` line.
    pub retraction_rate: f64,
}

impl SynthConfig {
    pub fn new(persons: u64, seed: u64) -> SynthConfig {
        SynthConfig {
            persons,
            seed,
            reference_date: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
            typo_rate: 0.03,
            name_swap_rate: 0.01,
            birth_date_noise_rate: 0.04,
            identifier_typo_rate: 0.005,
            missing_field_rate: 0.03,
            namesake_share: 0.02,
            twin_share: 0.005,
            father_son_share: 0.005,
            passport_renewal_share: 0.12,
            revision_rate: 0.02,
            retraction_rate: 0.005,
        }
    }

    /// The number of persons that gives about `records` lines.
    pub fn persons_for_records(records: u64) -> u64 {
        ((records as f64 / AVERAGE_RECORDS_PER_PERSON).ceil() as u64).max(1)
    }
}

impl Default for SynthConfig {
    fn default() -> SynthConfig {
        SynthConfig::new(1_000, 1)
    }
}

/// One generated line and its ground truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthRecord {
    /// One JSON envelope, no trailing newline.
    pub line: String,
    pub source: String,
    pub source_ref: String,
    /// Index of the person the record is about (the ground truth for identity resolution).
    pub person: u64,
}

const PURPOSE_EMIT: u64 = 4;
const PURPOSE_ARRIVAL: u64 = 5;

/// Generates the population, handing each line to `sink` as soon as it is written: lines of
/// one person come together, corrections and retractions after the records they concern.
pub fn generate(config: &SynthConfig, mut sink: impl FnMut(SynthRecord)) {
    let world = World::new(config);
    let rates = NoiseRates {
        typo: config.typo_rate,
        name_swap: config.name_swap_rate,
        birth_date: config.birth_date_noise_rate,
        identifier_typo: config.identifier_typo_rate,
        missing_fields: config.missing_field_rate,
    };
    for index in 0..config.persons {
        let person = Person::generate(&world, index);
        let mut story = Story::new(&world, &person);
        story.tell();
        // Drawn after the story and emitted last, from streams of its own: adding the notices
        // left every other line of the population as it was.
        let arrival = story.arrival_notice();
        let mut rng = stream(config.seed, index, PURPOSE_EMIT);
        let demo = index == 0;
        let mut emitter = Emitter {
            world: &world,
            person: &person,
            held: &story.held,
            rates,
        };
        let mut later: Vec<(usize, u32, bool)> = Vec::new();
        let mut observed = Vec::with_capacity(story.drafts.len());
        for (sequence, draft) in story.drafts.iter().enumerate() {
            let source_ref = source_ref(config.seed, draft, index, sequence);
            let observed_at = emitter.observed_at(draft, &mut rng);
            observed.push(observed_at);
            let line = emitter.line(draft, &source_ref, observed_at, 1, false, demo, &mut rng);
            sink(SynthRecord {
                line,
                source: draft.source.to_owned(),
                source_ref,
                person: index,
            });
            if demo {
                continue;
            }
            let revised = chance(&mut rng, config.revision_rate);
            if revised {
                later.push((sequence, 2, false));
            }
            if chance(&mut rng, config.retraction_rate) {
                later.push((sequence, if revised { 3 } else { 2 }, true));
            }
        }
        // Corrections and withdrawals arrive after the originals, corrections first.
        later.sort_by_key(|(_, revision, retract)| (*retract, *revision));
        for (sequence, revision, retract) in later {
            let draft = &story.drafts[sequence];
            let source_ref = source_ref(config.seed, draft, index, sequence);
            // A follow-up is sent days after the line it corrects, never before it.
            let follow_up_at = (observed[sequence]
                + chrono::Duration::days(rng.random_range(1..40))
                + chrono::Duration::seconds(rng.random_range(0..36_000)))
            .min(emitter.end_of_reference())
            .max(observed[sequence]);
            let line = emitter.line(
                draft,
                &source_ref,
                follow_up_at,
                revision,
                retract,
                true,
                &mut rng,
            );
            sink(SynthRecord {
                line,
                source: draft.source.to_owned(),
                source_ref,
                person: index,
            });
        }
        if let Some(draft) = arrival {
            let mut arrival_rng = stream(config.seed, index, PURPOSE_ARRIVAL);
            let source_ref = source_ref(config.seed, &draft, index, story.drafts.len());
            let observed_at = emitter.observed_at(&draft, &mut arrival_rng);
            let line = emitter.line(
                &draft,
                &source_ref,
                observed_at,
                1,
                false,
                false,
                &mut arrival_rng,
            );
            sink(SynthRecord {
                line,
                source: draft.source.to_owned(),
                source_ref,
                person: index,
            });
        }
    }
}

/// A reference unique per source: a bijection of (person, record number) mixed with the seed,
/// so that references reveal nothing of the ground truth.
fn source_ref(seed: u64, draft: &Draft, person: u64, sequence: usize) -> String {
    let agency = profile(draft.source);
    let source_key = draft.source.bytes().fold(seed ^ 0x5eed, |key, byte| {
        numbers::mix64(key ^ u64::from(byte))
    });
    let token = numbers::mix64(((person << 8) | sequence as u64) ^ source_key);
    format!(
        "{}-{}-{token:016x}",
        agency.reference_prefix,
        draft.on.format("%Y")
    )
}

struct Emitter<'a> {
    world: &'a World,
    person: &'a Person,
    held: &'a [subject::HeldDocument],
    rates: NoiseRates,
}

impl Emitter<'_> {
    fn end_of_reference(&self) -> NaiveDateTime {
        self.world
            .reference
            .and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default())
    }

    /// When the agency recorded the event: the crossing itself plus the system's delay, or the
    /// event day plus the agency's usual lag, never after the reference date.
    fn observed_at(&self, draft: &Draft, rng: &mut Stream) -> NaiveDateTime {
        let agency = profile(draft.source);
        let instant = match draft.at {
            Some(at) => at + chrono::Duration::minutes(rng.random_range(1..90)),
            None => {
                let lag = rng.random_range(0..=agency.lag_days);
                let seconds = rng.random_range(6 * 3600..22 * 3600);
                days(draft.on, lag).and_time(
                    NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).unwrap_or_default(),
                )
            }
        };
        instant.min(self.end_of_reference())
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one line's envelope fields, all distinct"
    )]
    fn line(
        &mut self,
        draft: &Draft,
        source_ref: &str,
        observed_at: NaiveDateTime,
        revision: u32,
        retract: bool,
        clean: bool,
        rng: &mut Stream,
    ) -> String {
        let mut line = String::with_capacity(1024);
        let mut envelope = JsonObject::begin(&mut line);
        envelope
            .string("source", draft.source)
            .string("source_ref", source_ref);
        // Most senders leave out the defaults; some spell them out.
        if revision > 1 || chance(rng, 0.1) {
            envelope.integer("revision", i64::from(revision));
        }
        if retract {
            envelope.string("action", "retract");
        } else if chance(rng, 0.05) {
            envelope.string("action", "upsert");
        }
        envelope.string("category", draft.category);
        envelope.date_time("observed_at", observed_at);
        if retract {
            envelope.end();
            return line;
        }
        envelope.optional_date("valid_from", draft.valid_from);
        if let Some(valid_to) = draft.valid_to {
            envelope.date("valid_to", valid_to);
        } else if draft.valid_from.is_some() && chance(rng, 0.3) {
            envelope.null("valid_to");
        }
        let context = SubjectContext {
            person: self.person,
            held: self.held,
            profile: profile(draft.source),
            on: draft.on,
            clean,
            rates: self.rates,
        };
        write_subject(&mut envelope, &context, rng);
        envelope.raw("data", &draft.data);
        envelope.end();
        line
    }
}

/// What a person really is, for checking what a resolver made of the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonTruth {
    pub person: u64,
    pub citizenship: &'static str,
    /// The Russian Cyrillic spelling: family, given, patronymic.
    pub russian_name: (String, String, Option<String>),
    pub birth_date: NaiveDate,
    pub sex: &'static str,
    /// Every passport number the person held, oldest first.
    pub passports: Vec<String>,
    pub snils: Option<String>,
    pub inn: Option<String>,
    /// `namesake`, `twin` or `son`, with the earlier person it resembles.
    pub resembles: Option<(&'static str, u64)>,
}

/// The population of a configuration, for looking persons up without generating records.
pub struct Population {
    world: World,
}

impl Population {
    pub fn new(config: &SynthConfig) -> Population {
        Population {
            world: World::new(config),
        }
    }

    pub fn truth(&self, index: u64) -> PersonTruth {
        let person = Person::generate(&self.world, index);
        let russian = person.names.get(translit::NameForm::Russian).clone();
        PersonTruth {
            person: index,
            citizenship: person.code(),
            russian_name: (russian.family, russian.given, russian.patronymic),
            birth_date: person.birth_date,
            sex: person.sex().code(),
            passports: person
                .passports
                .iter()
                .map(|passport| passport.number.clone())
                .collect(),
            snils: person.snils.as_ref().map(|snils| snils.value.clone()),
            inn: person.inn.as_ref().map(|inn| inn.value.clone()),
            resembles: match person.relation {
                person::Relation::None => None,
                person::Relation::Namesake(other) => Some(("namesake", other)),
                person::Relation::Twin(other) => Some(("twin", other)),
                person::Relation::SonOf(other) => Some(("son", other)),
            },
        }
    }
}
