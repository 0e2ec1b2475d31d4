//! Group commit for the access log: requests append one entry each, and one commit per entry
//! caps the log at about 5,000 entries/s on SQLite (the commit, not the work, is the cost).
//! Leader/follower: the caller that finds the log idle commits on its own thread at once; callers
//! that arrive while a commit runs wait in a queue, and when it ends one of them (the first)
//! commits everything queued in one transaction. A lone caller never waits for anyone and no
//! request is handed to another thread: at 1,000 reads/s most reads find the log idle, and a
//! hand-off to an appender thread cost two context switches per read for nothing.
//!
//! A failed transaction fails every caller in it: no caller is told its entry is logged unless
//! it is committed, so a request never answers without its log entry. The queue holds only
//! callers that are blocked waiting, so it is bounded by the callers' threads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use dprofile_store::{AccessAppend, Store};

/// Most entries one transaction carries: a batch bounded in size keeps the first caller's wait
/// bounded too (1,000 entries commit in about 10 ms on SQLite).
pub const DEFAULT_MAX_BATCH_ENTRIES: usize = 1024;

/// Batch sizes are counted in power-of-two buckets: 1, 2–3, 4–7, … 1024 and over.
const SIZE_BUCKETS: usize = 11;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupCommitError {
    /// The transaction of the batch failed; every entry in it is unlogged.
    #[error("the access log's batch failed: {0}")]
    BatchFailed(String),
    /// The caller that was committing the batch stopped half-way (it panicked): whether the
    /// entries are stored is unknown, so none is acknowledged.
    #[error("the access log's commit stopped before it answered")]
    Stopped,
}

/// What the log's commits did so far, for the metrics and the benchmark.
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

/// What a waiting caller is woken with.
enum Outcome {
    /// Its entries' positions, or why they are not logged.
    Done(Reply),
    /// The commit before ended and this caller is first in the queue: it commits next, its own
    /// entries (given back) with whatever else is queued.
    Lead(Vec<AccessAppend>),
}

/// Where a waiting caller is told its outcome: its own lock and condition variable, so a commit
/// wakes exactly the callers it carried, not every waiter.
#[derive(Default)]
struct Slot {
    outcome: Mutex<Option<Outcome>>,
    ready: Condvar,
}

