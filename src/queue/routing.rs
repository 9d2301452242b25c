//! Which pool takes a task. A task that names `pool:` goes only there; one
//! that needs Claude Code (the default) only to pools whose agent profile
//! is Claude Code; the rest to any pool. Among the pools it may go to, the
//! first in config order (or, with `[routing] prefer = "headroom"`, the one
//! whose account has the most room left) that has a free session and whose
//! account is neither at its usage limit nor held near it takes it. Priorities order the whole queue across
//! pools: a task that must wait for its pool does not hold back a later
//! task that another pool can take. Pure: the free sessions come in.

use std::collections::VecDeque;

use crate::accounts::usage::{held, room};
use crate::config::{Config, Pool, Prefer};
use crate::queue::task::Task;
use crate::store::state::State;

/// Why a task waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waits {
    /// No pool may take it at all: a matter of the config or the task's
    /// header (`scan` says so once per scan; `dispatch` refuses it).
    NoPool(String),
    /// Every pool it may go to belongs to an account at its usage limit,
    /// or held before it (`hold_at`).
    Limited(Vec<(String, u64)>),
    /// The pools it may go to have no free session now.
    NoFreeSession(Vec<String>),
}

impl std::fmt::Display for Waits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Waits::NoPool(why) => f.write_str(why),
            Waits::Limited(accounts) => {
                let list: Vec<String> = accounts
                    .iter()
                    .map(|(a, until)| format!("{a} until {}", crate::clock::format_utc(*until)))
                    .collect();
                write!(
                    f,
                    "every account it may go to is at its usage limit or held near it ({})",
                    list.join(", ")
                )
            }
            Waits::NoFreeSession(pools) => {
                write!(f, "no free session in pool(s) {}", pools.join(", "))
            }
        }
    }
}

/// The pools that may take `task`, in config order (indices into
/// `config.pools`).
pub fn eligible(config: &Config, task: &Task) -> Result<Vec<usize>, String> {
    if let Some(name) = &task.pool {
        return match config.pools.iter().position(|p| &p.name == name) {
            Some(i) => Ok(vec![i]),
            None => Err(format!(
                "it names pool `{name}`, and there is none ({})",
                names(config.pools.iter())
            )),
        };
    }
    let pools: Vec<usize> = (0..config.pools.len())
        .filter(|&i| !task.needs_claude_code || config.pools[i].agent.claude_code)
        .collect();
    if pools.is_empty() {
        return Err(
            "it needs Claude Code (needs_claude_code: true, the default) and no pool's agent \
             profile is Claude Code"
                .into(),
        );
    }
    Ok(pools)
}

