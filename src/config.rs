//! The config file is the only place a site says which sessions form the pool,
//! where the projects are and how the agent is started. Everything the seed
//! hard-coded (prompt marker, message, model map) is a key here with the seed's
//! value as its default, and an unknown key is an error, so a typo never turns
//! silently into a default. A relative path in it is relative to the config
//! file's folder: systemd, a Stop hook and an operator's shell all run in
//! different folders, and must all mean the same state file and projects.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Deserializer};

use crate::error::bad_input;
use crate::task::Priority;

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from, for messages.
    pub path: PathBuf,
    pub state_file: PathBuf,
    pub tmux_command: Vec<String>,
    pub projects: Projects,
    pub pool: Pool,
    pub dedicated: Vec<Dedicated>,
    pub agent: Agent,
    pub security: Security,
    pub history: History,
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
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pool {
    pub prefix: String,
    pub start: u32,
    pub size: u32,
    #[serde(deserialize_with = "duration")]
    pub cooldown: Duration,
    pub recycle: bool,
}

impl Default for Pool {
    fn default() -> Self {
        Pool {
            prefix: "ccl-auto-".into(),
            start: 11,
            size: 10,
            cooldown: Duration::from_secs(300),
            recycle: true,
        }
    }
}

impl Pool {
    /// Pool session names in the order they are tried.
    pub fn sessions(&self) -> impl Iterator<Item = String> + '_ {
        (self.start..self.start.saturating_add(self.size)).map(|i| format!("{}{i}", self.prefix))
    }

    pub fn contains(&self, session: &str) -> bool {
        session
            .strip_prefix(&self.prefix)
            .filter(|n| !n.starts_with('0') || *n == "0")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|i| i >= self.start && i - self.start < self.size)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dedicated {
    pub session: String,
    #[serde(default, deserialize_with = "opt_path")]
    pub project: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Agent {
    pub command: String,
    #[serde(deserialize_with = "path")]
    pub resume_dir: PathBuf,
    pub ready_marker: String,
    #[serde(deserialize_with = "duration")]
    pub ready_timeout: Duration,
    pub shells: Vec<String>,
    pub message: String,
    pub empty_body: String,
    #[serde(rename = "dialog")]
    pub dialogs: Vec<Dialog>,
    pub models: Models,
}

impl Default for Agent {
    fn default() -> Self {
        Agent {
            command: "claude --model {model} --dangerously-skip-permissions".into(),
            resume_dir: expand_tilde(Path::new("~/.claude-context")),
            ready_marker: "❯".into(),
            ready_timeout: Duration::from_secs(30),
            shells: ["bash", "zsh", "sh", "dash", "fish"].map(String::from).to_vec(),
            message: "[{name}] {body}\n\nIMPORTANT: carry out the requested actions; do not only describe them.".into(),
            empty_body: "Check .agent-queue/inbox/: one task is assigned to you.".into(),
            dialogs: Vec::new(),
            models: Models::default(),
        }
    }
}

/// A screen that stops the agent before its prompt.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dialog {
    pub name: String,
    #[serde(rename = "match")]
    pub matches: String,
    /// tmux key names to send; empty: fail the launch, naming the dialog.
    #[serde(default)]
    pub answer: Vec<String>,
}

