//! An account's usage as `status` shows it: the contract's JSON keys
//! (`five_hour`, `seven_day`, `observed_at`, `held_until`) and a summary
//! for people.

use serde::Serialize;

use super::{Known, Tenths, WindowKind};

/// An account's usage as `status` shows it (JSON keys of the contract).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct View {
    pub five_hour: Option<WindowView>,
    pub seven_day: Option<WindowView>,
    /// RFC 3339: when a status line last reported a current figure.
    pub observed_at: Option<String>,
    /// RFC 3339, when the account is held.
    pub held_until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowView {
    pub used_percentage: f64,
    /// RFC 3339.
    pub resets_at: String,
}

impl View {
    /// What is known of an account at `now` (nothing: an API-key account,
    /// or one whose agents have not answered since their windows reset).
    pub fn of(known: Option<&Known>, hold_at: Option<f64>, now: u64) -> View {
        use crate::clock::format_utc;
        let Some(known) = known else {
            return View::default();
        };
        let window = |kind| {
            known.current(kind, now).map(|s| WindowView {
                used_percentage: s.used.percent(),
                resets_at: format_utc(s.resets_at),
            })
        };
        View {
            five_hour: window(WindowKind::FiveHour),
            seven_day: window(WindowKind::SevenDay),
            observed_at: known.observed_at(now).map(format_utc),
            held_until: known.hold(hold_at, now).map(|h| format_utc(h.until)),
        }
    }

    /// For people: `5h 42% · 7d 81%`, or `unknown`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [("5h", &self.five_hour), ("7d", &self.seven_day)]
            .into_iter()
            .filter_map(|(name, w)| {
                w.as_ref().map(|w| {
                    format!(
                        "{name} {}",
                        Tenths::from_percent(w.used_percentage).unwrap_or_default()
                    )
                })
            })
            .collect();
        if parts.is_empty() {
            "unknown".into()
        } else {
            parts.join(" · ")
        }
    }
}
