//! Starting the agent in a session and handing it one task: type `cd` and the
//! agent command, wait for its prompt (answering or refusing the dialogs the
//! config names), paste the message as one bracketed paste, press Enter, and
//! check that Enter was taken. Every wait is a poll of the screen with a
//! deadline; nothing sleeps a fixed time hoping the agent is ready.

pub mod ready;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use crate::accounts::limits::Patterns;
use crate::config::{Agent, Dialog};
use crate::output::report;
use crate::pane::agent::AgentPane;
use crate::pane::screen;
use crate::pane::Activity;
use crate::store::state::Store;
use crate::tmux::Screen;
use ready::{Failure, ReadyWait, Step};

pub use crate::pane::agent::POLL;
pub use words::{agent_command, command_line, message, resume_id, strip_controls};

mod words;
/// How long a paste may take to show in the agent's input before Enter is
/// pressed anyway (only an agent that does not echo its input waits it out).
const PASTE_SETTLE: Duration = Duration::from_secs(5);
/// How long Enter may take to be taken before it is pressed once more.
const ENTER_SETTLE: Duration = Duration::from_millis(1500);
/// How often the screen is read while a paste is awaited and while Enter
/// is checked: both show within tens of milliseconds, and every one of
/// them adds to a dispatch's time.
const ENTER_POLL: Duration = Duration::from_millis(10);
/// How long a receipt may take after Enter before Enter is pressed again
/// (Claude Code's `UserPromptSubmit` hook runs 40–80 ms after it).
const RECEIPT_SETTLE: Duration = Duration::from_secs(3);

/// How far a launch got; written into the launch lock file so that a scan
/// that finds the launcher dead knows whether the agent may have the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Typed,
    Ready,
    /// The paste command was started: the agent may or may not have it.
    Pasting,
    /// tmux returned from the paste: the text is in the agent's input.
    Pasted,
    /// Enter was sent (maybe not taken yet): recovery presses no more.
    Entered,
    Submitted,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Typed => "typed",
            Stage::Ready => "ready",
            Stage::Pasting => "pasting",
            Stage::Pasted => "pasted",
            Stage::Entered => "entered",
            Stage::Submitted => "submitted",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        [
            Stage::Typed,
            Stage::Ready,
            Stage::Pasting,
            Stage::Pasted,
            Stage::Entered,
            Stage::Submitted,
        ]
        .into_iter()
        .find(|st| st.as_str() == s.trim())
    }
}

/// Why a launch failed, in words that name the session and what it showed.
#[derive(Debug, Clone)]
pub struct LaunchError {
    pub message: String,
    /// The agent's usage-limit line, when that is what stopped it.
    pub limit: Option<String>,
}

impl LaunchError {
    pub fn new(message: String) -> LaunchError {
        LaunchError {
            message,
            limit: None,
        }
    }
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LaunchError {}

pub struct Launch<'a> {
    /// The pane it launches into, with the start's nonce.
    pub pane: AgentPane<'a>,
    pub agent: &'a Agent,
    pub command_line: String,
    pub message: String,
    /// The launch lock file, where the stage reached is noted.
    pub progress: Option<&'a File>,
    /// Where the agent's hooks leave their delivery receipt.
    pub receipts: Option<&'a Store>,
    /// The agent's hooks sent receipts before: Enter counts as taken when
    /// the receipt comes, not when the screen changes.
    pub expect_receipt: bool,
    /// The agent's own usage-limit lines.
    pub limits: &'a Patterns,
}

