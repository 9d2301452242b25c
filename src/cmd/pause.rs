//! `pause` and `resume [--pool P]... [--session S]... [--project DIR]...`:
//! the operator's hold on new work. The pauses live in the state, and every
//! path that hands out a task reads them under the lock of its claim (see
//! `dispatch::free::paused` and `free::project_open`); running tasks go on.

use super::{Ctx, Run};
use crate::cli::PauseArgs;
use crate::config::{Config, Kind};
use crate::error::{bad_input, Outcome};
use crate::output::report::{self, Event};
use crate::store::paused::{Paused, Selection};
use crate::store::state::Store;

pub struct Pause<'a>(pub &'a PauseArgs);
pub struct Resume<'a>(pub &'a PauseArgs);

impl Run for Pause<'_> {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        change(ctx, self.0, Verb::Pause)
    }
}

impl Run for Resume<'_> {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        change(ctx, self.0, Verb::Resume)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Pause,
    Resume,
}

fn change(ctx: &Ctx, args: &PauseArgs, verb: Verb) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    crate::store::journal::open(&config);
    let sel = selection(&config, args)?;
    let store = Store::new(config.state_file.clone());
    let mut locked = store.lock()?;
    let before = locked.state.paused.clone();
    let all: Vec<String> = config.pools.iter().map(|p| p.name.clone()).collect();
    let changed = match verb {
        Verb::Pause => locked.state.paused.pause(&sel, &all),
        Verb::Resume => locked.state.paused.resume(&sel),
    };
    if changed {
        locked.save()?;
    }
    let (pools, sessions, projects) = difference(&before, &locked.state.paused);
    drop(locked);
    report::event(&match verb {
        Verb::Pause => Event::Paused {
            pools,
            sessions,
            projects,
        },
        Verb::Resume => Event::Resumed {
            pools,
            sessions,
            projects,
        },
    });
    Ok(Outcome::Done)
}

/// What changed between two pauses, either way: the names to report.
fn difference(a: &Paused, b: &Paused) -> (Vec<String>, Vec<String>, Vec<String>) {
    let pools = a.pools.symmetric_difference(&b.pools).cloned().collect();
    let sessions = a
        .sessions
        .symmetric_difference(&b.sessions)
        .cloned()
        .collect();
    let projects = a
        .projects
        .symmetric_difference(&b.projects)
        .map(|p| crate::paths::escape_path(p))
        .collect();
    (pools, sessions, projects)
}

/// The selectors, checked against the config: an unknown pool or session
/// is an error naming it, never a pause that holds nothing.
fn selection(config: &Config, args: &PauseArgs) -> anyhow::Result<Selection> {
    for pool in &args.pools {
        if config.pool(pool).is_none() {
            let known: Vec<&str> = config.pools.iter().map(|p| p.name.as_str()).collect();
            return Err(bad_input(format!(
                "unknown pool `{pool}` (the config has: {})",
                known.join(", ")
            )));
        }
    }
    for session in &args.sessions {
        if let Kind::Unknown = config.kind(session) {
            return Err(crate::tmux::servers::unknown_session(config, session));
        }
    }
    let projects: Vec<std::path::PathBuf> = args
        .projects
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    if !projects.is_empty() {
        let known = crate::queue::inbox::projects(config);
        for p in projects.iter().filter(|p| !known.contains(p)) {
            report::warn(format!(
                "{} is no project the config covers (no .agent-queue/inbox/ under [projects]); \
                 kept as named",
                p.display()
            ));
        }
    }
    Ok(Selection {
        pools: args.pools.clone(),
        sessions: args.sessions.clone(),
        projects,
    })
}
