//! `hook`: the one entry point of Claude Code's hooks. The agent runs it
//! with the hook's JSON on stdin and waits for it, so it returns fast, never
//! waits on a launch, and never fails: whatever is wrong (no config, bad
//! JSON, a session agent-queue does not manage) is one line on stderr and
//! exit 0, since a hook that fails is shown to the operator in their own
//! sessions, and one that exits 2 would even be read by the model.
//!
//! - `UserPromptSubmit`: the delivery receipt. The prompt holds the task's
//!   name; the session is the one whose start `$AGENT_QUEUE_RUN` names (or,
//!   for an agent agent-queue did not start, the one holding `$TMUX_PANE`).
//!   The receipt, with the agent's session id and transcript path, goes into
//!   the state, where the launcher waits for it, and into the history.
//! - `Stop`: the task's end: its outcome (the agent's last message) into the
//!   history, then what a bare `mark-idle` does.
//! - `StopFailure`: the turn ended on an API error. With `error:
//!   "rate_limit"`, the account hit its usage limit (`usage`): the task goes
//!   back to its inbox and the account gets no task until its reset; any
//!   other error is recorded as the task's end.
//! - anything else: ignored.
//!
//! The JSON is only ever recorded: no path or id in it is opened or run.

use std::io::Read;

mod input;

use super::{Ctx, Run};
use crate::clock::now;
use crate::config::OnLimit;
use crate::dispatch::end::{self, Caller, Whose};
use crate::dispatch::recycle::{self, How};
use crate::dispatch::Dispatcher;
use crate::error::Outcome;
use crate::output::report::{self, Event};
use crate::queue::inbox;
use crate::store::state::{Phase, Receipt};
use input::{parse, ApiError, HookEvent, Input};

pub struct Hook;

/// Larger input is not a hook's.
const MAX_INPUT: u64 = 1 << 20;

impl Run for Hook {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        if let Err(e) = handle(ctx) {
            // Shown even with -q: the hook's one way to say it did nothing.
            report::error(format!("hook: {e:#}; nothing recorded"));
        }
        Ok(Outcome::Done)
    }
}

fn handle(ctx: &Ctx) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INPUT {
        anyhow::bail!("its input is over 1 MiB");
    }
    let input = parse(&bytes)?;
    match &input.event {
        HookEvent::UserPromptSubmit => receipt(ctx, &input),
        HookEvent::StopFailure(ApiError::RateLimit) => limited(ctx, &input),
        HookEvent::Stop | HookEvent::StopFailure(ApiError::Other) => end(ctx, &input),
        HookEvent::Other(name) => {
            report::debug(format!("hook: {name}: nothing to do"));
            Ok(())
        }
    }
}

/// Says why a hook that is not the task's agent's is ignored.
fn ignored(session: &str, whose: Whose, what: &str) {
    let who = match whose {
        Whose::Current => return,
        Whose::Earlier => "an agent started there before",
        Whose::Child => {
            "another Claude Code than the one that took the task (one the agent started, \
             a sub-agent)"
        }
    };
    report::info(format!("hook: {session}: {what} of {who}; ignored"));
}

