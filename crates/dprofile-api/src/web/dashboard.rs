//! The analysts' dashboard: the migration picture as aggregates only, charts drawn on the server and tables with CSV downloads, with small counts suppressed so no individual can be singled out.
//!
//! The counts are grouped by the store (`Store::aggregate`, SQL `GROUP BY` on both backends):
//! no person's row reaches this module. Each view and each CSV download is an `aggregate`
//! action for purpose `statistics`, decided by the access policy (the analyst's role has it)
//! and logged with no person, like every other access. A count below the configured minimum
//! (`ApiConfig::dashboard_min_count`, `serve --min-count`) is shown as `<10` in the chart, the
//! table and the CSV alike; where a table's total would then give a single suppressed count
//! away, the next smallest count of that column is hidden too (complementary suppression).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use dprofile_audit::AccessAction;
use dprofile_policy::Action;
use dprofile_store::{AggregateQuery, AggregateRow};
use minijinja::context;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use super::i18n;
use super::session::OfficerPage;
use super::templates::{WebError, render};
use crate::auth::{AccessEvent, Caller, Purpose, decide, log_access, refuse};
use crate::problem::ApiError;
use crate::routes::status::today;
use crate::{ApiContext, run_blocking};

/// This area's templates, by the name pages render them with.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    (
        "analytics/dashboard.html",
        include_str!("../../templates/analytics/dashboard.html"),
    ),
    (
        "analytics/refused.html",
        include_str!("../../templates/analytics/refused.html"),
    ),
];

/// The purpose every dashboard access states: the policy grants `aggregate` for it.
const PURPOSE: &str = "statistics";

/// The categories the dashboard's counts read, named in each access-log entry.
const CATEGORIES_READ: [&str; 6] = [
    "border_crossing",
    "employment",
    "entry_ban",
    "migration_registration",
    "stay_document",
    "tax_debt",
];

pub(super) fn routes() -> Router<ApiContext> {
    Router::new()
        .route("/analytics", get(dashboard))
        .route("/analytics/{file}", get(csv))
}

/// The dashboard's tables, each with a chart and a CSV download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableId {
    Citizenship,
    Region,
    StayBasis,
    Status,
    Crossings,
    Expiring,
}

impl TableId {
    const ALL: [TableId; 6] = [
        TableId::Citizenship,
        TableId::Region,
        TableId::StayBasis,
        TableId::Status,
        TableId::Crossings,
        TableId::Expiring,
    ];

    /// The table's name in URLs (`/analytics/<slug>.csv`) and message ids.
    fn slug(self) -> &'static str {
        match self {
            TableId::Citizenship => "citizenship",
            TableId::Region => "region",
            TableId::StayBasis => "stay-basis",
            TableId::Status => "status",
            TableId::Crossings => "crossings",
            TableId::Expiring => "expiring",
        }
    }

    fn from_slug(slug: &str) -> Option<TableId> {
        TableId::ALL.into_iter().find(|table| table.slug() == slug)
    }

    fn query(self, today: NaiveDate) -> AggregateQuery {
        match self {
            TableId::Citizenship => AggregateQuery::Citizenship,
            TableId::Region => AggregateQuery::Region,
            TableId::StayBasis => AggregateQuery::StayBasis { today },
            TableId::Status => AggregateQuery::Status { today },
            TableId::Crossings => AggregateQuery::Crossings { today },
            TableId::Expiring => AggregateQuery::Expiring { today },
        }
    }

    /// The column groups (`AggregateRow::group`) in order; one unnamed column for the
    /// one-dimensional tables.
    fn columns(self) -> &'static [&'static str] {
        match self {
            TableId::Crossings => &["entry", "exit"],
            TableId::Expiring => &["30", "60", "90"],
            _ => &[""],
        }
    }

    /// Whether the table has a total row. The status table has none: a person holds several
    /// statuses at once, so its rows do not add up to anything.
    fn has_total(self) -> bool {
        self != TableId::Status
    }
}

/// One count as shown: the number, or suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "count", rename_all = "snake_case")]
pub(crate) enum Cell {
    Shown(u64),
    /// Below the minimum count: shown as `<N`.
    Small,
    /// At or above the minimum, hidden so that the total does not give a small count away.
    Hidden,
}

