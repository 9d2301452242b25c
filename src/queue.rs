//! The queue: task files, the project inboxes that hold them, the pending
//! tasks in dispatch order, and which pool each one may go to.

pub mod inbox;
pub mod pending;
pub mod quiet;
pub mod routing;
pub mod task;
