//! `stay_application`: an application for a permit or a status (residence, patent, asylum,
//! citizenship) and where its processing stands.

use serde::{Deserialize, Serialize};

use super::{Date, Text, Validate, check_date_order};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StayApplication {
    /// The number the receiving office gave the application; kept as text because offices
    /// number applications in their own formats.
    pub application_number: Text,
    pub kind: StayApplicationKind,
    pub submitted_on: Date,
    pub status: StayApplicationStatus,
    /// The day of the decision (approved, refused) or of the withdrawal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_on: Option<Date>,
    /// The office that received the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<Text>,
}

/// What the application asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StayApplicationKind {
    TemporaryResidencePermit,
    ResidencePermit,
    VisaExtension,
    Patent,
    RefugeeStatus,
    TemporaryAsylum,
    Citizenship,
    /// The State programme for the voluntary resettlement of compatriots.
    ResettlementProgramme,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StayApplicationStatus {
    Submitted,
    UnderReview,
    Approved,
    Refused,
    Withdrawn,
}

impl Validate for StayApplication {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("submitted_on", Some(&self.submitted_on)),
            ("decided_on", self.decided_on.as_ref()),
        );
    }
}