/// Suppresses one column of counts that adds up to a total: every count below `min_count`
/// becomes [`Cell::Small`]; when a total is shown and exactly one count is suppressed, the
/// smallest other non-zero count is [`Cell::Hidden`] too, so that the total minus the shown
/// counts is the sum of two unknowns, not one person's group. The total itself is suppressed
/// when it is below `min_count`. Zero is shown: an empty group singles nobody out.
pub(crate) fn suppress_column(
    counts: &[u64],
    min_count: u64,
    with_total: bool,
) -> (Vec<Cell>, Option<Cell>) {
    let small = |count: u64| count > 0 && count < min_count;
    let mut cells: Vec<Cell> = counts
        .iter()
        .map(|&count| {
            if small(count) {
                Cell::Small
            } else {
                Cell::Shown(count)
            }
        })
        .collect();
    if !with_total {
        return (cells, None);
    }
    let total: u64 = counts.iter().sum();
    if small(total) {
        return (cells, Some(Cell::Small));
    }
    let suppressed = cells.iter().filter(|cell| **cell == Cell::Small).count();
    if suppressed == 1 {
        let complement = cells
            .iter()
            .enumerate()
            .filter_map(|(index, cell)| match cell {
                Cell::Shown(count) if *count > 0 => Some((*count, index)),
                _ => None,
            })
            .min();
        if let Some((_, index)) = complement {
            cells[index] = Cell::Hidden;
        }
    }
    (cells, Some(Cell::Shown(total)))
}

/// A table ready to show: rows of cells by column, and the totals.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Table {
    pub slug: &'static str,
    /// Message ids of the column headers.
    pub columns: Vec<String>,
    pub rows: Vec<TableRow>,
    pub totals: Option<Vec<Cell>>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct TableRow {
    /// The group as stored (a citizenship code, a region, a month…).
    pub key: String,
    /// A message id naming the group, when it has one (statuses, kinds of document).
    pub label: Option<String>,
    pub cells: Vec<Cell>,
}

/// Builds `table` from the store's rows with suppression applied column by column.
pub(crate) fn build_table(table: TableId, rows: &[AggregateRow], min_count: u64) -> Table {
    let mut keys: Vec<String> = Vec::new();
    for row in rows {
        if !keys.contains(&row.key) {
            keys.push(row.key.clone());
        }
    }
    if table == TableId::Crossings {
        keys.sort();
    }
    let columns = table.columns();
    let mut cells = vec![vec![Cell::Shown(0); columns.len()]; keys.len()];
    let mut totals = Vec::new();
    for (column_index, column) in columns.iter().enumerate() {
        let counts: Vec<u64> = keys
            .iter()
            .map(|key| {
                rows.iter()
                    .filter(|row| &row.key == key && row.group == *column)
                    .map(|row| row.count)
                    .sum()
            })
            .collect();
        let (column_cells, total) = suppress_column(&counts, min_count, table.has_total());
        for (row_index, cell) in column_cells.into_iter().enumerate() {
            cells[row_index][column_index] = cell;
        }
        if let Some(total) = total {
            totals.push(total);
        }
    }
    Table {
        slug: table.slug(),
        columns: columns
            .iter()
            .map(|column| {
                if column.is_empty() {
                    format!("analytics-{}-count", table.slug())
                } else {
                    format!("analytics-column-{column}")
                }
            })
            .collect(),
        rows: keys
            .into_iter()
            .zip(cells)
            .map(|(key, cells)| TableRow {
                label: label_id(table, &key),
                key,
                cells,
            })
            .collect(),
        totals: table.has_total().then_some(totals),
    }
}

/// The message id naming a group, for the groups that are codes of ours.
fn label_id(table: TableId, key: &str) -> Option<String> {
    const KINDS: [&str; 5] = [
        "visa",
        "patent",
        "temporary_residence_permit",
        "residence_permit",
        "registration",
    ];
    match table {
        TableId::Status if dprofile_store::aggregates::STATUS_CATEGORIES.contains(&key) => {
            Some(format!("analytics-status-{}", key.replace('_', "-")))
        }
        TableId::StayBasis | TableId::Expiring if KINDS.contains(&key) => {
            Some(format!("analytics-kind-{}", key.replace('_', "-")))
        }
        _ => None,
    }
}

