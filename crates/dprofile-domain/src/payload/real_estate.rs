//! `real_estate`: a right to a property (ownership, a share, a lease) in the state register of
//! real estate.

use serde::{Deserialize, Serialize};

use super::{CadastralNumber, Date, Region, Text, Validate, check_date_order};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealEstate {
    /// Identifies the property itself, whoever holds it.
    pub cadastral_number: CadastralNumber,
    pub kind: RealEstateKind,
    pub right: RealEstateRight,
    /// The share in shared ownership as the register writes it (`1/2`, `3/10`); kept as text
    /// because the register holds fractions in more than one form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<Text>,
    pub registered_on: Date,
    /// Absent while the right lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RealEstateKind {
    Apartment,
    House,
    Land,
    Room,
    Garage,
    NonResidential,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RealEstateRight {
    Ownership,
    SharedOwnership,
    Lease,
    Use,
}

impl Validate for RealEstate {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("registered_on", Some(&self.registered_on)),
            ("ended_on", self.ended_on.as_ref()),
        );
    }
}
