//! The tmux servers a config names: `[tmux] command`, and each pool's own
//! (another socket, or a `host` reached through `[ssh]`). Sessions are named
//! uniquely across pools, so a session's name says which server it is on;
//! one snapshot gathers every server's sessions, one `list-panes` each,
//! asked at once so that a host that does not answer costs one wait in all.
//! A server that holds no pool or dedicated session is never asked.

use anyhow::anyhow;

use crate::config::Config;
use crate::output::report;
use crate::tmux::{transport, Snapshot, Tmux, Transport};

/// Where a tmux server is: its host (`None`: reached from this one by the
/// `tmux` argv itself) and the tmux command that reaches it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: Option<String>,
    pub tmux: Vec<String>,
}

impl Server {
    /// For messages: `agent@box2: tmux -L agents`, or the local argv.
    pub fn describe(&self) -> String {
        match &self.host {
            Some(host) => format!("{host}: {}", self.tmux.join(" ")),
            None => self.tmux.join(" "),
        }
    }
}

/// The server `session` is on.
pub fn server_of(config: &Config, session: &str) -> Server {
    match config.pool_of(session) {
        Some(p) => Server {
            host: p.host.clone(),
            tmux: p.tmux.clone(),
        },
        None => Server {
            host: None,
            tmux: config.tmux_command.clone(),
        },
    }
}

/// The tmux that reaches `server`.
pub fn connect(config: &Config, server: &Server) -> Tmux {
    Tmux::with(match &server.host {
        None => Transport::local(server.tmux.clone()),
        Some(host) => Transport::remote(
            &config.ssh,
            host,
            &server.tmux,
            transport::control_dir(&config.state_file).as_deref(),
        ),
    })
}

/// The tmux of the server `session` is on.
pub fn tmux_for(config: &Config, session: &str) -> Tmux {
    connect(config, &server_of(config, session))
}

/// Every server that holds a pool or dedicated session, each once.
pub fn all(config: &Config) -> Vec<Tmux> {
    servers(config)
        .into_iter()
        .map(|(server, _)| connect(config, &server))
        .collect()
}

/// Every server that holds a pool or dedicated session, each once, with
/// those sessions.
pub fn servers(config: &Config) -> Vec<(Server, Vec<String>)> {
    let mut out: Vec<(Server, Vec<String>)> = Vec::new();
    let mut add = |server: Server, sessions: Vec<String>| {
        if sessions.is_empty() {
            return;
        }
        match out.iter_mut().find(|(s, _)| *s == server) {
            Some((_, s)) => s.extend(sessions),
            None => out.push((server, sessions)),
        }
    };
    for pool in &config.pools {
        let server = Server {
            host: pool.host.clone(),
            tmux: pool.tmux.clone(),
        };
        add(server, pool.sessions().collect());
    }
    let dedicated = config.dedicated.iter().map(|d| d.session.clone()).collect();
    let server = Server {
        host: None,
        tmux: config.tmux_command.clone(),
    };
    add(server, dedicated);
    out
}

/// Every session of every server. A server that cannot be asked (tmux
/// missing, a host that does not answer, no server running on its socket)
/// is a warning and its sessions are `unknown`, unless no server answered
/// at all: then that is the error (exit 3).
pub fn snapshot(config: &Config) -> anyhow::Result<Snapshot> {
    let servers = servers(config);
    let answers: Vec<anyhow::Result<Snapshot>> = std::thread::scope(|scope| {
        let asks: Vec<_> = servers
            .iter()
            .map(|(server, _)| scope.spawn(move || connect(config, server).snapshot()))
            .collect();
        asks.into_iter()
            .zip(&servers)
            .map(|(a, (server, _))| {
                a.join().unwrap_or_else(|_| {
                    Err(anyhow!(
                        "asking the tmux server `{}` panicked",
                        server.describe()
                    ))
                })
            })
            .collect()
    });
    let mut snapshot = Snapshot::default();
    let mut failures = Vec::new();
    for ((server, sessions), answer) in servers.iter().zip(answers) {
        match answer {
            Ok(s) => {
                let ours = |name: &String| server_of(config, name) == *server;
                snapshot
                    .sessions
                    .extend(s.sessions.into_iter().filter(|(name, _)| ours(name)));
                snapshot
                    .attached
                    .extend(s.attached.into_iter().filter(|(name, _)| ours(name)));
            }
            Err(e) => {
                snapshot.unknown.extend(sessions.iter().cloned());
                failures.push((server, e));
            }
        }
    }
    if !failures.is_empty() && failures.len() == servers.len() {
        return Err(failures.remove(0).1);
    }
    for (server, e) in failures {
        let what = match server.host {
            Some(ref host) => format!("{host} is unreachable ({e:#})"),
            None => format!("{e:#}"),
        };
        report::warn(format!(
            "{what}; its sessions are left as they are until it answers"
        ));
    }
    Ok(snapshot)
}

