//! `stay_document`: a document that allows a foreigner to stay (a visa, a work patent, a
//! temporary residence permit or a residence permit).

use serde::{Deserialize, Serialize};

use super::{Date, Region, Text, Validate, check_date_order};
use crate::violation::{Rule, Violation, pointer_join};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StayDocument {
    pub kind: StayDocumentKind,
    /// Kept as printed: series and number formats differ between kinds and years of issue.
    pub number: Text,
    pub issued_on: Date,
    /// Required unless `kind` is `residence_permit`: residence permits issued to foreigners
    /// since November 2019 have no end date, every other kind does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Text>,
    /// A patent's region of work: a patent allows work only in the region that issued it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_allowed: Option<bool>,
    /// The profession a patent names, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profession: Option<Text>,
    /// A patent stays valid only while its monthly advance tax is paid; this is the day the
    /// payments made so far cover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patent_paid_until: Option<Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StayDocumentKind {
    Visa,
    Patent,
    TemporaryResidencePermit,
    ResidencePermit,
}

impl Validate for StayDocument {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        if self.expires_on.is_none() && self.kind != StayDocumentKind::ResidencePermit {
            violations.push(Violation::new(
                pointer_join(pointer, "expires_on"),
                Rule::Required,
                "`expires_on` is required for every stay document but a residence permit: add it",
            ));
        }
        check_date_order(
            violations,
            pointer,
            ("issued_on", Some(&self.issued_on)),
            ("expires_on", self.expires_on.as_ref()),
        );
    }
}
