//! `free-session [--pool NAME]`: the first free pool session, for scripts
//! that want to know before they act. It changes nothing. A session of an
//! account at its usage limit is not free.

use super::{Ctx, Run};
use crate::cli::FreeSessionArgs;
use crate::clock::now;
use crate::dispatch::free;
use crate::error::{bad_input, Outcome};
use crate::output::report;
use crate::store::state::Store;
use crate::tmux::servers;

impl Run for FreeSessionArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        let pools: Vec<_> = match &self.pool {
            Some(name) => vec![config.pool(name).ok_or_else(|| {
                let names: Vec<&str> = config.pools.iter().map(|p| p.name.as_str()).collect();
                bad_input(format!(
                    "--pool {name}: there is no such pool ({})",
                    names.join(", ")
                ))
            })?],
            None => config.pools.iter().collect(),
        };
        let state = Store::new(config.state_file.clone()).read()?;
        let snapshot = servers::snapshot(&config)?;
        let now = now();
        let found = pools.iter().find_map(|pool| {
            free::free_pool(&config, pool, &snapshot, &state, now)
                .into_iter()
                .next()
                .map(|s| (s, pool.name.clone()))
        });
        match found {
            Some((session, pool)) => {
                if report::json() {
                    report::print_json(&serde_json::json!({ "session": session, "pool": pool }));
                } else {
                    report::print(&format!("{session}\n"));
                }
                Ok(Outcome::Done)
            }
            None => Ok(Outcome::NothingFound),
        }
    }
}
