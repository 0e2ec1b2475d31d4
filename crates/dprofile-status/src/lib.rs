//! The status engine: from the facts of a profile that are in force, derive what a checker
//! needs to know — lawful stay (basis and end date), the 90-in-180-days count of a visa-free
//! stay, the right to work (basis, region, valid until), an active entry ban, a tax debt, a
//! registration that is about to expire — each explained by the rule (id and version), the
//! records it relied on and the dates it computed.
//!
//! A status is information for a human who decides; the engine decides nothing. It does no I/O
//! and keeps no clock: "today" is an argument, so the same facts and day give the same
//! statuses.

pub mod short_stay;

use chrono::{FixedOffset, NaiveDate};
use dprofile_domain::category::Category;
use dprofile_domain::payload::{
    CrossingDirection, EntryBan, MigrationRegistration, Payload, RegistrationKind, StayDocument,
    StayDocumentKind, TaxDebt, Visa, VisaPurpose,
};
use serde::Serialize;

use crate::short_stay::{ShortStayCount, ShortStayLimits, StayPeriod};

/// Where a fact comes from, as the profile cites it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RecordRef {
    pub record_id: i64,
    pub source: String,
    pub source_ref: String,
}

/// One fact in force, typed.
#[derive(Debug, Clone)]
pub struct StatusFact {
    pub cited: RecordRef,
    pub payload: Payload,
}

/// A rule of the engine, versioned: a change of what a rule computes is a new version, so an
/// explanation given yesterday can still be read against the rule that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    pub id: &'static str,
    pub version: u32,
}

/// The rules of this engine and their parameters. One value, versioned as a whole too.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub version: &'static str,
    pub short_stay: ShortStayLimits,
    /// A registration ending within this many days (today included) is "expiring soon".
    pub registration_warning_days: u32,
    /// Crossings are instants; the rule counts calendar days, read at this offset (Moscow time:
    /// the border service's day).
    pub crossing_day_offset: FixedOffset,
}

impl RuleSet {
    /// The first rule set.
    pub fn v1() -> RuleSet {
        RuleSet {
            version: "2026.1",
            short_stay: ShortStayLimits::NINETY_IN_180,
            registration_warning_days: 7,
            crossing_day_offset: FixedOffset::east_opt(3 * 3600).expect("+03:00 is a valid offset"),
        }
    }
}

pub const RULE_LAWFUL_STAY: RuleRef = RuleRef {
    id: "stay.lawful_basis",
    version: 1,
};
pub const RULE_VISA_FREE: RuleRef = RuleRef {
    id: "stay.visa_free_90_180",
    version: 1,
};
pub const RULE_RIGHT_TO_WORK: RuleRef = RuleRef {
    id: "work.right_to_work",
    version: 1,
};
pub const RULE_ENTRY_BAN: RuleRef = RuleRef {
    id: "ban.entry_ban_active",
    version: 1,
};
pub const RULE_TAX_DEBT: RuleRef = RuleRef {
    id: "tax.debt_outstanding",
    version: 1,
};
pub const RULE_REGISTRATION: RuleRef = RuleRef {
    id: "registration.expiring_soon",
    version: 1,
};

/// What a status is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    LawfulStay,
    VisaFreeStay,
    RightToWork,
    EntryBan,
    TaxDebt,
    RegistrationExpiring,
}

impl StatusKind {
    pub const ALL: [StatusKind; 6] = [
        StatusKind::LawfulStay,
        StatusKind::VisaFreeStay,
        StatusKind::RightToWork,
        StatusKind::EntryBan,
        StatusKind::TaxDebt,
        StatusKind::RegistrationExpiring,
    ];

