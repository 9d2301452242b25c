//! The end of a launch: under the state's lock again, the session is marked
//! working, or the task goes back to its inbox and the session cools down
//! (or, at a usage limit, its account is marked). `decide` is the rule, a
//! pure function of the launch's outcome and what the state says now, tested
//! as a table; `settle` does what it says.

use std::path::{Path, PathBuf};

use super::{Claim, Dispatcher};
use crate::clock::now;
use crate::launch::{self, Launch, LaunchError};
use crate::output::report::{self, Event};
use crate::pane::agent::AgentPane;
use crate::queue::inbox;
use crate::queue::worktree;
use crate::store::claims;
use crate::store::state::Phase;

/// How a claim ended, for the round's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    Dispatched,
    /// The launch failed; where its task is back, if it could be put back.
    Failed(Option<PathBuf>),
}

/// What the launch came to, as the rule needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launched {
    Took,
    Limit,
    /// A person was at the agent (a draft in its input, an operator).
    Person,
    Failed,
}

/// Whether the state still has this claim launching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Now {
    Launching,
    /// Something came first: a fast agent's Stop hook ended the task.
    Moved,
}

/// Whether the agent's receipt came, when one was awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    NotAwaited,
    Came,
    Missing,
}

/// What settling does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The agent has it: `working` unless `done` (its turn already ended);
    /// `hooks_gone`: a receipt was awaited and none came, so later
    /// launches go by the screen again.
    Took { done: bool, hooks_gone: bool },
    /// The account is marked limited; the task goes back, no cooldown.
    Limited,
    /// A person, not a fault: the task goes back, no cooldown.
    Stepped,
    /// The task goes back; the session cools down.
    Failed,
}

pub fn decide(launched: Launched, now: Now, receipt: Receipt) -> Verdict {
    match launched {
        Launched::Took => Verdict::Took {
            done: now == Now::Moved,
            hooks_gone: receipt == Receipt::Missing,
        },
        Launched::Limit => Verdict::Limited,
        Launched::Person => Verdict::Stepped,
        Launched::Failed => Verdict::Failed,
    }
}

