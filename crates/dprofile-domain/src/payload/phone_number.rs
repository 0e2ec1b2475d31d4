//! `phone_number`: a mobile number registered to a person, with the operator's dates.

use serde::{Deserialize, Serialize};

use super::{Date, PhoneNumber, Text, Validate, check_date_order};
use crate::violation::Violation;

/// Named apart from the category because [`PhoneNumber`] is the number itself; this is the
/// number's subscription to a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneSubscription {
    pub number: PhoneNumber,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Text>,
    pub registered_on: Date,
    /// Whether the operator verified the subscriber's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// Absent while the number stays with the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<Date>,
}

impl Validate for PhoneSubscription {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("registered_on", Some(&self.registered_on)),
            ("ended_on", self.ended_on.as_ref()),
        );
    }
}