fn receipt(ctx: &Ctx, input: &Input) -> anyhow::Result<()> {
    let config = ctx.config()?;
    crate::store::journal::open(&config);
    let d = Dispatcher::new(&config);
    let Some(session) = end::hook_session(&d)? else {
        return Ok(());
    };
    let run = end::run_var();
    let prompt = input.prompt.as_deref().unwrap_or_default();
    let mut locked = d.store.lock()?;
    let whose = end::whose(
        locked.state.sessions.get(&session),
        run.as_deref(),
        input.agent_session_id.as_deref(),
    );
    if whose != Whose::Current {
        ignored(&session, whose, "a prompt");
        return Ok(());
    }
    let entry = locked.state.entry(&session);
    let Some(task) = entry.task.clone() else {
        report::debug(format!(
            "hook: {session} holds no task; a prompt of its own"
        ));
        return Ok(());
    };
    let name = task
        .file_name()
        .map(|n| inbox::original_name(&n.to_string_lossy()).to_string())
        .unwrap_or_default();
    // A prompt the operator typed into the agent is no receipt.
    if entry.phase == Phase::Idle || !prompt.contains(&name) {
        report::debug(format!(
            "hook: {session}: a prompt that is not its task {name}"
        ));
        return Ok(());
    }
    // The receipt belongs to the first agent session that received the
    // task: a later prompt of the same one (the task quoted again) keeps it.
    if entry.receipt.as_ref().is_some_and(|r| r.task == task) {
        report::debug(format!("hook: {session}: its task was received already"));
        return Ok(());
    }
    let started_nonce = entry.started.as_ref().map(|s| s.nonce.clone());
    entry.receipt = Some(Receipt {
        nonce: run.or(started_nonce).unwrap_or_default(),
        task: task.clone(),
        agent_session_id: input.agent_session_id.clone(),
        transcript_path: input.transcript_path.clone(),
        at: now(),
    });
    entry.hooks = true;
    locked.save()?;
    drop(locked);
    report::event(&Event::Received {
        task,
        session,
        agent_session_id: input.agent_session_id.clone(),
        transcript_path: input.transcript_path.clone(),
    });
    Ok(())
}

/// A turn that ended on the account's usage limit: the account gets no task
/// until its reset, the task goes back to its inbox for another account's
/// pool, and the agent is stopped by a detached recycle (the agent waits for
/// this hook, so it cannot be stopped from here).
fn limited(ctx: &Ctx, input: &Input) -> anyhow::Result<()> {
    let config = ctx.config()?;
    crate::store::journal::open(&config);
    let d = Dispatcher::new(&config);
    let Some(session) = end::hook_session(&d)? else {
        return Ok(());
    };
    let Some(pool) = config.pool_of(&session) else {
        report::info(format!(
            "hook: {session} hit a usage limit; it is no pool session, so nothing moves"
        ));
        return Ok(());
    };
    let line = input
        .last_message
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| "rate_limit (the hook's error; no message)".into());
    let recycle_lock = d.store.try_recycle_lock(&session)?;
    {
        let mut locked = d.store.lock()?;
        let whose = end::whose(
            locked.state.sessions.get(&session),
            end::run_var().as_deref(),
            input.agent_session_id.as_deref(),
        );
        if whose != Whose::Current {
            ignored(&session, whose, "a usage limit");
            return Ok(());
        }
        crate::accounts::limited::mark(&config, &mut locked, &session, &line, now());
        locked.save()?;
    }
    if pool.on_limit == OnLimit::Stop {
        if let Some(lock) = recycle_lock {
            recycle::detach(&config, &session, How::Stop, &lock, ctx.global.verbose)?;
        }
    }
    Ok(())
}

fn end(ctx: &Ctx, input: &Input) -> anyhow::Result<()> {
    let config = ctx.config()?;
    crate::store::journal::open(&config);
    let d = Dispatcher::new(&config);
    let state = d.store.read()?;
    let Some(session) = end::hook_session_in(&d, &state)? else {
        return Ok(());
    };
    let entry = state.sessions.get(&session);
    let whose = end::whose(
        entry,
        end::run_var().as_deref(),
        input.agent_session_id.as_deref(),
    );
    if whose != Whose::Current {
        ignored(&session, whose, "the end");
        return Ok(());
    }
    if crate::dispatch::free::cancelling(&d.store, &state, &session) {
        return Ok(());
    }
    if let Some(task) = entry.and_then(|s| s.task.clone()) {
        let message = match (&input.error, &input.last_message) {
            (Some(e), Some(m)) => Some(format!("[{e}] {m}")),
            (Some(e), None) => Some(format!("[{e}]")),
            (None, m) => m.clone(),
        };
        report::event(&Event::Done {
            task,
            session: session.clone(),
            agent_session_id: input.agent_session_id.clone(),
            transcript_path: input.transcript_path.clone(),
            message,
            branch: entry
                .and_then(|s| s.worktree.as_ref())
                .map(|w| w.branch.clone()),
        });
    }
    let caller = Caller::Agent {
        verbose: ctx.global.verbose,
    };
    end::end_task(&d, &session, caller, How::ExitThenNext).map(|_| ())
}