impl Dispatcher<'_> {
    /// Launches, then settles.
    pub(super) fn launch_and_settle(&self, claim: Claim) -> Settled {
        let resume = self.resume(&claim.session);
        let agent = self.config.agent_for(&claim.session);
        let tmux = self.tmux(&claim.session);
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
                claim
                    .worktree
                    .as_ref()
                    .map_or(&claim.pending.project, |w| &w.workdir),
                &claim.model,
                resume.as_ref().map(|r| r.1.as_str()),
                &claim.started.nonce,
            ),
            message: launch::message(agent, &claim.pending.name, &claim.pending.task),
            progress: Some(&claim.lock),
            receipts: Some(&self.store),
            limits: agent.limits(),
            expect_receipt: claim.expect_receipt,
            hands_off: claim.hands_off,
        };
        report::debug(format!(
            "launching {} in {}",
            claim.dispatched.display(),
            claim.session
        ));
        let outcome = launch.run();
        if outcome.is_err() && self.config.pool_of(&claim.session).is_some() {
            match self.operator_at(&claim.session) {
                None => {
                    launch.pane.stop();
                }
                Some(hold) => report::warn(format!(
                    "{}: {hold}; stopping the agent of the failed launch waits for a later scan",
                    claim.session
                )),
            }
        }
        if outcome.is_err() {
            if let Some(w) = &claim.worktree {
                worktree::forget(w);
            }
        }
        match self.settle(&claim, &outcome, resume.as_ref().map(|r| r.0.as_path())) {
            Ok(settled) => {
                // The state speaks for the claim now: its record and stage
                // notes are done with.
                claims::clear(&claim.lock);
                settled
            }
            Err(e) => {
                report::error(format!(
                    "settling {} in {}: {e:#}",
                    claim.dispatched.display(),
                    claim.session
                ));
                Settled::Failed(None)
            }
        }
        // `claim.lock` drops here, after the state says how it ended.
    }

    fn settle(
        &self,
        claim: &Claim,
        outcome: &Result<(), LaunchError>,
        resume: Option<&Path>,
    ) -> anyhow::Result<Settled> {
        let mut locked = self.store.lock()?;
        let now = now();
        let entry = locked.state.entry(&claim.session);
        let launched = match outcome {
            Ok(()) => Launched::Took,
            Err(LaunchError::Limit { .. }) => Launched::Limit,
            Err(LaunchError::Person { .. }) => Launched::Person,
            Err(LaunchError::Failed(_)) => Launched::Failed,
        };
        let still = match entry.phase == Phase::Launching
            && entry.task.as_ref() == Some(&claim.dispatched)
        {
            true => Now::Launching,
            false => Now::Moved,
        };
        let received = entry
            .receipt
            .as_ref()
            .is_some_and(|r| r.nonce == claim.started.nonce);
        let receipt = match (claim.expect_receipt, received) {
            (false, _) => Receipt::NotAwaited,
            (true, true) => Receipt::Came,
            (true, false) => Receipt::Missing,
        };
        let settled = match (decide(launched, still, receipt), outcome) {
            (Verdict::Took { done, hooks_gone }, _) => {
                if !done {
                    locked.state.set(&claim.session, Phase::Working, now);
                }
                let entry = locked.state.entry(&claim.session);
                entry.last_error = None;
                if hooks_gone {
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
                    worktree: claim.worktree.as_ref().map(|w| w.path.clone()),
                    branch: claim.worktree.as_ref().map(|w| w.branch.clone()),
                });
                Settled::Dispatched
            }
            (Verdict::Limited, Err(e @ LaunchError::Limit { line, .. })) => {
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
                locked.state.entry(&claim.session).last_error = Some(e.message().to_string());
                report::event(&Event::Failed {
                    task: back.clone().unwrap_or_else(|| claim.dispatched.clone()),
                    reason: format!("{e}; the task is back in its inbox"),
                    session: Some(claim.session.clone()),
                });
                Settled::Failed(back)
            }
            (Verdict::Stepped, Err(e)) => {
                let back = inbox::unclaim(&claim.dispatched);
                locked.state.set(&claim.session, Phase::Idle, now);
                locked.state.entry(&claim.session).last_error = Some(e.message().to_string());
                report::event(&Event::Failed {
                    task: back.as_ref().unwrap_or(&claim.dispatched).clone(),
                    reason: match &back {
                        Ok(_) => format!(
                            "{e}; the task is back in its inbox (no cooldown for {})",
                            claim.session
                        ),
                        Err(be) => format!("{e}; and putting it back failed: {be}"),
                    },
                    session: Some(claim.session.clone()),
                });
                Settled::Failed(back.ok())
            }
            (_, outcome) => {
                let message = outcome
                    .as_ref()
                    .err()
                    .map_or("the launch failed", LaunchError::message);
                let back = inbox::unclaim(&claim.dispatched);
                locked.state.set(&claim.session, Phase::Idle, now);
                let entry = locked.state.entry(&claim.session);
                entry.last_fail = Some(now);
                entry.last_error = Some(message.to_string());
                let cooldown = self
                    .config
                    .pool_of(&claim.session)
                    .map_or(String::from("0s"), |p| {
                        crate::clock::format_duration(p.cooldown)
                    });
                let reason = match &back {
                    Ok(_) => format!(
                        "{message}; the task is back in its inbox and {s} cools down for \
                         {cooldown} (`agent-queue clear-cooldown {s}` once its cause is fixed)",
                        s = claim.session
                    ),
                    Err(be) => format!("{message}; and putting it back failed: {be}"),
                };
                report::event(&Event::Failed {
                    task: back.as_ref().unwrap_or(&claim.dispatched).clone(),
                    reason,
                    session: Some(claim.session.clone()),
                });
                Settled::Failed(back.ok())
            }
        };
        locked.save()?;
        Ok(settled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settling_follows_the_outcome_and_the_state() {
        use Launched as L;
        let took = |done, hooks_gone| Verdict::Took { done, hooks_gone };
        let table = [
            (
                L::Took,
                Now::Launching,
                Receipt::NotAwaited,
                took(false, false),
            ),
            (L::Took, Now::Launching, Receipt::Came, took(false, false)),
            (L::Took, Now::Launching, Receipt::Missing, took(false, true)),
            // Its Stop hook came before the settle: done, and idle.
            (L::Took, Now::Moved, Receipt::Came, took(true, false)),
            (L::Limit, Now::Launching, Receipt::Missing, Verdict::Limited),
            (L::Failed, Now::Launching, Receipt::Missing, Verdict::Failed),
            (
                L::Failed,
                Now::Launching,
                Receipt::NotAwaited,
                Verdict::Failed,
            ),
        ];
        for (launched, now, receipt, want) in table {
            assert_eq!(
                decide(launched, now, receipt),
                want,
                "{launched:?} {now:?} {receipt:?}"
            );
        }
    }
}
