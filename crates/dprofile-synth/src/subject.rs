//! Writes a record's `subject`: the person as one agency knows them, in that agency's spelling,
//! with the documents and identifiers it holds, and with the agency's share of mistakes.

use chrono::NaiveDate;
use rand::Rng;

use crate::json::JsonObject;
use crate::names::NameSpelling;
use crate::noise::{birth_date_noise, digit_typo, render_birth_date, typo};
use crate::person::{Identifier, Person};
use crate::random::{Stream, chance, cumulative, weighted};
use crate::translit::{NameForm, drop_apostrophes, upper};

/// How one agency's system records people.
pub struct SourceProfile {
    pub code: &'static str,
    /// Short upper-case prefix of the agency's record references.
    pub reference_prefix: &'static str,
    /// The spelling of the first name entry, with weights.
    pub forms: &'static [(NameForm, u32)],
    /// Probability of a second name entry in the other script (Latin beside Cyrillic, Russian
    /// beside Latin).
    pub second_name: f64,
    /// Probability that a spelling that has a patronymic keeps it.
    pub patronymic: f64,
    /// Probability that the names are written in capitals.
    pub capitals: f64,
    /// Probability that the record cites the person's passport.
    pub document: f64,
    /// After a renewal, probability that the agency still cites the old passport.
    pub stale_document: f64,
    /// Probability that a cited passport carries its issue and expiry dates.
    pub document_dates: f64,
    pub birth_date: f64,
    pub sex: f64,
    pub citizenship: f64,
    pub snils: f64,
    pub inn: f64,
    pub esia: f64,
    /// Multiplies the configured typo and birth date noise rates: hand-typed registers err more.
    pub noise: f64,
    /// Days between the event and the agency's record of it.
    pub lag_days: i64,
}

const CYRILLIC_FIRST: &[(NameForm, u32)] = &[(NameForm::Russian, 100)];

