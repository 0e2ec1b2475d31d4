//! `population_register`: an event in the federal register of the population (registered,
//! updated, moved, deregistered).

use serde::{Deserialize, Serialize};

use super::{Address, Date, Text, Validate};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationRegister {
    /// The person's number in the register.
    pub register_number: Text,
    pub event: PopulationRegisterEvent,
    pub event_on: Date,
    /// The address after the event, when the register sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopulationRegisterEvent {
    Registered,
    Updated,
    AddressChanged,
    Deregistered,
}

/// One date has no order to check.
impl Validate for PopulationRegister {}
