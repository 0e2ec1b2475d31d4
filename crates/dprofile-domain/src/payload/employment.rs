//! `employment`: a job with an employer in Russia, as the employer notified it.

use serde::{Deserialize, Serialize};

use super::{Date, Inn10, Money, Region, Text, Validate, check_date_order, check_not_negative};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Employment {
    pub employer: Employer,
    pub position: Text,
    /// The region of work, which a patent must match.
    pub region: Region,
    pub started_on: Date,
    /// Absent while the job lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<Date>,
    pub contract: EmploymentContract,
    /// The day the employer notified the migration service of the contract; it is not an end
    /// date, so it is not ordered against `started_on`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_on: Option<Date>,
    /// Monthly, in roubles; never negative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salary: Option<Money>,
}

/// The employing organisation, identified by its 10 digit INN: the INN, not the name, is what
/// links jobs at the same employer across sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Employer {
    pub name: Text,
    pub inn: Inn10,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentContract {
    /// An employment contract under the Labour Code.
    Labour,
    /// A civil-law contract for work or services.
    Civil,
}

impl Validate for Employment {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("started_on", Some(&self.started_on)),
            ("ended_on", self.ended_on.as_ref()),
        );
        check_not_negative(violations, pointer, ("salary", self.salary.as_ref()));
    }
}
