//! `vehicle`: a vehicle registered to a person with the traffic police.

use serde::{Deserialize, Serialize};

use super::{Date, Text, Validate, VehicleYear, Vin, check_date_order};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vehicle {
    /// The VIN identifies the vehicle for its life; the plate changes with owners and regions.
    pub vin: Vin,
    /// The registration plate as issued; kept as text because plate formats differ by type
    /// of vehicle and country.
    pub plate: Text,
    pub make: Text,
    pub model: Text,
    /// The model year.
    pub year: VehicleYear,
    pub registered_on: Date,
    /// Absent while the vehicle is still registered to the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deregistered_on: Option<Date>,
}

impl Validate for Vehicle {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("registered_on", Some(&self.registered_on)),
            ("deregistered_on", self.deregistered_on.as_ref()),
        );
    }
}
