//! `doctor`: every check of `crate::doctor`, one line each (`ok`, `warn` or
//! `fail`, and the fix), in the order a first run meets them: the config and
//! the state, each tmux server, each pool session and the agent on its
//! pane's `PATH`, each account's Claude Code first-run state and hooks, each
//! inbox. Exit 1 when a check failed. It changes nothing: tmux is only
//! listed, panes are never typed into, files are only read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use super::{Ctx, Run};
use crate::config::{self, Config};
use crate::dispatch::free;
use crate::doctor::probe::{self, Found};
use crate::doctor::{self as checks, Account, Check, ClaudeFiles, Status};
use crate::error::Outcome;
use crate::output::report;
use crate::queue::{inbox, pending};
use crate::store::security::Trust;
use crate::store::state::Store;
use crate::tmux::{servers, Pane, Tmux};

pub struct Doctor;

impl Run for Doctor {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let path = ctx
            .global
            .config
            .clone()
            .unwrap_or_else(config::default_path);
        let mut out = Vec::new();
        match ctx.config() {
            Ok(config) => {
                out.push(Check::ok("config", path.display().to_string()));
                out.extend(state(&config));
                let panes = tmux(&config, &mut out);
                out.extend(agent_on_path(&config, &panes));
                out.extend(claude(&config, &panes));
                out.extend(inboxes(&config));
            }
            Err(e) => out.push(Check::fail(
                "config",
                format!("{e:#}"),
                "fix what the message names (`agent-queue --config PATH` for another file)",
            )),
        }
        for check in &out {
            if report::json() {
                report::print_json(check);
            } else {
                report::print(&format!("{}\n", check.line()));
            }
        }
        Ok(match out.iter().any(|c| c.status == Status::Fail) {
            true => Outcome::NothingFound,
            false => Outcome::Done,
        })
    }
}

fn state(config: &Config) -> Vec<Check> {
    let store = Store::new(config.state_file.clone());
    let shown = config.state_file.display().to_string();
    let dir = config
        .state_file
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let trust = Trust::new(&config.security);
    let mut out = Vec::new();
    if let Ok(meta) = std::fs::metadata(&dir) {
        if let Some(refused) = trust.refuse_folder(&dir, &meta) {
            out.push(Check::refused(
                "state folder",
                "",
                &[refused],
                format!("chmod 700 {}", crate::shell::quote(&dir.to_string_lossy())),
            ));
        }
    }
    out.push(match store.read() {
        Ok(_) => Check::ok("state", shown),
        Err(e) => Check::fail("state", format!("{e:#}"), "fix what the message names"),
    });
    out
}

/// A pool session's pane, with whether it is on this host.
struct PoolPane {
    session: String,
    pane: Pane,
    local: bool,
}

/// Each server answers; each pool session exists and sits at a shell (or
/// runs the agent agent-queue started). Returns the panes found.
fn tmux(config: &Config, out: &mut Vec<Check>) -> Vec<PoolPane> {
    let state = Store::new(config.state_file.clone())
        .read()
        .unwrap_or_default();
    let mut panes = Vec::new();
    for (server, sessions) in servers::servers(config) {
        let t = servers::connect(config, &server);
        let what = format!("tmux server `{}`", server.describe());
        let snapshot = match t.snapshot() {
            Ok(s) => {
                let detail = match t.reads() {
                    Some(reads) => format!("answers; {reads}"),
                    None => "answers".to_string(),
                };
                out.push(Check::ok(what, detail));
                s
            }
            Err(e) => {
                out.push(Check::fail(
                    what,
                    format!("{e:#}"),
                    "start it (`tmux new-session -d -s NAME` for each pool session), or fix [tmux] command / the pool's tmux",
                ));
                continue;
            }
        };
        // The pool sessions on this server (a pool with a `host` included:
        // its server is named by host and tmux, not by an argv here).
        for session in sessions.iter().filter(|s| config.pool_of(s).is_some()) {
            out.push(session_check(config, &state, &t, &snapshot, session));
            if let Some(pane) = snapshot.pane(session) {
                panes.push(PoolPane {
                    session: session.clone(),
                    pane: pane.clone(),
                    local: !t.is_remote(),
                });
            }
        }
    }
    panes
}

