//! Group commit for the access log: requests append one entry each, and one commit per entry
//! caps the log at about 5,000 entries/s on SQLite (the commit's fsync, not the work, is the
//! cost). One appender thread takes whatever entries are queued when it is free and appends
//! them in one store transaction; each caller waits for its own positions.
//!
//! A failed transaction fails every caller in it: no caller is told its entry is logged unless
//! it is committed, so a request never answers without its log entry. The queue is bounded:
//! when the store cannot keep up, callers wait to enqueue instead of piling up memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dprofile_store::{AccessAppend, Store};

/// Requests waiting for the appender before callers block.
pub const DEFAULT_QUEUE_REQUESTS: usize = 4096;

/// Most entries one transaction carries: a batch bounded in size keeps the first caller's wait
/// bounded too (1,000 entries commit in about 10 ms on SQLite).
pub const DEFAULT_MAX_BATCH_ENTRIES: usize = 1024;

/// How long the appender may hold a transaction open for more entries after the first, when
/// requests arrive faster than that: zero by default (a transaction carries whatever queued
/// while the previous one ran). A window shares each commit among a few requests at a steady
/// rate, but a lone caller that appends in a loop then waits on every append (its next entry
/// looks like a busy stream), so it stays off until the appender can tell such callers apart.
pub const DEFAULT_GATHER_WINDOW: Duration = Duration::ZERO;

/// Batch sizes are counted in power-of-two buckets: 1, 2–3, 4–7, … 1024 and over.
const SIZE_BUCKETS: usize = 11;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupCommitError {
    /// The transaction of the batch failed; every entry in it is unlogged.
    #[error("the access log's batch failed: {0}")]
    BatchFailed(String),
    /// The appender thread is gone (the log is shutting down, or it panicked).
    #[error("the access log's appender has stopped")]
    Stopped,
}

/// What the appender did so far, for the metrics and the benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// Transactions committed (failed ones are not counted).
    pub batches: u64,
    /// Entries committed.
    pub entries: u64,
    /// Transactions that failed, and so failed all of their callers.
    pub failed_batches: u64,
    /// Entries in the largest batch so far.
    pub largest_batch: u64,
    /// Committed batches by size: bucket `i` counts sizes in `[2^i, 2^(i+1))`, the last bucket
    /// every size from 1,024 up.
    pub size_buckets: [u64; SIZE_BUCKETS],
}

