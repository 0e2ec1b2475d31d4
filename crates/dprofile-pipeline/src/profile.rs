//! A person's profile read from the store: the facts in force per category, each citing the
//! source record it comes from, as known at `as_of` and valid at `valid_at`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use dprofile_domain::profile::select_facts;
use dprofile_store::{PersonId, RecordId, Store, StoreError, StoredVersion};
use serde::Serialize;
use serde_json::Value;

use crate::corrections::{DisputeMarker, mark_disputes};

/// Where a fact comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    pub record_id: RecordId,
    pub source: String,
    pub source_ref: String,
    pub revision: u32,
    pub received_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    pub category: String,
    pub data: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<NaiveDate>,
    pub cited: Citation,
    /// The person's standing correction requests about this fact (issue 4): set by
    /// [`load_profile`] for every reader, so no route can show the fact without them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disputed: Vec<DisputeMarker>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub person_id: PersonId,
    pub created_at: DateTime<Utc>,
    /// `None`: now.
    pub as_of: Option<DateTime<Utc>>,
    /// `None`: any date.
    pub valid_at: Option<NaiveDate>,
    /// Strong identifiers the person holds (`passport:UZB:FA1234567`).
    pub identifiers: Vec<String>,
    /// Every distinct way the sources wrote the person's name, birth date and citizenship.
    pub identity: Vec<Value>,
    /// Facts per category code, in order of receipt.
    pub facts: BTreeMap<String, Vec<Fact>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ProfileLookup {
    Found(Box<Profile>),
    /// The id was merged into another person; read that one.
    Merged {
        into: PersonId,
    },
    NotFound,
}

pub fn load_profile(
    store: &dyn Store,
    person_id: PersonId,
    as_of: Option<DateTime<Utc>>,
    valid_at: Option<NaiveDate>,
) -> Result<ProfileLookup, StoreError> {
    let Some(person) = store.person(person_id)? else {
        return Ok(ProfileLookup::NotFound);
    };
    if let Some(into) = person.merged_into {
        return Ok(ProfileLookup::Merged { into });
    }
    if as_of.is_some_and(|as_of| as_of < person.created_at) {
        return Ok(ProfileLookup::NotFound);
    }
    let versions = store.person_versions(person_id)?;
    let in_force: Vec<&StoredVersion> = select_facts(&versions, as_of, valid_at);
    let mut facts: BTreeMap<String, Vec<Fact>> = BTreeMap::new();
    let mut identity: Vec<Value> = Vec::new();
    for version in in_force {
        let raw: Value = serde_json::from_slice(&version.raw).unwrap_or(Value::Null);
        if let Some(subject) = raw.get("subject") {
            let mut summary = serde_json::Map::new();
            for field in ["names", "birth_date", "sex", "citizenship"] {
                if let Some(value) = subject.get(field).filter(|value| !value.is_null()) {
                    summary.insert(field.to_owned(), value.clone());
                }
            }
            let summary = Value::Object(summary);
            if !identity.contains(&summary) {
                identity.push(summary);
            }
        }
        let Some(category) = version.category.clone() else {
            continue;
        };
        facts.entry(category.clone()).or_default().push(Fact {
            category,
            data: raw.get("data").cloned().unwrap_or(Value::Null),
            valid_from: version.valid_from,
            valid_to: version.valid_to,
            cited: Citation {
                record_id: version.record_id,
                source: version.source.clone(),
                source_ref: version.source_ref.clone(),
                revision: version.revision,
                received_at: version.received_at,
                observed_at: version.observed_at,
            },
            disputed: Vec::new(),
        });
    }
    let standing = store.standing_corrections(person_id)?;
    mark_disputes(facts.values_mut().flatten(), &standing);
    let identifiers = store
        .person_identifiers(person_id)?
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(ProfileLookup::Found(Box::new(Profile {
        person_id,
        created_at: person.created_at,
        as_of,
        valid_at,
        identifiers,
        identity,
        facts,
    })))
}
