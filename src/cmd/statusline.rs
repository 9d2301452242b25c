//! `statusline`: Claude Code's `statusLine` command in every pool agent. It
//! runs every few seconds in every session, with a JSON object on stdin
//! whose `rate_limits` carry the account's usage (a subscription's, once an
//! API answer came): that usage is recorded for the session's account, and
//! one line goes back for the bottom of the agent's screen (the account,
//! its five-hour and seven-day use, the task).
//!
//! It must be quick and never in the way: it asks no tmux server, takes no
//! state lock (the state is read as a snapshot; usage has files and locks of
//! its own, taken without waiting, and a record that cannot be written now
//! is dropped), and it exits 0 whatever happens, bad input included, with
//! a line on stderr at most. Only an agent agent-queue started (its
//! `AGENT_QUEUE_RUN` names the start, as for `hook`) records: its account
//! is its pool's, while another Claude Code in the same pane may run with
//! any account.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{Ctx, Run};
use crate::accounts::usage::book::{Book, Update};
use crate::accounts::usage::{self, Hold, Known, Reading, WindowKind};
use crate::clock::format_span;
use crate::clock::now;
use crate::config::Config;
use crate::dispatch::Dispatcher;
use crate::error::Outcome;
use crate::output::report;
use crate::queue::inbox;

pub struct StatusLine;

/// Larger input is not a status line's.
const MAX_INPUT: u64 = 1 << 20;

impl Run for StatusLine {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let mut bytes = Vec::new();
        let read = std::io::stdin().take(MAX_INPUT + 1).read_to_end(&mut bytes);
        let json = match read {
            Ok(_) if bytes.len() as u64 > MAX_INPUT => Err("its input is over 1 MiB".to_string()),
            Ok(_) => serde_json::from_slice::<Value>(&bytes)
                .map_err(|e| format!("its input is not JSON ({e})")),
            Err(e) => Err(format!("reading its input: {e}")),
        };
        let json = match json {
            Ok(json) => json,
            Err(why) => {
                report::warn(format!("statusline: {why}; nothing recorded"));
                print(line(&Shown::of(&Reading::default())));
                return Ok(Outcome::Done);
            }
        };
        match ctx.config() {
            Ok(config) => {
                // `held` and `released` go to the history.
                crate::store::journal::open(&config);
                let line = own_line(&config, &json);
                print(chained(&config, &bytes).unwrap_or(line));
            }
            Err(e) => {
                report::warn(format!("statusline: {e:#}; nothing recorded"));
                print(line(&Shown::of(&Reading::default())));
            }
        }
        Ok(Outcome::Done)
    }
}

/// Records the usage, and says the line agent-queue shows.
fn own_line(config: &Config, json: &Value) -> String {
    let now = now();
    let reading = usage::read(json, now);
    let Some(Managed { session, run, task }) = managed(config) else {
        return line(&Shown::of(&reading));
    };
    let Some(pool) = config.pool_of(&session) else {
        return line(&Shown::of(&reading));
    };
    let account = pool.account.clone();
    let book = Book::of(&config.state_file);
    let known = if reading.is_empty() {
        book.read(&account)
    } else {
        match book.record(config, &account, &reading, now) {
            Ok(Update::Done(known)) => Some(known),
            Ok(Update::Busy) => {
                report::debug(format!(
                    "statusline: {account}'s usage is being written by another; this reading is dropped"
                ));
                None
            }
            Err(e) => {
                report::warn(format!("statusline: recording {account}'s usage: {e:#}"));
                None
            }
        }
    };
    // Said once the reading is recorded: a recycle waits for this before
    // it types /exit.
    if let Err(e) = book.seen(&session, &run) {
        report::warn(format!("statusline: {e:#}"));
    }
    let known = known.unwrap_or_else(|| {
        let mut k = Known::new(&account);
        k.record(&reading, now);
        k
    });
    line(&Shown {
        account: Some(account),
        windows: windows(&known, now),
        hold: known.hold(config.hold_at(&known.account), now),
        task,
        now,
    })
}

/// An agent agent-queue started.
struct Managed {
    session: String,
    /// Its start's nonce (`AGENT_QUEUE_RUN`).
    run: String,
    /// The name of its task, if it holds one.
    task: Option<String>,
}

