//! Recovery, the part of a scan's first round that looks back: tasks of
//! launches whose process died and of sessions that died or were made again
//! go back to their inboxes; sessions whose agent exited without its Stop
//! hook are freed; accounts whose agents show a usage limit are marked;
//! claims the state never recorded are undone. `verdict.rs` decides, from
//! typed facts, what becomes of each session; this file gathers the facts
//! and does what the verdict says, under the state's lock. What needs keys
//! (`After`) is done by the round once the lock is let go.
//!
//! The facts that need a tmux server are gathered before the lock (see
//! `Before`): a host that does not answer holds up no other invocation.

mod verdict;

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use super::{After, Dispatcher};
use crate::clock::now;
use crate::dispatch::free;
use crate::launch::Stage;
use crate::output::report::{self, Event};
use crate::pane::agent::AgentPane;
use crate::pane::Activity;
use crate::queue::inbox;
use crate::store::claims::{self, Intent};
use crate::store::state::{Locked, Phase, State};
use crate::tmux::{Seen, Snapshot};
pub use verdict::{decide, Finish, Heard, Holding, Launcher, Owner, Verdict, Why};

/// What a round learns before it takes the state's lock.
pub(super) struct Before {
    /// The state as read before the snapshot: a session whose entry is
    /// different under the lock changed since, and the snapshot does not
    /// speak for it.
    pub state: State,
    /// Launch locks that no process held before the snapshot, held since:
    /// those of `launching` sessions (their launcher died before the
    /// snapshot, so the snapshot shows what it left) and those that record
    /// a claim.
    locks: claims::FreeLocks,
}

impl Before {
    /// The sessions whose entry changed between `self.state` and `now`.
    pub fn changed(&self, now: &State) -> HashSet<String> {
        let keys = self.state.sessions.keys().chain(now.sessions.keys());
        keys.filter(|k| self.state.sessions.get(*k) != now.sessions.get(*k))
            .cloned()
            .collect()
    }

    /// Lets go of the launch locks recovery did not use, before claims.
    pub fn release_locks(&mut self) {
        self.locks.clear();
    }
}

