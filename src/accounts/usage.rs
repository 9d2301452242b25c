//! An account's usage before its limit, as Claude Code hands it to its
//! status line (`rate_limits.five_hour` / `seven_day`: `used_percentage`,
//! `resets_at`), so that new work keeps away from an account about to run
//! out instead of being thrown away when it does. Pure: what a status line's
//! JSON says, how a reading joins what is known, when an account is held,
//! how much room it has. The files live in `usage/book.rs`.
//!
//! The figures are the account's, and every session of the account reports
//! them, but each as of its own last API answer: an idle agent repeats an
//! old answer every refresh. Within one window (one `resets_at`) the use
//! only grows, so of two readings of one window the higher is the newer; a
//! window that resets later is a newer window. A window past its
//! `resets_at` says nothing (Claude Code 2.1.197 keeps showing it).

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod book;
mod view;

pub use view::{View, WindowView};

/// Two readings whose resets are closer than this are of one window: the
/// next window of either kind cannot start within an hour of the last.
const SAME_WINDOW: u64 = 3600;
/// A reset further ahead than this is not believed (the longest window is
/// seven days).
const MAX_AHEAD: u64 = 8 * 86_400;

/// A percentage in tenths: 2.1.197 sends `28.999999999999996` where
/// 2.1.332 sends `29`, and both are 29.0 %; 2.1.197 does not cap at 100,
/// this does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tenths(pub u32);

impl Tenths {
    pub fn from_percent(p: f64) -> Option<Tenths> {
        p.is_finite()
            .then(|| Tenths((p * 10.0).round().clamp(0.0, 1000.0) as u32))
    }

    pub fn percent(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

impl std::fmt::Display for Tenths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 % 10 {
            0 => write!(f, "{}%", self.0 / 10),
            d => write!(f, "{}.{d}%", self.0 / 10),
        }
    }
}

/// The two windows of a subscription's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    FiveHour,
    SevenDay,
}

impl WindowKind {
    pub const ALL: [WindowKind; 2] = [WindowKind::FiveHour, WindowKind::SevenDay];

    /// Its key in Claude Code's JSON and in agent-queue's.
    pub fn key(self) -> &'static str {
        match self {
            WindowKind::FiveHour => "five_hour",
            WindowKind::SevenDay => "seven_day",
        }
    }

    /// For a status line: `5h`, `7d`.
    pub fn short(self) -> &'static str {
        match self {
            WindowKind::FiveHour => "5h",
            WindowKind::SevenDay => "7d",
        }
    }

    /// For a sentence.
    pub fn words(self) -> &'static str {
        match self {
            WindowKind::FiveHour => "five-hour",
            WindowKind::SevenDay => "seven-day",
        }
    }
}

/// One window as a status line reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub used: Tenths,
    /// Epoch seconds.
    pub resets_at: u64,
}

/// What one status line's JSON says of the account's usage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    pub five_hour: Option<Window>,
    pub seven_day: Option<Window>,
}

impl Reading {
    pub fn get(&self, kind: WindowKind) -> Option<Window> {
        match kind {
            WindowKind::FiveHour => self.five_hour,
            WindowKind::SevenDay => self.seven_day,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.five_hour.is_none() && self.seven_day.is_none()
    }
}

/// Reads `rate_limits` from a status line's JSON at `now`. A window that
/// is missing (an API key, no answer yet, 2.1.332 after its reset), not a
/// number, already reset (2.1.197 after its reset) or implausibly far ahead
/// is left out: nothing is known of it.
pub fn read(json: &Value, now: u64) -> Reading {
    let window = |kind: WindowKind| -> Option<Window> {
        let w = json.get("rate_limits")?.get(kind.key())?;
        let used = Tenths::from_percent(w.get("used_percentage")?.as_f64()?)?;
        let resets = w.get("resets_at")?.as_f64()?;
        if !resets.is_finite() || resets <= now as f64 || resets > (now + MAX_AHEAD) as f64 {
            return None;
        }
        Some(Window {
            used,
            resets_at: resets.round() as u64,
        })
    };
    Reading {
        five_hour: window(WindowKind::FiveHour),
        seven_day: window(WindowKind::SevenDay),
    }
}

/// A window as agent-queue knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub used: Tenths,
    pub resets_at: u64,
    /// When a status line last reported this figure.
    pub observed_at: u64,
}

impl Seen {
    /// Whether it still says something at `now` (its window has not reset).
    pub fn fresh(&self, now: u64) -> bool {
        self.resets_at > now
    }
}

/// What is known of one account's usage, and the hold the history was told
/// of last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    pub account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub five_hour: Option<Seen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seven_day: Option<Seen>,
    /// The end of the hold last journaled as `held` (cleared when
    /// `released` is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announced: Option<u64>,
}

/// Why an account takes no new task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    pub until: u64,
    pub window: WindowKind,
    pub used: Tenths,
}

/// What the history is to be told of a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Held(Hold),
    Released,
}

impl Known {
    pub fn new(account: &str) -> Known {
        Known {
            account: account.to_string(),
            ..Known::default()
        }
    }

