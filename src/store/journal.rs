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

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

use crate::clock;
use crate::config::Config;
use crate::output::report::{self, Event};
use crate::store::private::{self, Access};

/// Opens the history journal of `config`: from now on every event this
/// invocation reports is also appended there. A command calls it where it
/// starts, once it has its config.
pub fn open(config: &Config) {
    report::set_history(Box::new(Journal::of(config)));
}

/// The journal of one config: where it is and how big it may grow.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    max_size: u64,
    warned: AtomicBool,
    notifier: Option<crate::store::notify::Notifier>,
}

impl report::History for Journal {
    fn record(&self, e: &Event) {
        Journal::record(self, e)
    }
}

impl Journal {
    pub fn new(path: PathBuf, max_size: u64) -> Journal {
        Journal {
            path,
            max_size,
            warned: AtomicBool::new(false),
            notifier: None,
        }
    }

    /// `history.jsonl` beside the config's state file, `[history] max_size`.
    pub fn of(config: &Config) -> Journal {
        let mut journal = Journal::new(config.history_file(), config.history.max_size);
        journal.notifier = Some(crate::store::notify::Notifier {
            notify: config.notify.clone(),
            log: config.state_file.with_file_name("notify.log"),
            failed: crate::store::notify::failed_path(&config.state_file),
        });
        journal
    }

    #[cfg(test)]
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
        let line = line(e, clock::now()).context("writing the event as JSON");
        if let (Some(n), Ok(l)) = (&self.notifier, &line) {
            n.send(e.name(), l);
        }
        let result = line.and_then(|l| self.append_line(&l).map_err(anyhow::Error::from));
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
        file.lock()?;
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
        let _ = file.unlock();
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
        file.lock()?;
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
        let _ = file.unlock();
        result
    }

    /// The state folder, 0700, as the state makes it.
    fn make_folder(&self) -> io::Result<()> {
        self.path.parent().map_or(Ok(()), private::create_dir)
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
    /// The event, typed; `None` for a line this build cannot type (an
    /// event a later version added, or one written without a field that
    /// this build's event has), which is still shown by its fields.
    pub event: Option<Event>,
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
            .and_then(clock::parse_utc)
            .ok_or("no `time` that reads as a time")?;
        let event = serde_json::from_value(serde_json::Value::Object(fields.clone())).ok();
        Ok(Entry {
            text: text.to_string(),
            fields,
            time,
            event,
        })
    }

    /// A string field, or "".
    pub fn str(&self, key: &str) -> &str {
        self.fields.get(key).and_then(|v| v.as_str()).unwrap_or("")
    }

    /// The event's name, as the line writes it.
    pub fn name(&self) -> &str {
        self.str("event")
    }

    /// A path field, its JSON escaping undone.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        self.fields
            .get(key)
            .and_then(|v| v.as_str())
            .map(crate::paths::unescape_path)
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
    let mut out = format!("{{\"time\":\"{}\",{body}", clock::format_utc(time));
    for key in ["task", "session"] {
        if !keys.contains_key(key) {
            out.push_str(&format!(",\"{key}\":null"));
        }
    }
    out.push_str("}\n");
    Ok(out)
}

fn open_append(path: &Path) -> io::Result<File> {
    private::open(path, Access::Append)
}

fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = private::open_regular(path)?;
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
mod tests;
