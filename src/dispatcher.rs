//! Claim, launch, settle: the one path every dispatch takes, whether from
//! `scan`, `dispatch` or `mark-idle`. Under the state lock a task is renamed
//! to `.dispatched` and its session reserved (with the session's launch lock
//! taken); the slow launch runs outside the lock, several at once on threads;
//! then, under the lock again, the session is marked working, or the task goes
//! back to its inbox and the session cools down. A scan also recovers what a
//! dead launcher or a dead session left behind.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::Config;
use crate::inbox;
use crate::launch::{self, Launch, Stage};
use crate::pending::Pending;
use crate::report::{self, Event};
use crate::security::Trust;
use crate::sessions::{self, Busy};
use crate::state::{now, Locked, Phase, Store};
use crate::tmux::{Snapshot, Tmux};

pub struct Dispatcher<'a> {
    pub config: &'a Config,
    pub tmux: Tmux,
    pub store: Store,
    pub trust: Trust,
}

/// Which sessions a claim may use.
#[derive(Debug, Clone, Copy)]
pub enum Target<'s> {
    /// Every free pool session, in pool order.
    Pool,
    /// This session only; `by_hand` lets an operator name a dedicated one.
    One { session: &'s str, by_hand: bool },
}

/// A task renamed to `.dispatched` with its session reserved.
struct Claim {
    pending: Pending,
    dispatched: PathBuf,
    session: String,
    model: String,
    /// Held for the whole launch: a scan that can take it knows we died.
    lock: File,
}

/// What a round of claims came to.
#[derive(Debug, Default)]
pub struct Round {
    pub claimed: usize,
    pub dispatched: usize,
    pub failed: usize,
    pub recovered: usize,
    /// Where the tasks of failed launches are back in their inboxes.
    pub returned: Vec<PathBuf>,
    /// Why a `Target::One` session could not be used.
    pub busy: Option<Busy>,
}

