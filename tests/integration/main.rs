//! agent-queue's integration tests: the real binary, a real tmux server on a
//! private socket, and the stand-in agent from `tests/stand-in-agent.sh`.

mod env;

mod cli;
mod dispatch;
mod mark_idle;
mod scan;
mod status;
