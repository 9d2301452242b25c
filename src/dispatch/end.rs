//! The end of a task, whoever reports it (the agent's `Stop` hook, a bare
//! `mark-idle` from inside the session, an operator naming the session):
//! which session and which start a report belongs to, and what ending the
//! task does (the session marked idle; a pool session recycled and given
//! its next task, see `recycle.rs`).
//!
//! One rule says whether a hook speaks for a session's task (`whose`): a
//! hook of an agent started there before the current one speaks for no
//! task, and neither does one of another agent session under the current
//! start (a Claude Code the agent ran itself, a sub-agent, which inherit
//! `AGENT_QUEUE_RUN`): the task's receipt belongs to the first agent session
//! that received it.

use std::path::Path;

use super::recycle::{self, How};
use super::Dispatcher;
use crate::clock::now;
use crate::config::Kind;
use crate::error::{bad_input, Outcome};
use crate::output::report::{self, Event};
use crate::pane::RUN_VAR;
use crate::store::state::{Phase, SessionState, State};

/// Whom a hook speaks for, as far as its session's task goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// The agent that holds the session's task (or, before its receipt,
    /// the session's current start).
    Current,
    /// An agent started in the session before the current one.
    Earlier,
    /// Another agent session under the current start: a child.
    Child,
}

/// The one rule: whose hook this is, from the session's entry, the start
/// the hook names (`AGENT_QUEUE_RUN`, if set) and its agent session id.
pub fn whose(
    entry: Option<&SessionState>,
    run: Option<&str>,
    agent_session: Option<&str>,
) -> Whose {
    let current = entry
        .and_then(|s| s.started.as_ref())
        .map(|s| s.nonce.as_str());
    if run.is_some_and(|run| current != Some(run)) {
        return Whose::Earlier;
    }
    // The receipt of the task the session holds names the agent session
    // that took it.
    let took = entry
        .and_then(|s| {
            s.receipt
                .as_ref()
                .filter(|r| s.task.as_ref() == Some(&r.task))
        })
        .and_then(|r| r.agent_session_id.as_deref());
    match (took, agent_session) {
        (Some(a), Some(b)) if a != b => Whose::Child,
        _ => Whose::Current,
    }
}

/// The start this process runs under, if an agent-queue start script
/// started it (control characters dropped: it is shown and compared only).
pub fn run_var() -> Option<String> {
    std::env::var(RUN_VAR)
        .ok()
        .map(|v| v.chars().filter(|c| !c.is_control()).collect())
}

/// Who ends a task: the agent's own hook (it waits for the hook to return,
/// so the recycle goes on in the background), or anyone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Agent { verbose: bool },
    Operator,
}

/// The end of `session`'s task: marked idle; a pool session recycled (one
/// recycle at a time) and given its next task as `how` says.
pub fn end_task(
    d: &Dispatcher,
    session: &str,
    caller: Caller,
    how: How,
) -> anyhow::Result<Outcome> {
    let config = d.config;
    let session = session.to_string();
    let (dedicated, pool) = match config.kind(&session) {
        Kind::Pool(p) => (false, Some(p)),
        Kind::Dedicated(_) => (true, None),
        Kind::Unknown => (false, None),
    };
    let recycling = pool.is_some_and(|p| p.recycle);
    let lock = if recycling {
        match d.store.try_recycle_lock(&session)? {
            Some(lock) => Some(lock),
            None => {
                report::info(format!(
                    "{session} is being recycled by another invocation; nothing to do"
                ));
                return Ok(Outcome::Done);
            }
        }
    } else {
        None
    };
    {
        let mut locked = d.store.lock()?;
        // A cancel in flight stops the agent and frees the session itself.
        if crate::dispatch::free::cancelling(&d.store, &locked.state, &session) {
            return Ok(Outcome::Done);
        }
        let task = locked
            .state
            .sessions
            .get(&session)
            .and_then(|s| s.task.clone());
        locked.state.set(&session, Phase::Idle, now());
        locked.save()?;
        report::event(&Event::Idle {
            session: session.clone(),
            task,
        });
    }
    if dedicated {
        return Ok(Outcome::Done);
    }
    let Some(lock) = lock else {
        // No recycle (`recycle = false`): the agent stays. Asked by that
        // agent's own hook, the session cannot be free while the hook runs
        // (its agent does), so no tmux server is asked from inside a hook.
        if how == How::ExitThenNext && caller == Caller::Operator {
            recycle::next_task(d, &session)?;
        }
        return Ok(Outcome::Done);
    };
    match caller {
        Caller::Agent { verbose } => {
            recycle::detach(config, &session, how, &lock, verbose)?;
            Ok(Outcome::Done)
        }
        Caller::Operator => recycle::recycle(d, &session, how, lock),
    }
}

