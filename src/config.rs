//! The config file is the only place a site says which sessions form its
//! pools, where the projects are and how the agents are started. Nothing of
//! that is hard-coded (prompt marker, message, model map are keys with
//! defaults), and an unknown key is an error, so a typo never turns
//! silently into a default. A relative path in it is relative to the config
//! file's folder: systemd, a Stop hook and an operator's shell all run in
//! different folders, and must all mean the same state file and projects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Deserializer};

use crate::error::bad_input;
use crate::queue::task::Priority;
use crate::store::security::Security;

mod accounts;
mod agent;
mod pool;
mod shown;
mod ssh;

pub use accounts::{AccountSettings, Prefer, Routing, StatusLine};
use agent::merge_dialogs;
pub use agent::{default_dialogs, Agent, Dialog, Models};
use pool::RawPool;
pub use pool::{OnLimit, Pool, DEFAULT_POOL};
pub use ssh::Ssh;

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from, for messages.
    pub path: PathBuf,
    pub state_file: PathBuf,
    /// `[tmux] command`: the server of dedicated sessions, and of every
    /// pool that does not name its own.
    pub tmux_command: Vec<String>,
    pub projects: Projects,
    /// In config order: `[pool]` (named `default`) first.
    pub pools: Vec<Pool>,
    pub dedicated: Vec<Dedicated>,
    /// `[agent]`: the profile of dedicated sessions and of every pool that
    /// does not name one.
    pub agent: Agent,
    pub security: Security,
    pub history: History,
    /// `[notify]`: a command run for chosen history events.
    pub notify: crate::store::notify::Notify,
    /// `[accounts.NAME]`, by account name.
    pub accounts: BTreeMap<String, AccountSettings>,
    pub routing: Routing,
    pub statusline: StatusLine,
    /// `[ssh]`: how the tmux servers of pools with a `host` are reached.
    pub ssh: Ssh,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Projects {
    #[serde(deserialize_with = "paths")]
    pub paths: Vec<PathBuf>,
    #[serde(deserialize_with = "paths")]
    pub roots: Vec<PathBuf>,
    pub max_depth: usize,
    /// A task file changed less than this long ago may still be being
    /// written, and waits (zero: no wait).
    #[serde(deserialize_with = "duration")]
    pub settle: Duration,
    /// At most this many tasks of one project held by sessions at once
    /// (none: no limit).
    pub max_parallel: Option<usize>,
    /// Where a task runs: in the project itself, or in a git worktree of
    /// its own (a task's `isolation:` header says otherwise).
    pub isolation: crate::queue::worktree::Isolation,
}

/// Long enough for a writer that pauses between paragraphs, short enough
/// not to be noticed.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(2);

