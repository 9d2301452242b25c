use serde_json::json;

use super::*;

const NOW: u64 = 1_796_380_000;

/// A status line's JSON with `rate_limits` as given, and the rest of what
/// Claude Code sends around it (a `context_window.used_percentage` too,
/// which is the session's context, not the account's usage).
fn status(rate_limits: Value) -> Value {
    json!({
        "session_id": "b6960bbd-4532-4ba7-9db8-bd485b898ee3",
        "cwd": "/srv/p/app",
        "model": {"id": "claude-sonnet-5", "display_name": "Sonnet 5"},
        "context_window": {"used_percentage": 99, "remaining_percentage": 1},
        "rate_limits": rate_limits,
    })
}

fn window(used: u32, resets_at: u64) -> Option<Window> {
    Some(Window {
        used: Tenths(used),
        resets_at,
    })
}

#[test]
fn the_contracts_example_reads() {
    let json = status(json!({
        "five_hour": {"used_percentage": 42, "resets_at": 1_796_395_161},
        "seven_day": {"used_percentage": 81, "resets_at": 1_796_650_761}
    }));
    assert_eq!(
        read(&json, NOW),
        Reading {
            five_hour: window(420, 1_796_395_161),
            seven_day: window(810, 1_796_650_761),
        }
    );
}

#[test]
fn claude_code_2_1_197s_float_noise_is_the_percentage_it_means() {
    // utilization * 100, unrounded.
    let json = status(json!({
        "five_hour": {"used_percentage": 28.999999999999996, "resets_at": NOW + 60},
        "seven_day": {"used_percentage": 94.99999999999999, "resets_at": NOW + 3600}
    }));
    let r = read(&json, NOW);
    assert_eq!(r.five_hour, window(290, NOW + 60));
    assert_eq!(r.seven_day, window(950, NOW + 3600));
    // 95 % with noise is at a hold_at of 95.
    let mut k = Known::new("a");
    k.record(&r, NOW);
    assert_eq!(
        k.hold(Some(95.0), NOW).map(|h| h.window),
        Some(WindowKind::SevenDay)
    );
    assert_eq!(Tenths(290).to_string(), "29%");
}

#[test]
fn claude_code_2_1_332s_rounded_capped_and_missing_windows_read() {
    // One decimal, at most 100, and a window that reset is left out.
    let json = status(json!({"five_hour": {"used_percentage": 100, "resets_at": NOW + 900}}));
    let r = read(&json, NOW);
    assert_eq!(r.five_hour, window(1000, NOW + 900));
    assert_eq!(r.seven_day, None);
    let json = status(json!({"seven_day": {"used_percentage": 12.3, "resets_at": NOW + 900}}));
    assert_eq!(read(&json, NOW).seven_day, window(123, NOW + 900));
    assert_eq!(Tenths(123).to_string(), "12.3%");
    // Over 100 (2.1.197 does not cap) reads as 100.
    let json = status(json!({"five_hour": {"used_percentage": 104.5, "resets_at": NOW + 9}}));
    assert_eq!(read(&json, NOW).five_hour, window(1000, NOW + 9));
}

#[test]
fn no_rate_limits_and_odd_shapes_read_as_nothing_known() {
    for json in [
        json!({"session_id": "x"}),
        status(Value::Null),
        status(json!({})),
        status(json!([1, 2])),
        status(json!({"five_hour": null, "seven_day": {}})),
        status(json!({"five_hour": {"used_percentage": "42", "resets_at": NOW + 9}})),
        status(json!({"five_hour": {"used_percentage": 42}})),
        status(json!({"five_hour": {"used_percentage": 42, "resets_at": "soon"}})),
        status(json!({"five_hour": {"used_percentage": -3, "resets_at": -1}})),
        json!("a string"),
    ] {
        assert!(read(&json, NOW).is_empty(), "{json}");
    }
}

