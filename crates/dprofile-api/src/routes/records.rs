//! Ingest over HTTP: one record per request, or an NDJSON batch that is read, ingested and
//! answered as a stream, a chunk of lines per store transaction, so that neither side holds
//! the whole batch in memory and the client sees results as chunks commit.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use dprofile_domain::{Category, Rule, Violation};
use dprofile_pipeline::access_log::AccessLog;
use dprofile_pipeline::{Clock, IngestOptions, Ingestor, Line, LineResult, Summary};
use dprofile_policy::Policy;
use dprofile_store::{NewQuarantine, Outcome};
use futures_util::StreamExt;
use tracing::Instrument;

use crate::auth::Caller;
use crate::problem::{ApiError, Problem};
use crate::wire::{
    BatchSummaryLine, EnvelopeDoc, LineResultBody, OutcomeBody, SummaryBody, ViolationBody,
    person_url,
};
use crate::write_log::{self, WriteRefusal};
use crate::{ApiContext, run_blocking};

/// Where records posted one by one are said to come from, in quarantine.
const ORIGIN_SINGLE: &str = "api";
/// Where lines of a posted batch are said to come from, in quarantine.
const ORIGIN_BATCH: &str = "api-batch";

/// How much of an oversized body is read and thrown away before the 413 is sent: a client that
/// is still writing when the server closes the connection sees a reset instead of the answer.
/// Past this the connection is closed anyway, to bound the waste.
const DRAIN_LIMIT_BYTES: u64 = 16 * 1024 * 1024;

/// Ingests one record. The key's agency must be the record's `source`, and the category in
/// that agency's `[writes]` of the access policy; the write is logged either way.
#[utoipa::path(
    post,
    path = "/v1/records",
    tag = "records",
    request_body(content = EnvelopeDoc, description = "One record in the ingest envelope.", content_type = "application/json"),
    responses(
        (status = 201, description = "Accepted, superseded, retracted or stale (kept, not in force).", body = LineResultBody,
            headers(("location" = String, description = "The profile of the record's person, when it has one."))),
        (status = 200, description = "Duplicate: the same key, revision and content were received before.", body = LineResultBody),
        (status = 403, description = "The key may not send this record: `write.source_not_caller` (`errors` points at `/source`) or `policy.write_not_granted` (`/category`). Not stored; logged.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over the per-record limit.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused; kept in quarantine (`quarantine_id`) with the reasons (`errors`).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store does not answer.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_record(
    State(context): State<ApiContext>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body_limited(body, &headers, context.state.config.max_record_bytes).await?;
    let writer = ChunkWriter::new(&context, caller);
    let options = IngestOptions {
        origin: ORIGIN_SINGLE.to_owned(),
        ..IngestOptions::default()
    };
    let line = PendingLine::Whole(Line {
        number: 1,
        bytes: bytes.to_vec(),
    });
    let max_line_bytes = context.state.config.max_record_bytes;
    let mut answers =
        run_blocking(move || ingest_chunk(&writer, vec![line], max_line_bytes, &options)).await?;
    let result = match answers.pop().ok_or(ApiError::Internal)? {
        ChunkAnswer::Line(result) => result,
        ChunkAnswer::Refused { refusal, .. } => {
            return Err(ApiError::WriteRefused {
                errors: vec![refusal.violation()],
                refusal: refusal.refusal,
            });
        }
    };
    context.metrics.record_outcome(result.outcome);
    line_result_response(result, StatusCode::CREATED)
}

/// The answer for one ingested or replayed record: 422 problem if refused, 200 for a
/// duplicate, `success_status` otherwise.
pub(crate) fn line_result_response(
    result: LineResult,
    success_status: StatusCode,
) -> Result<Response, ApiError> {
    match result.outcome {
        Outcome::Quarantined => Err(ApiError::RecordRejected {
            quarantine_id: result.quarantine_id,
            errors: result.errors,
        }),
        Outcome::Duplicate => {
            Ok((StatusCode::OK, Json(LineResultBody::from(result))).into_response())
        }
        _ => {
            let location = result
                .person_id
                .and_then(|person_id| HeaderValue::from_str(&person_url(person_id)).ok());
            let mut response = (success_status, Json(LineResultBody::from(result))).into_response();
            if let Some(location) = location {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok(response)
        }
    }
}

/// Ingests an NDJSON batch, streaming the results.
#[utoipa::path(
    post,
    path = "/v1/records/batch",
    tag = "records",
    request_body(content = String, description = "NDJSON: one ingest envelope per line. Blank lines are skipped but counted.", content_type = "application/x-ndjson"),
    responses(
        (status = 200, description = "NDJSON, streamed as chunks commit: one `LineResult` per non-blank input line, in input order (a line the key may not send — `source` not the key's agency, category not in its `[writes]` — is `refused`, not stored, and logged), then a last line `{\"summary\": {...}}` (`BatchSummaryLine`). A line over the per-line limit is quarantined with rule `too_large`. If the batch stops part-way (the body exceeds the batch limit while streaming, the store fails), the last line is `{\"error\": Problem}` instead of the summary; chunks answered before it are committed.", body = LineResultBody, content_type = "application/x-ndjson"),
        (status = 413, description = "The declared body length is over the batch limit.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_batch(
    State(context): State<ApiContext>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limit = context.state.config.max_batch_bytes;
    if declared_length(&headers).is_some_and(|length| length > limit) {
        drain(body).await;
        return Err(ApiError::PayloadTooLarge { limit });
    }
    // Two chunks of answers in flight at most: a slow reader slows the ingest down instead of
    // piling answers up in memory.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(2);
    tokio::spawn(stream_batch(context, caller, body, sender).instrument(tracing::Span::current()));
    let answers = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|bytes| (Ok::<Bytes, Infallible>(bytes), receiver))
    });
    let mut response = Body::from_stream(answers).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}

