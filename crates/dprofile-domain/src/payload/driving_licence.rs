//! `driving_licence`: a driving licence, Russian or foreign, and the vehicle categories it opens.

use serde::{Deserialize, Serialize};

use super::{Date, Text, Validate, check_date_order};
use crate::values::CountryCode;
use crate::violation::{Rule, Violation, pointer_join};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrivingLicence {
    pub number: Text,
    /// The issuing country: a foreign licence allows driving in Russia only on its own terms.
    pub country: CountryCode,
    /// At least one: a licence that opens no category is a data error.
    pub categories: Vec<DrivingLicenceCategory>,
    pub issued_on: Date,
    pub expires_on: Date,
}

/// Vehicle categories as Russian licences print them (article 25 of the federal law on road
/// safety); foreign licences are sent in their Russian equivalents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DrivingLicenceCategory {
    A,
    A1,
    B,
    B1,
    Be,
    C,
    C1,
    Ce,
    C1e,
    D,
    D1,
    De,
    D1e,
    /// Mopeds and light quadricycles.
    M,
    /// Trams.
    Tm,
    /// Trolleybuses.
    Tb,
}

impl Validate for DrivingLicence {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        if self.categories.is_empty() {
            violations.push(Violation::new(
                pointer_join(pointer, "categories"),
                Rule::Length,
                "`categories` is empty: a licence opens at least one category, send them all",
            ));
        }
        check_date_order(
            violations,
            pointer,
            ("issued_on", Some(&self.issued_on)),
            ("expires_on", Some(&self.expires_on)),
        );
    }
}