impl Default for Projects {
    fn default() -> Self {
        Projects {
            paths: Vec::new(),
            roots: Vec::new(),
            max_depth: 3,
            settle: DEFAULT_SETTLE,
            max_parallel: None,
            isolation: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dedicated {
    pub session: String,
    #[serde(default, deserialize_with = "opt_path")]
    pub project: Option<PathBuf>,
}

/// The history journal (`history.jsonl` beside the state file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct History {
    /// Past this many bytes the journal is renamed `history.jsonl.1`
    /// (replacing the older one) before the next line is appended.
    #[serde(deserialize_with = "size")]
    pub max_size: u64,
}

pub const DEFAULT_HISTORY_MAX_SIZE: u64 = 16 << 20;

impl Default for History {
    fn default() -> Self {
        History {
            max_size: DEFAULT_HISTORY_MAX_SIZE,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    state: RawState,
    #[serde(default)]
    tmux: RawTmux,
    projects: Option<Projects>,
    pool: Option<RawPool>,
    #[serde(default)]
    pools: toml::Table,
    #[serde(default)]
    agents: toml::Table,
    #[serde(default)]
    dedicated: Vec<Dedicated>,
    #[serde(default)]
    agent: Agent,
    #[serde(default)]
    security: Security,
    #[serde(default)]
    history: History,
    #[serde(default)]
    notify: crate::store::notify::Notify,
    #[serde(default)]
    accounts: BTreeMap<String, AccountSettings>,
    #[serde(default)]
    routing: Routing,
    #[serde(default)]
    statusline: StatusLine,
    #[serde(default)]
    ssh: Ssh,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawState {
    #[serde(default, deserialize_with = "opt_path")]
    file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawTmux {
    command: Vec<String>,
}

impl Default for RawTmux {
    fn default() -> Self {
        RawTmux {
            command: vec!["tmux".into()],
        }
    }
}

/// Where the config is looked for when `--config` is not given.
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("AGENT_QUEUE_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    xdg_dir("XDG_CONFIG_HOME", ".config").join("agent-queue/config.toml")
}

/// Where the state lives when `[state] file` is not given.
pub fn default_state_file() -> PathBuf {
    xdg_dir("XDG_STATE_HOME", ".local/state").join("agent-queue/state.json")
}

fn xdg_dir(var: &str, fallback: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        _ => home().join(fallback),
    }
}

pub fn home() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

pub fn expand_tilde(p: &Path) -> PathBuf {
    match p.strip_prefix("~") {
        Ok(rest) => home().join(rest),
        Err(_) => p.to_path_buf(),
    }
}

/// Reads the config at `path` (exit 2 on anything wrong with it).
pub fn load(path: &Path) -> anyhow::Result<Config> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad_input(format!(
            "no config at {}: write one (see contrib/config.example.toml, or `man agent-queue`) \
                 or name it with --config or $AGENT_QUEUE_CONFIG",
            path.display()
        )))
        }
        Err(e) => return Err(bad_input(format!("reading config {}: {e}", path.display()))),
    };
    crate::store::security::check_config_file(path)?;
    let config = parse(&text, path).with_context(|| format!("config {}", path.display()))?;
    shown::warn_if_secrets_readable(&config);
    Ok(config)
}

/// Parses config text read from `path`, the folder that relative paths in
/// it are relative to.
pub fn parse(text: &str, path: &Path) -> anyhow::Result<Config> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let within = |p: &mut PathBuf| {
        if p.is_relative() {
            *p = dir.join(&*p);
        }
    };
    let raw: Raw = toml::from_str(text).map_err(|e| bad_input(shown::toml_error(text, &e)))?;
    let mut projects = raw.projects.ok_or_else(|| {
        bad_input("missing [projects]: say which projects to scan (paths or roots)")
    })?;
    if projects.max_parallel == Some(0) {
        return Err(bad_input(
            "[projects] max_parallel = 0 would send no task at all; leave it out for no limit",
        ));
    }
    if raw.tmux.command.is_empty() {
        return Err(bad_input(
            "[tmux] command is empty: it needs at least the program, e.g. [\"tmux\"]",
        ));
    }
    raw.ssh.check()?;
    let profile = |table: &str, mut agent: Agent| -> anyhow::Result<Agent> {
        if agent.ready_marker.trim().is_empty() {
            return Err(bad_input(format!(
                "{table} ready_marker is empty: it would match every screen"
            )));
        }
        if let Some(d) = agent.dialogs.iter().find(|d| {
            (d.choose.is_some() && !d.answer.is_empty())
                || d.choose.as_deref().is_some_and(|c| c.trim().is_empty())
        }) {
            return Err(bad_input(format!(
                "{table} dialog `{}`: give `choose` (the text of the option to pick) or \
                 `answer` (keys), not both, and `choose` not empty",
                d.name
            )));
        }
        agent.dialogs = merge_dialogs(default_dialogs(), agent.dialogs);
        within(&mut agent.resume_dir);
        // Compiling the built-in patterns is most of what loading a config
        // costs (the status line runs every few seconds in every agent):
        // they are known to compile, so only the operator's are checked.
        if agent.limit_patterns != crate::accounts::limits::default_patterns() {
            crate::accounts::limits::Patterns::new(&agent.limit_patterns)
                .map_err(|e| bad_input(format!("{table} limit_patterns: {e}")))?;
            if let Some(p) = agent.limit_patterns.iter().find(|p| matches_every_line(p)) {
                return Err(bad_input(format!(
                    "{table} limit_patterns: {p:?} matches an empty line, so every screen would \
                     read as a usage limit"
                )));
            }
        }
        if let Some(key) = agent.env.keys().find(|k| !is_env_name(k)) {
            return Err(bad_input(format!(
                "{table} env: `{key}` is not a variable name (letters, digits and _, not first a digit)"
            )));
        }
        Ok(agent)
    };
    let agent = profile("[agent]", raw.agent)?;
    let mut agents = BTreeMap::new();
    for (name, value) in raw.agents {
        let table = format!("[agents.{name}]");
        let parsed: Agent = value
            .try_into()
            .map_err(|e| bad_input(format!("{table}: {}", shown::table_error(&e.to_string()))))?;
        agents.insert(name, profile(&table, parsed)?);
    }
    let pools = pool::resolve(raw.pool, raw.pools, &agent, &agents, &raw.tmux.command)?;
    for (i, d) in raw.dedicated.iter().enumerate() {
        if let Some(why) = pool::unusable_name(&d.session) {
            return Err(bad_input(format!(
                "[[dedicated]] session = {:?}: {why}",
                d.session
            )));
        }
        if let Some(twin) = raw.dedicated[..i].iter().find(|o| o.session == d.session) {
            let shown = |p: &Option<PathBuf>| {
                p.as_ref()
                    .map_or("no project".to_string(), |p| p.display().to_string())
            };
            return Err(bad_input(format!(
                "[[dedicated]] session `{}` is listed twice ({} and {}): list it once",
                d.session,
                shown(&twin.project),
                shown(&d.project)
            )));
        }
        if let Some(p) = pools.iter().find(|p| p.contains(&d.session)) {
            return Err(bad_input(format!(
                "[[dedicated]] session `{}` is also in the pool `{}` ({}): a session is one or the other",
                d.session,
                p.name,
                p.range()
            )));
        }
    }
    accounts::check(&raw.accounts, &pools)?;
    let mut state_file = raw.state.file.unwrap_or_else(default_state_file);
    let mut dedicated = raw.dedicated;
    within(&mut state_file);
    projects.paths.iter_mut().for_each(within);
    projects.roots.iter_mut().for_each(within);
    dedicated
        .iter_mut()
        .filter_map(|d| d.project.as_mut())
        .for_each(within);
    Ok(Config {
        path,
        state_file,
        tmux_command: raw.tmux.command,
        projects,
        pools,
        dedicated,
        agent,
        security: raw.security,
        history: raw.history,
        notify: raw.notify,
        accounts: raw.accounts,
        routing: raw.routing,
        statusline: raw.statusline,
        ssh: raw.ssh,
    })
}

