//! Finding a task the operator names: a path under any of its names
//! (`x.md`, `x.md.dispatched`, `x.md.2.dispatched`, `x.md.cancelled`), or a
//! file name alone, looked for in every inbox. `history`, `cancel` and
//! `requeue` take tasks the same way.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::queue::finished::{self, TaskFile};
use crate::queue::inbox;
use crate::store::state::State;

/// `x.md.2.dispatched` and `x.md.rejected` are all `x.md`.
#[derive(Debug, Clone)]
pub enum TaskMatch {
    /// In this inbox.
    Path { dir: PathBuf, name: Vec<u8> },
    /// In any inbox.
    Name(Vec<u8>),
}

fn original(p: &Path) -> Vec<u8> {
    inbox::original_bytes(p.file_name().unwrap_or_default().as_bytes()).to_vec()
}

pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

impl TaskMatch {
    pub fn new(task: &Path) -> TaskMatch {
        match task.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => {
                let task = absolute(task);
                TaskMatch::Path {
                    dir: task.parent().unwrap_or(Path::new("/")).to_path_buf(),
                    name: original(&task),
                }
            }
            _ => TaskMatch::Name(original(task)),
        }
    }

    pub fn matches(&self, task: &Path) -> bool {
        let name = inbox::original_bytes(task.file_name().unwrap_or_default().as_bytes());
        match self {
            TaskMatch::Path { dir, name: n } => task.parent() == Some(dir) && name == &n[..],
            TaskMatch::Name(n) => name == &n[..],
        }
    }
}

/// Every task file that `named` names, with where it stands: the exact file
/// when a path to an existing file was given, else every file of its inbox
/// (or, for a bare name, of every inbox the config covers) under any of its
/// names.
pub fn find(config: &Config, state: &State, named: &Path) -> Vec<(PathBuf, TaskFile)> {
    let m = TaskMatch::new(named);
    let exact = absolute(named);
    if matches!(m, TaskMatch::Path { .. }) && std::fs::symlink_metadata(&exact).is_ok() {
        let file = finished::classify(&exact, state);
        return vec![(exact, file)];
    }
    let inboxes: Vec<PathBuf> = match &m {
        TaskMatch::Path { dir, .. } => vec![dir.clone()],
        TaskMatch::Name(_) => inbox::projects(config)
            .iter()
            .map(|p| inbox::inbox_of(p))
            .collect(),
    };
    let mut found: Vec<(PathBuf, TaskFile)> = inboxes
        .iter()
        .flat_map(|i| finished::inbox_files(i))
        .filter(|p| m.matches(p))
        .map(|p| {
            let file = finished::classify(&p, state);
            (p, file)
        })
        .filter(|(_, f)| *f != TaskFile::Other)
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}
