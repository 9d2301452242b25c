//! What agent-queue tells the operator: one line per event on stderr (with
//! the sd-daemon `<N>` priority prefix when stderr is the journal, so journald
//! records error, warning and info as such), and with `--json` one JSON object
//! per line on stdout for pipelines. Lines are written whole under a lock, as
//! launches run on several threads. Every path in JSON goes through
//! [`crate::paths`]. Where events are also kept is the command's choice
//! ([`set_history`]), so this module writes no file of its own.

use std::io::Write;
use std::os::unix::fs::MetadataExt;

use std::sync::{Mutex, OnceLock};

use serde::Serialize;

pub use super::event::Event;

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

/// Where events are kept besides the screen: the history journal, once a
/// command has opened it.
pub trait History: Send + Sync {
    fn record(&self, e: &Event);
}

static HISTORY: OnceLock<Box<dyn History>> = OnceLock::new();

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

/// From now on every event is also recorded in `history`; the first call
/// wins.
pub fn set_history(history: Box<dyn History>) {
    let _ = HISTORY.set(history);
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
        if let Some(history) = HISTORY.get() {
            history.record(e);
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

#[cfg(test)]
mod tests;
