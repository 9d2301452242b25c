//! What recovery does with one session the state says holds a task, decided
//! from typed facts alone: the phase, what its tmux server said (it answered
//! and listed the session, answered without it, or did not answer), what the
//! pane shows of the start agent-queue recorded there, how far a dead
//! launcher got, and whether the session is a pool's or the operator's. No
//! I/O: `recovery.rs` gathers the facts and does what the verdict says, and
//! every rule is tested here as a table.
//!
//! The rules that keep a task with exactly one agent:
//! - A server that did not answer says nothing: its session is unknown,
//!   never dead, and keeps its task (so does a session whose state changed
//!   after the snapshot was taken, which the snapshot cannot speak for).
//! - Only a server that answered and does not list the session (or lists
//!   another incarnation of it) makes it dead; its task goes back.
//! - A launch whose process died after the paste reached a running agent is
//!   finished rather than run twice; before that, its task goes back and an
//!   agent started for it is stopped (never in a dedicated session).
//! - An agent that exited without its Stop hook after it took its task: whether it
//!   was done is unknown, so the task is not run again.

use crate::launch::Stage;
use crate::pane::Activity;

/// What the session's tmux server said, as of the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// It answered and lists the session; what the pane shows of the
    /// recorded start (`None`: nothing was recorded).
    Listed(Option<Activity>),
    /// It answered, and has no such session.
    NotListed,
    /// It did not answer (a silent host), or the state changed since the
    /// snapshot: nothing is known of the session.
    NoAnswer,
}

/// The launcher of a session in `launching`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launcher {
    /// Its process still holds the launch lock.
    InFlight,
    /// Its process is gone; the stage it noted last, if any.
    Dead(Option<Stage>),
}

/// The phase of a session that holds a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    Launching(Launcher),
    Working,
}

/// Whose session it is: nothing automatic types into the operator's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Pool,
    Operator,
}

/// Why a task goes back to its inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The process launching it died at this stage (`None`: before typing).
    LauncherDied(Option<Stage>),
    /// Its server answered without the session.
    SessionDied,
    /// The session was closed and made again, or tmux restarted.
    Replaced,
}

/// How a launch cut off after its paste is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Press the Enter the launcher did not.
    PressEnter,
    /// Enter was sent already: nothing to type.
    AsIs,
    /// A dedicated session: the operator presses Enter, or clears it.
    ByOperator,
}

/// What recovery does with the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing: in flight, working, or not known.
    Leave,
    /// The task stays with its agent, now `working`.
    Keep(Finish),
    /// The task goes back to its inbox and the session is idle; `stop`:
    /// the agent started for it is stopped first.
    Requeue { why: Why, stop: bool },
    /// The agent exited (this status) without its Stop hook: the session
    /// is idle, the task stays `.dispatched`.
    Ended(i32),
}

