//! The history journal: what happened to every task, when, and where. The
//! state file only knows the present (which session holds which task now),
//! and the lines on stderr go wherever each caller sent them (journald, a
//! Stop hook's log, a terminal), so "when did this task go out, did the
//! agent get it, what did it say at the end" had no answer once it was over.
//! `history.jsonl`, beside the state file, is that answer: every event that
//! any invocation reports (the timer's scans, the agents' hooks, a hand
//! `dispatch`) is appended as one JSON object per line, the event's own
//! `--json` line with a `time` key in front (and `task` and `session` as
//! null where the event has none, so every line has both).
//!
//! Invocations overlap and write it without the state's lock: each line goes
//! out in a single `write(2)` on a file opened `O_APPEND`, under a short
//! flock of that file (held for one read of its last byte and the write), so
//! lines never interleave.
//! A line cut short by a crash is made to stand alone by the next writer
//! (which starts a new line first), and readers skip it. The journal is
//! bounded: past `[history] max_size` it is renamed `history.jsonl.1`
//! before the next append (see [`Journal::rotate`] for how racers agree).
//! It is a record, never a reason to fail: a write that does not work is a
//! warning, once per invocation.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

use crate::config::Config;
use crate::output::report::{self, Event};

/// The journal of one config: where it is and how big it may grow.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    max_size: u64,
    warned: AtomicBool,
}

impl Journal {
    pub fn new(path: PathBuf, max_size: u64) -> Journal {
        Journal {
            path,
            max_size,
            warned: AtomicBool::new(false),
        }
    }

    /// `history.jsonl` beside the config's state file, `[history] max_size`.
    pub fn of(config: &Config) -> Journal {
        Journal::new(config.history_file(), config.history.max_size)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the journal goes when it is rotated: `history.jsonl.1`.
    pub fn rotated_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".1");
        PathBuf::from(name)
    }

    /// Appends `e`, stamped now; a failure is a warning (the first one of
    /// this invocation only), never an error.
    pub fn record(&self, e: &Event) {
        let result = line(e, crate::store::state::now())
            .context("writing the event as JSON")
            .and_then(|l| self.append_line(&l).map_err(anyhow::Error::from));
        if let Err(err) = result {
            if !self.warned.swap(true, Ordering::SeqCst) {
                report::warn(format!(
                    "history journal {}: {err:#}; events are not recorded there",
                    self.path.display()
                ));
            }
        }
    }

    /// Appends one line (`line` ends with `\n`) in a single `write(2)`,
    /// rotating the journal first when it is over its size.
    pub fn append_line(&self, line: &str) -> io::Result<()> {
        self.make_folder()?;
        let mut file = open_append(&self.path)?;
        let mut len = checked_len(&file)?;
        if len > self.max_size {
            self.rotate(&file)?;
            file = open_append(&self.path)?;
            len = checked_len(&file)?;
        }
        let mut buf = Vec::with_capacity(line.len() + 1);
        // The last byte is read and the line written under the file's lock:
        // a size read while another line is being written can end inside
        // that line, which would then look torn.
        fs2::FileExt::lock_exclusive(&file)?;
        let len = checked_len(&file).unwrap_or(len);
        // A line cut short by a crash gets its end here, so that it spoils
        // only itself and not this line too.
        let mut last = [0u8; 1];
        if len > 0 && file.read_at(&mut last, len - 1)? == 1 && last[0] != b'\n' {
            buf.push(b'\n');
        }
        buf.extend_from_slice(line.as_bytes());
        // One write, not write_all: a line split over two writes could have
        // another invocation's line land between its halves.
        let written = file.write(&buf);
        let _ = fs2::FileExt::unlock(&file);
        let written = written?;
        if written != buf.len() {
            return Err(io::Error::other(format!(
                "only {written} of {} bytes written (is the disk full?)",
                buf.len()
            )));
        }
        Ok(())
    }

    /// Renames the journal to `history.jsonl.1` (replacing the older one),
    /// if `file`, which was found over the size, is still the journal.
    ///
    /// Several invocations can find the same file too big at once. Each
    /// takes an exclusive flock on that file (not on its path: the lock
    /// goes along with the rename) and renames only if the path still
    /// names that very file. The first one renames it; the others, once
    /// they have the lock, find another file (the new journal, small) or
    /// none at the path and rename nothing. So a rotation never pushes out
    /// the `.1` that was just made, and appends never wait for it: a writer
    /// that opened the old file just before still writes its line, into
    /// `.1`. Nobody holds the lock for longer than a stat and a rename.
    fn rotate(&self, file: &File) -> io::Result<()> {
        fs2::FileExt::lock_exclusive(file)?;
        let ours = file.metadata()?;
        let still_ours = match std::fs::symlink_metadata(&self.path) {
            Ok(m) => m.dev() == ours.dev() && m.ino() == ours.ino() && m.len() > self.max_size,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        let result = if still_ours {
            std::fs::rename(&self.path, self.rotated_path())
        } else {
            Ok(())
        };
        let _ = fs2::FileExt::unlock(file);
        result
    }

    /// The state folder, 0700, as the state makes it.
    fn make_folder(&self) -> io::Result<()> {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir),
            _ => Ok(()),
        }
    }

    /// Every line of `history.jsonl.1` then `history.jsonl` that is a
    /// journal entry. A line that is not (a write cut short by a crash) is
    /// skipped with a warning naming its file and line.
    pub fn read(&self) -> anyhow::Result<Vec<Entry>> {
        let mut out = Vec::new();
        for path in [self.rotated_path(), self.path.clone()] {
            let bytes = match read_file(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("reading the history {}", path.display()))
                }
            };
            for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
                if raw.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match Entry::parse(raw) {
                    Ok(entry) => out.push(entry),
                    Err(why) => {
                        report::warn(format!("{} line {}: {why}; skipped", path.display(), i + 1))
                    }
                }
            }
        }
        Ok(out)
    }
}