/// How a suppressed cell reads: `<10` for a small count, `…` for a hidden one.
fn cell_text(cell: Cell, min_count: u64) -> String {
    match cell {
        Cell::Shown(count) => count.to_string(),
        Cell::Small => format!("<{min_count}"),
        Cell::Hidden => "suppressed".to_owned(),
    }
}

/// The table as CSV (RFC 4180): a header, the rows, the total; suppressed counts as in the
/// page. A group that starts like a spreadsheet formula is quoted with a leading `'`.
pub(crate) fn to_csv(table: &Table, column_names: &[String], min_count: u64) -> String {
    fn field(text: &str) -> String {
        let text = if text.starts_with(['=', '+', '-', '@']) {
            format!("'{text}")
        } else {
            text.to_owned()
        };
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    }
    let mut csv = String::new();
    let header: Vec<String> = std::iter::once("group".to_owned())
        .chain(column_names.iter().cloned())
        .map(|name| field(&name))
        .collect();
    csv.push_str(&header.join(","));
    csv.push_str("\r\n");
    for row in &table.rows {
        let line: Vec<String> = std::iter::once(field(&row.key))
            .chain(row.cells.iter().map(|cell| cell_text(*cell, min_count)))
            .collect();
        csv.push_str(&line.join(","));
        csv.push_str("\r\n");
    }
    if let Some(totals) = &table.totals {
        let line: Vec<String> = std::iter::once("total".to_owned())
            .chain(totals.iter().map(|cell| cell_text(*cell, min_count)))
            .collect();
        csv.push_str(&line.join(","));
        csv.push_str("\r\n");
    }
    csv
}

/// The colours of the series: dark enough on white for text and bars alike (WCAG contrast).
const SERIES_COLOURS: [RGBColor; 3] = [
    RGBColor(0x1f, 0x4e, 0x99),
    RGBColor(0xb3, 0x4a, 0x00),
    RGBColor(0x2e, 0x6b, 0x30),
];

/// A grouped bar chart as an SVG document: one group of bars per row, one bar per column;
/// suppressed counts have no bar, only their marker. `title` becomes the SVG's `<title>`, so
/// that screen readers name the chart; the table next to it carries the numbers.
pub(crate) fn bar_chart(
    chart_id: &str,
    title: &str,
    labels: &[String],
    series_names: &[String],
    table: &Table,
    min_count: u64,
) -> Result<String, String> {
    let rows = table.rows.len().max(1);
    let series = table.columns.len().max(1);
    let highest = table
        .rows
        .iter()
        .flat_map(|row| row.cells.iter())
        .filter_map(|cell| match cell {
            Cell::Shown(count) => Some(*count),
            _ => None,
        })
        .max()
        .unwrap_or(0)
        .max(min_count)
        .max(1);
    let width = (120 + rows * 22 * series).clamp(480, 960) as u32;
    let height = 320u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|error| error.to_string())?;
        // Each row is 100 units wide and centred on a multiple of 100: with at most one label
        // per row, the axis puts its labels exactly at the rows' centres.
        let x_range = -50i32..(rows as i32 * 100 - 50);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(if rows > 8 { 56 } else { 32 })
            .y_label_area_size(56)
            .build_cartesian_2d(x_range, 0f64..highest as f64 * 1.12)
            .map_err(|error| error.to_string())?;
        let label_of = |value: &i32| {
            if *value < 0 || value % 100 != 0 {
                return String::new();
            }
            labels
                .get((value / 100) as usize)
                .cloned()
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(rows)
            .x_label_formatter(&label_of)
            .x_label_style(
                ("sans-serif", 15)
                    .into_font()
                    .transform(if rows > 8 {
                        FontTransform::Rotate270
                    } else {
                        FontTransform::None
                    })
                    .color(&BLACK),
            )
            .y_label_style(("sans-serif", 15).into_font().color(&BLACK))
            .y_label_formatter(&|value: &f64| format!("{value:.0}"))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
            .draw()
            .map_err(|error| error.to_string())?;
        let bar_width = 80 / series as i32;
        for series_index in 0..series {
            let colour = SERIES_COLOURS[series_index % SERIES_COLOURS.len()];
            let bars = table
                .rows
                .iter()
                .enumerate()
                .filter_map(|(row_index, row)| {
                    let left = row_index as i32 * 100 - 40 + series_index as i32 * bar_width;
                    match row.cells.get(series_index) {
                        Some(Cell::Shown(count)) if *count > 0 => Some(Rectangle::new(
                            [(left + 1, 0.0), (left + bar_width - 1, *count as f64)],
                            colour.filled(),
                        )),
                        _ => None,
                    }
                });
            let drawn = chart.draw_series(bars).map_err(|error| error.to_string())?;
            if series > 1 {
                let name = series_names.get(series_index).cloned().unwrap_or_default();
                drawn.label(name).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
            }
            let markers = table
                .rows
                .iter()
                .enumerate()
                .filter_map(|(row_index, row)| {
                    let centre = row_index as i32 * 100 - 40
                        + series_index as i32 * bar_width
                        + bar_width / 2;
                    let text = match row.cells.get(series_index) {
                        Some(Cell::Small) => format!("<{min_count}"),
                        Some(Cell::Hidden) => "…".to_owned(),
                        _ => return None,
                    };
                    Some(Text::new(
                        text,
                        (centre, highest as f64 * 0.02),
                        ("sans-serif", 14).into_font().color(&BLACK).pos(
                            plotters::style::text_anchor::Pos::new(
                                plotters::style::text_anchor::HPos::Center,
                                plotters::style::text_anchor::VPos::Bottom,
                            ),
                        ),
                    ))
                });
            chart
                .draw_series(markers)
                .map_err(|error| error.to_string())?;
        }
        if series > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .label_font(("sans-serif", 15).into_font().color(&BLACK))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(|error| error.to_string())?;
        }
        root.present().map_err(|error| error.to_string())?;
    }
    Ok(accessible_svg(&svg, chart_id, title))
}

