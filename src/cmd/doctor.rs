//! `doctor`: placeholder.
use super::{Ctx, Run};
use crate::error::Outcome;
pub struct Doctor;
impl Run for Doctor {
    fn run(&self, _ctx: &Ctx) -> anyhow::Result<Outcome> {
        Ok(Outcome::Done)
    }
}
