//! Hands off the operator: a pool session that a person is using is not
//! free, and nothing automatic types into it (no launch, paste, Enter,
//! `/exit` or `C-c`) until they have left it alone for `[pool] hands_off`.
//!
//! A person is there when a tmux client attached to the session had input
//! within `hands_off` (tmux's `client_activity`: the client's attach, then
//! each key or mouse event from its terminal; agent-queue's own
//! `send-keys` and `paste-buffer` never move it, as tmux 3.3a shows), or
//! when the session's pane is in a mode (copy mode, a chooser), where keys
//! would drive the mode rather than the agent. Decided from one snapshot,
//! without I/O; what waits is done by a later scan or the agent's next hook.

use std::time::Duration;

use super::{After, Dispatcher};
use crate::config::Config;
use crate::output::report;
use crate::tmux::{servers, Snapshot};

/// Why a person holds a session now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Its pane is in this mode (`copy-mode`…).
    Mode(String),
    /// A client attached to it had input `ago` seconds back; hands off for
    /// `left` more.
    Input { ago: u64, left: u64 },
}

impl std::fmt::Display for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hold::Mode(mode) => write!(f, "an operator has its pane in {mode}"),
            Hold::Input { ago, left } => write!(
                f,
                "an operator is at it (a client attached to it had input {} ago; \
                 hands off for {} more)",
                crate::clock::format_span(*ago),
                crate::clock::format_span(*left)
            ),
        }
    }
}

/// Whether a person holds pool session `session` at `now` (Unix seconds),
/// as `snapshot` shows it. Dedicated sessions are the operator's anyway.
pub fn hold(config: &Config, snapshot: &Snapshot, session: &str, now: u64) -> Option<Hold> {
    let pool = config.pool_of(session)?;
    if let Some(mode) = snapshot.pane(session).and_then(|p| p.mode.clone()) {
        return Some(Hold::Mode(mode));
    }
    recent(*snapshot.attached.get(session)?, pool.hands_off, now)
}

/// A client's input at `last` (Unix seconds) holds its session at `now`
/// when it is within `hands_off`.
pub fn recent(last: u64, hands_off: Duration, now: u64) -> Option<Hold> {
    let window = round_up(hands_off);
    // A client's clock second may be ahead of ours by a fraction.
    let ago = now.saturating_sub(last);
    (ago < window).then(|| Hold::Input {
        ago,
        left: window - ago,
    })
}

/// `client_activity` has whole seconds: a window of 1.5 s counts as 2.
fn round_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The session an `After` would type into.
fn session_of(after: &After) -> &str {
    match after {
        After::Submit(s, _) | After::Stop(s, _) | After::Exit(s, _) => s,
    }
}

/// Keeps the keys recovery decided for sessions no person holds; the others
/// wait for a later scan (said on stderr), which decides again.
pub fn defer(config: &Config, snapshot: &Snapshot, now: u64, afters: Vec<After>) -> Vec<After> {
    afters
        .into_iter()
        .filter(|after| {
            let session = session_of(after);
            let Some(hold) = hold(config, snapshot, session, now) else {
                return true;
            };
            let what = match after {
                After::Submit(..) => {
                    "its task waits in its agent's input, unsent: press Enter there, or clear it"
                }
                After::Stop(..) => "stopping its agent waits for a later scan",
                After::Exit(..) => "its recycle (/exit) waits for a later scan",
            };
            report::warn(format!("{session}: {hold}; {what}"));
            false
        })
        .collect()
}

/// Says, at `-v`, which pool sessions a person holds.
pub fn say_held(config: &Config, snapshot: &Snapshot, now: u64) {
    for pool in &config.pools {
        for session in pool.sessions() {
            if let Some(hold) = hold(config, snapshot, &session, now) {
                report::debug(format!("{session} is held by an operator: {hold}"));
            }
        }
    }
}

impl Dispatcher<'_> {
    /// Whether a person holds `session` now, by a fresh look at its
    /// server (one that does not answer would not take keys either).
    pub fn operator_at(&self, session: &str) -> Option<Hold> {
        match servers::snapshot_of(self.config, session) {
            Ok(snapshot) => hold(self.config, &snapshot, session, crate::clock::now()),
            Err(e) => {
                report::debug(format!("{session}: looking for an operator: {e:#}"));
                None
            }
        }
    }
}

