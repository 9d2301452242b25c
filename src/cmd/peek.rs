//! `peek <SESSION> [--lines N]`: what the session's agent shows now, with
//! its task, since when, and what its receipt said (the agent's session id
//! and transcript), without `tmux attach`. One `capture-pane` on the
//! session's own server (its `[tmux]` or pool prefix, a host's included);
//! nothing is typed.

use serde::Serialize;

use super::{Ctx, Run};
use crate::cli::PeekArgs;
use crate::clock::now;
use crate::clock::{format_span, format_utc};
use crate::config::Kind;
use crate::error::Outcome;
use crate::output::report;
use crate::store::state::Store;
use crate::tmux::{self, servers};

#[derive(Serialize)]
struct Peek {
    session: String,
    state: &'static str,
    task: Option<String>,
    since: Option<String>,
    held_secs: Option<u64>,
    agent_session_id: Option<String>,
    transcript_path: Option<String>,
    /// The pane's program, as tmux names it.
    command: String,
    lines: Vec<String>,
}

/// The last `n` non-blank lines of a screen, trailing blanks trimmed.
pub(crate) fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// How much of an agent's last line `status` shows.
const LAST_LINE_WIDTH: usize = 40;

/// The last non-blank line on `session`'s screen, cut to `status`'s short
/// column (`peek` shows the rest).
pub(crate) fn last_line(config: &crate::config::Config, session: &str) -> Option<String> {
    let screen = servers::tmux_for(config, session)
        .screen(&tmux::target(session))
        .ok()?;
    let line = last_lines(&screen.text, 1).pop()?;
    Some(super::history::shorten(&line, LAST_LINE_WIDTH))
}

impl Run for PeekArgs {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        if let Kind::Unknown = config.kind(&self.session) {
            return Err(servers::unknown_session(&config, &self.session));
        }
        let state = Store::new(config.state_file.clone()).read()?;
        let screen =
            servers::tmux_for(&config, &self.session).screen(&tmux::target(&self.session))?;
        let entry = state.sessions.get(&self.session);
        let held = entry.filter(|e| e.task.is_some());
        let receipt = held
            .and_then(|e| e.receipt.as_ref())
            .filter(|r| Some(&r.task) == held.and_then(|e| e.task.as_ref()));
        let peek = Peek {
            session: self.session.clone(),
            state: entry.map(|e| e.phase).unwrap_or_default().as_str(),
            task: held
                .and_then(|e| e.task.as_deref())
                .map(crate::paths::escape_path),
            since: held.filter(|e| e.since > 0).map(|e| format_utc(e.since)),
            held_secs: held
                .filter(|e| e.since > 0)
                .map(|e| now().saturating_sub(e.since)),
            agent_session_id: receipt.and_then(|r| r.agent_session_id.clone()),
            transcript_path: receipt.and_then(|r| r.transcript_path.clone()),
            command: screen.command.clone(),
            lines: last_lines(&screen.text, self.lines),
        };
        if report::json() {
            report::print_json(&peek);
        } else {
            report::print(&render(&peek));
        }
        Ok(Outcome::Done)
    }
}

fn render(p: &Peek) -> String {
    let mut rows = vec![
        [
            "session".to_string(),
            format!("{} ({}, runs `{}`)", p.session, p.state, p.command),
        ],
        ["task".into(), p.task.clone().unwrap_or_else(|| "-".into())],
    ];
    if let (Some(since), Some(held)) = (&p.since, p.held_secs) {
        rows.push([
            "since".into(),
            format!("{since} ({} ago)", format_span(held)),
        ]);
    }
    for (key, value) in [
        ("agent session id", &p.agent_session_id),
        ("transcript", &p.transcript_path),
    ] {
        if let Some(v) = value {
            rows.push([key.into(), v.clone()]);
        }
    }
    let mut out = crate::output::table::table(&rows);
    out.push_str(&"─".repeat(40));
    out.push('\n');
    for line in &p.lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_lines_skip_blanks() {
        let text = "a\n\n  \nb  \nc\n\n\n";
        assert_eq!(last_lines(text, 2), ["b", "c"]);
        assert_eq!(last_lines(text, 40), ["a", "b", "c"]);
        assert!(last_lines("", 3).is_empty());
    }
}
