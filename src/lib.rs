//! agent-queue as a library: the binary's modules, public so that the fuzz
//! targets, the benchmark and the tests reach the pure parts (task parsing,
//! shell quoting, ordering) without going through the command line.

pub mod agent_pane;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod dispatcher;
pub mod docs;
pub mod error;
pub mod inbox;
pub mod journal;
pub mod launch;
pub mod limits;
pub mod pane;
pub mod pending;
pub mod ready;
pub mod report;
pub mod routing;
pub mod screen;
pub mod security;
pub mod servers;
pub mod sessions;
pub mod shell;
pub mod state;
pub mod task;
pub mod tmux;
pub mod usage;
