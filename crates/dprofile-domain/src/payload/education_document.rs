//! `education_document`: a certificate or diploma a person holds, Russian or foreign.

use serde::{Deserialize, Serialize};

use super::{Date, Text, Validate};
use crate::values::CountryCode;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EducationDocument {
    pub kind: EducationDocumentKind,
    pub number: Text,
    pub institution: Text,
    /// The country of the institution: a foreign document counts in Russia only once it is
    /// recognised.
    pub country: CountryCode,
    pub issued_on: Date,
    /// Whether a foreign document has been recognised in Russia; absent when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recognised: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EducationDocumentKind {
    SchoolCertificate,
    VocationalDiploma,
    BachelorDiploma,
    SpecialistDiploma,
    MasterDiploma,
    DoctoralDiploma,
    Other,
}

/// One date has no order to check.
impl Validate for EducationDocument {}
