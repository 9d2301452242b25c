//! `[notify]`: a command the operator chose runs for each event they named,
//! with the event's history line on its standard input. It runs detached, in
//! its own session, its output appended to `notify.log` beside the state
//! file, and is never waited for: a slow, failing or missing notifier must
//! not delay, fail or change the subcommand that reported the event (a hook
//! that Claude Code waits for above all). A start that fails is a warning
//! at once; a notifier that exits with a failure (or is not found) is noted
//! in `notify.failed` by the shell that ran it, and the next subcommand an
//! operator or a timer runs (`reports_notify_failures`) warns of it, once.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::output::report;

/// The events a notifier gets when `[notify] events` is not set.
pub const DEFAULT_EVENTS: [&str; 6] = [
    "done",
    "failed",
    "limited",
    "rejected",
    "recovered",
    "cancelled",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Notify {
    /// A shell command line (run by `sh -c`).
    pub command: Option<String>,
    /// History event names.
    pub events: Vec<String>,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            command: None,
            events: DEFAULT_EVENTS.map(String::from).to_vec(),
        }
    }
}

/// A configured notifier and where its output goes.
#[derive(Debug, Clone)]
pub struct Notifier {
    pub notify: Notify,
    pub log: PathBuf,
    /// Where the shell that runs it notes a failed run.
    pub failed: PathBuf,
}

/// The shell around the operator's command: runs it (`$0`, as `sh -c`
/// would), and notes a failure. Its own output goes to `notify.log`.
const RUN_AND_NOTE: &str = r#"sh -c "$0"; rc=$?
[ "$rc" -eq 0 ] || printf '%s %s %s\n' "$AGENT_QUEUE_EVENT" "$rc" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$AGENT_QUEUE_NOTIFY_FAILED""#;

/// Where a notifier's failures are noted, beside the state file.
pub fn failed_path(state_file: &std::path::Path) -> PathBuf {
    state_file.with_file_name("notify.failed")
}

/// Warns of the notifier's failed runs since the last warning, once each:
/// the notes are taken (renamed) before they are read, so that two
/// subcommands at once do not both warn of the same run.
pub fn report_failures(state_file: &std::path::Path) {
    let failed = failed_path(state_file);
    if !failed.exists() {
        return;
    }
    let taken = failed.with_file_name(format!("notify.failed.{}", std::process::id()));
    if std::fs::rename(&failed, &taken).is_err() {
        return;
    }
    let text = std::fs::read_to_string(&taken).unwrap_or_default();
    let _ = std::fs::remove_file(&taken);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let Some(last) = lines.last() else {
        return;
    };
    let mut words = last.split_whitespace();
    let (event, status, at) = (
        words.next().unwrap_or("?"),
        words.next().unwrap_or("?"),
        words.next().unwrap_or("?"),
    );
    let log = state_file.with_file_name("notify.log");
    let more = match lines.len() {
        1 => String::new(),
        n => format!(" ({} earlier failures too)", n - 1),
    };
    report::warn(format!(
        "[notify] command for `{event}` exited {status} at {at}{more}; its output is in {}",
        log.display()
    ));
}

impl Notifier {
    /// Whether `event` is one the notifier wants.
    pub fn wants(&self, event: &str) -> bool {
        self.notify.command.is_some() && self.notify.events.iter().any(|e| e == event)
    }

    /// Starts the command with `line` (the event's journal line) on its
    /// standard input and returns at once.
    pub fn send(&self, event: &str, line: &str) {
        let Some(command) = &self.notify.command else {
            return;
        };
        if !self.wants(event) {
            return;
        }
        if let Err(e) = self.spawn(command, event, line) {
            report::warn(format!("[notify] command for `{event}`: {e:#}"));
        }
    }

    fn spawn(&self, command: &str, event: &str, line: &str) -> anyhow::Result<()> {
        let log = crate::store::private::open(&self.log, crate::store::private::Access::Append)
            .map_err(|e| anyhow::anyhow!("opening {}: {e}", self.log.display()))?;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(RUN_AND_NOTE)
            .arg(command)
            .env("AGENT_QUEUE_EVENT", event)
            .env("AGENT_QUEUE_NOTIFY_FAILED", &self.failed)
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log);
        // The notifier outlives a hook whose process group Claude Code ends.
        crate::detach::in_own_session(&mut cmd, None);
        let mut child = cmd
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting `sh -c`: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            // One history line is far below a pipe's buffer: this never
            // blocks; a notifier that exits without reading is no error.
            let _ = stdin.write_all(line.as_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn config(extra: &str) -> anyhow::Result<crate::config::Config> {
        crate::config::parse(
            &format!("[projects]\npaths = []\n[pool]\nprefix = \"a-\"\n{extra}"),
            Path::new("/c/config.toml"),
        )
    }

    #[test]
    fn notify_defaults_to_no_command_and_the_contracts_events() {
        let c = config("").unwrap();
        assert_eq!(c.notify.command, None);
        assert_eq!(c.notify.events, super::DEFAULT_EVENTS);
        let c = config("[notify]\ncommand = \"cat\"\nevents = [\"done\"]\n").unwrap();
        let n = super::Notifier {
            notify: c.notify,
            log: "/dev/null".into(),
            failed: "/dev/null".into(),
        };
        assert!(n.wants("done") && !n.wants("failed"));
        let err = config("[notify]\ncomand = \"cat\"\n").err().unwrap();
        assert!(format!("{err:#}").contains("comand"), "{err:#}");
    }
}
