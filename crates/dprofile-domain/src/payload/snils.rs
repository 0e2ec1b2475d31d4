//! `snils`: the individual insurance account number (SNILS) issued to a person.

use serde::{Deserialize, Serialize};

use super::{Date, Validate};
use crate::values::Snils;

/// Named apart from the category because [`Snils`] is the number itself; this is its
/// registration to a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnilsRegistration {
    /// Check digits verified: a SNILS links records of the same person across sources.
    pub number: Snils,
    pub issued_on: Date,
}

/// One date has no order to check.
impl Validate for SnilsRegistration {}