#[test]
fn a_window_past_its_reset_or_implausibly_far_ahead_is_stale() {
    // 2.1.197 keeps showing a window after its reset.
    let json = status(json!({
        "five_hour": {"used_percentage": 97, "resets_at": NOW - 1},
        "seven_day": {"used_percentage": 50, "resets_at": NOW + 30 * 86_400}
    }));
    assert!(read(&json, NOW).is_empty());
    let json = status(json!({"five_hour": {"used_percentage": 97, "resets_at": NOW}}));
    assert!(read(&json, NOW).is_empty(), "at its reset it is over");
}

#[test]
fn what_is_known_goes_stale_at_its_reset() {
    let mut k = Known::new("a");
    k.record(
        &Reading {
            five_hour: window(970, NOW + 10),
            seven_day: window(300, NOW + 86_400),
        },
        NOW,
    );
    assert_eq!(k.used(NOW + 9), Some(Tenths(970)));
    assert_eq!(k.used(NOW + 10), Some(Tenths(300)));
    assert_eq!(k.current(WindowKind::FiveHour, NOW + 10), None);
    assert_eq!(k.observed_at(NOW + 10), Some(NOW));
    assert_eq!(k.used(NOW + 86_400), None);
    assert_eq!(k.observed_at(NOW + 86_400), None);
}

#[test]
fn a_newer_reading_replaces_an_older_whichever_session_sent_it() {
    let mut k = Known::new("a");
    let reset = NOW + 4 * 3600;
    k.record(
        &Reading {
            five_hour: window(400, reset),
            seven_day: None,
        },
        NOW,
    );
    // A busier session of the account: the same window, higher.
    k.record(
        &Reading {
            five_hour: window(550, reset),
            seven_day: None,
        },
        NOW + 5,
    );
    assert_eq!(k.five_hour.unwrap().used, Tenths(550));
    assert_eq!(k.five_hour.unwrap().observed_at, NOW + 5);
    // An idle session repeating its last answer: lower, same window.
    k.record(
        &Reading {
            five_hour: window(400, reset),
            seven_day: None,
        },
        NOW + 10,
    );
    assert_eq!(k.five_hour.unwrap().used, Tenths(550));
    assert_eq!(k.five_hour.unwrap().observed_at, NOW + 5);
    // The same window reported a second off: still the same window.
    k.record(
        &Reading {
            five_hour: window(560, reset + 1),
            seven_day: None,
        },
        NOW + 15,
    );
    assert_eq!(k.five_hour.unwrap().used, Tenths(560));
    // The window reset: a new one, lower, replaces the old.
    let later = reset + 60;
    k.record(
        &Reading {
            five_hour: window(20, later + 5 * 3600),
            seven_day: None,
        },
        later,
    );
    assert_eq!(k.five_hour.unwrap().used, Tenths(20));
    // An agent still showing the old window (2.1.197) changes nothing: it
    // is stale on reading.
    let old = status(json!({"five_hour": {"used_percentage": 56, "resets_at": reset}}));
    k.record(&read(&old, later + 1), later + 1);
    assert_eq!(k.five_hour.unwrap().used, Tenths(20));
    // A window a reading lacks keeps what is known.
    k.record(
        &Reading {
            five_hour: None,
            seven_day: window(700, later + 86_400),
        },
        later + 2,
    );
    assert_eq!(k.five_hour.unwrap().used, Tenths(20));
    assert_eq!(k.seven_day.unwrap().used, Tenths(700));
}

#[test]
fn an_account_at_its_hold_at_in_either_window_is_held_until_that_window_resets() {
    let mut k = Known::new("a");
    k.record(
        &Reading {
            five_hour: window(960, NOW + 100),
            seven_day: window(400, NOW + 86_400),
        },
        NOW,
    );
    assert_eq!(
        k.hold(Some(95.0), NOW),
        Some(Hold {
            until: NOW + 100,
            window: WindowKind::FiveHour,
            used: Tenths(960)
        })
    );
    assert_eq!(k.hold(Some(96.5), NOW), None);
    assert_eq!(k.hold(None, NOW), None, "no hold_at: never held");
    assert_eq!(k.hold(Some(95.0), NOW + 100), None, "over at the reset");
    // Both windows over it: held until the later reset.
    k.record(
        &Reading {
            five_hour: None,
            seven_day: window(990, NOW + 86_400),
        },
        NOW,
    );
    assert_eq!(k.hold(Some(95.0), NOW).map(|h| h.until), Some(NOW + 86_400));
}

