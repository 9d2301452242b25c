//! One file per subcommand, each implementing [`Run`]; `main` only parses
//! the command line, runs the command and maps the result to an exit code.

use anyhow::Context;

use crate::cli::{Command, Global};
use crate::config::{self, Config};
use crate::error::Outcome;

mod cancel;
mod clear_cooldown;
mod demo;
mod dispatch;
mod doctor;
mod free_session;
mod generate_docs;
mod history;
mod hook;
mod mark_idle;
mod parse;
mod pause;
mod peek;
mod prune;
mod requeue;
mod scan;
mod status;
mod statusline;
mod submit;

/// What every subcommand can reach: the global flags and, on demand, the config.
pub struct Ctx {
    pub global: Global,
}

impl Ctx {
    /// Loads the config named by `--config`, `$AGENT_QUEUE_CONFIG` or the
    /// XDG default (exit 2 when it is missing or wrong). A command that
    /// reports events then opens its history journal itself
    /// ([`crate::store::journal::open`]).
    pub fn config(&self) -> anyhow::Result<Config> {
        let path = match &self.global.config {
            Some(p) => p.clone(),
            None => config::default_path(),
        };
        config::load(&path).with_context(|| "loading the config".to_string())
    }
}

pub trait Run {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome>;
}

/// Whether the notifier's failures are reported here: by what an operator
/// or a timer runs, never by what an agent runs (a hook, its status line, a
/// Stop hook's mark-idle), whose words nobody reads.
fn reports_notify_failures(command: &Command) -> bool {
    matches!(
        command,
        Command::Scan(_)
            | Command::Status
            | Command::Doctor
            | Command::Dispatch(_)
            | Command::FreeSession(_)
            | Command::Cancel(_)
            | Command::Requeue(_)
            | Command::Pause(_)
            | Command::Resume(_)
            | Command::Prune(_)
            | Command::Submit(_)
    )
}

impl Run for Command {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        if reports_notify_failures(self) {
            if let Ok(config) = ctx.config() {
                crate::store::notify::report_failures(&config.state_file);
            }
        }
        match self {
            Command::Parse(a) => a.run(ctx),
            Command::FreeSession(a) => a.run(ctx),
            Command::Dispatch(a) => a.run(ctx),
            Command::Scan(a) => a.run(ctx),
            Command::MarkIdle(a) => a.run(ctx),
            Command::Recycle(a) => a.run(ctx),
            Command::Status => status::Status.run(ctx),
            Command::History(a) => a.run(ctx),
            Command::Demo => demo::Demo.run(ctx),
            Command::Submit(a) => a.run(ctx),
            Command::Hook => hook::Hook.run(ctx),
            Command::Statusline => statusline::StatusLine.run(ctx),
            Command::ClearCooldown(a) => a.run(ctx),
            Command::Prune(a) => a.run(ctx),
            Command::GenerateDocs(a) => a.run(ctx),
            Command::Cancel(a) => a.run(ctx),
            Command::Requeue(a) => a.run(ctx),
            Command::Pause(a) => pause::Pause(a).run(ctx),
            Command::Resume(a) => pause::Resume(a).run(ctx),
            Command::Peek(a) => a.run(ctx),
            Command::Doctor => doctor::Doctor.run(ctx),
        }
    }
}
