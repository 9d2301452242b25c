//! One file per subcommand, each implementing [`Run`]; `main` only parses
//! the command line, runs the command and maps the result to an exit code.

use anyhow::Context;

use crate::cli::{Command, Global};
use crate::config::{self, Config};
use crate::error::Outcome;
use crate::output::report;
use crate::store::journal::Journal;

mod clear_cooldown;
mod demo;
mod dispatch;
mod free_session;
mod generate_docs;
mod history;
mod hook;
mod mark_idle;
mod parse;
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
    /// XDG default (exit 2 when it is missing or wrong), and from then on
    /// records every event in its history journal.
    pub fn config(&self) -> anyhow::Result<Config> {
        let path = match &self.global.config {
            Some(p) => p.clone(),
            None => config::default_path(),
        };
        let config = config::load(&path).with_context(|| "loading the config".to_string())?;
        report::set_history(Journal::of(&config));
        Ok(config)
    }
}

pub trait Run {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome>;
}

impl Run for Command {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
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
            Command::GenerateDocs(a) => a.run(ctx),
        }
    }
}

/// Rows as aligned columns, two spaces apart, for people.
pub(crate) fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
