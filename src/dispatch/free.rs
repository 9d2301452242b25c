//! When a session may be given a task, decided from one tmux snapshot and the
//! state, without I/O. A pool session is free only when everything agrees: it
//! exists, the state does not hold it, its cooldown is over, no program that
//! agent-queue started there still runs (the pane says so, see `pane`), and
//! its pane sits at a shell, so a stale state can never send a task into a
//! running agent.

use std::time::Duration;

use super::hands_off::{self, Hold};
use crate::config::{Config, Pool};
use crate::pane::{self, Activity, Mark, Started};
use crate::queue::routing::Free;
use crate::store::paused::Hold as Pause;
use crate::store::state::{Phase, State};
use crate::tmux::{Pane, Snapshot};

/// Why a session cannot take a task now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Busy {
    Missing,
    Dedicated,
    Held(Phase),
    Cooling(Duration),
    /// Its pool's account hit its usage limit; it resets at `until`.
    Limited {
        account: String,
        until: u64,
    },
    /// Its pool's account is at or above its `hold_at`: held before its
    /// limit until that window resets.
    NearLimit {
        account: String,
        hold: crate::accounts::usage::Hold,
    },
    /// Its tmux server could not be asked.
    Unreachable,
    /// The program agent-queue started there has not returned.
    Started,
    Running(String),
    /// Its state changed while its server was asked: the answer may be
    /// older than the change, so it waits for the next look.
    Changed,
    /// The operator paused it, or its pool (`resume` lifts it).
    Paused(Pause),
    /// A person is using it (see `hands_off`).
    Operator(Hold),
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Busy::Missing => f.write_str("no such tmux session"),
            Busy::Dedicated => {
                f.write_str("a dedicated session (only `dispatch --session` may use it)")
            }
            Busy::Held(p) => write!(f, "the state has it {}", p.as_str()),
            Busy::Cooling(left) => write!(
                f,
                "cooling down after a failed launch ({} left)",
                crate::clock::format_duration(*left)
            ),
            Busy::Limited { account, until } => write!(
                f,
                "account `{account}` hit its usage limit, until {}",
                crate::clock::format_utc(*until)
            ),
            Busy::NearLimit { account, hold } => write!(
                f,
                "account `{account}` is held: {} of its {} usage, until {}",
                hold.used,
                hold.window.words(),
                crate::clock::format_utc(hold.until)
            ),
            Busy::Unreachable => f.write_str("its tmux server does not answer"),
            Busy::Started => f.write_str("the agent agent-queue started there still runs"),
            Busy::Running(cmd) => write!(f, "its pane runs `{cmd}`, not a shell"),
            Busy::Changed => {
                f.write_str("its state changed while tmux was asked; looked at again next time")
            }
            Busy::Paused(Pause::Session) => f.write_str("paused (`agent-queue resume --session`)"),
            Busy::Paused(Pause::Pool(p)) => {
                write!(
                    f,
                    "its pool `{p}` is paused (`agent-queue resume --pool {p}`)"
                )
            }
            Busy::Operator(hold) => hold.fmt(f),
        }
    }
}

/// The name tmux reports for a pane's command, as a shell would be listed.
pub fn is_shell(command: &str, shells: &[String]) -> bool {
    let name = command.trim_start_matches('-');
    let name = name.rsplit('/').next().unwrap_or(name);
    shells.iter().any(|s| s == name)
}

/// What the program agent-queue last started in a session is doing, as
/// its pane shows: `None` when nothing was started there.
pub fn activity(started: Option<&Started>, pane: &Pane) -> Option<Activity> {
    started.map(|s| pane::activity(s, &pane.id, pane.pid, pane.mark.as_ref()))
}

/// Whether a started script runs in the pane: the one agent-queue recorded
/// there, or one it has no record of (the state was lost or reset). A pane
/// that was made again since the record says nothing of it: its shell is new.
pub fn started_runs(started: Option<&Started>, pane: &Pane) -> bool {
    match activity(started, pane) {
        Some(Activity::Running) => true,
        Some(Activity::Replaced | Activity::Exited(_)) => false,
        Some(Activity::NotStarted) | None => matches!(pane.mark, Some(Mark::Running(_))),
    }
}

/// Seconds of cooldown left for `session` at `now`.
pub fn cooldown_left(config: &Config, state: &State, session: &str, now: u64) -> Duration {
    let Some(failed) = state.sessions.get(session).and_then(|s| s.last_fail) else {
        return Duration::ZERO;
    };
    let cooldown = config.pool_of(session).map_or(0, |p| p.cooldown.as_secs());
    Duration::from_secs(failed.saturating_add(cooldown).saturating_sub(now))
}

