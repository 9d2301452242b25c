//! The pending tasks of every project, read, checked and put in dispatch
//! order: critical, high, default, low; oldest first within a priority; then
//! by name. Everything that cannot be dispatched is said here, once per scan:
//! files that are not regular, files or folders that others could have
//! written, and files that do not parse (renamed `.rejected` once they have
//! been left alone for a minute, since a writer may still be writing them).
//! A task changed within the last `[projects] settle` is not even read: a
//! writer that pauses between two writes would have its first half sent.

use std::cmp::Ordering;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::clock::format_duration;
use crate::config::Config;
use crate::output::report::{self, Event};
use crate::queue::inbox;
use crate::queue::quiet::{Quiet, Stamp};
use crate::queue::task::{self, ReadError, Task};
use crate::store::security::{self, Refused, Trust};

/// A broken task younger than this may still be being written.
pub const REJECT_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Pending {
    pub path: PathBuf,
    pub project: PathBuf,
    pub name: String,
    pub mtime: SystemTime,
    pub task: Task,
}

/// Dispatch order.
pub fn order(a: &Pending, b: &Pending) -> Ordering {
    (a.task.priority, a.mtime, &a.name, &a.path).cmp(&(b.task.priority, b.mtime, &b.name, &b.path))
}

/// What one project's inbox holds.
#[derive(Debug, Default)]
pub struct ProjectTasks {
    pub project: PathBuf,
    pub pending: Vec<Pending>,
    /// Tasks that wait because of who owns or may write them.
    pub refused: usize,
    /// Tasks that do not parse and are left for a later scan.
    pub broken: usize,
    /// Tasks changed too recently to be whole for sure.
    pub settling: usize,
    /// When the first of those will have settled.
    pub settled_at: Option<SystemTime>,
}

/// When the first settling task of any project will have settled.
pub fn next_settled(projects: &[ProjectTasks]) -> Option<SystemTime> {
    projects.iter().filter_map(|p| p.settled_at).min()
}

/// When a file changed at `mtime` is settled, if it is not yet at `now`. A
/// modification time further in the future than `settle` is a clock's
/// fault, not a writer's, and is no reason to wait.
pub fn settles_at(mtime: SystemTime, now: SystemTime, settle: Duration) -> Option<SystemTime> {
    let at = mtime.checked_add(settle)?;
    let writing = now < at && mtime < now.checked_add(settle)?;
    writing.then_some(at)
}

/// How a reading treats what it finds wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Report problems and rename old broken tasks `.rejected`.
    Act,
    /// As `Act`, in a later pass of the same scan: what the first pass
    /// reported (skipped and refused files) is not said again.
    Rescan,
    /// Report problems, change nothing (`--dry-run`).
    Look,
    /// Say nothing, change nothing (`status`).
    Quiet,
}

/// Reads every project's inbox.
pub fn read_all(config: &Config, trust: &Trust, mode: Mode) -> Vec<ProjectTasks> {
    if matches!(mode, Mode::Act | Mode::Look) {
        // Said on every scan: a typo in a path must not look like an empty inbox.
        for root in &config.projects.roots {
            if let Some(why) = not_a_folder(root) {
                report::warn(format!(
                    "[projects] roots: {} {why}: nothing under it is scanned",
                    root.display()
                ));
            }
        }
        for path in &config.projects.paths {
            if let Some(why) = not_a_folder(path) {
                report::warn(format!(
                    "[projects] paths: {} {why}: it is not scanned",
                    path.display()
                ));
            }
        }
        for d in &config.dedicated {
            let Some(project) = &d.project else { continue };
            if let Some(why) = not_a_folder(project) {
                report::warn(format!(
                    "[[dedicated]] {}: project {} {why}: it is not scanned",
                    d.session,
                    project.display()
                ));
            }
        }
    }
    let mut quiet = Quiet::load(&config.state_file);
    let all = inbox::stamped_projects(config)
        .into_iter()
        .map(|(p, stamp)| {
            let stamp = stamp.or_else(|| Stamp::of(&inbox::inbox_of(&p)));
            read_project(&p, stamp, config.projects.settle, trust, mode, &mut quiet)
        })
        .collect();
    quiet.save();
    all
}