impl<'a> Dispatcher<'a> {
    pub fn new(config: &'a Config) -> Dispatcher<'a> {
        Dispatcher {
            config,
            tmux: Tmux::new(config.tmux_command.clone()),
            store: Store::new(config.state_file.clone()),
            trust: Trust::new(&config.security),
        }
    }

    /// One round: under the lock, recover what needs it (when `recover`),
    /// then claim tasks (in the order given) for free sessions; then launch
    /// the claims concurrently and settle each.
    pub fn round(
        &self,
        tasks: &[Pending],
        target: Target<'_>,
        recover: bool,
    ) -> anyhow::Result<Round> {
        let mut round = Round::default();
        let claims = {
            let mut locked = self.store.lock()?;
            let holds_any = locked
                .state
                .sessions
                .values()
                .any(|s| s.state != Phase::Idle);
            if tasks.is_empty() && !(recover && holds_any) {
                return Ok(round);
            }
            // One tmux call decides both recovery and freeness.
            let snapshot = self.tmux.snapshot()?;
            if recover && holds_any {
                round.recovered = self.recover(&mut locked, &snapshot)?;
            }
            let claims = self.claim(&mut locked, &snapshot, tasks, target, &mut round)?;
            if round.recovered > 0 || !claims.is_empty() {
                locked.save()?;
            }
            claims
        };
        round.claimed = claims.len();
        let results: Vec<Result<(), Option<PathBuf>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = claims
                .into_iter()
                .map(|claim| scope.spawn(move || self.launch_and_settle(claim)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(None)))
                .collect()
        });
        for result in results {
            match result {
                Ok(()) => round.dispatched += 1,
                Err(back) => {
                    round.failed += 1;
                    round.returned.extend(back);
                }
            }
        }
        Ok(round)
    }

    fn claim(
        &self,
        locked: &mut Locked,
        snapshot: &Snapshot,
        tasks: &[Pending],
        target: Target<'_>,
        round: &mut Round,
    ) -> anyhow::Result<Vec<Claim>> {
        let now = now();
        let sessions: Vec<String> = match target {
            Target::Pool => sessions::free_pool(self.config, snapshot, &locked.state, now),
            Target::One { session, by_hand } => {
                match sessions::check(self.config, snapshot, &locked.state, session, now, by_hand) {
                    Ok(()) => vec![session.to_string()],
                    Err(busy) => {
                        round.busy = Some(busy);
                        Vec::new()
                    }
                }
            }
        };
        let mut claims = Vec::new();
        let mut sessions = sessions.into_iter();
        let mut held: Option<(String, File)> = None;
        for pending in tasks {
            if held.is_none() {
                held = loop {
                    let Some(s) = sessions.next() else { break None };
                    if let Some(lock) = self.store.try_launch_lock(&s)? {
                        break Some((s, lock));
                    }
                };
            }
            let Some((session, lock)) = held.take() else {
                break;
            };
            let dispatched = match inbox::claim(&pending.path) {
                Ok(Some(d)) => d,
                Ok(None) => {
                    report::debug(format!(
                        "{} was taken by another invocation",
                        pending.path.display()
                    ));
                    held = Some((session, lock));
                    continue;
                }
                Err(e) => {
                    report::event(&Event::Skipped {
                        task: pending.path.clone(),
                        reason: format!("could not claim it (rename to .dispatched): {e}"),
                    });
                    held = Some((session, lock));
                    continue;
                }
            };
            let _ = lock.set_len(0);
            locked.state.set(&session, Phase::Launching, now);
            let entry = locked.state.entry(&session);
            entry.task = Some(dispatched.clone());
            entry.project = Some(pending.project.clone());
            let model = self.config.model_for(pending.task.priority);
            claims.push(Claim {
                pending: pending.clone(),
                dispatched,
                session,
                model,
                lock,
            });
        }
        Ok(claims)
    }

    /// The session's resume id, when its file is trusted and well formed.
    fn resume(&self, session: &str) -> Option<(PathBuf, String)> {
        let dir = &self.config.agent.resume_dir;
        let path = dir.join(format!("{session}-resume-id.txt"));
        let meta = std::fs::symlink_metadata(&path).ok()?;
        let refusal = std::fs::metadata(dir)
            .ok()
            .and_then(|m| self.trust.refuse_folder(dir, &m))
            .or_else(|| {
                (!meta.is_file()).then(|| format!("{} is not a regular file", path.display()))
            })
            .or_else(|| self.trust.refuse_file(&path, &meta));
        if let Some(why) = refusal {
            report::warn(format!("ignoring resume id for {session}: {why}"));
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        match launch::resume_id(&text) {
            Some(id) => Some((path, id.to_string())),
            None => {
                report::warn(format!(
                    "ignoring resume file {}: it does not hold a well-formed session id",
                    path.display()
                ));
                None
            }
        }
    }

    /// Launches, then settles; on failure, where the task is back.
    fn launch_and_settle(&self, claim: Claim) -> Result<(), Option<PathBuf>> {
        let resume = self.resume(&claim.session);
        let agent = &self.config.agent;
        let launch = Launch {
            tmux: &self.tmux,
            agent,
            session: &claim.session,
            command_line: launch::command_line(
                agent,
                &claim.pending.project,
                &claim.model,
                resume.as_ref().map(|r| r.1.as_str()),
            ),
            message: launch::message(agent, &claim.pending.name, &claim.pending.task),
            progress: Some(&claim.lock),
        };
        report::debug(format!(
            "launching {} in {}",
            claim.dispatched.display(),
            claim.session
        ));
        let outcome = launch.run();
        if outcome.is_err() && self.config.pool.contains(&claim.session) {
            self.interrupt(&claim.session);
        }
        match self.settle(&claim, &outcome, resume.as_ref().map(|r| r.0.as_path())) {
            Ok(settled) => settled,
            Err(e) => {
                report::error(format!(
                    "settling {} in {}: {e:#}",
                    claim.dispatched.display(),
                    claim.session
                ));
                Err(None)
            }
        }
        // `claim.lock` drops here, after the state says how it ended.
    }

    fn settle(
        &self,
        claim: &Claim,
        outcome: &Result<(), launch::LaunchError>,
        resume: Option<&Path>,
    ) -> anyhow::Result<Result<(), Option<PathBuf>>> {
        let mut locked = self.store.lock()?;
        let now = now();
        let ok = match outcome {
            Ok(()) => {
                let entry = locked.state.entry(&claim.session);
                // A fast agent may finish its turn, and its Stop hook mark
                // the session idle, before this launch has settled: then
                // the task is done, and the session stays idle.
                let still_ours = entry.state == Phase::Launching
                    && entry.task.as_ref() == Some(&claim.dispatched);
                if still_ours {
                    locked.state.set(&claim.session, Phase::Working, now);
                }
                let entry = locked.state.entry(&claim.session);
                entry.last_error = None;
                if let Some(path) = resume {
                    // Only now: a failed launch keeps the id for the next try.
                    if let Err(e) = std::fs::remove_file(path) {
                        report::warn(format!("removing used resume file {}: {e}", path.display()));
                    }
                }
                report::event(&Event::Dispatched {
                    session: claim.session.clone(),
                    task: claim.dispatched.clone(),
                    project: claim.pending.project.clone(),
                    priority: claim.pending.task.priority,
                    model: claim.model.clone(),
                });
                Ok(())
            }
            Err(e) => {
                let back = inbox::unclaim(&claim.dispatched);
                locked.state.set(&claim.session, Phase::Idle, now);
                let entry = locked.state.entry(&claim.session);
                entry.last_fail = Some(now);
                entry.last_error = Some(e.0.clone());
                let reason = match &back {
                    Ok(_) => format!(
                        "{e}; the task is back in its inbox and {} cools down",
                        claim.session
                    ),
                    Err(be) => format!("{e}; and putting it back failed: {be}"),
                };
                report::event(&Event::Failed {
                    task: back.as_ref().unwrap_or(&claim.dispatched).clone(),
                    reason,
                    session: Some(claim.session.clone()),
                });
                Err(back.ok())
            }
        };
        locked.save()?;
        Ok(ok)
    }

    /// After a failed launch into a pool session its agent may sit at a
    /// dialog, or be half started, and keep the session busy for good:
    /// interrupt it. Two `C-c` a moment apart leave Claude Code's dialogs
    /// without answering them (sent at once, the API-key question stays).
    fn interrupt(&self, session: &str) {
        let shells = &self.config.agent.shells;
        let screen = || self.tmux.screen(session).ok();
        let at_shell = |s: &Option<crate::tmux::Screen>| {
            s.as_ref()
                .is_none_or(|s| sessions::is_shell(&s.command, shells))
        };
        // The second C-c goes once the first has shown its effect (Claude
        // Code: "Press Ctrl-C again to exit"), the way a person presses it.
        for wait in [Duration::from_millis(500), Duration::from_secs(2)] {
            let before = screen();
            if at_shell(&before) || self.tmux.send_keys(session, &["C-c".into()]).is_err() {
                return;
            }
            let start = Instant::now();
            while start.elapsed() < wait {
                std::thread::sleep(Duration::from_millis(20));
                let now = screen();
                if at_shell(&now) {
                    return;
                }
                let changed = now.as_ref().map(|s| &s.text) != before.as_ref().map(|s| &s.text);
                if changed && wait < Duration::from_secs(1) {
                    break;
                }
            }
        }
        if !at_shell(&screen()) {
            report::warn(format!(
                "{session}: its agent did not exit after C-c twice; the session stays busy until it does"
            ));
        }
    }

    /// Puts back the tasks of launches whose process died and of sessions
    /// that died while holding a task. Returns how many changed.
    fn recover(&self, locked: &mut Locked, snapshot: &Snapshot) -> anyhow::Result<usize> {
        let holders: Vec<(String, Phase, Option<PathBuf>)> = locked
            .state
            .sessions
            .iter()
            .filter(|(_, s)| s.state != Phase::Idle)
            .map(|(n, s)| (n.clone(), s.state, s.task.clone()))
            .collect();
        let mut changed = 0;
        let now = now();
        for (session, phase, task) in holders {
            let pane = snapshot.pane(&session);
            let reason = match phase {
                Phase::Launching => {
                    let Some(mut lock) = self.store.try_launch_lock(&session)? else {
                        continue; // still in flight
                    };
                    let mut stage = String::new();
                    let _ = lock.read_to_string(&mut stage);
                    let stage = Stage::parse(&stage);
                    let agent_running = pane.is_some_and(|p| {
                        !sessions::is_shell(&p.command, &self.config.agent.shells)
                    });
                    if agent_running && stage >= Some(Stage::Pasted) {
                        // The message is in the agent's input: finish the
                        // delivery rather than run the task twice.
                        if stage == Some(Stage::Pasted) {
                            self.tmux.send_keys(&session, &["Enter".into()])?;
                        }
                        locked.state.set(&session, Phase::Working, now);
                        locked.state.entry(&session).task = task.clone();
                        report::warn(format!(
                            "the launch into {session} was cut off after the paste; {} stays with its agent",
                            task.as_deref().unwrap_or(Path::new("?")).display()
                        ));
                        changed += 1;
                        continue;
                    }
                    if pane.is_some() && self.config.pool.contains(&session) {
                        // The typed command may still be on its way, or its
                        // agent starting, for a task it will never get:
                        // interrupt it (at a shell, ^C only drops the line),
                        // so that the session comes back free.
                        self.tmux
                            .send_keys(&session, &["C-c".into(), "C-c".into()])?;
                    }
                    format!(
                        "the process launching it into {session} died ({})",
                        stage.map(Stage::as_str).unwrap_or("before typing")
                    )
                }
                Phase::Working if pane.is_none() => {
                    format!("session {session} died while holding it")
                }
                _ => continue,
            };
            locked.state.set(&session, Phase::Idle, now);
            changed += 1;
            let Some(task) = task else { continue };
            match inbox::unclaim(&task) {
                Ok(back) => report::event(&Event::Recovered {
                    task: back,
                    reason,
                    session: Some(session.clone()),
                }),
                Err(e) => report::warn(format!(
                    "{reason}, but {} could not be put back: {e}",
                    task.display()
                )),
            }
        }
        Ok(changed)
    }

    /// The session that holds `$TMUX_PANE`.
    pub fn session_of_pane(&self, pane: &str) -> anyhow::Result<String> {
        self.tmux
            .session_of_pane(pane)
            .with_context(|| format!("finding the session of pane {pane} ($TMUX_PANE)"))
    }
}
