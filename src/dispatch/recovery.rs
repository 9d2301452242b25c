//! Recovery, the part of a scan's first round that looks back: tasks of
//! launches whose process died and of sessions that died or were made again
//! go back to their inboxes; sessions whose agent exited without its Stop
//! hook are freed; accounts whose agents show a usage limit are marked. It
//! decides under the state's lock; what needs keys (`After`) is done by the
//! round once the lock is let go.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{After, Dispatcher};
use crate::accounts::limits::Patterns;
use crate::dispatch::free;
use crate::launch::Stage;
use crate::output::report::{self, Event};
use crate::pane::agent::AgentPane;
use crate::pane::{Activity, Started};
use crate::queue::inbox;
use crate::store::state::{now, Locked, Phase};
use crate::tmux::Snapshot;

impl Dispatcher<'_> {
    pub(super) fn finish(&self, after: &After) {
        let (After::Submit(session, started) | After::Stop(session, started)) = after;
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
        }
    }

    /// The usage-limit lines on the screens of working pool sessions whose
    /// started agent runs there: `(session, nonce, line)`.
    pub(super) fn limits_on_screens(&self) -> Vec<(String, String, String)> {
        let Ok(state) = self.store.read() else {
            return Vec::new();
        };
        state
            .sessions
            .iter()
            .filter(|(_, s)| s.phase == Phase::Working)
            .filter_map(|(name, s)| {
                let started = s.started.as_ref()?;
                let pool = self.config.pool_of(name)?;
                let patterns = Patterns::new(&pool.agent.limit_patterns).ok()?;
                let screen = self.tmux(name).screen(&started.pane).ok()?;
                if screen.pid != started.pid {
                    return None;
                }
                let line = patterns.find(&screen.text)?;
                Some((name.clone(), started.nonce.clone(), line.to_string()))
            })
            .collect()
    }

    /// Marks the accounts whose agents showed a usage limit, with the tasks
    /// of those sessions back in their inboxes, if the sessions still hold
    /// them; returns how many, and the agents to stop.
    pub(super) fn limit_holders(
        &self,
        locked: &mut Locked,
        limits: &[(String, String, String)],
    ) -> (usize, Vec<After>) {
        let now = now();
        let mut to_stop = Vec::new();
        let mut changed = 0;
        for (session, nonce, line) in limits {
            let Some(started) = locked
                .state
                .sessions
                .get(session)
                .filter(|s| s.phase == Phase::Working)
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

    /// Puts back the tasks of launches whose process died and of sessions
    /// that died, or were made again, while holding a task; and frees the
    /// sessions whose agent exited without its Stop hook. Returns how many
    /// changed, and the agents of dead launches that are still to be
    /// stopped (slow, so the caller does it once the lock is released).
    pub(super) fn recover(
        &self,
        locked: &mut Locked,
        snapshot: &Snapshot,
    ) -> anyhow::Result<(usize, Vec<After>)> {
        let holders: Vec<(String, Phase, Option<PathBuf>, Option<Started>)> = locked
            .state
            .sessions
            .iter()
            .filter(|(_, s)| s.phase != Phase::Idle)
            .map(|(n, s)| (n.clone(), s.phase, s.task.clone(), s.started.clone()))
            .collect();
        let mut changed = 0;
        let mut to_stop = Vec::new();
        let now = now();
        for (session, phase, task, started) in holders {
            if snapshot.is_unknown(&session) {
                continue; // its server did not answer: neither alive nor dead
            }
            let pane = snapshot.pane(&session);
            let activity = pane.and_then(|p| free::activity(started.as_ref(), p));
            let shown = task
                .as_deref()
                .unwrap_or(Path::new("?"))
                .display()
                .to_string();
            let reason = match (phase, pane, &activity) {
                (Phase::Launching, _, _) => {
                    let Some(mut lock) = self.store.try_launch_lock(&session)? else {
                        continue; // still in flight
                    };
                    let mut stage = String::new();
                    let _ = lock.read_to_string(&mut stage);
                    let stage = Stage::parse(&stage);
                    let dedicated = self.config.dedicated(&session).is_some();
                    let started = started.as_ref().filter(|_| pane.is_some());
                    match (&activity, started) {
                        (Some(Activity::Running), Some(started)) if stage >= Some(Stage::Pasted) => {
                            // The message is in the agent's input: finish the
                            // delivery rather than run the task twice; but
                            // nothing automatic types into a dedicated session.
                            let how = if dedicated {
                                "it waits in its agent's input, unsent: press Enter there, or clear it"
                            } else {
                                if stage == Some(Stage::Pasted) {
                                    to_stop.push(After::Submit(session.clone(), started.clone()));
                                }
                                "it stays with its agent"
                            };
                            locked.state.set(&session, Phase::Working, now);
                            locked.state.entry(&session).task = task.clone();
                            report::warn(format!(
                                "the launch into {session} was cut off after the paste; {shown}: {how}"
                            ));
                            changed += 1;
                            continue;
                        }
                        (Some(Activity::Running | Activity::NotStarted), Some(started))
                            if !dedicated =>
                        {
                            // The typed command may still be on its way, or its
                            // agent starting, for a task it will never get.
                            to_stop.push(After::Stop(session.clone(), started.clone()));
                        }
                        _ => {}
                    }
                    format!(
                        "the process launching it into {session} died ({})",
                        stage.map(Stage::as_str).unwrap_or("before typing")
                    )
                }
                (Phase::Working, None, _) => format!("session {session} died while holding it"),
                (Phase::Working, Some(_), Some(Activity::Replaced)) => format!(
                    "session {session} was closed and made again (or tmux restarted) while holding it"
                ),
                (Phase::Working, Some(_), Some(Activity::Exited(status))) => {
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
                    continue;
                }
                _ => continue,
            };
            locked.state.set(&session, Phase::Idle, now);
            changed += 1;
            let Some(task) = task else { continue };
            match inbox::unclaim(&task) {
                Ok(back) => report::event(&Event::Recovered {
                    task: back,
                    reason,
                    session: Some(session.clone()),
                }),
                Err(e) => report::warn(format!(
                    "{reason}, but {} could not be put back: {e}",
                    task.display()
                )),
            }
        }
        Ok((changed, to_stop))
    }

    /// Agents agent-queue started in idle pool sessions, running with no
    /// task while nothing is launching or recycling there: a launch gave up
    /// on a shell that was slow to read its line, which then ran it anyway.
    /// Left alone, such an agent keeps its session for good. (A pool with
    /// `recycle = false` keeps its agents after their tasks on purpose.)
    pub(super) fn strays(
        &self,
        locked: &Locked,
        snapshot: &Snapshot,
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
                    || free::activity(Some(started), pane) != Some(Activity::Running)
                {
                    continue;
                }
                let launch = self.store.try_launch_lock(&session)?;
                let recycle = self.store.try_recycle_lock(&session)?;
                if launch.is_none() || recycle.is_none() {
                    continue;
                }
                report::warn(format!(
                    "{session}: the agent agent-queue started there runs with no task (its launch \
                     gave up on it); stopping it"
                ));
                out.push(After::Stop(session, started.clone()));
            }
        }
        Ok(out)
    }
}
