//! Recycling a pool session at the end of its task: `/exit` typed into the
//! agent agent-queue started there, if it still runs there (never into
//! whatever else a pane runs), a wait until it has exited, then the next
//! pending task. One recycle at a time per session: the recycle lock, taken
//! before the session is marked idle, passes to a detached `agent-queue
//! recycle` when the agent's own hook ends the task (the agent waits for its
//! hook to return before it reads `/exit`, so the waiting cannot happen
//! there), so however many `mark-idle` run at once, one `/exit` is typed.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::free::{self, Chooser};
use super::{Dispatcher, Recovery, Target};
use crate::clock::now;
use crate::config::Config;
use crate::error::Outcome;
use crate::output::report;
use crate::pane::agent::AgentPane;
use crate::pane::{Activity, Started};
use crate::queue::pending::{self, Mode};

/// The recycle lock a detached recycle was handed by its descriptor
/// (`--lock-fd`), or `None` when that is no open descriptor.
pub fn adopt_lock(fd: i32) -> Option<File> {
    // SAFETY: `mark-idle` passed this descriptor down, open and locked, for
    // this process to own (see `detach`); one that is not open is refused
    // rather than owned.
    (fd > 2 && unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0)
        .then(|| unsafe { File::from_raw_fd(fd) })
}

/// Starts `agent-queue recycle <session>` in its own session, its output
/// appended to a log beside the state file, and returns without waiting.
/// The recycle lock goes with it: the child inherits the locked file and
/// is told its descriptor.
pub fn detach(
    config: &Config,
    session: &str,
    how: How,
    lock: &File,
    verbose: bool,
) -> anyhow::Result<()> {
    let log_path = config.state_file.with_file_name("recycle.log");
    let log = crate::store::private::open(&log_path, crate::store::private::Access::Append)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let exe = std::env::current_exe().context("finding the agent-queue executable")?;
    let fd = lock.as_raw_fd();
    let mut cmd = Command::new(exe);
    cmd.arg("--config")
        .arg(&config.path)
        .arg("recycle")
        .arg("--lock-fd")
        .arg(fd.to_string())
        .arg(session);
    match how {
        How::ExitThenNext => {}
        How::Exit => {
            cmd.arg("--no-next");
        }
        How::Stop => {
            cmd.arg("--stop");
        }
    }
    if verbose {
        cmd.arg("--verbose");
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    // Nothing that ends the hook ends the child, and it keeps the locked
    // file open, so the lock is held until the child exits.
    crate::detach::in_own_session(&mut cmd, Some(fd));
    cmd.spawn().context("starting agent-queue recycle")?;
    report::debug(format!(
        "recycling {session} in the background (log: {})",
        log_path.display()
    ));
    Ok(())
}

/// Sends `/exit` to the agent agent-queue started in the session, if it
/// still runs there, waits until it has exited, then gives the session the
/// next task unless `no_next`. The recycle lock is let go once the agent has
/// exited: the next agent's own Stop hook may come before this returns.
pub fn recycle(d: &Dispatcher, session: &str, how: How, lock: File) -> anyhow::Result<Outcome> {
    let limit = d
        .config
        .agent_for(session)
        .ready_timeout
        .max(Duration::from_secs(30));
    let started = d
        .store
        .read()?
        .sessions
        .get(session)
        .and_then(|s| s.started.clone());
    let snapshot = crate::tmux::servers::snapshot_of(d.config, session)?;
    let Some(pane) = snapshot.pane(session) else {
        report::info(format!(
            "{session}: no such tmux session; nothing to recycle"
        ));
        return Ok(Outcome::Done);
    };
    if let (Some(Activity::Running), Some(started)) =
        (free::activity(started.as_ref(), pane), &started)
    {
        if let Some(hold) = super::hands_off::hold(d.config, &snapshot, session, now()) {
            // An agent to stop for its limit is stopped by a later scan.
            d.defer_recycle(session, (how != How::Stop).then_some(started), &hold)?;
            return Ok(Outcome::Done);
        }
    }
    match (free::activity(started.as_ref(), pane), &started) {
        (Some(Activity::Running), Some(started)) if how == How::Stop => {
            // Its limit menu waits for an answer that must never be given
            // blindly: C-c, not /exit and Enter.
            let tmux = d.tmux(session);
            AgentPane {
                tmux: &tmux,
                session,
                started,
            }
            .stop();
        }
        (Some(Activity::Running), Some(started)) if !exit_agent(d, session, started, limit)? => {
            return Ok(Outcome::Done);
        }
        (Some(Activity::Running), Some(_)) => {}
        _ if free::started_runs(started.as_ref(), pane)
            || !free::is_shell(&pane.command, &d.config.agent_for(session).shells) =>
        {
            report::info(format!(
                "{session}: its pane runs something agent-queue did not start there (`{}`); \
                 no /exit typed",
                pane.command
            ));
        }
        _ => {}
    }
    drop(lock);
    if how == How::ExitThenNext {
        wait_for_launcher(d, session, limit)?;
        next_task(d, session)?;
    }
    Ok(Outcome::Done)
}

/// How a recycle ends the session's agent, and what follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// `/exit`, then the next pending task.
    ExitThenNext,
    /// `/exit`, and the session stays idle (`--no-next`).
    Exit,
    /// `C-c` (its account hit its usage limit), and no task.
    Stop,
}

impl How {
    pub fn new(no_next: bool, stop: bool) -> How {
        match (stop, no_next) {
            (true, _) => How::Stop,
            (false, true) => How::Exit,
            (false, false) => How::ExitThenNext,
        }
    }
}

/// How long `/exit` waits for an agent's status line to run once more
/// after its turn, when it has one (Claude Code runs it about 0.3 s after
/// an answer).
const USAGE_WAIT: Duration = Duration::from_millis(1500);

/// Types `/exit` into the started agent, once its status line has had its
/// say, and waits until it has exited. Returns whether it did.
fn exit_agent(
    d: &Dispatcher,
    session: &str,
    started: &Started,
    limit: Duration,
) -> anyhow::Result<bool> {
    // The agent's status line has yet to record the usage of the turn
    // that just ended; /exit now would take it away.
    let heard = crate::accounts::usage::book::Book::of(&d.config.state_file).await_report(
        session,
        &started.nonce,
        USAGE_WAIT,
    );
    report::debug(format!(
        "{session}: its status line before /exit: {heard:?}"
    ));
    let tmux = d.tmux(session);
    let pane = AgentPane {
        tmux: &tmux,
        session,
        started,
    };
    if !pane.exit(limit)? {
        report::warn(format!(
            "{session}: the agent did not exit within {} of /exit; it gets no new task",
            crate::clock::format_duration(limit)
        ));
        return Ok(false);
    }
    report::debug(format!("{session}: the agent exited"));
    Ok(true)
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
                "{session}: a launch there is still in flight after {}",
                crate::clock::format_duration(limit)
            ));
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Gives `session` the first pending task, if it is free.
pub fn next_task(d: &Dispatcher, session: &str) -> anyhow::Result<()> {
    let tasks = pending::sorted(pending::read_all(d.config, &d.trust, Mode::Act));
    if tasks.is_empty() {
        report::debug(format!("{session}: no pending task"));
        return Ok(());
    }
    let round = d.round(
        &tasks,
        Target::One {
            session,
            chooser: Chooser::Automatic,
        },
        Recovery::Skip,
    )?;
    if let Some(busy) = round.busy {
        report::debug(format!("{session} takes no task now: {busy}"));
    }
    if round.failed > 0 {
        anyhow::bail!("the launch into {session} failed; its task is back in its inbox");
    }
    Ok(())
}
