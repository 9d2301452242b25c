//! `[ssh]`: how agent-queue reaches the tmux server of a pool that names a
//! `host`. The program is any that keeps ssh's convention (options, the
//! host, then one command line that the remote shell parses again): ssh
//! itself, a wrapper script, `tsh ssh`. Whether a server is remote is said
//! by the config (`host`), never guessed from a program's file name.

use std::time::Duration;

use serde::Deserialize;

use super::duration;
use crate::error::bad_input;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ssh {
    /// The argv prefix put before the host: `["ssh"]`, `["tsh", "ssh"]`.
    pub command: Vec<String>,
    /// The program takes OpenSSH's `-o` options: agent-queue adds its own
    /// (one shared connection per host, no password prompt, a bounded
    /// connect). Off for a program that takes none.
    pub openssh: bool,
    /// How long one call to a host may take before the host counts as not
    /// answering (for the rest of that invocation).
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
}

impl Default for Ssh {
    fn default() -> Self {
        Ssh {
            command: vec!["ssh".into()],
            openssh: true,
            timeout: Duration::from_secs(8),
        }
    }
}

impl Ssh {
    pub(super) fn check(&self) -> anyhow::Result<()> {
        if self.command.is_empty() {
            return Err(bad_input(
                "[ssh] command is empty: it needs at least the program, e.g. [\"ssh\"]",
            ));
        }
        if self.timeout < Duration::from_millis(100) {
            return Err(bad_input(
                "[ssh] timeout is below 100ms: no host answers that fast",
            ));
        }
        Ok(())
    }
}

/// A pool's `host`: what ssh would not read as an option or as two words.
pub(super) fn check_host(table: &str, host: &str) -> anyhow::Result<()> {
    if host.is_empty() || host.starts_with('-') || host.chars().any(|c| c.is_whitespace()) {
        return Err(bad_input(format!(
            "{table} host = {host:?}: a host is one word that does not start with `-` (e.g. \"agent@box2\")"
        )));
    }
    Ok(())
}
