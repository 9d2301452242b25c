//! What agent-queue keeps on disk besides the task files: the state (who
//! holds what now), the history journal (what happened), and the ownership
//! and mode checks that decide which files are trusted at all.

pub mod journal;
pub mod notify;
pub mod paused;
pub mod security;
pub mod state;
