//! `prune [--older-than DURATION] [--dry-run]`: the inboxes' housekeeping.
//! Finished task files (`.dispatched` ones no session holds any more,
//! `.rejected`, `.cancelled`) older than DURATION move into their project's
//! `.agent-queue/archive/`, names kept and nothing overwritten; and the
//! worktrees of finished tasks go when nothing in them would be lost (their
//! branch merged into the project's `HEAD`, their tree clean). The others
//! are kept and named, for the operator to review.
//!
//! A file's age is counted from its last rename (its ctime): a `.dispatched`
//! file keeps the mtime its writer gave it, but got its suffix when claimed.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::{Ctx, Run};
use crate::cli::PruneArgs;
use crate::clock::now;
use crate::error::{bad_input, Outcome};
use crate::output::report::{self, Event};
use crate::queue::{inbox, worktree};
use crate::store::state::{State, Store};

/// Where a project's finished task files go.
pub const ARCHIVE: &str = ".agent-queue/archive";

/// What prune would do, for `--dry-run`.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Plan<'a> {
    WouldArchive {
        #[serde(serialize_with = "crate::paths::json_path::serialize")]
        task: &'a Path,
    },
    WouldRemoveWorktree {
        #[serde(serialize_with = "crate::paths::json_path::serialize")]
        worktree: &'a Path,
        branch: &'a str,
    },
    KeptWorktree {
        #[serde(serialize_with = "crate::paths::json_path::serialize")]
        worktree: &'a Path,
        branch: Option<&'a str>,
        reason: String,
    },
}

impl Plan<'_> {
    fn show(&self) {
        if report::json() {
            report::print_json(self);
            return;
        }
        let line = match self {
            Plan::WouldArchive { task } => format!("would archive {}", task.display()),
            Plan::WouldRemoveWorktree { worktree, branch } => {
                format!(
                    "would remove worktree {} (branch {branch})",
                    worktree.display()
                )
            }
            Plan::KeptWorktree {
                worktree,
                branch,
                reason,
            } => format!(
                "keeps worktree {} (branch {}): {reason}",
                worktree.display(),
                branch.unwrap_or("none")
            ),
        };
        report::print(&format!("{line}\n"));
    }
}

impl Run for PruneArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        crate::store::journal::open(&config);
        let older_than = crate::config::parse_duration(&self.older_than).ok_or_else(|| {
            bad_input(format!(
                "--older-than {}: not a duration (write e.g. 7d, 12h, 30m)",
                self.older_than
            ))
        })?;
        let projects = inbox::projects(&config);
        // Listed before the state is read: a worktree made after the
        // listing (by a claim) is not in it, so it cannot be taken for a
        // finished one.
        let mut worktrees = Vec::new();
        for project in &projects {
            match worktree::list(project) {
                Ok(list) => worktrees.extend(list),
                Err(e) => report::warn(format!("{e:#}")),
            }
        }
        let store = Store::new(config.state_file.clone());
        let held_worktrees: HashSet<PathBuf> = {
            // Under the lock: a claim renames and records in one step, so a
            // `.dispatched` file no session holds now is finished.
            let locked = store.lock()?;
            for project in &projects {
                self.archive(project, &locked.state, older_than);
            }
            locked
                .state
                .sessions
                .values()
                .filter_map(|s| s.worktree.as_ref())
                .map(|w| canonical(&w.path))
                .collect()
        };
        for (path, branch) in &worktrees {
            if held_worktrees.contains(&canonical(path)) {
                continue;
            }
            self.worktree(path, branch.as_deref());
        }
        Ok(Outcome::Done)
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

impl PruneArgs {
    /// Archives the finished task files of `project` older than `older_than`.
    fn archive(&self, project: &Path, state: &State, older_than: Duration) {
        let inbox_dir = inbox::inbox_of(project);
        let entries = match std::fs::read_dir(&inbox_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                report::warn(format!(
                    "reading {}: {e}; nothing archived there",
                    inbox_dir.display()
                ));
                return;
            }
        };
        let now = now();
        for entry in entries.flatten() {
            let path = entry.path();
            // The one rule of what is finished, as `status` and `history` say.
            if crate::queue::finished::finished(&path, state).is_none() {
                continue;
            }
            // Never followed: a symlink is not a task file.
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let age = now.saturating_sub(u64::try_from(meta.ctime()).unwrap_or(0));
            if !meta.is_file() || age < older_than.as_secs() {
                continue;
            }
            if self.dry_run {
                Plan::WouldArchive { task: &path }.show();
                continue;
            }
            match inbox::archive(&path, &project.join(ARCHIVE)) {
                Ok(to) => report::event(&Event::Pruned {
                    task: Some(to),
                    from: Some(path),
                    worktree: None,
                    branch: None,
                }),
                Err(e) => report::warn(format!("archiving {}: {e}", path.display())),
            }
        }
    }

    /// Removes a finished task's worktree when nothing in it would be lost;
    /// otherwise names it and why it stays.
    fn worktree(&self, path: &Path, branch: Option<&str>) {
        if !path.exists() {
            return Plan::KeptWorktree {
                worktree: path,
                branch,
                reason: "its folder is gone; `git worktree prune` in the project forgets it".into(),
            }
            .show_or_warn();
        }
        let Some(branch) = branch else {
            return Plan::KeptWorktree {
                worktree: path,
                branch: None,
                reason: "it is on no branch (detached HEAD)".into(),
            }
            .show_or_warn();
        };
        let checked = if self.dry_run {
            worktree::removable(path, branch)
        } else {
            worktree::discard(path, branch)
        };
        match checked {
            Ok(Ok(())) if self.dry_run => Plan::WouldRemoveWorktree {
                worktree: path,
                branch,
            }
            .show(),
            Ok(Ok(())) => report::event(&Event::Pruned {
                task: None,
                from: None,
                worktree: Some(path.to_path_buf()),
                branch: Some(branch.to_string()),
            }),
            Ok(Err(kept)) => Plan::KeptWorktree {
                worktree: path,
                branch: Some(branch),
                reason: kept.to_string(),
            }
            .show_or_warn(),
            Err(e) => report::warn(format!("worktree {}: {e:#}", path.display())),
        }
    }
}

impl Plan<'_> {
    /// A kept worktree is part of the plan, and worth a line (not an
    /// event) when pruning for real.
    fn show_or_warn(&self) {
        match self {
            Plan::KeptWorktree {
                worktree,
                branch,
                reason,
            } if !report::json() => report::info(format!(
                "kept worktree {} (branch {}): {reason}; review it, merge it, or remove it with \
                 `git worktree remove` and `git branch -D`",
                worktree.display(),
                branch.unwrap_or("none")
            )),
            _ => self.show(),
        }
    }
}
