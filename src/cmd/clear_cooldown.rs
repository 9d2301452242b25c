//! `clear-cooldown [SESSION]... [--account NAME]...`: after an operator
//! fixed what failed a launch (a dialog answered, a folder trusted), the
//! session need not sit out its cooldown; and an account whose plan was
//! upgraded need not wait for its usage limit's reset.

use super::{Ctx, Run};
use crate::cli::ClearCooldownArgs;
use crate::config::Kind;
use crate::error::Outcome;
use crate::output::report;
use crate::store::state::Store;

impl Run for ClearCooldownArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        for s in &self.sessions {
            if let Kind::Unknown = config.kind(s) {
                return Err(crate::tmux::servers::unknown_session(&config, s));
            }
        }
        if self.forget_agent {
            for s in &self.sessions {
                crate::tmux::servers::tmux_for(&config, s).forget_mark(&crate::tmux::target(s))?;
                report::info(format!("{s}: the report of its started agent is forgotten"));
            }
        }
        let store = Store::new(config.state_file.clone());
        let mut locked = store.lock()?;
        let mut cleared = Vec::new();
        for (name, entry) in locked.state.sessions.iter_mut() {
            let named = self.sessions.is_empty() || self.sessions.contains(name);
            if named && entry.last_fail.take().is_some() {
                cleared.push(name.clone());
            }
        }
        let mut lifted = Vec::new();
        for account in &self.accounts {
            if locked.state.accounts.remove(account).is_some() {
                lifted.push(account.clone());
            } else {
                report::info(format!("account {account} is not at a usage limit"));
            }
        }
        if cleared.is_empty() && lifted.is_empty() {
            report::info("nothing was cooling down");
            return Ok(Outcome::Done);
        }
        locked.save()?;
        for s in cleared {
            report::info(format!("{s} may take tasks again"));
        }
        for a in lifted {
            report::info(format!("account {a} may take tasks again"));
        }
        Ok(Outcome::Done)
    }
}
