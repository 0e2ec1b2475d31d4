//! `esia_account`: a person's account in ESIA, the federal login system behind Gosuslugi.

use serde::{Deserialize, Serialize};

use super::{Date, Validate};
use crate::values::EsiaId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EsiaAccount {
    pub esia_id: EsiaId,
    pub level: EsiaAccountLevel,
    pub created_on: Date,
}

/// How far the person's identity was checked; only a confirmed account opens all services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EsiaAccountLevel {
    Simplified,
    Standard,
    Confirmed,
}

/// One date has no order to check.
impl Validate for EsiaAccount {}
