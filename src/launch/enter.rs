//! Enter, and knowing it was taken: by the agent's receipt when its hooks
//! send one, or by its input no longer holding the paste. Claude Code drops
//! an Enter that comes too soon after its prompt, so a second one follows
//! when the first was not taken, and never a third.

use super::{Launch, LaunchError, ENTER_POLL, ENTER_SETTLE, RECEIPT_SETTLE};
use crate::output::report;
use crate::pane::screen;
use crate::tmux::Screen;

impl Launch<'_> {
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
    /// the started script discards it). `shown` is the screen read just
    /// before (the one that showed the paste): the first Enter goes by it,
    /// with no read of its own in between.
    pub(super) fn press_enter(
        &self,
        typed: Option<screen::Input>,
        shown: Screen,
    ) -> Result<(), LaunchError> {
        let marker = &self.agent.ready_marker;
        let waiting = |s: &Screen| screen::input(&s.text, marker).as_ref() == typed.as_ref();
        let limit = if self.expect_receipt {
            RECEIPT_SETTLE
        } else {
            ENTER_SETTLE
        };
        let mut just_read = Some(shown);
        for attempt in 1..=2 {
            let before = match just_read.take() {
                Some(s) => s,
                None => self.screen()?,
            };
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
