//! agent-queue as a library: the binary's modules, public so that the fuzz
//! targets, the benchmark and the tests reach the pure parts (task parsing,
//! shell quoting, ordering) without going through the command line.
//!
//! Grouped by domain: `queue` (task files, inboxes, pending order, routing),
//! `tmux` (the one process type, the servers), `pane` (what a pane runs, the
//! agent pane, screens), `launch` (starting an agent, the ready rule),
//! `dispatch` (claim, settle, free sessions, recovery), `accounts` (limits
//! seen, accounts held), `store` (state, journal, file trust), `output`
//! (events, JSON paths, times), `config`, `cli` and `cmd`.

pub mod accounts;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod dispatch;
pub mod doctor;
pub mod error;
pub mod launch;
pub mod output;
pub mod pane;
pub mod queue;
pub mod shell;
pub mod store;
pub mod tmux;
