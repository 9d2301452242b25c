//! An account at its usage limit. Claude Code says so on its screen and
//! through its `StopFailure` hook; either way the account is marked limited
//! until its reset (plus a margin) in the state, so that no session of any of
//! its pools gets a task until then, and the task that was in the limited
//! session goes back to its inbox for a pool of another account. Nothing is
//! ever typed into the limit's menu: the agent is stopped with `C-c`.

use std::path::PathBuf;

use crate::config::Config;
use crate::inbox;
use crate::report::{self, format_utc, Event};
use crate::state::{Locked, Phase};

/// Until when the account of `session` is limited, by its agent's line.
pub fn until(config: &Config, session: &str, line: &str, now: u64) -> u64 {
    let agent = config.agent_for(session);
    // A line without a zone means the local time of the agent's host: this
    // one's, as far as agent-queue can tell.
    let reset = crate::limits::reset_time(line, &jiff::Zoned::now())
        .and_then(|t| u64::try_from(t.as_second()).ok());
    let base = reset.unwrap_or_else(|| {
        report::warn(format!(
            "{session}: no reset time in its limit line ({line}); waiting [agent] limit_wait ({}s)",
            agent.limit_wait.as_secs()
        ));
        now.saturating_add(agent.limit_wait.as_secs())
    });
    base.saturating_add(agent.limit_margin.as_secs())
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
    let pool = config.pool_of(session)?;
    // Claude Code wraps its own lines: one line, for the state and the log.
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = line.as_str();
    let until = until(config, session, line, now);
    let account = locked
        .state
        .accounts
        .entry(pool.account.clone())
        .or_default();
    if account.limited_until < until {
        account.limited_until = until;
        account.reason = line.to_string();
        account.since = now;
    }
    let until = account.limited_until;
    let entry = locked.state.entry(session);
    let held = (entry.phase != Phase::Idle)
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
    if locked.state.phase(session) != Phase::Idle {
        locked.state.set(session, Phase::Idle, now);
    }
    report::event(&Event::Limited {
        account: pool.account.clone(),
        until: format_utc(until),
        reason: line.to_string(),
        session: session.to_string(),
        task: back.clone(),
    });
    back
}
