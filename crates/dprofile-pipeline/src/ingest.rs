//! Ingest of lines, a chunk per transaction: a chunk lands whole or not at all, so a crash
//! mid-batch leaves whole chunks, and a re-run finds them as duplicates.

use std::io::BufRead;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use chrono::{DateTime, Utc};
use dprofile_domain::linking::{StrongKey, name_keys, strong_keys};
use dprofile_domain::{Action, ParseMode, Rejection, Rule, SourceRecord, Violation, parse_record};
use dprofile_status::RuleSet;
use dprofile_store::{
    IdentifierRow, KeyId, KeyState, KeyWrite, LinkDecision, NewQuarantine, NewRecord,
    NewReviewItem, Outcome, PersonId, RecordId, Store, StoreError, WriteTx,
};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::clock::Clock;
use crate::events::{Outbox, RecordChange};
use crate::linker::{ChunkLinker, Slot};
use crate::resolution::{FrozenResolver, KeyChange, KeyContent, resolve_changes};

/// Lines per transaction: large enough that the index pages a commit rewrites are shared by
/// many records (SQLite ingest is nearly twice as fast as with 4,096), small enough that a crash
/// re-does little and memory stays flat (a chunk in flight is a few tens of MiB).
pub const DEFAULT_CHUNK_SIZE: usize = 16_384;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read the input: {0}")]
    Read(#[from] std::io::Error),
    #[error("quarantine item {0} does not exist")]
    QuarantineNotFound(i64),
    #[error("quarantine item {0} was already replayed")]
    AlreadyReplayed(i64),
    #[error(transparent)]
    Model(#[from] crate::resolution::ModelLoadError),
}

/// Stops an ingest on purpose, to prove that a crash loses and duplicates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    /// Fail the transaction of the chunk in which this many lines have been processed.
    ErrorAfterLines(u64),
    /// Kill the process (abort, no unwinding, no cleanup) at the same place.
    AbortAfterLines(u64),
}

impl FailPoint {
    /// Reads `DPROFILE_FAILPOINT=error-after:N` or `abort-after:N`.
    pub fn from_env() -> Option<FailPoint> {
        let text = std::env::var("DPROFILE_FAILPOINT").ok()?;
        let (kind, count) = text.split_once(':')?;
        let count: u64 = count.parse().ok()?;
        match kind {
            "error-after" => Some(FailPoint::ErrorAfterLines(count)),
            "abort-after" => Some(FailPoint::AbortAfterLines(count)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub mode: ParseMode,
    pub chunk_size: usize,
    /// Where the lines came from (a file name, `api`, `stdin`), kept with quarantined lines.
    pub origin: String,
    pub failpoint: Option<FailPoint>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            mode: ParseMode::Full,
            chunk_size: DEFAULT_CHUNK_SIZE,
            origin: "api".to_owned(),
            failpoint: None,
        }
    }
}

/// One received line.
#[derive(Debug, Clone)]
pub struct Line {
    /// 1-based line number in its input.
    pub number: u64,
    pub bytes: Vec<u8>,
}

/// What became of one line.
#[derive(Debug, Clone, Serialize)]
pub struct LineResult {
    pub line: u64,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_id: Option<PersonId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<RecordId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine_id: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Violation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Violation>,
}

/// Counts per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub accepted: u64,
    pub duplicate: u64,
    pub superseded: u64,
    pub retracted: u64,
    pub stale: u64,
    pub quarantined: u64,
}

impl Summary {
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Accepted => self.accepted += 1,
            Outcome::Duplicate => self.duplicate += 1,
            Outcome::Superseded => self.superseded += 1,
            Outcome::Retracted => self.retracted += 1,
            Outcome::Stale => self.stale += 1,
            Outcome::Quarantined => self.quarantined += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.accepted
            + self.duplicate
            + self.superseded
            + self.retracted
            + self.stale
            + self.quarantined
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "accepted {}, duplicate {}, superseded {}, retracted {}, stale {}, quarantined {}",
            self.accepted,
            self.duplicate,
            self.superseded,
            self.retracted,
            self.stale,
            self.quarantined
        )
    }
}

