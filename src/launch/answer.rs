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
/// How long the cursor must stay on the option before Enter.
const STAYS: Duration = Duration::from_millis(200);
/// How often the moves are made again when the cursor was put back.
const ATTEMPTS: usize = 3;

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

    /// Picks the option that reads `choose`: moves the cursor onto it,
    /// and presses Enter once the cursor has stayed there `STAYS` (a
    /// dialog drawn again puts its cursor back: then it starts over, at
    /// most `ATTEMPTS` times). Returns the option's text.
    fn choose(&self, d: &Dialog, choose: &str, screen: &Screen) -> Result<String, LaunchError> {
        let marker = &self.agent.ready_marker;
        let mut screen = screen.clone();
        for _ in 0..ATTEMPTS {
            let (option, landed) = self.move_to(d, choose, &screen)?;
            screen = self.poll(POLL, STAYS, |s| {
                menu::read(&s.text, marker).is_none_or(|m| m.pick(choose) != Pick::Confirm)
            })?;
            if menu::read(&screen.text, marker).is_some_and(|m| m.pick(choose) == Pick::Confirm)
                && !self.pane.ended(&screen)
            {
                self.pane.keys(&["Enter"]).map_err(|e| self.tmux_error(e))?;
                return Ok(option);
            }
            if self.pane.ended(&screen) || !screen.text.contains(&d.matches) {
                screen = landed;
                break;
            }
        }
        Err(self.fail_at(
            format!(
                "the cursor did not stay on `{choose}` in the {} dialog; Enter was not pressed",
                d.name
            ),
            &screen,
            d,
        ))
    }

    /// Moves the cursor onto the option for `choose`; its text, and the
    /// screen that shows the cursor there.
    fn move_to(
        &self,
        d: &Dialog,
        choose: &str,
        screen: &Screen,
    ) -> Result<(String, Screen), LaunchError> {
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
        let wrong = match menu.pick(choose) {
            Pick::Confirm => Ok(0),
            Pick::Move(n) => Ok(n),
            Pick::NotFound(options) => Err(format!(
                "the {} dialog has no option `{choose}` (it offers: {})",
                d.name,
                options.join(" / ")
            )),
            Pick::Ambiguous(options) => Err(format!(
                "`{choose}` is in several options of the {} dialog ({}): write one whole",
                d.name,
                options.join(" / ")
            )),
        };
        let steps = wrong.map_err(|what| self.fail_at(what, screen, d))?;
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
        Ok((option, last))
    }
}