    pub fn get(&self, kind: WindowKind) -> Option<Seen> {
        match kind {
            WindowKind::FiveHour => self.five_hour,
            WindowKind::SevenDay => self.seven_day,
        }
    }

    fn slot(&mut self, kind: WindowKind) -> &mut Option<Seen> {
        match kind {
            WindowKind::FiveHour => &mut self.five_hour,
            WindowKind::SevenDay => &mut self.seven_day,
        }
    }

    /// A window that still says something at `now`.
    pub fn current(&self, kind: WindowKind, now: u64) -> Option<Seen> {
        self.get(kind).filter(|s| s.fresh(now))
    }

    /// Joins a reading taken at `now`: per window, a later window replaces
    /// an earlier one, a higher figure of the same window a lower one, and
    /// a lower figure of the same window (an idle agent repeating an old
    /// answer) changes nothing. A window the reading lacks keeps what is
    /// known; one past its reset is dropped.
    pub fn record(&mut self, reading: &Reading, now: u64) {
        for kind in WindowKind::ALL {
            let old = self.current(kind, now);
            let new = reading.get(kind).map(|w| Seen {
                used: w.used,
                resets_at: w.resets_at,
                observed_at: now,
            });
            *self.slot(kind) = match (old, new) {
                (old, None) => old,
                (None, new) => new,
                (Some(o), Some(n)) if o.resets_at.abs_diff(n.resets_at) < SAME_WINDOW => {
                    if n.used >= o.used {
                        Some(n)
                    } else {
                        Some(o)
                    }
                }
                (Some(o), Some(n)) => Some(if n.resets_at > o.resets_at { n } else { o }),
            };
        }
    }

    /// The account's hold at `now` with `hold_at` percent: the window at
    /// or above it that resets last.
    pub fn hold(&self, hold_at: Option<f64>, now: u64) -> Option<Hold> {
        let at = Tenths::from_percent(hold_at?)?;
        WindowKind::ALL
            .into_iter()
            .filter_map(|kind| {
                self.current(kind, now)
                    .filter(|s| s.used >= at)
                    .map(|s| Hold {
                        until: s.resets_at,
                        window: kind,
                        used: s.used,
                    })
            })
            .max_by_key(|h| h.until)
    }

    /// The highest known use at `now` (the window nearest its limit), or
    /// None when nothing current is known.
    pub fn used(&self, now: u64) -> Option<Tenths> {
        WindowKind::ALL
            .into_iter()
            .filter_map(|k| self.current(k, now).map(|s| s.used))
            .max()
    }

    /// When a status line last reported a current figure.
    pub fn observed_at(&self, now: u64) -> Option<u64> {
        WindowKind::ALL
            .into_iter()
            .filter_map(|k| self.current(k, now).map(|s| s.observed_at))
            .max()
    }

    /// Brings `announced` up to the hold at `now`, and says what the
    /// history is to be told: `held` when a hold begins or moves, `released`
    /// when one ends.
    pub fn settle(&mut self, hold_at: Option<f64>, now: u64) -> Option<Change> {
        let hold = self.hold(hold_at, now);
        let until = hold.map(|h| h.until);
        if until == self.announced {
            return None;
        }
        self.announced = until;
        Some(match hold {
            Some(h) => Change::Held(h),
            None => Change::Released,
        })
    }
}

/// Whether `account` is held at `now`: its known use at or above its
/// `hold_at`.
pub fn held(
    config: &crate::config::Config,
    state: &crate::store::state::State,
    account: &str,
    now: u64,
) -> Option<Hold> {
    state.usage.get(account)?.hold(config.hold_at(account), now)
}

/// The room an account has for `prefer = "headroom"`: 100 % less its
/// highest known use; unknown counts as all room.
pub fn room(known: Option<&Known>, now: u64) -> Tenths {
    let used = known.and_then(|k| k.used(now)).unwrap_or_default();
    Tenths(1000 - used.0.min(1000))
}

/// What a Claude Code `settings.json` has as its status line, for `doctor`.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusLineSetting {
    /// No `statusLine`: no usage is recorded (fix: install agent-queue's).
    Missing,
    /// Another command: no usage is recorded (fix: move it to
    /// `[statusline] command` and install agent-queue's).
    Other(String),
    /// `agent-queue statusline`; without a `refreshInterval`, an idle agent
    /// stops reporting.
    Installed { refresh_interval: Option<f64> },
}

/// The status line a `settings.json` (its parsed JSON) installs.
pub fn statusline_setting(settings: &Value) -> StatusLineSetting {
    let line = &settings["statusLine"];
    let Some(command) = line["command"].as_str() else {
        return StatusLineSetting::Missing;
    };
    let words: Vec<&str> = command.split_whitespace().collect();
    let ours = line["type"] == "command"
        && words.iter().any(|w| {
            let w = w.trim_matches(['\'', '"']);
            w == "agent-queue" || w.ends_with("/agent-queue")
        })
        && words.contains(&"statusline");
    if ours {
        StatusLineSetting::Installed {
            refresh_interval: line["refreshInterval"].as_f64(),
        }
    } else {
        StatusLineSetting::Other(command.to_string())
    }
}

#[cfg(test)]
mod tests;
