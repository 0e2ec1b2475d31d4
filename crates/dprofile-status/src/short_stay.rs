//! The 90-in-180-days rule for visa-free stays, counted from border crossings.
//!
//! The rule as Regulation (EU) No 610/2013 wrote it into the Schengen Borders Code (art. 6(1))
//! and as the Russian law on foreigners (art. 5(1) of Federal Law 115-FZ) has it for visa-free
//! entry: a stay may not exceed 90 days in any 180-day period. "Any" makes the period roll: on
//! every day of a stay, look back over the 180 days ending that day (that day included) and
//! count the days spent in the country; the count may not exceed 90. The day of entry and the
//! day of exit both count as days of stay, so a same-day entry and exit is one day.
//!
//! The counting works on a map of days (one flag per calendar day of the range it needs), so
//! a count is one pass over the window and the forward search for the latest exit at most 91
//! such passes: microseconds, which matters because the share-code check calls it per check.

use chrono::{Days, NaiveDate};

/// The limits of the rule: a rule set may carry other numbers (a bilateral agreement with 90
/// in 365, say) without another algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShortStayLimits {
    pub max_days: u32,
    pub window_days: u32,
}

impl ShortStayLimits {
    pub const NINETY_IN_180: ShortStayLimits = ShortStayLimits {
        max_days: 90,
        window_days: 180,
    };
}

/// One stay in the country: the day of entry and, once the person left, the day of exit (both
/// are days of stay). `exit: None` is an open stay: the person is in the country.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StayPeriod {
    pub entry: NaiveDate,
    pub exit: Option<NaiveDate>,
}

impl StayPeriod {
    pub fn closed(entry: NaiveDate, exit: NaiveDate) -> StayPeriod {
        StayPeriod {
            entry,
            exit: Some(exit),
        }
    }

    pub fn open(entry: NaiveDate) -> StayPeriod {
        StayPeriod { entry, exit: None }
    }
}

/// The count on one day: what an officer at a check or the person planning needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShortStayCount {
    /// The day of the count ("today", or the control date).
    pub on: NaiveDate,
    /// First day of the 180-day period ending on `on`.
    pub window_start: NaiveDate,
    /// Days of stay inside the period, `on` included when the person is in the country.
    pub days_used: u32,
    /// `max_days - days_used`, never below zero.
    pub days_remaining: u32,
    /// Days beyond the limit on `on` (0 when within it).
    pub overstay_days: u32,
    /// An open stay reaches `on`: the person is in the country.
    pub present: bool,
    /// When present and within the limit: the last day the person may still be in the country
    /// (staying without a break from `on`) without breaking the rule on any day.
    pub latest_exit: Option<NaiveDate>,
    /// When not present: how many days a stay starting on the day after `on` may last.
    pub days_allowed_if_entering_next_day: Option<u32>,
}

/// Counts the stays on `on`. An open stay counts through `on`; stays and days after `on` are
/// not counted (the count is as of that day).
pub fn count(stays: &[StayPeriod], on: NaiveDate, limits: ShortStayLimits) -> ShortStayCount {
    count_excluding(stays, &[], on, limits)
}

/// [`count`], with days that do not count towards the limit: days of stay under a residence
/// permit, a patent or a visa are not visa-free days (Regulation (EU) No 610/2013: "periods of
/// stay authorised under a residence permit or a long-stay visa shall not be taken into
/// account"). `excluded` holds inclusive day ranges; they apply to future days too, so a permit
/// valid beyond `on` moves the latest exit accordingly.
pub fn count_excluding(
    stays: &[StayPeriod],
    excluded: &[(NaiveDate, NaiveDate)],
    on: NaiveDate,
    limits: ShortStayLimits,
) -> ShortStayCount {
    let present = stays
        .iter()
        .any(|stay| stay.entry <= on && stay.exit.is_none_or(|exit| exit >= on));
    let window = u64::from(limits.window_days.saturating_sub(1));
    let window_start = on - Days::new(window);
    // One map from the earliest day any count needs to the farthest day a stay without a
    // break can reach (the limit in days from `on`, plus one day to find where it ends).
    let horizon = horizon_after(on, excluded, limits);
    let mut map = DayMap::new(window_start, horizon);
    for (from, to) in excluded {
        map.exclude(*from, *to);
    }
    for stay in stays {
        let exit = stay.exit.unwrap_or(on).min(on);
        map.mark(stay.entry, exit);
    }
    let days_used = map.count_window(on, limits.window_days);
    let days_remaining = limits.max_days.saturating_sub(days_used);
    let overstay_days = days_used.saturating_sub(limits.max_days);
    let mut latest_exit = None;
    let mut days_allowed_if_entering_next_day = None;
    if present {
        if overstay_days == 0 {
            latest_exit = Some(last_compliant_day(&mut map, on, horizon, limits));
        }
    } else {
        days_allowed_if_entering_next_day = Some(days_allowed_from(
            stays,
            excluded,
            on + Days::new(1),
            on,
            limits,
        ));
    }
    ShortStayCount {
        on,
        window_start,
        days_used,
        days_remaining,
        overstay_days,
        present,
        latest_exit,
        days_allowed_if_entering_next_day,
    }
}

