//! The command line: every name here is part of the contract that systemd
//! units, scripts and operators' fingers depend on.

pub mod render;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueHint};

#[derive(Debug, Parser)]
#[command(
    name = "agent-queue",
    version,
    about = "Dispatch Markdown task files from project inboxes into idle tmux sessions running an AI coding agent",
    long_about = "agent-queue sends each task file found in a project's .agent-queue/inbox/, highest \
priority first, into an idle session of the autonomous tmux pool, exactly once, and never \
touches the operator's dedicated sessions. Its subcommands are one-shot: systemd .path and .timer \
units, shell pipelines and operators call them, and they coordinate through a locked state file \
and atomic renames.",
    after_help = crate::error::exit_help()
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Config file [default: $AGENT_QUEUE_CONFIG, else $XDG_CONFIG_HOME/agent-queue/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print one JSON object per line on stdout, for pipelines
    #[arg(long, global = true)]
    pub json: bool,
    /// Silence the informational lines on stderr (errors still show)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also log each step on stderr
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a task file as JSON (needs no config)
    Parse(ParseArgs),
    /// Print the first free pool session; exit 1 when none is free
    FreeSession(FreeSessionArgs),
    /// Dispatch one task file to a free pool session, or to the named session
    Dispatch(DispatchArgs),
    /// Recover what crashed, then dispatch every pending task while pool sessions are free
    Scan(ScanArgs),
    /// Mark a session idle (default: the one holding $TMUX_PANE), recycle it and give it the next task
    MarkIdle(MarkIdleArgs),
    /// Show every session and each project's pending count
    Status,
    /// Show what happened to tasks, from the history journal
    #[command(
        long_about = "Shows the history journal (history.jsonl beside the state file, and the \
    rotated history.jsonl.1): every dispatch, receipt, completion, recovery and failure that \
    agent-queue reported, oldest first. With --json, the matching journal lines as they are. \
    Without, a table; or, when TASK names a single task, its whole life (each event with the time \
    since its dispatch) and a summary. Exits 1 when no event matches."
    )]
    History(HistoryArgs),
    /// Run the scan / mark-idle cycle on an embedded example, on a private tmux server
    Demo,
    /// Write a task into a project's inbox safely (staged, flushed, renamed)
    Submit(SubmitArgs),
    /// Claude Code's hooks call this with their JSON on stdin: receipts, the task's end
    Hook,
    /// Claude Code's status line calls this with its JSON on stdin: records the account's usage, prints one line
    #[command(
        long_about = "Claude Code runs this as the statusLine command of every pool agent, every \
    refreshInterval seconds, with a JSON object on stdin. It records the usage of the session's \
    account (rate_limits: five_hour and seven_day, sent for subscription accounts), which holds \
    an account at [accounts.NAME] hold_at and orders pools by [routing] prefer = \"headroom\", and \
    prints one line: the account, its five-hour and seven-day use, the task. With [statusline] \
    command set, that command runs with the same JSON and its output is printed instead. Asks \
    no tmux server, never waits on a lock, and exits 0 on any input."
    )]
    Statusline,
    /// Let sessions take tasks again before their cooldown ends (after fixing its cause)
    ClearCooldown(ClearCooldownArgs),
    /// Cancel tasks: pending ones stay unrun, held ones have their agent stopped
    #[command(
        long_about = "Cancels tasks. A pending task (in its inbox) is renamed <name>.md.cancelled. \
    A task that a pool session holds: its agent is stopped (C-c, C-c, then its pane respawned, as \
    a failed launch stops one), the task file becomes <name>.md.cancelled and the session is idle \
    and free again. In a dedicated session nothing is typed: the task is released and the output \
    says so. Exits 1 when a task or session is unknown, or holds nothing to cancel."
    )]
    Cancel(CancelArgs),
    /// Put finished (.dispatched, .rejected, .cancelled) tasks back into their inbox
    Requeue(RequeueArgs),
    /// Hold pools, sessions or projects: they take no new task until resume
    Pause(PauseArgs),
    /// Undo pause
    Resume(PauseArgs),
    /// Show what a session's agent shows now, with its task; types nothing
    Peek(PeekArgs),
    /// Check what a first run trips on, one line per check; changes nothing
    Doctor,
    /// Archive finished task files, and remove finished tasks' worktrees whose branch is merged
    #[command(
        long_about = "Moves finished task files (a .dispatched task no session holds any more, \
    .rejected, .cancelled) older than --older-than out of each inbox into the project's \
    .agent-queue/archive/, names kept and nothing overwritten (a name taken there gets .2, .3 and so on). \
    Then removes the worktree and branch of each finished task (isolation = \"worktree\") whose \
    branch has no commit that the project's HEAD lacks and whose tree holds no change; the others \
    are kept and named, for review."
    )]
    Prune(PruneArgs),
    /// Send /exit, wait for the shell, then dispatch the next task (run by mark-idle)
    #[command(hide = true)]
    Recycle(RecycleArgs),
    /// Render the man pages and shell completions into a folder
    #[command(hide = true)]
    GenerateDocs(GenerateDocsArgs),
}

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// The task file
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct FreeSessionArgs {
    /// Only this pool [default: the first pool, in config order, that has one]
    #[arg(long, value_name = "NAME")]
    pub pool: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClearCooldownArgs {
    /// The sessions [default: every session that is cooling down]
    pub sessions: Vec<String>,
    /// Also lift this account's usage limit (e.g. after a plan upgrade); repeatable
    #[arg(long = "account", value_name = "NAME")]
    pub accounts: Vec<String>,
    /// The agent agent-queue started in the named sessions is gone (killed with -9):
    /// forget its report, so the session is free again once at its shell
    #[arg(long, requires = "sessions")]
    pub forget_agent: bool,
}

#[derive(Debug, Args)]
pub struct DispatchArgs {
    /// The task file, in a project's .agent-queue/inbox/
    pub task: PathBuf,
    /// Dispatch into this session (pool or dedicated) instead of the first free pool session
    #[arg(long, value_name = "NAME")]
    pub session: Option<String>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct MarkIdleArgs {
    /// The session [default: the session holding $TMUX_PANE]
    pub session: Option<String>,
    /// Do not give the session its next task
    #[arg(long)]
    pub no_next: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this task: its path under any of its names (x.md, x.md.dispatched, x.md.2.dispatched), or its file name alone
    pub task: Option<PathBuf>,
    /// Only events of this session
    #[arg(long, value_name = "NAME")]
    pub session: Option<String>,
    /// Only events of this project folder, or of tasks under it
    #[arg(long, value_name = "FOLDER")]
    pub project: Option<PathBuf>,
    /// Only events since TIME: 2026-11-24T10:00:00Z, 2026-11-24 (midnight UTC), or a span back from now (2h, 30m, 1d)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The project folder (holding .agent-queue/inbox/)
    pub project: PathBuf,
    /// The task body: a file, or - for standard input [default: -]
    pub file: Option<PathBuf>,
    /// The task's title
    #[arg(long)]
    pub title: Option<String>,
    /// critical, high, default or low
    #[arg(long)]
    pub priority: Option<String>,
    /// A tag (repeatable)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Create the project's inbox when it does not exist
    #[arg(long)]
    pub create: bool,
    /// Write the task even when its body is empty (the agent is then sent [agent] empty_body)
    #[arg(long)]
    pub allow_empty: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Only task files whose last rename is older than this (7d, 12h, 30m, 0s)
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    pub older_than: String,
    /// Print what would be archived and removed, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RecycleArgs {
    pub session: String,
    #[arg(long)]
    pub no_next: bool,
    /// The session's recycle lock, taken by the caller and inherited
    #[arg(long, value_name = "FD")]
    pub lock_fd: Option<i32>,
    /// Stop the agent (its account hit its usage limit) instead of /exit; no next task
    #[arg(long)]
    pub stop: bool,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    /// Task files (a path, or a file name as `history` takes it) or session names
    #[arg(required = true, value_name = "TASK or SESSION", value_hint = ValueHint::FilePath)]
    pub targets: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RequeueArgs {
    /// Finished task files (x.md.dispatched, x.md.rejected, x.md.cancelled), or their file names
    #[arg(required = true, value_name = "TASK", value_hint = ValueHint::FilePath)]
    pub tasks: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// A pool (repeatable) [default, with no selector: everything]
    #[arg(long = "pool", value_name = "POOL")]
    pub pools: Vec<String>,
    /// A session (repeatable)
    #[arg(long = "session", value_name = "SESSION")]
    pub sessions: Vec<String>,
    /// A project folder (repeatable)
    #[arg(long = "project", value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub projects: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PeekArgs {
    /// The session
    pub session: String,
    /// How many of the last non-blank screen lines
    #[arg(long, value_name = "N", default_value_t = 40)]
    pub lines: usize,
}

#[derive(Debug, Args)]
pub struct GenerateDocsArgs {
    /// Folder that receives man/ and completions/ [default: the current folder]
    #[arg(default_value = ".")]
    pub out: PathBuf,
}
