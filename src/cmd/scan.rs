//! `scan`: the systemd units' job. Recover, then dispatch every pending task
//! while pool sessions are free, and scan again while a pass changed
//! something: a `PathChanged=` unit drops the events that land while its
//! service runs, so a scan must not exit with work it could still see. For
//! the same reason a scan waits, briefly, for tasks that are still settling:
//! the path unit started it for the very write that made them young.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::{Ctx, Run};
use crate::cli::ScanArgs;
use crate::clock::now;
use crate::config::Config;
use crate::dispatch::free;
use crate::dispatch::{Dispatcher, Recovery, Target};
use crate::error::Outcome;
use crate::output::report::{self, Event};
use crate::queue::pending::{self, Mode};
use crate::queue::routing;
use crate::tmux::servers;
use crate::tmux::Snapshot;

/// A guard against a loop that keeps finding changes (tasks written as fast
/// as they are dispatched): the timer comes back soon anyway.
const MAX_PASSES: usize = 100;

/// How long a scan waits in all for settling tasks; tasks that settle later
/// are left to the next scan (the timer's, at the latest).
const MAX_SETTLE_WAIT: Duration = Duration::from_secs(10);

impl Run for ScanArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        crate::store::journal::open(&config);
        let d = Dispatcher::new(&config);
        if self.dry_run {
            return plan(&d);
        }
        crate::accounts::usage::book::Book::of(&config.state_file).settle_all(&config, now());
        let mut failed = 0;
        // A task whose launch failed is not tried again by the same scan:
        // a task that stops every agent at a dialog would otherwise take
        // each free session in turn into a cooldown.
        let mut returned: HashSet<PathBuf> = HashSet::new();
        let mut said_no_pool = false;
        let settle_deadline = Instant::now() + MAX_SETTLE_WAIT;
        for pass in 0..MAX_PASSES {
            let mode = if pass == 0 { Mode::Act } else { Mode::Rescan };
            let projects = pending::read_all(&config, &d.trust, mode);
            let settled_at = pending::next_settled(&projects);
            let mut tasks = pending::sorted(projects);
            tasks.retain(|t| !returned.contains(&t.path));
            if pass == 0 {
                // A task no pool may ever take waits for the config or its
                // header to change: said once per scan, not at debug level.
                for t in &tasks {
                    if let Err(why) = routing::eligible(&config, &t.task) {
                        report::warn(format!("{} waits: {why}", t.path.display()));
                    }
                }
            }
            // Recovery runs once: what a later pass could recover, this
            // scan did not see die; and so a pass with nothing pending costs
            // no tmux call.
            let recovery = if pass == 0 {
                Recovery::Run
            } else {
                Recovery::Skip
            };
            if pass == 0 && asks_a_host(&d, &tasks) {
                servers::reach_remote(&config);
            }
            let round = d.round(&tasks, Target::Pool, recovery)?;
            // Only now, and only when everything still waits, is one more
            // tmux call worth it: a pool that does not exist at all (not
            // started, or on another tmux server) looks just like a busy
            // one, and would leave tasks waiting without a word.
            if round.claimed == 0 && !tasks.is_empty() && !said_no_pool {
                said_no_pool = true;
                match servers::snapshot(&config) {
                    Ok(snapshot) => warn_if_no_pool(&config, &snapshot, tasks.len()),
                    Err(e) => report::debug(format!("looking for pool sessions: {e:#}")),
                }
            }
            failed += round.failed;
            returned.extend(round.returned);
            if round.claimed > 0 || round.recovered > 0 {
                continue;
            }
            // A task that found no free session means a settling one would
            // find none either.
            if !tasks.is_empty() {
                break;
            }
            let Some(wait) =
                settled_at.map(|at| at.duration_since(SystemTime::now()).unwrap_or_default())
            else {
                break;
            };
            if Instant::now()
                .checked_add(wait)
                .is_none_or(|t| t > settle_deadline)
            {
                report::debug("tasks still settling are left for a later scan");
                break;
            }
            report::debug(format!(
                "waiting {} for tasks to settle",
                crate::clock::format_duration(wait)
            ));
            std::thread::sleep(wait + Duration::from_millis(10));
        }
        if failed > 0 {
            anyhow::bail!("{failed} launch(es) failed; their tasks are back in their inboxes");
        }
        Ok(Outcome::Done)
    }
}

