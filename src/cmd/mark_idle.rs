//! `mark-idle [<session>] [--no-next]`: the end of a task, usually called
//! bare by the agent's Stop hook from inside the session it marks.
//!
//! A dedicated session is only marked idle. A pool session is marked idle,
//! sent `/exit` (when `[pool] recycle` is on) and, once the agent has
//! exited, given the next pending task. From inside the session that waiting
//! cannot happen in the foreground: the agent waits for its hook to return
//! before it reads `/exit`. So the rest is handed to a detached
//! `agent-queue recycle`, and the hook returns at once.
//!
//! `/exit` is typed only into the agent that agent-queue started in that
//! pane and that still runs there (the pane says so, see `pane`), never into
//! whatever else a pane runs, and one recycle at a time per session: the
//! recycle lock, taken before the session is marked, passes to the detached
//! recycle, so however many `mark-idle` run at once, one `/exit` is typed.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{Ctx, Run};
use crate::cli::{MarkIdleArgs, RecycleArgs};
use crate::config::{Config, Kind};
use crate::dispatch::free::{self, Chooser};
use crate::dispatch::{Dispatcher, Recovery, Target};
use crate::error::{bad_input, Outcome};
use crate::output::report::{self, Event};
use crate::pane::agent::AgentPane;
use crate::pane::{Activity, Started};
use crate::queue::pending::{self, Mode};
use crate::store::state::{now, Phase};

/// The variable the started script exports to the agent and its hooks.
pub const RUN_VAR: &str = "AGENT_QUEUE_RUN";

impl Run for MarkIdleArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        let d = Dispatcher::new(&config);
        let own_session = match &self.session {
            Some(_) => None,
            None => match own_session(&d)? {
                Ok(s) => Some(s),
                Err(why) => {
                    // A Stop hook installed for every agent also runs in
                    // sessions agent-queue does not manage: nothing to do.
                    report::info(format!("not managed by agent-queue: {why}"));
                    return Ok(Outcome::NothingFound);
                }
            },
        };
        let session = self
            .session
            .clone()
            .or(own_session.clone())
            .expect("named or found");
        let kind = config.kind(&session);
        let dedicated = matches!(kind, Kind::Dedicated(_));
        if let Kind::Unknown = kind {
            if self.session.is_none() {
                report::info(format!(
                    "session `{session}` (from $TMUX_PANE) is not managed by agent-queue"
                ));
                return Ok(Outcome::NothingFound);
            }
            return Err(bad_input(format!(
                "{:#}",
                crate::tmux::servers::unknown_session(&config, &session)
            )));
        }
        // Its agent's hook: it speaks for the agent agent-queue started,
        // not for one that ran in this session before.
        if own_session.is_some() && !dedicated {
            if let Ok(run) = std::env::var(RUN_VAR) {
                let current = d
                    .store
                    .read()?
                    .sessions
                    .get(&session)
                    .and_then(|s| s.started.clone());
                if current.as_ref().is_some_and(|s| s.nonce != run) {
                    report::info(format!(
                        "{session}: a Stop hook of an agent started there before ({RUN_VAR}={run}); ignored"
                    ));
                    return Ok(Outcome::Done);
                }
            }
        }
        let caller = if own_session.as_deref() == Some(session.as_str()) {
            Caller::Agent
        } else {
            Caller::Operator
        };
        end_task(ctx, &d, &session, caller, How::new(self.no_next, false))
    }
}

/// Who ends a task: the agent's own hook (it waits for the hook to return,
/// so the recycle goes on in the background), or anyone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    Agent,
    Operator,
}

/// The end of `session`'s task: marked idle; a pool session recycled (one
/// recycle at a time) and given its next task as `how` says.
pub(crate) fn end_task(
    ctx: &Ctx,
    d: &Dispatcher,
    session: &str,
    caller: Caller,
    how: How,
) -> anyhow::Result<Outcome> {
    let config = d.config;
    let session = session.to_string();
    let (dedicated, pool) = match config.kind(&session) {
        Kind::Pool(p) => (false, Some(p)),
        Kind::Dedicated(_) => (true, None),
        Kind::Unknown => (false, None),
    };
    {
        let recycling = pool.is_some_and(|p| p.recycle);
        let lock = if recycling {
            match d.store.try_recycle_lock(&session)? {
                Some(lock) => Some(lock),
                None => {
                    report::info(format!(
                        "{session} is being recycled by another invocation; nothing to do"
                    ));
                    return Ok(Outcome::Done);
                }
            }
        } else {
            None
        };
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
        let Some(lock) = lock else {
            if how == How::ExitThenNext {
                next_task(d, &session)?;
            }
            return Ok(Outcome::Done);
        };
        if caller == Caller::Agent {
            detach_recycle(ctx, config, &session, how, &lock)?;
            return Ok(Outcome::Done);
        }
        recycle(d, &session, how, lock)
    }
}

