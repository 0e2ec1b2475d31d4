//! The status engine: the 90/180 vectors (acceptance point 1) and snapshots of every status
//! kind's explanation (acceptance point 2).

use chrono::NaiveDate;
use dprofile_domain::payload::{CrossingDirection, parse_payload};
use dprofile_domain::{Category, Payload};
use dprofile_status::short_stay::{ShortStayLimits, StayPeriod, count, days_allowed_from};
use dprofile_status::{
    Answer, RecordRef, RuleSet, StatusFact, StatusKind, evaluate, stays_from_crossings,
};
use serde_json::{Value, json};

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test dates are valid")
}

fn stays(periods: &[(&str, Option<&str>)]) -> Vec<StayPeriod> {
    periods
        .iter()
        .map(|(entry, exit)| StayPeriod {
            entry: day(entry),
            exit: exit.map(day),
        })
        .collect()
}

/// One vector: the stays, the day of the count, and the expected days used, days remaining,
/// and (for a person in the country) the last compliant day of exit.
fn check(
    periods: &[(&str, Option<&str>)],
    on: &str,
    used: u32,
    remaining: u32,
    latest_exit: Option<&str>,
) {
    let counted = count(&stays(periods), day(on), ShortStayLimits::NINETY_IN_180);
    assert_eq!(
        (
            counted.days_used,
            counted.days_remaining,
            counted.latest_exit
        ),
        (used, remaining, latest_exit.map(day)),
        "stays {periods:?} counted on {on}"
    );
}

// Worked examples of the European Commission's short-stay calculator, from the user guide the
// Swiss State Secretariat for Migration (SEM) publishes for it ("Short-stay calculator",
// examples 1-6, www.sem.admin.ch/sem/en/home/themen/einreise/aufenthaltsrechner/bsp-N.html,
// last modified 01.12.2014). The Commission's own "User manual for the short-stay Schengen
// calculator" states the rule these follow (date of entry and date of exit both count; a moving
// 180-day period looked at backwards from each day; an absence of 90 days without a break
// allows a new stay of 90 days) but our copy of it keeps no worked example with dates. Example
// 3 is left out: the stamps in our copy of it are garbled (an exit before its entry), and
// example 6 too: our copy lacks its second pair of stamps.

/// SEM example 1: a police check on 30 September 2014 of a person in the country on an entry
/// stamp; the check counts 47 days of stay (our copy shows the count, not the stamp: 47 days
/// up to 30 September 2014 put the entry on 15 August 2014).
#[test]
fn sem_example_1_open_stay_checked_on_30_september_2014() {
    check(
        &[("2014-08-15", None)],
        "2014-09-30",
        47,
        43,
        Some("2014-11-12"),
    );
}

/// SEM example 1, planning: after leaving on 30 September 2014, a return on 1 January 2015
/// allows 90 more days.
#[test]
fn sem_example_1_return_on_1_january_2015_allows_90_days() {
    let history = stays(&[("2014-08-15", Some("2014-09-30"))]);
    let allowed = days_allowed_from(
        &history,
        &[],
        day("2015-01-01"),
        day("2014-12-31"),
        ShortStayLimits::NINETY_IN_180,
    );
    assert_eq!(allowed, 90);
}

/// SEM example 2: departure on 30 November 2014 after stays 15.08.2014-30.09.2014 and
/// 01.11.2014-30.11.2014: no overstay; she could have stayed without a break until
/// 13 December 2014.
#[test]
fn sem_example_2_control_on_departure_30_november_2014() {
    check(
        &[("2014-08-15", Some("2014-09-30")), ("2014-11-01", None)],
        "2014-11-30",
        77,
        13,
        Some("2014-12-13"),
    );
}

/// SEM example 4: exit control on 30 January 2014 with a 90-day multiple-entry visa, stamps
/// 01.06.2013-13.07.2013, 15.08.2013-30.09.2013, 01.01.2014-30.01.2014: the June-July stay is
/// outside the period, the stay is legal, and the person could have stayed until 31.03.2014.
#[test]
fn sem_example_4_multiple_entries_control_on_30_january_2014() {
    check(
        &[
            ("2013-06-01", Some("2013-07-13")),
            ("2013-08-15", Some("2013-09-30")),
            ("2014-01-01", None),
        ],
        "2014-01-30",
        77,
        13,
        Some("2014-03-31"),
    );
}

