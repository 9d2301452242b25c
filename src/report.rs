//! What agent-queue tells the operator: one line per event on stderr (with
//! the sd-daemon `<N>` priority prefix when stderr is the journal, so journald
//! records error, warning and info as such), and with `--json` one JSON object
//! per line on stdout for pipelines. Lines are written whole under a lock, as
//! launches run on several threads.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;

use crate::task::Priority;

/// What happened to a task, as printed by `scan`, `dispatch` and `mark-idle`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    Dispatched {
        session: String,
        task: PathBuf,
        project: PathBuf,
        priority: Priority,
        model: String,
    },
    /// `scan --dry-run`: what would be dispatched.
    Planned {
        session: String,
        task: PathBuf,
        project: PathBuf,
        priority: Priority,
        model: String,
    },
    Rejected {
        task: PathBuf,
        reason: String,
    },
    Recovered {
        task: PathBuf,
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    Failed {
        task: PathBuf,
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    Skipped {
        task: PathBuf,
        reason: String,
    },
    /// A task's agent ended without saying it was done (no Stop hook).
    Ended {
        task: PathBuf,
        reason: String,
        session: String,
    },
    /// `mark-idle`: the session's task (if it held one) is over.
    Idle {
        session: String,
        task: Option<PathBuf>,
    },
    /// `submit`: a task landed in an inbox.
    Submitted {
        task: PathBuf,
        project: PathBuf,
        priority: Priority,
    },
}

impl Event {
    fn level(&self) -> Level {
        match self {
            Event::Dispatched { .. }
            | Event::Planned { .. }
            | Event::Recovered { .. }
            | Event::Idle { .. }
            | Event::Submitted { .. } => Level::Info,
            Event::Rejected { .. } | Event::Skipped { .. } | Event::Ended { .. } => Level::Warning,
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
        }
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

/// Reports an event: its human line on stderr, its JSON line on stdout.
pub fn event(e: &Event) {
    log(e.level(), &e.human());
    if json() {
        print_json(e);
    }
}

/// Prints one JSON object as a line on stdout.
pub fn print_json(value: &impl Serialize) {
    let r = reporter();
    let line = serde_json::to_string(value).expect("events serialise") + "\n";
    let _guard = r.out.lock();
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(line.as_bytes());
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatched_json_has_the_contract_keys() {
        let e = Event::Dispatched {
            session: "ccl-auto-11".into(),
            task: "/p/.agent-queue/inbox/x.md.dispatched".into(),
            project: "/p".into(),
            priority: Priority::High,
            model: "sonnet".into(),
        };
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"event": "dispatched", "session": "ccl-auto-11",
                "task": "/p/.agent-queue/inbox/x.md.dispatched", "project": "/p",
                "priority": "high", "model": "sonnet"})
        );
        let r = serde_json::to_value(Event::Rejected {
            task: "/x".into(),
            reason: "bad".into(),
        })
        .unwrap();
        assert_eq!(
            r,
            serde_json::json!({"event": "rejected", "task": "/x", "reason": "bad"})
        );
    }
}