#[test]
fn the_history_hears_of_a_hold_once_and_of_its_end() {
    let mut k = Known::new("a");
    k.record(
        &Reading {
            five_hour: window(960, NOW + 100),
            seven_day: None,
        },
        NOW,
    );
    assert!(matches!(k.settle(Some(95.0), NOW), Some(Change::Held(h)) if h.until == NOW + 100));
    assert_eq!(k.settle(Some(95.0), NOW + 1), None);
    assert_eq!(k.settle(Some(95.0), NOW + 100), Some(Change::Released));
    assert_eq!(k.settle(Some(95.0), NOW + 101), None);
    assert_eq!(k.announced, None);
}

#[test]
fn room_is_what_the_fullest_window_leaves_and_unknown_is_all_room() {
    let mut k = Known::new("a");
    k.record(
        &Reading {
            five_hour: window(300, NOW + 100),
            seven_day: window(610, NOW + 86_400),
        },
        NOW,
    );
    assert_eq!(room(Some(&k), NOW), Tenths(390));
    assert_eq!(room(None, NOW), Tenths(1000));
    assert_eq!(room(Some(&Known::new("b")), NOW), Tenths(1000));
}

#[test]
fn status_shows_each_window_with_its_reset_and_when_it_was_observed() {
    let mut k = Known::new("a");
    k.record(
        &Reading {
            five_hour: window(962, NOW + 100),
            seven_day: None,
        },
        NOW,
    );
    let v = View::of(Some(&k), Some(95.0), NOW + 1);
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["five_hour"]["used_percentage"], 96.2);
    assert_eq!(
        json["five_hour"]["resets_at"],
        crate::clock::format_utc(NOW + 100)
    );
    assert_eq!(json["seven_day"], Value::Null);
    assert_eq!(json["observed_at"], crate::clock::format_utc(NOW));
    assert_eq!(json["held_until"], crate::clock::format_utc(NOW + 100));
    assert_eq!(v.summary(), "5h 96.2%");
    let unknown = View::of(None, Some(95.0), NOW);
    assert_eq!(unknown.summary(), "unknown");
    let json = serde_json::to_value(&unknown).unwrap();
    for key in ["five_hour", "seven_day", "observed_at", "held_until"] {
        assert_eq!(json[key], Value::Null, "{key}");
    }
}

#[test]
fn a_settings_json_says_which_status_line_it_installs() {
    let ours = json!({"statusLine": {"type": "command", "command": "agent-queue -q statusline", "refreshInterval": 5}});
    assert_eq!(
        statusline_setting(&ours),
        StatusLineSetting::Installed {
            refresh_interval: Some(5.0)
        }
    );
    let path = json!({"statusLine": {"type": "command", "command": "'/usr/local/bin/agent-queue' statusline"}});
    assert_eq!(
        statusline_setting(&path),
        StatusLineSetting::Installed {
            refresh_interval: None
        }
    );
    assert_eq!(statusline_setting(&json!({})), StatusLineSetting::Missing);
    assert_eq!(
        statusline_setting(&json!({"statusLine": "agent-queue statusline"})),
        StatusLineSetting::Missing
    );
    for other in [
        "ccstatusline",
        "agent-queue hook",
        "my-agent-queue statusline",
    ] {
        let settings = json!({"statusLine": {"type": "command", "command": other}});
        assert_eq!(
            statusline_setting(&settings),
            StatusLineSetting::Other(other.into()),
            "{other}"
        );
    }
}
