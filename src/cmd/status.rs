//! `status`: every pool (its account, agent and tmux server), every account
//! that hit its usage limit, every pool and dedicated session as tmux and
//! the state see it, and what each project has waiting. Read-only,
//! lock-free, one tmux call per server.

use serde::Serialize;

use super::{Ctx, Run};
use crate::clock::now;
use crate::clock::{format_span, format_utc};
use crate::config::Config;
use crate::dispatch::free;
use crate::error::Outcome;
use crate::output::report;
use crate::output::table::table;
use crate::queue::finished::{self, TaskFile};
use crate::queue::inbox;
use crate::queue::pending::{self, Mode};
use crate::store::security::Trust;
use crate::store::state::{Phase, State, Store};
use crate::tmux::servers;
use crate::tmux::Snapshot;

pub struct Status;

#[derive(Serialize)]
struct PoolRow {
    pool: String,
    account: String,
    agent: String,
    /// The names its profile's `env` sets: never their values (secrets).
    env: Vec<String>,
    /// The tmux command of its server (another host: `ssh host tmux`).
    host: String,
    sessions: String,
    free: usize,
    /// Its tmux server answered (a silent host's sessions are unknown,
    /// never dead: they keep their tasks until it answers).
    reachable: bool,
    /// `pause --pool` (or a bare `pause`) holds it.
    paused: bool,
}

#[derive(Serialize)]
struct AccountRow {
    account: String,
    /// RFC 3339, or null when it is not limited.
    limited_until: Option<String>,
    reason: Option<String>,
    /// Its usage before the limit: `five_hour`, `seven_day`, `observed_at`,
    /// `held_until`.
    #[serde(flatten)]
    usage: crate::accounts::usage::View,
}

#[derive(Serialize)]
struct SessionRow {
    session: String,
    kind: &'static str,
    /// Its pool's name; null for a dedicated session.
    pool: Option<String>,
    alive: bool,
    /// Its tmux server answered; when not, `alive` is unknown (false).
    reachable: bool,
    state: &'static str,
    task: Option<String>,
    since: Option<String>,
    /// How long a busy (launching or working) session has held its task.
    held_secs: Option<u64>,
    cooldown_left: u64,
    command: Option<String>,
    free: bool,
    /// Why a pool session is not free (null when it is, and for a
    /// dedicated session).
    busy: Option<String>,
    /// `pause --session` holds it (its pool's pause is on the pool).
    paused: bool,
    /// The last non-blank line its screen shows while it holds a task.
    last_line: Option<String>,
    /// An operator holds this pool session (a client's recent input, or
    /// its pane in a mode): nothing automatic types into it; null when not.
    operator: Option<String>,
}

#[derive(Serialize)]
struct ProjectRow {
    project: String,
    pending: usize,
    /// Changed too recently to be sent yet; not counted in `pending`.
    settling: usize,
    refused: usize,
    broken: usize,
    /// Task files a session holds now.
    held: usize,
    /// Task files that are over: `.dispatched` that no session holds,
    /// `.rejected`, `.cancelled`.
    finished: usize,
    /// `pause --project` holds its tasks in its inbox.
    paused: bool,
}

#[derive(Serialize)]
struct Report {
    pools: Vec<PoolRow>,
    accounts: Vec<AccountRow>,
    sessions: Vec<SessionRow>,
    projects: Vec<ProjectRow>,
}

impl Run for Status {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let config = ctx.config()?;
        let state = Store::new(config.state_file.clone()).read()?;
        // No server answering at all (tmux missing, or every server down)
        // is a runtime failure, exit 3, as for every subcommand: the
        // report is still printed, every session in it unreachable.
        let mut unanswered = None;
        let snapshot = match servers::snapshot(&config) {
            Ok(s) => s,
            Err(e) => {
                unanswered = Some(e);
                Snapshot {
                    unknown: config
                        .pools
                        .iter()
                        .flat_map(|p| p.sessions())
                        .chain(config.dedicated.iter().map(|d| d.session.clone()))
                        .collect(),
                    ..Snapshot::default()
                }
            }
        };
        let sessions = session_rows(&config, &state, &snapshot);
        let report = Report {
            pools: pool_rows(&config, &state, &sessions),
            accounts: account_rows(&config, &state),
            sessions,
            projects: pending::read_all(&config, &Trust::new(&config.security), Mode::Quiet)
                .into_iter()
                .map(|p| {
                    let files = finished::inbox_files(&inbox::inbox_of(&p.project));
                    let count = |want: fn(&TaskFile) -> bool| {
                        files
                            .iter()
                            .filter(|f| want(&finished::classify(f, &state)))
                            .count()
                    };
                    ProjectRow {
                        project: crate::paths::escape_path(&p.project),
                        pending: p.pending.len(),
                        settling: p.settling,
                        refused: p.refused,
                        broken: p.broken,
                        held: count(|f| matches!(f, TaskFile::Held(_))),
                        finished: count(|f| matches!(f, TaskFile::Finished(_))),
                        paused: state.paused.project(&p.project),
                    }
                })
                .collect(),
        };
        if report::json() {
            report::print_json(&report);
        } else {
            report::print(&render(&report));
        }
        match unanswered {
            Some(e) => {
                Err(e.context("no tmux server answered: every session is shown as unreachable"))
            }
            None => Ok(Outcome::Done),
        }
    }
}

