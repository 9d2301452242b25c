//! agent-queue's integration tests: the real binary, a real tmux server on a
//! private socket, and the stand-in agent from `contrib/stand-in-agent.sh`;
//! `real_agent` drives the real Claude Code CLI against `fake_api`.

mod env;
mod fake_api;
mod first_run;

mod cli;
mod completions;
mod contrib;
mod dialogs;
mod dispatch;
mod docs;
mod doctor;
mod full_disk;
mod guarantees;
mod hands_off;
mod history;
mod hook_faults;
mod hooks;
mod host_reads;
mod hostile_input;
mod hosts;
mod inputs;
mod limits;
mod mark_idle;
mod operator;
mod panes;
mod pools;
mod projects_apart;
mod properties;
mod real_agent;
mod real_auto_continue;
mod real_first_run;
mod real_limits;
mod real_usage;
mod real_verbs;
mod refused_input;
mod scan;
mod secrets;
mod security;
mod silent_host;
mod sshd;
mod status;
mod usage;
mod verbs;
mod verbs_races;