/// Names the chart for assistive technology: `role="img"`, a `<title>` and `aria-labelledby`.
fn accessible_svg(svg: &str, chart_id: &str, title: &str) -> String {
    let escaped = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let Some(open_end) = svg.find('>') else {
        return svg.to_owned();
    };
    let (open, rest) = svg.split_at(open_end);
    let open = open.replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-labelledby=\"{chart_id}-title\" class=\"chart\" focusable=\"false\" "
        ),
        1,
    );
    format!(
        "{open}><title id=\"{chart_id}-title\">{escaped}</title>{}",
        &rest[1..]
    )
}

#[derive(Debug, Default, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// Decides and logs the access: `Ok` when the caller's role may aggregate for `statistics`
/// (logged as allowed), else the logged refusal.
async fn allowed(context: &ApiContext, caller: &Caller) -> Result<(), ApiError> {
    let purpose = Purpose {
        purpose: PURPOSE.to_owned(),
        case_ref: None,
    };
    match decide(context, caller, &purpose, Action::Aggregate) {
        Err(refusal) => Err(refuse(
            context,
            caller,
            &purpose,
            AccessAction::Aggregate,
            None,
            refusal,
        )
        .await),
        Ok(allowance) => {
            let (log_context, log_caller) = (context.clone(), caller.clone());
            run_blocking(move || {
                log_access(
                    &log_context,
                    AccessEvent {
                        caller: &log_caller,
                        purpose: &purpose,
                        action: AccessAction::Aggregate,
                        persons: vec![None],
                        categories: CATEGORIES_READ
                            .iter()
                            .map(|code| (*code).to_owned())
                            .collect(),
                        decision: Ok(allowance.disclosure_delay_days),
                    },
                )
            })
            .await
        }
    }
}

/// The refusal page: the policy's reason, what to do.
fn refused_page(lang: &'static str, error: ApiError) -> Result<Response, WebError> {
    match error {
        ApiError::Refused(refusal) => {
            let page = render(
                "analytics/refused.html",
                lang,
                context! { code => refusal.code, reason => refusal.message },
            )?;
            Ok((StatusCode::FORBIDDEN, page).into_response())
        }
        other => Err(other.into()),
    }
}

