//! The queue: task files, the project inboxes that hold them, the pending
//! tasks in dispatch order, and which pool each one may go to.

pub mod inbox;
pub mod parallel;
pub mod pending;
pub mod routing;
pub mod task;
pub mod worktree;