fn pool_rows(config: &Config, state: &State, sessions: &[SessionRow]) -> Vec<PoolRow> {
    let of = |name: String| {
        sessions
            .iter()
            .filter(move |s| s.pool.as_deref() == Some(name.as_str()))
    };
    config
        .pools
        .iter()
        .map(|p| PoolRow {
            pool: p.name.clone(),
            account: p.account.clone(),
            agent: p.agent_name.clone(),
            env: p.agent.env.keys().cloned().collect(),
            host: match p.sessions().next() {
                Some(s) => servers::server_of(config, &s).describe(),
                None => p.tmux.join(" "),
            },
            sessions: p.range(),
            free: of(p.name.clone()).filter(|s| s.free).count(),
            reachable: of(p.name.clone()).all(|s| s.reachable),
            paused: state.paused.pools.contains(&p.name),
        })
        .collect()
}

/// Every account of the config, limited or not, then any other the state
/// still names.
fn account_rows(config: &Config, state: &State) -> Vec<AccountRow> {
    let now = now();
    let mut names: Vec<String> = Vec::new();
    for name in config
        .pools
        .iter()
        .map(|p| p.account.clone())
        .chain(state.accounts.keys().cloned())
        .chain(state.usage.keys().cloned())
    {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .map(|account| {
            let limit = state
                .accounts
                .get(&account)
                .filter(|a| a.limited_until > now);
            AccountRow {
                limited_until: limit.map(|a| format_utc(a.limited_until)),
                reason: limit.map(|a| a.reason.clone()),
                usage: crate::accounts::usage::View::of(
                    state.usage.get(&account),
                    config.hold_at(&account),
                    now,
                ),
                account,
            }
        })
        .collect()
}

/// The last line of every live session that holds a task, all read at
/// once: reads of one server asked meanwhile are one tmux call (see
/// `tmux::batch`), and the servers are asked in parallel, so a host costs
/// one round trip or two, not one per session.
fn last_lines(
    config: &Config,
    state: &State,
    snapshot: &Snapshot,
) -> std::collections::HashMap<String, String> {
    let held: Vec<&String> = state
        .sessions
        .iter()
        .filter(|(name, e)| {
            e.phase != Phase::Idle
                && snapshot.pane(name).is_some()
                && !matches!(config.kind(name), crate::config::Kind::Unknown)
        })
        .map(|(name, _)| name)
        .collect();
    std::thread::scope(|scope| {
        let reads: Vec<_> = held
            .into_iter()
            .map(|name| {
                scope.spawn(move || {
                    super::peek::last_line(config, name).map(|line| (name.clone(), line))
                })
            })
            .collect();
        reads
            .into_iter()
            .filter_map(|r| r.join().ok().flatten())
            .collect()
    })
}

fn session_rows(config: &Config, state: &State, snapshot: &Snapshot) -> Vec<SessionRow> {
    let now = now();
    let mut lines = last_lines(config, state, snapshot);
    let pools = config
        .pools
        .iter()
        .flat_map(|p| p.sessions().map(move |s| (s, "pool", Some(p.name.clone()))));
    let dedicated = config
        .dedicated
        .iter()
        .map(|d| (d.session.clone(), "dedicated", None));
    pools
        .chain(dedicated)
        .map(|(session, kind, pool)| {
            let entry = state.sessions.get(&session);
            let pane = snapshot.pane(&session);
            let busy = (kind == "pool")
                .then(|| {
                    free::check(
                        config,
                        snapshot,
                        state,
                        &session,
                        now,
                        free::Chooser::Automatic,
                    )
                    .err()
                })
                .flatten()
                .map(|b| b.to_string());
            SessionRow {
                alive: pane.is_some(),
                reachable: !snapshot.is_unknown(&session),
                state: entry.map(|e| e.phase).unwrap_or(Phase::Idle).as_str(),
                task: entry
                    .and_then(|e| e.task.as_deref())
                    .map(crate::paths::escape_path),
                since: entry.filter(|e| e.since > 0).map(|e| format_utc(e.since)),
                held_secs: entry
                    .filter(|e| e.since > 0 && matches!(e.phase, Phase::Launching | Phase::Working))
                    .map(|e| now.saturating_sub(e.since)),
                cooldown_left: free::cooldown_left(config, state, &session, now).as_secs(),
                command: pane.map(|p| p.command.clone()),
                free: kind == "pool" && busy.is_none(),
                busy,
                paused: state.paused.sessions.contains(&session),
                last_line: entry
                    .filter(|e| e.phase != Phase::Idle && pane.is_some())
                    .and_then(|_| lines.remove(&session)),
                operator: crate::dispatch::hands_off::hold(config, snapshot, &session, now)
                    .map(|h| h.to_string()),
                session,
                kind,
                pool,
            }
        })
        .collect()
}

fn render(r: &Report) -> String {
    let mut rows = vec![["POOL", "ACCOUNT", "AGENT", "SESSIONS", "FREE", "TMUX"].map(String::from)];
    for p in &r.pools {
        rows.push([
            if p.paused {
                format!("{} (paused)", p.pool)
            } else {
                p.pool.clone()
            },
            p.account.clone(),
            match p.env.is_empty() {
                true => p.agent.clone(),
                false => format!("{} (env {})", p.agent, p.env.join(", ")),
            },
            p.sessions.clone(),
            p.free.to_string(),
            match p.reachable {
                true => p.host.clone(),
                false => format!("{} (unreachable: it does not answer)", p.host),
            },
        ]);
    }
    let mut out = table(&rows);
    out.push('\n');
    let mut rows = vec![[
        "ACCOUNT",
        "USAGE LIMIT",
        "REASON",
        "USAGE",
        "OBSERVED",
        "HOLD",
    ]
    .map(String::from)];
    for a in &r.accounts {
        rows.push([
            a.account.clone(),
            a.limited_until
                .as_ref()
                .map_or("-".into(), |u| format!("until {u}")),
            a.reason.clone().unwrap_or_else(|| "-".into()),
            a.usage.summary(),
            a.usage.observed_at.clone().unwrap_or_else(|| "-".into()),
            a.usage
                .held_until
                .as_ref()
                .map_or("-".into(), |u| format!("until {u}")),
        ]);
    }
    out.push_str(&table(&rows));
    out.push('\n');
    let mut rows = vec![[
        "SESSION",
        "KIND",
        "ALIVE",
        "STATE",
        "SINCE",
        "HELD",
        "COOLDOWN",
        "TASK",
        "LAST LINE",
    ]
    .map(String::from)];
    for s in &r.sessions {
        let state = match (&s.busy, s.free, s.state) {
            (_, true, _) => "idle (free)".to_string(),
            // Idle, yet not free: say why (its agent still runs, a cooldown,
            // its account's limit, no such session...).
            (Some(why), false, "idle") => format!("idle, not free: {why}"),
            _ => match &s.operator {
                Some(op) => format!("{}; {op}", s.state),
                None => s.state.to_string(),
            },
        };
        let alive = match (&s.command, s.alive, s.reachable) {
            (Some(cmd), true, _) => format!("yes ({cmd})"),
            (_, _, false) => "unknown (host unreachable)".to_string(),
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
                format_span(s.cooldown_left)
            } else {
                "-".into()
            },
            s.task.clone().unwrap_or_else(|| "-".into()),
            s.last_line.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    out.push_str(&table(&rows));
    out.push('\n');
    let mut rows = vec![[
        "PROJECT",
        "PENDING",
        "SETTLING",
        "WAITING (REFUSED/BROKEN)",
        "HELD",
        "FINISHED",
    ]
    .map(String::from)];
    for p in &r.projects {
        rows.push([
            if p.paused {
                format!("{} (paused)", p.project)
            } else {
                p.project.clone()
            },
            p.pending.to_string(),
            p.settling.to_string(),
            format!("{}/{}", p.refused, p.broken),
            p.held.to_string(),
            p.finished.to_string(),
        ]);
    }
    out.push_str(&table(&rows));
    out
}

#[cfg(test)]
mod tests;