/// Whether this scan's first round will ask a remote host: it has tasks to
/// place, or a session on a host holds one (recovery looks at it). Then
/// the hosts are reached first, before the state's lock is taken.
fn asks_a_host(d: &Dispatcher, tasks: &[pending::Pending]) -> bool {
    let config = d.config;
    let remote = |session: &str| config.pool_of(session).is_some_and(|p| p.host.is_some());
    if !config.pools.iter().any(|p| p.host.is_some()) {
        return false;
    }
    !tasks.is_empty()
        || d.store.read().is_ok_and(|state| {
            state
                .sessions
                .iter()
                .any(|(name, s)| s.phase != crate::store::state::Phase::Idle && remote(name))
        })
}

/// What a scan would dispatch now, without claiming, launching or
/// renaming: the session and pool of each task that would go, and why each
/// other task would wait.
fn plan(d: &Dispatcher) -> anyhow::Result<Outcome> {
    let config = d.config;
    let projects = pending::read_all(config, &d.trust, Mode::Look);
    let settling: usize = projects.iter().map(|p| p.settling).sum();
    if settling > 0 {
        report::info(format!(
            "{settling} task(s) changed too recently to be planned (still settling)"
        ));
    }
    let tasks = pending::sorted(projects);
    if tasks.is_empty() {
        report::info("nothing pending");
        return Ok(Outcome::Done);
    }
    let state = d.store.read()?;
    let snapshot = servers::snapshot(config)?;
    let now = now();
    let mut free = free::free_sessions(config, &snapshot, &state, now);
    warn_if_no_pool(config, &snapshot, tasks.len());
    let mut planned: std::collections::HashMap<&std::path::Path, usize> = Default::default();
    for task in &tasks {
        let so_far = planned.get(task.project.as_path()).copied().unwrap_or(0);
        let route = if free::project_open(&state, &task.project, free::Chooser::Automatic) {
            Ok(())
        } else {
            Err("its project is paused (`agent-queue resume --project`)".to_string())
        }
        .and_then(|()| {
            crate::queue::parallel::room_with(config, &state, &task.project, so_far)
                .map_err(|full| full.to_string())
        })
        .and_then(|()| {
            routing::route(config, &task.task, &mut free, &state, now)
                .map_err(|waits| waits.to_string())
        });
        if route.is_ok() {
            *planned.entry(task.project.as_path()).or_default() += 1;
        }
        match route {
            Ok((pool, session)) => {
                let pool = config.pools[pool].name.clone();
                let model = config.model_for(&session, task.task.priority);
                if report::json() {
                    report::print_json(&Event::Planned {
                        session,
                        pool,
                        task: task.path.clone(),
                        project: task.project.clone(),
                        priority: task.task.priority,
                        model,
                    });
                } else {
                    report::print(&format!(
                        "{session}\t{pool}\t{}\t{model}\t{}\n",
                        task.task.priority,
                        task.path.display()
                    ));
                }
            }
            Err(waits) => {
                let e = Event::Waiting {
                    task: task.path.clone(),
                    reason: waits.to_string(),
                };
                if report::json() {
                    report::print_json(&e);
                } else {
                    report::print(&format!(
                        "-\t-\t{}\twaits\t{}\t{waits}\n",
                        task.task.priority,
                        task.path.display()
                    ));
                }
            }
        }
    }
    Ok(Outcome::Done)
}

/// Warns when `waiting` tasks wait and a pool has not one session in tmux,
/// naming the sessions looked for and where: a pool that does not exist
/// (not started, or on another tmux server) looks just like a busy one.
fn warn_if_no_pool(config: &Config, snapshot: &Snapshot, waiting: usize) {
    if waiting == 0 {
        return;
    }
    for pool in &config.pools {
        if pool
            .sessions()
            .any(|s| snapshot.pane(&s).is_some() || snapshot.is_unknown(&s))
        {
            continue;
        }
        let looked_for = match pool.size {
            0 => format!("none: pool `{}` has size 0", pool.name),
            _ => pool.range(),
        };
        report::warn(format!(
            "{waiting} task(s) wait: no pool session of pool `{}` exists (looked for {looked_for} on `{}`); \
             start them at a shell, e.g. `tmux new-session -d -s {}{}`",
            pool.name,
            pool.tmux.join(" "),
            pool.prefix,
            pool.start
        ));
    }
}
