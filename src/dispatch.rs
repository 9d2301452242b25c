//! Claim, launch, settle: the one path every dispatch takes, whether from
//! `scan`, `dispatch` or `mark-idle`. Under the state lock a task is renamed
//! to `.dispatched` and its session reserved (with the session's launch lock
//! taken); the slow launch runs outside the lock, several at once on threads;
//! then, under the lock again, the session is marked working, or the task goes
//! back to its inbox and the session cools down. A scan also recovers what a
//! dead launcher or a dead session left behind.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::accounts::limits::Patterns;
use crate::config::Config;
use crate::launch::{self, Launch};
use crate::output::report::{self, Event};
use crate::pane::agent::AgentPane;
use crate::pane::{self, Started};
use crate::queue::inbox;
use crate::queue::pending::Pending;
use crate::queue::routing::{self, Free};
use crate::store::security::Trust;
use crate::store::state::{now, Locked, Phase, Store};
use crate::tmux::servers;
use crate::tmux::{Snapshot, Tmux};
use free::{Busy, Chooser};

pub struct Dispatcher<'a> {
    pub config: &'a Config,
    pub store: Store,
    pub trust: Trust,
}

/// Which sessions a claim may use.
#[derive(Debug, Clone, Copy)]
pub enum Target<'s> {
    /// Every free pool session, in pool order.
    Pool,
    /// This session only, as `chooser` picked it (an operator may name a
    /// dedicated one).
    One { session: &'s str, chooser: Chooser },
}

pub mod free;
mod recovery;

/// What recovery leaves to do once the state's lock is let go: the
/// dispatcher decides, the session's pane does it.
#[derive(Debug, Clone)]
pub enum After {
    /// A launch cut off after its paste: press the Enter it did not.
    Submit(String, Started),
    /// An agent that will not get its task, or whose account hit its
    /// usage limit: stop it.
    Stop(String, Started),
}

/// Whether a round first recovers what crashed or died: a scan's first pass
/// does; its later passes, `dispatch` and a session's next task do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    Run,
    Skip,
}

/// A task renamed to `.dispatched` with its session reserved.
struct Claim {
    pending: Pending,
    dispatched: PathBuf,
    session: String,
    /// The pane it goes into, and the nonce of this start.
    started: Started,
    /// The agent's hooks sent receipts before: wait for one.
    expect_receipt: bool,
    model: String,
    /// Held for the whole launch: a scan that can take it knows we died.
    lock: File,
}

/// What a round of claims came to.
#[derive(Debug, Default)]
pub struct Round {
    pub claimed: usize,
    pub dispatched: usize,
    pub failed: usize,
    pub recovered: usize,
    /// Where the tasks of failed launches are back in their inboxes.
    pub returned: Vec<PathBuf>,
    /// Why a `Target::One` session could not be used.
    pub busy: Option<Busy>,
}