/// How many days a stay entered on `entry` may last without a break before any day of it
/// breaks the rule, given the stays recorded up to `known_until` (the "planning" question of
/// the EU short-stay calculator). 0 when the entry day itself would break it.
pub fn days_allowed_from(
    stays: &[StayPeriod],
    excluded: &[(NaiveDate, NaiveDate)],
    entry: NaiveDate,
    known_until: NaiveDate,
    limits: ShortStayLimits,
) -> u32 {
    let window = u64::from(limits.window_days.saturating_sub(1));
    let horizon = horizon_after(entry, excluded, limits);
    let mut map = DayMap::new(entry - Days::new(window), horizon);
    for (from, to) in excluded {
        map.exclude(*from, *to);
    }
    for stay in stays {
        let exit = stay.exit.unwrap_or(known_until).min(known_until);
        map.mark(stay.entry, exit);
    }
    // The entry day itself is the first hypothetical day.
    map.mark(entry, entry);
    if map.count_window(entry, limits.window_days) > limits.max_days {
        return 0;
    }
    let last = last_compliant_day(&mut map, entry, horizon, limits);
    u32::try_from((last - entry).num_days() + 1).unwrap_or(0)
}

/// The farthest day a stay without a break from `from` can reach: the limit in days past the
/// last excluded day (excluded days do not use it up), plus one to see where it ends. An
/// exclusion with no end (a residence permit) is cut at ten years: beyond that the answer is
/// "not limited by this rule" for any reader.
fn horizon_after(
    from: NaiveDate,
    excluded: &[(NaiveDate, NaiveDate)],
    limits: ShortStayLimits,
) -> NaiveDate {
    let cap = from + Days::new(3653);
    let last_excluded = excluded
        .iter()
        .map(|(_, to)| (*to).min(cap))
        .filter(|to| *to > from)
        .max()
        .unwrap_or(from);
    last_excluded + Days::new(u64::from(limits.max_days) + 1)
}

/// Marks the days after `from` as present one by one and returns the last day before the
/// first one on which the count exceeds the limit (`from` itself when the next day does).
fn last_compliant_day(
    map: &mut DayMap,
    from: NaiveDate,
    horizon: NaiveDate,
    limits: ShortStayLimits,
) -> NaiveDate {
    let mut day = from;
    while day < horizon {
        let next = day + Days::new(1);
        map.mark(next, next);
        if map.count_window(next, limits.window_days) > limits.max_days {
            return day;
        }
        day = next;
    }
    day
}

/// Presence per calendar day over a fixed range.
struct DayMap {
    first: NaiveDate,
    present: Vec<bool>,
    /// Days that never count, whatever is marked.
    excluded: Vec<bool>,
}

impl DayMap {
    fn new(first: NaiveDate, last: NaiveDate) -> DayMap {
        let length = usize::try_from((last - first).num_days() + 1).unwrap_or(0);
        DayMap {
            first,
            present: vec![false; length],
            excluded: vec![false; length],
        }
    }

    fn index(&self, day: NaiveDate) -> i64 {
        (day - self.first).num_days()
    }

    /// Marks `entry..=exit` as present, clipped to the range; excluded days stay unmarked.
    fn mark(&mut self, entry: NaiveDate, exit: NaiveDate) {
        for slot in self.slots(entry, exit) {
            if !self.excluded[slot] {
                self.present[slot] = true;
            }
        }
    }

    fn exclude(&mut self, from: NaiveDate, to: NaiveDate) {
        for slot in self.slots(from, to) {
            self.excluded[slot] = true;
            self.present[slot] = false;
        }
    }

    fn slots(&self, from: NaiveDate, to: NaiveDate) -> std::ops::Range<usize> {
        let length = i64::try_from(self.present.len()).unwrap_or(i64::MAX);
        let start = self.index(from).clamp(0, length);
        let end = (self.index(to) + 1).clamp(start, length);
        usize::try_from(start).unwrap_or(0)..usize::try_from(end).unwrap_or(0)
    }

    /// Days present in the `window_days` ending on `day` (days before the range count as
    /// absent: the range always starts where the earliest window needed starts).
    fn count_window(&self, day: NaiveDate, window_days: u32) -> u32 {
        let end = self.index(day);
        let start = (end - i64::from(window_days) + 1).max(0);
        let mut total = 0u32;
        let mut position = start;
        while position <= end {
            if let Ok(slot) = usize::try_from(position)
                && self.present.get(slot).copied().unwrap_or(false)
            {
                total += 1;
            }
            position += 1;
        }
        total
    }
}