impl Slot {
    fn set(&self, outcome: Outcome) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        self.ready.notify_one();
    }

    fn wait(&self) -> Outcome {
        let mut outcome = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(outcome) = outcome.take() {
                return outcome;
            }
            outcome = self
                .ready
                .wait(outcome)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A caller queued behind the running commit.
struct Waiting {
    appends: Vec<AccessAppend>,
    slot: Arc<Slot>,
}

#[derive(Default)]
struct Queue {
    /// A caller is committing, or has been told to commit next. While it is set, arriving
    /// callers queue; when it is clear, the queue is empty.
    leading: bool,
    waiting: VecDeque<Waiting>,
}

/// The log's commit queue. Every commit runs on the thread of one of the callers it carries.
pub struct GroupCommitter {
    store: Arc<dyn Store>,
    max_batch_entries: usize,
    queue: Mutex<Queue>,
    counters: Counters,
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
    /// Group commit over `store`, at most `max_batch_entries` entries per transaction (a
    /// caller's entries are never split, so one caller with more still commits them at once).
    pub fn new(store: Arc<dyn Store>, max_batch_entries: usize) -> GroupCommitter {
        GroupCommitter {
            store,
            max_batch_entries: max_batch_entries.max(1),
            queue: Mutex::new(Queue::default()),
            counters: Counters::default(),
        }
    }

    /// Appends `appends` (in order, adjacent in the log) in the next transaction and waits for
    /// it to commit; returns their positions.
    pub fn append(&self, appends: Vec<AccessAppend>) -> Result<Vec<u64>, GroupCommitError> {
        if appends.is_empty() {
            return Ok(Vec::new());
        }
        let mut queue = self.lock_queue();
        if !queue.leading {
            // Idle: commit on this thread now. The queue is empty (it only fills while a
            // leader is set), so this caller's entries go alone.
            queue.leading = true;
            drop(queue);
            return self.lead(appends);
        }
        let slot = Arc::new(Slot::default());
        queue.waiting.push_back(Waiting {
            appends,
            slot: Arc::clone(&slot),
        });
        drop(queue);
        match slot.wait() {
            Outcome::Done(reply) => reply,
            Outcome::Lead(own) => self.lead(own),
        }
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

    /// No lock is held while code that may panic runs, so a poisoned lock still guards a
    /// consistent queue.
    fn lock_queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Commits `own` with what is queued (this caller leads), answers the callers carried,
    /// hands the lead to the next queued caller, and returns this caller's positions.
    fn lead(&self, own: Vec<AccessAppend>) -> Reply {
        let mut duty = LeaderDuty {
            committer: self,
            carried: Vec::new(),
            handed_off: false,
        };
        let own_count = own.len();
        let mut all = own;
        {
            let mut queue = self.lock_queue();
            while let Some(next) = queue.waiting.front() {
                if all.len() + next.appends.len() > self.max_batch_entries {
                    break;
                }
                let Some(mut next) = queue.waiting.pop_front() else {
                    break;
                };
                all.append(&mut next.appends);
                // Its entries end here in the batch: positions are dealt back in queue order.
                duty.carried.push((next.slot, all.len()));
            }
        }
        let result = self.store.append_access(&all).and_then(|positions| {
            // Positions are dealt out by count: a short answer must fail everyone, not leave
            // the last callers with fewer positions than entries.
            if positions.len() == all.len() {
                Ok(positions)
            } else {
                Err(dprofile_store::StoreError::Corrupt(
                    "the store answered fewer positions than entries".to_owned(),
                ))
            }
        });
        let carried = std::mem::take(&mut duty.carried);
        // The callers carried are answered before the lead is handed on: most of them append
        // again at once, and so join the next batch instead of trickling into many small ones
        // (64 callers in a loop: 2 entries per transaction when the next leader started
        // first, since it found only itself queued). A lone caller carries nobody: it hands
        // on, to nobody, at once.
        let reply = match result {
            Ok(mut positions) => {
                self.count(positions.len());
                let mut start = own_count;
                for (slot, end) in carried {
                    let own = positions.get(start..end).map(<[u64]>::to_vec);
                    slot.set(Outcome::Done(Ok(own.unwrap_or_default())));
                    start = end;
                }
                positions.truncate(own_count);
                Ok(positions)
            }
            Err(error) => {
                self.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %error, entries = all.len(), "an access-log batch failed: every caller in it fails");
                let failure = GroupCommitError::BatchFailed(error.to_string());
                for (slot, _) in carried {
                    slot.set(Outcome::Done(Err(failure.clone())));
                }
                Err(failure)
            }
        };
        duty.hand_off();
        reply
    }

    fn count(&self, entries: usize) {
        let counters = &self.counters;
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters
            .entries
            .fetch_add(entries as u64, Ordering::Relaxed);
        counters
            .largest_batch
            .fetch_max(entries as u64, Ordering::Relaxed);
        let bucket = (usize::BITS - 1 - entries.max(1).leading_zeros()) as usize;
        counters.size_buckets[bucket.min(SIZE_BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
    }
}

/// What a leader owes the others, even if its commit panics: the lead goes to the next queued
/// caller (or the log becomes idle), and every caller it carried is answered. Without this a
/// panic in the store would leave the log "busy" forever and every later request waiting.
struct LeaderDuty<'a> {
    committer: &'a GroupCommitter,
    /// The carried callers' slots, each with the end of its entries in the batch.
    carried: Vec<(Arc<Slot>, usize)>,
    handed_off: bool,
}

impl LeaderDuty<'_> {
    fn hand_off(&mut self) {
        if self.handed_off {
            return;
        }
        self.handed_off = true;
        let mut queue = self.committer.lock_queue();
        match queue.waiting.pop_front() {
            Some(next) => next.slot.set(Outcome::Lead(next.appends)),
            None => queue.leading = false,
        }
    }
}

impl Drop for LeaderDuty<'_> {
    fn drop(&mut self) {
        // Only reached with work left when the commit panicked: nobody may be told that
        // entries of an unfinished transaction are logged.
        for (slot, _) in self.carried.drain(..) {
            slot.set(Outcome::Done(Err(GroupCommitError::Stopped)));
        }
        self.hand_off();
    }
}
