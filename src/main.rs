//! agent-queue: dispatch Markdown task files from project inboxes into idle
//! tmux sessions running an AI coding agent. `main` parses the command line,
//! runs one subcommand and turns its result into the contract's exit code.

use std::process::ExitCode;

use agent_queue::cmd::{Ctx, Run};
use agent_queue::output::report;
use agent_queue::{cli, error};
use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    report::init(cli.global.json, cli.global.quiet, cli.global.verbose);
    let ctx = Ctx { global: cli.global };
    let result = cli.command.run(&ctx);
    if let Err(err) = &result {
        report::error(format!("{err:#}"));
    }
    ExitCode::from(error::Exit::of(&result).code())
}
