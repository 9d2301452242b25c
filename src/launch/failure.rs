//! Why a launch failed before the agent's prompt, in words that name the
//! session, what it showed and, for the screens no answer gets past, what
//! to do about them.

use super::ready::{self, Failure};
use super::{Launch, LaunchError};
use crate::config::Dialog;
use crate::tmux::Screen;

impl Launch<'_> {
    pub(super) fn failure(&self, failure: Failure<'_>, s: &Screen) -> LaunchError {
        match failure {
            Failure::NotStarted => self.fail(
                format!(
                    "the typed command did not start within {} (is the pane at a shell \
                     prompt, with `tmux` on its PATH?)",
                    crate::clock::format_duration(ready::START_GRACE)
                ),
                s,
            ),
            Failure::Exited(status, dialog) => {
                let at = dialog
                    .map(|d| format!(", at its {} screen{}", d.name, fix(d)))
                    .unwrap_or_default();
                self.fail_quoting(
                    format!("the agent exited (status {status}) before its prompt{at}"),
                    s,
                    6,
                )
            }
            Failure::Replaced => self.fail("its pane was closed or replaced during the launch", s),
            Failure::Unanswered(d) if !fix(d).is_empty() => self.fail_at(
                format!("the agent stopped at its {} screen{}", d.name, fix(d)),
                s,
                d,
            ),
            Failure::Unanswered(d) => self.fail_at(
                format!(
                    "the agent stopped at its {} dialog, which the config does not answer ([[agent.dialog]]{})",
                    d.name,
                    d.accepted_by
                        .map(|a| format!(" name = {:?}, match = {:?}, choose = {a:?} accepts it", d.name, d.matches))
                        .unwrap_or_default()
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
                    "no ready marker `{}` within {}",
                    self.agent.ready_marker,
                    crate::clock::format_duration(self.agent.ready_timeout)
                ),
                s,
            ),
        }
    }
}

/// What to do about a screen that no answer gets past (the agent exits
/// there), for the built-in dialogs that are such; empty for the others.
fn fix(d: &Dialog) -> &'static str {
    match d.name.to_ascii_lowercase().as_str() {
        "no service" => {
            ": Claude Code is in its first-run onboarding, which needs Anthropic's servers; \
             no [[agent.dialog]] answer gets past it. Set \"hasCompletedOnboarding\": true in \
             the account's ~/.claude.json (or $CLAUDE_CONFIG_DIR/.claude.json), or run `claude` \
             once by hand and log in (docs/claude-code.md)"
        }
        "as root" => ": as root, --dangerously-skip-permissions needs IS_SANDBOX=1 in the agent's environment",
        _ => "",
    }
}
