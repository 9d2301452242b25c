//! The events agent-queue reports: what happened to a task, a session or an
//! account, as `scan`, `dispatch`, the hooks and the operator's verbs print
//! it, as the history journal keeps it, and as `history` reads it back. One
//! enum, so that a line written and a line read are the same shape.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::report::Level;
use crate::paths::{json_path, json_path_opt};
use crate::queue::task::Priority;

/// What happened to a task, as printed by `scan`, `dispatch` and `mark-idle`,
/// and as the history journal keeps it and reads it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    Dispatched {
        session: String,
        #[serde(with = "json_path")]
        task: PathBuf,
        #[serde(with = "json_path")]
        project: PathBuf,
        priority: Priority,
        model: String,
        /// The task's own worktree and branch (`isolation = "worktree"`).
        #[serde(
            skip_serializing_if = "Option::is_none",
            serialize_with = "json_path_opt::serialize"
        )]
        worktree: Option<PathBuf>,
        #[serde(skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
    },
    /// `scan --dry-run`: what would be dispatched.
    Planned {
        session: String,
        pool: String,
        #[serde(with = "json_path")]
        task: PathBuf,
        #[serde(with = "json_path")]
        project: PathBuf,
        priority: Priority,
        model: String,
    },
    /// `scan --dry-run`: a task that would wait, and why.
    Waiting {
        #[serde(with = "json_path")]
        task: PathBuf,
        reason: String,
    },
    Rejected {
        #[serde(with = "json_path")]
        task: PathBuf,
        reason: String,
    },
    Recovered {
        #[serde(with = "json_path")]
        task: PathBuf,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    Failed {
        #[serde(with = "json_path")]
        task: PathBuf,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    Skipped {
        #[serde(with = "json_path")]
        task: PathBuf,
        reason: String,
    },
    /// An account hit its usage limit; the task its session held (if any)
    /// is back in its inbox, at `task`.
    Limited {
        account: String,
        /// RFC 3339: the reset, plus the margin.
        until: String,
        reason: String,
        session: String,
        #[serde(default, with = "json_path_opt")]
        task: Option<PathBuf>,
    },
    /// An account's usage reached its `hold_at`: no new task goes to it
    /// until `until` (RFC 3339), when that window resets.
    Held {
        account: String,
        until: String,
        /// `five_hour` or `seven_day`.
        window: String,
        used_percentage: f64,
    },
    /// An account's hold is over (its window reset, or a newer reading is
    /// below `hold_at`).
    Released { account: String },
    /// A task's agent ended without saying it was done (no Stop hook).
    Ended {
        #[serde(with = "json_path")]
        task: PathBuf,
        reason: String,
        session: String,
    },
    /// The agent's hook saw the task arrive.
    Received {
        #[serde(with = "json_path")]
        task: PathBuf,
        session: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_session_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transcript_path: Option<String>,
    },
    /// The agent's hook said its turn on the task ended.
    Done {
        #[serde(with = "json_path")]
        task: PathBuf,
        session: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_session_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transcript_path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// The branch its work is on, for review (`isolation = "worktree"`).
        #[serde(skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
    },
    /// `mark-idle`: the session's task (if it held one) is over.
    Idle {
        session: String,
        #[serde(default, with = "json_path_opt")]
        task: Option<PathBuf>,
    },
    /// `cancel`: the task will not run (any more); its file is `task`.
    Cancelled {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        /// The session that held it, if one did.
        #[serde(skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// What was done to its agent.
        reason: String,
    },
    /// `requeue`: a finished task is pending again, at `task`.
    Requeued {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        #[serde(serialize_with = "json_path::serialize")]
        from: PathBuf,
    },
    /// `pause`: what takes no new task from now on.
    Paused {
        pools: Vec<String>,
        sessions: Vec<String>,
        projects: Vec<String>,
    },
    /// `resume`: what takes tasks again.
    Resumed {
        pools: Vec<String>,
        sessions: Vec<String>,
        projects: Vec<String>,
    },
    /// `prune`: a finished task file moved to its project's archive (`task`
    /// its new path), or a finished task's worktree removed.
    Pruned {
        #[serde(
            skip_serializing_if = "Option::is_none",
            serialize_with = "json_path_opt::serialize"
        )]
        task: Option<PathBuf>,
        #[serde(
            skip_serializing_if = "Option::is_none",
            serialize_with = "json_path_opt::serialize"
        )]
        from: Option<PathBuf>,
        #[serde(
            skip_serializing_if = "Option::is_none",
            serialize_with = "json_path_opt::serialize"
        )]
        worktree: Option<PathBuf>,
        #[serde(skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
    },
    /// A launch answered a dialog of the agent's as the config says (the
    /// agent records it: a folder trusted, a key approved).
    Answered {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        session: String,
        dialog: String,
        /// The option picked (`choose`), or the keys sent (`answer`).
        option: String,
    },
    /// `submit`: a task landed in an inbox.
    Submitted {
        #[serde(with = "json_path")]
        task: PathBuf,
        #[serde(with = "json_path")]
        project: PathBuf,
        priority: Priority,
    },
}

