//! Projects, their inboxes and the renames that move a task through its life:
//! `x.md` (pending) → `x.md.dispatched` (claimed) → back to `x.md` when a
//! launch fails, or `x.md.rejected` when it cannot be parsed. Renames never
//! replace an existing file: a task name used again gets a numbered name
//! (`x.md.2.dispatched`) so the older record is kept. Names are handled as
//! bytes: a file name need not be UTF-8, and a rename must keep it as it is.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::Config;
use crate::queue::quiet::Stamp;

pub const INBOX: &str = ".agent-queue/inbox";
pub const STAGING: &str = ".agent-queue/tmp";

pub fn inbox_of(project: &Path) -> PathBuf {
    project.join(INBOX)
}

/// Every project: explicit paths and dedicated projects first, then every
/// folder under a root that holds an inbox. Paths are made absolute, since
/// they are typed into a shell that may sit in any folder.
pub fn projects(config: &Config) -> Vec<PathBuf> {
    stamped_projects(config)
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

/// `projects`, each with its inbox's `stat` when the search took one (a
/// reader of the inbox then needs none of its own).
pub fn stamped_projects(config: &Config) -> Vec<(PathBuf, Option<Stamp>)> {
    let mut out: Vec<(PathBuf, Option<Stamp>)> = Vec::new();
    // A set beside the list: with a thousand projects, `out.contains` made
    // the scan quadratic (half its time went into comparing paths).
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut add = |p: PathBuf, stamp: Option<Stamp>| {
        let p = std::path::absolute(&p).unwrap_or(p);
        if seen.insert(p.clone()) {
            out.push((p, stamp));
        }
    };
    for p in config.explicit_projects() {
        add(p, None);
    }
    for root in &config.projects.roots {
        for (p, stamp) in walk_root(root, config.projects.max_depth) {
            add(p, Some(stamp));
        }
    }
    out
}

/// Folders never searched for projects: they are big and never hold one.
fn is_pruned(name: &[u8]) -> bool {
    name.first() == Some(&b'.') || name == b"node_modules" || name == b"target"
}

/// The projects under `root`, the root itself included, not looking deeper
/// than `max_depth` levels nor into hidden folders, `node_modules` or
/// `target`. A project does not end the search: projects nest (a monorepo
/// and its packages), and a root often holds an inbox of its own (a path
/// unit with `MakeDirectory=yes` on it creates one), which must not hide
/// every project under it.
///
/// Each folder above `max_depth` is read once, and its listing says both
/// which subfolders to search and whether it is a project (it holds
/// `.agent-queue`); a folder at `max_depth` is not read at all, one `stat`
/// of its inbox says whether it is a project. (A general walker opens the
/// folders at its last level too, and `.agent-queue` before it is pruned:
/// twice the system calls, for nothing.)
pub fn walk_root(root: &Path, max_depth: usize) -> Vec<(PathBuf, Stamp)> {
    let mut found = Vec::new();
    if max_depth == 0 {
        project_at(root.to_path_buf(), &mut found);
        return found;
    }
    walk(root, 0, max_depth, &mut found);
    found
}

/// Adds `dir` when it holds an inbox, with the inbox's `stat`.
fn project_at(dir: PathBuf, found: &mut Vec<(PathBuf, Stamp)>) {
    if let Some(stamp) = Stamp::of(&dir.join(INBOX)) {
        found.push((dir, stamp));
    }
}

/// Searches `dir`, which sits `depth` (< `max_depth`) levels under its root.
fn walk(dir: &Path, depth: usize, max_depth: usize, found: &mut Vec<(PathBuf, Stamp)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut marked = false;
    let mut below = Vec::new();
    for entry in entries.flatten() {
        // The listing's own file type: a symlink is one, never followed.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = entry.file_name();
        if name == ".agent-queue" {
            marked = true;
        } else if !is_pruned(name.as_bytes()) {
            below.push(entry.path());
        }
    }
    if marked {
        project_at(dir.to_path_buf(), found);
    }
    for sub in below {
        if depth + 1 < max_depth {
            walk(&sub, depth + 1, max_depth, found);
        } else {
            project_at(sub, found);
        }
    }
}

/// The project a task file belongs to: `<project>/.agent-queue/inbox/<name>`.
pub fn project_of(task: &Path) -> Option<PathBuf> {
    let inbox = task.parent()?;
    let dot = inbox.parent()?;
    (inbox.file_name()? == "inbox" && dot.file_name()? == ".agent-queue")
        .then(|| dot.parent().map(Path::to_path_buf))?
}

/// A name that is a pending task: ends in `.md`, not hidden.
pub fn is_task_name(name: &[u8]) -> bool {
    name.len() > 3 && name.ends_with(b".md") && name[0] != b'.'
}

/// An inbox entry that looks like a task, before it is read.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub mtime: SystemTime,
    pub meta: std::fs::Metadata,
}

