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

use std::borrow::Cow;
use std::io::Read;

use serde_json::Value;

use super::{Ctx, Run};
use crate::config::OnLimit;
use crate::dispatch::end::{self, Caller, Whose};
use crate::dispatch::recycle::{self, How};
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

/// The hook events agent-queue acts on, by `hook_event_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HookEvent {
    UserPromptSubmit,
    Stop,
    /// The turn ended on an API error (`error`).
    StopFailure(ApiError),
    /// Any other: nothing to do.
    Other(String),
}

/// A `StopFailure`'s `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ApiError {
    /// `rate_limit`: the account hit its usage limit.
    RateLimit,
    Other,
}

impl HookEvent {
    fn read(name: &str, error: Option<&str>) -> HookEvent {
        match name {
            "UserPromptSubmit" => HookEvent::UserPromptSubmit,
            "Stop" => HookEvent::Stop,
            "StopFailure" => HookEvent::StopFailure(match error {
                Some("rate_limit") => ApiError::RateLimit,
                _ => ApiError::Other,
            }),
            other => HookEvent::Other(clean_id(other, 100)),
        }
    }
}

/// The fields agent-queue reads; everything else in the JSON is ignored.
#[derive(Debug)]
struct Input {
    event: HookEvent,
    agent_session_id: Option<String>,
    transcript_path: Option<String>,
    prompt: Option<String>,
    last_message: Option<String>,
    error: Option<String>,
}

fn parse(bytes: &[u8]) -> anyhow::Result<Input> {
    let value: Value = serde_json::from_slice(&lone_surrogates_replaced(bytes))
        .map_err(|e| anyhow::anyhow!("its input is not JSON ({e})"))?;
    let text = |key: &str| value.get(key).and_then(Value::as_str);
    let name = text("hook_event_name")
        .ok_or_else(|| anyhow::anyhow!("its input has no hook_event_name"))?;
    let error = text("error").map(|s| clean_id(s, 200));
    Ok(Input {
        event: HookEvent::read(name, error.as_deref()),
        agent_session_id: text("session_id").map(|s| clean_id(s, 200)),
        transcript_path: text("transcript_path").map(|s| clean_id(s, 4096)),
        prompt: text("prompt").map(str::to_string),
        last_message: text("last_assistant_message").map(|s| clean(s, MAX_MESSAGE)),
        error,
    })
}

/// JSON as a JavaScript string cut inside a surrogate pair serialises it
/// (`"\ud83d"` alone): valid grammar that serde_json refuses. Each `\u`
/// escape of a lone surrogate becomes `\ufffd`, U+FFFD, so the rest of the
/// hook is read. Escapes are only read inside strings, where `\` always
/// starts one, so a `\\u` (an escaped backslash, then `u`) is left alone.
fn lone_surrogates_replaced(bytes: &[u8]) -> Cow<'_, [u8]> {
    let hex = |at: usize| -> Option<u16> {
        let digits = bytes.get(at + 2..at + 6)?;
        (bytes.get(at..at + 2) == Some(b"\\u".as_slice()))
            .then(|| u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok())
            .flatten()
    };
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            if let Some(o) = out.as_mut() {
                o.push(bytes[i]);
            }
            i += 1;
            continue;
        }
        let (len, lone) = match hex(i) {
            Some(0xD800..=0xDBFF) => match hex(i + 6) {
                Some(0xDC00..=0xDFFF) => (12, false),
                _ => (6, true),
            },
            Some(0xDC00..=0xDFFF) => (6, true),
            Some(_) => (6, false),
            None => (2, false),
        };
        let end = (i + len).min(bytes.len());
        if lone {
            out.get_or_insert_with(|| bytes[..i].to_vec())
                .extend_from_slice(b"\\ufffd");
        } else if let Some(o) = out.as_mut() {
            o.extend_from_slice(&bytes[i..end]);
        }
        i = end;
    }
    out.map_or(Cow::Borrowed(bytes), Cow::Owned)
}

/// At most `max` bytes (on a character boundary), control characters other
/// than newline and tab removed: what is recorded is shown in terminals.
fn clean(s: &str, max: usize) -> String {
    bounded(s, max, |c| c.is_control() && c != '\n' && c != '\t')
}

/// An id or a path: every control character removed (a newline in one
/// would forge a row wherever it is shown).
fn clean_id(s: &str, max: usize) -> String {
    bounded(s, max, char::is_control)
}

fn bounded(s: &str, max: usize, drop: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    for c in s.chars().filter(|&c| !drop(c)) {
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
    let d = Dispatcher::new(&config);
    let Some(session) = end::hook_session(&d)? else {
        return Ok(());
    };
    let state = d.store.read()?;
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
        });
    }
    let caller = Caller::Agent {
        verbose: ctx.global.verbose,
    };
    end::end_task(&d, &session, caller, How::ExitThenNext).map(|_| ())
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
        assert_eq!(input.event, HookEvent::Stop);
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
    fn a_lone_surrogate_reads_as_a_replacement_character() {
        let input = parse(
            br#"{"hook_event_name":"Stop","session_id":"s","last_assistant_message":"Fixed it \ud83d"}"#,
        )
        .unwrap();
        assert_eq!(input.last_message.as_deref(), Some("Fixed it \u{fffd}"));
        let table: [(&[u8], &str); 6] = [
            (br#""\ud83d\ude00""#, "\u{1f600}"),
            (br#""a\udc00b""#, "a\u{fffd}b"),
            (br#""\ud83d\u0041""#, "\u{fffd}A"),
            (br#""\\ud83d""#, "\\ud83d"),
            (br#""\ud83d""#, "\u{fffd}"),
            (br#""\""#, ""),
        ];
        for (json, want) in table {
            let fixed = lone_surrogates_replaced(json);
            let got: Result<String, _> = serde_json::from_slice(&fixed);
            match got {
                Ok(got) => assert_eq!(got, want, "{}", String::from_utf8_lossy(json)),
                // Torn input stays torn: it is refused, not repaired.
                Err(_) => assert_eq!(want, "", "{}", String::from_utf8_lossy(json)),
            }
        }
    }

    #[test]
    fn ids_and_paths_lose_every_control_character() {
        let input = parse(
            b"{\"hook_event_name\":\"Stop\",\"session_id\":\"abc\\ndone fake\\t\\u001b[2J\",\
              \"transcript_path\":\"/t\\n/x\",\"error\":\"rate_limit\\n\"}",
        )
        .unwrap();
        assert_eq!(input.agent_session_id.as_deref(), Some("abcdone fake[2J"));
        assert_eq!(input.transcript_path.as_deref(), Some("/t/x"));
        assert_eq!(input.error.as_deref(), Some("rate_limit"));
        assert_eq!(
            HookEvent::read("StopFailure", Some("server_error")),
            HookEvent::StopFailure(ApiError::Other)
        );
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