    pub fn code(self) -> &'static str {
        match self {
            StatusKind::LawfulStay => "lawful_stay",
            StatusKind::VisaFreeStay => "visa_free_stay",
            StatusKind::RightToWork => "right_to_work",
            StatusKind::EntryBan => "entry_ban",
            StatusKind::TaxDebt => "tax_debt",
            StatusKind::RegistrationExpiring => "registration_expiring",
        }
    }

    /// The categories a status of this kind is derived from: a caller sees the status only when
    /// it may read all of them (and the engine is given only facts of categories it may read).
    pub fn categories(self) -> &'static [Category] {
        match self {
            StatusKind::LawfulStay => &[
                Category::StayDocument,
                Category::Visa,
                Category::MigrationRegistration,
                Category::BorderCrossing,
            ],
            StatusKind::VisaFreeStay => &[Category::BorderCrossing],
            StatusKind::RightToWork => &[Category::StayDocument, Category::Visa],
            StatusKind::EntryBan => &[Category::EntryBan],
            StatusKind::TaxDebt => &[Category::TaxDebt],
            StatusKind::RegistrationExpiring => &[Category::MigrationRegistration],
        }
    }
}

/// The answer of a status: yes, no, or no records to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Yes,
    No,
    /// The registry holds no record the rule could use: not a "no".
    Unknown,
}

/// A date the rule computed or read, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedDate {
    pub name: &'static str,
    pub date: NaiveDate,
}

/// A number the rule computed, named (days used, days remaining, amount owed in kopecks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedFigure {
    pub name: &'static str,
    pub value: i64,
}

/// One derived status and its explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub kind: StatusKind,
    pub answer: Answer,
    pub rule: RuleRef,
    /// What the answer rests on (`residence_permit`, `patent`, `visa_free`, …).
    pub basis: Option<&'static str>,
    /// The region a permission is limited to.
    pub region: Option<String>,
    /// The last day the answer holds, when it ends.
    pub valid_until: Option<NaiveDate>,
    /// Limits a checker must know (a patent's region and profession, unpaid months).
    pub conditions: Vec<String>,
    pub dates: Vec<NamedDate>,
    pub figures: Vec<NamedFigure>,
    /// The records the answer relied on, as the profile cites them.
    pub relied_on: Vec<RecordRef>,
    /// The reasoning in one or two sentences, for the human reading it.
    pub explanation: String,
}

/// Every status of a profile on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub today: NaiveDate,
    pub rule_set: &'static str,
    pub statuses: Vec<Status>,
}

impl StatusReport {
    pub fn get(&self, kind: StatusKind) -> Option<&Status> {
        self.statuses.iter().find(|status| status.kind == kind)
    }
}

/// Derives every status from `facts` on `today`.
pub fn evaluate(facts: &[StatusFact], today: NaiveDate, rules: &RuleSet) -> StatusReport {
    let visa_free = visa_free_stay(facts, today, rules);
    let statuses = vec![
        lawful_stay(facts, today, visa_free.as_ref()),
        visa_free.map_or_else(unknown_visa_free, |(status, _)| status),
        right_to_work(facts, today),
        entry_ban(facts, today),
        tax_debt(facts),
        registration(facts, today, rules),
    ];
    StatusReport {
        today,
        rule_set: rules.version,
        statuses,
    }
}

fn unknown_visa_free() -> Status {
    Status::unknown(
        StatusKind::VisaFreeStay,
        RULE_VISA_FREE,
        "no border crossings are recorded: the 90/180 count cannot be made",
    )
}

impl Status {
    fn unknown(kind: StatusKind, rule: RuleRef, explanation: &str) -> Status {
        Status {
            kind,
            answer: Answer::Unknown,
            rule,
            basis: None,
            region: None,
            valid_until: None,
            conditions: Vec::new(),
            dates: Vec::new(),
            figures: Vec::new(),
            relied_on: Vec::new(),
            explanation: explanation.to_owned(),
        }
    }

    fn new(kind: StatusKind, rule: RuleRef, answer: Answer) -> Status {
        let mut status = Status::unknown(kind, rule, "");
        status.answer = answer;
        status
    }

    fn date(mut self, name: &'static str, date: NaiveDate) -> Status {
        self.dates.push(NamedDate { name, date });
        self
    }

    fn figure(mut self, name: &'static str, value: i64) -> Status {
        self.figures.push(NamedFigure { name, value });
        self
    }
}

fn facts_of<'a, T: 'a>(
    facts: &'a [StatusFact],
    pick: impl Fn(&'a Payload) -> Option<&'a T> + 'a,
) -> impl Iterator<Item = (&'a RecordRef, &'a T)> + 'a {
    facts
        .iter()
        .filter_map(move |fact| pick(&fact.payload).map(|typed| (&fact.cited, typed)))
}