/// A limit pattern that matches an empty line matches every screen. One
/// that does not compile was refused before this is asked.
fn matches_every_line(pattern: &str) -> bool {
    regex::Regex::new(pattern).is_ok_and(|r| r.is_match(""))
}

/// What a session is to agent-queue: the one answer every subcommand asks.
#[derive(Debug, Clone, Copy)]
pub enum Kind<'a> {
    Pool(&'a Pool),
    Dedicated(&'a Dedicated),
    /// Neither: agent-queue does not manage it.
    Unknown,
}

impl Config {
    pub fn kind(&self, session: &str) -> Kind<'_> {
        if let Some(p) = self.pool_of(session) {
            return Kind::Pool(p);
        }
        match self.dedicated(session) {
            Some(d) => Kind::Dedicated(d),
            None => Kind::Unknown,
        }
    }

    /// The pool `session` belongs to.
    pub fn pool_of(&self, session: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.contains(session))
    }

    /// The pool named `name`.
    pub fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.name == name)
    }

    /// The agent profile of a session: its pool's, or `[agent]`.
    pub fn agent_for(&self, session: &str) -> &Agent {
        self.pool_of(session).map_or(&self.agent, |p| &p.agent)
    }

    /// The tmux command of the server a session is on.
    pub fn tmux_for(&self, session: &str) -> &[String] {
        self.pool_of(session)
            .map_or(self.tmux_command.as_slice(), |p| p.tmux.as_slice())
    }

    /// The model a task of this priority runs with in `session`
    /// (its profile's `models`).
    pub fn model_for(&self, session: &str, priority: Priority) -> String {
        self.agent_for(session)
            .models
            .for_priority(priority)
            .to_string()
    }

    /// `[accounts.NAME] hold_at` of `account`, if it has one.
    pub fn hold_at(&self, account: &str) -> Option<f64> {
        self.accounts.get(account).and_then(|a| a.hold_at)
    }

    /// The history journal: `history.jsonl` beside the state file.
    pub fn history_file(&self) -> PathBuf {
        self.state_file.with_file_name("history.jsonl")
    }

    pub fn dedicated(&self, session: &str) -> Option<&Dedicated> {
        self.dedicated.iter().find(|d| d.session == session)
    }

    /// Every project folder named explicitly (paths and dedicated projects),
    /// in config order, without duplicates; roots are walked by `inbox`.
    pub fn explicit_projects(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        let dedicated = self.dedicated.iter().filter_map(|d| d.project.clone());
        for p in self.projects.paths.iter().cloned().chain(dedicated) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }
}

