//! `small_vessel_licence`: a certificate that allows a person to steer small boats.

use serde::{Deserialize, Serialize};

use super::{Date, Text, Validate, check_date_order};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmallVesselLicence {
    pub number: Text,
    pub issued_on: Date,
    pub expires_on: Date,
    /// Where the licence allows navigation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waters: Option<NavigationWaters>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NavigationWaters {
    Inland,
    Coastal,
    Sea,
}

impl Validate for SmallVesselLicence {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("issued_on", Some(&self.issued_on)),
            ("expires_on", Some(&self.expires_on)),
        );
    }
}