/// SEM example 5: departure on 9 June 2014 after 01.09.2013-30.09.2013,
/// 21.02.2014-20.04.2014 and 01.05.2014-09.06.2014: an overstay of 9 days.
#[test]
fn sem_example_5_shorter_overstay_of_9_days() {
    let history = stays(&[
        ("2013-09-01", Some("2013-09-30")),
        ("2014-02-21", Some("2014-04-20")),
        ("2014-05-01", Some("2014-06-09")),
    ]);
    let counted = count(&history, day("2014-06-09"), ShortStayLimits::NINETY_IN_180);
    assert_eq!(counted.days_used, 99);
    assert_eq!(counted.overstay_days, 9);
    assert_eq!(counted.days_remaining, 0);
    assert_eq!(counted.latest_exit, None, "no compliant day is left");
}

/// SEM example 5, planning: a return on 30 August 2014 is possible and may last up to 50 days.
#[test]
fn sem_example_5_return_on_30_august_2014_allows_50_days() {
    let history = stays(&[
        ("2013-09-01", Some("2013-09-30")),
        ("2014-02-21", Some("2014-04-20")),
        ("2014-05-01", Some("2014-06-09")),
    ]);
    let allowed = days_allowed_from(
        &history,
        &[],
        day("2014-08-30"),
        day("2014-08-29"),
        ShortStayLimits::NINETY_IN_180,
    );
    assert_eq!(allowed, 50);
}

/// The Commission's manual: "an absence for an uninterrupted period of 90 days allows for a
/// new stay for up to 90 days".
#[test]
fn an_absence_of_90_days_allows_a_new_stay_of_90_days() {
    let history = stays(&[("2026-01-01", Some("2026-03-31"))]);
    // Absent 1 April to 29 June: 90 days.
    let allowed = days_allowed_from(
        &history,
        &[],
        day("2026-06-30"),
        day("2026-06-29"),
        ShortStayLimits::NINETY_IN_180,
    );
    assert_eq!(allowed, 90);
    // One day less of absence (89 days): the window ending on the day of entry still holds
    // all 90 days of the old stay, so the entry day itself would be day 91.
    let allowed_early = days_allowed_from(
        &history,
        &[],
        day("2026-06-29"),
        day("2026-06-28"),
        ShortStayLimits::NINETY_IN_180,
    );
    assert_eq!(allowed_early, 0);
}

// Derived from Schengen Borders Code art. 6(1) as amended by Regulation (EU) No 610/2013: the
// cases a border service's records produce.

#[test]
fn entry_and_exit_on_the_same_day_count_one_day() {
    check(
        &[("2026-05-10", Some("2026-05-10"))],
        "2026-05-20",
        1,
        89,
        None,
    );
}

#[test]
fn two_same_day_trips_on_one_day_count_that_day_once() {
    check(
        &[
            ("2026-05-10", Some("2026-05-10")),
            ("2026-05-10", Some("2026-05-10")),
        ],
        "2026-05-20",
        1,
        89,
        None,
    );
}

#[test]
fn exit_and_reentry_on_one_day_count_that_day_once() {
    check(
        &[
            ("2026-01-01", Some("2026-01-10")),
            ("2026-01-10", Some("2026-01-20")),
        ],
        "2026-01-31",
        20,
        70,
        None,
    );
}

#[test]
fn a_stay_long_before_the_window_counts_nothing() {
    check(
        &[("2025-01-01", Some("2025-03-31"))],
        "2025-10-17",
        0,
        90,
        None,
    );
}

#[test]
fn ninety_days_without_a_break_reach_the_limit_on_the_last_day() {
    // 1 January to 31 March 2026 is 90 days: compliant, and the last day to be in.
    check(
        &[("2026-01-01", None)],
        "2026-03-31",
        90,
        0,
        Some("2026-03-31"),
    );
}

#[test]
fn ninety_one_days_without_a_break_overstay_by_one() {
    let counted = count(
        &stays(&[("2026-01-01", None)]),
        day("2026-04-01"),
        ShortStayLimits::NINETY_IN_180,
    );
    assert_eq!((counted.days_used, counted.overstay_days), (91, 1));
    assert_eq!(counted.latest_exit, None);
}