impl Launch<'_> {
    fn session(&self) -> &str {
        self.pane.session
    }

    fn note(&self, stage: Stage) {
        if let Some(f) = self.progress {
            // Best effort: a lost note only makes recovery more cautious.
            let _ = f.set_len(0);
            let _ = f.write_at(stage.as_str().as_bytes(), 0);
        }
    }

    fn fail(&self, what: impl std::fmt::Display, screen: &Screen) -> LaunchError {
        self.fail_quoting(what, screen, 4)
    }

    fn fail_quoting(
        &self,
        what: impl std::fmt::Display,
        screen: &Screen,
        lines: usize,
    ) -> LaunchError {
        // The line agent-queue typed says nothing the operator needs, and
        // is long: what the shell and the agent printed is quoted.
        let nonce = &self.pane.started.nonce;
        let printed: String = screen
            .text
            .lines()
            .filter(|l| !l.contains(nonce.as_str()))
            .collect::<Vec<_>>()
            .join("\n");
        let last = screen::tail(&printed, lines);
        if last.is_empty() {
            LaunchError::new(format!("{}: {what}", self.session()))
        } else {
            LaunchError::new(format!("{}: {what}; it shows: {last}", self.session()))
        }
    }

    /// A failure at a dialog quotes the line that matched, then the last
    /// lines (the choices).
    fn fail_at(&self, what: impl std::fmt::Display, screen: &Screen, d: &Dialog) -> LaunchError {
        let last = screen::tail(&screen.text, 3);
        let shows = match screen::line_with(&screen.text, &d.matches) {
            Some(line) if !last.contains(line) => format!("{line} … {last}"),
            _ => last,
        };
        LaunchError::new(format!("{}: {what}; it shows: {shows}", self.session()))
    }

    /// A tmux failure, named by session.
    fn tmux_error(&self, e: anyhow::Error) -> LaunchError {
        LaunchError::new(format!("{}: {e:#}", self.session()))
    }

    fn screen(&self) -> Result<Screen, LaunchError> {
        self.pane.read().map_err(|e| self.tmux_error(e))
    }

    fn poll(
        &self,
        every: Duration,
        limit: Duration,
        done: impl Fn(&Screen) -> bool,
    ) -> Result<Screen, LaunchError> {
        self.pane
            .poll_until(every, limit, done)
            .map_err(|e| self.tmux_error(e))
    }

    fn limit_error(&self, line: String) -> LaunchError {
        LaunchError {
            message: format!(
                "{}: the agent's account hit its usage limit: {line}",
                self.session()
            ),
            limit: Some(line),
        }
    }

    /// The agent says its account hit its usage limit: the launch fails
    /// at once, naming the limit (and nothing is typed into its menu).
    fn limited(&self, screen: &Screen) -> Option<LaunchError> {
        let line = self.limits.find(&screen.text)?;
        Some(self.limit_error(crate::accounts::limits::one_line(line)))
    }

    /// A configured dialog on the screen, once the message is in the agent:
    /// one whose text the message itself holds cannot be told from it.
    fn dialog_after_paste<'s>(&'s self, screen: &Screen) -> Option<&'s Dialog> {
        self.agent
            .dialogs
            .iter()
            .filter(|d| !d.matches.is_empty() && !self.message.contains(&d.matches))
            .find(|d| screen.text.contains(&d.matches))
    }

    /// Runs the whole launch; on error the caller puts the task back.
    pub fn run(&self) -> Result<(), LaunchError> {
        // The pane is reset first, so that only what it shows after this
        // launch counts (an agent that exited leaves its last screen, prompt
        // marker included).
        self.pane
            .type_line(&self.command_line)
            .map_err(|e| self.tmux_error(e))?;
        self.note(Stage::Typed);
        let ready = self.wait_ready()?;
        self.note(Stage::Ready);
        let marker = &self.agent.ready_marker;
        let before = screen::input(&ready.text, marker);

        self.note(Stage::Pasting);
        self.pane
            .paste(&self.message)
            .map_err(|e| self.tmux_error(e))?;
        self.note(Stage::Pasted);
        // Enter only once the paste shows in the input: an agent that has
        // just drawn its prompt may drop an Enter that comes before (Claude
        // Code 2.1.197 does, for short and long pastes alike). An agent that
        // does not echo what it is given is waited for until PASTE_SETTLE.
        let typed = |s: &Screen| {
            screen::input(&s.text, marker).filter(|i| !i.is_empty() && Some(i) != before.as_ref())
        };
        let shown = self.poll(ENTER_POLL, PASTE_SETTLE, |s| {
            self.pane.ended(s)
                || self.dialog_after_paste(s).is_some()
                || typed(s).is_some()
                || self.limited(s).is_some()
        })?;
        if let Some(limited) = self.limited(&shown) {
            return Err(limited);
        }
        if self.pane.ended(&shown) {
            return Err(self.exited_before_taking(&shown));
        }
        if let Some(d) = self.dialog_after_paste(&shown) {
            return Err(self.fail_at(
                format!(
                    "the agent showed its {} dialog after its prompt; Enter was not pressed",
                    d.name
                ),
                &shown,
                d,
            ));
        }
        self.note(Stage::Entered);
        self.press_enter(typed(&shown))?;
        self.note(Stage::Submitted);
        Ok(())
    }

    fn exited_before_taking(&self, s: &Screen) -> LaunchError {
        let status = match self.pane.activity(s) {
            Activity::Exited(status) => format!(" (status {status})"),
            _ => " (its pane was replaced)".to_string(),
        };
        self.fail_quoting(
            format!("the agent exited{status} before it took the task"),
            s,
            6,
        )
    }

    /// Reads the pane until the agent is at its prompt, by the rules of
    /// `ready` (answering the dialogs the config answers).
    fn wait_ready(&self) -> Result<Screen, LaunchError> {
        let start = Instant::now();
        let mut wait = ReadyWait::new(self.agent, self.limits);
        loop {
            let s = self.screen()?;
            match wait.next(&s.text, &self.pane.activity(&s), start.elapsed()) {
                Step::Ready => return Ok(s),
                Step::Wait => {}
                Step::Answer(d) => self
                    .pane
                    .config_keys(&d.answer)
                    .map_err(|e| self.tmux_error(e))?,
                Step::Fail(failure) => return Err(self.failure(failure, &s)),
            }
            std::thread::sleep(POLL);
        }
    }

    fn failure(&self, failure: Failure<'_>, s: &Screen) -> LaunchError {
        match failure {
            Failure::NotStarted => self.fail(
                format!(
                    "the typed command did not start within {}s (is the pane at a shell \
                     prompt, with `tmux` on its PATH?)",
                    ready::START_GRACE.as_secs()
                ),
                s,
            ),
            Failure::Exited(status, dialog) => {
                let at = dialog
                    .map(|d| format!(", at its {} screen", d.name))
                    .unwrap_or_default();
                self.fail_quoting(
                    format!("the agent exited (status {status}) before its prompt{at}"),
                    s,
                    6,
                )
            }
            Failure::Replaced => self.fail("its pane was closed or replaced during the launch", s),
            Failure::Unanswered(d) => self.fail_at(
                format!(
                    "the agent stopped at its {} dialog, which the config does not answer ([[agent.dialog]])",
                    d.name
                ),
                s,
                d,
            ),
            Failure::Stayed(d) => self.fail_at(
                format!("the {} dialog stayed after its configured answer", d.name),
                s,
                d,
            ),
            Failure::Limit(line) => self.limit_error(line),
            Failure::Timeout => self.fail(
                format!(
                    "no ready marker `{}` within {}s",
                    self.agent.ready_marker,
                    self.agent.ready_timeout.as_secs_f32()
                ),
                s,
            ),
        }
    }

    /// Whether the agent's hook has sent the receipt for this start.
    fn received(&self) -> bool {
        self.receipts.is_some_and(|store| {
            store.read().is_ok_and(|state| {
                state
                    .sessions
                    .get(self.session())
                    .and_then(|s| s.receipt.as_ref())
                    .is_some_and(|r| r.nonce == self.pane.started.nonce)
            })
        })
    }

    /// Enter on its own, then once more if the task was not taken: Claude
    /// Code drops an Enter that comes too soon after its prompt appears.
    ///
    /// Taken means: the agent's `UserPromptSubmit` hook sent its receipt
    /// (`hook`); or, when no receipt is expected (no hooks were heard from
    /// this session), that the input no longer shows what was pasted, as
    /// Claude Code empties its input box when it takes Enter and a line
    /// agent prints below it. A second Enter on an empty input does nothing
    /// (Claude Code sends no prompt for it). `typed` is the input as it
    /// showed after the paste; `None` when the agent did not show it.
    ///
    /// Enter goes only to the agent that was started: a screen read just
    /// before shows it running, and an agent that exits before its input
    /// changed fails the launch (what it was sent never reaches the shell:
    /// the started script discards it).
    fn press_enter(&self, typed: Option<screen::Input>) -> Result<(), LaunchError> {
        let marker = &self.agent.ready_marker;
        let waiting = |s: &Screen| screen::input(&s.text, marker).as_ref() == typed.as_ref();
        let limit = if self.expect_receipt {
            RECEIPT_SETTLE
        } else {
            ENTER_SETTLE
        };
        for attempt in 1..=2 {
            let before = self.screen()?;
            if self.pane.ended(&before) {
                return Err(self.exited_before_taking(&before));
            }
            if attempt == 2 {
                report::debug(format!(
                    "{}: the agent did not take Enter; pressing it once more",
                    self.session()
                ));
            }
            self.pane.keys(&["Enter"]).map_err(|e| self.tmux_error(e))?;
            if typed.is_none() && !self.expect_receipt {
                return Ok(());
            }
            // Read often: the launch holds the session's launch lock until
            // it returns, and the recycle that a fast agent's Stop hook
            // starts waits for that lock before it hands the session its
            // next task.
            let taken = |s: &Screen| {
                self.received() || (!self.expect_receipt && typed.is_some() && !waiting(s))
            };
            let s = self.poll(ENTER_POLL, limit, |s| {
                self.pane.ended(s) || taken(s) || self.limited(s).is_some()
            })?;
            if let Some(limited) = self.limited(&s) {
                return Err(limited);
            }
            if taken(&s) {
                return Ok(());
            }
            if self.pane.ended(&s) {
                return Err(self.exited_before_taking(&s));
            }
        }
        let s = self.screen()?;
        if self.expect_receipt {
            if typed.is_some() && !waiting(&s) && !self.pane.ended(&s) {
                // The screen says taken; settle warns that no receipt came.
                return Ok(());
            }
            return Err(self.fail(
                "the agent never sent the receipt of its task (UserPromptSubmit hook) after \
                 two Enters",
                &s,
            ));
        }
        report::warn(format!(
            "{}: the task still waits in the agent's input after a second Enter; it shows: {}",
            self.session(),
            screen::tail(&s.text, 4)
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
