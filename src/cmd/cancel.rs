//! `cancel <TASK or SESSION>...`: a task that must not run, or not run on.
//!
//! A pending task is renamed `.cancelled` under the state's lock, so a scan
//! claiming it at the same time either claims it first (and the cancel
//! then finds it held) or finds it gone. A held task is claimed for the
//! cancel in two steps: the session's launch lock first (no launch is in
//! flight there, and none starts), then, under the state's lock, its
//! `cancelling` mark, which the Stop hook, `mark-idle`, recovery and a
//! usage limit all leave alone. Then, with no lock on the state, its agent
//! is stopped as a failed launch stops one; then, under the lock again, the
//! task file becomes `.cancelled` and the session idle. A task thus ends in
//! one place: cancelled, or done by its agent before the cancel came.

use std::path::{Path, PathBuf};

use super::{Ctx, Run};
use crate::cli::CancelArgs;
use crate::clock::now;
use crate::config::{Config, Kind};
use crate::dispatch::Dispatcher;
use crate::error::{bad_input, Outcome};
use crate::output::report::{self, Event};
use crate::pane::agent::AgentPane;
use crate::queue::finished::TaskFile;
use crate::queue::{inbox, locate};
use crate::store::state::{Phase, State};

impl Run for CancelArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        crate::store::journal::open(&config);
        let d = Dispatcher::new(&config);
        let mut outcome = Outcome::Done;
        for target in &self.targets {
            if cancel(&d, target)? == Outcome::NothingFound {
                outcome = Outcome::NothingFound;
            }
        }
        Ok(outcome)
    }
}

