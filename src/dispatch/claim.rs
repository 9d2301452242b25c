//! The claim: under the state's lock, each task is given to a free session
//! (as routing or the operator picks it), noted in that session's launch
//! lock, renamed to `.dispatched`, and the session reserved in the state.
//! When the state cannot be written afterwards, `undo` renames every claimed
//! task back before the command exits.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;

use anyhow::Context;

use super::free::{self, Busy, Chooser};
use super::{Claim, Dispatcher, Round, Target};
use crate::clock::now;
use crate::output::report::{self, Event};
use crate::pane::{self, Started};
use crate::queue::inbox;
use crate::queue::pending::Pending;
use crate::queue::routing::{self, Free};
use crate::queue::worktree;
use crate::store::claims;
use crate::store::state::{Locked, Phase};
use crate::tmux::Snapshot;

/// What became of one task's claim on a session.
enum Taken {
    Claimed(Box<Claim>),
    /// A launch is in flight there: the session is not used.
    InFlight,
    /// The task was taken by another invocation, or could not be renamed:
    /// the session stays free for the next task.
    Lost,
}

impl Dispatcher<'_> {
    pub(super) fn claim(
        &self,
        locked: &mut Locked,
        snapshot: &Snapshot,
        changed: &HashSet<String>,
        tasks: &[Pending],
        target: Target<'_>,
        round: &mut Round,
    ) -> anyhow::Result<Vec<Claim>> {
        let now = now();
        let config = self.config;
        let mut free = Free {
            pools: vec![Default::default(); config.pools.len()],
        };
        // A named session stands in for its pool (or for the dedicated
        // sessions, as a pool of its own at the end).
        let one = match target {
            Target::Pool => {
                free = free::free_sessions(config, snapshot, &locked.state, now);
                for sessions in &mut free.pools {
                    sessions.retain(|s| !changed.contains(s));
                }
                None
            }
            Target::One { session, chooser } => {
                let checked = match changed.contains(session) {
                    true => Err(Busy::Changed),
                    false => free::check(config, snapshot, &locked.state, session, now, chooser),
                };
                match checked {
                    Ok(()) => {
                        let i = config
                            .pools
                            .iter()
                            .position(|p| p.contains(session))
                            .unwrap_or(config.pools.len());
                        free.pools
                            .resize(config.pools.len() + 1, Default::default());
                        free.pools[i].push_back(session.to_string());
                        Some((i, chooser))
                    }
                    Err(busy) => {
                        round.busy = Some(busy);
                        return Ok(Vec::new());
                    }
                }
            }
        };
        let mut claims = Vec::new();
        for pending in tasks {
            if free.pools.iter().all(|p| p.is_empty()) {
                break;
            }
            let chooser = one.map_or(Chooser::Automatic, |(_, c)| c);
            if !free::project_open(&locked.state, &pending.project, chooser) {
                report::debug(format!(
                    "{} waits: its project is paused",
                    pending.path.display()
                ));
                continue;
            }
            let picked = match one {
                // The operator's choice of session stands.
                Some((i, Chooser::Operator)) => free.pools[i].pop_front().map(|s| (i, s)),
                // A session's next task is the first one its pool may take.
                Some((i, Chooser::Automatic)) => routing::eligible(config, &pending.task)
                    .ok()
                    .filter(|pools| pools.contains(&i))
                    .and_then(|_| free.pools[i].pop_front().map(|s| (i, s))),
                None => {
                    match routing::route(config, &pending.task, &mut free, &locked.state, now) {
                        Ok(picked) => Some(picked),
                        Err(waits) => {
                            report::debug(format!("{} waits: {waits}", pending.path.display()));
                            None
                        }
                    }
                }
            };
            let Some((pool, session)) = picked else {
                continue;
            };
            if let Err(full) = crate::queue::parallel::room(config, &locked.state, &pending.project)
            {
                report::debug(format!("{} waits: {full}", pending.path.display()));
                free.put_back(pool, session);
                continue;
            }
            // How long a client's input holds the session: for an automatic
            // choice of a pool session, not for one the operator named.
            let hands_off = match target {
                Target::One {
                    chooser: Chooser::Operator,
                    ..
                } => None,
                _ => config.pool_of(&session).map(|p| p.hands_off),
            };
            match self.take(locked, snapshot, pending, &session, hands_off, now) {
                Ok(Taken::Claimed(claim)) => claims.push(*claim),
                Ok(Taken::InFlight) => {}
                Ok(Taken::Lost) => free.put_back(pool, session),
                Err(e) => return Err(undo(claims, e)),
            }
        }
        Ok(claims)
    }

    /// Claims `pending` for `session`, a free session of the snapshot:
    /// takes its launch lock, notes the claim there, renames the task and
    /// reserves the session in the state. An error (the note could not be
    /// written) ends the round's claims.
    fn take(
        &self,
        locked: &mut Locked,
        snapshot: &Snapshot,
        pending: &Pending,
        session: &str,
        hands_off: Option<std::time::Duration>,
        now: u64,
    ) -> anyhow::Result<Taken> {
        let Some(lock) = self.store.try_launch_lock(session)? else {
            // A launch is in flight there (from another invocation).
            return Ok(Taken::InFlight);
        };
        let taken_by_another = || {
            report::debug(format!(
                "{} was taken by another invocation",
                pending.path.display()
            ));
            Ok(Taken::Lost)
        };
        let Ok(meta) = std::fs::symlink_metadata(&pending.path) else {
            return taken_by_another();
        };
        // Noted before the rename: a claim the state never learns of is
        // still found (see store::claims). A disk too full for this is too
        // full for the state: nothing more is claimed.
        claims::record(&lock, &pending.path, meta.ino()).with_context(|| {
            format!(
                "noting the claim of {} in {session}'s launch lock",
                pending.path.display()
            )
        })?;
        let dispatched = match inbox::claim(&pending.path) {
            Ok(Some(d)) => d,
            Ok(None) => {
                claims::clear(&lock);
                return taken_by_another();
            }
            Err(e) => {
                claims::clear(&lock);
                report::event(&Event::Skipped {
                    task: pending.path.clone(),
                    reason: format!("could not claim it (rename to .dispatched): {e}"),
                });
                return Ok(Taken::Lost);
            }
        };
        let worktree = match worktree::for_claim(self.config, pending, &dispatched) {
            worktree::Place::Project => None,
            worktree::Place::Worktree(w) => Some(w),
            // The task is back in its inbox, said why.
            worktree::Place::Refused => {
                claims::clear(&lock);
                return Ok(Taken::Lost);
            }
        };
        // Free sessions exist in the snapshot.
        let pane = snapshot.pane(session).expect("a free session has a pane");
        let started = Started {
            pane: pane.id.clone(),
            pid: pane.pid,
            nonce: pane::nonce(),
        };
        locked.state.set(session, Phase::Launching, now);
        let entry = locked.state.entry(session);
        entry.task = Some(dispatched.clone());
        entry.project = Some(pending.project.clone());
        entry.started = Some(started.clone());
        entry.receipt = None;
        entry.worktree = worktree.clone();
        let expect_receipt = entry.hooks;
        Ok(Taken::Claimed(Box::new(Claim {
            pending: pending.clone(),
            dispatched,
            session: session.to_string(),
            started,
            expect_receipt,
            model: self.config.model_for(session, pending.task.priority),
            worktree,
            hands_off,
            lock,
        })))
    }
}

/// Undoes claims whose state write failed, before the command exits: every
/// task goes back to its inbox, and the error says so. A task whose rename
/// back fails keeps its record in the launch lock, and the next scan puts
/// it back.
pub(super) fn undo(claims: Vec<Claim>, e: anyhow::Error) -> anyhow::Error {
    if claims.is_empty() {
        return e.context("nothing was claimed");
    }
    let mut stuck = Vec::new();
    let n = claims.len();
    for claim in claims {
        match inbox::unclaim(&claim.dispatched) {
            Ok(_) => {
                claims::clear(&claim.lock);
                claim.worktree.iter().for_each(worktree::forget);
            }
            Err(err) => stuck.push(format!("{} ({err})", claim.dispatched.display())),
        }
    }
    if stuck.is_empty() {
        e.context(format!(
            "claiming {n} task(s): undone, every one is back in its inbox"
        ))
    } else {
        e.context(format!(
            "claiming {n} task(s): undone, but {} could not be put back now; the next scan \
             puts them back",
            stuck.join(", ")
        ))
    }
}