fn stay_documents(facts: &[StatusFact]) -> impl Iterator<Item = (&RecordRef, &StayDocument)> {
    facts_of(facts, |payload| match payload {
        Payload::StayDocument(document) => Some(document),
        _ => None,
    })
}

fn visas(facts: &[StatusFact]) -> impl Iterator<Item = (&RecordRef, &Visa)> {
    facts_of(facts, |payload| match payload {
        Payload::Visa(visa) => Some(visa),
        _ => None,
    })
}

fn registrations(
    facts: &[StatusFact],
) -> impl Iterator<Item = (&RecordRef, &MigrationRegistration)> {
    facts_of(facts, |payload| match payload {
        Payload::MigrationRegistration(registration) => Some(registration),
        _ => None,
    })
}

/// A stay document valid on `today`, with the last day it covers (a patent: also the paid
/// period; a residence permit may have no end).
struct ValidDocument<'a> {
    cited: &'a RecordRef,
    document: &'a StayDocument,
    until: Option<NaiveDate>,
}

fn valid_documents(facts: &[StatusFact], today: NaiveDate) -> Vec<ValidDocument<'_>> {
    let mut valid: Vec<ValidDocument<'_>> = stay_documents(facts)
        .filter(|(_, document)| document.issued_on.0 <= today)
        .filter(|(_, document)| document.expires_on.is_none_or(|end| today <= end.0))
        .map(|(cited, document)| ValidDocument {
            cited,
            document,
            until: document.expires_on.map(|end| end.0),
        })
        .collect();
    // Strongest basis first, then the longest lasting, then the record id: deterministic.
    valid.sort_by(|left, right| {
        document_rank(left.document.kind)
            .cmp(&document_rank(right.document.kind))
            .then_with(|| {
                right
                    .until
                    .unwrap_or(NaiveDate::MAX)
                    .cmp(&left.until.unwrap_or(NaiveDate::MAX))
            })
            .then_with(|| left.cited.cmp(right.cited))
    });
    valid
}

fn document_rank(kind: StayDocumentKind) -> u8 {
    match kind {
        StayDocumentKind::ResidencePermit => 0,
        StayDocumentKind::TemporaryResidencePermit => 1,
        StayDocumentKind::Patent => 2,
        StayDocumentKind::Visa => 3,
    }
}

fn document_basis(kind: StayDocumentKind) -> &'static str {
    match kind {
        StayDocumentKind::ResidencePermit => "residence_permit",
        StayDocumentKind::TemporaryResidencePermit => "temporary_residence_permit",
        StayDocumentKind::Patent => "patent",
        StayDocumentKind::Visa => "visa",
    }
}

/// A patent stays in force only while its advance tax is paid: its end is the earlier of its
/// expiry and the day the payments cover.
fn patent_until(document: &StayDocument) -> Option<NaiveDate> {
    match (document.expires_on, document.patent_paid_until) {
        (Some(end), Some(paid)) => Some(end.0.min(paid.0)),
        (end, paid) => end.or(paid).map(|date| date.0),
    }
}

