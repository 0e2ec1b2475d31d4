//! `language_certificate`: a certificate of Russian language, Russian history and the basics of
//! Russian law, which a patent, a permit or citizenship requires.

use serde::{Deserialize, Serialize};

use super::{Date, TestScore, Text, Validate, check_date_order};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageCertificate {
    pub number: Text,
    /// What the certificate was taken for: each purpose has its own level of exam.
    pub purpose: LanguageCertificatePurpose,
    pub issued_on: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<Date>,
    /// The testing organisation.
    pub issuer: Text,
    /// In percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<TestScore>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LanguageCertificatePurpose {
    PatentOrWorkPermit,
    TemporaryResidencePermit,
    ResidencePermit,
    Citizenship,
}

impl Validate for LanguageCertificate {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("issued_on", Some(&self.issued_on)),
            ("expires_on", self.expires_on.as_ref()),
        );
    }
}