pub const PROFILES: &[SourceProfile] = &[
    SourceProfile {
        code: "fsb-border",
        reference_prefix: "PK",
        forms: &[(NameForm::Passport, 95), (NameForm::Icao, 5)],
        second_name: 0.05,
        patronymic: 0.0,
        capitals: 1.0,
        document: 0.99,
        stale_document: 0.0,
        document_dates: 0.3,
        birth_date: 1.0,
        sex: 0.98,
        citizenship: 1.0,
        snils: 0.0,
        inn: 0.0,
        esia: 0.0,
        noise: 0.3,
        lag_days: 0,
    },
    SourceProfile {
        code: "mvd-migration",
        reference_prefix: "MU",
        forms: &[
            (NameForm::Russian, 78),
            (NameForm::Native, 8),
            (NameForm::Passport, 10),
            (NameForm::Gost, 4),
        ],
        second_name: 0.55,
        patronymic: 0.85,
        capitals: 0.15,
        document: 0.97,
        stale_document: 0.1,
        document_dates: 0.6,
        birth_date: 0.99,
        sex: 0.95,
        citizenship: 0.99,
        snils: 0.05,
        inn: 0.35,
        esia: 0.0,
        noise: 1.0,
        lag_days: 2,
    },
    SourceProfile {
        code: "fns",
        reference_prefix: "FNS",
        forms: &[
            (NameForm::Russian, 90),
            (NameForm::Gost, 6),
            (NameForm::Icao, 4),
        ],
        second_name: 0.1,
        patronymic: 0.9,
        capitals: 0.3,
        document: 0.75,
        stale_document: 0.45,
        document_dates: 0.2,
        birth_date: 0.97,
        sex: 0.6,
        citizenship: 0.9,
        snils: 0.1,
        inn: 0.97,
        esia: 0.0,
        noise: 1.0,
        lag_days: 5,
    },
    SourceProfile {
        code: "sfr",
        reference_prefix: "SFR",
        forms: &[(NameForm::Russian, 95), (NameForm::Passport, 5)],
        second_name: 0.15,
        patronymic: 0.9,
        capitals: 0.1,
        document: 0.7,
        stale_document: 0.4,
        document_dates: 0.2,
        birth_date: 0.99,
        sex: 0.97,
        citizenship: 0.9,
        snils: 0.97,
        inn: 0.3,
        esia: 0.0,
        noise: 0.8,
        lag_days: 7,
    },
    SourceProfile {
        code: "gibdd",
        reference_prefix: "GIBDD",
        forms: &[(NameForm::Russian, 85), (NameForm::Icao, 15)],
        second_name: 0.45,
        patronymic: 0.85,
        capitals: 0.5,
        document: 0.9,
        stale_document: 0.3,
        document_dates: 0.3,
        birth_date: 0.99,
        sex: 0.7,
        citizenship: 0.9,
        snils: 0.05,
        inn: 0.1,
        esia: 0.0,
        noise: 1.0,
        lag_days: 3,
    },
    SourceProfile {
        code: "rosreestr",
        reference_prefix: "RR",
        forms: CYRILLIC_FIRST,
        second_name: 0.1,
        patronymic: 0.95,
        capitals: 0.05,
        document: 0.9,
        stale_document: 0.5,
        document_dates: 0.4,
        birth_date: 0.98,
        sex: 0.5,
        citizenship: 0.9,
        snils: 0.6,
        inn: 0.3,
        esia: 0.0,
        noise: 0.7,
        lag_days: 10,
    },
    SourceProfile {
        code: "mid",
        reference_prefix: "MID",
        forms: &[
            (NameForm::Passport, 75),
            (NameForm::National, 12),
            (NameForm::French, 5),
            (NameForm::Russian, 8),
        ],
        second_name: 0.35,
        patronymic: 0.3,
        capitals: 0.8,
        document: 0.98,
        stale_document: 0.0,
        document_dates: 0.8,
        birth_date: 1.0,
        sex: 1.0,
        citizenship: 1.0,
        snils: 0.0,
        inn: 0.0,
        esia: 0.0,
        noise: 0.4,
        lag_days: 1,
    },
    SourceProfile {
        code: "minobr",
        reference_prefix: "MO",
        forms: &[
            (NameForm::Russian, 65),
            (NameForm::Native, 15),
            (NameForm::National, 15),
            (NameForm::French, 5),
        ],
        second_name: 0.3,
        patronymic: 0.8,
        capitals: 0.05,
        document: 0.75,
        stale_document: 0.3,
        document_dates: 0.1,
        birth_date: 0.95,
        sex: 0.8,
        citizenship: 0.9,
        snils: 0.2,
        inn: 0.0,
        esia: 0.0,
        noise: 1.2,
        lag_days: 14,
    },
    SourceProfile {
        code: "minzdrav",
        reference_prefix: "MZ",
        forms: &[(NameForm::Russian, 88), (NameForm::Passport, 12)],
        second_name: 0.2,
        patronymic: 0.85,
        capitals: 0.1,
        document: 0.9,
        stale_document: 0.1,
        document_dates: 0.1,
        birth_date: 0.97,
        sex: 0.95,
        citizenship: 0.95,
        snils: 0.1,
        inn: 0.0,
        esia: 0.0,
        noise: 1.5,
        lag_days: 3,
    },
    SourceProfile {
        code: "gims",
        reference_prefix: "GIMS",
        forms: CYRILLIC_FIRST,
        second_name: 0.1,
        patronymic: 0.9,
        capitals: 0.1,
        document: 0.9,
        stale_document: 0.3,
        document_dates: 0.2,
        birth_date: 0.99,
        sex: 0.5,
        citizenship: 0.9,
        snils: 0.2,
        inn: 0.1,
        esia: 0.0,
        noise: 1.0,
        lag_days: 5,
    },
    SourceProfile {
        code: "esia",
        reference_prefix: "ESIA",
        forms: &[
            (NameForm::Russian, 75),
            (NameForm::Gost, 10),
            (NameForm::Bgn, 5),
            (NameForm::National, 10),
        ],
        second_name: 0.05,
        patronymic: 0.7,
        capitals: 0.02,
        document: 0.8,
        stale_document: 0.2,
        document_dates: 0.5,
        birth_date: 1.0,
        sex: 1.0,
        citizenship: 0.95,
        snils: 0.98,
        inn: 0.5,
        esia: 1.0,
        noise: 1.2,
        lag_days: 0,
    },
    // The person's own notices through the registry's portal: the subject is what the
    // signed-in person's profile holds (the passport's Latin name, the passport, the birth
    // date), typed by nobody, so no noise.
    SourceProfile {
        code: "portal",
        reference_prefix: "PORTAL",
        forms: &[(NameForm::Passport, 100)],
        second_name: 0.9,
        patronymic: 0.3,
        capitals: 1.0,
        document: 1.0,
        stale_document: 0.0,
        document_dates: 0.0,
        birth_date: 1.0,
        sex: 1.0,
        citizenship: 1.0,
        snils: 0.0,
        inn: 0.0,
        esia: 0.0,
        noise: 0.0,
        lag_days: 0,
    },
    SourceProfile {
        code: "mvd-offences",
        reference_prefix: "AP",
        forms: &[
            (NameForm::Russian, 85),
            (NameForm::Native, 5),
            (NameForm::French, 5),
            (NameForm::Gost, 5),
        ],
        second_name: 0.1,
        patronymic: 0.7,
        capitals: 0.2,
        document: 0.55,
        stale_document: 0.2,
        document_dates: 0.05,
        birth_date: 0.9,
        sex: 0.9,
        citizenship: 0.85,
        snils: 0.0,
        inn: 0.0,
        esia: 0.0,
        noise: 2.5,
        lag_days: 4,
    },
    SourceProfile {
        code: "rossvyaz",
        reference_prefix: "RS",
        forms: &[
            (NameForm::Russian, 70),
            (NameForm::Passport, 20),
            (NameForm::French, 5),
            (NameForm::Bgn, 5),
        ],
        second_name: 0.05,
        patronymic: 0.6,
        capitals: 0.3,
        document: 0.92,
        stale_document: 0.5,
        document_dates: 0.1,
        birth_date: 0.85,
        sex: 0.5,
        citizenship: 0.8,
        snils: 0.0,
        inn: 0.0,
        esia: 0.0,
        noise: 2.0,
        lag_days: 1,
    },
    SourceProfile {
        code: "ern",
        reference_prefix: "ERN",
        forms: CYRILLIC_FIRST,
        second_name: 0.8,
        patronymic: 0.95,
        capitals: 0.05,
        document: 0.95,
        stale_document: 0.05,
        document_dates: 0.7,
        birth_date: 1.0,
        sex: 1.0,
        citizenship: 1.0,
        snils: 0.9,
        inn: 0.8,
        esia: 0.3,
        noise: 0.5,
        lag_days: 3,
    },
    SourceProfile {
        code: "ffoms",
        reference_prefix: "OMS",
        forms: CYRILLIC_FIRST,
        second_name: 0.2,
        patronymic: 0.9,
        capitals: 0.1,
        document: 0.85,
        stale_document: 0.3,
        document_dates: 0.2,
        birth_date: 0.99,
        sex: 0.99,
        citizenship: 0.9,
        snils: 0.7,
        inn: 0.0,
        esia: 0.0,
        noise: 0.8,
        lag_days: 10,
    },
    SourceProfile {
        code: "insurers",
        reference_prefix: "DMS",
        forms: &[(NameForm::Russian, 70), (NameForm::Passport, 30)],
        second_name: 0.3,
        patronymic: 0.7,
        capitals: 0.4,
        document: 0.95,
        stale_document: 0.1,
        document_dates: 0.1,
        birth_date: 0.98,
        sex: 0.7,
        citizenship: 0.9,
        snils: 0.0,
        inn: 0.0,
        esia: 0.0,
        noise: 1.5,
        lag_days: 2,
    },
];