fn not_a_folder(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => None,
        Ok(_) => Some("is not a folder".into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("does not exist".into()),
        Err(e) => Some(format!("cannot be read ({e})")),
    }
}

/// All pending tasks of all projects, in dispatch order.
pub fn sorted(projects: Vec<ProjectTasks>) -> Vec<Pending> {
    let mut all: Vec<Pending> = projects.into_iter().flat_map(|p| p.pending).collect();
    all.sort_by(order);
    all
}

fn say(mode: Mode, e: Event) {
    if mode != Mode::Quiet && mode != Mode::Rescan {
        report::event(&e);
    }
}

/// Reads one project's inbox, unless `quiet` knows it still holds no task
/// (`stamp`: the inbox's `stat`, taken before).
pub fn read_project(
    project: &Path,
    stamp: Option<Stamp>,
    settle: Duration,
    trust: &Trust,
    mode: Mode,
    quiet: &mut Quiet,
) -> ProjectTasks {
    let mut out = ProjectTasks {
        project: project.to_path_buf(),
        ..ProjectTasks::default()
    };
    let inbox = inbox::inbox_of(project);
    if quiet.still_empty(&inbox, stamp) {
        return out;
    }
    let listed_at = SystemTime::now();
    let listing = inbox::list(&inbox);
    if let Ok(l) = &listing {
        quiet.note(
            &inbox,
            stamp,
            listed_at,
            l.entries.is_empty() && l.skipped.is_empty(),
        );
    }
    let listing = match listing {
        Ok(l) => l,
        // Not a folder at all: said once per scan by `read_all`.
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.raw_os_error() == Some(libc::ENOTDIR) =>
        {
            if mode != Mode::Quiet {
                report::debug(format!(
                    "project {} has no inbox {}",
                    project.display(),
                    inbox.display()
                ));
            }
            return out;
        }
        Err(e) => {
            if mode != Mode::Quiet {
                report::warn(format!("reading inbox {}: {e}", inbox.display()));
            }
            return out;
        }
    };
    for (path, reason) in listing.skipped {
        say(mode, Event::Skipped { task: path, reason });
    }
    if listing.entries.is_empty() {
        return out;
    }
    let refused = folder_refusal(project, &inbox, trust);
    let why = (!refused.is_empty())
        .then(|| security::joined(&refused))
        .or_else(|| {
            // The launch types `cd <project>` as text: a path that is not UTF-8
            // would send the agent into another folder, or none.
            project.to_str().is_none().then(|| {
                "the project's path is not UTF-8, and the agent could not be started in it"
                    .to_string()
            })
        });
    if let Some(why) = why {
        out.refused = listing.entries.len();
        if mode != Mode::Quiet && mode != Mode::Rescan {
            report::warn(format!(
                "{} task(s) in {} wait: {why}",
                out.refused,
                inbox.display()
            ));
        }
        return out;
    }
    let now = SystemTime::now();
    for entry in listing.entries {
        if let Some(at) = settles_at(entry.mtime, now, settle) {
            out.settling += 1;
            out.settled_at = Some(out.settled_at.map_or(at, |t| t.min(at)));
            if mode != Mode::Quiet {
                report::debug(format!(
                    "{} changed less than {} ago: left to settle (its writer may not be done)",
                    entry.path.display(),
                    format_duration(settle)
                ));
            }
            continue;
        }
        match read_file(project, &entry.path, &entry.meta, trust) {
            Ok(pending) => out.pending.push(pending),
            Err(Refusal::Untrusted(why)) => {
                out.refused += 1;
                say(
                    mode,
                    Event::Skipped {
                        task: entry.path,
                        reason: why,
                    },
                );
            }
            Err(Refusal::NotATask(why)) => say(
                mode,
                Event::Skipped {
                    task: entry.path,
                    reason: why,
                },
            ),
            Err(Refusal::Broken(ReadError::Io(e))) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(Refusal::Broken(ReadError::Io(e))) => say(
                mode,
                Event::Skipped {
                    task: entry.path,
                    reason: e.to_string(),
                },
            ),
            Err(Refusal::Broken(ReadError::Invalid(e))) => {
                let age = now.duration_since(entry.mtime).unwrap_or_default();
                out.broken += 1;
                handle_broken(&entry.path, &e.to_string(), age, mode);
            }
        }
    }
    out
}