impl Event {
    pub(super) fn level(&self) -> Level {
        match self {
            Event::Dispatched { .. }
            | Event::Planned { .. }
            | Event::Waiting { .. }
            | Event::Recovered { .. }
            | Event::Idle { .. }
            | Event::Received { .. }
            | Event::Done { .. }
            | Event::Submitted { .. }
            | Event::Cancelled { .. }
            | Event::Requeued { .. }
            | Event::Paused { .. }
            | Event::Resumed { .. }
            | Event::Released { .. }
            | Event::Answered { .. }
            | Event::Pruned { .. } => Level::Info,
            Event::Rejected { .. }
            | Event::Skipped { .. }
            | Event::Ended { .. }
            | Event::Held { .. }
            | Event::Limited { .. } => Level::Warning,
            Event::Failed { .. } => Level::Error,
        }
    }

    pub(super) fn human(&self) -> String {
        match self {
            Event::Dispatched {
                session,
                task,
                priority,
                model,
                ..
            } => {
                format!(
                    "dispatched {} to {session} ({priority}, model {model})",
                    task.display()
                )
            }
            Event::Waiting { task, reason } => {
                format!("{} would wait: {reason}", task.display())
            }
            Event::Planned {
                session,
                task,
                priority,
                model,
                ..
            } => {
                format!(
                    "would dispatch {} to {session} ({priority}, model {model})",
                    task.display()
                )
            }
            Event::Rejected { task, reason } => format!("rejected {}: {reason}", task.display()),
            Event::Recovered { task, reason, .. } => {
                format!("recovered {}: {reason}", task.display())
            }
            Event::Failed { task, reason, .. } => format!("failed {}: {reason}", task.display()),
            Event::Skipped { task, reason } => format!("skipped {}: {reason}", task.display()),
            Event::Limited {
                account,
                until,
                reason,
                session,
                task,
            } => {
                let back = task
                    .as_ref()
                    .map(|t| format!("; {} is back in its inbox", t.display()))
                    .unwrap_or_default();
                format!(
                    "account {account} hit its usage limit in {session} ({reason}); \
                     no task goes to it until {until}{back}"
                )
            }
            Event::Held {
                account,
                until,
                window,
                used_percentage,
            } => format!(
                "account {account} is held: {used_percentage}% of its {} usage; no new task \
                 goes to it until {until}",
                window.replace('_', "-")
            ),
            Event::Released { account } => {
                format!("account {account} is no longer held; it takes tasks again")
            }
            Event::Received { task, session, .. } => {
                format!("{session} received {}", task.display())
            }
            Event::Done {
                task,
                session,
                branch,
                ..
            } => {
                let on = branch
                    .as_ref()
                    .map(|b| format!(" (branch {b})"))
                    .unwrap_or_default();
                format!("{session} finished {}{on}", task.display())
            }
            Event::Pruned {
                task,
                from,
                worktree,
                branch,
            } => match (task, from, worktree) {
                (Some(task), Some(from), _) => {
                    format!("archived {} as {}", from.display(), task.display())
                }
                (_, _, Some(w)) => format!(
                    "removed worktree {} (branch {}, merged)",
                    w.display(),
                    branch.as_deref().unwrap_or("?")
                ),
                _ => "pruned".to_string(),
            },
            Event::Ended {
                task,
                reason,
                session,
            } => format!("{session} ended {}: {reason}", task.display()),
            Event::Idle {
                session,
                task: Some(task),
            } => format!("{session} is idle; it finished {}", task.display()),
            Event::Idle {
                session,
                task: None,
            } => format!("{session} is idle"),
            Event::Cancelled { task, reason, .. } => {
                format!("cancelled {}: {reason}", task.display())
            }
            Event::Requeued { task, from } => {
                format!("requeued {} as {}", from.display(), task.display())
            }
            Event::Paused {
                pools,
                sessions,
                projects,
            } => format!("paused {}", selection(pools, sessions, projects)),
            Event::Resumed {
                pools,
                sessions,
                projects,
            } => format!("resumed {}", selection(pools, sessions, projects)),
            Event::Submitted { task, priority, .. } => {
                format!("submitted {} ({priority})", task.display())
            }
            Event::Answered {
                task,
                session,
                dialog,
                option,
            } => format!(
                "{session}: answered the agent's {dialog} dialog with `{option}` (launching {})",
                task.display()
            ),
        }
    }

