//! agent-queue as a library: the binary is [`main`] and a line around it.
//! The modules that the fuzz targets and the tests reach without going
//! through the command line (task parsing, shell quoting, the config loader,
//! limit texts, times) are public; the rest is the crate's own.
//!
//! Grouped by domain: `queue` (task files, inboxes, pending order, routing),
//! `tmux` (the one process type, the servers), `pane` (what a pane runs, the
//! agent pane, screens), `launch` (starting an agent, the ready rule),
//! `dispatch` (claim, settle, free sessions, recovery), `accounts` (limits
//! seen, accounts held), `store` (state, journal, file trust), `output`
//! (events, JSON paths, times), `config`, `cli` and `cmd`.

pub mod accounts;
pub(crate) mod cli;
pub mod clock;
pub(crate) mod cmd;
pub mod config;
pub(crate) mod detach;
pub(crate) mod dispatch;
pub(crate) mod doctor;
pub(crate) mod error;
pub(crate) mod launch;
pub(crate) mod output;
pub(crate) mod pane;
pub(crate) mod paths;
pub mod queue;
pub mod shell;
pub(crate) mod store;
pub(crate) mod tmux;

use std::process::ExitCode;

use clap::Parser;

use cmd::{Ctx, Run};
use output::report;

/// The program: parses the command line, runs one subcommand and turns its
/// result into the contract's exit code.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    report::init(cli.global.json, cli.global.quiet, cli.global.verbose);
    let ctx = Ctx { global: cli.global };
    let result = cli.command.run(&ctx);
    if let Err(err) = &result {
        report::error(format!("{err:#}"));
    }
    ExitCode::from(error::Exit::of(&result).code())
}
