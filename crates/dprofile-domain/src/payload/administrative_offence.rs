//! `administrative_offence` (sensitive): a decision on an administrative offence, such as a
//! breach of the rules of stay under article 18.8 of the federal code.

use serde::{Deserialize, Serialize};

use super::{Date, Money, Text, Validate, check_not_negative};
use crate::violation::Violation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdministrativeOffence {
    /// The article as written in the decision (`18.8`, `18.8 part 3.1`): kept as text because
    /// parts and paragraphs are written in many ways.
    pub article: Text,
    pub code: OffenceCode,
    pub decided_on: Date,
    pub decision: OffenceDecision,
    /// In roubles; a fine is never negative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine_amount: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<Text>,
}

/// Which code the article belongs to: the same number means different offences in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffenceCode {
    /// The federal Code of Administrative Offences (KoAP RF).
    Koap,
    /// A region's own code of administrative offences.
    Regional,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffenceDecision {
    Fine,
    Warning,
    /// Administrative expulsion ordered by a court.
    Expulsion,
    Deportation,
    /// The case was closed without a penalty.
    Dismissed,
}

impl Validate for AdministrativeOffence {
    fn validate(&self, pointer: &str, violations: &mut Vec<Violation>) {
        check_not_negative(
            violations,
            pointer,
            ("fine_amount", self.fine_amount.as_ref()),
        );
    }
}
