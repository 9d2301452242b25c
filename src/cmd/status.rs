//! `status`: every pool and dedicated session as tmux and the state see it,
//! and what each project has waiting. Read-only, lock-free, one tmux call.

use serde::Serialize;

use super::{table, Ctx, Run};
use crate::clock::{format_span, format_utc};
use crate::config::Config;
use crate::error::Outcome;
use crate::pending::{self, Mode};
use crate::report;
use crate::security::Trust;
use crate::sessions;
use crate::state::{now, Phase, State, Store};
use crate::tmux::{Snapshot, Tmux};

pub struct Status;

#[derive(Serialize)]
struct SessionRow {
    session: String,
    kind: &'static str,
    alive: bool,
    state: &'static str,
    task: Option<String>,
    since: Option<String>,
    /// How long a busy (launching or working) session has held its task.
    held_secs: Option<u64>,
    cooldown_left: u64,
    command: Option<String>,
    free: bool,
}

#[derive(Serialize)]
struct ProjectRow {
    project: String,
    pending: usize,
    /// Changed too recently to be sent yet; not counted in `pending`.
    settling: usize,
    refused: usize,
    broken: usize,
}

#[derive(Serialize)]
struct Report {
    sessions: Vec<SessionRow>,
    projects: Vec<ProjectRow>,
}

impl Run for Status {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        let state = Store::new(config.state_file.clone()).read()?;
        let snapshot = match Tmux::new(config.tmux_command.clone()).snapshot() {
            Ok(s) => s,
            Err(e) => {
                report::warn(format!("{e:#}; every session is shown as not alive"));
                Snapshot::default()
            }
        };
        let report = Report {
            sessions: session_rows(&config, &state, &snapshot),
            projects: pending::read_all(&config, &Trust::new(&config.security), Mode::Quiet)
                .into_iter()
                .map(|p| ProjectRow {
                    project: report::escape_path(&p.project),
                    pending: p.pending.len(),
                    settling: p.settling,
                    refused: p.refused,
                    broken: p.broken,
                })
                .collect(),
        };
        if report::json() {
            report::print_json(&report);
        } else {
            print!("{}", render(&report));
        }
        Ok(Outcome::Done)
    }
}

fn session_rows(config: &Config, state: &State, snapshot: &Snapshot) -> Vec<SessionRow> {
    let now = now();
    let pool = config.pool.sessions().map(|s| (s, "pool"));
    let dedicated = config
        .dedicated
        .iter()
        .map(|d| (d.session.clone(), "dedicated"));
    pool.chain(dedicated)
        .map(|(session, kind)| {
            let entry = state.sessions.get(&session);
            let pane = snapshot.pane(&session);
            SessionRow {
                alive: pane.is_some(),
                state: entry.map(|e| e.state).unwrap_or(Phase::Idle).as_str(),
                task: entry
                    .and_then(|e| e.task.as_deref())
                    .map(report::escape_path),
                since: entry.filter(|e| e.since > 0).map(|e| format_utc(e.since)),
                held_secs: entry
                    .filter(|e| e.since > 0 && matches!(e.state, Phase::Launching | Phase::Working))
                    .map(|e| now.saturating_sub(e.since)),
                cooldown_left: sessions::cooldown_left(config, state, &session, now).as_secs(),
                command: pane.map(|p| p.command.clone()),
                free: kind == "pool"
                    && sessions::check(config, snapshot, state, &session, now, false).is_ok(),
                session,
                kind,
            }
        })
        .collect()
}

fn render(r: &Report) -> String {
    let mut rows = vec![[
        "SESSION", "KIND", "ALIVE", "STATE", "SINCE", "HELD", "COOLDOWN", "TASK",
    ]
    .map(String::from)];
    for s in &r.sessions {
        let state = if s.free {
            "idle (free)".to_string()
        } else {
            s.state.to_string()
        };
        let alive = match (&s.command, s.alive) {
            (Some(cmd), true) => format!("yes ({cmd})"),
            _ => "no".to_string(),
        };
        rows.push([
            s.session.clone(),
            s.kind.to_string(),
            alive,
            state,
            s.since.clone().unwrap_or_else(|| "-".into()),
            s.held_secs.map_or_else(|| "-".into(), format_span),
            if s.cooldown_left > 0 {
                format!("{}s", s.cooldown_left)
            } else {
                "-".into()
            },
            s.task.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut out = table(&rows);
    out.push('\n');
    let mut rows =
        vec![["PROJECT", "PENDING", "SETTLING", "WAITING (REFUSED/BROKEN)"].map(String::from)];
    for p in &r.projects {
        rows.push([
            p.project.clone(),
            p.pending.to_string(),
            p.settling.to_string(),
            format!("{}/{}", p.refused, p.broken),
        ]);
    }
    out.push_str(&table(&rows));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(session: &str, state: &'static str, held_secs: Option<u64>) -> SessionRow {
        SessionRow {
            session: session.into(),
            kind: "pool",
            alive: true,
            state,
            task: held_secs.map(|_| "/p/.agent-queue/inbox/x.md.dispatched".into()),
            since: Some("2026-11-24T03:14:00Z".into()),
            held_secs,
            cooldown_left: 0,
            command: Some("sh".into()),
            free: false,
        }
    }

    #[test]
    fn held_shows_how_long_a_busy_session_has_had_its_task() {
        let r = Report {
            sessions: vec![
                row("a", "working", Some(11_100)),
                row("b", "launching", Some(4)),
                row("c", "idle", None),
            ],
            projects: Vec::new(),
        };
        let text = render(&r);
        let lines: Vec<&str> = text.lines().collect();
        let at = lines[0].find("HELD").unwrap();
        let held: Vec<&str> = lines[1..4]
            .iter()
            .map(|l| l[at..].split_whitespace().next().unwrap())
            .collect();
        assert_eq!(held, ["3h05m", "4s", "-"]);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["sessions"][0]["held_secs"], 11_100);
        assert_eq!(json["sessions"][2]["held_secs"], serde_json::Value::Null);
    }
}