/// One journal line, as read back.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The line as it is in the file, without its newline.
    pub text: String,
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Unix seconds.
    pub time: u64,
}

impl Entry {
    /// Reads one line (without its newline); `Err` says why it is not an entry.
    pub fn parse(raw: &[u8]) -> Result<Entry, String> {
        let text = std::str::from_utf8(raw)
            .map_err(|_| "not UTF-8 (a line cut short?)".to_string())?
            .trim_end_matches('\r');
        let fields = match serde_json::from_str(text) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) => return Err("not a JSON object".into()),
            Err(e) => return Err(format!("not JSON ({e}; a line cut short?)")),
        };
        if !fields.get("event").is_some_and(|e| e.is_string()) {
            return Err("no `event`".into());
        }
        let time = fields
            .get("time")
            .and_then(|t| t.as_str())
            .and_then(crate::output::clock::parse_utc)
            .ok_or("no `time` that reads as a time")?;
        Ok(Entry {
            text: text.to_string(),
            fields,
            time,
        })
    }

    /// A string field, or "".
    pub fn str(&self, key: &str) -> &str {
        self.fields.get(key).and_then(|v| v.as_str()).unwrap_or("")
    }

    pub fn event(&self) -> &str {
        self.str("event")
    }

    /// A path field, its JSON escaping undone.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        self.fields
            .get(key)
            .and_then(|v| v.as_str())
            .map(report::unescape_path)
    }
}

/// The journal line of `e` at `time` (Unix seconds): `{"time":…,` then the
/// event's own JSON, as `--json` prints it, then `task` and `session` as
/// null when the event has none (every line has both keys), and a newline.
pub fn line(e: &Event, time: u64) -> serde_json::Result<String> {
    let json = serde_json::to_string(e)?;
    let keys: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json)?;
    let body = json
        .strip_prefix('{')
        .and_then(|j| j.strip_suffix('}'))
        .unwrap_or(&json);
    let mut out = format!(
        "{{\"time\":\"{}\",{body}",
        crate::output::clock::format_utc(time)
    );
    for key in ["task", "session"] {
        if !keys.contains_key(key) {
            out.push_str(&format!(",\"{key}\":null"));
        }
    }
    out.push_str("}\n");
    Ok(out)
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let mut out = Vec::new();
    io::Read::read_to_end(&mut file, &mut out)?;
    Ok(out)
}

