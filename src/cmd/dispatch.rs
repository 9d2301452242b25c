//! `dispatch <task> [--session NAME]`: one task, by hand or from a script.
//! Without a name it takes the first free pool session; with one, the
//! operator may name any configured session, dedicated ones included.

use std::os::unix::ffi::OsStrExt;
use std::time::SystemTime;

use super::{Ctx, Run};
use crate::cli::DispatchArgs;
use crate::dispatcher::{Dispatcher, Target};
use crate::error::{bad_input, Outcome};
use crate::inbox;
use crate::pending::Pending;
use crate::task;

impl Run for DispatchArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        let d = Dispatcher::new(&config);
        let path = std::path::absolute(&self.task).unwrap_or_else(|_| self.task.clone());
        let file_name = path.file_name().unwrap_or_default();
        if !inbox::is_task_name(file_name.as_bytes()) {
            return Err(bad_input(format!(
                "{}: not a pending task (its name must end in .md and not start with .)",
                path.display()
            )));
        }
        let project = inbox::project_of(&path).ok_or_else(|| {
            bad_input(format!(
                "{}: not in a project's .agent-queue/inbox/ folder",
                path.display()
            ))
        })?;
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
        if let Some(why) = d.trust.refuse_file(&path, &meta) {
            return Err(bad_input(format!("refusing task: {why}")));
        }
        let task = task::read(&path).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
        let target = match &self.session {
            Some(s) => {
                if config.pool_of(s).is_none() && config.dedicated(s).is_none() {
                    return Err(bad_input(format!(
                        "{:#}",
                        crate::servers::unknown_session(&config, s)
                    )));
                }
                Target::One {
                    session: s,
                    by_hand: true,
                }
            }
            None => Target::Pool,
        };
        let pending = Pending {
            project,
            name: file_name.to_string_lossy().into_owned(),
            mtime: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            task,
            path,
        };
        let round = d.round(std::slice::from_ref(&pending), target, false)?;
        if round.failed > 0 {
            anyhow::bail!(
                "the launch failed; {} is back in its inbox",
                pending.path.display()
            );
        }
        if round.dispatched == 1 {
            return Ok(Outcome::Done);
        }
        match (&self.session, round.busy) {
            (Some(s), Some(busy)) => crate::report::info(format!("{s} cannot take a task: {busy}")),
            (Some(s), None) => crate::report::info(format!("{s} cannot take a task now")),
            (None, _) => crate::report::info("no free pool session; the task stays in its inbox"),
        }
        if !pending.path.exists() {
            crate::report::info(format!(
                "{} was taken by another invocation",
                pending.path.display()
            ));
        }
        Ok(Outcome::NothingFound)
    }
}