impl Dispatcher<'_> {
    /// Reads the state and takes the launch locks recovery needs, before the
    /// snapshot; `recover`: a scan's first round (others need the state only).
    pub(super) fn before(&self, recover: bool) -> anyhow::Result<Before> {
        let state = self.store.read()?;
        let locks = if recover {
            let launching: Vec<PathBuf> = state
                .sessions
                .iter()
                .filter(|(_, s)| s.phase == Phase::Launching)
                .map(|(name, _)| self.store.launch_lock_path(name))
                .collect();
            claims::free_locks(&self.store, &launching)?
        } else {
            BTreeMap::new()
        };
        Ok(Before { state, locks })
    }

    /// Whether recovery has anything to look at.
    pub(super) fn anything_to_recover(before: &Before) -> bool {
        before
            .state
            .sessions
            .values()
            .any(|s| s.phase != Phase::Idle)
            || before.locks.values().any(|l| l.claim.is_some())
    }

    pub(super) fn finish(&self, after: &After) {
        let (After::Submit(session, started)
        | After::Stop(session, started)
        | After::Exit(session, started)) = after;
        let tmux = self.tmux(session);
        let pane = AgentPane {
            tmux: &tmux,
            session,
            started,
        };
        match after {
            After::Submit(..) => {
                if let Err(e) = pane.keys(&["Enter"]) {
                    report::warn(format!("{session}: pressing Enter: {e:#}"));
                }
            }
            After::Stop(..) => {
                pane.stop();
            }
            After::Exit(..) => {
                let limit = self.config.agent_for(session).ready_timeout;
                match pane.exit(limit.max(std::time::Duration::from_secs(30))) {
                    Ok(true) => report::info(format!(
                        "{session}: its agent got the /exit that waited for the operator to leave"
                    )),
                    Ok(false) => report::warn(format!(
                        "{session}: its agent did not exit after /exit; it gets no new task"
                    )),
                    Err(e) => report::warn(format!("{session}: typing /exit: {e:#}")),
                }
            }
        }
    }

    /// The usage-limit lines on the screens of working pool sessions whose
    /// started agent runs there, as `state` (read before the lock) has them;
    /// only sessions `snapshot` lists are read (a silent host is not asked
    /// again for each).
    pub(super) fn limits_on_screens(&self, state: &State, snapshot: &Snapshot) -> Vec<ScreenLimit> {
        state
            .sessions
            .iter()
            .filter(|(name, s)| s.phase == Phase::Working && snapshot.pane(name).is_some())
            .filter_map(|(name, s)| {
                let started = s.started.as_ref()?;
                let pool = self.config.pool_of(name)?;
                let patterns = pool.agent.limits();
                let screen = self.tmux(name).screen(&started.pane).ok()?;
                if screen.pid != started.pid {
                    return None;
                }
                let line = patterns.find(&screen.text)?;
                Some(ScreenLimit {
                    session: name.clone(),
                    nonce: started.nonce.clone(),
                    line: line.to_string(),
                })
            })
            .collect()
    }

    /// Marks the accounts whose agents showed a usage limit, with the tasks
    /// of those sessions back in their inboxes, if the sessions still hold
    /// them; returns how many, and the agents to stop.
    pub(super) fn limit_holders(
        &self,
        locked: &mut Locked,
        limits: &[ScreenLimit],
    ) -> (usize, Vec<After>) {
        let now = now();
        let mut to_stop = Vec::new();
        let mut changed = 0;
        for ScreenLimit {
            session,
            nonce,
            line,
        } in limits
        {
            let Some(started) = locked
                .state
                .sessions
                .get(session)
                .filter(|s| s.phase == Phase::Working && !s.cancelling)
                .and_then(|s| s.started.clone())
                .filter(|s| &s.nonce == nonce)
            else {
                continue;
            };
            crate::accounts::limited::mark(self.config, locked, session, line, now);
            changed += 1;
            if self
                .config
                .pool_of(session)
                .is_some_and(|p| p.on_limit == crate::config::OnLimit::Stop)
            {
                to_stop.push(After::Stop(session.clone(), started));
            }
        }
        (changed, to_stop)
    }

    /// Decides, for every session that holds a task, what its verdict says
    /// and does it: returns how many changed, and the agents to press Enter
    /// into or to stop once the lock is let go.
    pub(super) fn recover(
        &self,
        locked: &mut Locked,
        snapshot: &Snapshot,
        changed_since: &HashSet<String>,
        before: &mut Before,
    ) -> (usize, Vec<After>) {
        let holders: Vec<String> = locked
            .state
            .sessions
            .iter()
            .filter(|(_, s)| s.phase != Phase::Idle)
            .filter(|(n, _)| !self.store.cancel_in_flight(&locked.state, n))
            .map(|(n, _)| n.clone())
            .collect();
        let mut changed = 0;
        let mut after = Vec::new();
        let now = now();
        for session in holders {
            let entry = &locked.state.sessions[&session];
            let (task, started) = (entry.task.clone(), entry.started.clone());
            let mut lock = None;
            let holding = match entry.phase {
                Phase::Working => Holding::Working,
                _ => match before.locks.remove(&self.store.launch_lock_path(&session)) {
                    Some(free) => {
                        let stage = read_stage(&free.file);
                        lock = Some(free.file);
                        Holding::Launching(Launcher::Dead(stage))
                    }
                    None => Holding::Launching(Launcher::InFlight),
                },
            };
            let heard = match snapshot.seen(&session) {
                _ if changed_since.contains(&session) => Heard::NoAnswer,
                Seen::Unknown => Heard::NoAnswer,
                Seen::Absent => Heard::NotListed,
                Seen::Listed(pane) => Heard::Listed(free::activity(started.as_ref(), pane)),
            };
            let owner = match self.config.dedicated(&session) {
                Some(_) => Owner::Operator,
                None => Owner::Pool,
            };
            let verdict = decide(holding, heard, owner);
            let shown = task
                .as_deref()
                .unwrap_or(Path::new("?"))
                .display()
                .to_string();
            match verdict {
                Verdict::Leave => {}
                Verdict::Keep(finish) => {
                    let how = match finish {
                        Finish::ByOperator => {
                            "it waits in its agent's input, unsent: press Enter there, or clear it"
                        }
                        Finish::PressEnter | Finish::AsIs => "it stays with its agent",
                    };
                    if let (Finish::PressEnter, Some(started)) = (finish, &started) {
                        after.push(After::Submit(session.clone(), started.clone()));
                    }
                    locked.state.set(&session, Phase::Working, now);
                    locked.state.entry(&session).task = task.clone();
                    report::warn(format!(
                        "the launch into {session} was cut off after the paste; {shown}: {how}"
                    ));
                    changed += 1;
                }
                Verdict::Ended(status) => {
                    // The task reached the agent, which then ended without
                    // saying it was done: whether it was is unknown, so the
                    // task is not run again.
                    locked.state.set(&session, Phase::Idle, now);
                    changed += 1;
                    if let Some(task) = task {
                        report::event(&Event::Ended {
                            task,
                            session: session.clone(),
                            reason: format!(
                                "its agent exited (status {status}) without its Stop hook; \
                                 whether the task was done is unknown, so it stays .dispatched"
                            ),
                        });
                    }
                }
                Verdict::Requeue { why, stop } => {
                    if let (true, Some(started)) = (stop, &started) {
                        after.push(After::Stop(session.clone(), started.clone()));
                    }
                    let reason = match why {
                        Why::LauncherDied(stage) => format!(
                            "the process launching it into {session} died ({})",
                            stage.map(Stage::as_str).unwrap_or("before typing")
                        ),
                        Why::SessionDied => format!("session {session} died while holding it"),
                        Why::Replaced => format!(
                            "session {session} was closed and made again (or tmux restarted) \
                             while holding it"
                        ),
                    };
                    // A worktree made for it goes too, when nothing in it
                    // would be lost.
                    let worktree = locked.state.entry(&session).worktree.take();
                    locked.state.set(&session, Phase::Idle, now);
                    changed += 1;
                    if let Some(task) = task {
                        if put_back(&task, &reason, Some(&session)) {
                            worktree.iter().for_each(crate::queue::worktree::forget);
                        }
                    }
                }
            }
            // The state speaks for this claim now.
            if let (Some(file), false) = (&lock, verdict == Verdict::Leave) {
                claims::clear(file);
            }
        }
        changed += self.stranded(locked, before);
        (changed, after)
    }

    /// Claims the state never learned of (its write failed, or the process
    /// claiming died between the rename and the write): a `.dispatched`
    /// file that a free launch lock records and no session holds goes back
    /// to its inbox, named in a warning.
    fn stranded(&self, locked: &Locked, before: &mut Before) -> usize {
        let held: HashSet<&Path> = locked
            .state
            .sessions
            .values()
            .filter_map(|s| s.task.as_deref())
            .collect();
        let mut n = 0;
        for intent in claims::intents(&mut before.locks) {
            if let Some(claimed) = stranded_task(&intent, &held) {
                report::warn(format!(
                    "{}: claimed, but no session in the state holds it (the state could not be \
                     written, or the process claiming it died); putting it back",
                    claimed.display()
                ));
                put_back(&claimed, "a claim the state never recorded", None);
                n += 1;
            }
            claims::clear(&intent.lock);
        }
        n
    }

    /// Agents agent-queue started in idle pool sessions, running with no
    /// task while nothing is launching or recycling there: a launch gave up
    /// on a shell that was slow to read its line, which then ran it anyway.
    /// Left alone, such an agent keeps its session for good. (A pool with
    /// `recycle = false` keeps its agents after their tasks on purpose.)
    /// `changed`: sessions the snapshot does not speak for.
    pub(super) fn strays(
        &self,
        locked: &Locked,
        snapshot: &Snapshot,
        changed: &HashSet<String>,
    ) -> anyhow::Result<Vec<After>> {
        let mut out = Vec::new();
        for pool in self.config.pools.iter().filter(|p| p.recycle) {
            for session in pool.sessions() {
                let Some(entry) = locked.state.sessions.get(&session) else {
                    continue;
                };
                let (Some(pane), Some(started)) = (snapshot.pane(&session), &entry.started) else {
                    continue;
                };
                if entry.phase != Phase::Idle
                    || changed.contains(&session)
                    || free::activity(Some(started), pane) != Some(Activity::Running)
                {
                    continue;
                }
                let launch = self.store.try_launch_lock(&session)?;
                let recycle = self.store.try_recycle_lock(&session)?;
                if launch.is_none() || recycle.is_none() {
                    continue;
                }
                if entry.recycle_deferred.as_ref() == Some(&started.nonce) {
                    // Its recycle met an operator: the recycle goes on now
                    // (unless `hands_off::defer` finds them still there).
                    out.push(After::Exit(session, started.clone()));
                    continue;
                }
                // One an operator holds is said by `hands_off::defer`.
                if super::hands_off::hold(self.config, snapshot, &session, now()).is_none() {
                    report::warn(format!(
                        "{session}: the agent agent-queue started there runs with no task (its \
                         launch gave up on it); stopping it"
                    ));
                }
                out.push(After::Stop(session, started.clone()));
            }
        }
        Ok(out)
    }
}

/// A usage-limit line on the screen of a working session's started agent.
#[derive(Debug, Clone)]
pub(super) struct ScreenLimit {
    pub session: String,
    /// The start whose screen showed it.
    pub nonce: String,
    pub line: String,
}

/// The `.dispatched` file an intent made, when no session holds it.
fn stranded_task(intent: &Intent, held: &HashSet<&Path>) -> Option<PathBuf> {
    intent.claimed().filter(|c| !held.contains(c.as_path()))
}

/// The stage a dead launcher noted last in its lock file.
fn read_stage(mut file: &File) -> Option<Stage> {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    Stage::parse(&text)
}

/// Puts a task back in its inbox, saying why (or why it could not be).
/// Whether it went back.
fn put_back(task: &Path, reason: &str, session: Option<&str>) -> bool {
    match inbox::unclaim(task) {
        Ok(back) => {
            report::event(&Event::Recovered {
                task: back,
                reason: reason.to_string(),
                session: session.map(str::to_string),
            });
            true
        }
        Err(e) => {
            report::warn(format!(
                "{reason}, but {} could not be put back: {e}",
                task.display()
            ));
            false
        }
    }
}