impl<'a> Dispatcher<'a> {
    pub fn new(config: &'a Config) -> Dispatcher<'a> {
        Dispatcher {
            config,
            store: Store::new(config.state_file.clone()),
            trust: Trust::new(&config.security),
        }
    }

    /// The tmux of the server `session` is on.
    pub fn tmux(&self, session: &str) -> Tmux {
        servers::tmux_for(self.config, session)
    }

    /// One round: under the lock, recover what needs it (`Recovery::Run`),
    /// then claim tasks (in the order given) for free sessions; then launch
    /// the claims concurrently and settle each.
    pub fn round(
        &self,
        tasks: &[Pending],
        target: Target<'_>,
        recovery: Recovery,
    ) -> anyhow::Result<Round> {
        let recover = recovery == Recovery::Run;
        let mut round = Round::default();
        let mut to_stop = Vec::new();
        // Read before the lock (one tmux call per working session): the
        // lock is never held over anything slow.
        let limits = if recover {
            self.limits_on_screens()
        } else {
            Vec::new()
        };
        let claims = {
            let mut locked = self.store.lock()?;
            let holds_any = locked
                .state
                .sessions
                .values()
                .any(|s| s.phase != Phase::Idle);
            if tasks.is_empty() && !(recover && holds_any) {
                return Ok(round);
            }
            // One tmux call decides both recovery and freeness.
            // A session's next task, or one named by hand: its server alone
            // (a recycle of a local session asks no remote host).
            let snapshot = match target {
                Target::One { session, .. } if !recover => {
                    servers::snapshot_of(self.config, session)?
                }
                _ => servers::snapshot(self.config)?,
            };
            if recover && holds_any {
                (round.recovered, to_stop) = self.recover(&mut locked, &snapshot)?;
                let (n, stop) = self.limit_holders(&mut locked, &limits);
                round.recovered += n;
                to_stop.extend(stop);
            }
            if recover {
                to_stop.extend(self.strays(&locked, &snapshot)?);
            }
            let claims = self.claim(&mut locked, &snapshot, tasks, target, &mut round)?;
            if round.recovered > 0 || !claims.is_empty() {
                locked.save()?;
            }
            claims
        };
        // What recovery decided, done now that the lock is let go (a
        // session whose started agent still runs is not free, so nothing
        // claims it meanwhile).
        for after in &to_stop {
            self.finish(after);
        }
        round.claimed = claims.len();
        let results: Vec<Result<(), Option<PathBuf>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = claims
                .into_iter()
                .map(|claim| scope.spawn(move || self.launch_and_settle(claim)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(None)))
                .collect()
        });
        for result in results {
            match result {
                Ok(()) => round.dispatched += 1,
                Err(back) => {
                    round.failed += 1;
                    round.returned.extend(back);
                }
            }
        }
        Ok(round)
    }

    fn claim(
        &self,
        locked: &mut Locked,
        snapshot: &Snapshot,
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
                for (i, pool) in config.pools.iter().enumerate() {
                    free.pools[i] =
                        free::free_pool(config, pool, snapshot, &locked.state, now).into();
                }
                None
            }
            Target::One { session, chooser } => {
                match free::check(config, snapshot, &locked.state, session, now, chooser) {
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
            let Some(lock) = self.store.try_launch_lock(&session)? else {
                // A launch is in flight there (from another invocation).
                continue;
            };
            let dispatched = match inbox::claim(&pending.path) {
                Ok(Some(d)) => d,
                Ok(None) => {
                    report::debug(format!(
                        "{} was taken by another invocation",
                        pending.path.display()
                    ));
                    free.put_back(pool, session);
                    continue;
                }
                Err(e) => {
                    report::event(&Event::Skipped {
                        task: pending.path.clone(),
                        reason: format!("could not claim it (rename to .dispatched): {e}"),
                    });
                    free.put_back(pool, session);
                    continue;
                }
            };
            let _ = lock.set_len(0);
            // Free sessions exist in the snapshot.
            let pane = snapshot.pane(&session).expect("a free session has a pane");
            let started = Started {
                pane: pane.id.clone(),
                pid: pane.pid,
                nonce: pane::nonce(),
            };
            locked.state.set(&session, Phase::Launching, now);
            let entry = locked.state.entry(&session);
            entry.task = Some(dispatched.clone());
            entry.project = Some(pending.project.clone());
            entry.started = Some(started.clone());
            entry.receipt = None;
            let expect_receipt = entry.hooks;
            let model = config.model_for(&session, pending.task.priority);
            claims.push(Claim {
                pending: pending.clone(),
                dispatched,
                session,
                started,
                expect_receipt,
                model,
                lock,
            });
        }
        Ok(claims)
    }

    /// The session's resume id, when its file is trusted and well formed.
    fn resume(&self, session: &str) -> Option<(PathBuf, String)> {
        let dir = &self.config.agent_for(session).resume_dir;
        let path = dir.join(format!("{session}-resume-id.txt"));
        let meta = std::fs::symlink_metadata(&path).ok()?;
        let refusal = std::fs::metadata(dir)
            .ok()
            .and_then(|m| self.trust.refuse_folder(dir, &m))
            .or_else(|| {
                (!meta.is_file()).then(|| format!("{} is not a regular file", path.display()))
            })
            .or_else(|| self.trust.refuse_file(&path, &meta));
        if let Some(why) = refusal {
            report::warn(format!("ignoring resume id for {session}: {why}"));
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        match launch::resume_id(&text) {
            Some(id) => Some((path, id.to_string())),
            None => {
                report::warn(format!(
                    "ignoring resume file {}: it does not hold a well-formed session id",
                    path.display()
                ));
                None
            }
        }
    }

    /// Launches, then settles; on failure, where the task is back.
    fn launch_and_settle(&self, claim: Claim) -> Result<(), Option<PathBuf>> {
        let resume = self.resume(&claim.session);
        let agent = self.config.agent_for(&claim.session);
        let tmux = self.tmux(&claim.session);
        // Checked when the config was read.
        let limits = Patterns::new(&agent.limit_patterns).unwrap_or_default();
        let launch = Launch {
            pane: AgentPane {
                tmux: &tmux,
                session: &claim.session,
                started: &claim.started,
            },
            agent,
            task: &claim.dispatched,
            command_line: launch::command_line(
                agent,
                &claim.pending.project,
                &claim.model,
                resume.as_ref().map(|r| r.1.as_str()),
                &claim.started.nonce,
            ),
            message: launch::message(agent, &claim.pending.name, &claim.pending.task),
            progress: Some(&claim.lock),
            receipts: Some(&self.store),
            limits: &limits,
            expect_receipt: claim.expect_receipt,
        };
        report::debug(format!(
            "launching {} in {}",
            claim.dispatched.display(),
            claim.session
        ));
        let outcome = launch.run();
        if outcome.is_err() && self.config.pool_of(&claim.session).is_some() {
            launch.pane.stop();
        }
        match self.settle(&claim, &outcome, resume.as_ref().map(|r| r.0.as_path())) {
            Ok(settled) => settled,
            Err(e) => {
                report::error(format!(
                    "settling {} in {}: {e:#}",
                    claim.dispatched.display(),
                    claim.session
                ));
                Err(None)
            }
        }
        // `claim.lock` drops here, after the state says how it ended.
    }

    fn settle(
        &self,
        claim: &Claim,
        outcome: &Result<(), launch::LaunchError>,
        resume: Option<&Path>,
    ) -> anyhow::Result<Result<(), Option<PathBuf>>> {
        let mut locked = self.store.lock()?;
        let now = now();
        let ok = match outcome {
            Ok(()) => {
                let entry = locked.state.entry(&claim.session);
                // A fast agent may finish its turn, and its Stop hook mark
                // the session idle, before this launch has settled: then
                // the task is done, and the session stays idle.
                let still_ours = entry.phase == Phase::Launching
                    && entry.task.as_ref() == Some(&claim.dispatched);
                if still_ours {
                    locked.state.set(&claim.session, Phase::Working, now);
                }
                let entry = locked.state.entry(&claim.session);
                entry.last_error = None;
                let received = entry
                    .receipt
                    .as_ref()
                    .is_some_and(|r| r.nonce == claim.started.nonce);
                if claim.expect_receipt && !received {
                    // Taken, as the screen shows, but not heard: the hooks
                    // are gone; later launches go by the screen again.
                    entry.hooks = false;
                    report::warn(format!(
                        "{}: the agent took the task but its UserPromptSubmit hook sent no \
                         receipt; are agent-queue's hooks still installed?",
                        claim.session
                    ));
                }
                if let Some(path) = resume {
                    // Only now: a failed launch keeps the id for the next try.
                    if let Err(e) = std::fs::remove_file(path) {
                        report::warn(format!("removing used resume file {}: {e}", path.display()));
                    }
                }
                report::event(&Event::Dispatched {
                    session: claim.session.clone(),
                    task: claim.dispatched.clone(),
                    project: claim.pending.project.clone(),
                    priority: claim.pending.task.priority,
                    model: claim.model.clone(),
                });
                Ok(())
            }
            Err(e) if e.limit.is_some() => {
                // No cooldown: the account's limit keeps the session out,
                // and ends by itself.
                let line = e.limit.as_deref().unwrap_or_default();
                let mut back = crate::accounts::limited::mark(
                    self.config,
                    &mut locked,
                    &claim.session,
                    line,
                    now,
                );
                // A launch that failed gives its task back in any case
                // (`on_limit = "leave"` keeps only a task already under way).
                if back.is_none() && locked.state.phase(&claim.session) != Phase::Idle {
                    back = inbox::unclaim(&claim.dispatched).ok();
                    locked.state.set(&claim.session, Phase::Idle, now);
                }
                locked.state.entry(&claim.session).last_error = Some(e.message.clone());
                report::event(&Event::Failed {
                    task: back.clone().unwrap_or_else(|| claim.dispatched.clone()),
                    reason: format!("{e}; the task is back in its inbox"),
                    session: Some(claim.session.clone()),
                });
                Err(back)
            }
            Err(e) => {
                let back = inbox::unclaim(&claim.dispatched);
                locked.state.set(&claim.session, Phase::Idle, now);
                let entry = locked.state.entry(&claim.session);
                entry.last_fail = Some(now);
                entry.last_error = Some(e.message.clone());
                let cooldown = self
                    .config
                    .pool_of(&claim.session)
                    .map_or(0, |p| p.cooldown.as_secs());
                let reason = match &back {
                    Ok(_) => format!(
                        "{e}; the task is back in its inbox and {s} cools down for {cooldown}s \
                         (`agent-queue clear-cooldown {s}` once its cause is fixed)",
                        s = claim.session
                    ),
                    Err(be) => format!("{e}; and putting it back failed: {be}"),
                };
                report::event(&Event::Failed {
                    task: back.as_ref().unwrap_or(&claim.dispatched).clone(),
                    reason,
                    session: Some(claim.session.clone()),
                });
                Err(back.ok())
            }
        };
        locked.save()?;
        Ok(ok)
    }
}
