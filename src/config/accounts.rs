//! The keys that say how an account's usage steers work: `[accounts.NAME]`
//! (when an account is held before it runs out), `[routing]` (whether the
//! emptier account goes first) and `[statusline]` (the operator's own status
//! line, run after agent-queue's). Apart from `config.rs` so that the keys
//! of usage stay together.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Pool;
use crate::error::bad_input;

/// `[accounts.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// Percent: at or above it in either window, the account takes no new
    /// task until that window resets. None: never held.
    pub hold_at: Option<f64>,
}

/// `[routing]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Routing {
    pub prefer: Prefer,
}

/// Which of the pools a task may go to is tried first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefer {
    /// Config order.
    #[default]
    Config,
    /// The pool whose account has the most room left; ties and accounts
    /// of unknown use keep config order.
    Headroom,
}

/// `[statusline]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusLine {
    /// A shell command line: the operator's own status line, run with the
    /// same JSON on stdin; its output is printed instead of agent-queue's.
    pub command: Option<String>,
}

/// Checks `[accounts.NAME]` against the pools: a name no pool uses is a
/// typo, and `hold_at` is a percentage.
pub(super) fn check(
    accounts: &BTreeMap<String, AccountSettings>,
    pools: &[Pool],
) -> anyhow::Result<()> {
    for (name, settings) in accounts {
        if !pools.iter().any(|p| &p.account == name) {
            let known: Vec<&str> = pools.iter().map(|p| p.account.as_str()).collect();
            return Err(bad_input(format!(
                "[accounts.{name}]: no pool uses the account `{name}` (accounts: {})",
                known.join(", ")
            )));
        }
        if let Some(at) = settings.hold_at {
            if !(at > 0.0 && at <= 100.0) {
                return Err(bad_input(format!(
                    "[accounts.{name}] hold_at = {at}: a percentage above 0 and at most 100"
                )));
            }
        }
    }
    Ok(())
}
