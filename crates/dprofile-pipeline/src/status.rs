//! The bridge from a profile to the status engine (`dprofile-status`): the typed facts it reads
//! and the calendar day it counts in. The API's statuses and the QR passes' status claims both
//! come through here, so a pass never states what the status engine would not.

use chrono::{DateTime, NaiveDate, Utc};
use dprofile_domain::Category;
use dprofile_domain::payload::parse_payload;
use dprofile_status::{RecordRef, RuleSet, StatusFact};

use crate::profile::Profile;

/// The typed facts of a profile the engine reads. A fact whose `data` no longer reads as its
/// category (a narrowed category without a required field) is left out.
pub fn status_facts(profile: &Profile) -> Vec<StatusFact> {
    let mut facts = Vec::new();
    for (code, category_facts) in &profile.facts {
        let Some(category) = Category::from_code(code) else {
            continue;
        };
        for fact in category_facts {
            if let Ok(payload) = parse_payload(category, &fact.data).result {
                facts.push(StatusFact {
                    cited: RecordRef {
                        record_id: fact.cited.record_id,
                        source: fact.cited.source.clone(),
                        source_ref: fact.cited.source_ref.clone(),
                    },
                    payload,
                });
            }
        }
    }
    facts
}

/// The calendar day of `now` as the rules count days.
pub fn today(rules: &RuleSet, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&rules.crossing_day_offset).date_naive()
}