/// Asks every remote server once, all at once, and forgets the answers:
/// a host that does not answer is then known as silent to this invocation
/// before it takes the state's lock, and costs no wait under it (where it
/// would hold up the hooks of every other host).
pub fn reach_remote(config: &Config) {
    std::thread::scope(|scope| {
        for (server, _) in servers(config) {
            if server.host.is_some() {
                scope.spawn(move || {
                    let _ = connect(config, &server).snapshot();
                });
            }
        }
    });
}

/// The sessions of the one server `session` is on: a recycle of a local
/// session asks no remote host.
pub fn snapshot_of(config: &Config, session: &str) -> anyhow::Result<Snapshot> {
    let server = server_of(config, session);
    let mut snapshot = connect(config, &server).snapshot()?;
    snapshot
        .sessions
        .retain(|name, _| server_of(config, name) == server);
    snapshot
        .attached
        .retain(|name, _| server_of(config, name) == server);
    Ok(snapshot)
}

/// A clear error for a session no configured server has: bad usage (exit 2).
pub fn unknown_session(config: &Config, session: &str) -> anyhow::Error {
    let pools: Vec<String> = config
        .pools
        .iter()
        .map(|p| format!("{} ({})", p.name, p.range()))
        .collect();
    crate::error::bad_input(format!(
        "unknown session `{session}`: it is in no pool ({}) and is no [[dedicated]] session",
        pools.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state folder (where a remote server's control socket goes) is
    /// the temp folder's, removed when it is dropped.
    fn config(extra: &str) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let text = format!(
            "[state]\nfile = {state:?}\n[projects]\npaths = []\n[tmux]\ncommand = [\"tmux\", \"-L\", \"here\"]\n\
             [pool]\nprefix = \"a-\"\nstart = 1\nsize = 2\ntmux = [\"tmux\", \"-L\", \"pool\"]\n{extra}"
        );
        let config = crate::config::parse(&text, std::path::Path::new("/etc/aq.toml")).unwrap();
        (dir, config)
    }

    #[test]
    fn only_servers_that_hold_a_session_are_asked() {
        let (_dir, c) = config("");
        let asked: Vec<Server> = servers(&c).into_iter().map(|(s, _)| s).collect();
        assert_eq!(
            asked,
            [Server {
                host: None,
                tmux: vec!["tmux".into(), "-L".into(), "pool".into()]
            }],
            "[tmux] command holds no session here"
        );
        // A pool holds at least one session (the config says so), so only
        // [tmux] command may hold none; a dedicated session makes it asked.
        let (_dir, c) = config("[[dedicated]]\nsession = \"mine\"\n");
        let asked: Vec<String> = servers(&c).iter().map(|(s, _)| s.describe()).collect();
        assert_eq!(
            asked,
            ["tmux -L pool", "tmux -L here"],
            "the dedicated session's server is asked too"
        );
    }

    #[test]
    fn a_session_is_on_its_pools_host() {
        let (_dir, c) =
            config("[pools.far]\nprefix = \"far-\"\nstart = 1\nsize = 3\nhost = \"box2\"\n");
        let far = server_of(&c, "far-2");
        assert_eq!(far.describe(), "box2: tmux");
        assert!(connect(&c, &far).is_remote());
        assert!(!connect(&c, &server_of(&c, "a-1")).is_remote());
        let (_, sessions) = servers(&c).into_iter().find(|(s, _)| *s == far).unwrap();
        assert_eq!(sessions, ["far-1", "far-2", "far-3"]);
    }
}