/// Why this process is in no session agent-queue manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmanaged {
    /// `$TMUX` is not set: the server is unknown.
    NoServer,
    /// No configured server has the pane.
    NoPane(String),
    /// `$TMUX` names a server that is not a configured one.
    OtherServer { socket: String, seen: Vec<String> },
}

impl std::fmt::Display for Unmanaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unmanaged::NoServer => f.write_str("$TMUX is not set, so the tmux server is unknown"),
            Unmanaged::NoPane(pane) => {
                write!(f, "no configured tmux server has pane {pane} ($TMUX_PANE)")
            }
            Unmanaged::OtherServer { socket, seen } => write!(
                f,
                "$TMUX names the tmux server at {socket}, not a configured one ({})",
                seen.join(", ")
            ),
        }
    }
}

/// The session this process runs in, as far as agent-queue can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Own {
    Session(String),
    Unmanaged(Unmanaged),
}

/// The session whose pane runs this process, when `$TMUX` names the
/// configured tmux server; otherwise why not (a hook in the operator's own
/// server must not act on a pane of the pool's server that has the same id).
pub fn own_session(d: &Dispatcher) -> anyhow::Result<Own> {
    // An agent agent-queue started says which start it is: that names its
    // session for sure, on this host or another, with no tmux call.
    if let Some(run) = run_var() {
        if let Some(name) = session_of_start(d, &run)? {
            return Ok(Own::Session(name));
        }
    }
    let Some(pane) = std::env::var("TMUX_PANE").ok().filter(|p| !p.is_empty()) else {
        return Err(bad_input(
            "no session named and $TMUX_PANE is not set: name the session, or call this from inside it",
        ));
    };
    let Some(socket) = std::env::var("TMUX")
        .ok()
        .and_then(|t| t.split(',').next().map(str::to_string))
        .filter(|s| !s.is_empty())
    else {
        return Ok(Own::Unmanaged(Unmanaged::NoServer));
    };
    // Pane ids repeat across servers: ask each configured server for the
    // pane, and take the one whose socket is $TMUX's.
    let mut seen = Vec::new();
    // $TMUX names a socket of this host: a remote server is never it, and
    // is not asked (a hook runs in every Claude Code of the operator's).
    for tmux in crate::tmux::servers::all(d.config)
        .into_iter()
        .filter(|t| !t.is_remote())
    {
        match tmux.pane_owner(&pane) {
            Ok(Some((server, session))) if same_file(Path::new(&server), Path::new(&socket)) => {
                return Ok(Own::Session(session))
            }
            Ok(Some((server, _))) => seen.push(server),
            Ok(None) => {}
            Err(e) => report::debug(format!("finding pane {pane}: {e:#}")),
        }
    }
    Ok(Own::Unmanaged(if seen.is_empty() {
        Unmanaged::NoPane(pane)
    } else {
        Unmanaged::OtherServer { socket, seen }
    }))
}

/// The session this hook's agent runs in, when agent-queue manages it: the
/// start named by `$AGENT_QUEUE_RUN` (a start it does not know is no
/// session of its: an old agent's hook), or the pane's session.
pub fn hook_session(d: &Dispatcher) -> anyhow::Result<Option<String>> {
    hook_session_in(d, &d.store.read()?)
}