fn lawful_stay(
    facts: &[StatusFact],
    today: NaiveDate,
    visa_free: Option<&(Status, ShortStayCount)>,
) -> Status {
    let kind = StatusKind::LawfulStay;
    for valid in valid_documents(facts, today) {
        let document = valid.document;
        let mut until = valid.until;
        let mut conditions = Vec::new();
        if document.kind == StayDocumentKind::Patent {
            until = patent_until(document);
            if until.is_some_and(|until| until < today) {
                // Unpaid patent: not a basis today; a weaker one may still be.
                continue;
            }
            if let Some(paid) = document.patent_paid_until {
                conditions.push(format!("patent paid until {paid}"));
            }
        }
        let basis = document_basis(document.kind);
        let mut status = Status::new(kind, RULE_LAWFUL_STAY, Answer::Yes)
            .date("issued_on", document.issued_on.0);
        if let Some(until) = until {
            status = status.date("valid_until", until);
        }
        status.basis = Some(basis);
        status.valid_until = until;
        status.conditions = conditions;
        status.relied_on = vec![valid.cited.clone()];
        status.explanation = match until {
            Some(until) => format!(
                "{} {} is valid from {} to {until}: the stay is lawful until {until}",
                basis.replace('_', " "),
                document.number,
                document.issued_on
            ),
            None => format!(
                "{} {} issued on {} has no end date: the stay is lawful",
                basis.replace('_', " "),
                document.number,
                document.issued_on
            ),
        };
        return status;
    }
    let mut valid_visas: Vec<(&RecordRef, &Visa)> = visas(facts)
        .filter(|(_, visa)| visa.valid_from.0 <= today && today <= visa.valid_to.0)
        .collect();
    valid_visas.sort_by_key(|(_, visa)| std::cmp::Reverse(visa.valid_to));
    if let Some((cited, visa)) = valid_visas.first() {
        let mut status = Status::new(kind, RULE_LAWFUL_STAY, Answer::Yes)
            .date("valid_from", visa.valid_from.0)
            .date("valid_until", visa.valid_to.0);
        status.basis = Some("visa");
        status.valid_until = Some(visa.valid_to.0);
        status.relied_on = vec![(*cited).clone()];
        status.explanation = format!(
            "visa {} is valid from {} to {}: the stay is lawful until {}",
            visa.visa_number, visa.valid_from, visa.valid_to, visa.valid_to
        );
        return status;
    }
    if let Some((visa_free_status, counted)) = visa_free {
        let mut status = Status::new(kind, RULE_LAWFUL_STAY, Answer::No);
        status.basis = Some("visa_free");
        status.relied_on = visa_free_status.relied_on.clone();
        if counted.present && counted.overstay_days == 0 {
            status.answer = Answer::Yes;
            status.valid_until = counted.latest_exit;
            if let Some(latest_exit) = counted.latest_exit {
                status = status.date("valid_until", latest_exit);
            }
            status.explanation = format!(
                "no stay document or visa is valid; the person is in the country visa-free with {} of {} days used in the 180 days to {today}: lawful until {}",
                counted.days_used,
                counted.days_used + counted.days_remaining,
                counted
                    .latest_exit
                    .map_or_else(|| "today".to_owned(), |day| day.to_string())
            );
        } else if counted.present {
            status.explanation = format!(
                "no stay document or visa is valid, and the visa-free stay exceeds the limit by {} days",
                counted.overstay_days
            );
        } else {
            status.answer = Answer::Unknown;
            status.explanation = "no stay document or visa is valid, and the border crossings show the person out of the country".to_owned();
        }
        return status;
    }
    // A current migration registration is the weakest evidence of a lawful stay: it shows a
    // notified place of stay, not a permission.
    if let Some((cited, registration)) = current_registration(facts, today) {
        let mut status = Status::new(kind, RULE_LAWFUL_STAY, Answer::Yes)
            .date("registered_on", registration.registered_on.0)
            .date("valid_until", registration.expires_on.0);
        status.basis = Some("migration_registration");
        status.valid_until = Some(registration.expires_on.0);
        status.relied_on = vec![cited.clone()];
        status.explanation = format!(
            "no stay document, visa or border crossing is recorded; the migration registration of {} runs to {}",
            registration.registered_on, registration.expires_on
        );
        return status;
    }
    let mut status = Status::unknown(
        kind,
        RULE_LAWFUL_STAY,
        "no stay document, visa, border crossing or registration valid today is recorded",
    );
    // Expired documents are what a human wants to see next.
    status.relied_on = stay_documents(facts)
        .map(|(cited, _)| cited.clone())
        .chain(visas(facts).map(|(cited, _)| cited.clone()))
        .collect();
    if !status.relied_on.is_empty() {
        status.answer = Answer::No;
        status.explanation =
            "every stay document and visa recorded has expired (or is not yet valid), and no border crossing is recorded".to_owned();
    }
    status
}

