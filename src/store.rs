//! What agent-queue keeps on disk besides the task files: the state (who
//! holds what now), the history journal (what happened), and the ownership
//! and mode checks that decide which files are trusted at all, and the one way
//! agent-queue opens a file of its own (0600, never through a symlink).

pub mod claims;
pub mod journal;
pub mod notify;
pub mod paused;
pub mod private;
pub mod security;
pub mod state;
