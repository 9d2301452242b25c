//! What agent-queue tells the operator: event lines on stderr, JSON lines on
//! stdout, and tables.

pub mod event;
pub mod report;
pub mod table;