impl GroupCommitStats {
    /// Mean entries per committed transaction.
    pub fn mean_batch(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.entries as f64 / self.batches as f64
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    entries: AtomicU64,
    failed_batches: AtomicU64,
    largest_batch: AtomicU64,
    size_buckets: [AtomicU64; SIZE_BUCKETS],
}

type Reply = Result<Vec<u64>, GroupCommitError>;

struct Request {
    appends: Vec<AccessAppend>,
    reply: SyncSender<Reply>,
    enqueued: Instant,
}

/// The appender thread and its queue. Dropping it lets the thread finish the queued requests
/// and waits for it.
pub struct GroupCommitter {
    sender: Option<SyncSender<Request>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for GroupCommitter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("GroupCommitter")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl GroupCommitter {
    /// Starts the appender over `store`.
    pub fn start(
        store: Arc<dyn Store>,
        queue_requests: usize,
        max_batch_entries: usize,
        gather_window: Duration,
    ) -> GroupCommitter {
        let (sender, receiver) = sync_channel::<Request>(queue_requests.max(1));
        let counters = Arc::new(Counters::default());
        let thread_counters = Arc::clone(&counters);
        let max_batch_entries = max_batch_entries.max(1);
        let thread = std::thread::Builder::new()
            .name("access-log-appender".to_owned())
            .spawn(move || {
                append_loop(
                    store.as_ref(),
                    &receiver,
                    max_batch_entries,
                    gather_window,
                    &thread_counters,
                )
            })
            .ok();
        GroupCommitter {
            // Without a thread (the system refused one) every append answers `Stopped`.
            sender: thread.is_some().then_some(sender),
            thread,
            counters,
        }
    }

    /// Appends `appends` (in order, adjacent in the log) in the next transaction and waits for
    /// it to commit; returns their positions.
    pub fn append(&self, appends: Vec<AccessAppend>) -> Result<Vec<u64>, GroupCommitError> {
        if appends.is_empty() {
            return Ok(Vec::new());
        }
        let sender = self.sender.as_ref().ok_or(GroupCommitError::Stopped)?;
        let (reply, answer) = sync_channel::<Reply>(1);
        let request = Request {
            appends,
            reply,
            enqueued: Instant::now(),
        };
        match sender.try_send(request) {
            Ok(()) => {}
            // A full queue: wait for room (back-pressure on the requests).
            Err(TrySendError::Full(request)) => sender
                .send(request)
                .map_err(|_| GroupCommitError::Stopped)?,
            Err(TrySendError::Disconnected(_)) => return Err(GroupCommitError::Stopped),
        }
        answer.recv().map_err(|_| GroupCommitError::Stopped)?
    }

    pub fn stats(&self) -> GroupCommitStats {
        let counters = &self.counters;
        let mut size_buckets = [0; SIZE_BUCKETS];
        for (bucket, counter) in size_buckets.iter_mut().zip(&counters.size_buckets) {
            *bucket = counter.load(Ordering::Relaxed);
        }
        GroupCommitStats {
            batches: counters.batches.load(Ordering::Relaxed),
            entries: counters.entries.load(Ordering::Relaxed),
            failed_batches: counters.failed_batches.load(Ordering::Relaxed),
            largest_batch: counters.largest_batch.load(Ordering::Relaxed),
            size_buckets,
        }
    }
}

impl Drop for GroupCommitter {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has answered what is queued; waiting for
        // it means no transaction of this log outlives it (a test's database is dropped next).
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The mean gap between requests (exponentially weighted), from their enqueue times.
struct Arrivals {
    mean_gap: Duration,
    last: Option<Instant>,
}

impl Arrivals {
    fn observe(&mut self, enqueued: Instant) {
        if let Some(last) = self.last {
            let gap = enqueued.saturating_duration_since(last);
            self.mean_gap = (self.mean_gap * 7 + gap) / 8;
        }
        self.last = Some(self.last.map_or(enqueued, |last| last.max(enqueued)));
    }
}

fn append_loop(
    store: &dyn Store,
    receiver: &Receiver<Request>,
    max_batch_entries: usize,
    gather_window: Duration,
    counters: &Counters,
) {
    let mut arrivals = Arrivals {
        mean_gap: Duration::from_secs(1),
        last: None,
    };
    while let Ok(first) = receiver.recv() {
        arrivals.observe(first.enqueued);
        let mut entries = first.appends.len();
        // Only when requests come faster than the window is it worth waiting for the next;
        // a lone request is committed at once.
        let deadline = (arrivals.mean_gap < gather_window).then(|| first.enqueued + gather_window);
        let mut batch = vec![first];
        // Whatever queued while the last transaction ran goes into this one, and, under
        // load, whatever comes within the window.
        while entries < max_batch_entries {
            let next = match receiver.try_recv() {
                Ok(request) => Some(request),
                Err(_) => deadline.and_then(|deadline| {
                    // Wait no longer than about two usual gaps: callers that came in a burst
                    // (a closed loop of waiting callers) are all here once the burst is over.
                    let left = deadline
                        .saturating_duration_since(Instant::now())
                        .min((arrivals.mean_gap * 2).max(Duration::from_micros(50)));
                    if left.is_zero() {
                        None
                    } else {
                        receiver.recv_timeout(left).ok()
                    }
                }),
            };
            let Some(request) = next else {
                break;
            };
            arrivals.observe(request.enqueued);
            entries += request.appends.len();
            batch.push(request);
        }
        let mut all = Vec::with_capacity(entries);
        let mut counts = Vec::with_capacity(batch.len());
        for request in &mut batch {
            counts.push(request.appends.len());
            all.append(&mut request.appends);
        }
        match store.append_access(&all) {
            Ok(positions) => {
                counters.batches.fetch_add(1, Ordering::Relaxed);
                counters
                    .entries
                    .fetch_add(positions.len() as u64, Ordering::Relaxed);
                counters
                    .largest_batch
                    .fetch_max(positions.len() as u64, Ordering::Relaxed);
                let bucket = (usize::BITS - 1 - positions.len().max(1).leading_zeros()) as usize;
                counters.size_buckets[bucket.min(SIZE_BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
                let mut positions = positions.into_iter();
                for (request, count) in batch.into_iter().zip(counts) {
                    let own: Vec<u64> = positions.by_ref().take(count).collect();
                    // A caller that gave up waiting is no reason to stop the others.
                    let _ = request.reply.send(Ok(own));
                }
            }
            Err(error) => {
                counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %error, entries, "an access-log batch failed: every caller in it fails");
                let message = error.to_string();
                for request in batch {
                    let _ = request
                        .reply
                        .send(Err(GroupCommitError::BatchFailed(message.clone())));
                }
            }
        }
    }
}