/// Reads the batch, ingests it chunk by chunk, and sends each chunk's answer lines.
async fn stream_batch(
    context: ApiContext,
    caller: Caller,
    body: Body,
    sender: tokio::sync::mpsc::Sender<Bytes>,
) {
    let writer = ChunkWriter::new(&context, caller);
    let config = &context.state.config;
    let chunk_lines = config.batch_chunk_lines.max(1);
    let mut cutter = LineCutter::new(config.max_record_bytes);
    let mut frames = body.into_data_stream();
    let mut received: u64 = 0;
    let mut summary = BatchSummary::default();
    while let Some(frame) = frames.next().await {
        let bytes = match frame {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(error = %error, "the batch body broke off");
                let _ = sender.send(error_line(&ApiError::BodyUnreadable)).await;
                return;
            }
        };
        received += bytes.len() as u64;
        if received > config.max_batch_bytes {
            let problem = ApiError::PayloadTooLarge {
                limit: config.max_batch_bytes,
            };
            let _ = sender.send(error_line(&problem)).await;
            return;
        }
        cutter.push(&bytes);
        while cutter.complete.len() >= chunk_lines {
            let chunk: Vec<PendingLine> = cutter.complete.drain(..chunk_lines).collect();
            if !ingest_and_answer(&context, &writer, chunk, &mut summary, &sender).await {
                return;
            }
        }
    }
    cutter.finish();
    while !cutter.complete.is_empty() {
        let take = chunk_lines.min(cutter.complete.len());
        let chunk: Vec<PendingLine> = cutter.complete.drain(..take).collect();
        if !ingest_and_answer(&context, &writer, chunk, &mut summary, &sender).await {
            return;
        }
    }
    let mut body = SummaryBody::from(summary.lines);
    body.refused = summary.refused;
    let mut last = serde_json::to_vec(&BatchSummaryLine { summary: body }).unwrap_or_default();
    last.push(b'\n');
    let _ = sender.send(Bytes::from(last)).await;
}

