//! Answering a dialog as the config says: keys (`answer`), or an option
//! picked by its text (`choose`): the cursor is moved onto it one key at a
//! time, each move seen on the screen (a menu may wrap around, so no key is
//! pressed blind), and Enter only once the cursor is on that option. A
//! dialog answered is a line on stderr and an `answered` event in the
//! history: the agent records the answer (a folder trusted, a key approved).

use std::time::Duration;

use super::{Launch, LaunchError, POLL};
use crate::config::Dialog;
use crate::output::report::{self, Event};
use crate::pane::menu::{self, Pick};
use crate::tmux::Screen;

/// How long one cursor move may take to show.
const MOVE_SETTLE: Duration = Duration::from_secs(2);

impl Launch<'_> {
    /// Answers dialog `d`, shown on `screen`.
    pub(super) fn answer(&self, d: &Dialog, screen: &Screen) -> Result<(), LaunchError> {
        let option = match &d.choose {
            Some(choose) => self.choose(d, choose, screen)?,
            None => {
                self.pane
                    .config_keys(&d.answer)
                    .map_err(|e| self.tmux_error(e))?;
                d.answer.join(" ")
            }
        };
        report::logged(&Event::Answered {
            task: self.task.to_path_buf(),
            session: self.session().to_string(),
            dialog: d.name.clone(),
            option,
        });
        Ok(())
    }

    /// Picks the option that reads `choose`; returns its text.
    fn choose(&self, d: &Dialog, choose: &str, screen: &Screen) -> Result<String, LaunchError> {
        let marker = &self.agent.ready_marker;
        let not_a_menu = || {
            self.fail_at(
                format!(
                    "the {} dialog shows no menu with the cursor `{marker}` to choose `{choose}` in",
                    d.name
                ),
                screen,
                d,
            )
        };
        let menu = menu::read(&screen.text, marker).ok_or_else(not_a_menu)?;
        let steps = match menu.pick(choose) {
            Pick::Confirm => 0,
            Pick::Move(n) => n,
            Pick::NotFound(options) => {
                return Err(self.fail_at(
                    format!(
                        "the {} dialog has no option `{choose}` (it offers: {})",
                        d.name,
                        options.join(" / ")
                    ),
                    screen,
                    d,
                ))
            }
            Pick::Ambiguous(options) => {
                return Err(self.fail_at(
                    format!(
                        "`{choose}` is in several options of the {} dialog ({}): write one whole",
                        d.name,
                        options.join(" / ")
                    ),
                    screen,
                    d,
                ))
            }
        };
        let key = if steps > 0 { "Down" } else { "Up" };
        let mut cursor = menu.cursor as i32;
        let mut last = screen.clone();
        for _ in 0..steps.unsigned_abs() {
            cursor += steps.signum();
            self.pane.keys(&[key]).map_err(|e| self.tmux_error(e))?;
            last = self.poll(POLL, MOVE_SETTLE, |s| {
                menu::read(&s.text, marker).is_some_and(|m| m.cursor as i32 == cursor)
                    || self.pane.ended(s)
            })?;
        }
        let landed = menu::read(&last.text, marker)
            .filter(|m| m.pick(choose) == Pick::Confirm)
            .map(|m| m.current().to_string());
        let Some(option) = landed else {
            return Err(self.fail_at(
                format!(
                    "the cursor did not land on `{choose}` in the {} dialog; Enter was not pressed",
                    d.name
                ),
                &last,
                d,
            ));
        };
        self.pane.keys(&["Enter"]).map_err(|e| self.tmux_error(e))?;
        Ok(option)
    }
}
