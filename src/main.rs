//! agent-queue: dispatch Markdown task files from project inboxes into idle
//! tmux sessions running an AI coding agent. `main` parses the command line,
//! runs one subcommand and turns its result into the contract's exit code.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod cmd;
mod config;
mod dispatcher;
mod docs;
mod error;
mod inbox;
mod launch;
mod pending;
mod report;
mod screen;
mod security;
mod sessions;
mod shell;
mod state;
mod task;
mod tmux;

use cmd::Run;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    report::init(cli.global.json, cli.global.quiet, cli.global.verbose);
    let ctx = cmd::Ctx { global: cli.global };
    match cli.command.run(&ctx) {
        Ok(error::Outcome::Done) => ExitCode::SUCCESS,
        Ok(error::Outcome::NothingFound) => ExitCode::from(1),
        Err(err) => {
            report::error(format!("{err:#}"));
            ExitCode::from(error::exit_code(&err))
        }
    }
}
