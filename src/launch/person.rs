//! The last look before the paste: nothing is pasted over a person. A draft
//! in the agent's input, a pane in a mode, or a client's recent input (when
//! the session was picked automatically) stops the launch.

use super::{Launch, LaunchError, Person};
use crate::pane::screen;
use crate::tmux::Screen;

/// What the read that found the agent ready said of the pane's clients:
/// it asks only when a person at the pane matters (`hands_off`), so that
/// the look before the paste costs no call of its own.
#[derive(Debug, Clone, Copy)]
pub(super) enum Clients {
    NotRead,
    /// The newest input of any client (seconds since the epoch), `None`
    /// when no client is attached.
    Read {
        last_input: Option<u64>,
    },
}

impl Launch<'_> {
    /// Nothing is pasted over a person: a draft in the agent's input (text
    /// typed into the pane while the agent started), or a pane in a mode.
    /// `clients` is what the read that found the agent ready said of the
    /// pane's clients, when it asked.
    pub(super) fn person_at(&self, ready: &Screen, clients: Clients) -> Result<(), LaunchError> {
        use crate::dispatch::hands_off::{self, Hold};
        // One look at the clients, for a person who came during the launch.
        let input = || -> Result<Option<Hold>, LaunchError> {
            let Some(window) = self.hands_off else {
                return Ok(None);
            };
            let last = match clients {
                Clients::Read { last_input } => last_input,
                Clients::NotRead => self
                    .pane
                    .tmux
                    .last_input(&self.pane.started.pane)
                    .map_err(|e| self.tmux_error(e))?,
            };
            Ok(last.and_then(|l| hands_off::recent(l, window, crate::clock::now())))
        };
        let person = match (
            &ready.mode,
            screen::input(&ready.text, &self.agent.ready_marker),
        ) {
            (Some(mode), _) => Person::Operator(Hold::Mode(mode.clone())),
            (None, Some(input)) if !input.is_empty() => Person::Draft(input.line),
            _ => match input()? {
                Some(hold) => Person::Operator(hold),
                None => return Ok(()),
            },
        };
        let what = match &person {
            Person::Draft(text) => format!(
                "the agent's input already holds text that agent-queue did not type ({:?}); \
                 nothing was pasted over it",
                screen::clip(text, 60)
            ),
            Person::Operator(hold) => {
                format!("{hold} (seen when its agent was ready); nothing was pasted")
            }
        };
        Err(LaunchError::Person {
            message: format!("{}: {what}", self.session()),
            person,
        })
    }
}