pub fn profile(code: &str) -> &'static SourceProfile {
    PROFILES
        .iter()
        .find(|profile| profile.code == code)
        .unwrap_or(&PROFILES[1])
}

/// A document the person holds besides passports (a Russian residence permit, say), cited by
/// agencies that saw it after `since`.
#[derive(Debug, Clone)]
pub struct HeldDocument {
    pub kind: &'static str,
    pub number: String,
    pub since: NaiveDate,
    pub until: Option<NaiveDate>,
}

/// The noise rates of one run, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct NoiseRates {
    pub typo: f64,
    pub name_swap: f64,
    pub birth_date: f64,
    pub identifier_typo: f64,
    pub missing_fields: f64,
}

fn pick_form(rng: &mut Stream, forms: &[(NameForm, u32)]) -> NameForm {
    if forms.len() == 1 {
        return forms[0].0;
    }
    let table = cumulative(forms.iter().map(|(_, weight)| f64::from(*weight)));
    forms[weighted(rng, &table)].0
}

struct WrittenName {
    cyrillic: bool,
    family: String,
    given: String,
    patronymic: Option<String>,
}

fn prepare_name(
    person: &Person,
    form: NameForm,
    passport_form: NameForm,
    profile: &SourceProfile,
    rng: &mut Stream,
) -> WrittenName {
    let language = person.country.language;
    let form = if form == NameForm::Passport {
        passport_form
    } else {
        form
    };
    let spelling: &NameSpelling = person.names.get(form);
    let cyrillic = form.is_cyrillic(language);
    let capitals = chance(rng, profile.capitals);
    let case = |text: &str| {
        if capitals {
            upper(text)
        } else {
            text.to_owned()
        }
    };
    let mut family = case(&spelling.family);
    let mut given = case(&spelling.given);
    // Passports and border systems print the Uzbek apostrophes off; other sources keep them.
    if form == NameForm::Passport && capitals {
        family = drop_apostrophes(&family);
        given = drop_apostrophes(&given);
    }
    let patronymic = spelling
        .patronymic
        .as_deref()
        .filter(|_| chance(rng, profile.patronymic))
        .map(case);
    WrittenName {
        cyrillic,
        family,
        given,
        patronymic,
    }
}

