//! Every tmux call goes through here, so that the `[tmux] command` prefix
//! (another socket, another host over ssh) applies to all of them and every
//! target is exact: tmux's `-t name` also matches by prefix, so `ccl-auto-1`
//! would find `ccl-auto-10`, while `=name:` matches that session only.
//!
//! Calls are batched with tmux's `;` separator where they go together: one
//! process per screen read, one per typed line, one for a whole paste.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{anyhow, Context};

#[derive(Debug, Clone)]
pub struct Tmux {
    argv: Vec<String>,
}

/// One session as seen by a single `list-panes -a`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pane {
    pub id: String,
    /// What the session's active pane runs in the foreground.
    pub command: String,
}

/// Which sessions exist, and what their active panes run.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub sessions: HashMap<String, Pane>,
}

impl Snapshot {
    pub fn pane(&self, session: &str) -> Option<&Pane> {
        self.sessions.get(session)
    }
}

/// The visible screen of a pane and what it runs, read in one call.
#[derive(Debug, Clone, Default)]
pub struct Screen {
    pub text: String,
    pub command: String,
}

/// An argument tmux takes literally: tmux reads an argument that ends in
/// `;` as the end of a command (the `;` dropped) unless it ends in `\;`.
fn literal(arg: &str) -> String {
    match arg.strip_suffix(';') {
        Some(head) => format!("{head}\\;"),
        None => arg.to_string(),
    }
}

/// The exact target of a session's active pane.
pub fn target(session: &str) -> String {
    format!("={session}:")
}

impl Tmux {
    pub fn new(argv: Vec<String>) -> Tmux {
        Tmux { argv }
    }

    fn describe(&self) -> String {
        self.argv.join(" ")
    }

    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<String> {
        let (program, prefix) = self
            .argv
            .split_first()
            .expect("config checks it is not empty");
        let mut cmd = Command::new(program);
        cmd.args(prefix)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow!("tmux is not installed: `{program}` was not found (set [tmux] command, or install tmux)")
            } else {
                anyhow!("running tmux (`{}`): {e}", self.describe())
            }
        })?;
        if let Some(bytes) = stdin {
            let mut pipe = child.stdin.take().expect("piped");
            pipe.write_all(bytes)
                .with_context(|| format!("writing to tmux (`{}`)", self.describe()))?;
        }
        let out = child
            .wait_with_output()
            .with_context(|| format!("waiting for tmux (`{}`)", self.describe()))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(anyhow!(
                "tmux (`{} {}`) failed: {}",
                self.describe(),
                args.first().copied().unwrap_or(""),
                if err.is_empty() {
                    out.status.to_string()
                } else {
                    err
                }
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Lists every session with its active pane, in one tmux process.
    pub fn snapshot(&self) -> anyhow::Result<Snapshot> {
        // `:` cannot occur in a session name (tmux replaces it), so it splits
        // safely; the command goes last as it may hold anything.
        let out = self.run(
            &[
                "list-panes",
                "-a",
                "-F",
                "#{window_active}#{pane_active}:#{pane_id}:#{session_name}:#{pane_current_command}",
            ],
            None,
        )?;
        Ok(parse_snapshot(&out))
    }

    /// The session that holds a pane (`$TMUX_PANE`, e.g. `%3`).
    pub fn session_of_pane(&self, pane: &str) -> anyhow::Result<String> {
        let out = self.run(
            &["display-message", "-p", "-t", pane, "#{session_name}"],
            None,
        )?;
        Ok(out.trim_end_matches('\n').to_string())
    }

    /// Reads the visible screen (wrapped lines joined) and the foreground
    /// command of a session's active pane.
    pub fn screen(&self, session: &str) -> anyhow::Result<Screen> {
        let t = target(session);
        let out = self.run(
            &[
                "capture-pane",
                "-p",
                "-J",
                "-t",
                &t,
                ";",
                "display-message",
                "-p",
                "-t",
                &t,
                "#{pane_current_command}",
            ],
            None,
        )?;
        let out = out.strip_suffix('\n').unwrap_or(&out);
        let (text, command) = out.rsplit_once('\n').unwrap_or(("", out));
        Ok(Screen {
            text: text.to_string(),
            command: command.to_string(),
        })
    }

    /// Clears the pane's screen and history, then types `line` and Enter.
    pub fn reset_and_type(&self, session: &str, line: &str) -> anyhow::Result<()> {
        let t = target(session);
        let line = literal(line);
        self.run(
            &[
                "send-keys",
                "-R",
                "-t",
                &t,
                ";",
                "clear-history",
                "-t",
                &t,
                ";",
                "send-keys",
                "-t",
                &t,
                "-l",
                "--",
                &line,
                ";",
                "send-keys",
                "-t",
                &t,
                "Enter",
            ],
            None,
        )?;
        Ok(())
    }

    /// Types `text` literally, without Enter.
    pub fn type_text(&self, session: &str, text: &str) -> anyhow::Result<()> {
        self.run(
            &["send-keys", "-t", &target(session), "-l", "--", text],
            None,
        )?;
        Ok(())
    }

    /// Sends tmux key names (`Enter`, `Down`, `C-u`) that the config or
    /// agent-queue itself chose: never text from a task.
    pub fn send_keys(&self, session: &str, keys: &[String]) -> anyhow::Result<()> {
        let t = target(session);
        let mut args = vec!["send-keys", "-t", t.as_str()];
        args.extend(keys.iter().map(String::as_str));
        self.run(&args, None)?;
        Ok(())
    }

    /// Pastes `text` as one bracketed paste (`paste-buffer -p`): the agent
    /// sees text, never keys, whatever the text says.
    pub fn paste(&self, session: &str, text: &str) -> anyhow::Result<()> {
        let t = target(session);
        let buffer = format!("agent-queue-{}-{}", std::process::id(), session);
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
                &t,
            ],
            Some(text.as_bytes()),
        )?;
        Ok(())
    }
}

fn parse_snapshot(out: &str) -> Snapshot {
    let mut sessions = HashMap::new();
    for line in out.lines() {
        let mut parts = line.splitn(4, ':');
        let (Some(active), Some(id), Some(name), Some(command)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if active == "11" {
            sessions.insert(
                name.to_string(),
                Pane {
                    id: id.to_string(),
                    command: command.to_string(),
                },
            );
        }
    }
    Snapshot { sessions }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_keeps_the_active_pane_of_each_session() {
        let s = parse_snapshot(
            "11:%0:ccl-auto-1:bash\n01:%1:ccl-auto-10:claude\n11:%2:ccl-auto-10:sh\n10:%3:x:vim\n11:%4:x:python3 -m a:b\n",
        );
        assert_eq!(s.pane("ccl-auto-1").unwrap().command, "bash");
        assert_eq!(s.pane("ccl-auto-10").unwrap().id, "%2");
        assert_eq!(s.pane("x").unwrap().command, "python3 -m a:b");
        assert_eq!(s.sessions.len(), 3);
    }

    #[test]
    fn a_trailing_semicolon_is_escaped_for_tmux() {
        assert_eq!(literal("a; b"), "a; b");
        assert_eq!(literal("run;"), "run\\;");
    }

    #[test]
    fn targets_are_exact() {
        assert_eq!(target("ccl-auto-1"), "=ccl-auto-1:");
    }
}