fn is_env_name(k: &str) -> bool {
    let mut bytes = k.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Reads `30s`, `5m`, `1h`, `1d`, `250ms`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => n,
        "ms" => n / 1000.0,
        "m" | "min" | "mins" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86_400.0,
        _ => return None,
    };
    // try_: a number too large for a Duration is a bad value, not a panic.
    Duration::try_from_secs_f64(secs).ok()
}

pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Secs(u64),
    }
    match Either::deserialize(d)? {
        Either::Secs(n) => Ok(Duration::from_secs(n)),
        Either::Text(s) => parse_duration(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not a duration (write e.g. `30s`, `5m`, `1h`)"
            ))
        }),
    }
}

/// Reads a size in bytes: `16MiB`, `500KiB`, `10MB`, `1GB`, `4096B` or a
/// bare number of bytes (KiB, MiB, GiB are powers of 1024; KB, MB, GB of
/// 1000; any case, a space allowed before the unit).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "mb" => 1000 * 1000,
        "gb" => 1000 * 1000 * 1000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

fn size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct Size;
    impl serde::de::Visitor<'_> for Size {
        type Value = u64;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a size: \"16MiB\", \"500KiB\", \"10MB\" or a number of bytes")
        }

        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<u64, E> {
            match u64::try_from(n) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::custom(format!("{n} is not a size: it is below 0"))),
            }
        }

        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<u64, E> {
            if n == 0 {
                Err(E::custom(
                    "a size of 0 bytes would leave no room for one line",
                ))
            } else {
                Ok(n)
            }
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<u64, E> {
            match parse_size(s) {
                Some(n) => self.visit_u64(n),
                None => Err(E::custom(format!(
                    "`{s}` is not a size (write e.g. \"16MiB\", \"500KiB\", \"10MB\" or a number of bytes)"
                ))),
            }
        }
    }
    d.deserialize_any(Size)
}

pub(crate) fn path<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    Ok(expand_tilde(&PathBuf::deserialize(d)?))
}

fn opt_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    Ok(Option::<PathBuf>::deserialize(d)?.map(|p| expand_tilde(&p)))
}

fn paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    Ok(Vec::<PathBuf>::deserialize(d)?
        .iter()
        .map(|p| expand_tilde(p))
        .collect())
}

#[cfg(test)]
mod tests;