fn write_name(names: &mut crate::json::JsonArray<'_>, name: &WrittenName, with_script: bool) {
    let mut object = names.object();
    if with_script {
        object.string("script", if name.cyrillic { "Cyrl" } else { "Latn" });
    }
    object.string("family", &name.family);
    object.string("given", &name.given);
    object.optional_string("patronymic", name.patronymic.as_deref());
    object.end();
}

/// Everything a subject writer needs about one record.
pub struct SubjectContext<'a> {
    pub person: &'a Person,
    pub held: &'a [HeldDocument],
    pub profile: &'static SourceProfile,
    /// The day the agency recorded the event: decides which passport and identifiers it knew.
    pub on: NaiveDate,
    /// A corrected resend, or the demo person: no noise, full details.
    pub clean: bool,
    pub rates: NoiseRates,
}

fn identifier_on(identifier: &Option<Identifier>, on: NaiveDate) -> Option<&str> {
    identifier
        .as_ref()
        .filter(|identifier| identifier.since <= on)
        .map(|identifier| identifier.value.as_str())
}

pub fn write_subject(parent: &mut JsonObject<'_>, context: &SubjectContext<'_>, rng: &mut Stream) {
    let person = context.person;
    let profile = context.profile;
    let clean = context.clean;
    let rates = context.rates;
    let noise = if clean { 0.0 } else { profile.noise };
    // A missing field is the agency's habit, plus the run's general share of gaps.
    let present = |rng: &mut Stream, share: f64| {
        clean && share > 0.0 || chance(rng, share * (1.0 - rates.missing_fields))
    };

    let current = person.passport_on(context.on);
    let passport = if person.passports.len() > 1
        && !clean
        && current.issued_on > person.passports[0].issued_on
        && chance(rng, profile.stale_document)
    {
        // The agency still has the passport it saw first.
        let position = person
            .passports
            .iter()
            .position(|passport| passport.number == current.number)
            .unwrap_or(1);
        &person.passports[position.saturating_sub(1)]
    } else {
        current
    };

    let mut subject = parent.object("subject");

    let form = pick_form(rng, profile.forms);
    let mut primary = prepare_name(person, form, passport.latin_form, profile, rng);
    if chance(rng, rates.typo * noise) {
        match rng.random_range(0..10) {
            0..5 => primary.family = typo(&primary.family, rng),
            5..9 => primary.given = typo(&primary.given, rng),
            _ => {
                primary.patronymic = primary.patronymic.as_deref().map(|part| typo(part, rng));
            }
        }
    }
    if chance(rng, rates.name_swap * noise) {
        std::mem::swap(&mut primary.family, &mut primary.given);
    }
    let second = chance(rng, profile.second_name).then(|| {
        let other_form = if primary.cyrillic {
            NameForm::Passport
        } else {
            NameForm::Russian
        };
        prepare_name(person, other_form, passport.latin_form, profile, rng)
    });
    // The script is optional in the envelope; a few senders leave it out.
    let with_script = clean || !chance(rng, 0.03);
    let mut names = subject.array("names");
    write_name(&mut names, &primary, with_script);
    if let Some(second) = &second {
        write_name(&mut names, second, with_script);
    }
    names.end();

    if present(rng, profile.birth_date) {
        let noise_kind = birth_date_noise(rng, rates.birth_date * noise);
        let text = render_birth_date(person.birth_date, noise_kind, rng);
        subject.string("birth_date", &text);
    }
    if present(rng, profile.sex) {
        subject.string("sex", person.sex().code());
    }
    if present(rng, profile.citizenship) {
        subject.string("citizenship", person.code());
    }

    let cite_passport = present(rng, profile.document);
    // Kazakh and Kyrgyz citizens often show their identity card instead of the passport.
    let cite_national_id =
        person.national_id.is_some() && (!cite_passport || chance(rng, 0.3)) && chance(rng, 0.6);
    let held: Vec<&HeldDocument> = context
        .held
        .iter()
        .filter(|document| {
            document.since <= context.on && document.until.is_none_or(|until| until >= context.on)
        })
        .collect();
    let cite_held = !held.is_empty() && chance(rng, 0.5);
    if cite_passport || cite_national_id || cite_held {
        let mut documents = subject.array("documents");
        if cite_passport {
            let mut document = documents.object();
            let number = if chance(rng, rates.identifier_typo * noise) {
                digit_typo(&passport.number, rng)
            } else {
                passport.number.clone()
            };
            document
                .string("kind", "passport")
                .string("country", person.code())
                .string("number", &number);
            if clean || chance(rng, profile.document_dates) {
                document
                    .date("issued_on", passport.issued_on)
                    .date("expires_on", passport.expires_on);
            }
            document.end();
        }
        if cite_national_id && let Some(number) = &person.national_id {
            let mut document = documents.object();
            document
                .string("kind", "national_id")
                .string("country", person.code())
                .string("number", number);
            document.end();
        }
        if cite_held {
            for held_document in held {
                let mut document = documents.object();
                document
                    .string("kind", held_document.kind)
                    .string("country", "RUS")
                    .string("number", &held_document.number)
                    .date("issued_on", held_document.since);
                document.end();
            }
        }
        documents.end();
    }

    let snils = identifier_on(&person.snils, context.on).filter(|_| present(rng, profile.snils));
    let inn = identifier_on(&person.inn, context.on).filter(|_| present(rng, profile.inn));
    let esia = identifier_on(&person.esia, context.on).filter(|_| present(rng, profile.esia));
    if snils.is_some() || inn.is_some() || esia.is_some() {
        let mut identifiers = subject.object("identifiers");
        if let Some(snils) = snils {
            // A mistyped digit breaks the check digits: kept by the registry, flagged, not linked.
            let text = if chance(rng, rates.identifier_typo * noise) {
                digit_typo(snils, rng)
            } else {
                snils.to_owned()
            };
            identifiers.string("snils", &text);
        }
        if let Some(inn) = inn {
            let text = if chance(rng, rates.identifier_typo * noise) {
                digit_typo(inn, rng)
            } else {
                inn.to_owned()
            };
            identifiers.string("inn", &text);
        }
        identifiers.optional_string("esia_id", esia);
        identifiers.end();
    }
    subject.end();
}