/// Every table's rows from the store.
async fn load_tables(context: &ApiContext) -> Result<Vec<(TableId, Table)>, ApiError> {
    let store = context.state.store.clone();
    let day = today(&context.state.status_rules, context.state.clock.now());
    let min_count = context.state.config.dashboard_min_count;
    run_blocking(move || {
        TableId::ALL
            .into_iter()
            .map(|table| {
                let rows = store.aggregate(table.query(day))?;
                Ok((table, build_table(table, &rows, min_count)))
            })
            .collect::<Result<Vec<_>, dprofile_store::StoreError>>()
    })
    .await
}

/// A chart and table as the template shows them.
#[derive(Debug, Serialize)]
struct Section {
    slug: &'static str,
    title: String,
    table: Table,
    chart: String,
}

/// `GET /analytics`: every chart and table.
async fn dashboard(
    State(context): State<ApiContext>,
    OfficerPage(caller): OfficerPage,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let lang = i18n::negotiate(query.lang.as_deref(), &headers);
    if let Err(error) = allowed(&context, &caller).await {
        return refused_page(lang, error);
    }
    let min_count = context.state.config.dashboard_min_count;
    let localizer = i18n::localizer();
    let text = |id: &str| localizer.text(lang, id, None);
    let mut sections = Vec::new();
    for (table_id, table) in load_tables(&context).await? {
        let title = text(&format!("analytics-{}-title", table.slug));
        let labels: Vec<String> = table
            .rows
            .iter()
            .map(|row| row.label.as_deref().map_or_else(|| row.key.clone(), &text))
            .collect();
        let series: Vec<String> = table.columns.iter().map(|id| text(id)).collect();
        let chart = bar_chart(
            &format!("chart-{}", table_id.slug()),
            &title,
            &labels,
            &series,
            &table,
            min_count,
        )
        .map_err(|error| {
            tracing::error!(%error, "a chart could not be drawn");
            ApiError::Internal
        })?;
        sections.push(Section {
            slug: table.slug,
            title,
            table,
            chart,
        });
    }
    let page = render(
        "analytics/dashboard.html",
        lang,
        context! {
            sections => sections,
            min_count => min_count as i64,
            analyst => caller.actor(),
        },
    )?;
    Ok(page.into_response())
}

