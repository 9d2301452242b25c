//! The pools: named groups of tmux sessions (`[pool]`, the pool named
//! `default`, and `[pools.NAME]`), each with its agent profile, its tmux
//! server and the account whose usage limit it shares. A session belongs to
//! at most one pool, so its name alone says which agent, which tmux server
//! and which account it has.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::agent::Agent;
use super::duration;
use crate::error::bad_input;

/// More sessions than one tmux server holds in practice: a typo.
const MAX_SIZE: u32 = 10_000;

/// The name of the pool a lone `[pool]` table makes.
pub const DEFAULT_POOL: &str = "default";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawPool {
    prefix: String,
    start: u32,
    size: u32,
    #[serde(deserialize_with = "duration")]
    cooldown: Duration,
    recycle: bool,
    account: Option<String>,
    agent: Option<String>,
    tmux: Option<Vec<String>>,
    on_limit: OnLimit,
    #[serde(deserialize_with = "duration")]
    hands_off: Duration,
    host: Option<String>,
}

impl Default for RawPool {
    fn default() -> Self {
        RawPool {
            prefix: "ccl-auto-".into(),
            start: 11,
            size: 10,
            cooldown: Duration::from_secs(300),
            recycle: true,
            account: None,
            agent: None,
            tmux: None,
            on_limit: OnLimit::Stop,
            hands_off: DEFAULT_HANDS_OFF,
            host: None,
        }
    }
}

/// How long after an operator's last key (or attach) a pool session is
/// left alone: long enough to read the agent's answer and type the next
/// line, short enough that a session left attached goes back to work.
pub const DEFAULT_HANDS_OFF: Duration = Duration::from_secs(120);

/// What becomes of the agent of a session whose account hit its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnLimit {
    /// Stopped (`C-c`, never an answer to its limit menu), so that the
    /// session is at its shell when the account may work again.
    Stop,
    /// Left as it is, for the operator to look at.
    Leave,
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub name: String,
    pub prefix: String,
    pub start: u32,
    pub size: u32,
    pub cooldown: Duration,
    pub recycle: bool,
    /// Pools of one account share its usage limit.
    pub account: String,
    /// The profile's name (`default` for `[agent]`).
    pub agent_name: String,
    pub agent: Agent,
    /// The tmux command of this pool's server (on `host` when it names one).
    pub tmux: Vec<String>,
    pub on_limit: OnLimit,
    /// A session whose attached client had input within this long is the
    /// operator's for now (zero: only a pane in a mode holds it).
    pub hands_off: Duration,
    /// The host its tmux server is on, reached through `[ssh] command`;
    /// `None`: this host (or whatever the `tmux` prefix itself reaches).
    pub host: Option<String>,
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

    /// `ccl-auto-11..ccl-auto-20`, for messages.
    pub fn range(&self) -> String {
        let last = self.start.saturating_add(self.size.saturating_sub(1));
        format!("{0}{1}..{0}{last}", self.prefix, self.start)
    }
}

/// Why tmux would never have a session of this name (or name prefix):
/// it replaces `:` and `.` in session names with `_`, so a configured name
/// holding one matches no session it shows.
pub(super) fn unusable_name(name: &str) -> Option<&'static str> {
    name.contains([':', '.']).then_some(
        "tmux replaces `:` and `.` in session names (with `_`), so no session would ever match",
    )
}

/// The pools in config order (`[pool]` first), with their profiles and
/// tmux commands resolved; an error names the table at fault.
pub(super) fn resolve(
    lone: Option<RawPool>,
    named: toml::Table,
    default_agent: &Agent,
    agents: &BTreeMap<String, Agent>,
    default_tmux: &[String],
) -> anyhow::Result<Vec<Pool>> {
    let mut raw: Vec<(String, String, RawPool)> = Vec::new();
    if let Some(p) = lone {
        raw.push((DEFAULT_POOL.into(), "[pool]".into(), p));
    }
    for (name, value) in named {
        let table = format!("[pools.{name}]");
        if name == DEFAULT_POOL && !raw.is_empty() {
            return Err(bad_input(format!(
                "{table}: `{DEFAULT_POOL}` is the name of [pool]; name this pool otherwise"
            )));
        }
        let pool: RawPool = value
            .try_into()
            .map_err(|e| bad_input(format!("{table}: {}", e.to_string().trim_end())))?;
        raw.push((name, table, pool));
    }
    if raw.is_empty() {
        return Err(bad_input(
            "missing [pool] (or [pools.NAME]): say which tmux sessions form the autonomous pool",
        ));
    }
    let mut pools: Vec<Pool> = Vec::new();
    for (name, table, p) in raw {
        if p.prefix.is_empty() {
            return Err(bad_input(format!("{table} prefix is empty")));
        }
        if let Some(why) = unusable_name(&p.prefix) {
            return Err(bad_input(format!("{table} prefix = {:?}: {why}", p.prefix)));
        }
        if p.size == 0 {
            return Err(bad_input(format!(
                "{table} size = 0: a pool needs at least one session"
            )));
        }
        if p.start.checked_add(p.size - 1).is_none() {
            return Err(bad_input(format!(
                "{table} start = {}, size = {}: the last session's number is past {}",
                p.start,
                p.size,
                u32::MAX
            )));
        }
        if p.account.as_deref().is_some_and(|a| a.trim().is_empty()) {
            return Err(bad_input(format!(
                "{table} account is empty: name the account (or leave the key out: the pool's \
                 own name)"
            )));
        }
        if p.size > MAX_SIZE {
            return Err(bad_input(format!(
                "{table} size = {}: at most {MAX_SIZE} sessions in a pool",
                p.size
            )));
        }
        let (agent_name, agent) = match &p.agent {
            None => (DEFAULT_POOL.to_string(), default_agent.clone()),
            Some(a) => match agents.get(a) {
                Some(profile) => (a.clone(), profile.clone()),
                None => {
                    return Err(bad_input(format!(
                        "{table} agent = \"{a}\": there is no [agents.{a}] profile"
                    )))
                }
            },
        };
        if let Some(host) = &p.host {
            super::ssh::check_host(&table, host)?;
        }
        // On another host, `[tmux] command` (this host's server) means
        // nothing: the tmux there is plain `tmux` unless the pool says.
        let tmux = p.tmux.clone().unwrap_or_else(|| match p.host {
            Some(_) => vec!["tmux".into()],
            None => default_tmux.to_vec(),
        });
        if tmux.is_empty() {
            return Err(bad_input(format!(
                "{table} tmux is empty: it needs at least the program, e.g. [\"tmux\"]"
            )));
        }
        let pool = Pool {
            account: p.account.clone().unwrap_or_else(|| name.clone()),
            name,
            prefix: p.prefix,
            start: p.start,
            size: p.size,
            cooldown: p.cooldown,
            recycle: p.recycle,
            agent_name,
            agent,
            tmux,
            on_limit: p.on_limit,
            hands_off: p.hands_off,
            host: p.host,
        };
        if let Some(other) = pools
            .iter()
            .find(|o| pool.sessions().any(|s| o.contains(&s)))
        {
            return Err(bad_input(format!(
                "{table} ({}) and the pool `{}` ({}) share session names: a session is in one pool",
                pool.range(),
                other.name,
                other.range()
            )));
        }
        pools.push(pool);
    }
    Ok(pools)
}
