//! `requeue <TASK>...`: a finished task (`.dispatched` that no session holds,
//! `.rejected`, `.cancelled`) goes back into its inbox as `<name>.md`, or the
//! first free numbered name: nothing is overwritten. Decided under the
//! state's lock, so a task a session holds is refused, never run twice.

use std::path::Path;

use super::{Ctx, Run};
use crate::cli::RequeueArgs;
use crate::error::{bad_input, Outcome};
use crate::output::report::{self, Event};
use crate::queue::finished::TaskFile;
use crate::queue::{inbox, locate};
use crate::store::state::Store;

impl Run for RequeueArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        crate::store::journal::open(&config);
        let store = Store::new(config.state_file.clone());
        let mut outcome = Outcome::Done;
        for task in &self.tasks {
            let locked = store.lock()?;
            let found = locate::find(&config, &locked.state, task);
            match requeue(task, &found)? {
                Ok(event) => {
                    drop(locked);
                    report::event(&event);
                }
                Err(why) => {
                    drop(locked);
                    report::info(why);
                    outcome = Outcome::NothingFound;
                }
            }
        }
        Ok(outcome)
    }
}

/// Puts the one finished file among `found` back; why not, otherwise.
fn requeue(
    named: &Path,
    found: &[(std::path::PathBuf, TaskFile)],
) -> anyhow::Result<Result<Event, String>> {
    if let Some((path, TaskFile::Held(session))) =
        found.iter().find(|(_, f)| matches!(f, TaskFile::Held(_)))
    {
        return Ok(Err(format!(
            "{}: {session} still holds it; `agent-queue cancel {session}` first",
            path.display()
        )));
    }
    let over: Vec<&std::path::PathBuf> = found
        .iter()
        .filter(|(_, f)| matches!(f, TaskFile::Finished(_)))
        .map(|(p, _)| p)
        .collect();
    let from = match over.as_slice() {
        [one] => *one,
        [] => {
            return Ok(Err(
                match found.iter().find(|(_, f)| *f == TaskFile::Pending) {
                    Some((p, _)) => {
                        format!("{} is pending already; nothing to requeue", p.display())
                    }
                    None => format!(
                        "no finished task named `{}` (.dispatched, .rejected or .cancelled)",
                        named.display()
                    ),
                },
            ))
        }
        many => {
            return Err(bad_input(format!(
                "`{}` names several finished tasks: {}; give the path of one",
                named.display(),
                many.iter()
                    .map(|p| crate::paths::escape_path(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    let task =
        inbox::unclaim(from).map_err(|e| anyhow::anyhow!("renaming {}: {e}", from.display()))?;
    Ok(Ok(Event::Requeued {
        task,
        from: from.clone(),
    }))
}