/// What a name given to `cancel` stands for now.
#[derive(Debug)]
enum Found {
    Pending(PathBuf),
    Held {
        session: String,
        task: PathBuf,
    },
    /// It ended before: nothing to cancel.
    Over(PathBuf, &'static str),
    /// A session that holds no task.
    IdleSession(String),
    Unknown(String),
}

/// Resolves `target` against the state (read under its lock).
fn resolve(config: &Config, state: &State, target: &Path) -> anyhow::Result<Found> {
    let text = target.to_string_lossy();
    let as_file = target.components().count() > 1 || std::fs::symlink_metadata(target).is_ok();
    if !as_file && !matches!(config.kind(&text), Kind::Unknown) {
        return Ok(
            match state
                .sessions
                .get(text.as_ref())
                .and_then(|s| s.task.clone())
            {
                Some(task) => Found::Held {
                    session: text.into_owned(),
                    task,
                },
                None => Found::IdleSession(text.into_owned()),
            },
        );
    }
    let found = locate::find(config, state, target);
    let pick = |want: fn(&TaskFile) -> bool| -> anyhow::Result<Option<(PathBuf, TaskFile)>> {
        let hits: Vec<&(PathBuf, TaskFile)> = found.iter().filter(|(_, f)| want(f)).collect();
        match hits.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some((*one).clone())),
            many => Err(bad_input(format!(
                "`{}` names several tasks: {}; give the path of one",
                target.display(),
                many.iter()
                    .map(|(p, _)| crate::paths::escape_path(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    };
    if let Some((task, TaskFile::Held(session))) = pick(|f| matches!(f, TaskFile::Held(_)))? {
        return Ok(Found::Held { session, task });
    }
    if let Some((task, _)) = pick(|f| *f == TaskFile::Pending)? {
        return Ok(Found::Pending(task));
    }
    if let Some((task, TaskFile::Finished(e))) = found.last().cloned() {
        return Ok(Found::Over(task, e.as_str()));
    }
    Ok(Found::Unknown(if found.is_empty() {
        format!(
            "no task and no session named `{}` (sessions are those of the config's pools \
             and [[dedicated]]; tasks are looked for in every inbox it covers)",
            target.display()
        )
    } else {
        format!("`{}` is no task file", target.display())
    }))
}

fn cancel(d: &Dispatcher, target: &Path) -> anyhow::Result<Outcome> {
    // A held task can change hands while the launch lock is awaited (its
    // launch failed and put it back, its agent finished): look again, a
    // few times at most.
    for _ in 0..5 {
        let locked = d.store.lock()?;
        let found = resolve(d.config, &locked.state, target)?;
        match found {
            Found::Pending(task) => {
                let to = inbox::cancel(&task)
                    .map_err(|e| anyhow::anyhow!("renaming {}: {e}", task.display()))?;
                drop(locked);
                report::event(&Event::Cancelled {
                    task: to,
                    session: None,
                    reason: "it was pending; no agent had it".into(),
                });
                return Ok(Outcome::Done);
            }
            Found::Held { session, task } => {
                drop(locked);
                if let Some(outcome) = cancel_held(d, &session, &task)? {
                    return Ok(outcome);
                }
            }
            Found::Over(task, how) => {
                report::info(format!(
                    "{} is over ({how}, and no session holds it); nothing to cancel \
                     (`agent-queue requeue` runs it again)",
                    task.display()
                ));
                return Ok(Outcome::NothingFound);
            }
            Found::IdleSession(session) => {
                report::info(format!("{session} holds no task; nothing to cancel"));
                return Ok(Outcome::NothingFound);
            }
            Found::Unknown(why) => {
                report::info(why);
                return Ok(Outcome::NothingFound);
            }
        }
    }
    anyhow::bail!(
        "{}: it kept changing hands while being cancelled; try again",
        target.display()
    )
}

/// Cancels `task` in `session`; `None` when the session no longer holds it
/// once its launch lock is ours (look again).
fn cancel_held(d: &Dispatcher, session: &str, task: &Path) -> anyhow::Result<Option<Outcome>> {
    let launch = d.store.wait_launch_lock(session)?;
    let started = {
        let mut locked = d.store.lock()?;
        let entry = locked.state.entry(session);
        if entry.phase == Phase::Idle || entry.task.as_deref() != Some(task) {
            return Ok(None);
        }
        entry.cancelling = true;
        let started = entry.started.clone();
        locked.save()?;
        started
    };
    let dedicated = d.config.dedicated(session).is_some();
    let stopped = match (&started, dedicated) {
        (_, true) => Stopped::Released,
        (None, false) => Stopped::NothingStarted,
        (Some(started), false) => {
            let tmux = d.tmux(session);
            let pane = AgentPane {
                tmux: &tmux,
                session,
                started,
            };
            if pane.stop() {
                Stopped::Done
            } else {
                Stopped::StillRuns
            }
        }
    };
    let mut locked = d.store.lock()?;
    let to = inbox::cancel(task);
    let entry = locked.state.entry(session);
    if entry.task.as_deref() == Some(task) || entry.cancelling {
        locked.state.set(session, Phase::Idle, now());
    }
    locked.save()?;
    drop(locked);
    drop(launch);
    let to = to.map_err(|e| anyhow::anyhow!("renaming {}: {e}", task.display()))?;
    let reason = match stopped {
        Stopped::Done => format!("its agent in {session} was stopped; {session} is free again"),
        Stopped::NothingStarted => {
            format!("{session} had no agent started by agent-queue; {session} is free again")
        }
        Stopped::Released => format!(
            "{session} is a dedicated session: nothing was typed there, its agent may still be \
             at it; the task is released"
        ),
        Stopped::StillRuns => format!(
            "its agent in {session} could not be stopped; {session} takes no task until it exits"
        ),
    };
    report::event(&Event::Cancelled {
        task: to,
        session: Some(session.to_string()),
        reason,
    });
    if stopped == Stopped::StillRuns {
        report::warn(format!(
            "{session}: its agent still runs after C-c twice and a respawn; stop it by hand"
        ));
    }
    Ok(Some(Outcome::Done))
}

/// What became of the agent of a cancelled task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    Done,
    NothingStarted,
    /// A dedicated session: nothing typed.
    Released,
    StillRuns,
}