/// Who picks the session a task goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chooser {
    /// agent-queue itself: pool sessions only, cooldowns respected.
    Automatic,
    /// An operator who named it (`dispatch --session`): a dedicated session
    /// too, and a cooldown does not count, since the operator chose.
    Operator,
}

/// Whether `session` may take a task, as `chooser` picks. An account's
/// usage limit, and its hold before the limit, hold for both.
pub fn check(
    config: &Config,
    snapshot: &Snapshot,
    state: &State,
    session: &str,
    now: u64,
    chooser: Chooser,
) -> Result<(), Busy> {
    if chooser == Chooser::Automatic && config.dedicated(session).is_some() {
        return Err(Busy::Dedicated);
    }
    if snapshot.is_unknown(session) {
        return Err(Busy::Unreachable);
    }
    let pane = snapshot.pane(session).ok_or(Busy::Missing)?;
    match state.phase(session) {
        Phase::Idle => {}
        held => return Err(Busy::Held(held)),
    }
    if chooser == Chooser::Automatic {
        paused(config, state, session)?;
        let left = cooldown_left(config, state, session, now);
        if !left.is_zero() {
            return Err(Busy::Cooling(left));
        }
    }
    if let Some(pool) = config.pool_of(session) {
        if let Some(until) = state.limited_until(&pool.account, now) {
            return Err(Busy::Limited {
                account: pool.account.clone(),
                until,
            });
        }
        if let Some(hold) = crate::accounts::usage::held(config, state, &pool.account, now) {
            return Err(Busy::NearLimit {
                account: pool.account.clone(),
                hold,
            });
        }
    }
    if chooser == Chooser::Automatic {
        if let Some(hold) = hands_off::hold(config, snapshot, session, now) {
            return Err(Busy::Operator(hold));
        }
    }
    let started = state.sessions.get(session).and_then(|s| s.started.as_ref());
    if started_runs(started, pane) {
        return Err(Busy::Started);
    }
    if !is_shell(&pane.command, &config.agent_for(session).shells) {
        return Err(Busy::Running(pane.command.clone()));
    }
    Ok(())
}

/// A paused session, or one of a paused pool, takes no task that
/// agent-queue hands out by itself (an operator's `dispatch --session` is
/// not held by it).
pub fn paused(config: &Config, state: &State, session: &str) -> Result<(), Busy> {
    let pool = config.pool_of(session).map(|p| p.name.as_str());
    match state.paused.hold(session, pool) {
        Some(hold) => Err(Busy::Paused(hold)),
        None => Ok(()),
    }
}

/// Whether a running `cancel` owns `session`'s task: then the end of the
/// task (a Stop hook, `mark-idle`) is the cancel's to do, and it leaves it.
pub fn cancelling(store: &crate::store::state::Store, state: &State, session: &str) -> bool {
    let owned = store.cancel_in_flight(state, session);
    if owned {
        crate::output::report::info(format!(
            "{session}: its task is being cancelled; the cancel ends it"
        ));
    }
    owned
}

/// Why a task of `project` finds no session, when a pause is the reason:
/// its project, or every pool, paused (`""` otherwise).
pub fn paused_note(config: &Config, state: &State, project: &std::path::Path) -> String {
    if state.paused.project(project) {
        " (its project is paused: `agent-queue resume --project`)".into()
    } else if config
        .pools
        .iter()
        .all(|p| state.paused.pools.contains(&p.name))
    {
        " (every pool is paused: `agent-queue resume`)".into()
    } else {
        String::new()
    }
}

/// Whether a task of `project` may be handed out by `chooser`: a paused
/// project's tasks stay in its inbox, unless an operator names a session.
pub fn project_open(state: &State, project: &std::path::Path, chooser: Chooser) -> bool {
    chooser == Chooser::Operator || !state.paused.project(project)
}

/// The free sessions of `pool`, in pool order.
pub fn free_pool(
    config: &Config,
    pool: &Pool,
    snapshot: &Snapshot,
    state: &State,
    now: u64,
) -> Vec<String> {
    pool.sessions()
        .filter(|s| check(config, snapshot, state, s, now, Chooser::Automatic).is_ok())
        .collect()
}

/// The free sessions of every pool, in config order: what a round routes
/// tasks to.
pub fn free_sessions(config: &Config, snapshot: &Snapshot, state: &State, now: u64) -> Free {
    Free {
        pools: config
            .pools
            .iter()
            .map(|p| free_pool(config, p, snapshot, state, now).into())
            .collect(),
    }
}

#[cfg(test)]
mod tests;
