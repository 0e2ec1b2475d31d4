//! The retention schedule: for each record category, how long its records are kept and from
//! which moment (the anchor), read from a TOML file and checked before use. Pure: no I/O, no
//! clock; [`Schedule::expiry`] turns an anchor into the instant a record may be erased.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use dprofile_domain::Category;
use serde::{Deserialize, Serialize};

/// The schedule shipped with dprofile (`default-retention.toml`), with its legal anchors.
pub const DEFAULT_SCHEDULE: &str = include_str!("../../default-retention.toml");

/// Longest period a rule may set: past it, the number is a typo, not a policy.
const MAX_YEARS: u32 = 100;

/// The moment a category's keeping period runs from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The end of the last day of the record's validity (`valid_to`), or when the record was
    /// received when it has no end.
    ValidTo,
    /// When the record was received.
    Received,
    /// Border crossings: the person's last exit (EES art. 34(1)), or, for a person with no exit
    /// after the authorised stay ended, the end of that stay (art. 34(3)).
    LastExit,
}

impl Anchor {
    pub fn code(self) -> &'static str {
        match self {
            Anchor::ValidTo => "valid_to",
            Anchor::Received => "received",
            Anchor::LastExit => "last_exit",
        }
    }
}

/// How long one category is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub anchor: Anchor,
    pub years: u32,
    /// `last_exit` only: the period when the person overstayed (no exit after the stay ended);
    /// `years` when not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overstay_years: Option<u32>,
}

/// What says how long a person may stay, for the overstay rule of border crossings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StayRule {
    /// Categories whose `valid_to` ends an authorised stay.
    pub authorised_by: BTreeSet<Category>,
    /// The stay allowed after an entry when no record of those categories reaches past it.
    pub visa_free_days: u32,
}

/// A checked retention schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schedule {
    pub categories: BTreeMap<Category, Rule>,
    /// Keys none of whose versions names a category.
    pub uncategorised: Rule,
    pub stay: StayRule,
    /// How many days after a person's data was erased entirely the details of the access-log
    /// entries about them are erased too.
    pub log_details_after_days: u32,
}

/// A schedule file that cannot be used: which key, which rule, what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("retention schedule `{key}`: {message} ({rule})")]
pub struct ScheduleError {
    /// The key in the file, dotted (`categories.visa.years`); `(file)` for the whole file.
    pub key: String,
    /// Stable code of the rule that failed.
    pub rule: &'static str,
    pub message: String,
}

