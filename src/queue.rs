//! The queue: task files, the project inboxes that hold them, the pending
//! tasks in dispatch order, and which pool each one may go to.

pub(crate) mod finished;
pub(crate) mod inbox;
pub(crate) mod locate;
pub(crate) mod parallel;
pub(crate) mod pending;
pub(crate) mod quiet;
pub(crate) mod routing;
pub mod task;
pub mod worktree;