#[test]
fn a_stay_straddling_the_window_start_counts_only_its_days_inside() {
    // The 180 days to 30 June 2025 start on 2 January 2025: 2..20 January is 19 days.
    check(
        &[("2025-01-01", Some("2025-01-20"))],
        "2025-06-30",
        19,
        71,
        None,
    );
}

#[test]
fn a_stay_ending_the_day_before_the_window_counts_nothing() {
    check(
        &[("2024-12-20", Some("2025-01-01"))],
        "2025-06-30",
        0,
        90,
        None,
    );
}

#[test]
fn a_stay_starting_on_the_window_start_counts_fully() {
    check(
        &[("2025-01-02", Some("2025-01-11"))],
        "2025-06-30",
        10,
        80,
        None,
    );
}

#[test]
fn the_window_counts_leap_days() {
    // The 180 days to 1 March 2024 start on 4 September 2023 (29 February 2024 is one of them).
    check(
        &[("2023-09-03", Some("2023-09-05"))],
        "2024-03-01",
        2,
        88,
        None,
    );
}

#[test]
fn an_open_stay_counts_through_today_and_gives_the_last_compliant_day() {
    check(
        &[("2026-10-01", None)],
        "2026-11-25",
        56,
        34,
        Some("2026-12-29"),
    );
}

#[test]
fn an_open_stay_gains_the_days_an_older_stay_loses_from_the_window() {
    // 60 days from 1 March 2026, then in the country from 1 August: on 10 August 70 used; as the
    // March-April days leave the window each day in adds one and removes one, so the last
    // compliant day is 29 October (1 August to 29 October is 90 days).
    check(
        &[("2026-03-01", Some("2026-04-29")), ("2026-08-01", None)],
        "2026-08-10",
        70,
        20,
        Some("2026-10-29"),
    );
}

#[test]
fn after_ninety_days_no_stay_is_allowed_the_next_day() {
    let counted = count(
        &stays(&[("2026-01-01", Some("2026-03-31"))]),
        day("2026-04-01"),
        ShortStayLimits::NINETY_IN_180,
    );
    assert_eq!((counted.days_used, counted.days_remaining), (90, 0));
    assert!(!counted.present);
    assert_eq!(counted.days_allowed_if_entering_next_day, Some(0));
}

#[test]
fn stays_after_the_day_of_the_count_are_not_counted() {
    check(
        &[
            ("2026-01-01", Some("2026-01-10")),
            ("2026-02-01", Some("2026-02-10")),
        ],
        "2026-01-20",
        10,
        80,
        None,
    );
}

#[test]
fn days_under_a_permit_are_not_counted() {
    use dprofile_status::short_stay::count_excluding;
    // In the country since 1 September 2026; a patent from 20 September to 19 December: only
    // 1..19 September count, and the latest exit moves past the patent's end.
    let counted = count_excluding(
        &stays(&[("2026-09-01", None)]),
        &[(day("2026-09-20"), day("2026-12-19"))],
        day("2026-11-25"),
        ShortStayLimits::NINETY_IN_180,
    );
    assert_eq!((counted.days_used, counted.days_remaining), (19, 71));
    // After the patent ends on 19 December the September days leave the window (from 1 March)
    // as fast as new days come in, so a stay without a break may go on until the 19 September
    // days are out and 90 days after the patent are used: 20 December + 89 = 19 March 2027.
    assert_eq!(counted.latest_exit, Some(day("2027-03-19")));
}

#[test]
fn several_short_trips_add_up() {
    // Five weekend trips of 3 days each (Friday to Sunday, both ends counted).
    check(
        &[
            ("2026-03-06", Some("2026-03-08")),
            ("2026-03-20", Some("2026-03-22")),
            ("2026-04-03", Some("2026-04-05")),
            ("2026-04-17", Some("2026-04-19")),
            ("2026-05-01", Some("2026-05-03")),
        ],
        "2026-05-10",
        15,
        75,
        None,
    );
}

fn instant(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("test instants are valid")
        .with_timezone(&chrono::Utc)
}

fn cited(record_id: i64) -> RecordRef {
    RecordRef {
        record_id,
        source: "fps".to_owned(),
        source_ref: format!("fps-{record_id}"),
    }
}