fn error(key: impl Into<String>, rule: &'static str, message: impl Into<String>) -> ScheduleError {
    ScheduleError {
        key: key.into(),
        rule,
        message: message.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    version: u32,
    access_log: RawAccessLog,
    stay: RawStay,
    uncategorised: RawRule,
    categories: BTreeMap<String, RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccessLog {
    details_after_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStay {
    authorised_by: Vec<String>,
    visa_free_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    anchor: Anchor,
    years: u32,
    #[serde(default)]
    overstay_years: Option<u32>,
}

impl Schedule {
    /// The shipped default schedule.
    pub fn default_schedule() -> Schedule {
        // The shipped file is checked by this crate's tests; failing here is a build defect.
        Schedule::from_toml(DEFAULT_SCHEDULE)
            .unwrap_or_else(|error| panic!("default retention schedule: {error}"))
    }

    /// Reads and checks a schedule file.
    pub fn from_toml(text: &str) -> Result<Schedule, ScheduleError> {
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|parse_error| error("(file)", "retention.syntax", parse_error.message()))?;
        let raw: RawSchedule =
            serde_path_to_error::deserialize(deserializer).map_err(|path_error| {
                let key = path_error.path().to_string();
                let message = path_error.inner().message().to_owned();
                error(
                    if key == "." { "(file)".to_owned() } else { key },
                    "retention.shape",
                    format!("{message}; see default-retention.toml for the expected keys"),
                )
            })?;
        if raw.version != 1 {
            return Err(error(
                "version",
                "retention.version",
                format!(
                    "version {} is not supported; write `version = 1`",
                    raw.version
                ),
            ));
        }
        let mut categories = BTreeMap::new();
        for (code, raw_rule) in raw.categories {
            let key = format!("categories.{code}");
            let category = Category::from_code(&code).ok_or_else(|| {
                error(
                    &key,
                    "retention.unknown_category",
                    format!("`{code}` is not a record category; use the ingest `category` codes"),
                )
            })?;
            let rule = Self::rule(&key, raw_rule)?;
            if rule.anchor == Anchor::LastExit && category != Category::BorderCrossing {
                return Err(error(
                    format!("{key}.anchor"),
                    "retention.anchor_not_applicable",
                    "`last_exit` reads border crossings and applies to `border_crossing` only; \
                     use `valid_to` or `received`",
                ));
            }
            categories.insert(category, rule);
        }
        // A category left out would be kept for ever without anyone having decided so.
        if let Some(missing) = Category::ALL
            .iter()
            .find(|category| !categories.contains_key(category))
        {
            return Err(error(
                format!("categories.{missing}"),
                "retention.missing_category",
                format!(
                    "every category needs a period: add [categories.{missing}] with `anchor` and `years`"
                ),
            ));
        }
        let uncategorised = Self::rule("uncategorised", raw.uncategorised)?;
        if uncategorised.anchor == Anchor::LastExit {
            return Err(error(
                "uncategorised.anchor",
                "retention.anchor_not_applicable",
                "a key without a category has no border crossings: use `received` or `valid_to`",
            ));
        }
        let mut authorised_by = BTreeSet::new();
        for (index, code) in raw.stay.authorised_by.iter().enumerate() {
            let category = Category::from_code(code).ok_or_else(|| {
                error(
                    format!("stay.authorised_by[{index}]"),
                    "retention.unknown_category",
                    format!("`{code}` is not a record category; use the ingest `category` codes"),
                )
            })?;
            authorised_by.insert(category);
        }
        if !(1..=365).contains(&raw.stay.visa_free_days) {
            return Err(error(
                "stay.visa_free_days",
                "retention.days_range",
                format!(
                    "{} days is out of range: write the visa-free stay in days, 1 to 365",
                    raw.stay.visa_free_days
                ),
            ));
        }
        if !(1..=3650).contains(&raw.access_log.details_after_days) {
            return Err(error(
                "access_log.details_after_days",
                "retention.days_range",
                format!(
                    "{} days is out of range: write 1 to 3650 days (the EES keeps logs one year: 365)",
                    raw.access_log.details_after_days
                ),
            ));
        }
        Ok(Schedule {
            categories,
            uncategorised,
            stay: StayRule {
                authorised_by,
                visa_free_days: raw.stay.visa_free_days,
            },
            log_details_after_days: raw.access_log.details_after_days,
        })
    }

    fn rule(key: &str, raw: RawRule) -> Result<Rule, ScheduleError> {
        let check_years = |field: &str, years: u32| {
            if (1..=MAX_YEARS).contains(&years) {
                Ok(years)
            } else {
                Err(error(
                    format!("{key}.{field}"),
                    "retention.years_range",
                    format!(
                        "{years} years is out of range: write a whole number of years, 1 to {MAX_YEARS}"
                    ),
                ))
            }
        };
        let years = check_years("years", raw.years)?;
        let overstay_years = match (raw.anchor, raw.overstay_years) {
            (Anchor::LastExit, Some(overstay)) => {
                let overstay = check_years("overstay_years", overstay)?;
                if overstay < years {
                    return Err(error(
                        format!("{key}.overstay_years"),
                        "retention.overstay_shorter",
                        format!(
                            "overstayers are kept longer, not shorter: make overstay_years ({overstay}) at least years ({years})"
                        ),
                    ));
                }
                Some(overstay)
            }
            (Anchor::LastExit, None) => None,
            (_, Some(_)) => {
                return Err(error(
                    format!("{key}.overstay_years"),
                    "retention.anchor_not_applicable",
                    "overstay_years applies to the `last_exit` anchor only: remove it or set anchor = \"last_exit\"",
                ));
            }
            (_, None) => None,
        };
        Ok(Rule {
            anchor: raw.anchor,
            years,
            overstay_years,
        })
    }

    /// How long after a person's data was erased the access log's details about them go.
    pub fn log_details_after(&self) -> Duration {
        Duration::days(i64::from(self.log_details_after_days))
    }

    /// The rule of a category (`None`: a key without one).
    pub fn rule_of(&self, category: Option<Category>) -> Rule {
        category
            .and_then(|category| self.categories.get(&category).copied())
            .unwrap_or(self.uncategorised)
    }
}

/// The instant `years` calendar years after `anchor` (29 February falls back to the 28th).
pub fn years_after(anchor: DateTime<Utc>, years: u32) -> DateTime<Utc> {
    anchor
        .checked_add_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The end of a day that is the last one of something (a validity, a stay): the next midnight.
pub fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    date.succ_opt()
        .unwrap_or(NaiveDate::MAX)
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_error(edit: impl Fn(&str) -> String, key: &str, rule: &str) {
        let text = edit(DEFAULT_SCHEDULE);
        assert_ne!(text, DEFAULT_SCHEDULE, "the edit did not apply");
        let error = Schedule::from_toml(&text).expect_err("the edited schedule must be refused");
        assert_eq!((error.key.as_str(), error.rule), (key, rule), "{error}");
        // Every message says what to do.
        assert!(error.to_string().contains(key), "{error}");
    }

    #[test]
    fn the_default_schedule_covers_every_category() {
        let schedule = Schedule::default_schedule();
        assert_eq!(schedule.categories.len(), Category::ALL.len());
        let border = schedule.rule_of(Some(Category::BorderCrossing));
        assert_eq!(
            (border.anchor, border.years, border.overstay_years),
            (Anchor::LastExit, 3, Some(5))
        );
        assert_eq!(schedule.log_details_after(), Duration::days(365));
        assert_eq!(schedule.rule_of(None).anchor, Anchor::Received);
    }

    #[test]
    fn bad_schedules_name_the_key_and_the_rule() {
        check_error(
            |text| text.replace("version = 1", "version = 2"),
            "version",
            "retention.version",
        );
        check_error(
            |text| text.replace("[categories.visa]\n", "[categories.visas]\n"),
            "categories.visas",
            "retention.unknown_category",
        );
        check_error(
            |text| {
                text.replace(
                    "[categories.population_register]\nanchor = \"valid_to\"\nyears = 10\n",
                    "",
                )
            },
            "categories.population_register",
            "retention.missing_category",
        );
        check_error(
            |text| {
                text.replace(
                    "[categories.tax_debt]\nanchor = \"valid_to\"\nyears = 5",
                    "[categories.tax_debt]\nanchor = \"valid_to\"\nyears = 0",
                )
            },
            "categories.tax_debt.years",
            "retention.years_range",
        );
        check_error(
            |text| {
                text.replace(
                    "[categories.vehicle]\nanchor = \"valid_to\"",
                    "[categories.vehicle]\nanchor = \"last_exit\"",
                )
            },
            "categories.vehicle.anchor",
            "retention.anchor_not_applicable",
        );
        check_error(
            |text| text.replace("overstay_years = 5", "overstay_years = 2"),
            "categories.border_crossing.overstay_years",
            "retention.overstay_shorter",
        );
        check_error(
            |text| {
                text.replace(
                    "[categories.vehicle]\nanchor = \"valid_to\"\nyears = 3",
                    "[categories.vehicle]\nanchor = \"valid_to\"\nyears = 3\noverstay_years = 5",
                )
            },
            "categories.vehicle.overstay_years",
            "retention.anchor_not_applicable",
        );
        check_error(
            |text| {
                text.replace(
                    "[categories.snils]\nanchor = \"valid_to\"\nyears = 10",
                    "[categories.snils]\nanchor = \"valid_to\"\nyeras = 10",
                )
            },
            "categories.snils.yeras",
            "retention.shape",
        );
        check_error(
            |text| text.replace("anchor = \"received\"", "anchor = \"someday\""),
            "uncategorised.anchor",
            "retention.shape",
        );
        check_error(
            |text| text.replace("details_after_days = 365", "details_after_days = 0"),
            "access_log.details_after_days",
            "retention.days_range",
        );
        check_error(
            |text| text.replace("\"migration_registration\"]", "\"registration\"]"),
            "stay.authorised_by[2]",
            "retention.unknown_category",
        );
        check_error(
            |text| format!("{text}\n[categories"),
            "(file)",
            "retention.syntax",
        );
    }

    #[test]
    fn periods_are_calendar_years_from_the_end_of_the_anchor_day() {
        let anchor = end_of_day(NaiveDate::from_ymd_opt(2023, 3, 14).unwrap());
        assert_eq!(anchor.to_rfc3339(), "2023-03-15T00:00:00+00:00");
        assert_eq!(
            years_after(anchor, 3).to_rfc3339(),
            "2026-03-15T00:00:00+00:00"
        );
        let leap = end_of_day(NaiveDate::from_ymd_opt(2024, 2, 28).unwrap());
        assert_eq!(
            years_after(leap, 1).to_rfc3339(),
            "2025-02-28T00:00:00+00:00"
        );
    }
}