fn names<'a>(pools: impl Iterator<Item = &'a Pool>) -> String {
    pools
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The free sessions of each pool, in pool order, taken as tasks go.
#[derive(Debug, Clone, Default)]
pub struct Free {
    pub pools: Vec<VecDeque<String>>,
}

impl Free {
    /// Puts back a session a claim could not use after all.
    pub fn put_back(&mut self, pool: usize, session: String) {
        self.pools[pool].push_front(session);
    }
}

/// Takes the session `task` goes to: the first free one of the first pool
/// it may go to. `free` holds only sessions that may take a task now, so a
/// limited account's pools have none; the state says which are limited.
pub fn route(
    config: &Config,
    task: &Task,
    free: &mut Free,
    state: &State,
    now: u64,
) -> Result<(usize, String), Waits> {
    let mut pools = eligible(config, task).map_err(Waits::NoPool)?;
    if config.routing.prefer == Prefer::Headroom {
        // Stable: ties, and accounts of unknown use, keep config order.
        pools.sort_by_key(|&i| {
            std::cmp::Reverse(room(state.usage.get(&config.pools[i].account), now))
        });
    }
    for &i in &pools {
        if let Some(session) = free.pools[i].pop_front() {
            return Ok((i, session));
        }
    }
    let limited: Vec<(String, u64)> = pools
        .iter()
        .filter_map(|&i| {
            let account = &config.pools[i].account;
            state
                .limited_until(account, now)
                .or_else(|| held(config, state, account, now).map(|h| h.until))
                .map(|until| (account.clone(), until))
        })
        .collect();
    if limited.len() == pools.len() {
        let mut limited = limited;
        limited.dedup();
        return Err(Waits::Limited(limited));
    }
    Err(Waits::NoFreeSession(
        pools
            .iter()
            .map(|&i| config.pools[i].name.clone())
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::state::AccountState;
    use std::path::Path;

    fn config() -> Config {
        crate::config::parse(
            "[projects]\npaths = [\"/p\"]\n\
             [pool]\nprefix = \"a-\"\nstart = 1\nsize = 2\naccount = \"max-a\"\n\
             [pools.b]\nprefix = \"b-\"\nstart = 1\nsize = 2\naccount = \"max-b\"\n\
             [pools.codex]\nprefix = \"c-\"\nstart = 1\nsize = 1\nagent = \"codex\"\n\
             [agents.codex]\ncommand = \"codex\"\nclaude_code = false\n",
            Path::new("/etc/aq.toml"),
        )
        .unwrap()
    }

    fn all_free(c: &Config) -> Free {
        Free {
            pools: c.pools.iter().map(|p| p.sessions().collect()).collect(),
        }
    }

    fn task(pool: Option<&str>, claude: bool) -> Task {
        Task {
            pool: pool.map(String::from),
            needs_claude_code: claude,
            ..Task::default()
        }
    }

    #[test]
    fn tasks_go_to_the_first_pool_with_a_free_session_their_needs_allow() {
        let c = config();
        let mut free = all_free(&c);
        let s = State::default();
        let got: Vec<String> = (0..5)
            .map(|_| route(&c, &task(None, true), &mut free, &s, 0).map(|r| r.1))
            .map(|r| r.unwrap_or_else(|w| w.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                "a-1",
                "a-2",
                "b-1",
                "b-2",
                "no free session in pool(s) default, b"
            ]
        );
        // Not needing Claude Code, it may go to the codex pool too.
        assert_eq!(
            route(&c, &task(None, false), &mut free, &s, 0).unwrap().1,
            "c-1"
        );
    }

    #[test]
    fn a_named_pool_is_the_only_one() {
        let c = config();
        let mut free = all_free(&c);
        let s = State::default();
        assert_eq!(
            route(&c, &task(Some("b"), true), &mut free, &s, 0)
                .unwrap()
                .1,
            "b-1"
        );
        assert_eq!(
            route(&c, &task(Some("codex"), true), &mut free, &s, 0)
                .unwrap()
                .1,
            "c-1"
        );
        let e = route(&c, &task(Some("nope"), true), &mut free, &s, 0).unwrap_err();
        assert!(
            matches!(e, Waits::NoPool(ref w) if w.contains("nope") && w.contains("default, b, codex")),
            "{e}"
        );
    }

    #[test]
    fn limited_accounts_are_passed_over_and_named_when_all_are() {
        let c = config();
        let mut s = State::default();
        s.accounts.insert(
            "max-a".into(),
            AccountState {
                limited_until: 500,
                ..AccountState::default()
            },
        );
        // What `free_pool` leaves: nothing of the limited account's pool.
        let mut free = all_free(&c);
        free.pools[0].clear();
        assert_eq!(
            route(&c, &task(None, true), &mut free, &s, 100).unwrap().1,
            "b-1"
        );
        s.accounts.insert(
            "max-b".into(),
            AccountState {
                limited_until: 900,
                ..AccountState::default()
            },
        );
        free.pools[1].clear();
        let e = route(&c, &task(None, true), &mut free, &s, 100).unwrap_err();
        assert_eq!(
            e,
            Waits::Limited(vec![("max-a".into(), 500), ("max-b".into(), 900)])
        );
        // After its reset an account is usable again, unasked.
        assert!(matches!(
            route(&c, &task(None, true), &mut free, &s, 600),
            Err(Waits::NoFreeSession(_))
        ));
    }

    /// max-a and max-b with the use given (tenths of a percent; None:
    /// unknown), both windows resetting at 1000.
    fn used(a: Option<u32>, b: Option<u32>) -> State {
        use crate::accounts::usage::{Known, Reading, Tenths, Window};
        let mut s = State::default();
        for (name, used) in [("max-a", a), ("max-b", b)] {
            let Some(used) = used else { continue };
            let mut k = Known::new(name);
            let w = Some(Window {
                used: Tenths(used),
                resets_at: 1000,
            });
            k.record(
                &Reading {
                    five_hour: w,
                    seven_day: None,
                },
                0,
            );
            s.usage.insert(name.into(), k);
        }
        s
    }

    #[test]
    fn headroom_sends_a_task_to_the_emptier_account_and_keeps_config_order_on_ties() {
        let mut c = config();
        c.routing.prefer = crate::config::Prefer::Headroom;
        let go = |s: &State| {
            route(&c, &task(None, true), &mut all_free(&c), s, 10)
                .unwrap()
                .1
        };
        assert_eq!(go(&used(Some(600), Some(200))), "b-1");
        assert_eq!(go(&used(Some(200), Some(600))), "a-1");
        assert_eq!(
            go(&used(Some(300), Some(300))),
            "a-1",
            "a tie keeps config order"
        );
        assert_eq!(go(&used(None, None)), "a-1", "unknowns keep config order");
        assert_eq!(go(&used(Some(100), None)), "b-1", "unknown counts as room");
        // Once its window reset, what was known says nothing.
        let stale = |s: &State| {
            route(&c, &task(None, true), &mut all_free(&c), s, 1000)
                .unwrap()
                .1
        };
        assert_eq!(stale(&used(Some(600), Some(200))), "a-1");
        // A full pool is passed over whatever its room.
        let mut free = all_free(&c);
        free.pools[1].clear();
        assert_eq!(
            route(
                &c,
                &task(None, true),
                &mut free,
                &used(Some(600), Some(200)),
                10
            )
            .unwrap()
            .1,
            "a-1"
        );
        // Config order by default.
        let c = config();
        let s = used(Some(600), Some(200));
        assert_eq!(
            route(&c, &task(None, true), &mut all_free(&c), &s, 10)
                .unwrap()
                .1,
            "a-1"
        );
    }

    #[test]
    fn held_accounts_are_named_when_every_pool_is_held_or_limited() {
        let c = crate::config::parse(
            "[projects]\npaths = [\"/p\"]\n\
             [pool]\nprefix = \"a-\"\nstart = 1\nsize = 1\naccount = \"max-a\"\n\
             [pools.b]\nprefix = \"b-\"\nstart = 1\nsize = 1\naccount = \"max-b\"\n\
             [accounts.max-a]\nhold_at = 95\n",
            Path::new("/etc/aq.toml"),
        )
        .unwrap();
        let mut s = used(Some(960), Some(960));
        s.accounts.insert(
            "max-b".into(),
            AccountState {
                limited_until: 500,
                ..AccountState::default()
            },
        );
        // What `free_pool` leaves: nothing of either.
        let mut free = Free {
            pools: vec![Default::default(), Default::default()],
        };
        let e = route(&c, &task(None, true), &mut free, &s, 10).unwrap_err();
        assert_eq!(
            e,
            Waits::Limited(vec![("max-a".into(), 1000), ("max-b".into(), 500)])
        );
        assert!(e.to_string().contains("held near it"), "{e}");
    }
}
