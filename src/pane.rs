//! What agent-queue knows of a pane, rather than guesses from its name.
//!
//! tmux reports a pane's foreground program by name (`#{pane_current_command}`),
//! and names lie: a version manager's shim or a wrapper script shows as `bash`
//! while the agent runs under it, `env` and `sudo` show as themselves. So the
//! agent is never started bare: the typed line runs a small POSIX `sh` script
//! that sets a pane option (`@agent-queue`) to `<nonce> run` before it starts
//! the agent command and to `<nonce> done <status>` once that command has
//! returned, however it returned (the script survives a Ctrl-C that kills the
//! agent). tmux shows the option to every client, through any `[tmux] command`
//! prefix (a remote host over ssh has no local `/proc`), so one `list-panes`
//! tells, for each pane, whether the program agent-queue started there still
//! runs. The pane's id and its shell's pid, recorded with the claim, tell
//! whether it is still the same pane: after a tmux server restart, sessions
//! recreated under the same names have new ones.
//!
//! The script reports its own pid with `run` (`<nonce> run <pid>`). Only a
//! SIGKILL of the script leaves `run` behind after it is gone; on a tmux
//! server of this host (`/proc` shows the pane's shell) such a `run` reads
//! as `done -1`, so nothing is typed into the bare shell it left. A server
//! over ssh, or a mark without a pid (an older agent-queue), is trusted as
//! it reads.
//!
//! After the agent returns, the script discards whatever input is still
//! pending on the terminal before it reports `done`: a paste or Enter that
//! was on its way to an agent that has just exited lands there, never in the
//! shell. It discards until agent-queue says nothing more is coming (a tmux
//! `wait-for` signal, sent once it has typed its last key into that agent,
//! as a recycle does after `/exit` and Enter), at most a second, and then
//! as long as input still arrives (0.1 s of silence).

pub mod agent;
pub mod menu;
pub mod screen;

use serde::{Deserialize, Serialize};

use crate::shell::quote;

/// The pane option the started script reports through.
pub const OPTION: &str = "@agent-queue";

/// The variable the started script exports to the agent and its hooks: the
/// start's nonce, by which a hook names its session and its start.
pub const RUN_VAR: &str = "AGENT_QUEUE_RUN";
/// The tmux `wait-for` channel (followed by the start's nonce) on which
/// agent-queue tells a started script that it will type nothing more into
/// its agent (`release`): the script's discarding of input ends then.
pub const CHANNEL: &str = "agent-queue-";

/// Seconds a started script waits for that word, at most, after its agent
/// returned on its own (a crash, an exit agent-queue did not ask for).
const DISCARD_BOUND: u32 = 1;

/// The program agent-queue last started in a session: where, and the nonce
/// by which the pane and the agent's hooks name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    /// tmux's pane id (`%12`): unique while the server runs.
    pub pane: String,
    /// The pane's shell: with the pane id, unique across server restarts.
    pub pid: u32,
    pub nonce: String,
}

/// What the pane option says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// The script with this nonce is running its agent command.
    Running(String),
    /// It has returned, with this exit status.
    Done(String, i32),
}

impl Mark {
    /// The mark as it reads, whether or not its script still runs.
    #[cfg(test)]
    pub fn parse(text: &str) -> Option<Mark> {
        Some(parse_with_pid(text)?.0)
    }

    /// The mark of the pane whose shell is `pane_pid`, on a server of this
    /// host when `local`: a `run` whose script is gone reads as `done -1`.
    pub fn read(text: &str, local: bool, pane_pid: u32) -> Option<Mark> {
        match parse_with_pid(text)? {
            (Mark::Running(nonce), Some(pid)) if local && script_gone(pid, pane_pid) => {
                Some(Mark::Done(nonce, -1))
            }
            (mark, _) => Some(mark),
        }
    }
}

/// The mark, and the script's pid when `run` names it.
fn parse_with_pid(text: &str) -> Option<(Mark, Option<u32>)> {
    let mut words = text.split_whitespace();
    let nonce = words.next()?.to_string();
    let mark = match (words.next()?, words.next()) {
        ("run", None) => (Mark::Running(nonce), None),
        ("run", Some(pid)) => (Mark::Running(nonce), Some(pid.parse().ok()?)),
        ("done", Some(status)) => (Mark::Done(nonce, status.parse().unwrap_or(-1)), None),
        _ => return None,
    };
    words.next().is_none().then_some(mark)
}