/// Turns crossings into stays: entry followed by exit. An exit with no entry before it counts
/// its own day only; an entry followed by another entry counts its own day only (the exit in
/// between is missing). Both are named in the notes: the border service should be asked.
pub fn stays_from_crossings(
    crossings: &mut [(chrono::DateTime<chrono::Utc>, CrossingDirection, RecordRef)],
    offset: FixedOffset,
) -> (Vec<StayPeriod>, Vec<String>) {
    crossings.sort_by(|left, right| left.0.cmp(&right.0).then_with(|| left.2.cmp(&right.2)));
    let day = |instant: &chrono::DateTime<chrono::Utc>| instant.with_timezone(&offset).date_naive();
    let mut stays = Vec::new();
    let mut notes = Vec::new();
    let mut open: Option<NaiveDate> = None;
    for (instant, direction, _) in crossings.iter() {
        let crossed_on = day(instant);
        match (direction, open) {
            (CrossingDirection::Entry, None) => open = Some(crossed_on),
            (CrossingDirection::Entry, Some(entered)) => {
                notes.push(format!(
                    "entry on {entered} is followed by another entry on {crossed_on} with no exit between: only {entered} is counted for it"
                ));
                stays.push(StayPeriod::closed(entered, entered));
                open = Some(crossed_on);
            }
            (CrossingDirection::Exit, Some(entered)) => {
                stays.push(StayPeriod::closed(entered, crossed_on));
                open = None;
            }
            (CrossingDirection::Exit, None) => {
                notes.push(format!(
                    "exit on {crossed_on} has no recorded entry before it: only {crossed_on} is counted"
                ));
                stays.push(StayPeriod::closed(crossed_on, crossed_on));
            }
        }
    }
    if let Some(entered) = open {
        stays.push(StayPeriod::open(entered));
    }
    (stays, notes)
}

fn visa_free_stay(
    facts: &[StatusFact],
    today: NaiveDate,
    rules: &RuleSet,
) -> Option<(Status, ShortStayCount)> {
    let mut crossings: Vec<_> = facts
        .iter()
        .filter_map(|fact| match &fact.payload {
            Payload::BorderCrossing(crossing) => Some((
                crossing.crossed_at.0,
                crossing.direction,
                fact.cited.clone(),
            )),
            _ => None,
        })
        .filter(|(instant, _, _)| {
            instant
                .with_timezone(&rules.crossing_day_offset)
                .date_naive()
                <= today
        })
        .collect();
    if crossings.is_empty() {
        return None;
    }
    let (stays, mut notes) = stays_from_crossings(&mut crossings, rules.crossing_day_offset);
    // Days under a stay document or a visa are not visa-free days.
    let mut excluded: Vec<(NaiveDate, NaiveDate, &RecordRef)> = stay_documents(facts)
        .map(|(cited, document)| {
            let until = match document.kind {
                StayDocumentKind::Patent => patent_until(document),
                _ => document.expires_on.map(|end| end.0),
            };
            (document.issued_on.0, until.unwrap_or(NaiveDate::MAX), cited)
        })
        .chain(visas(facts).map(|(cited, visa)| (visa.valid_from.0, visa.valid_to.0, cited)))
        .filter(|(from, to, _)| from <= to)
        .collect();
    excluded.sort();
    let ranges: Vec<(NaiveDate, NaiveDate)> =
        excluded.iter().map(|(from, to, _)| (*from, *to)).collect();
    let counted = short_stay::count_excluding(&stays, &ranges, today, rules.short_stay);
    let answer = if counted.overstay_days == 0 {
        Answer::Yes
    } else {
        Answer::No
    };
    let mut status = Status::new(StatusKind::VisaFreeStay, RULE_VISA_FREE, answer)
        .date("window_start", counted.window_start)
        .date("window_end", today)
        .figure("days_used", i64::from(counted.days_used))
        .figure("days_remaining", i64::from(counted.days_remaining));
    if counted.overstay_days > 0 {
        status = status.figure("overstay_days", i64::from(counted.overstay_days));
    }
    if let Some(latest_exit) = counted.latest_exit {
        status = status.date("latest_exit", latest_exit);
        status.valid_until = Some(latest_exit);
    }
    if let Some(days) = counted.days_allowed_if_entering_next_day {
        status = status.figure("days_allowed_if_entering_tomorrow", i64::from(days));
    }
    status.basis = Some("visa_free");
    // The crossings inside the window (and an open stay's entry) are what the count rests on.
    status.relied_on = crossings
        .iter()
        .filter(|(instant, _, _)| {
            instant
                .with_timezone(&rules.crossing_day_offset)
                .date_naive()
                >= counted.window_start
        })
        .map(|(_, _, cited)| cited.clone())
        .collect();
    if counted.present
        && let Some(entry) = stays
            .iter()
            .find(|stay| stay.exit.is_none())
            .map(|stay| stay.entry)
        && entry < counted.window_start
    {
        status.relied_on.extend(
            crossings
                .iter()
                .filter(|(instant, _, _)| {
                    instant
                        .with_timezone(&rules.crossing_day_offset)
                        .date_naive()
                        == entry
                })
                .map(|(_, _, cited)| cited.clone()),
        );
    }
    let window_start = counted.window_start;
    for (from, to, cited) in &excluded {
        if *to >= window_start {
            notes.push(if *to == NaiveDate::MAX {
                format!("days from {from} are under a stay document and are not counted")
            } else {
                format!("days {from}..{to} are under a stay document or visa and are not counted")
            });
            status.relied_on.push((*cited).clone());
        }
    }
    status.relied_on.sort();
    status.relied_on.dedup();
    status.conditions = notes;
    let limit = rules.short_stay.max_days;
    status.explanation = match (counted.present, counted.overstay_days, counted.latest_exit) {
        (true, 0, Some(latest_exit)) => format!(
            "in the country: {} of {limit} days used in the 180 days {}..{today}, {} left; staying without a break, the last compliant day is {latest_exit}",
            counted.days_used, counted.window_start, counted.days_remaining
        ),
        (true, overstay, _) => format!(
            "in the country: {} days used in the 180 days {}..{today}, {overstay} over the limit of {limit}",
            counted.days_used, counted.window_start
        ),
        (false, 0, _) => format!(
            "out of the country: {} of {limit} days used in the 180 days {}..{today}, {} left; a stay entered tomorrow may last {} days",
            counted.days_used,
            counted.window_start,
            counted.days_remaining,
            counted.days_allowed_if_entering_next_day.unwrap_or(0)
        ),
        (false, overstay, _) => format!(
            "out of the country: {} days used in the 180 days {}..{today}, {overstay} over the limit of {limit}",
            counted.days_used, counted.window_start
        ),
    };
    Some((status, counted))
}

