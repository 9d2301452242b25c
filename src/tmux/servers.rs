//! The tmux servers a config names: `[tmux] command`, and each pool's own
//! (another socket, another host over ssh). Sessions are named uniquely
//! across pools, so a session's name says which server it is on; one
//! snapshot gathers every server's sessions, one `list-panes` each.

use anyhow::anyhow;

use crate::config::Config;
use crate::output::report;
use crate::tmux::{Snapshot, Tmux};

/// The tmux of the server `session` is on.
pub fn tmux_for(config: &Config, session: &str) -> Tmux {
    Tmux::new(config.tmux_for(session).to_vec())
}

/// Every server the config names, each once.
pub fn all(config: &Config) -> Vec<Tmux> {
    servers(config)
        .into_iter()
        .map(|(argv, _)| Tmux::new(argv))
        .collect()
}

/// Every server the config names, each once, with the sessions on it.
fn servers(config: &Config) -> Vec<(Vec<String>, Vec<String>)> {
    let mut out: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut add = |argv: &[String], sessions: Vec<String>| match out
        .iter_mut()
        .find(|(a, _)| a.as_slice() == argv)
    {
        Some((_, s)) => s.extend(sessions),
        None => out.push((argv.to_vec(), sessions)),
    };
    for pool in &config.pools {
        add(&pool.tmux, pool.sessions().collect());
    }
    let dedicated = config.dedicated.iter().map(|d| d.session.clone()).collect();
    add(&config.tmux_command, dedicated);
    out
}

/// Every session of every server. A server that cannot be asked (tmux
/// missing, a host that does not answer, no server running on its socket)
/// is a warning and its sessions are `unknown`, unless no server answered
/// at all: then that is the error (exit 3).
pub fn snapshot(config: &Config) -> anyhow::Result<Snapshot> {
    let mut snapshot = Snapshot::default();
    let mut failures = Vec::new();
    let servers = servers(config);
    for (argv, sessions) in &servers {
        let tmux = Tmux::new(argv.clone());
        match tmux.snapshot() {
            Ok(s) => {
                let ours = |name: &String| config.tmux_for(name) == argv.as_slice();
                snapshot
                    .sessions
                    .extend(s.sessions.into_iter().filter(|(name, _)| ours(name)));
                snapshot
                    .attached
                    .extend(s.attached.into_iter().filter(|(name, _)| ours(name)));
            }
            Err(e) => {
                snapshot.unknown.extend(sessions.iter().cloned());
                failures.push(e);
            }
        }
    }
    if !failures.is_empty() && failures.len() == servers.len() {
        let first = failures.remove(0);
        return Err(first);
    }
    for e in failures {
        report::warn(format!(
            "{e:#}; its sessions are left as they are until it answers"
        ));
    }
    Ok(snapshot)
}

/// The sessions of the one server `session` is on: a recycle of a local
/// session asks no remote host.
pub fn snapshot_of(config: &Config, session: &str) -> anyhow::Result<Snapshot> {
    let argv = config.tmux_for(session);
    let mut snapshot = Tmux::new(argv.to_vec()).snapshot()?;
    snapshot
        .sessions
        .retain(|name, _| config.tmux_for(name) == argv);
    snapshot
        .attached
        .retain(|name, _| config.tmux_for(name) == argv);
    Ok(snapshot)
}

/// A clear error for a session no configured server has.
pub fn unknown_session(config: &Config, session: &str) -> anyhow::Error {
    let pools: Vec<String> = config
        .pools
        .iter()
        .map(|p| format!("{} ({})", p.name, p.range()))
        .collect();
    anyhow!(
        "unknown session `{session}`: it is in no pool ({}) and is no [[dedicated]] session",
        pools.join(", ")
    )
}