/// A line after parsing, before it meets the store.
struct ParsedLine {
    number: u64,
    raw: Vec<u8>,
    parsed: Result<SourceRecord, Rejection>,
    /// The subject's linking keys, computed with the parse (on the parsing thread, off the
    /// writer's critical path).
    keys: LinkKeys,
    /// Set when this line is a replay of a quarantined line.
    replay_of: Option<i64>,
}

#[derive(Default)]
struct LinkKeys {
    strong: Vec<StrongKey>,
    names: Vec<String>,
}

fn parse_line(number: u64, raw: Vec<u8>, mode: ParseMode, replay_of: Option<i64>) -> ParsedLine {
    let parsed = parse_record(&raw, mode);
    let keys = match &parsed {
        Ok(record) => LinkKeys {
            strong: strong_keys(&record.subject),
            names: name_keys(&record.subject),
        },
        Err(_) => LinkKeys::default(),
    };
    ParsedLine {
        number,
        raw,
        parsed,
        keys,
        replay_of,
    }
}

fn parse_lines(lines: Vec<Line>, mode: ParseMode) -> Vec<ParsedLine> {
    lines
        .into_iter()
        .map(|line| parse_line(line.number, line.bytes, mode, None))
        .collect()
}

/// More writes in a chunk's transaction, after its rows, seeing the chunk's results.
pub type AlsoInChunk<'a> =
    dyn FnMut(&mut dyn WriteTx, &[LineResult]) -> Result<(), StoreError> + 'a;

#[derive(Clone)]
pub struct Ingestor {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// With a frozen model, every chunk's neighbourhood is resolved again probabilistically
    /// (see [`crate::resolution`]); without one, linking is by strong identifiers only.
    resolver: Option<Arc<FrozenResolver>>,
    /// The status rules the change feed's `status.changed` events are computed with.
    status_rules: Arc<RuleSet>,
}

/// What a chunk changed beyond its lines' results, for the change feed's events.
#[derive(Default)]
struct ChunkChanges {
    /// Persons the chunk created.
    created: Vec<PersonId>,
    /// Merges and splits the chunk decided, with their ids.
    decisions: Vec<(LinkDecision, i64)>,
    /// Per line: the person its key was linked to before the chunk.
    person_before: Vec<Option<PersonId>>,
}

