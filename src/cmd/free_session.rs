//! `free-session`: the first free pool session, for scripts that want to
//! know before they act. It changes nothing.

use super::{Ctx, Run};
use crate::error::Outcome;
use crate::report;
use crate::sessions;
use crate::state::{now, Store};
use crate::tmux::Tmux;

pub struct FreeSession;

impl Run for FreeSession {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        let state = Store::new(config.state_file.clone()).read()?;
        let snapshot = Tmux::new(config.tmux_command.clone()).snapshot()?;
        match sessions::free_pool(&config, &snapshot, &state, now())
            .into_iter()
            .next()
        {
            Some(session) => {
                if report::json() {
                    report::print_json(&serde_json::json!({ "session": session }));
                } else {
                    println!("{session}");
                }
                Ok(Outcome::Done)
            }
            None => Ok(Outcome::NothingFound),
        }
    }
}
