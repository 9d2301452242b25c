//! `[notify]`: a command the operator chose runs for each event they named,
//! with the event's history line on its standard input. It runs detached, in
//! its own session, its output appended to `notify.log` beside the state
//! file, and is never waited for: a slow, failing or missing notifier must
//! not delay, fail or change the subcommand that reported the event (a hook
//! that Claude Code waits for above all). Only its start can fail here, and
//! that is a warning.

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
            .arg(command)
            .env("AGENT_QUEUE_EVENT", event)
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
        };
        assert!(n.wants("done") && !n.wants("failed"));
        let err = config("[notify]\ncomand = \"cat\"\n").err().unwrap();
        assert!(format!("{err:#}").contains("comand"), "{err:#}");
    }
}