impl Ingestor {
    /// Links by strong identifiers only.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Ingestor {
        Ingestor {
            store,
            clock,
            resolver: None,
            status_rules: Arc::new(RuleSet::v1()),
        }
    }

    /// Resolves probabilistically with the store's model when it has one, else links by
    /// strong identifiers only.
    pub fn from_store(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Ingestor, PipelineError> {
        let resolver = match store.resolver_model()? {
            Some(text) => Some(Arc::new(FrozenResolver::from_json(&text)?)),
            None => None,
        };
        Ok(Ingestor {
            store,
            clock,
            resolver,
            status_rules: Arc::new(RuleSet::v1()),
        })
    }

    /// Resolves probabilistically with this model (which the caller keeps in the store).
    pub fn with_resolver(mut self, resolver: Arc<FrozenResolver>) -> Ingestor {
        self.resolver = Some(resolver);
        self
    }

    pub fn resolver(&self) -> Option<&Arc<FrozenResolver>> {
        self.resolver.as_ref()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Ingests one chunk of lines in one transaction.
    pub fn ingest_lines(
        &self,
        lines: Vec<Line>,
        options: &IngestOptions,
    ) -> Result<Vec<LineResult>, PipelineError> {
        let parsed = parse_lines(lines, options.mode);
        self.write_chunk(parsed, options, &mut 0, None)
    }

    /// [`Ingestor::ingest_lines`], and `also` writes more in the chunk's transaction once its
    /// rows are written (the API's access-log entries for the writes): the chunk commits only
    /// with what `also` writes, and not at all if `also` fails.
    pub fn ingest_lines_and(
        &self,
        lines: Vec<Line>,
        options: &IngestOptions,
        also: &mut AlsoInChunk<'_>,
    ) -> Result<Vec<LineResult>, PipelineError> {
        let parsed = parse_lines(lines, options.mode);
        self.write_chunk(parsed, options, &mut 0, Some(also))
    }

    /// Ingests NDJSON from `reader`, chunk by chunk; parsing runs on a second thread while the
    /// store writes. `on_chunk` sees every chunk's results once it has committed, and the
    /// bytes read so far.
    pub fn ingest_reader(
        &self,
        reader: impl BufRead + Send,
        options: &IngestOptions,
        on_chunk: &mut dyn FnMut(&[LineResult], u64),
    ) -> Result<Summary, PipelineError> {
        let chunk_size = options.chunk_size.max(1);
        let mode = options.mode;
        let mut summary = Summary::default();
        let mut processed: u64 = 0;
        std::thread::scope(|scope| -> Result<(), PipelineError> {
            // Two chunks in flight: one being parsed, one being written.
            let (sender, receiver) =
                sync_channel::<Result<(Vec<ParsedLine>, u64), std::io::Error>>(2);
            scope.spawn(move || {
                let mut reader = reader;
                let mut number: u64 = 0;
                let mut bytes_read: u64 = 0;
                let mut chunk = Vec::with_capacity(chunk_size);
                loop {
                    let mut buffer = Vec::new();
                    match reader.read_until(b'\n', &mut buffer) {
                        Ok(0) => break,
                        Ok(read) => {
                            bytes_read += read as u64;
                            number += 1;
                            while buffer
                                .last()
                                .is_some_and(|byte| *byte == b'\n' || *byte == b'\r')
                            {
                                buffer.pop();
                            }
                            if buffer.iter().all(u8::is_ascii_whitespace) {
                                continue;
                            }
                            chunk.push(Line {
                                number,
                                bytes: buffer,
                            });
                            if chunk.len() == chunk_size {
                                let full =
                                    std::mem::replace(&mut chunk, Vec::with_capacity(chunk_size));
                                if sender
                                    .send(Ok((parse_lines(full, mode), bytes_read)))
                                    .is_err()
                                {
                                    return;
                                }
                            }
                        }
                        Err(error) => {
                            let _ = sender.send(Err(error));
                            return;
                        }
                    }
                }
                if !chunk.is_empty() {
                    let _ = sender.send(Ok((parse_lines(chunk, mode), bytes_read)));
                }
            });
            for message in receiver {
                let (parsed, bytes_read) = message?;
                let results = self.write_chunk(parsed, options, &mut processed, None)?;
                for result in &results {
                    summary.add(result.outcome);
                }
                on_chunk(&results, bytes_read);
            }
            Ok(())
        })?;
        Ok(summary)
    }

    /// Feeds a quarantined line back through the pipeline, as it is or as corrected by the
    /// operator. On success the item is marked replayed; otherwise its reasons are updated.
    pub fn replay_quarantine(
        &self,
        id: i64,
        corrected: Option<Vec<u8>>,
        mode: ParseMode,
    ) -> Result<LineResult, PipelineError> {
        let item = self
            .store
            .quarantine_get(id)?
            .ok_or(PipelineError::QuarantineNotFound(id))?;
        if item.status != dprofile_store::QuarantineStatus::Open {
            return Err(PipelineError::AlreadyReplayed(id));
        }
        let raw = corrected.unwrap_or(item.raw);
        let parsed = vec![parse_line(
            item.line_number.unwrap_or(1),
            raw,
            mode,
            Some(id),
        )];
        let options = IngestOptions {
            mode,
            origin: item.origin,
            ..IngestOptions::default()
        };
        let mut results = self.write_chunk(parsed, &options, &mut 0, None)?;
        Ok(results.remove(0))
    }

    fn write_chunk(
        &self,
        lines: Vec<ParsedLine>,
        options: &IngestOptions,
        processed: &mut u64,
        mut also: Option<&mut AlsoInChunk<'_>>,
    ) -> Result<Vec<LineResult>, PipelineError> {
        let now = self.clock.now();
        let mut results = Vec::new();
        let processed_before = *processed;
        self.store.write(&mut |tx| {
            let changes;
            (results, changes) =
                write_chunk_in(tx, &lines, now, &options.origin, self.resolver.as_ref())?;
            if let Some(also) = also.as_mut() {
                also(tx, &results)?;
            }
            // The change feed's events, last: they commit with the chunk or not at all.
            chunk_outbox(&lines, &results, &changes, now).write(tx, now, &self.status_rules)?;
            let processed_after = processed_before + lines.len() as u64;
            match options.failpoint {
                Some(FailPoint::ErrorAfterLines(limit)) if processed_after >= limit => {
                    return Err(StoreError::Aborted(format!("failure injected after {limit} lines")));
                }
                Some(FailPoint::AbortAfterLines(limit)) if processed_after >= limit => {
                    eprintln!("failure injected: aborting the process inside a transaction after {limit} lines");
                    std::process::abort();
                }
                _ => {}
            }
            Ok(())
        })?;
        *processed += lines.len() as u64;
        Ok(results)
    }
}

/// `(source, source_ref)`, borrowed from the parsed line.
type RecordKey<'a> = (&'a str, &'a str);

/// What the classification decided for one valid line.
enum Decision {
    Duplicate {
        person: Option<PersonId>,
        record: RecordId,
    },
    /// A new version to store; `link` says whether it needs a person found for it.
    Store {
        outcome: Outcome,
        takes_effect: bool,
        link: bool,
        current_person: Option<PersonId>,
    },
    Conflict(Violation),
}

fn quarantine_row(
    line: &ParsedLine,
    now: DateTime<Utc>,
    origin: &str,
    rejection: &Rejection,
) -> NewQuarantine {
    NewQuarantine {
        received_at: now,
        origin: origin.to_owned(),
        line_number: Some(line.number),
        source: rejection.source.clone(),
        source_ref: rejection.source_ref.clone(),
        raw: line.raw.clone(),
        violations: serde_json::to_string(&rejection.violations)
            .unwrap_or_else(|_| "[]".to_owned()),
    }
}

fn write_chunk_in(
    tx: &mut dyn WriteTx,
    lines: &[ParsedLine],
    now: DateTime<Utc>,
    origin: &str,
    resolver: Option<&Arc<FrozenResolver>>,
) -> Result<(Vec<LineResult>, ChunkChanges), StoreError> {
    let mut changes = ChunkChanges {
        person_before: vec![None; lines.len()],
        ..ChunkChanges::default()
    };
    let mut results: Vec<LineResult> = lines
        .iter()
        .map(|line| LineResult {
            line: line.number,
            outcome: Outcome::Quarantined,
            source: None,
            source_ref: None,
            person_id: None,
            record_id: None,
            quarantine_id: None,
            errors: Vec::new(),
            warnings: Vec::new(),
        })
        .collect();

    // 1. The state of every key the chunk touches. Keys borrow from the parsed lines: a chunk
    // allocates nothing per key on its way through.
    let mut wanted: Vec<RecordKey<'_>> = lines
        .iter()
        .filter_map(|line| line.parsed.as_ref().ok())
        .map(|record| (record.source.as_str(), record.source_ref.as_str()))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let loaded = tx.load_keys(&wanted)?;
    let mut states: FxHashMap<RecordKey<'_>, KeyState> = wanted
        .iter()
        .zip(loaded)
        .filter_map(|(key, state)| Some((*key, state?)))
        .collect();
    // Key ids as stored before this chunk; keys created by it get theirs from `upsert_keys`.
    let mut key_id_of: FxHashMap<RecordKey<'_>, KeyId> = states
        .iter()
        .filter_map(|(key, state)| Some((*key, state.key_id?)))
        .collect();

    // 2. Classify each line against the state, in order, so that repeats inside the chunk see
    // the earlier line.
    let mut rejections: Vec<(usize, Rejection)> = Vec::new();
    let mut decisions: Vec<Option<Decision>> = Vec::with_capacity(lines.len());
    // Versions stored by this chunk: (key, revision, action) → hash.
    let mut pending_versions: FxHashMap<(RecordKey<'_>, u32, Action), [u8; 32]> =
        FxHashMap::default();
    for (index, line) in lines.iter().enumerate() {
        let record = match &line.parsed {
            Ok(record) => record,
            Err(rejection) => {
                rejections.push((index, rejection.clone()));
                decisions.push(None);
                continue;
            }
        };
        results[index].source = Some(record.source.as_str().to_owned());
        results[index].source_ref = Some(record.source_ref.as_str().to_owned());
        if !record.warnings.is_empty() {
            results[index].warnings = record.warnings.clone();
        }
        let key: RecordKey<'_> = (record.source.as_str(), record.source_ref.as_str());
        let version_key = (key, record.revision, record.action);
        let decision = match states.get(&key) {
            None => Decision::Store {
                outcome: if record.action == Action::Retract {
                    Outcome::Retracted
                } else {
                    Outcome::Accepted
                },
                takes_effect: true,
                link: record.action == Action::Upsert,
                current_person: None,
            },
            Some(state) => {
                let incoming = (record.revision, record.action == Action::Retract);
                let in_force = (state.revision, state.action == Action::Retract);
                let seen_hash = if incoming == in_force {
                    Some(state.content_hash)
                } else if let Some(hash) = pending_versions.get(&version_key) {
                    Some(*hash)
                } else if let (true, Some(key_id)) = (incoming < in_force, state.key_id) {
                    tx.load_version_hash(key_id, record.revision, record.action)?
                } else {
                    None
                };
                match seen_hash {
                    Some(hash) if hash == record.content_hash => Decision::Duplicate {
                        person: state.person_id,
                        record: state.record_id,
                    },
                    Some(_) => Decision::Conflict(Violation::new(
                        "/revision",
                        Rule::RevisionConflict,
                        format!(
                            "revision {} of this record was received before with other content: send the change with a higher revision",
                            record.revision
                        ),
                    )),
                    None if incoming > in_force => Decision::Store {
                        outcome: if record.action == Action::Retract {
                            Outcome::Retracted
                        } else {
                            Outcome::Superseded
                        },
                        takes_effect: true,
                        link: record.action == Action::Upsert,
                        current_person: state.person_id,
                    },
                    None => Decision::Store {
                        outcome: Outcome::Stale,
                        takes_effect: false,
                        link: false,
                        current_person: state.person_id,
                    },
                }
            }
        };
        match &decision {
            Decision::Conflict(violation) => {
                rejections.push((
                    index,
                    Rejection {
                        source: Some(key.0.to_owned()),
                        source_ref: Some(key.1.to_owned()),
                        violations: vec![violation.clone()],
                    },
                ));
            }
            Decision::Store { takes_effect, .. } => {
                pending_versions.insert(version_key, record.content_hash);
                if *takes_effect {
                    // Later lines of this chunk compare against this version.
                    let previous = states.get(&key);
                    let state = KeyState {
                        key_id: previous.and_then(|state| state.key_id),
                        person_id: previous.and_then(|state| state.person_id),
                        record_id: 0,
                        revision: record.revision,
                        action: record.action,
                        content_hash: record.content_hash,
                    };
                    states.insert(key, state);
                }
            }
            Decision::Duplicate { .. } => {}
        }
        decisions.push(Some(decision));
    }

    // What the resolver read of each key this chunk changes, before the change (the version
    // in force then, when an upsert).
    let mut before_content: FxHashMap<KeyId, KeyContent> = FxHashMap::default();
    if resolver.is_some() {
        let mut changing: Vec<KeyId> = lines
            .iter()
            .zip(&decisions)
            .filter(|(_, decision)| {
                matches!(
                    decision,
                    Some(Decision::Store {
                        takes_effect: true,
                        ..
                    })
                )
            })
            .filter_map(|(line, _)| {
                let record = line.parsed.as_ref().ok()?;
                key_id_of
                    .get(&(record.source.as_str(), record.source_ref.as_str()))
                    .copied()
            })
            .collect();
        changing.sort_unstable();
        changing.dedup();
        for key in tx.keys_in_force(&changing)? {
            if key.action == Action::Upsert
                && let Some(content) = KeyContent::from_raw(&key.raw)
            {
                before_content.insert(key.key_id, content);
            }
        }
    }

    // 3. Link every version that needs a person.
    let mut all_keys: Vec<_> = lines
        .iter()
        .zip(&decisions)
        .filter(|(_, decision)| matches!(decision, Some(Decision::Store { link: true, .. })))
        .flat_map(|(line, _)| line.keys.strong.iter().cloned())
        .collect();
    all_keys.sort_unstable();
    all_keys.dedup();
    let known = tx.load_identifiers(&all_keys)?;
    let mut linker = ChunkLinker::new(known);
    let mut slots: Vec<Option<Slot>> = vec![None; lines.len()];
    // The person of a key linked earlier in this chunk, for a later revision of it.
    let mut key_slot_in_chunk: FxHashMap<RecordKey<'_>, Slot> = FxHashMap::default();
    for (index, (line, decision)) in lines.iter().zip(&decisions).enumerate() {
        let (Ok(record), Some(decision)) = (&line.parsed, decision) else {
            continue;
        };
        let key: RecordKey<'_> = (record.source.as_str(), record.source_ref.as_str());
        match decision {
            Decision::Store {
                link: true,
                current_person,
                ..
            } => {
                changes.person_before[index] = *current_person;
                let keys = &line.keys.strong;
                let slot = match (key_slot_in_chunk.get(&key), keys.is_empty()) {
                    (Some(slot), true) => *slot,
                    _ => linker.link(tx, keys, *current_person, index)?,
                };
                key_slot_in_chunk.insert(key, slot);
                slots[index] = Some(slot);
            }
            Decision::Store {
                link: false,
                current_person,
                ..
            } => {
                changes.person_before[index] = *current_person;
                slots[index] = match key_slot_in_chunk.get(&key) {
                    Some(slot) => Some(*slot),
                    None => current_person.map(|person| linker.slot_for_existing(person)),
                };
            }
            _ => {}
        }
    }

    // 4. Ids for the new persons, then the merges of existing ones.
    let new_roots = linker.new_roots();
    let new_ids = tx.create_persons(new_roots.len(), now)?;
    changes.created.clone_from(&new_ids);
    let slot_person: FxHashMap<Slot, PersonId> = new_roots.into_iter().zip(new_ids).collect();
    let person_of = |linker: &mut ChunkLinker, slot: Slot| -> PersonId {
        let root = linker.root(slot);
        linker
            .existing_person(root)
            .or_else(|| slot_person.get(&root).copied())
            .unwrap_or_default()
    };
    let mut decisions_to_log: Vec<(usize, LinkDecision)> = Vec::new();
    for merge in linker.merges.clone() {
        let (Some(from), into) = (
            linker.existing_person(merge.from),
            person_of(&mut linker, merge.into),
        ) else {
            continue;
        };
        if from == into {
            continue;
        }
        let moves = tx.merge_persons(from, into)?;
        decisions_to_log.push((
            merge.record_index,
            LinkDecision {
                id: 0,
                kind: "merge".to_owned(),
                person_id: into,
                other_person_id: Some(from),
                record_id: None,
                actor: "rule:shared-strong-identifier".to_owned(),
                reason: "a record carries strong identifiers of both persons".to_owned(),
                evidence: serde_json::json!({
                    "shared_identifiers": merge.shared_keys.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "moves": moves,
                }),
                decided_at: now,
            },
        ));
    }

    // 5. The versions, with reserved ids, and the key states pointing at them.
    let mut stored_lines: Vec<usize> = Vec::new();
    for (index, decision) in decisions.iter().enumerate() {
        match decision {
            Some(Decision::Duplicate { person, record }) => {
                results[index].outcome = Outcome::Duplicate;
                results[index].person_id = *person;
                results[index].record_id = Some(*record);
            }
            Some(Decision::Store { outcome, .. }) => {
                results[index].outcome = *outcome;
                results[index].person_id = slots[index].map(|slot| person_of(&mut linker, slot));
                stored_lines.push(index);
            }
            Some(Decision::Conflict(_)) | None => {}
        }
    }
    let record_ids = tx.reserve_record_ids(stored_lines.len())?;
    // The state of each key after this chunk: its last version that takes effect.
    let mut final_states: FxHashMap<RecordKey<'_>, KeyWrite<'_>> = FxHashMap::default();
    // The line of each key's final state.
    let mut final_line: FxHashMap<RecordKey<'_>, usize> = FxHashMap::default();
    let mut name_rows: FxHashSet<(&str, i32, PersonId)> = FxHashSet::default();
    for (index, record_id) in stored_lines.iter().zip(&record_ids) {
        results[*index].record_id = Some(*record_id);
        let (Ok(record), Some(Decision::Store { takes_effect, .. })) =
            (&lines[*index].parsed, &decisions[*index])
        else {
            continue;
        };
        let person_id = results[*index].person_id;
        if let Some(person) = person_id {
            let birth_year = record.subject.birth_date.map_or(0, |date| date.year());
            for name_key in &lines[*index].keys.names {
                name_rows.insert((name_key.as_str(), birth_year, person));
            }
        }
        if *takes_effect {
            let key: RecordKey<'_> = (record.source.as_str(), record.source_ref.as_str());
            final_line.insert(key, *index);
            final_states.insert(
                key,
                KeyWrite {
                    key_id: key_id_of.get(&key).copied(),
                    source: key.0,
                    source_ref: key.1,
                    person_id,
                    record_id: *record_id,
                    revision: record.revision,
                    action: record.action,
                },
            );
        }
    }
    let mut final_states: Vec<KeyWrite<'_>> = final_states.into_values().collect();
    final_states.sort_unstable_by_key(|state| (state.source, state.source_ref));
    let key_ids = tx.upsert_keys(&final_states)?;
    for (state, key_id) in final_states.iter().zip(&key_ids) {
        key_id_of.insert((state.source, state.source_ref), *key_id);
    }
    let mut new_records: Vec<NewRecord<'_>> = Vec::with_capacity(stored_lines.len());
    for (index, record_id) in stored_lines.iter().zip(&record_ids) {
        let line = &lines[*index];
        let (Ok(record), Some(Decision::Store { outcome, .. })) =
            (&line.parsed, &decisions[*index])
        else {
            continue;
        };
        let key: RecordKey<'_> = (record.source.as_str(), record.source_ref.as_str());
        let key_id = key_id_of
            .get(&key)
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("no key id for {}/{}", key.0, key.1)))?;
        new_records.push(NewRecord {
            id: *record_id,
            key_id,
            source: key.0,
            source_ref: key.1,
            revision: record.revision,
            action: record.action,
            category: record.category.map(|category| category.code()),
            received_at: now,
            observed_at: record.observed_at,
            valid_from: record.valid_from,
            valid_to: record.valid_to,
            content_hash: record.content_hash,
            raw: &line.raw,
            warnings: if record.warnings.is_empty() {
                None
            } else {
                serde_json::to_string(&record.warnings).ok()
            },
            outcome: *outcome,
            person_id: results[*index].person_id,
        });
    }
    tx.insert_records(&new_records)?;

    // 6. Identifiers and name keys of the persons.
    let identifier_rows: Vec<IdentifierRow> = linker
        .new_identifiers
        .clone()
        .into_iter()
        .map(|(key, slot)| IdentifierRow {
            person_id: person_of(&mut linker, slot),
            key,
        })
        .collect();
    tx.insert_identifiers(&identifier_rows)?;
    let mut name_rows: Vec<(&str, i32, PersonId)> = name_rows.into_iter().collect();
    name_rows.sort_unstable();
    tx.insert_name_keys(&name_rows)?;

    // 6b. The neighbourhood of the changed keys resolved again with the frozen model.
    if let Some(resolver) = resolver {
        let mut key_changes: Vec<KeyChange> = Vec::with_capacity(final_states.len());
        for state in &final_states {
            let key: RecordKey<'_> = (state.source, state.source_ref);
            let (Some(&key_id), Some(&index)) = (key_id_of.get(&key), final_line.get(&key)) else {
                continue;
            };
            let after = match (&lines[index].parsed, state.action) {
                (Ok(record), Action::Upsert) => Some(KeyContent::of(
                    &record.subject,
                    record.observed_at,
                    lines[index].keys.strong.clone(),
                )),
                _ => None,
            };
            key_changes.push(KeyChange {
                key_id,
                before: before_content.remove(&key_id),
                after,
                record_id: state.record_id,
            });
        }
        let mut applied = resolve_changes(tx, resolver, key_changes, now)?;
        changes.decisions.append(&mut applied.decisions);
        if !applied.person_of_key.is_empty() {
            for (index, result) in results.iter_mut().enumerate() {
                let Ok(record) = &lines[index].parsed else {
                    continue;
                };
                let key: RecordKey<'_> = (record.source.as_str(), record.source_ref.as_str());
                if result.person_id.is_some()
                    && let Some(person) = key_id_of
                        .get(&key)
                        .and_then(|key_id| applied.person_of_key.get(key_id))
                {
                    result.person_id = Some(*person);
                }
            }
        }
    }

    // 7. Decisions and conflicts for officers.
    let record_id_of_line: FxHashMap<usize, RecordId> = stored_lines
        .iter()
        .copied()
        .zip(record_ids.iter().copied())
        .collect();
    let decisions_to_log: Vec<LinkDecision> = decisions_to_log
        .into_iter()
        .map(|(index, mut decision)| {
            decision.record_id = record_id_of_line.get(&index).copied();
            decision
        })
        .collect();
    let decision_ids = tx.insert_decisions(&decisions_to_log)?;
    changes
        .decisions
        .extend(decisions_to_log.into_iter().zip(decision_ids));
    let mut review_items = Vec::new();
    for conflict in linker.conflicts.clone() {
        let chosen = person_of(&mut linker, conflict.chosen);
        let mut person_ids = vec![chosen];
        for other in &conflict.others {
            let other = person_of(&mut linker, *other);
            if !person_ids.contains(&other) {
                person_ids.push(other);
            }
        }
        review_items.push(NewReviewItem {
            kind: "identifier_conflict".to_owned(),
            person_ids,
            record_id: record_id_of_line.get(&conflict.record_index).copied(),
            evidence: serde_json::json!({
                "conflicting_identifiers": conflict.conflicting_keys.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "linked_to": chosen,
                "reason": "strong identifiers of different persons, or a second identifier of a kind a person holds once, met in one record; linked to one person and not merged",
            }),
            created_at: now,
        });
    }
    tx.insert_review_items(&review_items)?;

    // 8. Quarantine, and replayed lines.
    let mut new_quarantine = Vec::new();
    let mut quarantine_lines = Vec::new();
    for (index, rejection) in &rejections {
        let line = &lines[*index];
        results[*index].outcome = Outcome::Quarantined;
        results[*index].source = rejection.source.clone();
        results[*index].source_ref = rejection.source_ref.clone();
        results[*index].errors = rejection.violations.clone();
        if let Some(id) = line.replay_of {
            let violations =
                serde_json::to_string(&rejection.violations).unwrap_or_else(|_| "[]".to_owned());
            tx.update_quarantine(id, &line.raw, &violations)?;
            results[*index].quarantine_id = Some(id);
        } else {
            new_quarantine.push(quarantine_row(line, now, origin, rejection));
            quarantine_lines.push(*index);
        }
    }
    let quarantine_ids = tx.insert_quarantine(&new_quarantine)?;
    for (index, id) in quarantine_lines.into_iter().zip(quarantine_ids) {
        results[index].quarantine_id = Some(id);
    }
    for (index, line) in lines.iter().enumerate() {
        if let Some(id) = line.replay_of
            && results[index].outcome != Outcome::Quarantined
        {
            tx.resolve_quarantine(id, results[index].record_id, now)?;
            results[index].quarantine_id = Some(id);
        }
    }
    Ok((results, changes))
}

