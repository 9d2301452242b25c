//! Claim, launch, settle: the one path every dispatch takes, whether from
//! `scan`, `dispatch` or `mark-idle`. Under the state lock a task is renamed
//! to `.dispatched` and its session reserved (with the session's launch lock
//! taken); the slow launch runs outside the lock, several at once on threads;
//! then, under the lock again, the session is marked working, or the task goes
//! back to its inbox and the session cools down. A scan also recovers what a
//! dead launcher or a dead session left behind.

use std::fs::File;
use std::path::PathBuf;

use crate::clock::now;
use crate::config::Config;
use crate::launch;
use crate::output::report;
use crate::pane::Started;
use crate::queue::pending::Pending;
use crate::queue::worktree::Worktree;
use crate::store::security::Trust;
use crate::store::state::Store;
use crate::tmux::servers;
use crate::tmux::Tmux;
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

mod claim;
pub mod end;
pub mod free;
pub mod hands_off;
mod recovery;
pub mod recycle;
mod settle;
pub use settle::Settled;

/// What recovery leaves to do once the state's lock is let go: the
/// dispatcher decides, the session's pane does it.
#[derive(Debug, Clone)]
pub enum After {
    /// A launch cut off after its paste: press the Enter it did not.
    Submit(String, Started),
    /// An agent that will not get its task, or whose account hit its
    /// usage limit: stop it.
    Stop(String, Started),
    /// An agent whose recycle waited for an operator to leave: `/exit`.
    Exit(String, Started),
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
    /// The task's own worktree (`isolation = "worktree"`).
    worktree: Option<Worktree>,
    /// How long a client's input holds the session (an automatic choice
    /// of a pool session; `None` when the operator named it).
    hands_off: Option<std::time::Duration>,
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
        // Everything that waits on a tmux server is read before the lock
        // (a host that hangs holds up no hook); under the lock, a session
        // whose entry changed meanwhile is left for the next round.
        let mut before = self.before(recover)?;
        let looks_back = recover && Self::anything_to_recover(&before);
        if tasks.is_empty() && !looks_back {
            return Ok(round);
        }
        // Screens are about to be read for usage limits: the patterns
        // compile on the other core while tmux is asked and tasks claimed.
        crate::accounts::limits::warm_up();
        // One tmux call decides both recovery and freeness.
        // A session's next task, or one named by hand: its server alone
        // (a recycle of a local session asks no remote host).
        let snapshot = match target {
            Target::One { session, .. } if !recover => servers::snapshot_of(self.config, session)?,
            _ => servers::snapshot(self.config)?,
        };
        let limits = if looks_back {
            self.limits_on_screens(&before.state, &snapshot)
        } else {
            Vec::new()
        };
        let claims = {
            let mut locked = self.store.lock()?;
            let changed = before.changed(&locked.state);
            if looks_back {
                (round.recovered, to_stop) =
                    self.recover(&mut locked, &snapshot, &changed, &mut before);
                let (n, stop) = self.limit_holders(&mut locked, &limits);
                round.recovered += n;
                to_stop.extend(stop);
            }
            before.release_locks();
            if recover {
                to_stop.extend(self.strays(&locked, &snapshot, &changed)?);
            }
            hands_off::say_held(self.config, &snapshot, now());
            to_stop = hands_off::defer(self.config, &snapshot, now(), to_stop);
            // A recycle that waited is done now: another pass may use it.
            round.recovered += to_stop
                .iter()
                .filter(|a| matches!(a, After::Exit(..)))
                .count();
            let claims = self.claim(&mut locked, &snapshot, &changed, tasks, target, &mut round)?;
            if round.recovered > 0 || !claims.is_empty() {
                if let Err(e) = locked.save() {
                    return Err(claim::undo(claims, e));
                }
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
        let results: Vec<Settled> = std::thread::scope(|scope| {
            let handles: Vec<_> = claims
                .into_iter()
                .map(|claim| scope.spawn(move || self.launch_and_settle(claim)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Settled::Failed(None)))
                .collect()
        });
        for result in results {
            match result {
                Settled::Dispatched => round.dispatched += 1,
                Settled::Failed(back) => {
                    round.failed += 1;
                    round.returned.extend(back);
                }
            }
        }
        Ok(round)
    }

    /// The session's resume id, when its file is trusted and well formed.
    fn resume(&self, session: &str) -> Option<(PathBuf, String)> {
        let dir = &self.config.agent_for(session).resume_dir;
        let path = dir.join(format!("{session}-resume-id.txt"));
        let meta = std::fs::symlink_metadata(&path).ok()?;
        let refusal = std::fs::metadata(dir)
            .ok()
            .and_then(|m| self.trust.refuse_folder(dir, &m))
            .map(|r| r.to_string())
            .or_else(|| {
                (!meta.is_file()).then(|| format!("{} is not a regular file", path.display()))
            })
            .or_else(|| self.trust.refuse_file(&path, &meta).map(|r| r.to_string()));
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
}
