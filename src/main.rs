//! agent-queue: dispatch Markdown task files from project inboxes into idle
//! tmux sessions running an AI coding agent. The program is
//! [`agent_queue::main`].

fn main() -> std::process::ExitCode {
    agent_queue::main()
}
