//! A task of its own in a git worktree: with `isolation = "worktree"`, tasks
//! of one project that run at once do not edit the same files, run the same
//! tests or commit over each other, and the operator's own checkout (where a
//! dedicated session may be working) is never touched. The worktree and its
//! branch `agent-queue/<task name without .md>` are made right after the
//! task's claim, under the state's lock, so two racing scans never make two
//! for one task; they are removed only when nothing in them is lost (no
//! change left in the tree, no commit that the project's `HEAD` lacks).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, Context};
use serde::{Deserialize, Serialize};

/// Where a project's task worktrees live.
pub const WORKTREES: &str = ".agent-queue/worktrees";

/// The prefix of every branch agent-queue makes.
pub const BRANCH_PREFIX: &str = "agent-queue/";

/// Where a task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// In the project's own folder, beside every other task of it.
    #[default]
    None,
    /// In a git worktree of its own, on a new branch.
    Worktree,
}

impl Isolation {
    pub fn parse(s: &str) -> Option<Isolation> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Isolation::None),
            "worktree" => Some(Isolation::Worktree),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::None => "none",
            Isolation::Worktree => "worktree",
        }
    }
}

/// A task's worktree, as the state and the history record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worktree {
    /// `<project>/.agent-queue/worktrees/<name>`.
    #[serde(with = "crate::paths::json_path")]
    pub path: PathBuf,
    pub branch: String,
    /// Where the agent starts: the project's own place in the worktree (a
    /// project may be a folder inside its repository).
    #[serde(with = "crate::paths::json_path")]
    pub workdir: PathBuf,
}

/// A task's isolation: its header's, else its projects'.
pub fn isolation(config: &crate::config::Config, task: &crate::queue::task::Task) -> Isolation {
    task.isolation.unwrap_or(config.projects.isolation)
}

/// The part of a branch name made from a task's file name: `.md` and any
/// claim suffix dropped, and every character git does not allow in a branch
/// name (`git check-ref-format`) made a `-`.
pub fn branch_part(task_name: &str) -> String {
    let name = crate::queue::inbox::original_name(task_name);
    let stem = name.strip_suffix(".md").unwrap_or(name);
    let mut out: String = stem
        .chars()
        .map(|c| {
            if c.is_control() || " ~^:?*[\\\u{7f}".contains(c) {
                '-'
            } else {
                c
            }
        })
        .collect();
    while out.contains("..") {
        out = out.replace("..", "-");
    }
    out = out.replace("@{", "-{").replace('/', "-");
    let out = out.trim_matches(|c| c == '.' || c == '-').to_string();
    let out = out.strip_suffix(".lock").map(str::to_string).unwrap_or(out);
    if out.is_empty() {
        "task".to_string()
    } else {
        out
    }
}

/// Runs git in `dir`; its output, or an error quoting what it said.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<Result<String, String>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow!("git is not installed (`git` was not found on PATH)")
            } else {
                anyhow!("running git: {e}")
            }
        })?;
    if out.status.success() {
        Ok(Ok(String::from_utf8_lossy(&out.stdout).into_owned()))
    } else {
        Ok(Err(String::from_utf8_lossy(&out.stderr).trim().to_string()))
    }
}

/// The project's place in its repository (`sub/dir/`, empty at the top),
/// or an error naming the project when it is in none.
fn prefix_in_repository(project: &Path) -> anyhow::Result<String> {
    match git(project, &["rev-parse", "--show-prefix"])? {
        Ok(out) => Ok(out.trim().to_string()),
        Err(why) => Err(anyhow!(
            "project {} is not in a git repository, and its tasks run in worktrees \
             (isolation = \"worktree\"); make it one (`git init`), or set isolation = \"none\" \
             ({why})",
            project.display()
        )),
    }
}

/// Checks that `project` can hold task worktrees (exit 2 when not, naming it).
pub fn check(project: &Path) -> anyhow::Result<()> {
    prefix_in_repository(project).map(|_| ())
}