#[test]
fn an_exit_with_no_entry_counts_its_own_day_and_says_so() {
    let mut crossings = vec![(
        instant("2026-05-10T10:00:00Z"),
        CrossingDirection::Exit,
        cited(1),
    )];
    let (stays, notes) = stays_from_crossings(&mut crossings, RuleSet::v1().crossing_day_offset);
    assert_eq!(
        stays,
        vec![StayPeriod::closed(day("2026-05-10"), day("2026-05-10"))]
    );
    assert!(notes[0].contains("no recorded entry"), "{notes:?}");
}

#[test]
fn two_entries_in_a_row_count_the_first_one_day_and_say_so() {
    let mut crossings = vec![
        (
            instant("2026-05-12T10:00:00Z"),
            CrossingDirection::Entry,
            cited(2),
        ),
        (
            instant("2026-05-01T10:00:00Z"),
            CrossingDirection::Entry,
            cited(1),
        ),
        (
            instant("2026-05-20T10:00:00Z"),
            CrossingDirection::Exit,
            cited(3),
        ),
    ];
    let (stays, notes) = stays_from_crossings(&mut crossings, RuleSet::v1().crossing_day_offset);
    assert_eq!(
        stays,
        vec![
            StayPeriod::closed(day("2026-05-01"), day("2026-05-01")),
            StayPeriod::closed(day("2026-05-12"), day("2026-05-20")),
        ]
    );
    assert_eq!(notes.len(), 1);
}

#[test]
fn a_crossing_late_in_the_utc_day_counts_on_the_moscow_day() {
    let mut crossings = vec![
        (
            instant("2026-05-01T22:30:00Z"),
            CrossingDirection::Entry,
            cited(1),
        ),
        (
            instant("2026-05-03T08:00:00Z"),
            CrossingDirection::Exit,
            cited(2),
        ),
    ];
    let (stays, _) = stays_from_crossings(&mut crossings, RuleSet::v1().crossing_day_offset);
    // 22:30 UTC is 01:30 on 2 May in Moscow: 2 and 3 May, two days.
    assert_eq!(
        stays,
        vec![StayPeriod::closed(day("2026-05-02"), day("2026-05-03"))]
    );
}

// Snapshots of the explanations, one profile per situation, together covering every kind.

fn fact(record_id: i64, category: Category, data: Value) -> StatusFact {
    let parsed = parse_payload(category, &data);
    let payload: Payload = parsed
        .result
        .unwrap_or_else(|violations| panic!("test payload refused: {violations:?}"));
    StatusFact {
        cited: RecordRef {
            record_id,
            source: category.code().to_owned(),
            source_ref: format!("{}-{record_id}", category.code()),
        },
        payload,
    }
}

fn crossing(record_id: i64, direction: &str, at: &str) -> StatusFact {
    fact(
        record_id,
        Category::BorderCrossing,
        json!({"direction": direction, "crossed_at": at, "checkpoint": "Domodedovo", "transport": "air"}),
    )
}

fn registration(record_id: i64, from: &str, to: &str) -> StatusFact {
    fact(
        record_id,
        Category::MigrationRegistration,
        json!({"registered_on": from, "expires_on": to,
               "address": {"region": "77", "city": "Moscow", "street": "Tverskaya 1"},
               "host": {"kind": "organisation", "name": "OOO Stroy"}}),
    )
}

const TODAY: &str = "2026-11-25";

#[test]
fn snapshot_patent_worker() {
    let facts = vec![
        crossing(1, "entry", "2026-09-01T09:00:00Z"),
        fact(
            2,
            Category::StayDocument,
            json!({"kind": "patent", "number": "77 2600123456", "issued_on": "2026-09-20",
                   "expires_on": "2027-09-19", "region": "77", "profession": "bricklayer",
                   "patent_paid_until": "2026-12-19"}),
        ),
        registration(3, "2026-09-02", "2026-11-30"),
        fact(
            4,
            Category::TaxDebt,
            json!({"balance": -1250.50, "as_of": "2026-11-01", "kind": "patent"}),
        ),
    ];
    let report = evaluate(&facts, day(TODAY), &RuleSet::v1());
    assert_eq!(
        report.get(StatusKind::RightToWork).map(|s| s.answer),
        Some(Answer::Yes)
    );
    insta::assert_yaml_snapshot!(report);
}

