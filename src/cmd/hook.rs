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

use serde_json::Value;

use super::{mark_idle, Ctx, Run};
use crate::config::{Kind, OnLimit};
use crate::dispatch::Dispatcher;
use crate::error::Outcome;
use crate::output::report::{self, Event};
use crate::queue::inbox;
use crate::store::state::{now, Phase, Receipt};

pub struct Hook;

/// Larger input is not a hook's.
const MAX_INPUT: u64 = 1 << 20;
/// How much of the agent's last message is kept.
const MAX_MESSAGE: usize = 4096;

impl Run for Hook {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        if let Err(e) = handle(ctx) {
            // Shown even with -q: the hook's one way to say it did nothing.
            report::error(format!("hook: {e:#}; nothing recorded"));
        }
        Ok(Outcome::Done)
    }
}

/// The fields agent-queue reads; everything else in the JSON is ignored.
#[derive(Debug, Default)]
struct Input {
    event: String,
    agent_session_id: Option<String>,
    transcript_path: Option<String>,
    prompt: Option<String>,
    last_message: Option<String>,
    error: Option<String>,
}

fn parse(bytes: &[u8]) -> anyhow::Result<Input> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| anyhow::anyhow!("its input is not JSON ({e})"))?;
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
    let event = text("hook_event_name")
        .ok_or_else(|| anyhow::anyhow!("its input has no hook_event_name"))?;
    Ok(Input {
        event,
        agent_session_id: text("session_id").map(|s| clean(&s, 200)),
        transcript_path: text("transcript_path").map(|s| clean(&s, 4096)),
        prompt: text("prompt"),
        last_message: text("last_assistant_message").map(|s| clean(&s, MAX_MESSAGE)),
        error: text("error").map(|s| clean(&s, 200)),
    })
}

/// At most `max` bytes (on a character boundary), control characters other
/// than newline and tab removed: what is recorded is shown in terminals.
fn clean(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            continue;
        }
        if out.len() + c.len_utf8() > max {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
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
    match input.event.as_str() {
        "UserPromptSubmit" => receipt(ctx, &input),
        "StopFailure" if input.error.as_deref() == Some("rate_limit") => limited(ctx, &input),
        "Stop" | "StopFailure" => end(ctx, &input),
        other => {
            report::debug(format!("hook: {other}: nothing to do"));
            Ok(())
        }
    }
}

/// The session this hook's agent runs in, when agent-queue manages it:
/// the start named by `$AGENT_QUEUE_RUN`, or the pane's session.
fn session(d: &Dispatcher) -> anyhow::Result<Option<String>> {
    // A start it does not know is no session of its (an old agent's hook).
    if let Ok(run) = std::env::var(mark_idle::RUN_VAR) {
        return mark_idle::session_of_start(d, &run);
    }
    if std::env::var_os("TMUX_PANE").is_none() {
        return Ok(None);
    }
    Ok(match mark_idle::own_session(d)? {
        Ok(s) if !matches!(d.config.kind(&s), Kind::Unknown) => Some(s),
        Ok(s) => {
            report::debug(format!("hook: session {s} is not managed by agent-queue"));
            None
        }
        Err(why) => {
            report::debug(format!("hook: not managed by agent-queue: {why}"));
            None
        }
    })
}

