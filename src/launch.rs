//! Starting the agent in a session and handing it one task: type `cd` and the
//! agent command, wait for its prompt (answering or refusing the dialogs the
//! config names), paste the message as one bracketed paste, press Enter, and
//! check that Enter was taken. Every wait is a poll of the screen with a
//! deadline; nothing sleeps a fixed time hoping the agent is ready.

mod answer;
mod enter;
mod error;
mod failure;
mod person;
pub mod ready;
pub mod secrets;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::accounts::limits::Patterns;
use crate::config::{Agent, Dialog};
use crate::output::report;
use crate::pane::agent::AgentPane;
use crate::pane::screen;
use crate::pane::Activity;
use crate::store::state::Store;
use crate::tmux::Screen;
use person::Clients;
use ready::{ReadyWait, Step};

pub use crate::pane::agent::POLL;
pub use error::{LaunchError, Person};
pub use words::{command_line, environment, message, resume_id};

mod words;
/// How long a paste may take to show in the agent's input before Enter is
/// pressed anyway (only an agent that does not echo its input waits it out).
const PASTE_SETTLE: Duration = Duration::from_secs(5);
/// How long Enter may take to be taken before it is pressed once more.
const ENTER_SETTLE: Duration = Duration::from_millis(1500);
/// How often the screen is read while a paste is awaited and while Enter
/// is checked: both show within tens of milliseconds, and every one of
/// them adds to a dispatch's time.
const ENTER_POLL: Duration = Duration::from_millis(2);
/// How often a local pane is read while its agent starts: half a poll is
/// what a dispatch adds, on average, to the agent's own start before the
/// prompt is first seen. (A host's panes are read every `POLL`: each read
/// may be a session over ssh.)
const START_POLL: Duration = Duration::from_millis(10);
/// How soon a prompt seen once is read again: the second read is there to
/// see that the screen stays drawn, not to wait a whole `POLL`.
const CONFIRM: Duration = Duration::from_millis(5);
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

pub struct Launch<'a> {
    /// The pane it launches into, with the start's nonce.
    pub pane: AgentPane<'a>,
    pub agent: &'a Agent,
    /// The task's file (claimed: `.dispatched`), for the history.
    pub task: &'a Path,
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
    /// A pool session the automatic choice picked: a client's input within
    /// this long before the paste stops it (`None`: not looked at).
    pub hands_off: Option<Duration>,
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
        LaunchError::Limit {
            message: format!(
                "{}: the agent's account hit its usage limit: {line}",
                self.session()
            ),
            line,
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

    /// Runs the whole launch; on error the caller puts the task back. An
    /// error never quotes a value of the profile's environment (the agent
    /// could print one): each is replaced by `$NAME`.
    pub fn run(&self) -> Result<(), LaunchError> {
        let env = environment(self.agent);
        if env.is_some() {
            report::debug(format!(
                "{}: the agent's environment ({}) goes through a tmux buffer, not the typed line",
                self.session(),
                secrets::names(&self.agent.env)
            ));
        }
        let outcome = self.run_with(env.as_deref());
        if outcome.is_err() && env.is_some() {
            self.pane.forget_env();
        }
        outcome.map_err(|mut e| {
            let shown = secrets::redact(e.message(), &self.agent.env);
            *e.message_mut() = shown;
            e
        })
    }

    fn run_with(&self, env: Option<&str>) -> Result<(), LaunchError> {
        // The pane is reset first, so that only what it shows after this
        // launch counts (an agent that exited leaves its last screen, prompt
        // marker included).
        match env {
            Some(env) => self.pane.type_line_with_env(&self.command_line, env),
            None => self.pane.type_line(&self.command_line),
        }
        .map_err(|e| self.tmux_error(e))?;
        self.note(Stage::Typed);
        let (ready, clients) = self.wait_ready()?;
        self.note(Stage::Ready);
        self.person_at(&ready, clients)?;
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
        self.press_enter(typed(&shown), shown)?;
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
    /// With the screen, the clients' newest input when a person at the pane
    /// matters (`hands_off`), read by the same call.
    fn wait_ready(&self) -> Result<(Screen, Clients), LaunchError> {
        let start = Instant::now();
        let mut wait = ReadyWait::new(self.agent, self.limits);
        loop {
            // The read that may find the agent ready asks for the clients too.
            let (s, clients) = if wait.prompt_seen_once() && self.hands_off.is_some() {
                let (s, last_input) = self
                    .pane
                    .tmux
                    .screen_and_last_input(&self.pane.started.pane)
                    .map_err(|e| self.tmux_error(e))?;
                (s, Clients::Read { last_input })
            } else {
                (self.screen()?, Clients::NotRead)
            };
            match wait.next(&s.text, &self.pane.activity(&s), start.elapsed()) {
                Step::Ready => return Ok((s, clients)),
                Step::Wait => {}
                Step::Answer(d) => self.answer(d, &s)?,
                Step::Fail(failure @ ready::Failure::Exited(..)) => {
                    // The screen and the mark are read in one call, but a
                    // script's end may be seen (its pid gone) after that
                    // read: one more read has what the agent printed last.
                    let last = self.screen().unwrap_or(s);
                    let failure = match (failure, self.pane.activity(&last)) {
                        (ready::Failure::Exited(_, d), Activity::Exited(status)) => {
                            ready::Failure::Exited(status, d)
                        }
                        (failure, _) => failure,
                    };
                    return Err(self.failure(failure, &last));
                }
                Step::Fail(failure) => return Err(self.failure(failure, &s)),
            }
            if wait.prompt_seen_once() {
                std::thread::sleep(CONFIRM);
            } else {
                sleep_to_tick(if self.pane.tmux.is_remote() {
                    POLL
                } else {
                    START_POLL
                });
            }
        }
    }
}

/// Sleeps until the next multiple of `every` since this process's first
/// tick: the launches of one scan then read their screens at the same
/// moments, and `batch` gathers those reads into one tmux call per tick
/// instead of one per launch, spread over the tick.
fn sleep_to_tick(every: Duration) {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    std::thread::sleep(to_next_tick(epoch.elapsed(), every));
}

/// From `since` (time since the first tick) to the next tick of `every`.
fn to_next_tick(since: Duration, every: Duration) -> Duration {
    let every = every.as_nanos().max(1);
    let since = since.as_nanos();
    let next = (since / every + 1) * every;
    Duration::from_nanos(u64::try_from(next - since).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
