//! The HTTP handlers, one module per resource.

pub mod decisions;
pub mod persons;
pub mod quarantine;
pub mod records;
pub mod review;
pub mod system;
