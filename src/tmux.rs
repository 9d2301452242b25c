//! Every tmux call goes through here, so that the `[tmux] command` prefix
//! (another socket, another host over ssh) applies to all of them and every
//! target is exact: tmux's `-t name` also matches by prefix, so `ccl-auto-1`
//! would find `ccl-auto-10`, while `=name:` matches that session only.
//!
//! Calls are batched with tmux's `;` separator where they go together: one
//! process per screen read, one per typed line, one for a whole paste.

mod batch;
mod forward;
pub mod servers;
pub mod transport;

use std::collections::{HashMap, HashSet};

use anyhow::anyhow;

pub use transport::Transport;

use crate::pane::Mark;

#[derive(Debug, Clone)]
pub struct Tmux {
    transport: Transport,
}

/// One session's active pane as seen by a single `list-panes -a`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pane {
    pub id: String,
    /// The pane's first process (its shell): with the id, which pane this is.
    pub pid: u32,
    /// What the started script reports (`@agent-queue`), if anything.
    pub mark: Option<Mark>,
    /// The name of what the pane runs in the foreground, as tmux sees it:
    /// only a hint, since shims and wrapper scripts show as shells.
    pub command: String,
    /// The mode a person put the pane in (`copy-mode`, `tree-mode`…):
    /// keys sent now would drive the mode, not the program.
    pub mode: Option<String>,
}

/// Which sessions exist, and what their active panes run.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub sessions: HashMap<String, Pane>,
    /// Sessions whose tmux server could not be asked (a remote host that
    /// does not answer): neither alive nor dead, as far as anyone knows.
    pub unknown: HashSet<String>,
    /// Sessions a client is attached to (looking at them now), with the
    /// newest `client_activity` among those clients: Unix seconds of the
    /// client's attach or of its last key or mouse input. Keys that
    /// agent-queue sends (`send-keys`, `paste-buffer`) never move it.
    pub attached: HashMap<String, u64>,
}

impl Snapshot {
    pub fn pane(&self, session: &str) -> Option<&Pane> {
        self.sessions.get(session)
    }

    pub fn is_unknown(&self, session: &str) -> bool {
        self.unknown.contains(session)
    }

    /// What the session's server said of it: only a server that answered
    /// can say that a session is gone.
    pub fn seen(&self, session: &str) -> Seen<'_> {
        match self.sessions.get(session) {
            Some(pane) => Seen::Listed(pane),
            None if self.is_unknown(session) => Seen::Unknown,
            None => Seen::Absent,
        }
    }
}

/// What one snapshot says of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen<'a> {
    /// Its server answered and lists it, with this active pane.
    Listed(&'a Pane),
    /// Its server answered without it: it does not exist.
    Absent,
    /// Its server did not answer: alive or not, nobody knows.
    Unknown,
}

/// The visible screen of a pane and whose it is, read in one call.
#[derive(Debug, Clone, Default)]
pub struct Screen {
    pub text: String,
    pub command: String,
    pub pid: u32,
    pub mark: Option<Mark>,
    /// The mode a person put the pane in, as in [`Pane::mode`].
    pub mode: Option<String>,
}

/// The fields after the session name in a snapshot line, and after the
/// screen in a screen read: `:` never occurs in a pane id, a pid, a mark or
/// a mode's name, and the command goes last as it may hold anything.
const PANE_FORMAT: &str =
    "#{pane_id}:#{pane_pid}:#{@agent-queue}:#{pane_mode}:#{pane_current_command}";

/// A client line of a snapshot: `c:` cannot start a pane line (those start
/// with two digits), and the session name goes last.
const CLIENT_FORMAT: &str = "c:#{client_activity}:#{client_session}";