/// Whether the script with `pid` is gone, as this host's `/proc` tells; only
/// when it shows the pane's shell `pane_pid` (a server in another pid
/// namespace, or a host without `/proc`, tells nothing).
fn script_gone(pid: u32, pane_pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    pane_pid != 0
        && proc.join(pane_pid.to_string()).exists()
        && !proc.join(pid.to_string()).exists()
}

/// Whether the program agent-queue started in a pane still runs there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// The pane is the one it was started in, and it runs.
    Running,
    /// The pane is the one it was started in, and it returned.
    Exited(i32),
    /// Not started there yet (or its start was not reported).
    NotStarted,
    /// The session's pane is not the one it was started in: the session
    /// was closed and made again, or the tmux server restarted.
    Replaced,
}

/// Which of these a pane shows for a start record.
pub fn activity(started: &Started, pane_id: &str, pid: u32, mark: Option<&Mark>) -> Activity {
    if started.pane != pane_id || started.pid != pid {
        return Activity::Replaced;
    }
    match mark {
        Some(Mark::Running(n)) if *n == started.nonce => Activity::Running,
        Some(Mark::Done(n, status)) if *n == started.nonce => Activity::Exited(*status),
        _ => Activity::NotStarted,
    }
}

/// A fresh nonce: 16 hex digits from the kernel's random source.
pub fn nonce() -> String {
    let mut bytes = [0u8; 8];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if filled.is_err() {
        // No /dev/urandom: time and pid still differ between launches.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = ((t as u64) ^ (u64::from(std::process::id()) << 40)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The script `sh` runs: `$1` is the nonce, `$2` the project folder, `$3`
/// (when given) the tmux buffer that holds the profile's environment, and
/// `agent` the agent command line (already quoted where it needs to be).
///
/// - `trap : INT TERM QUIT HUP`: a Ctrl-C, Ctrl-\\, TERM or HUP that ends
///   the agent does not end the script, so `done` is reported (an
///   interactive shell would drop the rest of a command list whose command
///   died of SIGINT). Only a SIGKILL of the script itself leaves `run`
///   behind; `$$` with it lets a local server's reader see that (`Mark::read`).
///   A SIGKILL in the 0.1 s it reads what is left leaves the terminal
///   non-canonical with a read timeout, which a shell without a line
///   editor (dash) reads as end of input: it exits.
/// - `wait-for`: with echo off (what arrives meanwhile neither shows nor
///   runs: it is read afterwards), until agent-queue's word (`release`),
///   or the bound, which
///   a sleeper signals on the same channel (tmux remembers a signal sent
///   before anyone waits, so the word may come first). The sleeper is
///   killed once the wait is over.
/// - `|| exit`: without a way to report, the agent is not started at all.
/// - `AGENT_QUEUE_RUN`: the agent's hooks say which start they belong to.
/// - the environment: read from its buffer and the buffer deleted in one
///   tmux call, then `eval`ed (agent-queue wrote and quoted every line);
///   if that fails, the agent is not started (`done` with tmux's status).
/// - the terminal's modes are saved before the agent and restored after,
///   with bracketed paste off, so an agent that crashed in raw mode leaves
///   the shell usable.
fn script(agent: &str) -> String {
    [
        "trap : INT TERM QUIT HUP",
        &format!("tmux set-option -p -t \"$TMUX_PANE\" {OPTION} \"$1 run $$\" || exit"),
        &format!("export {RUN_VAR}=\"$1\""),
        "t=$(stty -g 2>/dev/null)",
        &format!("{LOAD_ENV} && cd \"$2\" && {agent}"),
        "s=$?",
        "printf '\\033[?2004l'",
        "[ -n \"$t\" ] && stty -echo",
        &format!("(sleep {DISCARD_BOUND}; tmux wait-for -S \"{CHANNEL}$1\") >/dev/null 2>&1 & tmux wait-for \"{CHANNEL}$1\" 2>/dev/null; kill $! 2>/dev/null"),
        "if [ -n \"$t\" ]; then stty -icanon min 0 time 1; cat >/dev/null; stty \"$t\"; fi",
        &format!("tmux set-option -p -t \"$TMUX_PANE\" {OPTION} \"$1 done $s\""),
    ]
    .join("; ")
}

/// Loads the environment from the buffer named by `$3`, if any.
const LOAD_ENV: &str = "{ [ -z \"$3\" ] || { e=$(tmux save-buffer -b \"$3\" - \\; delete-buffer -b \"$3\") && eval \"$e\" && unset e; }; }";

/// The tmux buffer through which a start's environment reaches its script:
/// loaded from agent-queue's standard input, so no value is ever a
/// process's argument (see docs/security.md).
pub fn env_buffer(nonce: &str) -> String {
    format!("agent-queue-env-{nonce}")
}

/// The line typed into the pane's shell: one `sh -c` with the script and
/// its arguments each as one quoted word, read the same by sh, bash, zsh
/// and fish. It holds no secret: a profile's environment goes by `buffer`.
pub fn command_line(agent: &str, nonce: &str, project: &str, buffer: Option<&str>) -> String {
    // The leading space keeps the line out of the shell's history (bash
    // with `ignorespace`, zsh with `HIST_IGNORE_SPACE`, fish always).
    let mut line = format!(
        " sh -c {} agent-queue {} {}",
        quote(&script(agent)),
        quote(nonce),
        quote(project)
    );
    if let Some(b) = buffer {
        line.push(' ');
        line.push_str(&quote(b));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_read_back() {
        assert_eq!(Mark::parse("ab12 run"), Some(Mark::Running("ab12".into())));
        assert_eq!(
            Mark::parse("ab12 done 130"),
            Some(Mark::Done("ab12".into(), 130))
        );
        assert_eq!(Mark::parse(""), None);
        assert_eq!(Mark::parse("ab12"), None);
        assert_eq!(Mark::parse("ab12 run extra"), None);
        assert_eq!(
            Mark::parse("ab12 run 42"),
            Some(Mark::Running("ab12".into()))
        );
        assert_eq!(Mark::parse("ab12 run 42 43"), None);
    }

    #[test]
    fn a_run_whose_script_is_gone_reads_as_done_on_a_local_server() {
        let me = std::process::id();
        // pid_max is at most 2^22: this pid is never in use.
        let gone = "n1 run 4294967295";
        assert_eq!(
            Mark::read(gone, true, me),
            Some(Mark::Done("n1".into(), -1))
        );
        // Over ssh, without a pid, or with a pane shell /proc does not show:
        // trusted as it reads.
        assert_eq!(
            Mark::read(gone, false, me),
            Some(Mark::Running("n1".into()))
        );
        assert_eq!(
            Mark::read("n1 run", true, me),
            Some(Mark::Running("n1".into()))
        );
        assert_eq!(
            Mark::read(gone, true, u32::MAX),
            Some(Mark::Running("n1".into()))
        );
        let alive = format!("n1 run {me}");
        assert_eq!(
            Mark::read(&alive, true, me),
            Some(Mark::Running("n1".into()))
        );
    }

    #[test]
    fn activity_is_known_only_for_the_same_pane_and_nonce() {
        let s = Started {
            pane: "%3".into(),
            pid: 100,
            nonce: "n1".into(),
        };
        let run = Mark::Running("n1".into());
        assert_eq!(activity(&s, "%3", 100, Some(&run)), Activity::Running);
        assert_eq!(
            activity(&s, "%3", 100, Some(&Mark::Done("n1".into(), 0))),
            Activity::Exited(0)
        );
        assert_eq!(
            activity(&s, "%3", 100, Some(&Mark::Running("n0".into()))),
            Activity::NotStarted
        );
        assert_eq!(activity(&s, "%3", 100, None), Activity::NotStarted);
        assert_eq!(activity(&s, "%3", 101, Some(&run)), Activity::Replaced);
        assert_eq!(activity(&s, "%4", 100, Some(&run)), Activity::Replaced);
    }

    #[test]
    fn nonces_differ() {
        let a = nonce();
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, nonce());
    }

    #[test]
    fn the_typed_line_reports_start_and_end_through_the_pane_option() {
        let line = command_line("claude --model 'son net'", "0a1b", "/srv/p/it's", None);
        assert!(line.starts_with(" sh -c '"), "{line}");
        assert!(
            line.ends_with(" agent-queue 0a1b '/srv/p/it'\\''s'"),
            "{line}"
        );
        // What sh receives as the script, after the outer quoting.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "printf %s {}",
                quote(&script("claude --model 'son net'"))
            ))
            .output()
            .unwrap();
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("; }; } && cd \"$2\" && claude --model 'son net'; s=$?"),
            "{script}"
        );
        assert!(script.contains("@agent-queue \"$1 done $s\""), "{script}");
        assert!(
            script.contains("@agent-queue \"$1 run $$\" || exit"),
            "{script}"
        );
    }
}