/// `hook_session`, with the state already read (a start is looked up in
/// it, not in a read of its own).
pub fn hook_session_in(d: &Dispatcher, state: &State) -> anyhow::Result<Option<String>> {
    match run_var() {
        Some(run) => Ok(start_in(state, &run).map(|(name, _)| name.to_string())),
        None => pane_session(d),
    }
}

/// The managed session of `$TMUX_PANE`, for an agent started by hand.
fn pane_session(d: &Dispatcher) -> anyhow::Result<Option<String>> {
    if std::env::var_os("TMUX_PANE").is_none() {
        return Ok(None);
    }
    Ok(match own_session(d)? {
        Own::Session(s) if !matches!(d.config.kind(&s), Kind::Unknown) => Some(s),
        Own::Session(s) => {
            report::debug(format!("hook: session {s} is not managed by agent-queue"));
            None
        }
        Own::Unmanaged(why) => {
            report::debug(format!("hook: not managed by agent-queue: {why}"));
            None
        }
    })
}

/// The session whose recorded start has this nonce (`AGENT_QUEUE_RUN`).
pub fn session_of_start(d: &Dispatcher, nonce: &str) -> anyhow::Result<Option<String>> {
    let state = d.store.read()?;
    Ok(start_in(&state, nonce).map(|(name, _)| name.to_string()))
}

/// In `state`, the session (and its entry) whose recorded start has this
/// nonce.
pub fn start_in<'s>(state: &'s State, nonce: &str) -> Option<(&'s str, &'s SessionState)> {
    state
        .sessions
        .iter()
        .find(|(_, s)| s.started.as_ref().is_some_and(|st| st.nonce == nonce))
        .map(|(name, s)| (name.as_str(), s))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pane::Started;
    use crate::store::state::Receipt;
    use std::path::PathBuf;

    fn entry(nonce: &str, task: Option<&str>, receipt: Option<(&str, &str)>) -> SessionState {
        SessionState {
            phase: if task.is_some() {
                Phase::Working
            } else {
                Phase::Idle
            },
            task: task.map(PathBuf::from),
            started: Some(Started {
                pane: "%1".into(),
                pid: 9,
                nonce: nonce.into(),
            }),
            receipt: receipt.map(|(task, id)| Receipt {
                nonce: nonce.into(),
                task: PathBuf::from(task),
                agent_session_id: Some(id.into()),
                transcript_path: None,
                at: 1,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_hook_speaks_for_the_task_only_from_the_agent_that_took_it() {
        let held = entry(
            "n2",
            Some("/p/t.md.dispatched"),
            Some(("/p/t.md.dispatched", "parent")),
        );
        let before = entry("n2", Some("/p/t.md.dispatched"), None);
        let old_receipt = entry(
            "n2",
            Some("/p/u.md.dispatched"),
            Some(("/p/t.md.dispatched", "parent")),
        );
        let table: [(&SessionState, Option<&str>, Option<&str>, Whose); 9] = [
            (&held, Some("n2"), Some("parent"), Whose::Current),
            (&held, Some("n2"), Some("child"), Whose::Child),
            (&held, Some("n1"), Some("parent"), Whose::Earlier),
            (&held, None, Some("child"), Whose::Child),
            (&held, None, None, Whose::Current),
            (&held, Some("n2"), None, Whose::Current),
            // No receipt yet: the start decides.
            (&before, Some("n2"), Some("anyone"), Whose::Current),
            (&before, Some("n1"), Some("anyone"), Whose::Earlier),
            // A receipt of an earlier task names nobody for this one.
            (&old_receipt, Some("n2"), Some("other"), Whose::Current),
        ];
        for (entry, run, id, want) in table {
            assert_eq!(whose(Some(entry), run, id), want, "{run:?} {id:?}");
        }
        assert_eq!(whose(None, Some("n1"), None), Whose::Earlier);
        assert_eq!(whose(None, None, Some("x")), Whose::Current);
    }
}
