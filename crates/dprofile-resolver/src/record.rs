//! What the resolver reads about one record: names in any script, a possibly partial birth
//! date, sex, citizenship, strong identifiers with passport validity, and generic attributes
//! (so that public benchmarks with postcodes or social security numbers can be fed too).

use chrono::NaiveDate;
use dprofile_domain::Subject;
use dprofile_domain::linking::{StrongKey, strong_keys};
use dprofile_domain::subject::{DocumentKind, Sex};
use dprofile_domain::values::PartialDate;
use serde::Serialize;

/// One spelling of a person's name as a source wrote it (one script, one transliteration).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct NameVariant {
    pub family: Option<String>,
    pub given: Option<String>,
    pub patronymic: Option<String>,
}

/// When a strong document was valid, if the source said so: two passports of one country
/// whose validity does not overlap are what a renewal looks like.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DocumentValidity {
    pub key: StrongKey,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
}

/// The resolver's input record. `id` is the caller's index (returned in the result); it never
/// influences the outcome, which depends only on the content of the records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResolverRecord {
    pub id: u32,
    pub names: Vec<NameVariant>,
    pub birth_date: Option<PartialDate>,
    pub sex: Option<Sex>,
    /// ISO 3166-1 alpha-3 code.
    pub citizenship: Option<String>,
    pub strong_keys: Vec<StrongKey>,
    pub document_validity: Vec<DocumentValidity>,
    /// The day the source recorded what it says (the envelope's `observed_at`). Which passport
    /// a person's records cite over time is what tells a renewal from a namesake: once the new
    /// passport exists, the old one is cited only by sources whose files lag behind.
    pub observed_on: Option<NaiveDate>,
    /// Generic attributes by name (`postcode`, `birth_place`, `soc_sec_id`, ...). How each
    /// one is compared and whether it blocks is set in [`crate::ResolverConfig::attributes`];
    /// attributes the configuration does not name are ignored.
    pub attributes: Vec<(String, String)>,
}

impl ResolverRecord {
    /// The resolver's view of a checked envelope subject.
    pub fn from_subject(id: u32, subject: &Subject) -> ResolverRecord {
        let names = subject
            .names
            .iter()
            .map(|name| NameVariant {
                family: name.family.as_ref().map(|part| part.0.clone()),
                given: name.given.as_ref().map(|part| part.0.clone()),
                patronymic: name.patronymic.as_ref().map(|part| part.0.clone()),
            })
            .collect();
        let keys = strong_keys(subject);
        let document_validity = subject
            .documents
            .iter()
            .filter(|document| document.kind == DocumentKind::Passport)
            .filter(|document| document.issued_on.is_some() || document.expires_on.is_some())
            .map(|document| DocumentValidity {
                key: StrongKey::new(
                    dprofile_domain::linking::KeyKind::Passport,
                    format!("{}:{}", document.country, document.number.as_str()),
                ),
                issued_on: document.issued_on.as_ref().map(|date| date.0),
                expires_on: document.expires_on.as_ref().map(|date| date.0),
            })
            .collect();
        ResolverRecord {
            id,
            names,
            birth_date: subject.birth_date,
            sex: subject.sex,
            citizenship: subject
                .citizenship
                .as_ref()
                .map(|country| country.as_str().to_owned()),
            strong_keys: keys,
            document_validity,
            observed_on: None,
            attributes: Vec::new(),
        }
    }

    /// [`ResolverRecord::from_subject`] for a record observed at `observed_at` (the envelope's
    /// field, RFC 3339; the day is taken in UTC). An unreadable time is left out.
    pub fn from_envelope(id: u32, subject: &Subject, observed_at: Option<&str>) -> ResolverRecord {
        ResolverRecord {
            observed_on: observed_at.and_then(observed_day),
            ..ResolverRecord::from_subject(id, subject)
        }
    }
}

/// The UTC day of an RFC 3339 instant.
pub fn observed_day(text: &str) -> Option<NaiveDate> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|instant| instant.with_timezone(&chrono::Utc).date_naive())
}
