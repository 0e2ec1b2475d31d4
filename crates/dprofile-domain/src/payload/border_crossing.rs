//! `border_crossing`: one passage of the state border, inbound or outbound, at a checkpoint.

use serde::{Deserialize, Serialize};

use super::{DateTime, Text, Validate};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BorderCrossing {
    pub direction: CrossingDirection,
    /// An instant, not a day: stays are counted from the moment of entry, and two crossings on
    /// one day must keep their order.
    pub crossed_at: DateTime,
    /// The border checkpoint as the border service names it.
    pub checkpoint: Text,
    pub transport: CrossingTransport,
    /// The purpose written in the migration card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_purpose: Option<CrossingPurpose>,
    /// The number of the document shown at the border, as the border service read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_number: Option<Text>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrossingDirection {
    Entry,
    Exit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrossingTransport {
    Air,
    Road,
    Rail,
    Sea,
    River,
    Pedestrian,
}

/// The purpose of the visit declared at the border.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrossingPurpose {
    Work,
    Study,
    Private,
    Tourism,
    Business,
    Official,
    Transit,
    Other,
}

/// One instant has no order to check.
impl Validate for BorderCrossing {}
