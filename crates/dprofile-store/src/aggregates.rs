//! Counts over many persons for the analysts' dashboard, computed by the database (`GROUP BY`
//! over the versions in force): no individual row leaves the store, only (group, count) pairs.
//!
//! Both backends run the same SQL, built here; only the way a JSON field of the stored raw
//! record is read differs (`json_extract` in SQLite, `jsonb` operators in PostgreSQL). Dates
//! are compared as ISO text (`YYYY-MM-DD` sorts as it counts), so no date functions differ
//! either.

use chrono::{Datelike as _, Months, NaiveDate};

/// Which aggregate to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateQuery {
    /// Persons by the citizenship their records in force state (a person whose sources state
    /// two citizenships counts under both).
    Citizenship,
    /// Persons by the region of their migration registration in force.
    Region,
    /// Persons by the kind of stay document in force on `today` (visa, patent, …).
    StayBasis { today: NaiveDate },
    /// Persons with a record in force on `today` in each status-bearing category (a stay
    /// document, a registration, an entry ban, a tax debt, an employment).
    Status { today: NaiveDate },
    /// Border crossings by month (`YYYY-MM`) and direction, over the 24 months up to `today`.
    Crossings { today: NaiveDate },
    /// Stay documents (by kind) and registrations expiring within 90 days of `today`, in the
    /// disjoint bands `30` (today to +30 days), `60` (+31 to +60) and `90` (+61 to +90).
    /// Disjoint bands, not cumulative ones: the difference of two cumulative counts would show
    /// a small group that each count on its own hides.
    Expiring { today: NaiveDate },
}

/// One group's count: `key` (a citizenship, a month…), `group` (a second dimension: the
/// crossing's direction, the expiry band; empty when there is none) and the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateRow {
    pub key: String,
    pub group: String,
    pub count: u64,
}

/// The categories whose records in force count as a status on the dashboard, in the order it
/// shows them.
pub const STATUS_CATEGORIES: [&str; 5] = [
    "stay_document",
    "migration_registration",
    "employment",
    "entry_ban",
    "tax_debt",
];

/// How a backend reads the text at `path` (object keys) of a record's raw JSON `r.raw`.
pub(crate) type JsonText = fn(&[&str]) -> String;

fn iso(date: NaiveDate) -> String {
    // A `NaiveDate` formats to digits and dashes only: safe inside a SQL literal.
    format!("'{}'", date.format("%Y-%m-%d"))
}

/// The SQL of `query`: rows of (key TEXT, group TEXT, count BIGINT).
pub(crate) fn aggregate_sql(query: AggregateQuery, json: JsonText) -> String {
    // The versions in force of keys that belong to a person not merged away.
    const IN_FORCE: &str = "FROM record_keys k \
         JOIN records r ON r.id = k.record_id \
         JOIN persons p ON p.id = k.person_id AND p.merged_into IS NULL \
         WHERE k.action = 'upsert'";
    let in_force_on = |today: NaiveDate| {
        format!(
            "(r.valid_from IS NULL OR r.valid_from <= {day}) AND (r.valid_to IS NULL OR r.valid_to >= {day})",
            day = iso(today)
        )
    };
    match query {
        AggregateQuery::Citizenship => {
            let value = json(&["subject", "citizenship"]);
            format!(
                "SELECT {value} AS key, '' AS grp, COUNT(DISTINCT k.person_id) AS n {IN_FORCE} \
                 AND {value} IS NOT NULL GROUP BY {value} ORDER BY n DESC, key"
            )
        }
        AggregateQuery::Region => {
            let value = json(&["data", "address", "region"]);
            format!(
                "SELECT {value} AS key, '' AS grp, COUNT(DISTINCT k.person_id) AS n {IN_FORCE} \
                 AND r.category = 'migration_registration' AND {value} IS NOT NULL \
                 GROUP BY {value} ORDER BY n DESC, key"
            )
        }
        AggregateQuery::StayBasis { today } => {
            let value = json(&["data", "kind"]);
            let expires = json(&["data", "expires_on"]);
            format!(
                "SELECT {value} AS key, '' AS grp, COUNT(DISTINCT k.person_id) AS n {IN_FORCE} \
                 AND r.category = 'stay_document' AND {value} IS NOT NULL \
                 AND ({expires} IS NULL OR {expires} >= {day}) AND {in_force} \
                 GROUP BY {value} ORDER BY n DESC, key",
                day = iso(today),
                in_force = in_force_on(today)
            )
        }
        AggregateQuery::Status { today } => {
            let categories = STATUS_CATEGORIES
                .iter()
                .map(|category| format!("'{category}'"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "SELECT r.category AS key, '' AS grp, COUNT(DISTINCT k.person_id) AS n {IN_FORCE} \
                 AND r.category IN ({categories}) AND {in_force} \
                 GROUP BY r.category ORDER BY key",
                in_force = in_force_on(today)
            )
        }
        AggregateQuery::Crossings { today } => {
            let first_month = today
                .with_day0(0)
                .and_then(|first| first.checked_sub_months(Months::new(23)))
                .unwrap_or(today);
            let crossed = json(&["data", "crossed_at"]);
            let direction = json(&["data", "direction"]);
            let month = format!("SUBSTR({crossed}, 1, 7)");
            format!(
                "SELECT {month} AS key, {direction} AS grp, COUNT(*) AS n {IN_FORCE} \
                 AND r.category = 'border_crossing' AND {direction} IS NOT NULL \
                 AND {crossed} >= {from} AND SUBSTR({crossed}, 1, 10) <= {to} \
                 GROUP BY {month}, {direction} ORDER BY key, grp",
                from = iso(first_month),
                to = iso(today)
            )
        }
        AggregateQuery::Expiring { today } => {
            let expires = json(&["data", "expires_on"]);
            let kind = json(&["data", "kind"]);
            let day = |days: u64| iso(today + chrono::Days::new(days));
            let band = format!(
                "CASE WHEN {expires} <= {d30} THEN '30' WHEN {expires} <= {d60} THEN '60' ELSE '90' END",
                d30 = day(30),
                d60 = day(60)
            );
            let label = format!(
                "CASE WHEN r.category = 'migration_registration' THEN 'registration' ELSE {kind} END"
            );
            format!(
                "SELECT {label} AS key, {band} AS grp, COUNT(DISTINCT k.person_id) AS n {IN_FORCE} \
                 AND r.category IN ('stay_document', 'migration_registration') \
                 AND {expires} IS NOT NULL AND {expires} >= {from} AND {expires} <= {to} \
                 GROUP BY {label}, {band} ORDER BY key, grp",
                from = iso(today),
                to = day(90)
            )
        }
    }
}