fn session_check(
    config: &Config,
    state: &crate::store::state::State,
    t: &Tmux,
    snapshot: &crate::tmux::Snapshot,
    session: &str,
) -> Check {
    let what = format!("pool session {session}");
    let Some(pane) = snapshot.pane(session) else {
        return Check::fail(
            what,
            "no such tmux session",
            format!(
                "{} new-session -d -s {}",
                t.argv().join(" "),
                crate::shell::quote(session)
            ),
        );
    };
    let started = state.sessions.get(session).and_then(|s| s.started.as_ref());
    if free::started_runs(started, pane) {
        return Check::ok(what, "runs the agent agent-queue started there");
    }
    if free::is_shell(&pane.command, &config.agent_for(session).shells) {
        return Check::ok(what, format!("at its shell (`{}`)", pane.command));
    }
    Check::warn(
        what,
        format!("runs `{}`, not a shell: it takes no task", pane.command),
        "end that program, or add its name to [agent] shells if it is a shell",
    )
}

/// The agent's program on each pool pane's login-shell PATH, asked in
/// parallel (a login shell may take a while to read its profile).
fn agent_on_path(config: &Config, panes: &[PoolPane]) -> Vec<Check> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = panes
            .iter()
            .map(|p| {
                scope.spawn(move || {
                    let program = checks::program(&config.agent_for(&p.session).command);
                    let what = format!("`{program}` on {}'s PATH", p.session);
                    if !p.local {
                        return Check::warn(
                            what,
                            "its tmux server is on another host: not checked",
                            format!("run `command -v {program}` in a login shell there"),
                        );
                    }
                    match probe::on_pane_path(p.pane.pid, &program) {
                        Found::At(at) => Check::ok(what, at),
                        Found::Missing(shell) => Check::fail(
                            what,
                            format!("the pane's login shell ({shell} -l -i) does not find it"),
                            "add its folder to PATH in that shell's profile (e.g. ~/.profile, \
                             ~/.bashrc), then restart the session; or give [agent] command a \
                             full path",
                        ),
                        Found::Unknown(why) => {
                            Check::warn(what, why, "check it in that pane by hand")
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Check::warn("PATH", "the check panicked", "-"))
            })
            .collect()
    })
}

/// First-run state and hooks of each Claude Code account, once per config
/// folder.
fn claude(config: &Config, panes: &[PoolPane]) -> Vec<Check> {
    let home = config::home();
    let projects: Vec<PathBuf> = inbox::projects(config)
        .into_iter()
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
        .collect();
    // One account per config folder: pools that share it share its files.
    let mut accounts: BTreeMap<PathBuf, (ClaudeFiles, &crate::config::Pool)> = BTreeMap::new();
    for pool in config.pools.iter().filter(|p| p.agent.claude_code) {
        let dir = pool
            .agent
            .env
            .get("CLAUDE_CONFIG_DIR")
            .map(|d| config::expand_tilde(std::path::Path::new(d)));
        let files = ClaudeFiles::of(dir.as_deref(), &home);
        accounts.entry(files.state.clone()).or_insert((files, pool));
    }
    let mut out = Vec::new();
    for (files, pool) in accounts.values() {
        let name = &pool.account;
        let read = |path: &std::path::Path| -> Value {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null)
        };
        let (state, settings) = (read(&files.state), read(&files.settings));
        let pane_key = panes
            .iter()
            .filter(|p| p.local && pool.contains(&p.session))
            .find_map(|p| probe::pane_env(p.pane.pid, "ANTHROPIC_API_KEY"));
        let api_key = pool
            .agent
            .env
            .get("ANTHROPIC_API_KEY")
            .cloned()
            .or(pane_key)
            .filter(|k| !k.is_empty());
        let answered: Vec<String> = pool
            .agent
            .dialogs
            .iter()
            .filter(|d| !d.answer.is_empty())
            .map(|d| d.name.clone())
            .collect();
        out.extend(checks::first_run(&Account {
            name,
            files,
            state: &state,
            settings: &settings,
            projects: &projects,
            api_key: api_key.as_deref(),
            bypass: pool
                .agent
                .command
                .contains("--dangerously-skip-permissions"),
            answered: &answered,
        }));
        out.extend(checks::hooks(name, &files.settings, &settings));
        out.push(checks::statusline(name, &files.settings, &settings));
    }
    out
}

/// Each inbox as the scan would trust it.
fn inboxes(config: &Config) -> Vec<Check> {
    let trust = Trust::new(&config.security);
    inbox::projects(config)
        .into_iter()
        .map(|project| {
            let inbox = inbox::inbox_of(&project);
            let what = format!("inbox {}", inbox.display());
            let refused = pending::folder_refusal(&project, &inbox, &trust);
            if refused.is_empty() {
                Check::ok(what, "trusted")
            } else {
                Check::refused(
                    what,
                    "the scan refuses it: ",
                    &refused,
                    "make it yours and not writable by others (chown; chmod go-w)",
                )
            }
        })
        .collect()
}
