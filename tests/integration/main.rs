//! agent-queue's integration tests: the real binary, a real tmux server on a
//! private socket, and the stand-in agent from `tests/stand-in-agent.sh`.

mod env;

mod cli;
mod contrib;
mod dispatch;
mod docs;
mod guarantees;
mod hostile_input;
mod mark_idle;
mod operator;
mod properties;
mod scan;
mod security;
mod status;
