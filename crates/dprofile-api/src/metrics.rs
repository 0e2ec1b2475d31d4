//! Prometheus text exposition, hand-rolled: a handful of counters and one histogram do not
//! justify a metrics framework. Request metrics are labelled by the matched route template
//! (`/v1/persons/{id}`), never by the raw path, so that label sets stay bounded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dprofile_store::{Outcome, StoreCounts};

/// Upper bounds of the request duration buckets, in seconds.
const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    /// Cumulative counts per bucket of [`DURATION_BUCKETS`].
    bucket_counts: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    // A std mutex, not a tokio one: it is held for a map update only, never across an await.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    durations: Mutex<BTreeMap<(String, String), Histogram>>,
    ingest_outcomes: [AtomicU64; Outcome::ALL.len()],
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
        if let Ok(mut durations) = self.durations.lock() {
            let histogram = durations
                .entry((method.to_owned(), route.to_owned()))
                .or_default();
            let seconds = elapsed.as_secs_f64();
            for (bucket, bound) in histogram.bucket_counts.iter_mut().zip(DURATION_BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
            histogram.count += 1;
            histogram.sum_seconds += seconds;
        }
    }

    pub fn record_outcome(&self, outcome: Outcome) {
        if let Some(index) = Outcome::ALL.iter().position(|known| *known == outcome) {
            self.ingest_outcomes[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The exposition text; `counts` is `None` when the store did not answer.
    pub fn render(&self, counts: Option<&StoreCounts>) -> String {
        let mut text = String::new();
        text.push_str("# HELP dprofile_http_requests_total HTTP requests answered, by matched route and status.\n");
        text.push_str("# TYPE dprofile_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), count) in requests.iter() {
                let _ = writeln!(
                    text,
                    "dprofile_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {count}",
                    escape_label(method),
                    escape_label(route)
                );
            }
        }
        text.push_str("# HELP dprofile_http_request_duration_seconds Time to the response head, by matched route.\n");
        text.push_str("# TYPE dprofile_http_request_duration_seconds histogram\n");
        if let Ok(durations) = self.durations.lock() {
            for ((method, route), histogram) in durations.iter() {
                let labels = format!(
                    "method=\"{}\",route=\"{}\"",
                    escape_label(method),
                    escape_label(route)
                );
                for (bound, count) in DURATION_BUCKETS.iter().zip(histogram.bucket_counts) {
                    let _ = writeln!(
                        text,
                        "dprofile_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    text,
                    "dprofile_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    histogram.count
                );
                let _ = writeln!(
                    text,
                    "dprofile_http_request_duration_seconds_sum{{{labels}}} {}",
                    histogram.sum_seconds
                );
                let _ = writeln!(
                    text,
                    "dprofile_http_request_duration_seconds_count{{{labels}}} {}",
                    histogram.count
                );
            }
        }
        text.push_str(
            "# HELP dprofile_ingest_records_total Records received through the API, by outcome.\n",
        );
        text.push_str("# TYPE dprofile_ingest_records_total counter\n");
        for (outcome, count) in Outcome::ALL.iter().zip(&self.ingest_outcomes) {
            let _ = writeln!(
                text,
                "dprofile_ingest_records_total{{outcome=\"{}\"}} {}",
                outcome.code(),
                count.load(Ordering::Relaxed)
            );
        }
        text.push_str("# HELP dprofile_store_up Whether the store answered this scrape.\n");
        text.push_str("# TYPE dprofile_store_up gauge\n");
        let _ = writeln!(text, "dprofile_store_up {}", u8::from(counts.is_some()));
        if let Some(counts) = counts {
            let gauges = [
                (
                    "dprofile_persons",
                    "Persons in the registry, merged ones included.",
                    counts.persons,
                ),
                (
                    "dprofile_records",
                    "Stored record versions.",
                    counts.records,
                ),
                (
                    "dprofile_record_keys",
                    "Distinct (source, source_ref) keys.",
                    counts.record_keys,
                ),
                (
                    "dprofile_quarantine_open",
                    "Quarantined lines waiting for a replay.",
                    counts.quarantine_open,
                ),
                (
                    "dprofile_review_open",
                    "Review items waiting for an officer.",
                    counts.review_open,
                ),
            ];
            for (name, help, value) in gauges {
                let _ = writeln!(
                    text,
                    "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
                );
            }
        }
        text
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The access log's group commit: committed transactions and entries, failed transactions, and
/// entries per transaction as a histogram (how well concurrent requests share commits).
pub(crate) fn render_group_commit(
    text: &mut String,
    stats: &dprofile_pipeline::group_commit::GroupCommitStats,
) {
    text.push_str("# HELP dprofile_access_log_failed_batches_total Access-log transactions that failed (every request in them answered 503).\n");
    text.push_str("# TYPE dprofile_access_log_failed_batches_total counter\n");
    let _ = writeln!(
        text,
        "dprofile_access_log_failed_batches_total {}",
        stats.failed_batches
    );
    text.push_str("# HELP dprofile_access_log_batch_entries Entries per committed access-log transaction (group commit).\n");
    text.push_str("# TYPE dprofile_access_log_batch_entries histogram\n");
    let mut cumulative = 0;
    let last = stats.size_buckets.len() - 1;
    for (index, count) in stats.size_buckets.iter().enumerate() {
        cumulative += count;
        if index < last {
            let _ = writeln!(
                text,
                "dprofile_access_log_batch_entries_bucket{{le=\"{}\"}} {cumulative}",
                (1u64 << (index + 1)) - 1
            );
        }
    }
    let _ = writeln!(
        text,
        "dprofile_access_log_batch_entries_bucket{{le=\"+Inf\"}} {cumulative}"
    );
    let _ = writeln!(
        text,
        "dprofile_access_log_batch_entries_sum {}",
        stats.entries
    );
    let _ = writeln!(
        text,
        "dprofile_access_log_batch_entries_count {}",
        stats.batches
    );
}
