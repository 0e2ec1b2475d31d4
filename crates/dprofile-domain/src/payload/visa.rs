//! `visa`: a Russian visa issued by a consular post, with its validity and number of entries.

use serde::{Deserialize, Serialize};

use super::{Date, StayDays, Text, Validate, check_date_order};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visa {
    pub visa_number: Text,
    pub kind: VisaKind,
    pub purpose: VisaPurpose,
    pub entries: VisaEntries,
    pub issued_on: Date,
    pub valid_from: Date,
    pub valid_to: Date,
    /// The embassy or consulate that issued the visa.
    pub issuing_post: Text,
    /// Days of stay the visa allows within its validity, when it limits them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stay_days: Option<StayDays>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisaKind {
    Ordinary,
    Diplomatic,
    Service,
    Transit,
    /// Issued to a foreigner granted a temporary residence permit.
    TemporaryResident,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisaPurpose {
    Work,
    Study,
    Private,
    Tourism,
    Business,
    Humanitarian,
    Official,
    Transit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisaEntries {
    Single,
    Double,
    Multiple,
}

impl Validate for Visa {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("valid_from", Some(&self.valid_from)),
            ("valid_to", Some(&self.valid_to)),
        );
    }
}
