//! `migration_registration`: a foreigner's registration at a place of stay (migration record),
//! notified by the receiving party, a person or an organisation that hosts them.

use serde::{Deserialize, Serialize};

use super::common::null_as_default;
use super::{Address, Date, Text, Validate, check_date_order};
use crate::values::Inn;
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationRegistration {
    pub registered_on: Date,
    /// The last day of the registration, usually the end of the permitted stay.
    pub expires_on: Date,
    /// The place of stay the person is registered at.
    pub address: Address,
    /// The receiving party answers for the foreigner's stay, so it is kept with the record.
    pub host: RegistrationHost,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<RegistrationPurpose>,
    /// Absent means `initial`: most notices are first registrations, and sources that do not
    /// track extensions send no kind at all.
    #[serde(default, deserialize_with = "null_as_default")]
    pub kind: RegistrationKind,
}

/// Who registered the foreigner at the address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistrationHost {
    pub kind: HostKind,
    pub name: Text,
    /// A person's 12 digit or an organisation's 10 digit INN; sole proprietors host as
    /// organisations with a 12 digit INN, so the length is not tied to `kind`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inn: Option<Inn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostKind {
    Person,
    Organisation,
}

/// The purpose of the visit as declared in the notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationPurpose {
    Work,
    Study,
    Private,
    Tourism,
    Business,
    Official,
    Other,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationKind {
    /// The first registration at this address.
    #[default]
    Initial,
    /// The registration at the same address prolonged.
    Extension,
    /// The person left the address and was taken off the record.
    Departure,
}

impl Validate for MigrationRegistration {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("registered_on", Some(&self.registered_on)),
            ("expires_on", Some(&self.expires_on)),
        );
    }
}
