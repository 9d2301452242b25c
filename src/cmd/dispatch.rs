//! `dispatch <task> [--session NAME]`: one task, by hand or from a script.
//! Without a name it takes the first free pool session; with one, the
//! operator may name any configured session, dedicated ones included.

use super::{Ctx, Run};
use crate::cli::DispatchArgs;
use crate::config::Kind;
use crate::dispatch::free::Chooser;
use crate::dispatch::{Dispatcher, Recovery, Target};
use crate::error::{bad_input, Outcome};
use crate::queue::pending::{self, Refusal};
use crate::queue::{parallel, worktree};

impl Run for DispatchArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        crate::store::journal::open(&config);
        let d = Dispatcher::new(&config);
        let path = std::path::absolute(&self.task).unwrap_or_else(|_| self.task.clone());
        // Held to what a scan holds it to: an operator naming a file does
        // not lift the checks on who could have written it.
        let pending = pending::read_named(&path, &d.trust).map_err(|refusal| match refusal {
            Refusal::Untrusted(why) => bad_input(format!("refusing task: {why}")),
            Refusal::Broken(e) => bad_input(format!("{}: {e}", path.display())),
            Refusal::NotATask(why) => bad_input(why),
        })?;
        if worktree::isolation(&config, &pending.task) == worktree::Isolation::Worktree {
            worktree::check(&pending.project).map_err(|e| bad_input(format!("{e:#}")))?;
        }
        let target = match &self.session {
            Some(s) => {
                if let Kind::Unknown = config.kind(s) {
                    return Err(crate::tmux::servers::unknown_session(&config, s));
                }
                Target::One {
                    session: s,
                    chooser: Chooser::Operator,
                }
            }
            None => {
                if let Err(why) = crate::queue::routing::eligible(&config, &pending.task) {
                    return Err(bad_input(format!("{}: {why}", pending.path.display())));
                }
                Target::Pool
            }
        };
        // A host that does not answer costs its wait here, not under the
        // state's lock (see `servers::reach_remote`).
        let remote = match target {
            Target::Pool => config.pools.iter().any(|p| p.host.is_some()),
            Target::One { session, .. } => {
                config.pool_of(session).is_some_and(|p| p.host.is_some())
            }
        };
        if remote {
            crate::tmux::servers::reach_remote(&config);
        }
        let round = d.round(std::slice::from_ref(&pending), target, Recovery::Skip)?;
        if round.failed > 0 {
            anyhow::bail!(
                "the launch failed; {} is back in its inbox",
                pending.path.display()
            );
        }
        if round.dispatched == 1 {
            return Ok(Outcome::Done);
        }
        if let Err(full) = parallel::room(&config, &d.store.read()?, &pending.project) {
            crate::output::report::info(format!("{} waits: {full}", pending.path.display()));
            return Ok(Outcome::NothingFound);
        }
        match (&self.session, round.busy) {
            (Some(s), Some(busy)) => {
                crate::output::report::info(format!("{s} cannot take a task: {busy}"))
            }
            (Some(s), None) => crate::output::report::info(format!("{s} cannot take a task now")),
            (None, _) => crate::output::report::info(format!(
                "no free pool session{}; the task stays in its inbox",
                crate::dispatch::free::paused_note(&config, &d.store.read()?, &pending.project)
            )),
        }
        if !pending.path.exists() {
            crate::output::report::info(format!(
                "{} was taken by another invocation",
                pending.path.display()
            ));
        }
        Ok(Outcome::NothingFound)
    }
}
