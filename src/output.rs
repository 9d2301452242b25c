//! What agent-queue tells the operator: event lines on stderr, JSON lines on
//! stdout, and tables.

pub mod report;
pub mod table;
