//! `diplomatic_accreditation`: the accreditation card of a member of a foreign mission or an
//! international organisation, issued by the Ministry of Foreign Affairs.

use serde::{Deserialize, Serialize};

use super::{Date, Text, Validate, check_date_order};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiplomaticAccreditation {
    /// The embassy, consulate or organisation the person serves in.
    pub mission: Text,
    pub position: Text,
    pub card_number: Text,
    pub category: AccreditationCategory,
    pub issued_on: Date,
    pub expires_on: Date,
}

/// The staff category, which decides the privileges and immunities the card grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccreditationCategory {
    Diplomatic,
    Consular,
    AdministrativeTechnical,
    Service,
    InternationalOrganisation,
}

impl Validate for DiplomaticAccreditation {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("issued_on", Some(&self.issued_on)),
            ("expires_on", Some(&self.expires_on)),
        );
    }
}
