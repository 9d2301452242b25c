//! `mark-idle [<session>] [--no-next]` and `recycle <session>`: the end of a
//! task, usually called bare by the agent's Stop hook from inside the session
//! it marks. What ending a task does lives in `dispatch::end` and
//! `dispatch::recycle`; this file only finds the session and checks that the
//! call may end its task.

use super::{Ctx, Run};
use crate::cli::{MarkIdleArgs, RecycleArgs};
use crate::config::Kind;
use crate::dispatch::end::{self, Caller, Own, Whose};
use crate::dispatch::recycle::{self, How};
use crate::dispatch::Dispatcher;
use crate::error::{bad_input, Outcome};
use crate::output::report;
use crate::pane::RUN_VAR;

impl Run for MarkIdleArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        crate::store::journal::open(&config);
        let d = Dispatcher::new(&config);
        let (session, own) = match &self.session {
            Some(s) => (s.clone(), false),
            None => match end::own_session(&d)? {
                Own::Session(s) => (s, true),
                Own::Unmanaged(why) => {
                    // A Stop hook installed for every agent also runs in
                    // sessions agent-queue does not manage: nothing to do.
                    report::info(format!("not managed by agent-queue: {why}"));
                    return Ok(Outcome::NothingFound);
                }
            },
        };
        let kind = config.kind(&session);
        if let Kind::Unknown = kind {
            if own {
                report::info(format!(
                    "session `{session}` (from $TMUX_PANE) is not managed by agent-queue"
                ));
                return Ok(Outcome::NothingFound);
            }
            return Err(crate::tmux::servers::unknown_session(&config, &session));
        }
        // Its agent's hook: it speaks for the agent agent-queue started,
        // not for one that ran in this session before.
        if own && !matches!(kind, Kind::Dedicated(_)) {
            let run = end::run_var();
            let state = d.store.read()?;
            if end::whose(state.sessions.get(&session), run.as_deref(), None) == Whose::Earlier {
                report::info(format!(
                    "{session}: a Stop hook of an agent started there before ({RUN_VAR}={}); ignored",
                    run.unwrap_or_default()
                ));
                return Ok(Outcome::Done);
            }
        }
        let caller = match own {
            true => Caller::Agent {
                verbose: ctx.global.verbose,
            },
            false => Caller::Operator,
        };
        end::end_task(&d, &session, caller, How::new(self.no_next, false))
    }
}

impl Run for RecycleArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        crate::store::journal::open(&config);
        let d = Dispatcher::new(&config);
        match config.kind(&self.session) {
            Kind::Dedicated(_) => {
                return Err(bad_input(format!(
                    "`{}` is a dedicated session: agent-queue never recycles it",
                    self.session
                )))
            }
            Kind::Unknown => {
                return Err(crate::tmux::servers::unknown_session(
                    &config,
                    &self.session,
                ))
            }
            Kind::Pool(_) => {}
        }
        let lock = match self.lock_fd {
            Some(fd) => recycle::adopt_lock(fd).ok_or_else(|| {
                bad_input(format!(
                    "--lock-fd {fd}: not an open descriptor passed down by mark-idle"
                ))
            })?,
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
        recycle::recycle(&d, &self.session, How::new(self.no_next, self.stop), lock)
    }
}
