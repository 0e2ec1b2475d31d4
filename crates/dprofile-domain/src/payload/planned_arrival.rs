//! `planned_arrival`: the person's own notice of a planned visa-free entry (dates, purpose,
//! address of stay), sent through the registry's portal before travelling. A declaration, not
//! a crossing: the border service's `border_crossing` records what happened.

use serde::{Deserialize, Serialize};

use super::{Address, Date, RegistrationPurpose, Text, Validate, check_date_order};
use crate::violation::{Rule, Violation, pointer_join};

/// The longest visa-free stay one notice may announce (Federal Law 115-FZ art. 5: 90 days in
/// any 180), counting the day of arrival and the day of departure.
pub const MAX_PLANNED_STAY_DAYS: i64 = 90;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedArrival {
    pub arrival_on: Date,
    pub departure_on: Date,
    /// The purpose of the visit, in the migration registration's terms: the host registers
    /// the person for the same purpose after arrival.
    pub purpose: RegistrationPurpose,
    /// Where the person will stay first.
    pub address: Address,
    /// The border checkpoint the person means to cross, when they know it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Text>,
}

impl Validate for PlannedArrival {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("arrival_on", Some(&self.arrival_on)),
            ("departure_on", Some(&self.departure_on)),
        );
        let days = (self.departure_on.0 - self.arrival_on.0).num_days() + 1;
        if days > MAX_PLANNED_STAY_DAYS {
            violations.push(Violation::new(
                pointer_join(pointer, "departure_on"),
                Rule::Range,
                format!(
                    "the stay lasts {days} days: a visa-free stay is at most {MAX_PLANNED_STAY_DAYS} days, choose an earlier departure or apply for a visa"
                ),
            ));
        }
    }
}
