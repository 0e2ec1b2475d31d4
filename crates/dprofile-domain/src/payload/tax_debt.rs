//! `tax_debt`: a person's balance with the tax service on a date (negative: owed).

use serde::{Deserialize, Serialize};

use super::{Date, Money, Text, Validate};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaxDebt {
    /// Balance in roubles; negative means the person owes the tax service.
    pub balance: Money,
    /// The day the balance was computed.
    pub as_of: Date,
    /// What the debt is for (`patent`, `personal_income`, `property`, `transport`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TaxKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_office: Option<Text>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxKind {
    Patent,
    PersonalIncome,
    Property,
    Transport,
    Land,
    Other,
}

impl Validate for TaxDebt {}