fn right_to_work(facts: &[StatusFact], today: NaiveDate) -> Status {
    let kind = StatusKind::RightToWork;
    let mut lapsed_patent: Option<(&RecordRef, &StayDocument)> = None;
    for valid in valid_documents(facts, today) {
        let document = valid.document;
        let (allowed, region_bound) = match document.kind {
            StayDocumentKind::ResidencePermit => (document.work_allowed != Some(false), false),
            StayDocumentKind::TemporaryResidencePermit => {
                (document.work_allowed != Some(false), true)
            }
            StayDocumentKind::Patent => (document.work_allowed != Some(false), true),
            StayDocumentKind::Visa => (document.work_allowed == Some(true), true),
        };
        if !allowed {
            continue;
        }
        let mut until = valid.until;
        let mut conditions = Vec::new();
        if document.kind == StayDocumentKind::Patent {
            until = patent_until(document);
            if until.is_some_and(|until| until < today) {
                lapsed_patent = Some((valid.cited, document));
                continue;
            }
            if let Some(paid) = document.patent_paid_until {
                conditions.push(format!(
                    "the patent is paid until {paid}: it lapses unless paid again"
                ));
            }
            if let Some(profession) = &document.profession {
                conditions.push(format!("profession: {profession}"));
            }
        }
        let region = if region_bound {
            document
                .region
                .as_ref()
                .map(|region| region.as_str().to_owned())
        } else {
            None
        };
        if let Some(region) = &region {
            conditions.insert(0, format!("only in region {region}"));
        }
        let basis = document_basis(document.kind);
        let mut status = Status::new(kind, RULE_RIGHT_TO_WORK, Answer::Yes)
            .date("issued_on", document.issued_on.0);
        if let Some(until) = until {
            status = status.date("valid_until", until);
        }
        status.basis = Some(basis);
        status.region = region;
        status.valid_until = until;
        status.conditions = conditions;
        status.relied_on = vec![valid.cited.clone()];
        status.explanation = format!(
            "{} {} allows work{}{}",
            basis.replace('_', " "),
            document.number,
            status
                .region
                .as_ref()
                .map_or_else(String::new, |region| format!(" in region {region}")),
            until.map_or_else(
                || ", with no end date".to_owned(),
                |until| format!(" until {until}")
            )
        );
        return status;
    }
    let work_visa = visas(facts)
        .filter(|(_, visa)| visa.purpose == VisaPurpose::Work)
        .filter(|(_, visa)| visa.valid_from.0 <= today && today <= visa.valid_to.0)
        .max_by_key(|(_, visa)| visa.valid_to);
    if let Some((cited, visa)) = work_visa {
        let mut status = Status::new(kind, RULE_RIGHT_TO_WORK, Answer::Yes)
            .date("valid_from", visa.valid_from.0)
            .date("valid_until", visa.valid_to.0);
        status.basis = Some("work_visa");
        status.valid_until = Some(visa.valid_to.0);
        status.conditions = vec!["only for the employer that invited the person".to_owned()];
        status.relied_on = vec![cited.clone()];
        status.explanation = format!(
            "work visa {} is valid until {}: work for the inviting employer is allowed",
            visa.visa_number, visa.valid_to
        );
        return status;
    }
    if let Some((cited, document)) = lapsed_patent {
        let mut status = Status::new(kind, RULE_RIGHT_TO_WORK, Answer::No);
        status.basis = Some("patent");
        status.relied_on = vec![cited.clone()];
        if let Some(paid) = document.patent_paid_until {
            status = status.date("patent_paid_until", paid.0);
        }
        status.explanation = format!(
            "patent {} is unpaid since {}: it does not allow work until the advance tax is paid",
            document.number,
            document
                .patent_paid_until
                .map_or_else(|| "its issue".to_owned(), |paid| paid.to_string())
        );
        return status;
    }
    let recorded: Vec<RecordRef> = stay_documents(facts)
        .map(|(cited, _)| cited.clone())
        .chain(visas(facts).map(|(cited, _)| cited.clone()))
        .collect();
    if recorded.is_empty() {
        return Status::unknown(
            kind,
            RULE_RIGHT_TO_WORK,
            "no stay document or visa is recorded: the right to work cannot be shown",
        );
    }
    let mut status = Status::new(kind, RULE_RIGHT_TO_WORK, Answer::No);
    status.relied_on = recorded;
    status.explanation = "no permit, patent or work visa valid today allows work".to_owned();
    status
}