/// The change feed's events of a chunk: persons created, merges and splits, then each stored
/// version in line order (a person's events keep the order of its lines).
fn chunk_outbox(
    lines: &[ParsedLine],
    results: &[LineResult],
    changes: &ChunkChanges,
    now: DateTime<Utc>,
) -> Outbox {
    let mut outbox = Outbox::new();
    outbox.persons_created(&changes.created, now);
    let (decisions, ids): (Vec<LinkDecision>, Vec<i64>) = changes.decisions.iter().cloned().unzip();
    outbox.decisions(&decisions, &ids);
    let mut records = Vec::new();
    for (index, (line, result)) in lines.iter().zip(results).enumerate() {
        let (Ok(record), Some(record_id)) = (&line.parsed, result.record_id) else {
            continue;
        };
        if !matches!(
            result.outcome,
            Outcome::Accepted | Outcome::Superseded | Outcome::Retracted
        ) {
            continue;
        }
        records.push(RecordChange {
            person: result.person_id,
            outcome: result.outcome,
            record_id,
            source: record.source.as_str(),
            source_ref: record.source_ref.as_str(),
            revision: record.revision,
            category: record.category,
            valid_from: record.valid_from,
            valid_to: record.valid_to,
            person_before: changes.person_before.get(index).copied().flatten(),
        });
    }
    outbox.records(&records, &changes.created, now);
    outbox
}
