//! The registry's domain, pure: the ingest envelope read into checked types, record categories and
//! their typed payloads, strong identifiers for linking, and the rules that pick a profile's facts.
//!
//! Nothing here does I/O or knows of HTTP or SQL. JSON enters only as `serde_json::Value` (the
//! envelope is JSON by contract) and leaves only as the payload's own serialisation.

pub mod category;
pub mod envelope;
pub mod linking;
pub mod names;
pub mod payload;
pub mod profile;
pub mod subject;
pub mod values;
pub mod violation;

pub use category::Category;
pub use envelope::{Action, ParseMode, Rejection, SourceRecord, parse_record};
pub use payload::Payload;
pub use subject::Subject;
pub use violation::{Rule, Violation};