/// Ingests one chunk and sends its answer lines; false when the batch must stop (the store
/// failed, or the client went away).
async fn ingest_and_answer(
    context: &ApiContext,
    writer: &ChunkWriter,
    chunk: Vec<PendingLine>,
    summary: &mut BatchSummary,
    sender: &tokio::sync::mpsc::Sender<Bytes>,
) -> bool {
    let writer = writer.clone();
    let max_line_bytes = context.state.config.max_record_bytes;
    let options = IngestOptions {
        origin: ORIGIN_BATCH.to_owned(),
        ..IngestOptions::default()
    };
    let answers =
        match run_blocking(move || ingest_chunk(&writer, chunk, max_line_bytes, &options)).await {
            Ok(answers) => answers,
            Err(error) => {
                let _ = sender.send(error_line(&error)).await;
                return false;
            }
        };
    let mut answer = Vec::new();
    for chunk_answer in answers {
        let body = match chunk_answer {
            ChunkAnswer::Line(result) => {
                context.metrics.record_outcome(result.outcome);
                summary.lines.add(result.outcome);
                LineResultBody::from(result)
            }
            ChunkAnswer::Refused { line, refusal } => {
                summary.refused += 1;
                LineResultBody {
                    line,
                    outcome: OutcomeBody::Refused,
                    errors: vec![ViolationBody::from(refusal.violation())],
                    source: refusal.source,
                    source_ref: refusal.source_ref,
                    person_id: None,
                    record_id: None,
                    quarantine_id: None,
                    warnings: Vec::new(),
                }
            }
        };
        if serde_json::to_writer(&mut answer, &body).is_ok() {
            answer.push(b'\n');
        }
    }
    sender.send(Bytes::from(answer)).await.is_ok()
}

