//! Accounts and their usage: where a usage limit is seen (an agent's screen,
//! a hook's message) and where an account is held until its reset, so that
//! failover sends work to an account that can take it.

pub(crate) mod limited;
pub mod limits;