/// The journal's length, once it is known to be a regular file of ours
/// (O_NOFOLLOW has already refused a symlink).
fn checked_len(file: &File) -> io::Result<u64> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let me = crate::store::security::current_uid();
    if meta.uid() != me {
        return Err(io::Error::other(format!(
            "owned by uid {}, not by uid {me} who runs agent-queue",
            meta.uid()
        )));
    }
    Ok(meta.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::task::Priority;
    use std::os::unix::fs::PermissionsExt;

    fn idle(session: &str) -> Event {
        Event::Idle {
            session: session.into(),
            task: Some(format!("/p/.agent-queue/inbox/{session}.md.dispatched").into()),
        }
    }

    #[test]
    fn a_line_is_the_events_json_with_its_time_in_front() {
        let e = Event::Dispatched {
            session: "ccl-auto-11".into(),
            task: "/p/.agent-queue/inbox/x.md.dispatched".into(),
            project: "/p".into(),
            priority: Priority::High,
            model: "sonnet".into(),
            worktree: None,
            branch: None,
        };
        let l = line(&e, 1_795_490_040).unwrap();
        assert!(l.ends_with('\n') && !l[..l.len() - 1].contains('\n'));
        assert!(l.starts_with("{\"time\":\"2026-11-24T03:14:00Z\",\"event\":\"dispatched\""));
        let mut v: serde_json::Value = serde_json::from_str(&l).unwrap();
        v.as_object_mut().unwrap().remove("time");
        assert_eq!(v, serde_json::to_value(&e).unwrap());
        let submitted = Event::Submitted {
            task: "/p/.agent-queue/inbox/x.md".into(),
            project: "/p".into(),
            priority: Priority::Low,
        };
        let l = line(&submitted, 0).unwrap();
        assert!(l.ends_with(",\"session\":null}\n"), "{l}");
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["task"], "/p/.agent-queue/inbox/x.md");
    }

    #[test]
    fn appends_are_private_lines_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("sub/history.jsonl"), 1 << 20);
        j.record(&idle("a"));
        j.record(&idle("b"));
        let mode = std::fs::metadata(j.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(dir.path().join("sub"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let got: Vec<String> = j
            .read()
            .unwrap()
            .iter()
            .map(|e| e.str("session").to_string())
            .collect();
        assert_eq!(got, ["a", "b"]);
    }

    #[test]
    fn a_torn_line_is_ended_by_the_next_writer_and_skipped_by_readers() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("history.jsonl"), 1 << 20);
        j.record(&idle("a"));
        let mut f = OpenOptions::new().append(true).open(j.path()).unwrap();
        f.write_all(b"{\"time\":\"2026-11-24T03:14:00Z\",\"ev")
            .unwrap();
        j.record(&idle("b"));
        let text = std::fs::read_to_string(j.path()).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        let got: Vec<String> = j
            .read()
            .unwrap()
            .iter()
            .map(|e| e.str("session").to_string())
            .collect();
        assert_eq!(got, ["a", "b"]);
    }

    #[test]
    fn past_its_size_the_journal_moves_to_dot_1_once() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("history.jsonl"), 300);
        let mut n = 0;
        while !j.rotated_path().exists() {
            j.record(&idle(&format!("s{n}")));
            n += 1;
            assert!(n < 100, "never rotated");
        }
        // The line that found the journal too big is the new journal's first.
        let current = std::fs::read_to_string(j.path()).unwrap();
        assert_eq!(current.lines().count(), 1);
        let old = std::fs::metadata(j.rotated_path()).unwrap().len();
        assert!(old > 300, "{old}");
        let all = j.read().unwrap();
        assert_eq!(all.len(), n);
        assert_eq!(all.last().unwrap().str("session"), format!("s{}", n - 1));
        // A racer that held the old file too renames nothing more.
        let before = std::fs::read(j.rotated_path()).unwrap();
        let old_file = File::open(j.rotated_path()).unwrap();
        j.rotate(&old_file).unwrap();
        assert_eq!(std::fs::read(j.rotated_path()).unwrap(), before);
        assert!(j.path().exists());
    }

    #[test]
    fn many_threads_appending_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let j = std::sync::Arc::new(Journal::new(dir.path().join("history.jsonl"), 4096));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let j = j.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        j.append_line(&line(&idle(&format!("t{t}-{i}")), 0).unwrap())
                            .unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let current = std::fs::read_to_string(j.path()).unwrap();
        let rotated = std::fs::read_to_string(j.rotated_path()).unwrap();
        for l in rotated.lines().chain(current.lines()) {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
    }

    #[test]
    fn a_journal_that_cannot_be_written_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        std::fs::create_dir(&path).unwrap();
        let j = Journal::new(path, 1 << 20);
        assert!(j.append_line("{}\n").is_err());
        j.record(&idle("a")); // warns, goes on
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).unwrap();
        assert!(Journal::new(link, 1 << 20).append_line("{}\n").is_err());
        assert!(!dir.path().join("elsewhere").exists());
    }
}