pub fn decide(holding: Holding, heard: Heard, owner: Owner) -> Verdict {
    use Activity::{Exited, NotStarted, Replaced, Running};
    match (holding, heard) {
        (_, Heard::NoAnswer) | (Holding::Launching(Launcher::InFlight), _) => Verdict::Leave,
        (Holding::Launching(Launcher::Dead(stage)), heard) => {
            let activity = match heard {
                Heard::Listed(a) => a,
                _ => None,
            };
            match (activity, owner) {
                (Some(Running), _) if stage >= Some(Stage::Pasted) => Verdict::Keep(match owner {
                    Owner::Operator => Finish::ByOperator,
                    Owner::Pool if stage == Some(Stage::Pasted) => Finish::PressEnter,
                    Owner::Pool => Finish::AsIs,
                }),
                // Taken, then the agent ended: as for a working session.
                (Some(Exited(status)), _) if stage == Some(Stage::Submitted) => {
                    Verdict::Ended(status)
                }
                (Some(Running | NotStarted), Owner::Pool) => Verdict::Requeue {
                    why: Why::LauncherDied(stage),
                    stop: true,
                },
                _ => Verdict::Requeue {
                    why: Why::LauncherDied(stage),
                    stop: false,
                },
            }
        }
        (Holding::Working, Heard::NotListed) => Verdict::Requeue {
            why: Why::SessionDied,
            stop: false,
        },
        (Holding::Working, Heard::Listed(Some(Replaced))) => Verdict::Requeue {
            why: Why::Replaced,
            stop: false,
        },
        (Holding::Working, Heard::Listed(Some(Exited(status)))) => Verdict::Ended(status),
        (Holding::Working, Heard::Listed(Some(Running | NotStarted) | None)) => Verdict::Leave,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Activity::{Exited, NotStarted, Replaced, Running};
    use Heard::{Listed, NoAnswer, NotListed};

    fn dead(stage: Option<Stage>) -> Holding {
        Holding::Launching(Launcher::Dead(stage))
    }

    fn requeue(why: Why, stop: bool) -> Verdict {
        Verdict::Requeue { why, stop }
    }

    #[test]
    fn a_server_that_did_not_answer_never_makes_a_session_dead() {
        for holding in [
            Holding::Working,
            dead(None),
            dead(Some(Stage::Typed)),
            dead(Some(Stage::Submitted)),
            Holding::Launching(Launcher::InFlight),
        ] {
            for owner in [Owner::Pool, Owner::Operator] {
                assert_eq!(
                    decide(holding, NoAnswer, owner),
                    Verdict::Leave,
                    "{holding:?} {owner:?}"
                );
            }
        }
    }

    #[test]
    fn working_sessions() {
        let table = [
            (NotListed, requeue(Why::SessionDied, false)),
            (Listed(Some(Replaced)), requeue(Why::Replaced, false)),
            (Listed(Some(Exited(3))), Verdict::Ended(3)),
            (Listed(Some(Running)), Verdict::Leave),
            (Listed(Some(NotStarted)), Verdict::Leave),
            (Listed(None), Verdict::Leave),
            (NoAnswer, Verdict::Leave),
        ];
        for (heard, want) in table {
            for owner in [Owner::Pool, Owner::Operator] {
                assert_eq!(decide(Holding::Working, heard, owner), want, "{heard:?}");
            }
        }
    }

    #[test]
    fn a_launch_in_flight_is_left_alone() {
        for heard in [NotListed, Listed(Some(Running)), Listed(None)] {
            assert_eq!(
                decide(Holding::Launching(Launcher::InFlight), heard, Owner::Pool),
                Verdict::Leave
            );
        }
    }

    #[test]
    fn dead_launchers() {
        use Owner::{Operator, Pool};
        let died = |s| Why::LauncherDied(s);
        let table = [
            // Before the paste: the task goes back; a started agent stops.
            (None, Listed(None), Pool, requeue(died(None), false)),
            (
                Some(Stage::Typed),
                Listed(Some(NotStarted)),
                Pool,
                requeue(died(Some(Stage::Typed)), true),
            ),
            (
                Some(Stage::Ready),
                Listed(Some(Running)),
                Pool,
                requeue(died(Some(Stage::Ready)), true),
            ),
            (
                Some(Stage::Pasting),
                Listed(Some(Running)),
                Pool,
                requeue(died(Some(Stage::Pasting)), true),
            ),
            (
                Some(Stage::Ready),
                Listed(Some(Running)),
                Operator,
                requeue(died(Some(Stage::Ready)), false),
            ),
            // After it, into a running agent: delivered, not run twice.
            (
                Some(Stage::Pasted),
                Listed(Some(Running)),
                Pool,
                Verdict::Keep(Finish::PressEnter),
            ),
            (
                Some(Stage::Entered),
                Listed(Some(Running)),
                Pool,
                Verdict::Keep(Finish::AsIs),
            ),
            (
                Some(Stage::Submitted),
                Listed(Some(Running)),
                Pool,
                Verdict::Keep(Finish::AsIs),
            ),
            (
                Some(Stage::Pasted),
                Listed(Some(Running)),
                Operator,
                Verdict::Keep(Finish::ByOperator),
            ),
            // The agent is gone, or so is the session (its server answered).
            (
                Some(Stage::Entered),
                Listed(Some(Exited(0))),
                Pool,
                requeue(died(Some(Stage::Entered)), false),
            ),
            (
                Some(Stage::Submitted),
                Listed(Some(Exited(0))),
                Pool,
                Verdict::Ended(0),
            ),
            (
                Some(Stage::Submitted),
                Listed(Some(Replaced)),
                Pool,
                requeue(died(Some(Stage::Submitted)), false),
            ),
            (
                Some(Stage::Submitted),
                NotListed,
                Pool,
                requeue(died(Some(Stage::Submitted)), false),
            ),
        ];
        for (stage, heard, owner, want) in table {
            assert_eq!(
                decide(dead(stage), heard, owner),
                want,
                "{stage:?} {heard:?} {owner:?}"
            );
        }
    }
}
