//! The one way agent-queue drives a pane it started an agent in: read it,
//! poll it until something shows, type a line, send keys, paste, stop the
//! agent, ask it to exit. Every wait here is a poll with a limit, never a
//! fixed sleep; and whether the agent runs comes from the pane's own report
//! (`pane`), never from the name tmux gives its program.

use std::time::{Duration, Instant};

use crate::output::report;
use crate::pane::{self, Activity, Started};
use crate::tmux::{Screen, Tmux};

/// How often a pane is read while waiting (no slower than every 50 ms).
pub const POLL: Duration = Duration::from_millis(20);

/// A session's pane and the start of the agent in it.
pub struct AgentPane<'a> {
    pub tmux: &'a Tmux,
    pub session: &'a str,
    pub started: &'a Started,
}

impl AgentPane<'_> {
    fn target(&self) -> &str {
        &self.started.pane
    }

    /// The screen, and what the pane reports.
    pub fn read(&self) -> anyhow::Result<Screen> {
        self.tmux.screen(self.target())
    }

    /// What the started agent is doing, as `screen` shows it.
    pub fn activity(&self, screen: &Screen) -> Activity {
        pane::activity(
            self.started,
            self.target(),
            screen.pid,
            screen.mark.as_ref(),
        )
    }

    pub fn runs(&self, screen: &Screen) -> bool {
        self.activity(screen) == Activity::Running
    }

    /// It returned, or its pane is gone: either way it reads nothing more.
    pub fn ended(&self, screen: &Screen) -> bool {
        matches!(
            self.activity(screen),
            Activity::Exited(_) | Activity::Replaced
        )
    }

    /// Reads every `every` until `done` holds or `limit` passes; the last
    /// screen either way.
    pub fn poll_until(
        &self,
        every: Duration,
        limit: Duration,
        done: impl Fn(&Screen) -> bool,
    ) -> anyhow::Result<Screen> {
        let start = Instant::now();
        loop {
            let s = self.read()?;
            if done(&s) || start.elapsed() >= limit {
                return Ok(s);
            }
            std::thread::sleep(every);
        }
    }

    /// Clears the screen and the shell's input line, then types `line` and
    /// Enter.
    pub fn type_line(&self, line: &str) -> anyhow::Result<()> {
        self.tmux.reset_and_type(self.target(), line)
    }

    /// `type_line`, with the start's environment (`launch::environment`)
    /// handed over in the same tmux call through the buffer the line's
    /// script reads and deletes (`pane::env_buffer`).
    pub fn type_line_with_env(&self, line: &str, env: &str) -> anyhow::Result<()> {
        let buffer = pane::env_buffer(&self.started.nonce);
        self.tmux
            .load_reset_and_type(self.target(), line, Some((&buffer, env.as_bytes())))
    }

    /// Deletes the environment's buffer of a start whose script never read it.
    pub fn forget_env(&self) {
        self.tmux
            .forget_buffer(&pane::env_buffer(&self.started.nonce));
    }

    /// Key names agent-queue or the config chose (never a task's text).
    pub fn keys(&self, keys: &[&str]) -> anyhow::Result<()> {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        self.tmux.send_keys(self.target(), &keys)
    }

    pub fn config_keys(&self, keys: &[String]) -> anyhow::Result<()> {
        self.tmux.send_keys(self.target(), keys)
    }

    /// One bracketed paste.
    pub fn paste(&self, text: &str) -> anyhow::Result<()> {
        self.tmux.paste(self.target(), text)
    }

    /// Stops the agent: `C-c`, then `C-c` again once the first has shown its
    /// effect (Claude Code: "Press Ctrl-C again to exit"; sent at once, its
    /// API-key question stays), and when it still runs after both, its pane
    /// is respawned (tmux kills what it runs and starts its shell again).
    /// Nothing is ever answered: a dialog or a limit's menu gets no Enter.
    /// Returns whether nothing agent-queue started runs there any more.
    pub fn stop(&self) -> bool {
        let read = || self.read().ok();
        // A pane that cannot be read (its server does not answer) is
        // unknown, not stopped: its agent may still run there.
        let runs = |s: &Option<Screen>| s.as_ref().is_none_or(|s| self.runs(s));
        for wait in [Duration::from_millis(500), Duration::from_secs(2)] {
            let before = read();
            if !runs(&before) {
                return true;
            }
            if self.keys(&["C-c"]).is_err() {
                break;
            }
            if wait > Duration::from_secs(1) {
                // The second C-c was the last key.
                self.release();
            }
            let start = Instant::now();
            while start.elapsed() < wait {
                std::thread::sleep(Duration::from_millis(20));
                let now = read();
                if !runs(&now) {
                    return true;
                }
                let changed = now.as_ref().map(|s| &s.text) != before.as_ref().map(|s| &s.text);
                if changed && wait < Duration::from_secs(1) {
                    break;
                }
            }
        }
        if !runs(&read()) {
            return true;
        }
        let session = self.session;
        match self.tmux.respawn(self.target()) {
            Ok(()) => {
                report::warn(format!(
                    "{session}: its agent did not exit after C-c twice; its pane was respawned (a new shell)"
                ));
                true
            }
            Err(e) => {
                report::warn(format!(
                    "{session}: its agent did not exit after C-c twice and its pane could not be \
                     respawned ({e:#}); the session takes no task until the agent exits"
                ));
                false
            }
        }
    }

    /// Says that nothing more will be typed into this agent, so that the
    /// started script ends its discarding of input as soon as it returns. A
    /// failure costs only time (the script waits out its bound).
    pub fn release(&self) {
        if let Err(e) = self.tmux.release(&self.started.nonce) {
            report::debug(format!("{}: {e:#}", self.session));
        }
    }

    /// Types `/exit` into the agent, Enter once it shows (sent together, an
    /// agent that reads input in chunks could take the pair for a paste),
    /// and waits up to `limit` until it has exited. Returns whether it did.
    pub fn exit(&self, limit: Duration) -> anyhow::Result<bool> {
        self.tmux.type_text(self.target(), "/exit")?;
        let s = self.poll_until(POLL, Duration::from_secs(5), |s| {
            s.text.contains("/exit") || !self.runs(s)
        })?;
        if self.runs(&s) {
            self.keys(&["Enter"])?;
        }
        self.release();
        let s = self.poll_until(POLL, limit, |s| !self.runs(s))?;
        Ok(!self.runs(&s))
    }
}
