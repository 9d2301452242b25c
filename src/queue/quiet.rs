//! Inboxes known to hold no task. Most of a thousand inboxes hold nothing
//! most of the time, and reading each one (open, list, close) is most of an
//! idle scan. A folder's change time and modification time move whenever a
//! name is added to it, renamed in it or removed from it, so an inbox whose
//! inode and both times are those it had when it was last read empty is
//! still empty: one `stat` instead of a listing.
//!
//! Only what is certain is kept: an inbox read while it may still change
//! within the same clock tick (its times less than a second old when the
//! listing began) is not remembered, so a task written in that tick is
//! never hidden. The memo lives beside the state (`quiet-inboxes.json`); it
//! is a cache: missing, torn or stale, it costs a listing, never a task.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// What an inbox's `stat` says of its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// The inbox's stamp, `None` when it is not a folder (a symlink to
    /// one counts, as it does for reading it).
    pub fn of(inbox: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(inbox).ok()?;
        m.is_dir().then(|| Stamp {
            ino: m.ino(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }

    /// Whether both times are at least `margin` before `at`.
    fn settled_before(&self, at: SystemTime, margin: Duration) -> bool {
        let Some(limit) = at
            .checked_sub(margin)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        else {
            return false;
        };
        let limit = (limit.as_secs() as i64, i64::from(limit.subsec_nanos()));
        self.mtime < limit && self.ctime < limit
    }
}

/// More than a clock tick of any file system's timestamps.
const TICK: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Quiet {
    file: Option<PathBuf>,
    known: HashMap<PathBuf, Stamp>,
    changed: bool,
}

impl Quiet {
    /// The memo kept beside `state_file`; empty when there is none yet.
    pub fn load(state_file: &Path) -> Quiet {
        let file = state_file.with_file_name("quiet-inboxes.json");
        let known = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Quiet {
            file: Some(file),
            known,
            changed: false,
        }
    }

    /// The inbox is as it was when it was last read holding no task.
    pub fn still_empty(&self, inbox: &Path, stamp: Option<Stamp>) -> bool {
        stamp.is_some() && self.known.get(inbox) == stamp.as_ref()
    }

    /// What a listing that began at `listed_at` found: `empty` when no name
    /// in it looked like a task.
    pub fn note(&mut self, inbox: &Path, stamp: Option<Stamp>, listed_at: SystemTime, empty: bool) {
        let keep = stamp.filter(|s| empty && s.settled_before(listed_at, TICK));
        let before = match keep {
            Some(s) => self.known.insert(inbox.to_path_buf(), s),
            None => self.known.remove(inbox),
        };
        self.changed |= before != keep;
    }

    /// Writes the memo if it changed: a temporary file renamed over it, in
    /// the state's folder (no fsync: it is a cache).
    pub fn save(&self) {
        let Some(file) = self.file.as_ref().filter(|_| self.changed) else {
            return;
        };
        // The state's folder, made private as the state makes it: an idle
        // scan may come before any state was written.
        if file
            .parent()
            .is_none_or(|dir| crate::store::private::create_dir(dir).is_err())
        {
            return;
        }
        let Ok(text) = serde_json::to_vec(&self.known) else {
            return;
        };
        // A cache: a write that fails is only a slower next scan.
        let _ = crate::store::state::write_replacing(
            file,
            &text,
            crate::store::state::Durable::Unsynced,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbox_is_known_empty_only_while_it_is_unchanged_and_settled() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        let mut quiet = Quiet::load(&dir.path().join("state.json"));
        let stamp = Stamp::of(&inbox);
        // Just made: it may still change within this tick.
        quiet.note(&inbox, stamp, SystemTime::now(), true);
        assert!(!quiet.still_empty(&inbox, stamp));
        let later = SystemTime::now() + Duration::from_secs(2);
        quiet.note(&inbox, stamp, later, true);
        assert!(quiet.still_empty(&inbox, stamp));
        quiet.save();
        let quiet = Quiet::load(&dir.path().join("state.json"));
        assert!(quiet.still_empty(&inbox, stamp), "kept beside the state");
        // A task written into it changes its times.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(inbox.join("t.md"), "x").unwrap();
        assert!(!quiet.still_empty(&inbox, Stamp::of(&inbox)));
        let mut quiet = quiet;
        quiet.note(&inbox, Stamp::of(&inbox), later, false);
        assert!(!quiet.still_empty(&inbox, Stamp::of(&inbox)));
        assert!(!quiet.still_empty(&dir.path().join("none"), None));
    }
}
