//! When a new agent is ready for its task, decided from the screens read one
//! after another while it starts: a pure function of each screen, what the
//! pane reports, and the time since the command was typed, so every rule is
//! tested on screens captured from the real agent, without a pane.
//!
//! The rules: the agent must have started (the pane reports it within a
//! grace); an agent that exits, or whose pane goes, fails the launch at once;
//! a usage-limit line fails it at once; a configured dialog is answered once
//! (a dialog that stays after its answer fails it) or, without an answer,
//! fails it at once, naming it; the prompt counts once two reads in a row
//! show it and no dialog, so nothing is pasted into a screen still being
//! drawn; and past `ready_timeout`, the launch fails.

use std::time::Duration;

use crate::accounts::limits::Patterns;
use crate::config::{Agent, Dialog};
use crate::pane::screen;
use crate::pane::Activity;

/// How long the pane's shell may take to run the typed line (and the line
/// to report its start).
pub const START_GRACE: Duration = Duration::from_secs(5);
/// How long a dialog may stay after its answer.
pub const DIALOG_SETTLE: Duration = Duration::from_secs(5);
/// How long a dialog shows before it is answered: Claude Code (2.1.197 and
/// 2.1.332) draws a dialog, then within about 300 ms draws it again with
/// its cursor back at the start, dropping the keys that came between.
pub const DIALOG_QUIET: Duration = Duration::from_millis(700);
/// A dialog answered by `choose` that still shows this long after its
/// answer is answered once more (the answer reads the menu afresh, so a
/// lost key costs nothing); key answers are sent once.
pub const CHOOSE_AGAIN: Duration = Duration::from_secs(2);