fn handle_broken(path: &Path, reason: &str, age: Duration, mode: Mode) {
    if age < REJECT_AFTER || mode == Mode::Quiet {
        // Said by every scan, not only with -v: a task that does not parse
        // must not look like one that was never written.
        let left = REJECT_AFTER.saturating_sub(age).max(Duration::from_secs(1));
        let line = format!(
            "{} does not parse ({reason}); it is left alone for now (its writer may not be \
             done) and the first scan {} from now renames it .rejected unless it is fixed",
            path.display(),
            format_duration(left)
        );
        match mode {
            Mode::Act | Mode::Look => report::warn(line),
            Mode::Rescan => report::debug(line),
            Mode::Quiet => {}
        }
        return;
    }
    if mode == Mode::Look {
        report::warn(format!("would reject {}: {reason}", path.display()));
        return;
    }
    match inbox::reject(path) {
        Ok(to) => report::event(&Event::Rejected {
            task: to,
            reason: reason.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => report::warn(format!(
            "{} does not parse ({reason}) and could not be renamed .rejected: {e}",
            path.display()
        )),
    }
}

/// Why a task file cannot be dispatched.
#[derive(Debug)]
pub enum Refusal {
    /// Not a pending task (its name, its place, its file type).
    NotATask(String),
    /// Another user could have written it, or a folder above it.
    Untrusted(String),
    /// It cannot be read, or does not parse.
    Broken(ReadError),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotATask(why) | Refusal::Untrusted(why) => f.write_str(why),
            Refusal::Broken(e) => write!(f, "{e}"),
        }
    }
}

/// One task file of `project`, trusted and read: what scan does for each
/// file of an inbox whose folders it checked.
fn read_file(
    project: &Path,
    path: &Path,
    meta: &std::fs::Metadata,
    trust: &Trust,
) -> Result<Pending, Refusal> {
    if !meta.file_type().is_file() {
        return Err(Refusal::NotATask(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    if let Some(why) = trust.refuse_file(path, meta) {
        return Err(Refusal::Untrusted(why.to_string()));
    }
    let task = task::read(path).map_err(Refusal::Broken)?;
    Ok(Pending {
        path: path.to_path_buf(),
        project: project.to_path_buf(),
        name: path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
        mtime: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        task,
    })
}

/// A task file named by path (`dispatch`, `submit`), held to everything a
/// scan holds it to: a pending task's name, in a project's inbox, a regular
/// file, and trusted with every folder from the inbox up to the project.
pub fn read_named(path: &Path, trust: &Trust) -> Result<Pending, Refusal> {
    let name = path.file_name().unwrap_or_default();
    if !inbox::is_task_name(name.as_bytes()) {
        return Err(Refusal::NotATask(format!(
            "{}: not a pending task (its name must end in .md and not start with .)",
            path.display()
        )));
    }
    let project = inbox::project_of(path).ok_or_else(|| {
        Refusal::NotATask(format!(
            "{}: not in a project's .agent-queue/inbox/ folder",
            path.display()
        ))
    })?;
    let meta = std::fs::symlink_metadata(path).map_err(|e| Refusal::Broken(ReadError::Io(e)))?;
    let refused = folder_refusal(&project, &inbox::inbox_of(&project), trust);
    if !refused.is_empty() {
        return Err(Refusal::Untrusted(security::joined(&refused)));
    }
    read_file(&project, path, &meta, trust)
}

/// Why the inbox, or a folder between it and the project, is not trusted:
/// every such folder at once, so that one round of fixes is enough.
/// Empty when every one is trusted.
pub fn folder_refusal(project: &Path, inbox: &Path, trust: &Trust) -> Vec<Refused> {
    let mut refused = Vec::new();
    for dir in inbox.ancestors() {
        match std::fs::metadata(dir) {
            Ok(meta) => refused.extend(trust.refuse_folder(dir, &meta)),
            Err(e) => refused.push(Refused::unfixable(format!("{}: {e}", dir.display()))),
        }
        if dir == project {
            break;
        }
    }
    refused
}

#[cfg(test)]
mod tests;