impl Run for RecycleArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        let d = Dispatcher::new(&config);
        let kind = config.kind(&self.session);
        if let Kind::Dedicated(_) = kind {
            return Err(bad_input(format!(
                "`{}` is a dedicated session: agent-queue never recycles it",
                self.session
            )));
        }
        if let Kind::Unknown = kind {
            return Err(bad_input(format!(
                "{:#}",
                crate::tmux::servers::unknown_session(&config, &self.session)
            )));
        }
        let lock = match self.lock_fd {
            // SAFETY: `mark-idle` passed this descriptor down, open and
            // locked, for this process to own (see detach_recycle); one that
            // is not open is refused rather than owned.
            Some(fd) if fd > 2 && unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0 => unsafe {
                File::from_raw_fd(fd)
            },
            Some(fd) => {
                return Err(bad_input(format!(
                    "--lock-fd {fd}: not an open descriptor passed down by mark-idle"
                )))
            }
            None => match d.store.try_recycle_lock(&self.session)? {
                Some(lock) => lock,
                None => {
                    report::info(format!(
                        "{} is being recycled by another invocation; nothing to do",
                        self.session
                    ));
                    return Ok(Outcome::Done);
                }
            },
        };
        recycle(&d, &self.session, How::new(self.no_next, self.stop), lock)
    }
}

/// The session whose pane runs this process, when `$TMUX` names the
/// configured tmux server; otherwise why not (a hook in the operator's own
/// server must not act on a pane of the pool's server that has the same id).
pub(crate) fn own_session(d: &Dispatcher) -> anyhow::Result<Result<String, String>> {
    // An agent agent-queue started says which start it is: that names its
    // session for sure, on this host or another, with no tmux call.
    if let Ok(run) = std::env::var(RUN_VAR) {
        if let Some(name) = session_of_start(d, &run)? {
            return Ok(Ok(name));
        }
    }
    let Some(pane) = std::env::var("TMUX_PANE").ok().filter(|p| !p.is_empty()) else {
        return Err(bad_input(
            "no session named and $TMUX_PANE is not set: name the session, or call this from inside it",
        ));
    };
    let Some(socket) = std::env::var("TMUX")
        .ok()
        .and_then(|t| t.split(',').next().map(str::to_string))
        .filter(|s| !s.is_empty())
    else {
        return Ok(Err("$TMUX is not set, so the tmux server is unknown".into()));
    };
    // Pane ids repeat across servers: ask each configured server for the
    // pane, and take the one whose socket is $TMUX's.
    let mut seen = Vec::new();
    // $TMUX names a socket of this host: a remote server is never it, and
    // is not asked (a hook runs in every Claude Code of the operator's).
    for tmux in crate::tmux::servers::all(d.config)
        .into_iter()
        .filter(|t| !t.is_remote())
    {
        match tmux.pane_owner(&pane) {
            Ok(Some((server, session))) if same_file(Path::new(&server), Path::new(&socket)) => {
                return Ok(Ok(session))
            }
            Ok(Some((server, _))) => seen.push(server),
            Ok(None) => {}
            Err(e) => report::debug(format!("finding pane {pane}: {e:#}")),
        }
    }
    Ok(Err(if seen.is_empty() {
        format!("no configured tmux server has pane {pane} ($TMUX_PANE)")
    } else {
        format!(
            "$TMUX names the tmux server at {socket}, not a configured one ({})",
            seen.join(", ")
        )
    }))
}

/// The session whose recorded start has this nonce (`AGENT_QUEUE_RUN`).
pub(crate) fn session_of_start(d: &Dispatcher, nonce: &str) -> anyhow::Result<Option<String>> {
    let state = d.store.read()?;
    Ok(state
        .sessions
        .iter()
        .find(|(_, s)| s.started.as_ref().is_some_and(|st| st.nonce == nonce))
        .map(|(name, _)| name.clone()))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Starts `agent-queue recycle <session>` in its own session, its output
/// appended to a log beside the state file, and returns without waiting.
/// The recycle lock goes with it: the child inherits the locked file and
/// is told its descriptor.
pub(crate) fn detach_recycle(
    ctx: &Ctx,
    config: &Config,
    session: &str,
    how: How,
    lock: &File,
) -> anyhow::Result<()> {
    let log_path = config.state_file.with_file_name("recycle.log");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&log_path)
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
    if ctx.global.verbose {
        cmd.arg("--verbose");
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    // SAFETY: setsid and fcntl are async-signal-safe. The child leaves the
    // hook's process group and session, so nothing that ends the hook ends
    // it; and it keeps the locked file open (close-on-exec cleared), so the
    // lock is held until the child exits.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            }
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

/// Sends `/exit` to the agent agent-queue started in the session, if it
/// still runs there, waits until it has exited, then gives the session the
/// next task unless `no_next`. The recycle lock is let go once the agent has
/// exited: the next agent's own Stop hook may come before this returns.
fn recycle(d: &Dispatcher, session: &str, how: How, lock: File) -> anyhow::Result<Outcome> {
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
pub(crate) enum How {
    /// `/exit`, then the next pending task.
    ExitThenNext,
    /// `/exit`, and the session stays idle (`--no-next`).
    Exit,
    /// `C-c` (its account hit its usage limit), and no task.
    Stop,
}

impl How {
    fn new(no_next: bool, stop: bool) -> How {
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
            "{session}: the agent did not exit within {}s of /exit; it gets no new task",
            limit.as_secs()
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
                "{session}: a launch there is still in flight after {}s",
                limit.as_secs()
            ));
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
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