/// Makes the worktree of task `task_name` of `project`, on a new branch from
/// the project's `HEAD`: `agent-queue/<name>`, or `agent-queue/<name>-N`
/// for the first N from 2 whose branch and folder are both free (a task name
/// used again keeps the last task's branch for review).
pub fn create(project: &Path, task_name: &str) -> anyhow::Result<Worktree> {
    let prefix = prefix_in_repository(project)?;
    let dir = project.join(WORKTREES);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // The project's own `git status` does not list the worktrees.
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "*\n").with_context(|| format!("writing {}", ignore.display()))?;
    }
    let base = branch_part(task_name);
    for n in 1..1000u32 {
        let name = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let path = dir.join(&name);
        if path.symlink_metadata().is_ok() {
            continue;
        }
        let branch = format!("{BRANCH_PREFIX}{name}");
        let path_arg = path.to_string_lossy();
        match git(
            project,
            &[
                "worktree", "add", "--quiet", "-b", &branch, &path_arg, "HEAD",
            ],
        )? {
            Ok(_) => {
                return Ok(Worktree {
                    workdir: path.join(&prefix),
                    path,
                    branch,
                })
            }
            Err(why) if why.contains("already exists") => continue,
            Err(why) => {
                return Err(anyhow!(
                    "project {}: `git worktree add` for {task_name} failed: {why}",
                    project.display()
                ))
            }
        }
    }
    Err(anyhow!(
        "project {}: no free worktree name for {task_name} under {}",
        project.display(),
        dir.display()
    ))
}

/// Where a task just claimed runs.
#[derive(Debug)]
pub enum Place {
    /// In its project's folder.
    Project,
    /// In its own worktree.
    Worktree(Worktree),
    /// Its worktree could not be made: the task is back in its inbox.
    Refused,
}

/// Where the task just claimed (`dispatched`) runs, its worktree made when
/// it runs in one; called under the state's lock, right after the claim's
/// rename, which only one invocation wins. When the worktree cannot be
/// made, the task is back in its inbox, said as a `skipped` event naming
/// the project.
pub fn for_claim(
    config: &crate::config::Config,
    pending: &crate::queue::pending::Pending,
    dispatched: &Path,
) -> Place {
    if isolation(config, &pending.task) != Isolation::Worktree {
        return Place::Project;
    }
    match create(&pending.project, &pending.name) {
        Ok(w) => Place::Worktree(w),
        Err(e) => {
            let back = crate::queue::inbox::unclaim(dispatched);
            crate::output::report::event(&crate::output::report::Event::Skipped {
                task: back.as_deref().unwrap_or(dispatched).to_path_buf(),
                reason: match back {
                    Ok(_) => format!("{e:#}; the task stays in its inbox"),
                    Err(be) => format!("{e:#}; and putting it back failed: {be}"),
                },
            });
            Place::Refused
        }
    }
}

/// Why a worktree was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// Its branch has commits the project's `HEAD` does not have.
    Unmerged,
    /// Its tree holds changes or files not committed.
    Changed(String),
    /// git refused for another reason.
    Failed(String),
}

impl std::fmt::Display for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kept::Unmerged => {
                f.write_str("its branch has commits not merged into the project's HEAD")
            }
            Kept::Changed(why) => write!(f, "it holds changes not committed ({why})"),
            Kept::Failed(why) => f.write_str(why),
        }
    }
}

/// The project a worktree under `<project>/.agent-queue/worktrees/` is of.
fn project_of(worktree: &Path) -> Option<&Path> {
    worktree.parent()?.parent()?.parent()
}

/// Whether a worktree may go with nothing lost: its branch is merged into
/// the project's `HEAD` and its tree holds no change, tracked or not.
pub fn removable(worktree: &Path, branch: &str) -> anyhow::Result<Result<(), Kept>> {
    let project = project_of(worktree)
        .ok_or_else(|| anyhow!("{} is no task worktree", worktree.display()))?;
    match git(project, &["merge-base", "--is-ancestor", branch, "HEAD"])? {
        Ok(_) => {}
        Err(why) if why.is_empty() => return Ok(Err(Kept::Unmerged)),
        Err(why) => return Ok(Err(Kept::Failed(why))),
    }
    match git(worktree, &["status", "--porcelain"])? {
        Ok(out) if out.trim().is_empty() => Ok(Ok(())),
        Ok(out) => Ok(Err(Kept::Changed(
            out.lines().take(3).collect::<Vec<_>>().join("; "),
        ))),
        Err(why) => Ok(Err(Kept::Failed(why))),
    }
}