/// The session agent-queue started this agent in: from `AGENT_QUEUE_RUN`
/// alone, so no tmux server is asked.
fn managed(config: &Config) -> Option<Managed> {
    let run = crate::dispatch::end::run_var()?;
    // One read of the state: it runs every few seconds in every agent.
    let state = match Dispatcher::new(config).store.read() {
        Ok(state) => state,
        Err(e) => {
            report::warn(format!("statusline: {e:#}; nothing recorded"));
            return None;
        }
    };
    let Some((session, entry)) = crate::dispatch::end::start_in(&state, &run) else {
        report::debug(format!(
            "statusline: no session of agent-queue's holds the start {run}; nothing recorded"
        ));
        return None;
    };
    let session = session.to_string();
    let task = entry.task.as_ref().and_then(|t| {
        let name = t.file_name()?.to_string_lossy().into_owned();
        // Shown in a terminal: a name cannot bring escape sequences.
        Some(
            inbox::original_name(&name)
                .chars()
                .filter(|c| !c.is_control())
                .collect(),
        )
    });
    Some(Managed { session, run, task })
}

/// `[statusline] command`, run by `sh` with the same JSON on stdin: its
/// output is the line, when it gives one.
fn chained(config: &Config, input: &[u8]) -> Option<String> {
    let command = config.statusline.command.as_deref()?;
    let child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            report::warn(format!("statusline: running [statusline] command: {e}"));
            return None;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input is no failure.
        let _ = stdin.write_all(input);
    }
    match child.wait_with_output() {
        Ok(out) => {
            if !out.status.success() {
                report::warn(format!("statusline: [statusline] command: {}", out.status));
            }
            Some(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
        }
        Err(e) => {
            report::warn(format!("statusline: [statusline] command: {e}"));
            None
        }
    }
}

fn print(line: String) {
    // A reader that went away is no failure.
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// What the line shows.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    account: Option<String>,
    /// Each window's use and reset, when known.
    windows: Vec<(WindowKind, usage::Seen)>,
    hold: Option<Hold>,
    task: Option<String>,
    now: u64,
}

impl Shown {
    /// A session agent-queue does not manage: what its JSON says.
    fn of(reading: &Reading) -> Shown {
        let now = now();
        let mut known = Known::default();
        known.record(reading, now);
        Shown {
            account: None,
            windows: windows(&known, now),
            hold: None,
            task: None,
            now,
        }
    }
}

fn windows(known: &Known, now: u64) -> Vec<(WindowKind, usage::Seen)> {
    WindowKind::ALL
        .into_iter()
        .filter_map(|k| known.current(k, now).map(|s| (k, s)))
        .collect()
}

/// `max-a · 5h 42% (2h05m) · 7d 81% (3d04h) · fix-login.md`, with `held`
/// after the windows when the account is held.
fn line(s: &Shown) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(a) = &s.account {
        parts.push(a.clone());
    }
    if s.windows.is_empty() && s.account.is_some() {
        parts.push("usage unknown".into());
    }
    for (kind, seen) in &s.windows {
        parts.push(format!(
            "{} {} ({})",
            kind.short(),
            seen.used,
            format_span(seen.resets_at.saturating_sub(s.now))
        ));
    }
    if let Some(h) = &s.hold {
        parts.push(format!(
            "held {}",
            format_span(h.until.saturating_sub(s.now))
        ));
    }
    if let Some(t) = &s.task {
        parts.push(t.clone());
    }
    if parts.is_empty() {
        parts.push("agent-queue".into());
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::usage::{Seen, Tenths};

    fn seen(used: u32, resets_at: u64) -> Seen {
        Seen {
            used: Tenths(used),
            resets_at,
            observed_at: 0,
        }
    }

    #[test]
    fn the_line_names_the_account_its_windows_the_hold_and_the_task() {
        let s = Shown {
            account: Some("max-a".into()),
            windows: vec![
                (WindowKind::FiveHour, seen(962, 1000 + 7500)),
                (
                    WindowKind::SevenDay,
                    seen(810, 1000 + 3 * 86_400 + 4 * 3600),
                ),
            ],
            hold: Some(Hold {
                until: 1000 + 7500,
                window: WindowKind::FiveHour,
                used: Tenths(962),
            }),
            task: Some("fix-login.md".into()),
            now: 1000,
        };
        assert_eq!(
            line(&s),
            "max-a · 5h 96.2% (2h05m) · 7d 81% (3d04h) · held 2h05m · fix-login.md"
        );
        let unknown = Shown {
            windows: Vec::new(),
            hold: None,
            task: None,
            ..s
        };
        assert_eq!(line(&unknown), "max-a · usage unknown");
        let unmanaged = Shown {
            account: None,
            ..unknown
        };
        assert_eq!(line(&unmanaged), "agent-queue");
    }
}
