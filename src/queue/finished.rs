//! Which task files in an inbox are over. A `.dispatched` file is both a
//! task that a session is working on and the record of one that is done:
//! only the state tells them apart (a session holds it, or none does). That
//! rule lives here, once, so that `status`, `history` and the archiving of
//! old files agree on "finished". The rule is pure; reading an inbox's
//! names is [`inbox_files`].

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::queue::inbox;
use crate::store::state::State;

/// How a finished task ended, as its file's name says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Dispatched, and no session holds it any more.
    Dispatched,
    /// It could not be read as a task.
    Rejected,
    /// An operator cancelled it.
    Cancelled,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Dispatched => "dispatched",
            Ending::Rejected => "rejected",
            Ending::Cancelled => "cancelled",
        }
    }
}

/// Where a file of an inbox stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskFile {
    /// `x.md`: waiting for a session.
    Pending,
    /// `x.md.dispatched` that this session holds.
    Held(String),
    Finished(Ending),
    /// Not a task file (hidden, staging, another name).
    Other,
}

/// What `path` is, given the state's sessions (whose `task` paths are the
/// claimed names).
pub fn classify(path: &Path, state: &State) -> TaskFile {
    let name = path.file_name().map(|n| n.as_bytes()).unwrap_or_default();
    if name.first() == Some(&b'.') {
        return TaskFile::Other;
    }
    if inbox::is_task_name(name) {
        return TaskFile::Pending;
    }
    let ending = if name.ends_with(b".dispatched") {
        Ending::Dispatched
    } else if name.ends_with(b".rejected") {
        Ending::Rejected
    } else if name.ends_with(b".cancelled") {
        Ending::Cancelled
    } else {
        return TaskFile::Other;
    };
    if !inbox::is_task_name(inbox::original_bytes(name)) {
        return TaskFile::Other;
    }
    if ending == Ending::Dispatched {
        if let Some((session, _)) = holder(path, state) {
            return TaskFile::Held(session.to_string());
        }
    }
    TaskFile::Finished(ending)
}

impl std::fmt::Display for TaskFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskFile::Pending => f.write_str("pending"),
            TaskFile::Held(s) => write!(f, "held by {s}"),
            TaskFile::Finished(e) => write!(f, "finished ({})", e.as_str()),
            TaskFile::Other => f.write_str("not a task file"),
        }
    }
}

/// Whether `path` is a finished task's file, and how it ended.
pub fn finished(path: &Path, state: &State) -> Option<Ending> {
    match classify(path, state) {
        TaskFile::Finished(e) => Some(e),
        _ => None,
    }
}

/// The session that holds `path`, with its state.
pub fn holder<'s>(
    path: &Path,
    state: &'s State,
) -> Option<(&'s str, &'s crate::store::state::SessionState)> {
    state
        .sessions
        .iter()
        .find(|(_, s)| s.task.as_deref() == Some(path))
        .map(|(name, s)| (name.as_str(), s))
}

/// Every entry of an inbox folder, by path (unreadable: none).
pub fn inbox_files(inbox: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(inbox)
        .map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::state::Phase;

    fn state_holding(path: &str) -> State {
        let mut state = State::default();
        state.set("s1", Phase::Working, 1);
        state.entry("s1").task = Some(path.into());
        state
    }

    #[test]
    fn a_dispatched_file_is_held_while_a_session_has_it_and_finished_after() {
        let inbox = "/p/.agent-queue/inbox";
        let held = format!("{inbox}/a.md.dispatched");
        let state = state_holding(&held);
        let at = |n: &str| classify(&Path::new(inbox).join(n), &state);
        assert_eq!(at("a.md.dispatched"), TaskFile::Held("s1".into()));
        assert_eq!(
            at("a.md.2.dispatched"),
            TaskFile::Finished(Ending::Dispatched)
        );
        assert_eq!(at("b.md.rejected"), TaskFile::Finished(Ending::Rejected));
        assert_eq!(
            at("b.md.3.cancelled"),
            TaskFile::Finished(Ending::Cancelled)
        );
        assert_eq!(at("b.md"), TaskFile::Pending);
        assert_eq!(at(".b.md.dispatched"), TaskFile::Other);
        assert_eq!(at("notes.txt"), TaskFile::Other);
        assert_eq!(at("x.dispatched"), TaskFile::Other);
        let idle = State::default();
        assert_eq!(finished(Path::new(&held), &idle), Some(Ending::Dispatched));
        assert_eq!(finished(Path::new(&held), &state), None);
    }

    #[test]
    fn cancelling_keeps_the_name_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("t.md.dispatched"), "one").unwrap();
        std::fs::write(d.join("t.md"), "two").unwrap();
        let first = inbox::cancel(&d.join("t.md.dispatched")).unwrap();
        assert_eq!(first, d.join("t.md.cancelled"));
        let second = inbox::cancel(&d.join("t.md")).unwrap();
        assert_eq!(second, d.join("t.md.2.cancelled"));
        assert_eq!(std::fs::read_to_string(first).unwrap(), "one");
        let back = inbox::unclaim(&second).unwrap();
        assert_eq!(back, d.join("t.md"));
        assert_eq!(std::fs::read_to_string(back).unwrap(), "two");
    }
}