fn entry_ban(facts: &[StatusFact], today: NaiveDate) -> Status {
    let kind = StatusKind::EntryBan;
    let bans: Vec<(&RecordRef, &EntryBan)> = facts_of(facts, |payload| match payload {
        Payload::EntryBan(ban) => Some(ban),
        _ => None,
    })
    .collect();
    let active = bans
        .iter()
        .filter(|(_, ban)| ban.banned_from.0 <= today)
        .filter(|(_, ban)| ban.banned_until.is_none_or(|until| today <= until.0))
        .max_by_key(|(_, ban)| ban.banned_until.map_or(NaiveDate::MAX, |until| until.0));
    if let Some((cited, ban)) = active {
        let mut status = Status::new(kind, RULE_ENTRY_BAN, Answer::Yes)
            .date("decided_on", ban.decided_on.0)
            .date("banned_from", ban.banned_from.0);
        if let Some(until) = ban.banned_until {
            status = status.date("banned_until", until.0);
        }
        status.valid_until = ban.banned_until.map(|until| until.0);
        status.relied_on = vec![(*cited).clone()];
        status.explanation = format!(
            "entry ban by {} ({}) in force from {}{}",
            ban.authority,
            ban.basis,
            ban.banned_from,
            ban.banned_until.map_or_else(
                || " with no end date".to_owned(),
                |until| format!(" to {until}")
            )
        );
        return status;
    }
    let mut status = Status::new(kind, RULE_ENTRY_BAN, Answer::No);
    status.relied_on = bans.iter().map(|(cited, _)| (*cited).clone()).collect();
    status.explanation = if bans.is_empty() {
        "no entry ban is recorded".to_owned()
    } else {
        "every entry ban recorded has ended or has not started".to_owned()
    };
    status
}

