//! What agent-queue tells the operator: event lines on stderr, JSON lines on
//! stdout, and times written the way operators read them.

pub mod report;
