//! The record retention leaves when it erases the details of access-log entries: an entry of
//! its own, appended to the log (so hashed and signed like any other), that names the positions
//! whose details it erased. `verify` accepts an entry without details only when such a record
//! names it: details removed by anyone else are reported, by position.

use chrono::{DateTime, Utc};

use crate::entry::{AccessAction, AccessEntry, AccessOutcome};

/// The actor of every erasure retention logs.
pub const RETENTION_ACTOR: &str = "system:retention";

/// How the erased positions are written in the record's `case_ref` (the entry's free-text
/// field): ranges, `0-3,7,12-15`.
const POSITIONS_PREFIX: &str = "retention/log-details/positions=";

/// The entry that records the erasure of the details at `positions`, at `at`.
pub fn details_erasure(at: DateTime<Utc>, positions: &[u64]) -> AccessEntry {
    AccessEntry {
        at,
        actor: RETENTION_ACTOR.to_owned(),
        agency: "dprofile".to_owned(),
        role: "retention".to_owned(),
        purpose: "retention_schedule".to_owned(),
        case_ref: Some(format!("{POSITIONS_PREFIX}{}", encode_ranges(positions))),
        action: AccessAction::Erase,
        person: None,
        categories: vec!["access_log".to_owned()],
        outcome: AccessOutcome::Allowed,
    }
}

/// The position ranges (inclusive) an erasure record names; `None` for any other entry.
pub fn erased_ranges(entry: &AccessEntry) -> Option<Vec<(u64, u64)>> {
    if entry.actor != RETENTION_ACTOR || entry.action != AccessAction::Erase {
        return None;
    }
    let text = entry.case_ref.as_deref()?.strip_prefix(POSITIONS_PREFIX)?;
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('-') {
            Some((first, last)) => Some((first.parse().ok()?, last.parse().ok()?)),
            None => part.parse().ok().map(|position| (position, position)),
        })
        .collect()
}

fn encode_ranges(positions: &[u64]) -> String {
    let mut sorted = positions.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut iter = sorted.into_iter().peekable();
    while let Some(first) = iter.next() {
        let mut last = first;
        while iter.next_if(|&next| next == last + 1).is_some() {
            last += 1;
        }
        parts.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn positions_round_trip_as_ranges() {
        let at = Utc.with_ymd_and_hms(2031, 6, 1, 0, 0, 0).unwrap();
        let entry = details_erasure(at, &[7, 0, 1, 2, 3, 12, 13, 7]);
        assert_eq!(
            entry.case_ref.as_deref(),
            Some("retention/log-details/positions=0-3,7,12-13")
        );
        assert_eq!(erased_ranges(&entry), Some(vec![(0, 3), (7, 7), (12, 13)]));
        let mut forged = entry.clone();
        forged.actor = "officer:1".into();
        assert_eq!(erased_ranges(&forged), None);
    }
}
