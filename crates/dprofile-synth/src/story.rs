//! A person's stay in Russia told as agency records: entry at the border, then registration,
//! a medical examination and a language test, a patent, a job, taxes, exits, offences and bans,
//! in the order and with the gaps real procedures have.
//!
//! Each method writes one record's `data` (docs/categories.md is the contract) and keeps the
//! event date that decides which documents and identifiers the agency could cite.

use std::cell::RefCell;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use rand::Rng;

use crate::json::JsonObject;
use crate::numbers::{self, digits};
use crate::person::{Employer, Person, Scenario, World};
use crate::places::{
    AIR_CHECKPOINTS, CAUCASUS_CHECKPOINTS, CLINICS, Checkpoint, DIPLOMATIC_POSITIONS,
    ENTRY_BAN_BASES, INSURERS_COMPULSORY, INSURERS_VOLUNTARY, LAND_CHECKPOINTS,
    LANGUAGE_TEST_ISSUERS, MOBILE_OPERATORS, OFFENCE_ARTICLES, PERSON_HOSTS, PLATE_LETTERS,
    POLICE_UNITS, POSITIONS, PROGRAMMES, REGIONS, SCHOOLS, STREETS, UNIVERSITIES, VEHICLES,
    VIN_CHARACTERS, embassy, home_school, home_university, visa_post,
};
use crate::random::{
    Stream, add_months, add_years, chance, date_between, days, pick, span, stream,
};
use crate::subject::HeldDocument;

/// One record before its envelope and subject are written.
#[derive(Debug, Clone)]
pub struct Draft {
    pub source: &'static str,
    pub category: &'static str,
    /// The day of the event as the agency dates it.
    pub on: NaiveDate,
    /// The instant of the event, where the agency records one (border crossings).
    pub at: Option<NaiveDateTime>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    /// The `data` object, already JSON.
    pub data: String,
}

