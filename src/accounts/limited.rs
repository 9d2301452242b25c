//! An account at its usage limit. Claude Code says so on its screen and
//! through its `StopFailure` hook; either way the account is marked limited
//! until its reset (plus a margin) in the state, so that no session of any of
//! its pools gets a task until then, and the task that was in the limited
//! session goes back to its inbox for a pool of another account. Nothing is
//! ever typed into the limit's menu: the agent is stopped with `C-c`.

use std::path::PathBuf;

use crate::clock::format_utc;
use crate::config::{Config, OnLimit};
use crate::output::report::{self, Event};
use crate::queue::inbox;
use crate::store::state::{Locked, Phase};

/// The furthest reset believed: a weekly limit, and a day to spare.
const MAX_RESET_AHEAD: u64 = 8 * 86_400;

/// Until when the account of `session` is limited, by its agent's line,
/// and whether that is a guess (no reset in the line).
pub fn until(config: &Config, session: &str, line: &str, now: u64) -> (u64, bool) {
    let agent = config.agent_for(session);
    // A line without a zone means the local time of the agent's host: this
    // one's, as far as agent-queue can tell.
    let read = crate::accounts::limits::reset_time(line, &jiff::Zoned::now())
        .and_then(|t| u64::try_from(t.as_second()).ok());
    let reset = match judge(read, now) {
        Reset::Believed(r) => Some(r),
        Reset::Unread => {
            report::warn(format!(
                "{session}: no reset time in its limit line ({line}); waiting [agent] limit_wait \
                 ({})",
                crate::clock::format_duration(agent.limit_wait)
            ));
            None
        }
        Reset::Past(r) => {
            report::warn(format!(
                "{session}: the reset read from `{line}` ({}) is already past; waiting [agent] \
                 limit_wait ({})",
                format_utc(r),
                crate::clock::format_duration(agent.limit_wait)
            ));
            None
        }
        Reset::TooFar(_) => {
            // No limit of Claude Code's lasts over a week: a later time was
            // read from something else (a file the agent printed).
            report::warn(format!(
                "{session}: the reset read from `{line}` is more than 8 days ahead; not \
                 believed; waiting [agent] limit_wait ({})",
                crate::clock::format_duration(agent.limit_wait)
            ));
            None
        }
    };
    let guessed = reset.is_none();
    let base = reset.unwrap_or_else(|| now.saturating_add(agent.limit_wait.as_secs()));
    (base.saturating_add(agent.limit_margin.as_secs()), guessed)
}

/// What a reset read from a limit line is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    Believed(u64),
    /// None could be read.
    Unread,
    /// Already past (a stale line, a clock apart): the account is held for
    /// the fallback wait instead, or it would take the task straight back.
    Past(u64),
    /// Further ahead than any limit lasts.
    TooFar(u64),
}

/// Judges a reset (epoch seconds) read at `now`.
pub fn judge(read: Option<u64>, now: u64) -> Reset {
    match read {
        None => Reset::Unread,
        Some(r) if r <= now => Reset::Past(r),
        Some(r) if r > now.saturating_add(MAX_RESET_AHEAD) => Reset::TooFar(r),
        Some(r) => Reset::Believed(r),
    }
}

