//! The ingest pipeline: validate → store the version as received → link it to a person →
//! update the person's projection → record the change, one chunk per transaction, and the
//! quarantine replay that feeds fixed lines back through the same path.
//!
//! Deterministic linking lives in [`linker`]; the probabilistic resolver plugs in where a
//! record's strong identifiers find nobody.

pub mod access_log;
pub mod clock;
mod ingest;
pub mod linker;
pub mod profile;
pub mod review;

pub use clock::{Clock, FixedClock, SystemClock};
pub use ingest::{
    DEFAULT_CHUNK_SIZE, FailPoint, IngestOptions, Ingestor, Line, LineResult, PipelineError,
    Summary,
};
