//! `mark-idle [<session>] [--no-next]`: the end of a task, usually called
//! bare by the agent's Stop hook from inside the session it marks.
//!
//! A dedicated session is only marked idle. A pool session is marked idle,
//! sent `/exit` (when `[pool] recycle` is on) and, once its pane is back at a
//! shell, given the next pending task. From inside the session that waiting
//! cannot happen in the foreground: the agent waits for its hook to return
//! before it reads `/exit`. So the rest is handed to a detached
//! `agent-queue recycle`, and the hook returns at once.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{Ctx, Run};
use crate::cli::{MarkIdleArgs, RecycleArgs};
use crate::config::Config;
use crate::dispatcher::{Dispatcher, Target};
use crate::error::{bad_input, Outcome};
use crate::pending::{self, Mode};
use crate::report::{self, Event};
use crate::sessions::is_shell;
use crate::state::{now, Phase};

impl Run for MarkIdleArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        let d = Dispatcher::new(&config);
        let own_pane = std::env::var("TMUX_PANE").ok().filter(|p| !p.is_empty());
        let own_session = match &own_pane {
            Some(pane) => Some(d.session_of_pane(pane)?),
            None => None,
        };
        let session = match (&self.session, &own_session) {
            (Some(s), _) => s.clone(),
            (None, Some(s)) => s.clone(),
            (None, None) => {
                return Err(bad_input(
                    "no session named and $TMUX_PANE is not set: name the session, or call this from inside it",
                ))
            }
        };
        let dedicated = config.dedicated(&session).is_some();
        if !dedicated && !config.pool.contains(&session) {
            if self.session.is_none() {
                // A Stop hook installed for every agent also runs in sessions
                // agent-queue does not manage: nothing to do there.
                report::info(format!(
                    "session `{session}` (from $TMUX_PANE) is not managed by agent-queue"
                ));
                return Ok(Outcome::NothingFound);
            }
            return Err(bad_input(format!(
                "unknown session `{session}`: it is neither in the pool nor a [[dedicated]] session"
            )));
        }
        {
            let mut locked = d.store.lock()?;
            let task = locked
                .state
                .sessions
                .get(&session)
                .and_then(|s| s.task.clone());
            locked.state.set(&session, Phase::Idle, now());
            locked.save()?;
            report::event(&Event::Idle {
                session: session.clone(),
                task,
            });
        }
        if dedicated {
            return Ok(Outcome::Done);
        }
        if !config.pool.recycle {
            if !self.no_next {
                next_task(&d, &session)?;
            }
            return Ok(Outcome::Done);
        }
        if own_session.as_deref() == Some(session.as_str()) {
            detach_recycle(ctx, &config, &session, self.no_next)?;
            return Ok(Outcome::Done);
        }
        recycle(&d, &session, self.no_next)
    }
}

impl Run for RecycleArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        recycle(&Dispatcher::new(&config), &self.session, self.no_next)
    }
}

/// Starts `agent-queue recycle <session>` in its own session, its output
/// appended to a log beside the state file, and returns without waiting.
fn detach_recycle(ctx: &Ctx, config: &Config, session: &str, no_next: bool) -> anyhow::Result<()> {
    let log_path = config.state_file.with_file_name("recycle.log");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let exe = std::env::current_exe().context("finding the agent-queue executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("--config")
        .arg(&config.path)
        .arg("recycle")
        .arg(session);
    if no_next {
        cmd.arg("--no-next");
    }
    if ctx.global.verbose {
        cmd.arg("--verbose");
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    // SAFETY: setsid is async-signal-safe; the child leaves the hook's
    // process group and session, so nothing that ends the hook ends it.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd.spawn().context("starting agent-queue recycle")?;
    report::debug(format!(
        "recycling {session} in the background (log: {})",
        log_path.display()
    ));
    Ok(())
}

/// Sends `/exit` to the session's agent, waits until its pane is back at a
/// shell, then gives it the next task unless `no_next`.
fn recycle(d: &Dispatcher, session: &str, no_next: bool) -> anyhow::Result<Outcome> {
    let shells = &d.config.agent.shells;
    let limit = d.config.agent.ready_timeout.max(Duration::from_secs(30));
    let screen = d.tmux.screen(session)?;
    if !is_shell(&screen.command, shells) {
        d.tmux.type_text(session, "/exit")?;
        // Enter only once `/exit` shows: sent together, an agent that reads
        // input in chunks could take the pair for a paste.
        wait(d, session, Duration::from_secs(5), |s| {
            s.text.contains("/exit") || is_shell(&s.command, shells)
        })?;
        d.tmux.send_keys(session, &["Enter".into()])?;
        let s = wait(d, session, limit, |s| is_shell(&s.command, shells))?;
        if !is_shell(&s.command, shells) {
            report::warn(format!(
                "{session}: the agent did not exit within {}s of /exit; it gets no new task",
                limit.as_secs()
            ));
            return Ok(Outcome::Done);
        }
        report::debug(format!("{session}: the agent exited"));
    }
    if !no_next {
        wait_for_launcher(d, session, limit)?;
        next_task(d, session)?;
    }
    Ok(Outcome::Done)
}

/// A fast agent can end its turn (and its Stop hook start this recycle)
/// while the launch that gave it the task is still settling, holding the
/// session's launch lock: wait for that launch to let go, or the claim that
/// follows would pass the session over.
fn wait_for_launcher(d: &Dispatcher, session: &str, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    while d.store.try_launch_lock(session)?.is_none() {
        if start.elapsed() >= limit {
            report::warn(format!(
                "{session}: a launch there is still in flight after {}s",
                limit.as_secs()
            ));
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

fn wait(
    d: &Dispatcher,
    session: &str,
    limit: Duration,
    done: impl Fn(&crate::tmux::Screen) -> bool,
) -> anyhow::Result<crate::tmux::Screen> {
    let start = Instant::now();
    loop {
        let s = d.tmux.screen(session)?;
        if done(&s) || start.elapsed() >= limit {
            return Ok(s);
        }
        std::thread::sleep(crate::launch::POLL);
    }
}

/// Gives `session` the first pending task, if it is free.
fn next_task(d: &Dispatcher, session: &str) -> anyhow::Result<()> {
    let tasks = pending::sorted(pending::read_all(d.config, &d.trust, Mode::Act));
    if tasks.is_empty() {
        report::debug(format!("{session}: no pending task"));
        return Ok(());
    }
    let round = d.round(
        &tasks,
        Target::One {
            session,
            by_hand: false,
        },
        false,
    )?;
    if let Some(busy) = round.busy {
        report::debug(format!("{session} takes no task now: {busy}"));
    }
    if round.failed > 0 {
        anyhow::bail!("the launch into {session} failed; its task is back in its inbox");
    }
    Ok(())
}
