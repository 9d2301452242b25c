//! Accounts and their usage: where a usage limit is seen (an agent's screen,
//! a hook's message) and where an account is held until its reset, so that
//! failover sends work to an account that can take it; and its usage before
//! the limit (`usage`), so that new work keeps away from an account about
//! to run out.

pub(crate) mod limited;
pub mod limits;
pub mod usage;