/// What an inbox holds, as far as names and file types tell.
#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<Entry>,
    /// Names that look like tasks but are not regular files, with why.
    pub skipped: Vec<(PathBuf, String)>,
}

pub fn list(inbox: &Path) -> io::Result<Listing> {
    let mut listing = Listing::default();
    for dirent in std::fs::read_dir(inbox)? {
        let dirent = dirent?;
        let name = dirent.file_name();
        if !is_task_name(name.as_bytes()) {
            continue;
        }
        let path = dirent.path();
        // symlink_metadata: a symlink is reported as one, never followed.
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                listing.skipped.push((path, e.to_string()));
                continue;
            }
        };
        let ft = meta.file_type();
        if !ft.is_file() {
            listing
                .skipped
                .push((path, format!("not a regular file but {}", kind(&ft))));
            continue;
        }
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        listing.entries.push(Entry { path, mtime, meta });
    }
    Ok(listing)
}

fn kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_symlink() {
        "a symlink (never followed)"
    } else if ft.is_dir() {
        "a folder"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a device"
    }
}

/// Renames without ever replacing `to`: `EEXIST` when it exists.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        // A file system without RENAME_NOREPLACE: a hard link also refuses to
        // replace, and the source goes once the new name is in place.
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
            std::fs::hard_link(from, to)?;
            std::fs::remove_file(from)
        }
        Err(e) => Err(e.into()),
    }
}

/// Renames `from` into `dir` as `<stem><suffix>`, or `<stem>.N<suffix>` for
/// the first N from 2 that is free.
fn rename_unique(from: &Path, dir: &Path, stem: &OsStr, suffix: &str) -> io::Result<PathBuf> {
    for n in 1..10_000u32 {
        let mut name = OsString::from(stem);
        if n > 1 {
            name.push(format!(".{n}"));
        }
        name.push(suffix);
        let to = dir.join(name);
        match rename_noreplace(from, &to) {
            Ok(()) => return Ok(to),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "no free name for {}{suffix} in {}",
        Path::new(stem).display(),
        dir.display()
    )))
}

fn split(path: &Path) -> io::Result<(&Path, &OsStr)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} has no file name", path.display())))?;
    Ok((dir, name))
}

/// Claims a pending task. `Ok(None)` when another invocation renamed it first.
pub fn claim(task: &Path) -> io::Result<Option<PathBuf>> {
    let (dir, name) = split(task)?;
    match rename_unique(task, dir, name, ".dispatched") {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The task's name before it was claimed or rejected: `x.md` for
/// `x.md.dispatched` and `x.md.3.dispatched`.
pub fn original_name(name: &str) -> &str {
    // Only ASCII is cut off, so the rest is still a `str`.
    &name[..original_bytes(name.as_bytes()).len()]
}

/// [`original_name`] for a name that need not be UTF-8.
pub fn original_bytes(name: &[u8]) -> &[u8] {
    let base = name
        .strip_suffix(b".dispatched")
        .or_else(|| name.strip_suffix(b".rejected"))
        .or_else(|| name.strip_suffix(b".cancelled"))
        .unwrap_or(name);
    let Some(dot) = base.iter().rposition(|&b| b == b'.') else {
        return base;
    };
    let (head, n) = (&base[..dot], &base[dot + 1..]);
    if head.ends_with(b".md") && !n.is_empty() && n.iter().all(u8::is_ascii_digit) {
        head
    } else {
        base
    }
}

/// Puts a claimed task back in its inbox, under its own name or, when a new
/// task took that name meanwhile, `x.2.md`.
pub fn unclaim(dispatched: &Path) -> io::Result<PathBuf> {
    let (dir, name) = split(dispatched)?;
    let original = original_bytes(name.as_bytes());
    let stem = original.strip_suffix(b".md").unwrap_or(original);
    rename_unique(dispatched, dir, OsStr::from_bytes(stem), ".md")
}

/// Renames a pending or claimed task to `<name>.md.cancelled` (numbered
/// when that name is taken). `NotFound` when another invocation moved it.
pub fn cancel(task: &Path) -> io::Result<PathBuf> {
    let (dir, name) = split(task)?;
    rename_unique(
        task,
        dir,
        OsStr::from_bytes(original_bytes(name.as_bytes())),
        ".cancelled",
    )
}

/// Moves a finished task file into `archive` (made when missing) under its
/// own name, or `<name>.N` when that is taken: nothing is overwritten.
pub fn archive(file: &Path, archive: &Path) -> io::Result<PathBuf> {
    let (_, name) = split(file)?;
    crate::store::private::create_dir(archive)
        .map_err(|e| io::Error::new(e.kind(), format!("making {}: {e}", archive.display())))?;
    rename_unique(file, archive, name, "")
}

/// Renames a task that cannot be parsed to `.rejected`.
pub fn reject(task: &Path) -> io::Result<PathBuf> {
    let (dir, name) = split(task)?;
    rename_unique(task, dir, name, ".rejected")
}

#[cfg(test)]
mod tests;
