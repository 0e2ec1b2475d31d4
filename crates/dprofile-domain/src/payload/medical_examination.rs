//! `medical_examination` (sensitive): the medical examination a foreigner passes for a patent
//! or a permit: drugs, infectious diseases, HIV.

use serde::{Deserialize, Serialize};

use super::{Date, Text, Validate, check_date_order};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MedicalExamination {
    pub certificate_number: Text,
    pub clinic: Text,
    pub examined_on: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    pub drug_test: DrugTestResult,
    pub infectious_diseases: InfectiousDiseasesResult,
    pub hiv: HivTestResult,
    /// The clinic's conclusion, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit_for_work: Option<bool>,
}

/// Each test has its own result enum, not a shared one, so that a result cannot be filed under
/// the wrong test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrugTestResult {
    Negative,
    Positive,
    NotTested,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InfectiousDiseasesResult {
    NoneFound,
    Found,
    NotTested,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HivTestResult {
    Negative,
    Positive,
    NotTested,
}

impl Validate for MedicalExamination {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("examined_on", Some(&self.examined_on)),
            ("valid_until", self.valid_until.as_ref()),
        );
    }
}