/// Removes a worktree and its branch when [`removable`] says so (and git
/// itself still refuses to remove a changed tree or an unmerged branch).
pub fn discard(worktree: &Path, branch: &str) -> anyhow::Result<Result<(), Kept>> {
    if let Err(kept) = removable(worktree, branch)? {
        return Ok(Err(kept));
    }
    let project = project_of(worktree)
        .ok_or_else(|| anyhow!("{} is no task worktree", worktree.display()))?;
    let path = worktree.to_string_lossy();
    if let Err(why) = git(project, &["worktree", "remove", &path])? {
        return Ok(Err(if why.contains("modified or untracked") {
            Kept::Changed(why)
        } else {
            Kept::Failed(why)
        }));
    }
    if let Err(why) = git(project, &["branch", "-d", "--quiet", branch])? {
        return Ok(Err(Kept::Failed(why)));
    }
    Ok(Ok(()))
}

/// Removes the worktree a task got when the task never reached its agent
/// (it goes back to its inbox, and gets a new one when it is sent again);
/// one with anything in it is kept, and said so.
pub fn forget(worktree: &Worktree) {
    match discard(&worktree.path, &worktree.branch) {
        Ok(Ok(())) => crate::output::report::debug(format!(
            "removed worktree {} (branch {})",
            worktree.path.display(),
            worktree.branch
        )),
        Ok(Err(kept)) => crate::output::report::warn(format!(
            "kept worktree {} (branch {}): {kept}",
            worktree.path.display(),
            worktree.branch
        )),
        Err(e) => crate::output::report::warn(format!(
            "removing worktree {}: {e:#}",
            worktree.path.display()
        )),
    }
}

/// The task worktrees of `project` and their branches, as git lists them.
pub fn list(project: &Path) -> anyhow::Result<Vec<(PathBuf, Option<String>)>> {
    let dir = project.join(WORKTREES);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let out = match git(project, &["worktree", "list", "--porcelain"])? {
        Ok(out) => out,
        Err(why) => return Err(anyhow!("project {}: {why}", project.display())),
    };
    let dir = dir.canonicalize().unwrap_or(dir);
    Ok(parse_list(&out)
        .into_iter()
        .filter(|(p, _)| p.parent() == Some(dir.as_path()))
        .collect())
}

/// `git worktree list --porcelain`: blocks of `worktree <path>`, then
/// `branch refs/heads/<name>` (or `detached`).
fn parse_list(out: &str) -> Vec<(PathBuf, Option<String>)> {
    let mut found: Vec<(PathBuf, Option<String>)> = Vec::new();
    for line in out.lines() {
        if let Some(path) = line.strip_prefix("worktree ") {
            found.push((PathBuf::from(path), None));
        } else if let Some(branch) = line.strip_prefix("branch refs/heads/") {
            if let Some(last) = found.last_mut() {
                last.1 = Some(branch.to_string());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_made_from_task_names() {
        assert_eq!(branch_part("fix-login.md"), "fix-login");
        assert_eq!(branch_part("fix-login.md.dispatched"), "fix-login");
        assert_eq!(branch_part("fix-login.md.3.dispatched"), "fix-login");
        assert_eq!(branch_part("a b:c?.md"), "a-b-c");
        assert_eq!(branch_part("..x..y.md"), "x-y");
        assert_eq!(branch_part("x.lock.md"), "x");
        assert_eq!(branch_part("a/b@{1}.md"), "a-b-{1}");
        assert_eq!(branch_part(".md"), "task");
    }

    #[test]
    fn isolation_reads_any_case() {
        assert_eq!(Isolation::parse("Worktree"), Some(Isolation::Worktree));
        assert_eq!(Isolation::parse("none"), Some(Isolation::None));
        assert_eq!(Isolation::parse("git"), None);
    }

    #[test]
    fn worktree_lists_are_read_with_their_branches() {
        let out = "worktree /p\nHEAD 1\nbranch refs/heads/main\n\n\
                   worktree /p/.agent-queue/worktrees/a\nHEAD 2\nbranch refs/heads/agent-queue/a\n\n\
                   worktree /p/.agent-queue/worktrees/b\nHEAD 3\ndetached\n";
        assert_eq!(
            parse_list(out),
            vec![
                (PathBuf::from("/p"), Some("main".into())),
                (
                    PathBuf::from("/p/.agent-queue/worktrees/a"),
                    Some("agent-queue/a".into())
                ),
                (PathBuf::from("/p/.agent-queue/worktrees/b"), None),
            ]
        );
    }
}