#[test]
fn snapshot_visa_free_overstay_with_entry_ban() {
    let facts = vec![
        crossing(1, "entry", "2026-06-01T09:00:00Z"),
        crossing(2, "exit", "2026-07-15T18:00:00Z"),
        crossing(3, "entry", "2026-09-01T09:00:00Z"),
        fact(
            4,
            Category::EntryBan,
            json!({"basis": "115-FZ art. 27(1)(12)", "authority": "MVD", "decided_on": "2026-11-20",
                   "banned_from": "2026-11-21", "banned_until": "2031-11-20", "reason": "overstay"}),
        ),
        fact(
            5,
            Category::EntryBan,
            json!({"basis": "115-FZ art. 26(4)", "authority": "FSB", "decided_on": "2019-01-10",
                   "banned_from": "2019-01-10", "banned_until": "2022-01-10"}),
        ),
        fact(
            6,
            Category::TaxDebt,
            json!({"balance": 0, "as_of": "2026-10-01"}),
        ),
    ];
    let report = evaluate(&facts, day(TODAY), &RuleSet::v1());
    assert_eq!(
        report.get(StatusKind::VisaFreeStay).map(|s| s.answer),
        Some(Answer::No)
    );
    insta::assert_yaml_snapshot!(report);
}

#[test]
fn snapshot_visa_free_visitor_within_the_limit() {
    let facts = vec![
        crossing(1, "entry", "2026-08-01T09:00:00Z"),
        crossing(2, "exit", "2026-08-20T18:00:00Z"),
        crossing(3, "entry", "2026-11-01T09:00:00Z"),
        registration(4, "2026-11-02", "2026-11-28"),
    ];
    let report = evaluate(&facts, day(TODAY), &RuleSet::v1());
    insta::assert_yaml_snapshot!(report);
}

#[test]
fn snapshot_residence_permit_holder() {
    let facts = vec![fact(
        1,
        Category::StayDocument,
        json!({"kind": "residence_permit", "number": "82 1234567", "issued_on": "2022-03-01"}),
    )];
    let report = evaluate(&facts, day(TODAY), &RuleSet::v1());
    insta::assert_yaml_snapshot!(report);
}

#[test]
fn snapshot_lapsed_patent_and_expired_registration() {
    let facts = vec![
        fact(
            1,
            Category::StayDocument,
            json!({"kind": "patent", "number": "50 2600999999", "issued_on": "2026-03-01",
                   "expires_on": "2027-02-28", "region": "50", "patent_paid_until": "2026-10-31"}),
        ),
        registration(2, "2026-03-02", "2026-10-31"),
        fact(
            3,
            Category::Visa,
            json!({"visa_number": "V123", "kind": "ordinary", "purpose": "work", "entries": "multiple",
                   "issued_on": "2025-01-10", "valid_from": "2025-02-01", "valid_to": "2026-01-31",
                   "issuing_post": "Tashkent"}),
        ),
    ];
    let report = evaluate(&facts, day(TODAY), &RuleSet::v1());
    assert_eq!(
        report.get(StatusKind::RightToWork).map(|s| s.answer),
        Some(Answer::No)
    );
    insta::assert_yaml_snapshot!(report);
}

#[test]
fn snapshot_work_visa_holder() {
    let facts = vec![fact(
        1,
        Category::Visa,
        json!({"visa_number": "W777", "kind": "ordinary", "purpose": "work", "entries": "multiple",
               "issued_on": "2026-05-10", "valid_from": "2026-06-01", "valid_to": "2027-05-31",
               "issuing_post": "Beijing"}),
    )];
    let report = evaluate(&facts, day(TODAY), &RuleSet::v1());
    insta::assert_yaml_snapshot!(report);
}

#[test]
fn the_same_facts_and_day_give_the_same_report_whatever_their_order() {
    let mut facts = vec![
        crossing(1, "entry", "2026-06-01T09:00:00Z"),
        crossing(2, "exit", "2026-07-15T18:00:00Z"),
        crossing(3, "entry", "2026-09-01T09:00:00Z"),
        registration(4, "2026-09-02", "2026-11-30"),
    ];
    let forward = evaluate(&facts, day(TODAY), &RuleSet::v1());
    facts.reverse();
    let backward = evaluate(&facts, day(TODAY), &RuleSet::v1());
    assert_eq!(forward, backward);
}