/// The last line of a batch that stopped part-way.
fn error_line(error: &ApiError) -> Bytes {
    let mut line =
        serde_json::to_vec(&serde_json::json!({ "error": error.to_problem() })).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// Counts of a batch's lines.
#[derive(Debug, Default)]
struct BatchSummary {
    lines: Summary,
    refused: u64,
}

/// What ingesting a chunk needs besides its lines: who sends it, the policy that says what
/// they may send, and the log their writes go to.
#[derive(Clone)]
struct ChunkWriter {
    ingestor: Ingestor,
    caller: Caller,
    policy: Arc<Policy>,
    access_log: Arc<AccessLog>,
    clock: Arc<dyn Clock>,
}

impl ChunkWriter {
    fn new(context: &ApiContext, caller: Caller) -> ChunkWriter {
        ChunkWriter {
            ingestor: context.state.ingestor.clone(),
            caller,
            policy: context.state.policy.clone(),
            access_log: context.state.access_log.clone(),
            clock: context.state.clock.clone(),
        }
    }
}

/// What became of one line of a chunk.
enum ChunkAnswer {
    Line(LineResult),
    /// The caller may not send it: not stored, logged as a refused write.
    Refused {
        line: u64,
        refusal: Box<WriteRefusal>,
    },
}

impl ChunkAnswer {
    fn line(&self) -> u64 {
        match self {
            ChunkAnswer::Line(result) => result.line,
            ChunkAnswer::Refused { line, .. } => *line,
        }
    }
}

/// Authorises every line, ingests the allowed whole lines through the pipeline with their
/// write entries in the chunk's transaction (refusals logged in it too), and quarantines
/// oversized ones; answers in line order.
fn ingest_chunk(
    writer: &ChunkWriter,
    chunk: Vec<PendingLine>,
    max_line_bytes: u64,
    options: &IngestOptions,
) -> Result<Vec<ChunkAnswer>, ApiError> {
    let ingestor = &writer.ingestor;
    let now = writer.clock.now();
    let mut whole_lines = Vec::new();
    let mut oversized = Vec::new();
    let mut categories: BTreeMap<u64, Category> = BTreeMap::new();
    let mut refused: Vec<(u64, Box<WriteRefusal>)> = Vec::new();
    for pending in chunk {
        match pending {
            PendingLine::Whole(line) => {
                match write_log::authorise_line(&writer.policy, &writer.caller, &line.bytes) {
                    Ok(category) => {
                        if let Some(category) = category {
                            categories.insert(line.number, category);
                        }
                        whole_lines.push(line);
                    }
                    Err(refusal) => refused.push((line.number, refusal)),
                }
            }
            PendingLine::TooLarge {
                number,
                prefix,
                length,
            } => oversized.push((number, prefix, length)),
        }
    }
    let refused_entries: Vec<_> = refused
        .iter()
        .map(|(_, refusal)| write_log::refused_entry(&writer.caller, now, refusal))
        .collect();
    let mut results = if whole_lines.is_empty() {
        if !refused_entries.is_empty() {
            writer.access_log.record(&refused_entries).map_err(|error| {
                tracing::error!(error = %error, "the access log cannot be written: the refusal is not answered");
                ApiError::StoreUnavailable
            })?;
        }
        Vec::new()
    } else {
        ingestor.ingest_lines_and(whole_lines, options, &mut |tx, results| {
            let mut entries =
                write_log::accepted_entries(&writer.caller, now, results, &categories);
            entries.extend(refused_entries.iter().cloned());
            writer.access_log.record_in(tx, &entries).map(|_| ())
        })?
    };
    if !oversized.is_empty() {
        let now = chrono::Utc::now();
        let rows: Vec<(NewQuarantine, Violation)> = oversized
            .into_iter()
            .map(|(number, prefix, length)| {
                let violation = Violation::new(
                    "",
                    Rule::TooLarge,
                    format!(
                        "the line is {length} bytes, over the limit of {max_line_bytes} bytes: send large attachments by reference; only the first {max_line_bytes} bytes are kept"
                    ),
                );
                let row = NewQuarantine {
                    received_at: now,
                    origin: options.origin.clone(),
                    line_number: Some(number),
                    source: None,
                    source_ref: None,
                    raw: prefix,
                    violations: serde_json::to_string(&[&violation]).unwrap_or_else(|_| "[]".to_owned()),
                };
                (row, violation)
            })
            .collect();
        let quarantine_rows: Vec<NewQuarantine> = rows.iter().map(|(row, _)| row.clone()).collect();
        let mut ids = Vec::new();
        ingestor.store().write(&mut |transaction| {
            ids = transaction.insert_quarantine(&quarantine_rows)?;
            Ok(())
        })?;
        for ((row, violation), id) in rows.into_iter().zip(ids) {
            results.push(LineResult {
                line: row.line_number.unwrap_or_default(),
                outcome: Outcome::Quarantined,
                source: None,
                source_ref: None,
                person_id: None,
                record_id: None,
                quarantine_id: Some(id),
                errors: vec![violation],
                warnings: Vec::new(),
            });
        }
    }
    let mut answers: Vec<ChunkAnswer> = results.into_iter().map(ChunkAnswer::Line).collect();
    answers.extend(
        refused
            .into_iter()
            .map(|(line, refusal)| ChunkAnswer::Refused { line, refusal }),
    );
    answers.sort_by_key(ChunkAnswer::line);
    Ok(answers)
}

/// A line cut from the batch body.
#[derive(Debug)]
enum PendingLine {
    Whole(Line),
    /// Over the per-line limit: only its first bytes were kept.
    TooLarge {
        number: u64,
        prefix: Vec<u8>,
        length: u64,
    },
}

/// Cuts a byte stream into lines without ever holding more than one line's limit of one line.
#[derive(Debug)]
struct LineCutter {
    max_line_bytes: usize,
    /// The current line's first bytes: up to one more than the limit, so that a trailing `\r`
    /// of a line exactly at the limit is still told apart.
    current: Vec<u8>,
    /// Every byte of the current line, kept or not.
    current_length: u64,
    line_number: u64,
    complete: VecDeque<PendingLine>,
}

impl LineCutter {
    fn new(max_line_bytes: u64) -> LineCutter {
        LineCutter {
            max_line_bytes: usize::try_from(max_line_bytes).unwrap_or(usize::MAX),
            current: Vec::new(),
            current_length: 0,
            line_number: 0,
            complete: VecDeque::new(),
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        while let Some(position) = bytes.iter().position(|byte| *byte == b'\n') {
            self.append(&bytes[..position]);
            self.end_line();
            bytes = &bytes[position + 1..];
        }
        self.append(bytes);
    }

    fn append(&mut self, part: &[u8]) {
        self.current_length += part.len() as u64;
        let room = self
            .max_line_bytes
            .saturating_add(1)
            .saturating_sub(self.current.len());
        self.current
            .extend_from_slice(&part[..room.min(part.len())]);
    }

    fn end_line(&mut self) {
        self.line_number += 1;
        let mut bytes = std::mem::take(&mut self.current);
        let mut length = std::mem::take(&mut self.current_length);
        if bytes.last() == Some(&b'\r') && length == bytes.len() as u64 {
            bytes.pop();
            length -= 1;
        }
        if length > self.max_line_bytes as u64 {
            bytes.truncate(self.max_line_bytes);
            self.complete.push_back(PendingLine::TooLarge {
                number: self.line_number,
                prefix: bytes,
                length,
            });
        } else if !bytes.iter().all(u8::is_ascii_whitespace) {
            self.complete.push_back(PendingLine::Whole(Line {
                number: self.line_number,
                bytes,
            }));
        }
    }

    /// Ends the last line when the body does not end with a newline.
    fn finish(&mut self) {
        if self.current_length > 0 {
            self.end_line();
        }
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse().ok())
}

/// Reads a whole body of at most `limit` bytes; a larger one is a 413.
pub(crate) async fn read_body_limited(
    body: Body,
    headers: &HeaderMap,
    limit: u64,
) -> Result<Vec<u8>, ApiError> {
    if declared_length(headers).is_some_and(|length| length > limit) {
        drain(body).await;
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut frames = body.into_data_stream();
    let mut collected: Vec<u8> = Vec::new();
    while let Some(frame) = frames.next().await {
        let bytes = frame.map_err(|error| {
            tracing::warn!(error = %error, "the request body broke off");
            ApiError::BodyUnreadable
        })?;
        if collected.len() as u64 + bytes.len() as u64 > limit {
            drain_stream(&mut frames, collected.len() as u64 + bytes.len() as u64).await;
            return Err(ApiError::PayloadTooLarge { limit });
        }
        collected.extend_from_slice(&bytes);
    }
    Ok(collected)
}

async fn drain(body: Body) {
    let mut frames = body.into_data_stream();
    drain_stream(&mut frames, 0).await;
}

async fn drain_stream(frames: &mut axum::body::BodyDataStream, mut already_read: u64) {
    while already_read <= DRAIN_LIMIT_BYTES {
        match frames.next().await {
            Some(Ok(bytes)) => already_read += bytes.len() as u64,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(pieces: &[&[u8]], limit: u64) -> Vec<String> {
        let mut cutter = LineCutter::new(limit);
        for piece in pieces {
            cutter.push(piece);
        }
        cutter.finish();
        cutter
            .complete
            .into_iter()
            .map(|pending| match pending {
                PendingLine::Whole(line) => {
                    format!("{}:{}", line.number, String::from_utf8_lossy(&line.bytes))
                }
                PendingLine::TooLarge {
                    number,
                    prefix,
                    length,
                } => {
                    format!(
                        "{number}:too_large({length}):{}",
                        String::from_utf8_lossy(&prefix)
                    )
                }
            })
            .collect()
    }

    #[test]
    fn lines_are_cut_across_pieces_and_blank_lines_counted() {
        assert_eq!(
            cut(&[b"ab", b"c\n\nde\r\n", b"f"], 10),
            ["1:abc", "3:de", "4:f"]
        );
        assert_eq!(cut(&[b"abc\n"], 10), ["1:abc"]);
        assert_eq!(cut(&[b"\n \n"], 10), Vec::<String>::new());
    }

    #[test]
    fn a_line_over_the_limit_keeps_only_its_prefix() {
        assert_eq!(cut(&[b"abcdef\nxy\n"], 4), ["1:too_large(6):abcd", "2:xy"]);
        assert_eq!(cut(&[b"ab", b"cd", b"e"], 4), ["1:too_large(5):abcd"]);
        // A line exactly at the limit with a carriage return is not too large.
        assert_eq!(cut(&[b"abcd\r\n"], 4), ["1:abcd"]);
    }
}
