//! A claim's record in its session's launch lock: written before the task is
//! renamed to `.dispatched`, so that a claim the state never learned of (its
//! write failed on a full disk, or the process was killed between the rename
//! and the write) is still known to the next scan, which puts the task back.
//! The launch overwrites the record with its first stage note, and it is
//! cleared once the state has settled the claim: a record that outlives
//! that would name a finished task.
//!
//! The record names the pending file and its inode: the rename keeps the
//! inode, and the `.dispatched` name it gets (`x.md.2.dispatched` when the
//! name was used before) is found by it, never confused with older records
//! of the same name.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Seek};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::state::{try_lock, Store};
use crate::queue::inbox;

const TAG: &[u8] = b"claim ";

/// Notes in `lock` that `task` (with this inode) is being claimed.
pub fn record(lock: &File, task: &Path, ino: u64) -> std::io::Result<()> {
    let mut bytes = TAG.to_vec();
    bytes.extend_from_slice(format!("{ino}\n").as_bytes());
    bytes.extend_from_slice(task.as_os_str().as_bytes());
    lock.set_len(0)?;
    lock.write_all_at(&bytes, 0)?;
    // Written through, or a crash could lose it after the rename.
    lock.sync_data()
}

/// Forgets the record (and any stage note): the state speaks for the claim.
pub fn clear(lock: &File) {
    let _ = lock.set_len(0);
}

/// A claim recorded in a launch lock that no process holds.
#[derive(Debug)]
pub struct Intent {
    /// The launch lock, held: nothing launches there meanwhile.
    pub lock: File,
    /// The pending file that was claimed.
    pub task: PathBuf,
    pub ino: u64,
}

impl Intent {
    /// The `.dispatched` file the claim made, if it is still there.
    pub fn claimed(&self) -> Option<PathBuf> {
        let dir = self.task.parent()?;
        let name = self.task.file_name()?.as_bytes();
        if std::fs::symlink_metadata(&self.task).is_ok_and(|m| m.ino() == self.ino) {
            return None; // never renamed, or renamed back
        }
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(Result::ok)
            .filter(|e| {
                let n = e.file_name();
                n.as_bytes().ends_with(b".dispatched")
                    && inbox::original_bytes(n.as_bytes()) == name
            })
            .find(|e| e.metadata().is_ok_and(|m| m.ino() == self.ino))
            .map(|e| e.path())
    }
}

/// A launch lock that no process held, held now, with the claim it
/// records, if any (`(inode, pending path)`).
#[derive(Debug)]
pub struct FreeLock {
    pub file: File,
    pub claim: Option<(u64, PathBuf)>,
}

/// The free launch locks, by path.
pub type FreeLocks = BTreeMap<PathBuf, FreeLock>;

fn parse(bytes: &[u8]) -> Option<(u64, PathBuf)> {
    let rest = bytes.strip_prefix(TAG)?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let ino = std::str::from_utf8(&rest[..nl]).ok()?.parse().ok()?;
    let path = PathBuf::from(OsStr::from_bytes(&rest[nl + 1..]));
    path.is_absolute().then_some((ino, path))
}

/// The launch locks of `store` that no process holds, by path, with the
/// claim each records, if any: `sessions` (the lock paths of sessions the
/// caller asks about) are taken whatever they hold, others only when they
/// record a claim.
pub fn free_locks(store: &Store, sessions: &[PathBuf]) -> anyhow::Result<FreeLocks> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(store.launches_dir()) else {
        return Ok(out);
    };
    for entry in dir.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.as_bytes();
        if !name.ends_with(b".lock") || name.ends_with(b".recycle.lock") {
            continue;
        }
        // Read before locking: only a record or a session asked about is
        // worth a lock (held, it keeps other invocations from launching).
        let peek = std::fs::read(&path).unwrap_or_default();
        if parse(&peek).is_none() && !sessions.contains(&path) {
            continue;
        }
        let Some(mut lock) = try_lock(&path)? else {
            continue;
        };
        let mut bytes = Vec::new();
        let _ = lock.rewind();
        let _ = lock.read_to_end(&mut bytes);
        out.insert(
            path,
            FreeLock {
                file: lock,
                claim: parse(&bytes),
            },
        );
    }
    Ok(out)
}

/// The claims recorded in free launch locks, out of `locks`.
pub fn intents(locks: &mut FreeLocks) -> Vec<Intent> {
    let paths: Vec<PathBuf> = locks
        .iter()
        .filter(|(_, l)| l.claim.is_some())
        .map(|(p, _)| p.clone())
        .collect();
    paths
        .into_iter()
        .filter_map(|p| locks.remove(&p))
        .filter_map(|l| {
            let (ino, task) = l.claim?;
            Some(Intent {
                lock: l.file,
                task,
                ino,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// The intents once a dropped lock is free: a thread of another test
    /// that forks meanwhile holds a copy of its descriptor until it execs.
    fn intents_when_free(store: &Store, want: usize) -> Vec<Intent> {
        let start = std::time::Instant::now();
        loop {
            let found = intents(&mut free_locks(store, &[]).unwrap());
            if found.len() == want || start.elapsed() > std::time::Duration::from_secs(5) {
                return found;
            }
            drop(found);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn a_recorded_claim_is_found_by_its_inode_among_older_records() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        // An older, finished task of the same name.
        std::fs::write(inbox.join("t.md.dispatched"), "old").unwrap();
        let task = inbox.join("t.md");
        std::fs::write(&task, "new").unwrap();
        let ino = std::fs::metadata(&task).unwrap().ino();
        let store = Store::new(dir.path().join("state.json"));
        let lock = store.try_launch_lock("s-1").unwrap().unwrap();
        record(&lock, &task, ino).unwrap();
        let claimed = inbox::claim(&task).unwrap().unwrap();
        assert_eq!(claimed, inbox.join("t.md.2.dispatched"));
        drop(lock);

        let found = intents_when_free(&store, 1);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].task, task);
        assert_eq!(found[0].claimed(), Some(claimed.clone()));
        // Held while found: no launch there meanwhile.
        assert!(store.try_launch_lock("s-1").unwrap().is_none());
        clear(&found[0].lock);
        drop(found);
        assert!(intents(&mut free_locks(&store, &[]).unwrap()).is_empty());
    }

    #[test]
    fn a_claim_never_renamed_or_held_by_a_live_launcher_is_not_stranded() {
        let dir = tempfile::tempdir().unwrap();
        let task = dir.path().join("t.md");
        std::fs::write(&task, "x").unwrap();
        let ino = std::fs::metadata(&task).unwrap().ino();
        let store = Store::new(dir.path().join("state.json"));
        let lock = store.try_launch_lock("s-1").unwrap().unwrap();
        record(&lock, &task, ino).unwrap();
        assert!(intents(&mut free_locks(&store, &[]).unwrap()).is_empty());
        drop(lock);
        let found = intents_when_free(&store, 1);
        assert_eq!(found[0].claimed(), None);
        // A stage note is no claim.
        assert_eq!(parse(b"submitted"), None);
        assert_eq!(parse(b"claim 12\nrelative.md"), None);
    }
}