    /// Its name in the history (`"event"`): `done`, `failed`, …
    pub fn name(&self) -> &'static str {
        match self {
            Event::Dispatched { .. } => "dispatched",
            Event::Planned { .. } => "planned",
            Event::Waiting { .. } => "waiting",
            Event::Rejected { .. } => "rejected",
            Event::Recovered { .. } => "recovered",
            Event::Failed { .. } => "failed",
            Event::Skipped { .. } => "skipped",
            Event::Limited { .. } => "limited",
            Event::Ended { .. } => "ended",
            Event::Received { .. } => "received",
            Event::Done { .. } => "done",
            Event::Idle { .. } => "idle",
            Event::Submitted { .. } => "submitted",
            Event::Pruned { .. } => "pruned",
            Event::Answered { .. } => "answered",
            Event::Held { .. } => "held",
            Event::Released { .. } => "released",
            Event::Cancelled { .. } => "cancelled",
            Event::Requeued { .. } => "requeued",
            Event::Paused { .. } => "paused",
            Event::Resumed { .. } => "resumed",
        }
    }

    /// Whether the history journal keeps it: everything that happened, not
    /// what `scan --dry-run` would do.
    pub(super) fn journaled(&self) -> bool {
        !matches!(self, Event::Planned { .. } | Event::Waiting { .. })
    }
}

/// `pool a, session s, project /p` for a pause's human line.
fn selection(pools: &[String], sessions: &[String], projects: &[String]) -> String {
    let parts: Vec<String> = [
        ("pool", pools),
        ("session", sessions),
        ("project", projects),
    ]
    .iter()
    .flat_map(|(kind, names)| names.iter().map(move |n| format!("{kind} {n}")))
    .collect();
    if parts.is_empty() {
        "nothing (it was already so)".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
impl Event {
    /// A `dispatched` event as tests of its JSON use it.
    pub(crate) fn example_dispatched() -> Event {
        Event::Dispatched {
            session: "ccl-auto-11".into(),
            task: "/p/.agent-queue/inbox/x.md.dispatched".into(),
            project: "/p".into(),
            priority: Priority::High,
            model: "sonnet".into(),
            worktree: None,
            branch: None,
        }
    }
}