impl Dispatcher<'_> {
    /// A recycle that meets an operator types nothing: the session keeps
    /// its agent and takes no task. With `exit` (the start whose agent is to
    /// get `/exit`) it is recorded, and a later scan sends the `/exit` once
    /// they have left; the agent's next Stop hook may recycle it first.
    pub fn defer_recycle(
        &self,
        session: &str,
        exit: Option<&crate::pane::Started>,
        hold: &Hold,
    ) -> anyhow::Result<()> {
        if let Some(started) = exit {
            let mut locked = self.store.lock()?;
            locked.state.entry(session).recycle_deferred = Some(started.nonce.clone());
            locked.save()?;
        }
        report::info(format!(
            "{session}: {hold}; nothing typed: its recycle waits for a later scan or its agent's \
             next hook"
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tmux::Pane;
    use std::path::Path;

    fn config(hands_off: &str) -> Config {
        crate::config::parse(
            &format!(
                "[projects]\npaths=[\"/p\"]\n[pool]\nprefix=\"s\"\nstart=1\nsize=2\n{hands_off}\n\
                 [[dedicated]]\nsession=\"mine\"\n"
            ),
            Path::new("c.toml"),
        )
        .unwrap()
    }

    fn snapshot() -> Snapshot {
        let mut s = Snapshot::default();
        for name in ["s1", "s2", "mine"] {
            s.sessions.insert(
                name.into(),
                Pane {
                    id: "%0".into(),
                    pid: 1,
                    mark: None,
                    command: "bash".into(),
                    mode: None,
                },
            );
        }
        s
    }

    #[test]
    fn a_client_with_recent_input_holds_its_session_until_hands_off_passed() {
        let c = config("");
        let mut snap = snapshot();
        snap.attached.insert("s1".into(), 1000);
        assert_eq!(
            hold(&c, &snap, "s1", 1030),
            Some(Hold::Input { ago: 30, left: 90 }),
            "the default is two minutes"
        );
        assert_eq!(hold(&c, &snap, "s1", 1120), None);
        assert_eq!(hold(&c, &snap, "s2", 1030), None, "no client there");
        assert_eq!(
            hold(&c, &snap, "s1", 999),
            Some(Hold::Input { ago: 0, left: 120 })
        );
    }

    #[test]
    fn a_pane_in_a_mode_holds_whatever_the_clients_did() {
        let c = config("hands_off = \"0s\"");
        let mut snap = snapshot();
        snap.sessions.get_mut("s2").unwrap().mode = Some("copy-mode".into());
        snap.attached.insert("s1".into(), 1000);
        assert_eq!(
            hold(&c, &snap, "s2", 5000),
            Some(Hold::Mode("copy-mode".into()))
        );
        assert_eq!(
            hold(&c, &snap, "s1", 1000),
            None,
            "hands_off 0: input alone never holds"
        );
    }

    #[test]
    fn dedicated_sessions_are_no_matter_of_hands_off() {
        let c = config("");
        let mut snap = snapshot();
        snap.attached.insert("mine".into(), 1000);
        assert_eq!(hold(&c, &snap, "mine", 1000), None);
    }

    #[test]
    fn fractions_of_a_second_count_as_a_whole_one() {
        let c = config("hands_off = \"1500ms\"");
        let mut snap = snapshot();
        snap.attached.insert("s1".into(), 1000);
        assert_eq!(
            hold(&c, &snap, "s1", 1001),
            Some(Hold::Input { ago: 1, left: 1 })
        );
        assert_eq!(hold(&c, &snap, "s1", 1002), None);
    }

    #[test]
    fn keys_for_held_sessions_wait() {
        let c = config("");
        let mut snap = snapshot();
        snap.attached.insert("s1".into(), 1000);
        let started = crate::pane::Started {
            pane: "%0".into(),
            pid: 1,
            nonce: "n".into(),
        };
        let kept = defer(
            &c,
            &snap,
            1010,
            vec![
                After::Stop("s1".into(), started.clone()),
                After::Submit("s1".into(), started.clone()),
                After::Stop("s2".into(), started.clone()),
            ],
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(session_of(&kept[0]), "s2");
    }
}
