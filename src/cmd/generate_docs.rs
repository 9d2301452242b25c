//! `generate-docs [DIR]` (hidden): renders the man pages and the bash, zsh
//! and fish completions from the same clap definitions the binary parses
//! with, so they cannot drift from it; a test renders them afresh and
//! compares them with the committed copies.

use std::path::Path;

use anyhow::Context;

use super::{Ctx, Run};
use crate::cli::GenerateDocsArgs;
use crate::error::Outcome;

impl Run for GenerateDocsArgs {
    fn run(&self, _ctx: &Ctx) -> anyhow::Result<Outcome> {
        for (rel, bytes) in crate::cli::render::render()? {
            let path = self.out.join(rel);
            write(&path, &bytes)?;
        }
        Ok(Outcome::Done)
    }
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
