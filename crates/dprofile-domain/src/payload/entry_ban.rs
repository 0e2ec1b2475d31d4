//! `entry_ban` (sensitive): a decision that closes entry to Russia for a foreigner, for a term
//! or indefinitely.

use serde::{Deserialize, Serialize};

use super::{Date, Text, Validate, check_date_order};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryBan {
    /// The law and article the ban rests on, as written in the decision.
    pub basis: Text,
    /// The authority that decided the ban.
    pub authority: Text,
    pub decided_on: Date,
    pub banned_from: Date,
    /// Absent: the ban has no end date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banned_until: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<EntryBanReason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryBanReason {
    /// Stayed longer than allowed.
    Overstay,
    Offence,
    Security,
    PublicHealth,
    UnpaidFine,
    Deportation,
    Other,
}

impl Validate for EntryBan {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_date_order(
            violations,
            pointer,
            ("banned_from", Some(&self.banned_from)),
            ("banned_until", self.banned_until.as_ref()),
        );
    }
}