/// `GET /analytics/{table}.csv`: one table, suppressed as on the page.
async fn csv(
    State(context): State<ApiContext>,
    OfficerPage(caller): OfficerPage,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let lang = i18n::negotiate(None, &headers);
    let Some(table_id) = file.strip_suffix(".csv").and_then(TableId::from_slug) else {
        let known: Vec<String> = TableId::ALL
            .iter()
            .map(|table| format!("{}.csv", table.slug()))
            .collect();
        return Err(ApiError::NotFound(format!(
            "no table `{file}` on the dashboard: download one of {}",
            known.join(", ")
        ))
        .into());
    };
    if let Err(error) = allowed(&context, &caller).await {
        return refused_page(lang, error);
    }
    let min_count = context.state.config.dashboard_min_count;
    let tables = load_tables(&context).await?;
    let Some((_, table)) = tables.into_iter().find(|(id, _)| *id == table_id) else {
        return Err(ApiError::Internal.into());
    };
    let column_names: Vec<String> = table_id
        .columns()
        .iter()
        .map(|column| {
            if column.is_empty() {
                "count".to_owned()
            } else {
                (*column).to_owned()
            }
        })
        .collect();
    let body = to_csv(&table, &column_names, min_count);
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "attachment; filename=\"dprofile-{}.csv\"",
        table_id.slug()
    )) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, group: &str, count: u64) -> AggregateRow {
        AggregateRow {
            key: key.to_owned(),
            group: group.to_owned(),
            count,
        }
    }

    #[test]
    fn small_counts_are_suppressed_and_large_ones_shown() {
        let (cells, total) = suppress_column(&[120, 3, 40, 9], 10, false);
        assert_eq!(
            cells,
            [Cell::Shown(120), Cell::Small, Cell::Shown(40), Cell::Small]
        );
        assert_eq!(total, None);
        // Exactly at the minimum is shown.
        assert_eq!(suppress_column(&[10], 10, false).0, [Cell::Shown(10)]);
    }

    #[test]
    fn a_total_that_would_reveal_one_suppressed_count_hides_the_next_smallest_too() {
        // 100 - 50 - 30 would give the 4 away: the 30 is hidden as well.
        let (cells, total) = suppress_column(&[50, 4, 30, 70], 10, true);
        assert_eq!(
            cells,
            [Cell::Shown(50), Cell::Small, Cell::Hidden, Cell::Shown(70)]
        );
        assert_eq!(total, Some(Cell::Shown(154)));
        // Two suppressed counts already hide each other: nothing more is hidden.
        let (cells, _) = suppress_column(&[50, 4, 3, 70], 10, true);
        assert_eq!(
            cells,
            [Cell::Shown(50), Cell::Small, Cell::Small, Cell::Shown(70)]
        );
        // A zero is no cover: the complement is a non-zero count.
        let (cells, _) = suppress_column(&[0, 5, 20, 30], 10, true);
        assert_eq!(
            cells,
            [Cell::Shown(0), Cell::Small, Cell::Hidden, Cell::Shown(30)]
        );
        // A small total is itself suppressed.
        let (cells, total) = suppress_column(&[3, 4], 10, true);
        assert_eq!(cells, [Cell::Small, Cell::Small]);
        assert_eq!(total, Some(Cell::Small));
    }

    #[test]
    fn tables_suppress_column_by_column() {
        let rows = [
            row("2026-01", "entry", 40),
            row("2026-01", "exit", 2),
            row("2026-02", "entry", 35),
            row("2026-02", "exit", 25),
            row("2026-03", "exit", 30),
        ];
        let table = build_table(TableId::Crossings, &rows, 10);
        let cells: Vec<Vec<Cell>> = table.rows.iter().map(|row| row.cells.clone()).collect();
        assert_eq!(
            cells,
            [
                vec![Cell::Shown(40), Cell::Small],
                vec![Cell::Shown(35), Cell::Hidden],
                vec![Cell::Shown(0), Cell::Shown(30)],
            ]
        );
        assert_eq!(table.totals, Some(vec![Cell::Shown(75), Cell::Shown(57)]));
        // The status table has no total, so nothing is hidden beyond the small counts.
        let table = build_table(
            TableId::Status,
            &[row("stay_document", "", 200), row("entry_ban", "", 3)],
            10,
        );
        assert_eq!(table.totals, None);
        assert_eq!(table.rows[1].cells, [Cell::Small]);
        assert_eq!(
            table.rows[1].label.as_deref(),
            Some("analytics-status-entry-ban")
        );
    }

    #[test]
    fn csv_shows_what_the_page_shows_and_quotes_what_needs_it() {
        let rows = [
            row("UZB", "", 120),
            row("TJK", "", 4),
            row("KGZ", "", 30),
            row("=HYPERLINK(\"x\")", "", 50),
        ];
        let table = build_table(TableId::Citizenship, &rows, 10);
        let csv = to_csv(&table, &["count".to_owned()], 10);
        assert_eq!(
            csv,
            "group,count\r\nUZB,120\r\nTJK,<10\r\nKGZ,suppressed\r\n\"'=HYPERLINK(\"\"x\"\")\",50\r\ntotal,204\r\n"
        );
    }

    #[test]
    fn charts_are_svg_with_a_title_and_suppression_markers() {
        let rows = [row("UZB", "", 120), row("TJK", "", 4), row("KGZ", "", 30)];
        let table = build_table(TableId::Citizenship, &rows, 10);
        let labels: Vec<String> = table.rows.iter().map(|row| row.key.clone()).collect();
        let svg = bar_chart(
            "chart-citizenship",
            "Persons by citizenship",
            &labels,
            &["Persons".to_owned()],
            &table,
            10,
        )
        .expect("a chart");
        assert!(svg.starts_with("<svg role=\"img\" aria-labelledby=\"chart-citizenship-title\""));
        assert!(
            svg.contains("<title id=\"chart-citizenship-title\">Persons by citizenship</title>")
        );
        assert!(svg.contains("UZB"), "{svg}");
        assert!(svg.contains("&lt;10"), "{svg}");
        assert!(
            !svg.contains("style="),
            "inline styles are refused by the CSP"
        );
    }
}
