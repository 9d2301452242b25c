//! `parse <file>`: what agent-queue reads in a task file, as JSON. It needs
//! no config, so it is the tool for checking a task before submitting it and
//! for learning why a `.rejected` file was rejected.

use serde::Serialize;

use super::{Ctx, Run};
use crate::cli::ParseArgs;
use crate::error::{bad_input, Outcome};
use crate::output::report;
use crate::queue::task::{self, Task};

#[derive(Serialize)]
struct Parsed<'a> {
    path: String,
    #[serde(flatten)]
    task: &'a Task,
}

impl Run for ParseArgs {
    fn run(&self, _ctx: &Ctx) -> anyhow::Result<Outcome> {
        let path = &self.file;
        let task = task::read(path).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
        report::print_json(&Parsed {
            path: crate::paths::escape_path(path),
            task: &task,
        });
        Ok(Outcome::Done)
    }
}