fn receipt(ctx: &Ctx, input: &Input) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let d = Dispatcher::new(&config);
    let Some(session) = session(&d)? else {
        return Ok(());
    };
    let nonce = std::env::var(mark_idle::RUN_VAR).unwrap_or_default();
    let prompt = input.prompt.as_deref().unwrap_or_default();
    let mut locked = d.store.lock()?;
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
    let started_nonce = entry.started.as_ref().map(|s| s.nonce.clone());
    entry.receipt = Some(Receipt {
        nonce: if nonce.is_empty() {
            started_nonce.unwrap_or_default()
        } else {
            nonce
        },
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
    let d = Dispatcher::new(&config);
    let Some(session) = session(&d)? else {
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
    let run = std::env::var(mark_idle::RUN_VAR).ok();
    let recycle_lock = d.store.try_recycle_lock(&session)?;
    {
        let mut locked = d.store.lock()?;
        let started = locked
            .state
            .sessions
            .get(&session)
            .and_then(|s| s.started.clone());
        if run.is_some() && started.as_ref().map(|s| &s.nonce) != run.as_ref() {
            report::info(format!(
                "hook: {session}: a limit of an agent started there before; ignored"
            ));
            return Ok(());
        }
        if other_claude(locked.state.sessions.get(&session), input) {
            report::info(format!(
                "hook: {session}: a limit of another Claude Code than the one that took the task; ignored"
            ));
            return Ok(());
        }
        crate::accounts::limited::mark(&config, &mut locked, &session, &line, now());
        locked.save()?;
    }
    if pool.on_limit == OnLimit::Stop {
        if let Some(lock) = recycle_lock {
            mark_idle::detach_recycle(ctx, &config, &session, mark_idle::How::Stop, &lock)?;
        }
    }
    Ok(())
}

/// A hook of a Claude Code other than the one that took the session's task:
/// one the agent started itself (`claude -p …`), which inherits its
/// `AGENT_QUEUE_RUN`. The receipt says which Claude Code took the task.
fn other_claude(entry: Option<&crate::store::state::SessionState>, input: &Input) -> bool {
    let took = entry
        .and_then(|s| s.receipt.as_ref())
        .and_then(|r| r.agent_session_id.as_deref());
    matches!((took, input.agent_session_id.as_deref()), (Some(a), Some(b)) if a != b)
}

fn end(ctx: &Ctx, input: &Input) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let d = Dispatcher::new(&config);
    let Some(session) = session(&d)? else {
        return Ok(());
    };
    let state = d.store.read()?;
    let entry = state.sessions.get(&session);
    // A hook of an agent that ran in this session before speaks for no task.
    if let Ok(run) = std::env::var(mark_idle::RUN_VAR) {
        if entry.and_then(|s| s.started.as_ref()).map(|s| &s.nonce) != Some(&run) {
            report::info(format!(
                "hook: {session}: the end of an agent started there before; ignored"
            ));
            return Ok(());
        }
    }
    if other_claude(entry, input) {
        report::info(format!(
            "hook: {session}: the end of another Claude Code than the one that took the task \
             (one the agent started?); ignored"
        ));
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
    mark_idle::end_task(
        ctx,
        &d,
        &session,
        mark_idle::Caller::Agent,
        mark_idle::How::ExitThenNext,
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_stop_payload_reads() {
        let input = parse(
            br#"{"session_id":"b6960bbd-4532-4ba7-9db8-bd485b898ee3","transcript_path":"/h/.claude/projects/-tmp-aqr/b6960bbd-4532-4ba7-9db8-bd485b898ee3.jsonl","cwd":"/tmp/aqr","prompt_id":"2d72f502","permission_mode":"bypassPermissions","effort":{"level":"high"},"hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"Done.","background_tasks":[],"session_crons":[]}"#,
        )
        .unwrap();
        assert_eq!(input.event, "Stop");
        assert_eq!(
            input.agent_session_id.as_deref(),
            Some("b6960bbd-4532-4ba7-9db8-bd485b898ee3")
        );
        assert_eq!(input.last_message.as_deref(), Some("Done."));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(parse(b"{ torn").is_err());
        assert!(parse(b"[1, 2]").is_err());
        assert!(parse(br#"{"session_id": 5}"#).is_err());
        let odd = parse(br#"{"hook_event_name":"Stop","session_id":5,"prompt":null}"#).unwrap();
        assert_eq!(odd.agent_session_id, None);
    }

    #[test]
    fn messages_are_bounded_and_lose_control_characters() {
        assert_eq!(clean("a\u{1b}[31mb\nc\td\u{7}", 100), "a[31mb\nc\td");
        let long = "é".repeat(5000);
        let kept = clean(&long, MAX_MESSAGE);
        assert!(kept.len() <= MAX_MESSAGE + '…'.len_utf8());
        assert!(kept.ends_with('…'));
    }
}
