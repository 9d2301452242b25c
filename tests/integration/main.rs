//! agent-queue's integration tests: the real binary, a real tmux server on a
//! private socket, and the stand-in agent from `tests/stand-in-agent.sh`;
//! `real_agent` drives the real Claude Code CLI against `fake_api`.

mod env;
mod fake_api;
mod first_run;

mod cli;
mod completions;
mod contrib;
mod dispatch;
mod docs;
mod guarantees;
mod history;
mod hooks;
mod hostile_input;
mod hosts;
mod inputs;
mod limits;
mod mark_idle;
mod operator;
mod panes;
mod pools;
mod properties;
mod real_agent;
mod real_limits;
mod scan;
mod security;
mod sshd;
mod status;
