//! `medical_insurance`: a health insurance policy, which a patent or a permit requires.

use serde::{Deserialize, Serialize};

use super::{Date, Text, Validate, check_date_order};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MedicalInsurance {
    pub policy_number: Text,
    pub insurer: Text,
    pub kind: MedicalInsuranceKind,
    pub valid_from: Date,
    pub valid_to: Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MedicalInsuranceKind {
    /// A voluntary policy (DMS), bought by the person or the employer.
    Voluntary,
    /// The compulsory state insurance (OMS), open to residents and some workers.
    Compulsory,
}

impl Validate for MedicalInsurance {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("valid_from", Some(&self.valid_from)),
            ("valid_to", Some(&self.valid_to)),
        );
    }
}