fn tax_debt(facts: &[StatusFact]) -> Status {
    let kind = StatusKind::TaxDebt;
    let balances: Vec<(&RecordRef, &TaxDebt)> = facts_of(facts, |payload| match payload {
        Payload::TaxDebt(debt) => Some(debt),
        _ => None,
    })
    .collect();
    if balances.is_empty() {
        return Status::unknown(
            kind,
            RULE_TAX_DEBT,
            "no balance from the tax service is recorded",
        );
    }
    // One balance per kind of tax, the latest; the debt is the sum of the negative ones.
    let mut latest: std::collections::BTreeMap<String, (&RecordRef, &TaxDebt)> =
        std::collections::BTreeMap::new();
    for (cited, debt) in balances {
        let key = format!("{:?}", debt.kind);
        let slot = latest.entry(key).or_insert((cited, debt));
        if (debt.as_of, cited) > (slot.1.as_of, slot.0) {
            *slot = (cited, debt);
        }
    }
    let owed: i64 = latest
        .values()
        .map(|(_, debt)| debt.balance.minor_units)
        .filter(|units| *units < 0)
        .map(|units| -units)
        .sum();
    let as_of = latest.values().map(|(_, debt)| debt.as_of.0).max();
    let mut status = Status::new(
        kind,
        RULE_TAX_DEBT,
        if owed > 0 { Answer::Yes } else { Answer::No },
    )
    .figure("owed_kopecks", owed);
    if let Some(as_of) = as_of {
        status = status.date("as_of", as_of);
    }
    status.relied_on = latest.values().map(|(cited, _)| (*cited).clone()).collect();
    status.relied_on.sort();
    status.explanation = if owed > 0 {
        format!(
            "the tax service's latest balances show {}.{:02} roubles owed",
            owed / 100,
            owed % 100
        )
    } else {
        "the tax service's latest balances show nothing owed".to_owned()
    };
    status
}

fn current_registration(
    facts: &[StatusFact],
    today: NaiveDate,
) -> Option<(&RecordRef, &MigrationRegistration)> {
    registrations(facts)
        .filter(|(_, registration)| registration.kind != RegistrationKind::Departure)
        .filter(|(_, registration)| {
            registration.registered_on.0 <= today && today <= registration.expires_on.0
        })
        .max_by_key(|(cited, registration)| (registration.expires_on, *cited))
}

fn registration(facts: &[StatusFact], today: NaiveDate, rules: &RuleSet) -> Status {
    let kind = StatusKind::RegistrationExpiring;
    if let Some((cited, registration)) = current_registration(facts, today) {
        let days_left = (registration.expires_on.0 - today).num_days();
        let soon = days_left < i64::from(rules.registration_warning_days);
        let mut status = Status::new(
            kind,
            RULE_REGISTRATION,
            if soon { Answer::Yes } else { Answer::No },
        )
        .date("registered_on", registration.registered_on.0)
        .date("expires_on", registration.expires_on.0)
        .figure("days_left", days_left);
        status.valid_until = Some(registration.expires_on.0);
        status.relied_on = vec![cited.clone()];
        status.explanation = if soon {
            format!(
                "the registration at the place of stay ends on {} ({days_left} days after today), within the warning period of {} days: it needs extending",
                registration.expires_on, rules.registration_warning_days
            )
        } else {
            format!(
                "the registration at the place of stay runs to {} ({days_left} days after today)",
                registration.expires_on
            )
        };
        return status;
    }
    let last =
        registrations(facts).max_by_key(|(cited, registration)| (registration.expires_on, *cited));
    match last {
        Some((cited, registration)) => {
            let mut status = Status::new(kind, RULE_REGISTRATION, Answer::Yes)
                .date("expires_on", registration.expires_on.0);
            status.relied_on = vec![cited.clone()];
            status.explanation = if registration.kind == RegistrationKind::Departure {
                format!(
                    "the last registration notice ({}) took the person off the record: no registration is current",
                    registration.registered_on
                )
            } else {
                format!(
                    "the last registration ended on {}: no registration is current",
                    registration.expires_on
                )
            };
            status
        }
        None => Status::unknown(
            kind,
            RULE_REGISTRATION,
            "no registration at a place of stay is recorded",
        ),
    }
}
