//! Usage before the limit with the real Claude Code CLI, offline: the
//! stand-in API (`fake_api.rs`) sends each subscription's usage in the
//! unified rate-limit headers of its answers, Claude Code hands it to its
//! status line (`agent-queue statusline`, as contrib/ installs it), and an
//! account at its `hold_at` gets no new task: the next one goes to the other
//! account before the first ever hits its limit.

use std::path::Path;

use serde_json::Value;

use crate::env::{epoch, events_named, json_lines, stderr};
use crate::fake_api::Usage;
use crate::real_agent::{claude_or_skip, task_file, Home, Real, WAIT};
use crate::real_limits::{turn_of, two_subscriptions, TOKEN_A, TOKEN_B};

/// Every status line JSON Claude Code sent so far (the witness's files).
fn statuslines(r: &Real) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(r.w.path("witness"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("statusline.") && name.ends_with(".json")
        })
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|p| serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok())
        .collect()
}

/// Writes the task `name` and scans: it must go to `to`'s session, whose
/// account (its token) answers it.
fn send(r: &Real, project: &Path, name: &str, body: &str, to: (&str, &str)) {
    let message = Real::message(name, body);
    task_file(project, name, "high", body);
    let (out, _) = r.run(&["--json", "scan"]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), r.describe());
    let events = json_lines(&out);
    assert_eq!(
        events_named(&events, "dispatched")[0]["session"],
        to.0,
        "{events:?}"
    );
    r.wait_until(WAIT, &format!("{} answered {name}", to.0), || {
        turn_of(r, to.1, &message, 200)
    });
}

#[test]
fn an_account_reported_at_97_percent_by_the_real_status_line_gets_no_next_task() {
    let Some(claude) = claude_or_skip("an_account_reported_at_97_percent") else {
        return;
    };
    let mut r = Real::new(&claude, 1, Home::ready());
    two_subscriptions(&mut r, "[accounts.max-a]\nhold_at = 95\n");
    let five_hour = epoch() + 4 * 3600;
    let seven_day = epoch() + 3 * 86_400;
    r.api.usage(
        TOKEN_A,
        Usage {
            five_hour: (0.97, five_hour),
            seven_day: (0.41, seven_day),
        },
    );
    r.api.usage(
        TOKEN_B,
        Usage {
            five_hour: (0.12, five_hour),
            seven_day: (0.3, seven_day),
        },
    );
    let p = r.project("app");

    // Nothing known yet: config order sends the first task to max-a.
    send(&r, &p, "first.md", "Say hello.", ("ccl-auto-1", TOKEN_A));
    // Its status line reported the account's 97 %: it is held until the
    // five-hour window resets.
    r.wait_until(WAIT, "max-a is held", || {
        r.w.account("max-a")["held_until"].is_string()
    });
    let a = r.w.account("max-a");
    assert_eq!(a["five_hour"]["used_percentage"], 97.0, "{a}");
    assert_eq!(a["seven_day"]["used_percentage"], 41.0, "{a}");
    let until: jiff::Timestamp = a["held_until"].as_str().unwrap().parse().unwrap();
    assert_eq!(until.as_second(), five_hour as i64, "{a}");
    let sent = statuslines(&r);
    let with_usage = sent
        .iter()
        .find(|s| s["rate_limits"]["five_hour"].is_object())
        .unwrap_or_else(|| panic!("no status line carried rate_limits: {sent:#?}"));
    eprintln!("----- a status line's JSON -----\n{with_usage:#}\n-----");
    assert_eq!(
        with_usage["rate_limits"]["five_hour"]["resets_at"],
        five_hour
    );
    // For the record: how long after the Stop hook the status line ran.
    let stamps = |prefix: &str| -> Vec<u128> {
        let mut at: Vec<u128> = std::fs::read_dir(r.w.path("witness"))
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                let rest = name.strip_prefix(prefix)?.strip_suffix(".json")?;
                rest.split('.')
                    .find_map(|p| p.parse().ok().filter(|n| *n > 1 << 60))
            })
            .collect();
        at.sort();
        at
    };
    if let Some(stop) = stamps("Stop.ccl-auto-1.").first() {
        let after = stamps("statusline.").into_iter().find(|t| t > stop);
        eprintln!(
            "status line after the Stop hook: {:?} ms",
            after.map(|t| (t - stop) / 1_000_000)
        );
    }

    // The session is recycled and free but for the hold; the next task
    // goes to max-b, and max-a's API hears nothing more.
    r.wait_until(WAIT, "ccl-auto-1 is back at its shell", || {
        r.w.idle_at_shell("ccl-auto-1")
    });
    let asked_a = |r: &Real| {
        r.api
            .requests()
            .iter()
            .filter(|q| q.credential.as_deref() == Some(TOKEN_A))
            .count()
    };
    let before = asked_a(&r);
    send(&r, &p, "second.md", "Say bye.", ("b-1", TOKEN_B));
    assert_eq!(asked_a(&r), before, "{}", r.describe());
    let held =
        r.w.journal()
            .into_iter()
            .filter(|e| e["event"] == "held")
            .count();
    assert_eq!(held, 1, "{:?}", r.w.journal());
}