/// A pane's fields; `local`: its server is on this host, whose `/proc`
/// tells whether a started script still runs (see `pane`).
fn parse_pane(fields: &str, local: bool) -> Option<Pane> {
    let mut parts = fields.splitn(5, ':');
    let (Some(id), Some(pid), Some(mark), Some(mode), Some(command)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let pid = pid.parse().unwrap_or(0);
    Some(Pane {
        id: id.to_string(),
        pid,
        mark: Mark::read(mark, local, pid),
        command: command.to_string(),
        mode: (!mode.is_empty()).then(|| mode.to_string()),
    })
}

/// An argument tmux takes literally: tmux reads an argument that ends in
/// `;` as the end of a command (the `;` dropped) unless it ends in `\;`.
fn literal(arg: &str) -> String {
    match arg.strip_suffix(';') {
        Some(head) => format!("{head}\\;"),
        None => arg.to_string(),
    }
}

/// A pane's screen, then its fields (`PANE_FORMAT`) on the last line.
fn screen_args(target: &str) -> [&str; 11] {
    [
        "capture-pane",
        "-p",
        "-J",
        "-t",
        target,
        ";",
        "display-message",
        "-p",
        "-t",
        target,
        PANE_FORMAT,
    ]
}

/// The exact target of a session's active pane.
pub fn target(session: &str) -> String {
    format!("={session}:")
}

impl Tmux {
    pub fn with(transport: Transport) -> Tmux {
        Tmux { transport }
    }

    pub fn argv(&self) -> &[String] {
        self.transport.argv()
    }

    /// How reads reach a server on another host (see `Transport::reads`).
    pub fn reads(&self) -> Option<String> {
        self.transport.reads()
    }

    /// The server is on another host (reached through ssh).
    pub fn is_remote(&self) -> bool {
        self.transport.host().is_some()
    }

    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<String> {
        self.transport.run(args, stdin)
    }

    /// Lists every session with its active pane, and the clients attached,
    /// in one tmux process.
    pub fn snapshot(&self) -> anyhow::Result<Snapshot> {
        // `:` cannot occur in a session name (tmux replaces it), so it splits
        // safely.
        let format = format!("#{{window_active}}#{{pane_active}}:#{{session_name}}:{PANE_FORMAT}");
        let out = self.run(
            &[
                "list-panes",
                "-a",
                "-F",
                &format,
                ";",
                "list-clients",
                "-F",
                CLIENT_FORMAT,
            ],
            None,
        )?;
        Ok(parse_snapshot(&out, !self.is_remote()))
    }

    /// The server's socket and the session of a pane (`$TMUX_PANE`, e.g.
    /// `%3`), or `None` when this server has no such pane.
    pub fn pane_owner(&self, pane: &str) -> anyhow::Result<Option<(String, String)>> {
        let out = match self.run(
            &[
                "display-message",
                "-p",
                "-t",
                pane,
                "#{socket_path}\t#{session_name}",
            ],
            None,
        ) {
            Ok(out) => out,
            Err(e) if format!("{e:#}").contains("can't find pane") => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(out
            .trim_end_matches('\n')
            .split_once('\t')
            .map(|(socket, session)| (socket.to_string(), session.to_string())))
    }

    /// Reads the visible screen (wrapped lines joined) of a pane (`%3`) or
    /// a session's active pane (`=name:`), with what the pane runs; read
    /// together with the other panes of this server asked for at the same
    /// time (see `batch`).
    pub fn screen(&self, target: &str) -> anyhow::Result<Screen> {
        batch::screen(self, target)
    }

    /// `screen` (in a call of its own) and the newest input of the clients
    /// attached to the pane's session (as `last_input`), in one call: the
    /// read that finds a new agent ready also says whether a person is at
    /// its pane.
    pub fn screen_and_last_input(&self, target: &str) -> anyhow::Result<(Screen, Option<u64>)> {
        let end = format!("agent-queue-end-{}", crate::pane::nonce());
        let mut args: Vec<&str> = screen_args(target).to_vec();
        args.extend([";", "display-message", "-p", &end]);
        args.extend([
            ";",
            "list-clients",
            "-t",
            target,
            "-F",
            "#{client_activity}",
        ]);
        let out = self.run(&args, None)?;
        let (screen, clients) = out
            .rsplit_once(&format!("{end}\n"))
            .ok_or_else(|| anyhow!("tmux printed no end of the screen of {target}"))?;
        let last = clients.lines().filter_map(|l| l.trim().parse().ok()).max();
        Ok((self.parse_screen(target, screen)?, last))
    }

    /// `screen`, in a call of its own.
    fn screen_now(&self, target: &str) -> anyhow::Result<Screen> {
        let out = self.run(&screen_args(target), None)?;
        self.parse_screen(target, &out)
    }

    /// The screens of several panes in one call, each followed by a line
    /// that no screen shows (a fresh nonce).
    fn screens_now(&self, targets: &[String]) -> anyhow::Result<Vec<Screen>> {
        let end = format!("agent-queue-end-{}", crate::pane::nonce());
        let mut args: Vec<&str> = Vec::new();
        for t in targets {
            if !args.is_empty() {
                args.push(";");
            }
            args.extend(screen_args(t));
            args.extend([";", "display-message", "-p", &end]);
        }
        let out = self.run(&args, None)?;
        let end_line = format!("{end}\n");
        let mut chunks = out.split(&end_line);
        targets
            .iter()
            .map(|t| self.parse_screen(t, chunks.next().unwrap_or("")))
            .collect()
    }

    fn parse_screen(&self, target: &str, out: &str) -> anyhow::Result<Screen> {
        let out = out.strip_suffix('\n').unwrap_or(out);
        let (text, fields) = out.rsplit_once('\n').unwrap_or(("", out));
        let pane = parse_pane(fields, !self.is_remote())
            .ok_or_else(|| anyhow!("tmux printed no pane for {target}: {fields:?}"))?;
        Ok(Screen {
            text: text.to_string(),
            command: pane.command,
            pid: pane.pid,
            mark: pane.mark,
            mode: pane.mode,
        })
    }

    /// Clears the pane's screen and history and its shell's input line
    /// (`C-e C-u`: end of line, then erase to its start, in the line editors
    /// of bash, zsh and fish and in a terminal's own line editing, all in
    /// order with what follows, unlike `C-c`), then types `line` and Enter.
    pub fn reset_and_type(&self, target: &str, line: &str) -> anyhow::Result<()> {
        self.load_reset_and_type(target, line, None)
    }

    /// `reset_and_type`, in the same tmux call as loading `(name, bytes)`
    /// into a named buffer from standard input first: what the buffer holds
    /// is never an argument of any process, here or on a host over ssh.
    pub fn load_reset_and_type(
        &self,
        target: &str,
        line: &str,
        buffer: Option<(&str, &[u8])>,
    ) -> anyhow::Result<()> {
        let t = target;
        let line = literal(line);
        let load = match buffer {
            Some((name, _)) => vec!["load-buffer", "-b", name, "-", ";"],
            None => Vec::new(),
        };
        let keys = [
            "send-keys",
            "-R",
            "-t",
            t,
            ";",
            "clear-history",
            "-t",
            t,
            ";",
            "send-keys",
            "-t",
            t,
            "C-e",
            "C-u",
            ";",
            "send-keys",
            "-t",
            t,
            "-l",
            "--",
            &line,
            ";",
            "send-keys",
            "-t",
            t,
            "Enter",
        ];
        let args: Vec<&str> = load.into_iter().chain(keys).collect();
        self.run(&args, buffer.map(|(_, bytes)| bytes))?;
        Ok(())
    }

    /// The newest input (`client_activity`, Unix seconds) of the clients
    /// attached to the session of pane `target`; `None` when none is.
    pub fn last_input(&self, target: &str) -> anyhow::Result<Option<u64>> {
        let out = self.run(
            &["list-clients", "-t", target, "-F", "#{client_activity}"],
            None,
        )?;
        Ok(out.lines().filter_map(|l| l.trim().parse().ok()).max())
    }

    /// Deletes a named buffer, if it is still there.
    pub fn forget_buffer(&self, name: &str) {
        let _ = self.run(&["delete-buffer", "-b", name], None);
    }

    /// Tells the started script of `nonce` that nothing more will be typed
    /// into its agent: it stops discarding input once its agent has
    /// returned (see `pane`).
    pub fn release(&self, nonce: &str) -> anyhow::Result<()> {
        let channel = format!("{}{nonce}", crate::pane::CHANNEL);
        self.run(&["wait-for", "-S", &channel], None)?;
        Ok(())
    }

    /// Unsets the pane option the started script reports through.
    pub fn forget_mark(&self, target: &str) -> anyhow::Result<()> {
        self.run(
            &["set-option", "-p", "-u", "-t", target, crate::pane::OPTION],
            None,
        )?;
        Ok(())
    }

    /// Kills whatever a pane runs and starts its shell again: the last
    /// resort for an agent that no key stops. The pane option is cleared.
    pub fn respawn(&self, target: &str) -> anyhow::Result<()> {
        self.run(
            &[
                "respawn-pane",
                "-k",
                "-t",
                target,
                ";",
                "set-option",
                "-p",
                "-u",
                "-t",
                target,
                crate::pane::OPTION,
            ],
            None,
        )?;
        Ok(())
    }

    /// Types `text` literally, without Enter.
    pub fn type_text(&self, target: &str, text: &str) -> anyhow::Result<()> {
        self.run(&["send-keys", "-t", target, "-l", "--", text], None)?;
        Ok(())
    }

    /// Sends tmux key names (`Enter`, `Down`, `C-u`) that the config or
    /// agent-queue itself chose: never text from a task.
    pub fn send_keys(&self, target: &str, keys: &[String]) -> anyhow::Result<()> {
        let mut args = vec!["send-keys", "-t", target];
        args.extend(keys.iter().map(String::as_str));
        self.run(&args, None)?;
        Ok(())
    }

    /// Pastes `text` as one bracketed paste (`paste-buffer -p`): the agent
    /// sees text, never keys, whatever the text says.
    pub fn paste(&self, target: &str, text: &str) -> anyhow::Result<()> {
        let t = target;
        let buffer = format!(
            "agent-queue-{}-{}",
            std::process::id(),
            target.trim_start_matches(['%', '='])
        );
        self.run(
            &[
                "load-buffer",
                "-b",
                &buffer,
                "-",
                ";",
                "paste-buffer",
                "-p",
                "-d",
                "-b",
                &buffer,
                "-t",
                t,
            ],
            Some(text.as_bytes()),
        )?;
        Ok(())
    }
}

fn parse_snapshot(out: &str, local: bool) -> Snapshot {
    let mut sessions = HashMap::new();
    let mut attached: HashMap<String, u64> = HashMap::new();
    for line in out.lines() {
        if let Some(client) = line.strip_prefix("c:") {
            if let Some((activity, session)) = client.split_once(':') {
                let activity = activity.parse().unwrap_or(0);
                let newest = attached.entry(session.to_string()).or_default();
                *newest = (*newest).max(activity);
            }
            continue;
        }
        let mut parts = line.splitn(3, ':');
        let (Some("11"), Some(name), Some(fields)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if let Some(pane) = parse_pane(fields, local) {
            sessions.insert(name.to_string(), pane);
        }
    }
    Snapshot {
        sessions,
        unknown: HashSet::new(),
        attached,
    }
}

#[cfg(test)]
mod tests;