/// The screens Claude Code 2.1.197 is known to show instead of its prompt
/// (checked under tmux by `tests/integration/real_agent.rs`). A config entry
/// with the same name replaces one of these; others are added after them.
/// None is answered by default: the launch fails naming it.
///
/// - folder trust: a folder not yet trusted in `~/.claude.json` (`1` or
///   Enter accepts);
/// - API key: `ANTHROPIC_API_KEY` set but not yet approved (`1` accepts;
///   Enter means No, and leaves an agent that is not logged in);
/// - bypass warning: `--dangerously-skip-permissions` without
///   `skipDangerousModePermissionPrompt` (`2` accepts; Enter means "No, exit");
/// - onboarding, security notes: the first run of a new user (Enter goes on);
/// - no service: the first run's connectivity check failed (it then exits);
/// - as root: root without `IS_SANDBOX=1` (it then exits);
/// - not logged in: a prompt that cannot work (the key was refused once, or
///   the login expired); a task given to it would be lost.
pub fn default_dialogs() -> Vec<Dialog> {
    let d = |name: &str, matches: &str| Dialog {
        name: name.into(),
        matches: matches.into(),
        answer: Vec::new(),
    };
    vec![
        d("folder trust", "Yes, I trust this folder"),
        d("API key", "Do you want to use this API key?"),
        d("bypass warning", "running in Bypass Permissions mode"),
        d(
            "onboarding",
            "Choose the text style that looks best with your terminal",
        ),
        d("security notes", "Security notes:"),
        d("no service", "Unable to connect to Anthropic services"),
        d("as root", "cannot be used with root/sudo privileges"),
        d("not logged in", "Not logged in · Run /login"),
    ]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Models {
    pub critical: String,
    pub high: String,
    pub default: String,
    pub low: String,
}

impl Default for Models {
    fn default() -> Self {
        Models {
            critical: "opus".into(),
            high: "sonnet".into(),
            default: "sonnet".into(),
            low: "sonnet".into(),
        }
    }
}

impl Models {
    pub fn for_priority(&self, p: Priority) -> &str {
        match p {
            Priority::Critical => &self.critical,
            Priority::High => &self.high,
            Priority::Default => &self.default,
            Priority::Low => &self.low,
        }
    }
}

/// Who besides the running user may own task files and inbox folders.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Security {
    pub trusted_uids: Vec<u32>,
    pub trusted_gids: Vec<u32>,
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
    pool: Option<Pool>,
    #[serde(default)]
    dedicated: Vec<Dedicated>,
    #[serde(default)]
    agent: Agent,
    #[serde(default)]
    security: Security,
    #[serde(default)]
    history: History,
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
    crate::security::check_config_file(path)?;
    parse(&text, path).with_context(|| format!("config {}", path.display()))
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
    let raw: Raw =
        toml::from_str(text).map_err(|e| bad_input(e.to_string().trim_end().to_string()))?;
    let mut projects = raw.projects.ok_or_else(|| {
        bad_input("missing [projects]: say which projects to scan (paths or roots)")
    })?;
    let pool = raw.pool.ok_or_else(|| {
        bad_input("missing [pool]: say which tmux sessions form the autonomous pool")
    })?;
    if raw.tmux.command.is_empty() {
        return Err(bad_input(
            "[tmux] command is empty: it needs at least the program, e.g. [\"tmux\"]",
        ));
    }
    if raw.agent.ready_marker.trim().is_empty() {
        return Err(bad_input(
            "[agent] ready_marker is empty: it would match every screen",
        ));
    }
    if pool.prefix.is_empty() {
        return Err(bad_input("[pool] prefix is empty"));
    }
    for d in &raw.dedicated {
        if pool.contains(&d.session) {
            return Err(bad_input(format!(
                "[[dedicated]] session `{}` is also in the pool ({}{}..): a session is one or the other",
                d.session,
                pool.prefix,
                pool.start
            )));
        }
    }
    let mut agent = raw.agent;
    agent.dialogs = merge_dialogs(default_dialogs(), agent.dialogs);
    let mut state_file = raw.state.file.unwrap_or_else(default_state_file);
    let mut dedicated = raw.dedicated;
    within(&mut state_file);
    within(&mut agent.resume_dir);
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
        pool,
        dedicated,
        agent,
        security: raw.security,
        history: raw.history,
    })
}

fn merge_dialogs(mut defaults: Vec<Dialog>, configured: Vec<Dialog>) -> Vec<Dialog> {
    for d in configured {
        match defaults
            .iter_mut()
            .find(|x| x.name.eq_ignore_ascii_case(&d.name))
        {
            Some(slot) => *slot = d,
            None => defaults.push(d),
        }
    }
    defaults
}

impl Config {
    /// The model a task of this priority runs with (`[agent.models]`).
    pub fn model_for(&self, priority: Priority) -> String {
        self.agent.models.for_priority(priority).to_string()
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

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
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

fn path<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
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
