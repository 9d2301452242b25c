//! Where each account's usage is kept: one small file per account in
//! `<state>.usage/`, beside the state file, not in it. Every agent's status
//! line records usage every few seconds and must never wait; the state lock
//! is held by scans and launches over tmux calls, so a status line that
//! needed it would drop most of its records while they work, and each of
//! its writes would hold up the hooks and scans that do need it. An
//! account's file has a lock of its own, taken without waiting: a record
//! that cannot be written now is dropped (the next refresh brings the same
//! figures). Written by temp file and rename, so a reader sees one whole
//! record, without fsync (what a crash loses, the next refresh brings
//! again); a file that does not parse reads as nothing known.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{Change, Known, Reading};
use crate::clock::format_utc;
use crate::config::Config;
use crate::output::report::{self, Event};
use crate::store::private;
use crate::store::state::{file_safe, suffixed, try_lock, write_replacing, Durable};

/// Larger than any record: not one.
const MAX_FILE: u64 = 64 << 10;

/// The folder of usage records of one state file.
#[derive(Debug, Clone)]
pub struct Book {
    dir: PathBuf,
}

/// What became of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update<T> {
    /// Done (written when it changed anything), with what the change said.
    Done(T),
    /// Another invocation was writing this account's record: nothing done.
    Busy,
}

impl Book {
    /// The book of the state file at `state_file`.
    pub fn of(state_file: &Path) -> Book {
        Book {
            dir: suffixed(state_file, ".usage"),
        }
    }

    fn file(&self, account: &str) -> PathBuf {
        self.dir.join(format!("{}.json", file_safe(account)))
    }

    /// Every account's record (by account name); unreadable ones are left
    /// out, since usage only ever steers, never decides a task's fate.
    pub fn read_all(&self) -> BTreeMap<String, Known> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return BTreeMap::new();
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| read_file(&e.path()))
            .map(|k| (k.account.clone(), k))
            .collect()
    }

    /// `account`'s record, if there is one.
    pub fn read(&self, account: &str) -> Option<Known> {
        read_file(&self.file(account)).filter(|k| k.account == account)
    }

    /// Changes `account`'s record with `change` under the account's own
    /// lock, taken without waiting, and writes it when it changed.
    pub fn update<T>(
        &self,
        account: &str,
        change: impl FnOnce(&mut Known) -> T,
    ) -> anyhow::Result<Update<T>> {
        private::create_dir(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let lock_path = self.dir.join(format!("{}.lock", file_safe(account)));
        let Some(_lock) = try_lock(&lock_path)? else {
            return Ok(Update::Busy);
        };
        let before = self.read(account).unwrap_or_else(|| Known::new(account));
        let mut known = before.clone();
        let said = change(&mut known);
        if known != before {
            let path = self.file(account);
            // Not fsynced: a record lost in a crash comes again with the
            // next refresh, and every agent writes one on every answer.
            write_replacing(&path, &serde_json::to_vec(&known)?, Durable::Unsynced)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(Update::Done(said))
    }
}

impl Book {
    /// Records what a status line read for `account` at `now`, and tells
    /// the history when that holds or releases the account. A record that
    /// cannot be written now (another one is being written) is dropped.
    pub fn record(
        &self,
        config: &Config,
        account: &str,
        reading: &Reading,
        now: u64,
    ) -> anyhow::Result<Update<Known>> {
        let hold_at = config.hold_at(account);
        let update = self.update(account, |known| {
            known.record(reading, now);
            (known.settle(hold_at, now), known.clone())
        })?;
        Ok(match update {
            Update::Done((change, known)) => {
                announce(account, change);
                Update::Done(known)
            }
            Update::Busy => Update::Busy,
        })
    }

    /// Tells the history of every hold that began or ended with no status
    /// line to see it: a reset passed while the account's agents were gone
    /// (a scan runs this), or `hold_at` changed.
    pub fn settle_all(&self, config: &Config, now: u64) {
        for account in self.read_all().into_keys() {
            let hold_at = config.hold_at(&account);
            match self.update(&account, |known| known.settle(hold_at, now)) {
                Ok(Update::Done(change)) => announce(&account, change),
                Ok(Update::Busy) => {}
                Err(e) => report::warn(format!("account {account}'s usage: {e:#}")),
            }
        }
    }
}

/// Journals a change of `account`'s hold.
fn announce(account: &str, change: Option<Change>) {
    let event = match change {
        None => return,
        Some(Change::Held(hold)) => Event::Held {
            account: account.to_string(),
            until: format_utc(hold.until),
            window: hold.window.key().to_string(),
            used_percentage: hold.used.percent(),
        },
        Some(Change::Released) => Event::Released {
            account: account.to_string(),
        },
    };
    report::event(&event);
}

/// How a recycle's wait for a status line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// The start's status line ran after the wait began.
    Reported,
    /// The start's status line never ran (none installed, or not Claude
    /// Code): nothing to wait for.
    Silent,
    /// It did not run again in time.
    TimedOut,
}

