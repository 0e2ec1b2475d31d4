//! The ingest pipeline: validate → store the version as received → link it to a person →
//! update the person's projection → record the change, one chunk per transaction, and the
//! quarantine replay that feeds fixed lines back through the same path.
//!
//! Deterministic linking lives in [`linker`]; with a frozen resolver model, [`resolution`]
//! then resolves the neighbourhood of each chunk's changed keys again, so that the persons
//! are those the probabilistic resolver finds on all records at once.

pub mod access_log;
pub mod api_keys;
pub mod clock;
pub mod corrections;
pub mod events;
pub mod group_commit;
mod ingest;
pub mod linker;
pub mod officers;
pub mod passes;
pub mod profile;
pub mod resolution;
pub mod retention;
pub mod review;
pub mod status;
pub mod subscriptions;
pub mod webhooks;

pub use clock::{Clock, FixedClock, SystemClock};
pub use ingest::{
    AlsoInChunk, DEFAULT_CHUNK_SIZE, FailPoint, IngestOptions, Ingestor, Line, LineResult,
    PipelineError, Summary,
};
