//! What agent-queue tells the operator: one line per event on stderr (with
//! the sd-daemon `<N>` priority prefix when stderr is the journal, so journald
//! records error, warning and info as such), and with `--json` one JSON object
//! per line on stdout for pipelines. Lines are written whole under a lock, as
//! launches run on several threads. JSON strings must be UTF-8 and file names
//! need not be, so every path in JSON goes through [`escape_path`].

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::queue::task::Priority;
use crate::store::journal::Journal;

/// What happened to a task, as printed by `scan`, `dispatch` and `mark-idle`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    Dispatched {
        session: String,
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        #[serde(serialize_with = "json_path::serialize")]
        project: PathBuf,
        priority: Priority,
        model: String,
    },
    /// `scan --dry-run`: what would be dispatched.
    Planned {
        session: String,
        pool: String,
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        #[serde(serialize_with = "json_path::serialize")]
        project: PathBuf,
        priority: Priority,
        model: String,
    },
    /// `scan --dry-run`: a task that would wait, and why.
    Waiting {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        reason: String,
    },
    Rejected {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        reason: String,
    },
    Recovered {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    Failed {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    Skipped {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        reason: String,
    },
    /// An account hit its usage limit; the task its session held (if any)
    /// is back in its inbox, at `task`.
    Limited {
        account: String,
        /// RFC 3339: the reset, plus the margin.
        until: String,
        reason: String,
        session: String,
        #[serde(serialize_with = "json_path_opt::serialize")]
        task: Option<PathBuf>,
    },
    /// A task's agent ended without saying it was done (no Stop hook).
    Ended {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        reason: String,
        session: String,
    },
    /// The agent's hook saw the task arrive.
    Received {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        session: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        agent_session_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        transcript_path: Option<String>,
    },
    /// The agent's hook said its turn on the task ended.
    Done {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        session: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        agent_session_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        transcript_path: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// `mark-idle`: the session's task (if it held one) is over.
    Idle {
        session: String,
        #[serde(serialize_with = "json_path_opt::serialize")]
        task: Option<PathBuf>,
    },
    /// A launch answered a dialog of the agent's as the config says (the
    /// agent records it: a folder trusted, a key approved).
    Answered {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        session: String,
        dialog: String,
        /// The option picked (`choose`), or the keys sent (`answer`).
        option: String,
    },
    /// `submit`: a task landed in an inbox.
    Submitted {
        #[serde(serialize_with = "json_path::serialize")]
        task: PathBuf,
        #[serde(serialize_with = "json_path::serialize")]
        project: PathBuf,
        priority: Priority,
    },
}

impl Event {
    fn level(&self) -> Level {
        match self {
            Event::Dispatched { .. }
            | Event::Planned { .. }
            | Event::Waiting { .. }
            | Event::Recovered { .. }
            | Event::Idle { .. }
            | Event::Received { .. }
            | Event::Done { .. }
            | Event::Submitted { .. }
            | Event::Answered { .. } => Level::Info,
            Event::Rejected { .. }
            | Event::Skipped { .. }
            | Event::Ended { .. }
            | Event::Limited { .. } => Level::Warning,
            Event::Failed { .. } => Level::Error,
        }
    }

    fn human(&self) -> String {
        match self {
            Event::Dispatched {
                session,
                task,
                priority,
                model,
                ..
            } => {
                format!(
                    "dispatched {} to {session} ({priority}, model {model})",
                    task.display()
                )
            }
            Event::Waiting { task, reason } => {
                format!("{} would wait: {reason}", task.display())
            }
            Event::Planned {
                session,
                task,
                priority,
                model,
                ..
            } => {
                format!(
                    "would dispatch {} to {session} ({priority}, model {model})",
                    task.display()
                )
            }
            Event::Rejected { task, reason } => format!("rejected {}: {reason}", task.display()),
            Event::Recovered { task, reason, .. } => {
                format!("recovered {}: {reason}", task.display())
            }
            Event::Failed { task, reason, .. } => format!("failed {}: {reason}", task.display()),
            Event::Skipped { task, reason } => format!("skipped {}: {reason}", task.display()),
            Event::Limited {
                account,
                until,
                reason,
                session,
                task,
            } => {
                let back = task
                    .as_ref()
                    .map(|t| format!("; {} is back in its inbox", t.display()))
                    .unwrap_or_default();
                format!(
                    "account {account} hit its usage limit in {session} ({reason}); \
                     no task goes to it until {until}{back}"
                )
            }
            Event::Received { task, session, .. } => {
                format!("{session} received {}", task.display())
            }
            Event::Done { task, session, .. } => {
                format!("{session} finished {}", task.display())
            }
            Event::Ended {
                task,
                reason,
                session,
            } => format!("{session} ended {}: {reason}", task.display()),
            Event::Idle {
                session,
                task: Some(task),
            } => format!("{session} is idle; it finished {}", task.display()),
            Event::Idle {
                session,
                task: None,
            } => format!("{session} is idle"),
            Event::Submitted { task, priority, .. } => {
                format!("submitted {} ({priority})", task.display())
            }
            Event::Answered {
                task,
                session,
                dialog,
                option,
            } => format!(
                "{session}: answered the agent's {dialog} dialog with `{option}` (launching {})",
                task.display()
            ),
        }
    }

    /// Whether the history journal keeps it: everything that happened, not
    /// what `scan --dry-run` would do.
    fn journaled(&self) -> bool {
        !matches!(self, Event::Planned { .. } | Event::Waiting { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 3,
    Warning = 4,
    Info = 6,
    Debug = 7,
}

struct Reporter {
    json: bool,
    quiet: bool,
    verbose: bool,
    journal: bool,
    out: Mutex<()>,
}

static REPORTER: OnceLock<Reporter> = OnceLock::new();

/// Where events are also appended, once the config has said where.
static HISTORY: OnceLock<Journal> = OnceLock::new();

/// Sets how output looks; the first call wins.
pub fn init(json: bool, quiet: bool, verbose: bool) {
    let _ = REPORTER.set(Reporter {
        json,
        quiet,
        verbose,
        journal: stderr_is_journal(),
        out: Mutex::new(()),
    });
}

fn reporter() -> &'static Reporter {
    REPORTER.get_or_init(|| Reporter {
        json: false,
        quiet: false,
        verbose: false,
        journal: false,
        out: Mutex::new(()),
    })
}

pub fn json() -> bool {
    reporter().json
}

/// systemd sets `JOURNAL_STREAM=<dev>:<inode>` for the stream it connects to
/// stderr; it only counts while stderr is still that stream.
fn stderr_is_journal() -> bool {
    let Ok(value) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.split_once(':') else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

/// Writes one line at `level` to stderr.
pub fn log(level: Level, msg: &str) {
    let r = reporter();
    let shown = match level {
        Level::Error => true,
        Level::Warning | Level::Info => !r.quiet,
        Level::Debug => r.verbose,
    };
    if !shown {
        return;
    }
    let line = if r.journal {
        format!("<{}>{msg}\n", level as u8)
    } else {
        format!("agent-queue: {msg}\n")
    };
    let _guard = r.out.lock();
    let _ = std::io::stderr().write_all(line.as_bytes());
}

pub fn info(msg: impl AsRef<str>) {
    log(Level::Info, msg.as_ref());
}

pub fn warn(msg: impl AsRef<str>) {
    log(Level::Warning, msg.as_ref());
}

pub fn debug(msg: impl AsRef<str>) {
    log(Level::Debug, msg.as_ref());
}

pub fn error(msg: impl AsRef<str>) {
    log(Level::Error, msg.as_ref());
}

/// From now on every event is also appended to `journal` (the history);
/// the first call wins.
pub fn set_history(journal: Journal) {
    let _ = HISTORY.set(journal);
}

/// Reports an event: its human line on stderr, its JSON line on stdout,
/// and a line in the history journal when one is set.
pub fn event(e: &Event) {
    log(e.level(), &e.human());
    if json() {
        print_json(e);
    }
    record(e);
}

/// Reports an event on stderr and in the history journal, but not among
/// the `--json` lines of stdout (whose events scripts match by kind).
pub fn logged(e: &Event) {
    log(e.level(), &e.human());
    record(e);
}

/// Appends an event to the history journal only, for a subcommand whose
/// human output is not an event line (`submit` prints the task's path).
pub fn record(e: &Event) {
    if e.journaled() {
        if let Some(journal) = HISTORY.get() {
            journal.record(e);
        }
    }
}

/// Writes `text` to stdout. A reader that went away (`agent-queue status
/// | head -1`) ends the process quietly with status 0, as a closed pipe is
/// no error of ours; any other failure to write is said on stderr.
pub fn print(text: &str) {
    let r = reporter();
    let _guard = r.out.lock();
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        drop(stdout);
        log(Level::Error, &format!("writing to stdout: {e}"));
    }
}

/// Prints one JSON object as a line on stdout. What cannot be written as
/// JSON is said on stderr instead: a report is never worth a panic.
pub fn print_json(value: &impl Serialize) {
    let line = match serde_json::to_string(value) {
        Ok(text) => text + "\n",
        Err(e) => {
            error(format!("an output line could not be written as JSON: {e}"));
            return;
        }
    };
    print(&line);
}

/// A path as JSON shows it, losslessly: the UTF-8 parts as they are, except
/// that `\` is doubled, and every byte that is not part of valid UTF-8 as
/// `\xHH` (two lowercase hex digits). So an ordinary path reads as itself,
/// two different paths never read the same, and `printf '%b'` turns the
/// text back into the bytes.
pub fn escape_path(path: &Path) -> String {
    escape_bytes(path.as_os_str().as_bytes())
}

pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The path [`escape_path`] was given. A `\` that starts neither `\\` nor
/// `\xHH` stands for itself, so that a path written before paths were
/// escaped reads back as it was.
pub fn unescape_path(text: &str) -> PathBuf {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
            let hex = bytes
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok());
            if bytes.get(i + 1) == Some(&b'x') {
                if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(b);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(OsString::from_vec(out))
}

/// Serde for a path field shown with [`escape_path`]:
/// `#[serde(with = "crate::output::report::json_path")]`.
pub mod json_path {
    use super::*;

    pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&escape_path(path))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        Ok(unescape_path(&String::deserialize(d)?))
    }
}

/// [`json_path`] for an optional path.
pub mod json_path_opt {
    use super::*;

    pub fn serialize<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
        match path {
            Some(p) => s.serialize_some(&escape_path(p)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(|t| unescape_path(&t)))
    }
}

/// `2026-11-24T03:14:00Z` from Unix seconds: [`crate::output::clock::format_utc`].
pub use crate::output::clock::format_utc;

#[cfg(test)]
mod tests;