impl Book {
    fn seen_file(&self, session: &str) -> PathBuf {
        self.dir.join(format!("{}.seen", file_safe(session)))
    }

    /// Notes that the status line of the start `nonce` in `session` ran
    /// now (milliseconds since the epoch in the file, not its mtime, whose
    /// clock is coarser than the one a recycle reads).
    pub fn seen(&self, session: &str, nonce: &str) -> anyhow::Result<()> {
        let path = self.seen_file(session);
        let ms = crate::clock::now_ms();
        // Replaced whole, so that a recycle polling it never reads half.
        private::create_dir(&self.dir)
            .and_then(|()| {
                write_replacing(&path, format!("{nonce} {ms}").as_bytes(), Durable::Unsynced)
            })
            .with_context(|| format!("writing {}", path.display()))
    }

    /// When the status line of the start `nonce` last ran in `session`.
    fn last_seen(&self, session: &str, nonce: &str) -> Option<u128> {
        let mut text = String::new();
        private::open_regular(&self.seen_file(session))
            .ok()?
            .read_to_string(&mut text)
            .ok()?;
        let (n, ms) = text.trim().split_once(' ')?;
        (n == nonce).then(|| ms.parse().ok()).flatten()
    }

    /// Waits, at most `max`, until the status line of the start `nonce`
    /// in `session` runs again: Claude Code shows a turn's usage to its
    /// status line about 0.3 s after the answer, and an `/exit` typed at
    /// the turn's end would take that usage away.
    pub fn await_report(&self, session: &str, nonce: &str, max: std::time::Duration) -> Heard {
        let begun = crate::clock::now_ms();
        let start = std::time::Instant::now();
        loop {
            match self.last_seen(session, nonce) {
                None => return Heard::Silent,
                Some(at) if at >= begun => return Heard::Reported,
                Some(_) if start.elapsed() >= max => return Heard::TimedOut,
                Some(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    }
}

fn read_file(path: &Path) -> Option<Known> {
    let file = private::open_regular(path).ok()?;
    let mut text = String::new();
    file.take(MAX_FILE).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_recycle_waits_for_the_status_line_of_its_own_start_only() {
        let dir = tempfile::tempdir().unwrap();
        let book = Book::of(&dir.path().join("state.json"));
        let short = Duration::from_millis(200);
        // No status line ran in this start: nothing to wait for.
        assert_eq!(book.await_report("s/1", "n1", short), Heard::Silent);
        book.seen("s/1", "n0").unwrap();
        assert_eq!(book.await_report("s/1", "n1", short), Heard::Silent);
        // It ran before the wait began, and not again.
        book.seen("s/1", "n1").unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let start = Instant::now();
        assert_eq!(book.await_report("s/1", "n1", short), Heard::TimedOut);
        assert!(start.elapsed() >= short);
        // It runs again while the recycle waits.
        let writer = {
            let book = book.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                book.seen("s/1", "n1").unwrap();
            })
        };
        assert_eq!(
            book.await_report("s/1", "n1", Duration::from_secs(10)),
            Heard::Reported
        );
        writer.join().unwrap();
    }

    #[test]
    fn a_record_is_dropped_while_another_is_written_and_unreadable_files_are_nothing_known() {
        let dir = tempfile::tempdir().unwrap();
        let book = Book::of(&dir.path().join("state.json"));
        assert_eq!(
            book.update("max/a", |k| k.announced = Some(9)).unwrap(),
            Update::Done(())
        );
        assert_eq!(book.read("max/a").unwrap().announced, Some(9));
        let lock = try_lock(&book.dir.join(format!("{}.lock", file_safe("max/a"))))
            .unwrap()
            .unwrap();
        assert_eq!(
            book.update("max/a", |k| k.announced = None).unwrap(),
            Update::Busy
        );
        drop(lock);
        assert_eq!(book.read("max/a").unwrap().announced, Some(9));
        std::fs::write(book.file("broken"), "{ torn").unwrap();
        let all = book.read_all();
        assert_eq!(all.keys().collect::<Vec<_>>(), ["max/a"]);
    }
}