/// Marks the account of `session` limited (a later reset already known
/// stands), puts back the task the session holds and frees the session.
/// Returns where the task is back, if it held one.
pub fn mark(
    config: &Config,
    locked: &mut Locked,
    session: &str,
    line: &str,
    now: u64,
) -> Option<PathBuf> {
    // Claude Code wraps its own lines: one line, for the state and the log.
    let line = crate::accounts::limits::one_line(line);
    let line = line.as_str();
    let pool = config.pool_of(session);
    let (account, until) = match pool {
        Some(pool) => {
            let (until, guessed) = until(config, session, line, now);
            let account = locked
                .state
                .accounts
                .entry(pool.account.clone())
                .or_default();
            // A later reset stands; a read one replaces a guess.
            let replaces = account.limited_until <= now
                || (account.guessed && !guessed)
                || (account.guessed == guessed && account.limited_until < until);
            if replaces {
                account.limited_until = until;
                account.reason = line.to_string();
                account.since = now;
                account.guessed = guessed;
            }
            (pool.account.clone(), account.limited_until)
        }
        // A dedicated session's account is the operator's: nothing routes
        // to it, so nothing is marked; its task still goes back.
        None => (String::new(), now),
    };
    // `on_limit = "leave"`: the agent keeps its task (the operator may tell
    // it to go on after the reset), so it is not put back to run twice.
    let leave = pool.is_some_and(|p| p.on_limit == OnLimit::Leave);
    let entry = locked.state.entry(session);
    // A `cancel` owns the task: it ends it, and frees the session.
    let leave = leave || entry.cancelling;
    let held = (entry.phase != Phase::Idle && !leave)
        .then(|| entry.task.clone())
        .flatten();
    let back: Option<PathBuf> = held.and_then(|task| match inbox::unclaim(&task) {
        Ok(back) => Some(back),
        Err(e) => {
            report::warn(format!(
                "{session}: its account hit its usage limit, but {} could not be put back: {e}",
                task.display()
            ));
            None
        }
    });
    if !leave && locked.state.phase(session) != Phase::Idle {
        locked.state.set(session, Phase::Idle, now);
    }
    if pool.is_some() {
        report::event(&Event::Limited {
            account,
            until: format_utc(until),
            reason: line.to_string(),
            session: session.to_string(),
            task: back.clone(),
        });
    }
    back
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::state::Store;

    /// One pool of account max-a; `limit_wait` one hour, no margin.
    fn one_pool(dir: &std::path::Path) -> Config {
        crate::config::parse(
            "[projects]\npaths = []\n[pool]\nprefix = \"a-\"\nstart = 1\nsize = 1\n\
             account = \"max-a\"\n[agent]\nlimit_wait = \"1h\"\nlimit_margin = \"0s\"\n",
            &dir.join("c.toml"),
        )
        .unwrap()
    }

    #[test]
    fn a_reset_is_believed_only_ahead_and_within_eight_days() {
        let now = 1_700_000_100;
        let table = [
            (None, Reset::Unread),
            (Some(1_700_000_000), Reset::Past(1_700_000_000)),
            (Some(now), Reset::Past(now)),
            (Some(now + 60), Reset::Believed(now + 60)),
            (Some(now + 9 * 86_400), Reset::TooFar(now + 9 * 86_400)),
        ];
        for (read, want) in table {
            assert_eq!(judge(read, now), want, "{read:?}");
        }
    }

    #[test]
    fn a_past_reset_holds_the_account_for_the_fallback_wait() {
        let dir = tempfile::tempdir().unwrap();
        let config = one_pool(dir.path());
        let now = 1_800_000_000;
        let (until, guessed) = until(
            &config,
            "a-1",
            "Claude AI usage limit reached|1700000000",
            now,
        );
        assert_eq!((until, guessed), (now + 3600, true));
    }

    #[test]
    fn a_read_reset_replaces_a_guess_and_a_later_reset_stands() {
        let dir = tempfile::tempdir().unwrap();
        let config = one_pool(dir.path());
        let store = Store::new(dir.path().join("state.json"));
        let mut locked = store.lock().unwrap();
        let now = 1_000_000;
        let account = |l: &Locked| l.state.accounts["max-a"].clone();
        // The menu alone: no reset, so an hour, as a guess.
        mark(
            &config,
            &mut locked,
            "a-1",
            "1. Stop and wait for limit to reset",
            now,
        );
        assert_eq!(account(&locked).limited_until, now + 3600);
        assert!(account(&locked).guessed);
        // The hook's line names the reset: it replaces the guess, earlier.
        let line = format!("Claude AI usage limit reached|{}", now + 600);
        mark(&config, &mut locked, "a-1", &line, now);
        assert_eq!(account(&locked).limited_until, now + 600);
        assert!(!account(&locked).guessed);
        // A guess after it does not move it; a later read reset does.
        mark(&config, &mut locked, "a-1", "limit reached", now);
        assert_eq!(account(&locked).limited_until, now + 600);
        let later = format!("Claude AI usage limit reached|{}", now + 900);
        mark(&config, &mut locked, "a-1", &later, now);
        assert_eq!(account(&locked).limited_until, now + 900);
    }
}