/// What to do after a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    /// Read again.
    Wait,
    /// The agent is at its prompt: paste.
    Ready,
    /// Send the configured answer to this dialog.
    Answer(&'a Dialog),
    /// The launch fails.
    Fail(Failure<'a>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure<'a> {
    /// The typed line did not report its start within the grace.
    NotStarted,
    /// The agent exited, at this dialog's screen if one showed.
    Exited(i32, Option<&'a Dialog>),
    /// Its pane was closed or made again.
    Replaced,
    /// A dialog the config does not answer.
    Unanswered(&'a Dialog),
    /// A dialog that stayed after its answer.
    Stayed(&'a Dialog),
    /// The agent says its account hit its usage limit: this line.
    Limit(String),
    /// No prompt within `ready_timeout`.
    Timeout,
}

/// The state between reads.
pub struct ReadyWait<'a> {
    agent: &'a Agent,
    limits: &'a Patterns,
    ready_once: bool,
    /// Dialogs answered: when first, when last (times since the command
    /// was typed), and how often.
    answered: Vec<Answered<'a>>,
    /// The dialog on the last screen, and since when it shows.
    showing: Option<(&'a str, Duration)>,
}

struct Answered<'a> {
    name: &'a str,
    last: Duration,
    times: u32,
}

impl<'a> ReadyWait<'a> {
    pub fn new(agent: &'a Agent, limits: &'a Patterns) -> ReadyWait<'a> {
        ReadyWait {
            agent,
            limits,
            ready_once: false,
            answered: Vec::new(),
            showing: None,
        }
    }

    /// The last read showed the prompt for the first time: the next read
    /// decides.
    pub fn prompt_seen_once(&self) -> bool {
        self.ready_once
    }

    /// The next step after reading `text` with the pane reporting
    /// `activity`, `elapsed` after the command was typed.
    pub fn next(&mut self, text: &str, activity: &Activity, elapsed: Duration) -> Step<'a> {
        if let Some(line) = self.limits.find(text) {
            let line = crate::accounts::limits::one_line(line);
            return Step::Fail(Failure::Limit(line));
        }
        let dialog = screen::dialog(text, &self.agent.dialogs);
        match activity {
            Activity::Running => {}
            Activity::NotStarted if elapsed <= START_GRACE => return Step::Wait,
            Activity::NotStarted => return Step::Fail(Failure::NotStarted),
            Activity::Exited(status) => return Step::Fail(Failure::Exited(*status, dialog)),
            Activity::Replaced => return Step::Fail(Failure::Replaced),
        }
        let since = match (dialog, self.showing) {
            (Some(d), Some((name, at))) if name == d.name => at,
            _ => elapsed,
        };
        self.showing = dialog.map(|d| (d.name.as_str(), since));
        let step = match dialog {
            Some(d) if !d.is_answered() => Step::Fail(Failure::Unanswered(d)),
            Some(_) if elapsed.saturating_sub(since) < DIALOG_QUIET => Step::Wait,
            Some(d) => self.answer(d, elapsed),
            None => {
                let ready = screen::is_ready(text, &self.agent.ready_marker);
                let twice = ready && self.ready_once;
                self.ready_once = ready;
                if twice {
                    return Step::Ready;
                }
                Step::Wait
            }
        };
        if dialog.is_some() {
            self.ready_once = false;
        }
        match step {
            Step::Wait if elapsed > self.agent.ready_timeout => Step::Fail(Failure::Timeout),
            step => step,
        }
    }

    /// A configured answer to `d`, which has shown long enough: given once
    /// (a `choose` answer once more when the dialog stays), then the dialog
    /// may stay no longer than `DIALOG_SETTLE`.
    fn answer(&mut self, d: &'a Dialog, elapsed: Duration) -> Step<'a> {
        let Some(a) = self.answered.iter_mut().find(|a| a.name == d.name) else {
            self.answered.push(Answered {
                name: &d.name,
                last: elapsed,
                times: 1,
            });
            return Step::Answer(d);
        };
        let waited = elapsed.saturating_sub(a.last);
        if d.choose.is_some() && a.times < 2 && waited > CHOOSE_AGAIN {
            a.last = elapsed;
            a.times += 1;
            return Step::Answer(d);
        }
        if waited > DIALOG_SETTLE {
            return Step::Fail(Failure::Stayed(d));
        }
        Step::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pane::screen::real_screens::*;

    const NBSP: &str = "\u{a0}";
    const MS: Duration = Duration::from_millis(40);

    fn agent() -> Agent {
        Agent {
            dialogs: crate::config::default_dialogs(),
            ..Agent::default()
        }
    }

    fn ready_screen() -> String {
        real_prompt(&format!("❯{NBSP} "), "")
    }

    /// Feeds the screens one read apart; the steps.
    fn steps<'a>(w: &mut ReadyWait<'a>, screens: &[(&str, Activity)]) -> Vec<Step<'a>> {
        screens
            .iter()
            .enumerate()
            .map(|(i, (text, act))| w.next(text, act, MS * (i as u32 + 1)))
            .collect()
    }

    #[test]
    fn the_real_prompt_counts_on_its_second_read() {
        let (a, p) = (agent(), Patterns::default());
        let mut w = ReadyWait::new(&a, &p);
        let ready = ready_screen();
        let got = steps(
            &mut w,
            &[
                ("", Activity::NotStarted),
                ("$ sh -c '…'", Activity::Running),
                (&ready, Activity::Running),
                (&ready, Activity::Running),
            ],
        );
        assert_eq!(got, [Step::Wait, Step::Wait, Step::Wait, Step::Ready]);
    }

    /// Feeds screens at the given times (ms since the command was typed).
    fn timed<'a>(w: &mut ReadyWait<'a>, screens: &[(u64, &str)]) -> Vec<Step<'a>> {
        screens
            .iter()
            .map(|(ms, text)| w.next(text, &Activity::Running, Duration::from_millis(*ms)))
            .collect()
    }

    #[test]
    fn a_dialog_is_answered_once_it_has_shown_for_a_while_and_the_prompt_counts_again_after() {
        let mut a = agent();
        for d in a.dialogs.iter_mut().filter(|d| d.name == "folder trust") {
            d.answer = vec!["1".into()];
        }
        let p = Patterns::default();
        let mut w = ReadyWait::new(&a, &p);
        let ready = ready_screen();
        let quiet = DIALOG_QUIET.as_millis() as u64;
        let got = timed(
            &mut w,
            &[
                (40, &ready),
                (80, REAL_TRUST),
                (80 + quiet - 1, REAL_TRUST),
                (80 + quiet, REAL_TRUST),
                (120 + quiet, REAL_TRUST),
                (4000, REAL_TRUST),
                (4040, &ready),
                (4080, &ready),
            ],
        );
        assert_eq!(got[0], Step::Wait);
        assert_eq!(
            got[1..3],
            [Step::Wait, Step::Wait],
            "not while it may be redrawn"
        );
        assert!(matches!(got[3], Step::Answer(d) if d.name == "folder trust"));
        assert_eq!(got[4..6], [Step::Wait, Step::Wait], "keys are sent once");
        assert_eq!(got[6], Step::Wait, "the prompt's first read after a dialog");
        assert_eq!(got[7], Step::Ready);
    }

    #[test]
    fn a_chosen_option_is_chosen_once_more_when_the_dialog_stays_then_it_fails() {
        let mut a = agent();
        for d in a.dialogs.iter_mut().filter(|d| d.name == "folder trust") {
            d.choose = Some("Yes, I trust this folder".into());
        }
        let p = Patterns::default();
        let mut w = ReadyWait::new(&a, &p);
        let at = DIALOG_QUIET.as_millis() as u64 + 100;
        let again = at + CHOOSE_AGAIN.as_millis() as u64 + 1;
        let late = again + DIALOG_SETTLE.as_millis() as u64 + 1;
        let got = timed(
            &mut w,
            &[
                (100, REAL_332_TRUST),
                (at, REAL_332_TRUST),
                (at + 100, REAL_332_TRUST),
                (again, REAL_332_TRUST),
                (again + 100, REAL_332_TRUST),
                (late, REAL_332_TRUST),
            ],
        );
        assert_eq!(got[0], Step::Wait);
        assert!(matches!(got[1], Step::Answer(_)));
        assert_eq!(got[2], Step::Wait);
        assert!(matches!(got[3], Step::Answer(_)), "{got:?}");
        assert_eq!(got[4], Step::Wait);
        assert!(matches!(got[5], Step::Fail(Failure::Stayed(d)) if d.name == "folder trust"));
    }

    #[test]
    fn unanswered_dialogs_fail_at_once_by_name_and_a_dialog_that_stays_fails_later() {
        let a = agent();
        let p = Patterns::default();
        for (screen, name) in [
            (REAL_TRUST, "folder trust"),
            (REAL_API_KEY, "API key"),
            (REAL_BYPASS, "bypass warning"),
            (REAL_ONBOARDING, "onboarding"),
            (REAL_332_TRUST, "folder trust"),
            (REAL_332_API_KEY, "API key"),
            (REAL_332_BYPASS, "bypass warning"),
        ] {
            let mut w = ReadyWait::new(&a, &p);
            let got = w.next(screen, &Activity::Running, MS);
            assert!(
                matches!(got, Step::Fail(Failure::Unanswered(d)) if d.name == name),
                "{name}: {got:?}"
            );
        }
        let mut a = agent();
        for d in a.dialogs.iter_mut() {
            d.answer = vec!["Enter".into()];
        }
        let mut w = ReadyWait::new(&a, &p);
        assert_eq!(w.next(REAL_BYPASS, &Activity::Running, MS), Step::Wait);
        let quiet = MS + DIALOG_QUIET;
        assert!(matches!(
            w.next(REAL_BYPASS, &Activity::Running, quiet),
            Step::Answer(_)
        ));
        let late = quiet + DIALOG_SETTLE + Duration::from_secs(1);
        assert!(matches!(
            w.next(REAL_BYPASS, &Activity::Running, late),
            Step::Fail(Failure::Stayed(d)) if d.name == "bypass warning"
        ));
    }

    #[test]
    fn an_agent_that_exits_or_never_starts_fails_and_its_last_screen_does_not_count() {
        let a = agent();
        let p = Patterns::default();
        let mut w = ReadyWait::new(&a, &p);
        // Its last screen still shows a prompt: the report says it exited.
        assert_eq!(
            w.next(&ready_screen(), &Activity::Exited(1), MS),
            Step::Fail(Failure::Exited(1, None))
        );
        let mut w = ReadyWait::new(&a, &p);
        assert!(matches!(
            w.next(REAL_NO_SERVICE, &Activity::Exited(1), MS),
            Step::Fail(Failure::Exited(1, Some(d))) if d.name == "no service"
        ));
        let mut w = ReadyWait::new(&a, &p);
        assert_eq!(w.next("$ ", &Activity::NotStarted, START_GRACE), Step::Wait);
        assert_eq!(
            w.next("$ ", &Activity::NotStarted, START_GRACE + MS),
            Step::Fail(Failure::NotStarted)
        );
        assert_eq!(
            w.next("", &Activity::Replaced, MS),
            Step::Fail(Failure::Replaced)
        );
    }

    #[test]
    fn a_usage_limit_fails_at_once_and_a_slow_agent_times_out() {
        let a = agent();
        let p = Patterns::default();
        let mut w = ReadyWait::new(&a, &p);
        let limited = real_prompt(
            &format!("❯{NBSP} "),
            "❯ say hi\n  ⎿  You've hit your session limit · resets 12:32am (UTC)\n",
        );
        assert!(matches!(
            w.next(&limited, &Activity::Running, MS),
            Step::Fail(Failure::Limit(line)) if line.contains("resets 12:32am")
        ));
        let mut w = ReadyWait::new(&a, &p);
        let late = a.ready_timeout + MS;
        assert_eq!(
            w.next("Loading…", &Activity::Running, late),
            Step::Fail(Failure::Timeout)
        );
    }
}