/// Who hosts a registered foreigner: an employer or a private person.
enum Host<'world> {
    Organisation(&'world Employer),
    Person(&'static str),
    Institution(&'static str),
}

#[derive(Clone, Copy)]
enum Direction {
    Entry,
    Exit,
}

const PURPOSE_STORY: u64 = 3;

/// Records of one person are at most this many, so that the record sequence fits a byte.
pub const MAX_RECORDS_PER_PERSON: usize = 200;

pub struct Story<'a> {
    world: &'a World,
    person: &'a Person,
    /// In a cell so that helpers drawing numbers can be called inside other calls' arguments.
    rng: RefCell<Stream>,
    reference: NaiveDate,
    pub drafts: Vec<Draft>,
    pub held: Vec<HeldDocument>,
}

impl<'a> Story<'a> {
    pub fn new(world: &'a World, person: &'a Person) -> Story<'a> {
        Story {
            world,
            person,
            rng: RefCell::new(stream(world.config.seed, person.index, PURPOSE_STORY)),
            reference: world.reference,
            drafts: Vec::with_capacity(24),
            held: Vec::new(),
        }
    }

    /// Writes every record of the person, oldest event first.
    pub fn tell(&mut self) {
        if self.person.index == 0 {
            self.demo();
            return;
        }
        match self.person.scenario {
            Scenario::Labour => self.labour(),
            Scenario::Resident => self.resident(),
            Scenario::Student => self.student(),
            Scenario::Child => self.child(),
            Scenario::Visitor => self.visitor(),
            Scenario::VisaWorker => self.visa_worker(),
            Scenario::Diplomat => self.diplomat(),
        }
        self.common();
        self.drafts.sort_by_key(|draft| draft.on);
        self.drafts.truncate(MAX_RECORDS_PER_PERSON);
    }

    /// A visa-free person's own notice of a next trip, sent through the registry's portal
    /// shortly before the reference date, for about one in ten visa-free labour migrants and
    /// visitors. Called after [`Story::tell`] and emitted after every other line of the person,
    /// so the rest of the population is the same with or without it.
    pub fn arrival_notice(&mut self) -> Option<Draft> {
        let person = self.person;
        if person.index == 0
            || person.needs_visa()
            || !matches!(person.scenario, Scenario::Labour | Scenario::Visitor)
            || !self.chance(0.1)
        {
            return None;
        }
        let on = days(self.reference, -self.span(1, 30));
        let arrival_on = days(on, self.span(7, 60));
        let departure_on = days(arrival_on, self.span(7, 89));
        let purpose = if person.scenario == Scenario::Labour {
            "work"
        } else if self.chance(0.5) {
            "tourism"
        } else {
            "private"
        };
        let checkpoint = self.checkpoint();
        let mut data = String::with_capacity(256);
        {
            let mut object = JsonObject::begin(&mut data);
            object
                .date("arrival_on", arrival_on)
                .date("departure_on", departure_on)
                .string("purpose", purpose);
            self.address(&mut object, "address", person.region);
            object.string("checkpoint", checkpoint.name);
            object.end();
        }
        Some(Draft {
            source: "portal",
            category: "planned_arrival",
            on,
            at: None,
            valid_from: Some(arrival_on),
            valid_to: Some(departure_on),
            data,
        })
    }

    /// Adds a record unless its event lies after the reference date (not happened yet).
    #[expect(
        clippy::too_many_arguments,
        reason = "one call per record kind reads best flat"
    )]
    fn record(
        &mut self,
        source: &'static str,
        category: &'static str,
        on: NaiveDate,
        at: Option<NaiveDateTime>,
        valid_from: Option<NaiveDate>,
        valid_to: Option<NaiveDate>,
        write: impl FnOnce(&mut JsonObject<'_>),
    ) {
        if on > self.reference {
            return;
        }
        let mut data = String::with_capacity(256);
        let mut object = JsonObject::begin(&mut data);
        write(&mut object);
        object.end();
        let valid_to = match (valid_from, valid_to) {
            (Some(from), Some(to)) if to < from => None,
            (_, to) => to,
        };
        self.drafts.push(Draft {
            source,
            category,
            on,
            at,
            valid_from,
            valid_to,
            data,
        });
    }

    fn span(&self, low: i64, high: i64) -> i64 {
        span(&mut self.rng.borrow_mut(), low, high)
    }

    fn chance(&self, probability: f64) -> bool {
        chance(&mut self.rng.borrow_mut(), probability)
    }

    fn between(&self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        date_between(&mut self.rng.borrow_mut(), from, to)
    }

    fn pick<T: Copy>(&self, items: &[T]) -> T {
        *pick(&mut self.rng.borrow_mut(), items)
    }

    /// A number in `low..high`.
    fn range(&self, low: u64, high: u64) -> u64 {
        self.rng.borrow_mut().random_range(low..high)
    }

    fn region_code(region: usize) -> &'static str {
        REGIONS[region].code
    }

    fn address(&mut self, object: &mut JsonObject<'_>, key: &str, region: usize) {
        let city = self.pick(REGIONS[region].cities);
        let street = self.pick(STREETS);
        let house = self.span(1, 140);
        let flat = self.span(1, 320);
        let mut address = object.object(key);
        address
            .string("region", REGIONS[region].code)
            .string("city", city)
            .string("street", &format!("{street}, д. {house}, кв. {flat}"));
        address.end();
    }

    fn checkpoint(&mut self) -> Checkpoint {
        let land_share = match self.person.code() {
            "KAZ" => 0.7,
            "UZB" | "TJK" | "KGZ" => 0.25,
            "AZE" => 0.6,
            _ => 0.0,
        };
        if self.chance(land_share) {
            if self.person.code() == "AZE" {
                self.pick(CAUCASUS_CHECKPOINTS)
            } else {
                self.pick(LAND_CHECKPOINTS)
            }
        } else {
            self.pick(AIR_CHECKPOINTS)
        }
    }

    // ----- one method per category -------------------------------------------------------

    fn crossing(&mut self, direction: Direction, on: NaiveDate, purpose: Option<&'static str>) {
        let checkpoint = self.checkpoint();
        let seconds = self.span(0, 86_399) as u32;
        let at = on.and_time(
            NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).unwrap_or_default(),
        );
        let person = self.person;
        let document = if person.national_id.is_some() && self.chance(0.35) {
            person.national_id.clone()
        } else {
            Some(person.passport_on(on).number.clone())
        };
        let document = document.filter(|_| self.chance(0.9));
        let purpose = purpose.filter(|_| self.chance(0.92));
        self.record(
            "fsb-border",
            "border_crossing",
            on,
            Some(at),
            None,
            None,
            |data| {
                data.string(
                    "direction",
                    match direction {
                        Direction::Entry => "entry",
                        Direction::Exit => "exit",
                    },
                )
                .date_time("crossed_at", at)
                .string("checkpoint", checkpoint.name)
                .string("transport", checkpoint.transport);
                if let Direction::Entry = direction {
                    data.optional_string("declared_purpose", purpose);
                }
                data.optional_string("document_number", document.as_deref());
            },
        );
    }

    #[expect(clippy::too_many_arguments, reason = "mirrors the payload's fields")]
    fn registration(
        &mut self,
        registered_on: NaiveDate,
        expires_on: NaiveDate,
        region: usize,
        host: &Host<'_>,
        purpose: &'static str,
        kind: &'static str,
        explicit_kind: bool,
    ) {
        let expires_on = expires_on.max(days(registered_on, 1));
        let mut data = String::with_capacity(256);
        {
            let mut object = JsonObject::begin(&mut data);
            object
                .date("registered_on", registered_on)
                .date("expires_on", expires_on);
            self.address(&mut object, "address", region);
            let mut host_object = object.object("host");
            match host {
                Host::Organisation(employer) => {
                    host_object
                        .string("kind", "organisation")
                        .string("name", &employer.name)
                        .string("inn", &employer.inn);
                }
                Host::Institution(name) => {
                    host_object
                        .string("kind", "organisation")
                        .string("name", name);
                }
                Host::Person(name) => {
                    host_object.string("kind", "person").string("name", name);
                    if self.chance(0.3) {
                        let first_ten = format!(
                            "{}{}",
                            REGIONS[region].code,
                            digits(self.range(0, 100_000_000), 8)
                        );
                        host_object.string("inn", &numbers::person_inn(&first_ten));
                    }
                }
            }
            host_object.end();
            if self.chance(0.9) {
                object.string("purpose", purpose);
            }
            if explicit_kind || kind != "initial" {
                object.string("kind", kind);
            }
            object.end();
        }
        self.push_raw(
            "mvd-migration",
            "migration_registration",
            registered_on,
            Some(registered_on),
            Some(expires_on),
            data,
        );
    }

    fn push_raw(
        &mut self,
        source: &'static str,
        category: &'static str,
        on: NaiveDate,
        valid_from: Option<NaiveDate>,
        valid_to: Option<NaiveDate>,
        data: String,
    ) {
        if on > self.reference {
            return;
        }
        self.drafts.push(Draft {
            source,
            category,
            on,
            at: None,
            valid_from,
            valid_to,
            data,
        });
    }

    fn person_host(&mut self) -> Host<'static> {
        Host::Person(self.pick(PERSON_HOSTS))
    }

    /// An application; returns the decision date when it was decided by the reference date.
    fn application(
        &mut self,
        kind: &'static str,
        submitted_on: NaiveDate,
        decided_on: NaiveDate,
        approved: bool,
        region: usize,
    ) -> Option<NaiveDate> {
        let reference = self.reference;
        let decided = decided_on <= reference;
        let status = match (decided, approved) {
            (false, _) if self.chance(0.5) => "submitted",
            (false, _) => "under_review",
            (true, true) => "approved",
            (true, false) if self.chance(0.15) => "withdrawn",
            (true, false) => "refused",
        };
        let number = format!(
            "{}/{}/{}",
            Self::region_code(region),
            submitted_on.year(),
            digits(self.range(0, 1_000_000), 6)
        );
        let office = REGIONS[region].migration_office;
        let with_office = self.chance(0.8);
        let (valid_from, valid_to) = (None, None);
        self.record(
            "mvd-migration",
            "stay_application",
            if decided { decided_on } else { submitted_on },
            None,
            valid_from,
            valid_to,
            |data| {
                data.string("application_number", &number)
                    .string("kind", kind)
                    .date("submitted_on", submitted_on)
                    .string("status", status);
                if decided {
                    data.date("decided_on", decided_on);
                }
                if with_office {
                    data.string("office", office);
                }
            },
        );
        (decided && approved).then_some(decided_on)
    }

    #[expect(clippy::too_many_arguments, reason = "mirrors the payload's fields")]
    fn stay_document(
        &mut self,
        kind: &'static str,
        number: &str,
        issued_on: NaiveDate,
        expires_on: Option<NaiveDate>,
        region: usize,
        profession: Option<&'static str>,
        paid_until: Option<NaiveDate>,
    ) {
        let issuer = REGIONS[region].migration_office;
        let region_code = Self::region_code(region);
        let with_issuer = self.chance(0.85);
        let number = number.to_owned();
        self.record(
            "mvd-migration",
            "stay_document",
            issued_on,
            None,
            Some(issued_on),
            expires_on,
            |data| {
                data.string("kind", kind)
                    .string("number", &number)
                    .date("issued_on", issued_on)
                    .optional_date("expires_on", expires_on);
                if with_issuer {
                    data.string("issuer", issuer);
                }
                if kind == "patent" {
                    data.string("region", region_code);
                }
                data.boolean("work_allowed", kind != "visa" || profession.is_some())
                    .optional_string("profession", profession)
                    .optional_date("patent_paid_until", paid_until);
            },
        );
    }

    fn medical_examination(&mut self, examined_on: NaiveDate) {
        let clinic = self.pick(CLINICS);
        let number = format!(
            "МО-{}-{}",
            examined_on.year(),
            digits(self.range(0, 10_000_000), 7)
        );
        let drug_test = if self.chance(0.005) {
            "positive"
        } else {
            "negative"
        };
        let infectious = if self.chance(0.004) {
            "found"
        } else {
            "none_found"
        };
        let hiv = if self.chance(0.003) {
            "positive"
        } else {
            "negative"
        };
        let fit = drug_test == "negative" && infectious == "none_found" && hiv == "negative";
        let with_validity = self.chance(0.9);
        let valid_until = add_years(examined_on, 1);
        self.record(
            "minzdrav",
            "medical_examination",
            examined_on,
            None,
            Some(examined_on),
            with_validity.then_some(valid_until),
            |data| {
                data.string("certificate_number", &number)
                    .string("clinic", clinic)
                    .date("examined_on", examined_on);
                if with_validity {
                    data.date("valid_until", valid_until);
                }
                data.string("drug_test", drug_test)
                    .string("infectious_diseases", infectious)
                    .string("hiv", hiv)
                    .boolean("fit_for_work", fit);
            },
        );
    }

    fn language_certificate(&mut self, issued_on: NaiveDate, purpose: &'static str) {
        let issuer = self.pick(LANGUAGE_TEST_ISSUERS);
        let number = format!(
            "{}-{}",
            digits(self.range(0, 1000), 3),
            digits(self.range(0, 10_000_000), 7)
        );
        let score = self.span(55, 100);
        let expires_on = (purpose != "citizenship").then(|| add_years(issued_on, 5));
        self.record(
            "minobr",
            "language_certificate",
            issued_on,
            None,
            Some(issued_on),
            expires_on,
            |data| {
                data.string("number", &number)
                    .string("purpose", purpose)
                    .date("issued_on", issued_on)
                    .optional_date("expires_on", expires_on)
                    .string("issuer", issuer)
                    .integer("score", score);
            },
        );
    }

    fn medical_insurance(&mut self, from: NaiveDate, compulsory: bool) {
        let (insurer, source, kind) = if compulsory {
            (self.pick(INSURERS_COMPULSORY), "ffoms", "compulsory")
        } else {
            (self.pick(INSURERS_VOLUNTARY), "insurers", "voluntary")
        };
        let to = if compulsory {
            add_years(from, 3)
        } else {
            days(add_years(from, 1), -1)
        };
        let policy = format!(
            "{}{}",
            if compulsory { "" } else { "ДМС-" },
            digits(self.range(0, 10_000_000_000_000_000), 16)
        );
        self.record(
            source,
            "medical_insurance",
            from,
            None,
            Some(from),
            Some(to),
            |data| {
                data.string("policy_number", &policy)
                    .string("insurer", insurer)
                    .string("kind", kind)
                    .date("valid_from", from)
                    .date("valid_to", to);
            },
        );
    }

    #[expect(clippy::too_many_arguments, reason = "mirrors the payload's fields")]
    fn employment(
        &mut self,
        employer: &Employer,
        position: &'static str,
        region: usize,
        started_on: NaiveDate,
        ended_on: Option<NaiveDate>,
        contract: &'static str,
        source: &'static str,
    ) {
        let ended_on = ended_on.filter(|ended| *ended >= started_on);
        let notified_on = days(started_on, self.span(1, 3));
        let with_notice = self.chance(0.8);
        // In kopecks: 35,000 to 150,000 roubles in steps of 500.
        let salary = self.span(70, 300) * 50_000;
        let with_salary = self.chance(0.7);
        let name = employer.name.clone();
        let inn = employer.inn.clone();
        let region_code = Self::region_code(region);
        self.record(
            source,
            "employment",
            started_on,
            None,
            Some(started_on),
            ended_on,
            |data| {
                let mut employer_object = data.object("employer");
                employer_object.string("name", &name).string("inn", &inn);
                employer_object.end();
                data.string("position", position)
                    .string("region", region_code)
                    .date("started_on", started_on)
                    .optional_date("ended_on", ended_on)
                    .string("contract", contract);
                if with_notice {
                    data.date("notified_on", notified_on);
                }
                if with_salary {
                    data.money("salary", salary);
                }
            },
        );
    }

    fn tax_debt(&mut self, as_of: NaiveDate, kind: &'static str, region: usize) {
        let owed = self.span(300, 45_000) * 100 + self.span(0, 99);
        let balance = if self.chance(0.1) { 0 } else { -owed };
        let office = REGIONS[region].tax_office;
        let with_office = self.chance(0.7);
        self.record("fns", "tax_debt", as_of, None, Some(as_of), None, |data| {
            data.money("balance", balance)
                .date("as_of", as_of)
                .string("kind", kind);
            if with_office {
                data.string("tax_office", office);
            }
        });
    }

    /// An offence; returns whether the court ordered the person out of the country.
    fn offence(&mut self, decided_on: NaiveDate) -> bool {
        let (article, usual) = self.pick(OFFENCE_ARTICLES);
        let regional = self.chance(0.04);
        let (article, code) = if regional {
            ("3.18", "regional")
        } else {
            (article, "koap")
        };
        let decision = if self.chance(0.9) { usual } else { "warning" };
        let traffic = article.starts_with("12.");
        let fine = match decision {
            // In kopecks: 500 to 7,000 roubles in steps of 100.
            "fine" | "expulsion" => Some(self.span(5, 70) * 10_000),
            _ => None,
        };
        let paid = fine.map(|_| self.chance(0.6));
        let authority = if traffic {
            "ОБ ДПС ГИБДД УМВД России по г. Москве"
        } else {
            self.pick(POLICE_UNITS)
        };
        let source = if traffic { "gibdd" } else { "mvd-offences" };
        self.record(
            source,
            "administrative_offence",
            decided_on,
            None,
            None,
            None,
            |data| {
                data.string("article", article)
                    .string("code", code)
                    .date("decided_on", decided_on)
                    .string("decision", decision);
                if let Some(fine) = fine {
                    data.money("fine_amount", fine);
                }
                if let Some(paid) = paid {
                    data.boolean("paid", paid);
                }
                data.string("authority", authority);
            },
        );
        decision == "expulsion"
    }

    fn entry_ban(
        &mut self,
        decided_on: NaiveDate,
        banned_from: NaiveDate,
        reason: Option<&'static str>,
    ) {
        let (basis, authority, basis_reason) = self.pick(ENTRY_BAN_BASES);
        let reason = reason.unwrap_or(basis_reason);
        let until = match self.span(0, 9) {
            0 => None,
            1..=5 => Some(add_years(banned_from, 5)),
            6..=7 => Some(add_years(banned_from, 3)),
            _ => Some(add_years(banned_from, 10)),
        };
        let source = if reason == "security" {
            "fsb-border"
        } else {
            "mvd-migration"
        };
        self.record(
            source,
            "entry_ban",
            decided_on,
            None,
            Some(banned_from),
            until,
            |data| {
                data.string("basis", basis)
                    .string("authority", authority)
                    .date("decided_on", decided_on)
                    .date("banned_from", banned_from)
                    .optional_date("banned_until", until)
                    .string("reason", reason);
            },
        );
    }

    fn vehicle(&mut self, registered_on: NaiveDate, region: usize, diplomatic: bool) {
        let (manufacturer, make, model) = self.pick(VEHICLES);
        let mut vin = String::with_capacity(17);
        vin.push_str(manufacturer);
        for _ in 0..14 {
            vin.push(char::from(self.pick(VIN_CHARACTERS)));
        }
        let plate = if diplomatic {
            format!(
                "{}D{} 77",
                digits(self.range(1, 200), 3),
                digits(self.range(1, 1000), 3)
            )
        } else {
            let mut plate = String::with_capacity(16);
            plate.push(self.pick(PLATE_LETTERS));
            plate.push_str(&digits(self.range(1, 1000), 3));
            plate.push(self.pick(PLATE_LETTERS));
            plate.push(self.pick(PLATE_LETTERS));
            let code = Self::region_code(region);
            if code == "77" || code == "50" {
                plate.push('7');
            }
            plate.push_str(code);
            plate
        };
        let year = (registered_on.year() - self.span(0, 15) as i32).max(1995);
        let deregistered_on = self
            .chance(0.2)
            .then(|| days(registered_on, self.span(60, 900)))
            .filter(|date| *date <= self.reference);
        self.record(
            "gibdd",
            "vehicle",
            registered_on,
            None,
            Some(registered_on),
            deregistered_on,
            |data| {
                data.string("vin", &vin)
                    .string("plate", &plate)
                    .string("make", make)
                    .string("model", model)
                    .integer("year", i64::from(year))
                    .date("registered_on", registered_on)
                    .optional_date("deregistered_on", deregistered_on);
            },
        );
    }

    fn driving_licence(&mut self, issued_on: NaiveDate, professional: bool) {
        let russian = self.chance(0.6);
        let country = if russian { "RUS" } else { self.person.code() };
        let number = if russian {
            format!(
                "{} {} {}",
                digits(self.range(0, 100), 2),
                digits(self.range(0, 100), 2),
                digits(self.range(0, 1_000_000), 6)
            )
        } else {
            format!("AF{}", digits(self.range(0, 10_000_000), 7))
        };
        let categories: &[&str] = if professional {
            self.pick(&[
                &["b", "c"][..],
                &["b", "c", "ce"],
                &["b", "c", "d"],
                &["b", "b1", "c", "c1", "ce"],
            ])
        } else {
            self.pick(&[&["b"][..], &["b"], &["b", "b1"], &["a", "b", "m"]])
        };
        let expires_on = add_years(issued_on, 10);
        self.record(
            "gibdd",
            "driving_licence",
            issued_on,
            None,
            Some(issued_on),
            Some(expires_on),
            |data| {
                data.string("number", &number)
                    .string("country", country)
                    .string_array("categories", categories)
                    .date("issued_on", issued_on)
                    .date("expires_on", expires_on);
            },
        );
    }

    fn small_vessel_licence(&mut self, issued_on: NaiveDate) {
        let number = format!(
            "ГИМС {}-{}",
            digits(self.range(0, 100), 2),
            digits(self.range(0, 1_000_000), 6)
        );
        let expires_on = add_years(issued_on, 10);
        let waters = self.pick(&["inland", "inland", "coastal", "sea"]);
        self.record(
            "gims",
            "small_vessel_licence",
            issued_on,
            None,
            Some(issued_on),
            Some(expires_on),
            |data| {
                data.string("number", &number)
                    .date("issued_on", issued_on)
                    .date("expires_on", expires_on)
                    .string("waters", waters);
            },
        );
    }

    fn real_estate(&mut self, registered_on: NaiveDate, region: usize) {
        let block_digits = if self.chance(0.5) { 6 } else { 7 };
        let cadastral = format!(
            "{}:{}:{}:{}",
            Self::region_code(region),
            digits(self.range(1, 40), 2),
            digits(self.range(0, 10u64.pow(block_digits)), block_digits),
            self.span(1, 4_000)
        );
        let kind = self.pick(&[
            "apartment",
            "apartment",
            "apartment",
            "room",
            "house",
            "land",
            "garage",
            "non_residential",
        ]);
        let right = self.pick(&["ownership", "ownership", "shared_ownership", "lease", "use"]);
        let share = (right == "shared_ownership").then(|| self.pick(&["1/2", "1/3", "1/4", "2/3"]));
        let ended_on = self
            .chance(0.15)
            .then(|| days(registered_on, self.span(90, 1500)))
            .filter(|date| *date <= self.reference);
        let region_code = Self::region_code(region);
        let with_region = self.chance(0.8);
        self.record(
            "rosreestr",
            "real_estate",
            registered_on,
            None,
            Some(registered_on),
            ended_on,
            |data| {
                data.string("cadastral_number", &cadastral)
                    .string("kind", kind)
                    .string("right", right)
                    .optional_string("share", share)
                    .date("registered_on", registered_on)
                    .optional_date("ended_on", ended_on);
                if with_region {
                    data.string("region", region_code);
                }
            },
        );
    }

    fn phone(&mut self, number: &str, registered_on: NaiveDate) {
        let operator = self.pick(MOBILE_OPERATORS);
        let with_operator = self.chance(0.85);
        let verified = self.chance(0.7);
        let ended_on = self
            .chance(0.2)
            .then(|| days(registered_on, self.span(60, 900)))
            .filter(|date| *date <= self.reference);
        let number = number.to_owned();
        self.record(
            "rossvyaz",
            "phone_number",
            registered_on,
            None,
            Some(registered_on),
            ended_on,
            |data| {
                data.string("number", &number);
                if with_operator {
                    data.string("operator", operator);
                }
                data.date("registered_on", registered_on)
                    .boolean("verified", verified)
                    .optional_date("ended_on", ended_on);
            },
        );
    }

    fn population_register(&mut self, event: &'static str, on: NaiveDate, region: usize) {
        let number = format!(
            "ЕРН-{}",
            digits(
                numbers::mix64(self.person.index ^ 0xe2) % 1_000_000_000_000,
                12
            )
        );
        let with_address = event != "deregistered" && self.chance(0.85);
        let mut data = String::with_capacity(200);
        {
            let mut object = JsonObject::begin(&mut data);
            object
                .string("register_number", &number)
                .string("event", event)
                .date("event_on", on);
            if with_address {
                self.address(&mut object, "address", region);
            }
            object.end();
        }
        self.push_raw("ern", "population_register", on, Some(on), None, data);
    }

    #[expect(clippy::too_many_arguments, reason = "mirrors the payload's fields")]
    fn visa(
        &mut self,
        kind: &'static str,
        purpose: &'static str,
        entries: &'static str,
        issued_on: NaiveDate,
        valid_from: NaiveDate,
        valid_to: NaiveDate,
        stay_days: Option<i64>,
    ) {
        let number = format!(
            "{} {}",
            digits(self.range(10, 40), 2),
            digits(self.range(0, 10_000_000), 7)
        );
        let post = visa_post(self.person.code());
        self.record(
            "mid",
            "visa",
            issued_on,
            None,
            Some(valid_from),
            Some(valid_to),
            |data| {
                data.string("visa_number", &number)
                    .string("kind", kind)
                    .string("purpose", purpose)
                    .string("entries", entries)
                    .date("issued_on", issued_on)
                    .date("valid_from", valid_from)
                    .date("valid_to", valid_to)
                    .string("issuing_post", post);
                if let Some(stay_days) = stay_days {
                    data.integer("stay_days", stay_days);
                }
            },
        );
    }

    fn education_document(
        &mut self,
        kind: &'static str,
        institution: &'static str,
        country: &'static str,
        issued_on: NaiveDate,
    ) {
        let number = format!(
            "{}{}",
            digits(self.range(0, 100), 2),
            digits(self.range(0, 100_000_000), 8)
        );
        let recognised = (country != "RUS").then(|| self.chance(0.8));
        self.record(
            "minobr",
            "education_document",
            issued_on,
            None,
            None,
            None,
            |data| {
                data.string("kind", kind)
                    .string("number", &number)
                    .string("institution", institution)
                    .string("country", country)
                    .date("issued_on", issued_on);
                if let Some(recognised) = recognised {
                    data.boolean("recognised", recognised);
                }
            },
        );
    }

    #[expect(clippy::too_many_arguments, reason = "mirrors the payload's fields")]
    fn enrolment(
        &mut self,
        institution: &'static str,
        programme: &'static str,
        level: &'static str,
        enrolled_on: NaiveDate,
        expected_end: Option<NaiveDate>,
        ended_on: Option<NaiveDate>,
        funding: &'static str,
    ) {
        let form = if level == "school" || self.chance(0.9) {
            "full_time"
        } else {
            "part_time"
        };
        self.record(
            "minobr",
            "education_enrolment",
            enrolled_on,
            None,
            Some(enrolled_on),
            ended_on,
            |data| {
                data.string("institution", institution)
                    .string("programme", programme)
                    .string("level", level)
                    .string("form", form)
                    .date("enrolled_on", enrolled_on)
                    .optional_date("expected_end", expected_end)
                    .optional_date("ended_on", ended_on)
                    .string("funding", funding);
            },
        );
    }

    // ----- life stories ---------------------------------------------------------------------

    fn pick_position(&mut self) -> &'static str {
        self.pick(POSITIONS)
    }

    /// A worker's stays: the Central Asian pattern of seasons in Russia and returns home.
    fn labour(&mut self) {
        let person = self.person;
        let reference = self.reference;
        let stays = match self.span(0, 99) {
            0..=63 => 1,
            64..=91 => 2,
            _ => 3,
        };
        let mut entry = person.first_entry;
        let mut language_certified = false;
        for stay in 0..stays {
            if entry > days(reference, -3) {
                break;
            }
            let last = stay + 1 == stays;
            let length = if self.chance(0.3) {
                self.span(40, 150)
            } else {
                self.span(150, 720)
            };
            let planned_exit = days(entry, length);
            let exit =
                (planned_exit < reference && !(last && self.chance(0.45))).then_some(planned_exit);
            let region = if self.chance(0.85) {
                person.region
            } else {
                self.world.pick_region(&mut self.rng.borrow_mut())
            };
            let world = self.world;
            let employer = world.pick_employer(&mut self.rng.borrow_mut(), region);
            let purpose = if self.chance(0.88) { "work" } else { "private" };
            self.crossing(Direction::Entry, entry, Some(purpose));

            let registered_on = days(entry, self.span(1, 7));
            let host = if self.chance(0.55) {
                Host::Organisation(employer)
            } else {
                self.person_host()
            };
            let first_expiry = if person.is_eaeu() {
                days(entry, 365)
            } else {
                days(entry, 90)
            };
            self.registration(
                registered_on,
                first_expiry,
                region,
                &host,
                "work",
                "initial",
                self.chance(0.2),
            );

            let stay_end = exit.unwrap_or(reference);
            let mut work_start = days(entry, self.span(10, 40));
            let mut patent_until = None;
            let mut works = true;
            if person.needs_patent() {
                let submitted_on = days(entry, self.span(3, 25));
                if self.chance(0.75) {
                    let examined_on = days(submitted_on, -self.span(0, 3));
                    self.medical_examination(examined_on.max(entry));
                }
                if !language_certified && self.chance(0.7) {
                    language_certified = true;
                    let issued_on = days(submitted_on, -self.span(1, 6));
                    self.language_certificate(issued_on.max(entry), "patent_or_work_permit");
                }
                if self.chance(0.6) {
                    self.medical_insurance(days(submitted_on, -self.span(0, 2)).max(entry), false);
                }
                let approved = !self.chance(0.05);
                let decided_on = days(submitted_on, self.span(7, 12));
                let decided = if self.chance(0.5) {
                    self.application("patent", submitted_on, decided_on, approved, region)
                } else {
                    (approved && decided_on <= reference).then_some(decided_on)
                };
                works = approved;
                if let Some(issued_on) = decided.filter(|_| self.chance(0.9)) {
                    let mut issued_on = issued_on;
                    let mut round = 0;
                    while issued_on < stay_end && round < 3 {
                        let expires_on = days(add_years(issued_on, 1), -1);
                        let months_paid = self.span(1, 12) as u32;
                        let paid_until = add_months(issued_on, months_paid).min(expires_on);
                        let number = format!(
                            "{}№{}",
                            Self::region_code(region),
                            digits(self.range(0, 10_000_000_000), 10)
                        );
                        let profession = self.pick_position();
                        self.stay_document(
                            "patent",
                            &number,
                            issued_on,
                            Some(expires_on),
                            region,
                            Some(profession),
                            Some(paid_until),
                        );
                        patent_until = Some(expires_on);
                        if round == 0 {
                            work_start = days(issued_on, self.span(1, 20));
                        }
                        if !self.chance(0.8) {
                            break;
                        }
                        issued_on = days(expires_on, -self.span(0, 20));
                        round += 1;
                    }
                }
            } else if person.is_eaeu() && self.chance(0.5) {
                self.medical_insurance(days(entry, self.span(5, 40)), true);
            }

            if stay_end > days(entry, 95) && self.chance(0.6) {
                let extended_on = days(entry, self.span(80, 89));
                let expires_on = patent_until.unwrap_or(days(extended_on, 180));
                self.registration(
                    extended_on,
                    expires_on,
                    region,
                    &host,
                    "work",
                    "extension",
                    true,
                );
            }

            if works && work_start < stay_end && self.chance(0.82) {
                let position = self.pick_position();
                let long = (stay_end - work_start).num_days() > 300;
                let first_end = if long && self.chance(0.25) {
                    Some(days(work_start, self.span(90, 250)))
                } else {
                    exit.map(|exit| days(exit, -self.span(0, 10)))
                };
                let source = if self.chance(0.5) {
                    "sfr"
                } else {
                    "mvd-migration"
                };
                let contract = if self.chance(0.8) { "labour" } else { "civil" };
                self.employment(
                    employer, position, region, work_start, first_end, contract, source,
                );
                if let Some(first_end) = first_end.filter(|end| *end < days(stay_end, -40) && long)
                {
                    let second = self.world.pick_employer(&mut self.rng.borrow_mut(), region);
                    let started_on = days(first_end, self.span(3, 30));
                    let ended_on = exit.map(|exit| days(exit, -self.span(0, 10)));
                    self.employment(
                        second, position, region, started_on, ended_on, "labour", "sfr",
                    );
                }
            }

            if self.chance(0.13) {
                let as_of = self.between(days(entry, 60), stay_end);
                let kind = if person.needs_patent() && self.chance(0.6) {
                    "patent"
                } else {
                    "personal_income"
                };
                self.tax_debt(as_of, kind, region);
            }

            if self.chance(0.07) {
                let decided_on = self.between(days(entry, 20), days(stay_end, -5));
                if self.offence(decided_on) {
                    let leave_on = days(decided_on, self.span(3, 30));
                    self.crossing(Direction::Exit, leave_on, None);
                    self.entry_ban(
                        days(decided_on, self.span(1, 20)),
                        leave_on,
                        Some("deportation"),
                    );
                    break;
                }
            }

            let Some(exit_on) = exit else {
                break;
            };
            self.crossing(Direction::Exit, exit_on, None);
            if self.chance(0.15) {
                self.registration(
                    days(exit_on, -self.span(0, 2)),
                    exit_on,
                    region,
                    &host,
                    "work",
                    "departure",
                    true,
                );
            }
            if self.chance(0.012) {
                let decided_on = days(exit_on, self.span(10, 120));
                let reason = self.pick(&[
                    "overstay",
                    "unpaid_fine",
                    "offence",
                    "public_health",
                    "other",
                ]);
                self.entry_ban(decided_on, decided_on, Some(reason));
                break;
            }
            entry = days(exit_on, self.span(20, 240));
        }
        if self.chance(0.05) {
            let issued_on = self.between(days(person.first_entry, 30), reference);
            self.driving_licence(issued_on, true);
        }
        if self.chance(0.035) {
            let registered_on = self.between(days(person.first_entry, 60), reference);
            self.vehicle(registered_on, person.region, false);
        }
        if self.chance(0.004) {
            let issued_on = self.between(days(person.first_entry, 60), reference);
            self.small_vessel_licence(issued_on);
        }
    }

    fn resident(&mut self) {
        let person = self.person;
        let reference = self.reference;
        let region = person.region;
        let entry = person.first_entry;
        self.crossing(
            Direction::Entry,
            entry,
            Some(if self.chance(0.5) { "private" } else { "work" }),
        );
        let host = self.person_host();
        let registered_on = days(entry, self.span(1, 7));
        self.registration(
            registered_on,
            days(entry, 90),
            region,
            &host,
            "private",
            "initial",
            false,
        );

        let submitted_on = days(entry, self.span(30, 200));
        if self.chance(0.7) {
            self.medical_examination(days(submitted_on, -self.span(5, 20)));
        }
        if self.chance(0.7) {
            self.language_certificate(
                days(submitted_on, -self.span(10, 40)),
                "temporary_residence_permit",
            );
        }
        let approved = !self.chance(0.07);
        let decided_on = days(submitted_on, self.span(60, 180));
        let mut settled_from = entry;
        if let Some(decided_on) = self.application(
            "temporary_residence_permit",
            submitted_on,
            decided_on,
            approved,
            region,
        ) {
            let issued_on = days(decided_on, self.span(5, 20));
            let expires_on = add_years(issued_on, 3);
            let number = format!(
                "{}{}",
                digits(self.range(10, 100), 2),
                digits(self.range(0, 10_000_000), 7)
            );
            self.stay_document(
                "temporary_residence_permit",
                &number,
                issued_on,
                Some(expires_on),
                region,
                None,
                None,
            );
            self.held.push(HeldDocument {
                kind: "temporary_residence_permit",
                number,
                since: issued_on,
                until: Some(expires_on),
            });
            settled_from = issued_on;
            self.population_register("registered", days(issued_on, self.span(5, 30)), region);
            let host = self.person_host();
            self.registration(
                days(issued_on, self.span(1, 7)),
                expires_on,
                region,
                &host,
                "private",
                "initial",
                true,
            );
            if self.chance(0.55) {
                self.medical_insurance(days(issued_on, self.span(10, 60)), true);
            }

            let permanent_submitted = days(issued_on, self.span(300, 900));
            if permanent_submitted < expires_on {
                if self.chance(0.3) {
                    self.language_certificate(
                        days(permanent_submitted, -self.span(10, 40)),
                        "residence_permit",
                    );
                }
                let approved = !self.chance(0.05);
                let decided_on = days(permanent_submitted, self.span(60, 120));
                if let Some(decided_on) = self.application(
                    "residence_permit",
                    permanent_submitted,
                    decided_on,
                    approved,
                    region,
                ) {
                    let issued_on = days(decided_on, self.span(5, 20));
                    let number = format!("82 №{}", digits(self.range(0, 10_000_000), 7));
                    let expires_on = self.chance(0.2).then(|| add_years(issued_on, 5));
                    self.stay_document(
                        "residence_permit",
                        &number,
                        issued_on,
                        expires_on,
                        region,
                        None,
                        None,
                    );
                    self.held.push(HeldDocument {
                        kind: "residence_permit",
                        number,
                        since: issued_on,
                        until: expires_on,
                    });
                    self.population_register("updated", days(issued_on, self.span(5, 30)), region);
                    if self.chance(0.1) {
                        self.language_certificate(
                            days(issued_on, self.span(200, 700)),
                            "citizenship",
                        );
                    }
                }
            }
            if self.chance(0.25) {
                let moved_on = self.between(days(issued_on, 100), reference);
                self.population_register("address_changed", moved_on, region);
            }
        }

        let jobs = self.span(0, 2);
        let mut start = days(entry, self.span(30, 400));
        for _ in 0..jobs {
            if start > reference {
                break;
            }
            let employer = self.world.pick_employer(&mut self.rng.borrow_mut(), region);
            let position = self.pick_position();
            let ended_on = self
                .chance(0.5)
                .then(|| days(start, self.span(120, 900)))
                .filter(|date| *date < reference);
            self.employment(employer, position, region, start, ended_on, "labour", "sfr");
            let Some(ended_on) = ended_on else {
                break;
            };
            start = days(ended_on, self.span(5, 60));
        }
        if self.chance(0.25) {
            let as_of = self.between(days(settled_from, 60), reference);
            let kind = self.pick(&["property", "transport", "personal_income", "land", "other"]);
            self.tax_debt(as_of, kind, region);
        }
        if self.chance(0.35) {
            let count = if self.chance(0.3) { 2 } else { 1 };
            for _ in 0..count {
                let registered_on = self.between(days(settled_from, 30), reference);
                self.real_estate(registered_on, region);
            }
        }
        if self.chance(0.3) {
            let registered_on = self.between(days(settled_from, 30), reference);
            self.vehicle(registered_on, region, false);
        }
        if self.chance(0.35) {
            let issued_on = self.between(days(entry, 60), reference);
            let professional = self.chance(0.2);
            self.driving_licence(issued_on, professional);
        }
        if self.chance(0.07) {
            let issued_on = self.between(days(entry, 100), reference);
            self.small_vessel_licence(issued_on);
        }
        if self.chance(0.3) {
            let graduated_on = add_years(person.birth_date, self.span(21, 24) as i32);
            if graduated_on < entry {
                let kind = self.pick(&[
                    "bachelor_diploma",
                    "specialist_diploma",
                    "vocational_diploma",
                ]);
                self.education_document(
                    kind,
                    home_university(person.code()),
                    person.code(),
                    graduated_on,
                );
            }
        }
        if self.chance(0.05) {
            let decided_on = self.between(days(entry, 60), reference);
            self.offence(decided_on);
        }
        let trips = self.span(0, 2);
        let mut leave_from = days(entry, 200);
        for _ in 0..trips {
            let exit_on = self.between(leave_from, days(leave_from, 500));
            if exit_on >= days(reference, -10) {
                break;
            }
            self.crossing(Direction::Exit, exit_on, None);
            let back_on = days(exit_on, self.span(7, 60));
            self.crossing(Direction::Entry, back_on, Some("private"));
            leave_from = days(back_on, 60);
        }
    }

    fn student(&mut self) {
        let person = self.person;
        let reference = self.reference;
        let entry = person.first_entry;
        let university = self.pick(UNIVERSITIES);
        let (programme, level) = self.pick(PROGRAMMES);
        let years = match level {
            "preparatory" => 1,
            "master" => 2,
            "vocational" => 3,
            "specialist" => 6,
            _ => 4,
        };
        if person.needs_visa() {
            let issued_on = days(entry, -self.span(10, 40));
            self.visa(
                "ordinary",
                "study",
                "single",
                issued_on,
                days(entry, -5),
                days(entry, 85),
                Some(90),
            );
        }
        self.crossing(Direction::Entry, entry, Some("study"));
        let region = person.region;
        self.registration(
            days(entry, self.span(1, 5)),
            days(entry, 365),
            region,
            &Host::Institution(university),
            "study",
            "initial",
            false,
        );
        let enrolled_on = NaiveDate::from_ymd_opt(entry.year(), 9, 1).unwrap_or(entry);
        let expected_end = NaiveDate::from_ymd_opt(entry.year() + years, 6, 30).unwrap_or(entry);
        let finished = expected_end < reference;
        let dropped_out = !finished && self.chance(0.08);
        let ended_on = if finished {
            Some(expected_end)
        } else if dropped_out {
            Some(self.between(days(enrolled_on, 60), reference))
        } else {
            None
        };
        let funding = self.pick(&["contract", "contract", "quota", "budget"]);
        self.enrolment(
            university,
            programme,
            level,
            enrolled_on,
            Some(expected_end),
            ended_on,
            funding,
        );
        if self.chance(0.6) {
            let issued_on = NaiveDate::from_ymd_opt(entry.year(), 6, 20).unwrap_or(entry);
            self.education_document(
                "school_certificate",
                home_school(person.code()),
                person.code(),
                issued_on,
            );
        }
        if finished && level != "preparatory" && self.chance(0.85) {
            let kind = match level {
                "master" => "master_diploma",
                "specialist" => "specialist_diploma",
                "vocational" => "vocational_diploma",
                _ => "bachelor_diploma",
            };
            self.education_document(kind, university, "RUS", expected_end);
        }
        let study_end = ended_on.unwrap_or(reference);
        if self.chance(0.8) {
            self.medical_insurance(days(entry, self.span(3, 20)), false);
        }
        if self.chance(0.3) {
            self.medical_examination(days(entry, self.span(5, 30)));
        }
        if person.needs_visa() {
            let mut issued_on = days(entry, self.span(30, 80));
            while issued_on < study_end {
                let expires_on = days(add_years(issued_on, 1), -1);
                let number = format!(
                    "{}{}",
                    digits(self.range(10, 40), 2),
                    digits(self.range(0, 10_000_000), 7)
                );
                self.stay_document(
                    "visa",
                    &number,
                    issued_on,
                    Some(expires_on),
                    region,
                    None,
                    None,
                );
                issued_on = expires_on;
            }
        }
        // Summer holidays at home.
        let mut year = entry.year() + 1;
        while let (Some(leave_on), Some(back_on)) = (
            NaiveDate::from_ymd_opt(year, 6, 25),
            NaiveDate::from_ymd_opt(year, 8, 20),
        ) {
            if back_on > study_end {
                break;
            }
            if self.chance(0.35) {
                let leave_on = days(leave_on, self.span(0, 20));
                let back_on = days(back_on, self.span(0, 10));
                self.crossing(Direction::Exit, leave_on, None);
                if person.needs_visa() {
                    // The study visa covers returns; a few need a fresh one.
                    if self.chance(0.2) {
                        self.visa(
                            "ordinary",
                            "study",
                            "double",
                            days(back_on, -20),
                            days(back_on, -5),
                            days(back_on, 85),
                            None,
                        );
                    }
                }
                self.crossing(Direction::Entry, back_on, Some("study"));
                self.registration(
                    days(back_on, self.span(1, 5)),
                    days(back_on, 365),
                    region,
                    &Host::Institution(university),
                    "study",
                    "initial",
                    false,
                );
            }
            year += 1;
        }
        if self.chance(0.12) {
            let employer = self.world.pick_employer(&mut self.rng.borrow_mut(), region);
            let started_on = self.between(days(enrolled_on, 60), study_end);
            self.employment(employer, "курьер", region, started_on, None, "civil", "sfr");
        }
        if let Some(ended_on) = ended_on
            && self.chance(0.6)
        {
            self.crossing(Direction::Exit, days(ended_on, self.span(5, 60)), None);
        }
    }

    fn child(&mut self) {
        let person = self.person;
        let reference = self.reference;
        let entry = person.first_entry;
        let region = person.region;
        self.crossing(Direction::Entry, entry, Some("private"));
        let host = self.person_host();
        self.registration(
            days(entry, self.span(1, 7)),
            days(entry, 90),
            region,
            &host,
            "private",
            "initial",
            false,
        );
        let school_age = add_years(person.birth_date, 7);
        let tested_on = days(entry, self.span(10, 60)).max(school_age);
        let age = person.age_on(tested_on);
        if (7..=17).contains(&age) && tested_on <= reference {
            let school = self.pick(SCHOOLS);
            let grade = i64::from((age - 6).clamp(1, 11));
            let draw = self.span(0, 99);
            let result = match draw {
                0..=74 => "passed",
                75..=94 => "failed",
                _ => "absent",
            };
            let score = match result {
                "passed" => Some(self.span(50, 100)),
                "failed" => Some(self.span(5, 49)),
                _ => None,
            };
            self.record(
                "minobr",
                "school_language_test",
                tested_on,
                None,
                None,
                None,
                |data| {
                    data.date("tested_on", tested_on)
                        .string("school", school)
                        .integer("grade", grade)
                        .string("result", result);
                    if let Some(score) = score {
                        data.integer("score", score);
                    }
                },
            );
            if result == "passed" {
                let enrolled_on = days(tested_on, self.span(5, 30));
                let expected_end =
                    NaiveDate::from_ymd_opt(enrolled_on.year() + (11 - grade) as i32 + 1, 6, 30);
                self.enrolment(
                    school,
                    "Основное общее образование",
                    "school",
                    enrolled_on,
                    expected_end,
                    None,
                    "budget",
                );
            }
        }
        if self.chance(0.5) {
            self.medical_insurance(days(entry, self.span(10, 90)), true);
        }
        if self.chance(0.3) {
            let exit_on = self.between(days(entry, 120), reference);
            if exit_on < days(reference, -5) {
                self.crossing(Direction::Exit, exit_on, None);
            }
        }
    }

    fn visitor(&mut self) {
        let person = self.person;
        let reference = self.reference;
        let trips = self.span(1, 3);
        let mut entry = person.first_entry;
        for _ in 0..trips {
            if entry > days(reference, -2) {
                break;
            }
            let purpose = if self.chance(0.5) {
                "tourism"
            } else {
                "private"
            };
            if person.needs_visa() {
                let issued_on = days(entry, -self.span(7, 40));
                let stay_days = self.span(14, 90);
                self.visa(
                    "ordinary",
                    purpose,
                    "single",
                    issued_on,
                    days(entry, -2),
                    days(entry, stay_days),
                    Some(stay_days),
                );
            }
            self.crossing(Direction::Entry, entry, Some(purpose));
            if self.chance(0.85) {
                let host = self.person_host();
                self.registration(
                    days(entry, self.span(1, 7)),
                    days(entry, 90),
                    person.region,
                    &host,
                    purpose,
                    "initial",
                    false,
                );
            }
            let overstay = self.chance(0.03);
            let length = if overstay {
                self.span(100, 250)
            } else {
                self.span(5, 85)
            };
            let exit_on = days(entry, length);
            if overstay {
                let decided_on = days(entry, self.span(91, length.max(92)));
                self.offence(decided_on);
                self.entry_ban(days(exit_on, self.span(5, 40)), exit_on, Some("overstay"));
            }
            if exit_on >= reference {
                break;
            }
            self.crossing(Direction::Exit, exit_on, None);
            if overstay {
                break;
            }
            entry = days(exit_on, self.span(30, 400));
        }
    }

    fn visa_worker(&mut self) {
        let person = self.person;
        let reference = self.reference;
        let stays = self.span(1, 2);
        let mut entry = person.first_entry;
        for _ in 0..stays {
            if entry > days(reference, -3) {
                break;
            }
            let region = person.region;
            self.visa(
                "ordinary",
                "work",
                "single",
                days(entry, -self.span(10, 40)),
                days(entry, -3),
                days(entry, 90),
                Some(90),
            );
            self.crossing(Direction::Entry, entry, Some("work"));
            let employer = self.world.pick_employer(&mut self.rng.borrow_mut(), region);
            self.registration(
                days(entry, self.span(1, 5)),
                days(entry, 90),
                region,
                &Host::Organisation(employer),
                "work",
                "initial",
                false,
            );
            if self.chance(0.7) {
                self.medical_examination(days(entry, self.span(3, 20)));
            }
            if self.chance(0.7) {
                self.medical_insurance(days(entry, self.span(1, 10)), false);
            }
            let length = self.span(200, 700);
            let exit = Some(days(entry, length)).filter(|exit| *exit < reference);
            let stay_end = exit.unwrap_or(reference);
            if self.chance(0.4) {
                let submitted_on = days(entry, self.span(10, 40));
                let decided_on = days(submitted_on, self.span(10, 25));
                self.application("visa_extension", submitted_on, decided_on, true, region);
            }
            let issued_on = days(entry, self.span(20, 60));
            let expires_on = days(add_years(issued_on, 1), -1);
            let number = format!(
                "{}{}",
                digits(self.range(10, 40), 2),
                digits(self.range(0, 10_000_000), 7)
            );
            let profession = self.pick_position();
            self.stay_document(
                "visa",
                &number,
                issued_on,
                Some(expires_on),
                region,
                Some(profession),
                None,
            );
            if expires_on < stay_end {
                self.registration(
                    days(expires_on, -self.span(0, 5)),
                    days(stay_end, 1),
                    region,
                    &Host::Organisation(employer),
                    "work",
                    "extension",
                    true,
                );
            } else {
                self.registration(
                    days(entry, 88),
                    expires_on,
                    region,
                    &Host::Organisation(employer),
                    "work",
                    "extension",
                    true,
                );
            }
            let started_on = days(entry, self.span(15, 60));
            let ended_on = exit.map(|exit| days(exit, -self.span(0, 10)));
            self.employment(
                employer,
                profession,
                region,
                started_on,
                ended_on,
                "labour",
                "mvd-migration",
            );
            if self.chance(0.1) {
                let as_of = self.between(days(entry, 90), stay_end);
                self.tax_debt(as_of, "personal_income", region);
            }
            let Some(exit_on) = exit else {
                break;
            };
            self.crossing(Direction::Exit, exit_on, None);
            entry = days(exit_on, self.span(30, 300));
        }
    }

    fn diplomat(&mut self) {
        let person = self.person;
        let reference = self.reference;
        let entry = person.first_entry;
        let (position, category) = self.pick(DIPLOMATIC_POSITIONS);
        let visa_kind = if matches!(category, "diplomatic" | "consular") {
            "diplomatic"
        } else {
            "service"
        };
        self.visa(
            visa_kind,
            "official",
            "multiple",
            days(entry, -self.span(10, 30)),
            days(entry, -5),
            add_years(entry, 1),
            None,
        );
        self.crossing(Direction::Entry, entry, Some("official"));
        let issued_on = days(entry, self.span(5, 30));
        let expires_on = add_years(issued_on, self.span(1, 3) as i32);
        let card = format!("Д-{}", digits(self.range(0, 1_000_000), 6));
        let mission = embassy(person.code());
        self.record(
            "mid",
            "diplomatic_accreditation",
            issued_on,
            None,
            Some(issued_on),
            Some(expires_on),
            |data| {
                data.string("mission", mission)
                    .string("position", position)
                    .string("card_number", &card)
                    .string("category", category)
                    .date("issued_on", issued_on)
                    .date("expires_on", expires_on);
            },
        );
        if self.chance(0.4) {
            let registered_on = days(issued_on, self.span(10, 60));
            self.vehicle(registered_on, person.region, true);
        }
        let trips = self.span(1, 3);
        let mut leave_from = days(entry, 60);
        for _ in 0..trips {
            let exit_on = self.between(leave_from, days(leave_from, 300));
            if exit_on >= days(reference, -10) {
                break;
            }
            self.crossing(Direction::Exit, exit_on, None);
            let back_on = days(exit_on, self.span(5, 40));
            self.crossing(Direction::Entry, back_on, Some("official"));
            leave_from = days(back_on, 30);
        }
    }

    /// Records most people have whatever brought them: phones, SNILS, the state services
    /// account.
    fn common(&mut self) {
        let person = self.person;
        let phones = person.phones.clone();
        for (position, number) in phones.iter().enumerate() {
            let registered_on = if position == 0 {
                days(person.first_entry, self.span(0, 40))
            } else {
                self.between(days(person.first_entry, 60), self.reference)
            };
            self.phone(number, registered_on);
        }
        if let Some(snils) = &person.snils {
            let (number, issued_on) = (snils.value.clone(), snils.since);
            self.record("sfr", "snils", issued_on, None, None, None, |data| {
                data.string("number", &number).date("issued_on", issued_on);
            });
        }
        if let Some(esia) = &person.esia {
            let (number, created_on) = (esia.value.clone(), esia.since);
            let level = self.pick(&["simplified", "standard", "standard", "confirmed"]);
            self.record(
                "esia",
                "esia_account",
                created_on,
                None,
                None,
                None,
                |data| {
                    data.string("esia_id", &number)
                        .string("level", level)
                        .date("created_on", created_on);
                },
            );
        }
    }

    /// Person 0, the demo citizen: two seasons of work in Moscow, a valid patent for region
    /// 77 on the reference date, and a small tax debt. Fixed dates relative to the reference.
    fn demo(&mut self) {
        let person = self.person;
        let reference = self.reference;
        let moscow = person.region;
        let first_employer = &self.world.employers[0];
        let second_employer = &self.world.employers[1];

        let first_entry = person.first_entry;
        self.crossing_fixed(
            Direction::Entry,
            first_entry,
            "Москва (Домодедово)",
            "air",
            Some("work"),
        );
        self.registration(
            days(first_entry, 2),
            days(first_entry, 90),
            moscow,
            &Host::Organisation(first_employer),
            "work",
            "initial",
            true,
        );
        self.medical_examination_fixed(days(first_entry, 8));
        self.language_certificate(days(first_entry, 9), "patent_or_work_permit");
        self.medical_insurance(days(first_entry, 9), false);
        let first_patent = days(first_entry, 25);
        self.stay_document(
            "patent",
            "77№2400123456",
            first_patent,
            Some(days(add_years(first_patent, 1), -1)),
            moscow,
            Some("монтажник"),
            Some(add_months(first_patent, 6)),
        );
        self.employment(
            first_employer,
            "монтажник",
            moscow,
            days(first_patent, 5),
            Some(days(first_entry, 290)),
            "labour",
            "sfr",
        );
        let first_exit = days(first_entry, 300);
        self.crossing_fixed(
            Direction::Exit,
            first_exit,
            "Москва (Домодедово)",
            "air",
            None,
        );

        let second_entry = days(reference, -200);
        self.crossing_fixed(
            Direction::Entry,
            second_entry,
            "Москва (Внуково)",
            "air",
            Some("work"),
        );
        self.registration(
            days(second_entry, 3),
            days(second_entry, 90),
            moscow,
            &Host::Organisation(second_employer),
            "work",
            "initial",
            true,
        );
        self.medical_examination_fixed(days(second_entry, 10));
        self.medical_insurance(days(second_entry, 10), false);
        let submitted_on = days(second_entry, 12);
        let decided_on = days(second_entry, 22);
        self.record(
            "mvd-migration",
            "stay_application",
            decided_on,
            None,
            None,
            None,
            |data| {
                data.string("application_number", "77/DEMO/000001")
                    .string("kind", "patent")
                    .date("submitted_on", submitted_on)
                    .string("status", "approved")
                    .date("decided_on", decided_on)
                    .string("office", "ГУ МВД России по г. Москве");
            },
        );
        let patent_issued = days(second_entry, 30);
        let patent_expires = days(add_years(patent_issued, 1), -1);
        self.stay_document(
            "patent",
            "77№2500123456",
            patent_issued,
            Some(patent_expires),
            moscow,
            Some("монтажник"),
            Some(days(reference, 60)),
        );
        self.registration(
            days(second_entry, 85),
            patent_expires,
            moscow,
            &Host::Organisation(second_employer),
            "work",
            "extension",
            true,
        );
        self.employment(
            second_employer,
            "монтажник",
            moscow,
            days(patent_issued, 4),
            None,
            "labour",
            "mvd-migration",
        );
        let as_of = days(reference, -30);
        self.record("fns", "tax_debt", as_of, None, Some(as_of), None, |data| {
            data.money("balance", -125_000)
                .date("as_of", as_of)
                .string("kind", "patent")
                .string("tax_office", "ИФНС России № 15 по г. Москве");
        });
        self.common();
        self.drafts.sort_by_key(|draft| draft.on);
    }

    fn crossing_fixed(
        &mut self,
        direction: Direction,
        on: NaiveDate,
        checkpoint: &'static str,
        transport: &'static str,
        purpose: Option<&'static str>,
    ) {
        let at = on.and_time(NaiveTime::from_hms_opt(10, 40, 0).unwrap_or_default());
        let passport = self.person.passport_on(on).number.clone();
        self.record(
            "fsb-border",
            "border_crossing",
            on,
            Some(at),
            None,
            None,
            |data| {
                data.string(
                    "direction",
                    match direction {
                        Direction::Entry => "entry",
                        Direction::Exit => "exit",
                    },
                )
                .date_time("crossed_at", at)
                .string("checkpoint", checkpoint)
                .string("transport", transport)
                .optional_string("declared_purpose", purpose)
                .string("document_number", &passport);
            },
        );
    }

    fn medical_examination_fixed(&mut self, examined_on: NaiveDate) {
        let valid_until = add_years(examined_on, 1);
        let number = format!("МО-{}-0012345", examined_on.year());
        self.record(
            "minzdrav",
            "medical_examination",
            examined_on,
            None,
            Some(examined_on),
            Some(valid_until),
            |data| {
                data.string("certificate_number", &number)
                    .string("clinic", CLINICS[1])
                    .date("examined_on", examined_on)
                    .date("valid_until", valid_until)
                    .string("drug_test", "negative")
                    .string("infectious_diseases", "none_found")
                    .string("hiv", "negative")
                    .boolean("fit_for_work", true);
            },
        );
    }
}
