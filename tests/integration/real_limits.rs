//! Usage limits with the real Claude Code CLI, offline: the stand-in API
//! (`fake_api.rs`) plays an account at its limit, as Anthropic's API does
//! (HTTP 429 with the `anthropic-ratelimit-unified-*` headers), for one
//! credential and not for another. What Claude Code then shows, and what its
//! `StopFailure` hook says, is read by agent-queue's own functions here, and
//! a task of a limited account goes to another account's pool through
//! agent-queue's hooks, as `limits.rs` checks it with the stand-in agent.
//!
//! Each account runs Claude Code as a subscription (`CLAUDE_CODE_OAUTH_TOKEN`,
//! `CLAUDE_CODE_SUBSCRIPTION_TYPE=max`, no `ANTHROPIC_API_KEY`) with its own
//! `CLAUDE_CONFIG_DIR`; see docs/real-agent-notes.md, "Usage limits".

use std::path::Path;
use std::time::{Duration, Instant};

use agent_queue::accounts::limits::{reset_time, Patterns};
use serde_json::Value;

use crate::env::{epoch, json_lines, sh_quote, stderr, stdout};
use crate::fake_api::Claim;
use crate::real_agent::{claude_or_skip, task_file, version_of, Home, Real, API_KEY, WAIT};

/// Two subscriptions: the stand-in tells them apart by their bearer token.
pub(crate) const TOKEN_A: &str = "sk-ant-oat01-fakefakefake-account-a-0123456789";
pub(crate) const TOKEN_B: &str = "sk-ant-oat01-fakefakefake-account-b-0123456789";
/// How far ahead account A's reset lies at least: long enough for its
/// agent to start, take the task, hit the limit and for the test to look
/// at everything that must hold while the limit lasts.
const LIMIT_AHEAD: u64 = 12;

/// The first whole minute at least `secs` ahead. Claude Code shows a
/// reset to the minute (`resets 1:16am` for 01:16:40: the seconds are
/// dropped, not rounded), so only a reset on a whole minute reads back
/// exactly.
pub(crate) fn whole_minute_ahead(secs: u64) -> u64 {
    (epoch() + secs).div_ceil(60) * 60
}

/// The environment of a subscription's Claude Code with its own config
/// folder.
fn subscription(config_dir: &Path, token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CLAUDE_CONFIG_DIR", config_dir.display().to_string()),
        ("CLAUDE_CODE_OAUTH_TOKEN", token.to_string()),
        ("CLAUDE_CODE_SUBSCRIPTION_TYPE", "max".to_string()),
    ]
}

/// A screen as worth keeping: no trailing spaces on its lines (the NBSP
/// of an empty input box stays), no blank lines at its end.
fn tidy(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().map(|l| l.trim_end_matches(' ')).collect();
    lines.join("\n").trim_end_matches(['\n', ' ']).to_string()
}

/// Shows a recorded screen or payload past the test harness's capture
/// (`--nocapture`), for docs/real-agent-notes.md.
fn record(what: &str, text: &str) {
    eprintln!("----- {what} -----\n{text}\n----- end of {what} -----");
}

/// Claude Code started by hand (not by agent-queue) in a session outside
/// every pool, so that agent-queue's hooks leave it alone; `prompt` typed
/// once its input box is up.
fn start_by_hand(r: &Real, session: &str, env: &[(&str, String)], project: &Path, prompt: &str) {
    r.w.start_session(session);
    let assignments: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("{k}={}", sh_quote(v)))
        .collect();
    let line = format!(
        "cd {} && {} exec claude --model sonnet --dangerously-skip-permissions",
        sh_quote(&project.display().to_string()),
        assignments.join(" ")
    );
    let target = format!("={session}:");
    let keys = |args: &[&str]| {
        let out =
            r.w.tmux_output(&[&["send-keys", "-t", &target], args].concat());
        assert!(out.status.success(), "{}", stderr(&out));
    };
    keys(&["-l", &line]);
    keys(&["Enter"]);
    let input = |s: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix("❯\u{a0}"))
            .map(|rest| rest.trim().to_string())
    };
    r.wait_until(WAIT, &format!("{session} shows its prompt"), || {
        input(&r.w.screen(session)).is_some_and(|i| i.is_empty())
    });
    keys(&["-l", prompt]);
    r.wait_until(WAIT, &format!("{session} shows the prompt typed"), || {
        input(&r.w.screen(session)).as_deref() == Some(prompt)
    });
    keys(&["Enter"]);
}

/// The StopFailure payload of `session`'s agent as Claude Code wrote it
/// (the witness hook's file), for the record.
fn raw_stop_failure(r: &Real, session: &str) -> String {
    let prefix = format!("StopFailure.{session}.");
    std::fs::read_dir(r.w.path("witness"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".json")
        })
        .map(|p| std::fs::read_to_string(p).unwrap())
        .unwrap_or_default()
}

/// The StopFailure payloads of `session`'s agent.
pub(crate) fn stop_failures(r: &Real, session: &str) -> Vec<Value> {
    r.hooks("StopFailure")
        .into_iter()
        .filter(|h| h.session == session)
        .map(|h| h.json)
        .collect()
}

#[test]
fn claude_code_at_a_usage_limit_shows_lines_that_agent_queue_reads() {
    let Some(claude) = claude_or_skip("claude_code_at_a_usage_limit_shows_lines") else {
        return;
    };
    // The screens and payloads of 2.1.197 (its menu, its API-key retries),
    // as recorded; a later version's are checked by
    // `a_limited_agent_never_takes_up_a_moved_task_after_its_reset`.
    if version_of(&claude) != (2, 1, 197) {
        eprintln!("claude_code_at_a_usage_limit_shows_lines records Claude Code 2.1.197; not run on {claude:?}");
        return;
    }
    let mut r = Real::new(&claude, 1, Home::ready());
    // Subscriptions: no API key in their sessions.
    r.w.agent_env.remove("ANTHROPIC_API_KEY");
    let p = r.project("app");
    let now = jiff::Zoned::now();
    // A session limit two hours away (the agent's zone: this host's), and a
    // weekly limit three days away, shown in India's zone, whose offset is
    // not whole hours.
    let cases = [
        (
            "rec-session",
            "sk-ant-oat01-fakefakefake-session-0123456789",
            Claim::FiveHour,
            whole_minute_ahead(2 * 3600),
            None,
            "You've hit your session limit · resets ",
        ),
        (
            "rec-weekly",
            "sk-ant-oat01-fakefakefake-weekly-01234567890",
            Claim::SevenDay,
            whole_minute_ahead(3 * 86400),
            Some("Asia/Kolkata"),
            "You've hit your weekly limit · resets ",
        ),
    ];
    for (session, token, claim, reset, tz, _) in &cases {
        r.api.limit(token, *claim, *reset);
        let mut env = subscription(&r.config_dir(session), token);
        if let Some(tz) = tz {
            env.push(("TZ", tz.to_string()));
        }
        start_by_hand(&r, session, &env, &p, "Say hello.");
    }
    let patterns = Patterns::default();
    for (session, _, _, reset, _, words) in &cases {
        // At once: the limit under the prompt, then the menu, which stays.
        r.wait_until(WAIT, &format!("{session} shows its limit menu"), || {
            r.w.screen(session)
                .contains("Enter to confirm · Esc to cancel")
                && !stop_failures(&r, session).is_empty()
        });
        let screen = tidy(&r.w.screen(session));
        record(&format!("{session} screen"), &screen);
        for text in [
            "What do you want to do?",
            "❯ 1. Stop and wait for limit to reset",
            "2. Upgrade your plan",
        ] {
            assert!(
                screen.contains(text),
                "{text:?} not in: {:?}",
                screen.lines().rev().take(8).collect::<Vec<_>>()
            );
        }
        // The limit line, under the prompt it refused.
        let limit_line = screen
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("⎿"))
            .map(|l| l.trim_start_matches([' ', '\u{a0}']))
            .unwrap_or_else(|| panic!("no ⎿ line in:\n{screen}"));
        assert!(limit_line.starts_with(words), "{limit_line:?}\n{screen}");
        // What agent-queue reads on this screen: the limit line, past the
        // menu and the `❯ /rate-limit-options` Claude Code typed itself
        // between the two, and its reset, exactly.
        assert_eq!(patterns.find(&screen), Some(limit_line), "{screen}");
        let read = reset_time(limit_line, &now).map(|t| t.as_second());
        assert_eq!(read, Some(*reset as i64), "{limit_line:?}");

        let hooks = stop_failures(&r, session);
        record(
            &format!("{session} StopFailure"),
            &raw_stop_failure(&r, session),
        );
        assert_eq!(hooks.len(), 1, "{hooks:#?}");
        let hook = &hooks[0];
        assert_eq!(hook["hook_event_name"], "StopFailure");
        assert_eq!(hook["error"], "rate_limit", "{hook}");
        let message = hook["last_assistant_message"].as_str().unwrap();
        assert_eq!(message, limit_line, "the hook says what the screen says");
        assert_eq!(
            reset_time(message, &now).map(|t| t.as_second()),
            Some(*reset as i64)
        );
        for key in ["session_id", "transcript_path", "cwd"] {
            assert!(hook[key].is_string(), "{key}: {hook}");
        }
        // A failed turn is no end of a turn: no Stop hook.
        assert!(
            !r.hooks("Stop").iter().any(|h| h.session == *session),
            "{}",
            r.describe()
        );
    }
    // Each turn was asked once and refused; no retry.
    let refused: Vec<_> = r
        .api
        .turn_requests()
        .into_iter()
        .filter(|t| t.status == 429)
        .collect();
    assert_eq!(refused.len(), cases.len(), "{}", r.describe());

    // An API key at its limit retries, with the limit's reset (its time
    // alone, in the agent's zone) on its spinner line; it gives up only
    // minutes later, which is not waited for here.
    let key_session = "rec-api-key";
    let key_reset = whole_minute_ahead(2 * 3600);
    r.api.limit(API_KEY, Claim::FiveHour, key_reset);
    start_by_hand(
        &r,
        key_session,
        &[("ANTHROPIC_API_KEY", API_KEY.to_string())],
        &p,
        "Say hello.",
    );
    r.wait_until(WAIT, "the API-key agent retries", || {
        r.w.screen(key_session).contains("Retrying in")
    });
    let screen = tidy(&r.w.screen(key_session));
    record("rec-api-key screen", &screen);
    let line = patterns
        .find(&screen)
        .unwrap_or_else(|| panic!("no limit line found in:\n{screen}"));
    assert!(
        line.starts_with("Session limit reached · Retrying in "),
        "{line:?}"
    );
    // Busy: the footer says so, unless a status line (as the settings
    // here install) takes the footer's place.
    assert!(
        screen.contains("esc to interrupt")
            || screen
                .lines()
                .any(|l| l.trim_start().starts_with("agent-queue")),
        "{screen}"
    );
    // The time in parentheses is the limit's reset (Claude Code 2.1.197
    // draws `(${resetsAt})` from the unified reset header), not the retry.
    assert_eq!(
        reset_time(line, &now).map(|t| t.as_second()),
        Some(key_reset as i64),
        "{line:?}"
    );

    // With `retry-after` over a minute it gives up at once: an API error
    // line, and its StopFailure hook, neither with a reset time.
    let key = "sk-ant-api03-fakefakefake-retry-after-ABCDEFGHIJ";
    let dir = r.config_dir("rec-retry-after");
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".claude.json")).unwrap()).unwrap();
    state["customApiKeyResponses"]["approved"] = serde_json::json!([&key[key.len() - 20..]]);
    std::fs::write(dir.join(".claude.json"), state.to_string()).unwrap();
    r.api
        .limit_retry_after(key, Claim::FiveHour, whole_minute_ahead(2 * 3600), 3600);
    let session = "rec-retry-after";
    start_by_hand(
        &r,
        session,
        &[
            ("CLAUDE_CONFIG_DIR", dir.display().to_string()),
            ("ANTHROPIC_API_KEY", key.to_string()),
        ],
        &p,
        "Say hello.",
    );
    // Its hook may run before the screen shows the error.
    r.wait_until(WAIT, "the API-key agent gave up", || {
        !stop_failures(&r, session).is_empty()
            && r.w.screen(session).contains("API Error")
            && !r.w.screen(session).contains("esc to interrupt")
    });
    let screen = tidy(&r.w.screen(session));
    record("rec-retry-after screen", &screen);
    let hooks = stop_failures(&r, session);
    record(
        "rec-retry-after StopFailure",
        &raw_stop_failure(&r, session),
    );
    assert_eq!(hooks[0]["error"], "rate_limit", "{hooks:#?}");
    let message = hooks[0]["last_assistant_message"].as_str().unwrap();
    assert!(
        message.starts_with("API Error: Request rejected (429) · "),
        "{message:?}"
    );
    assert_eq!(reset_time(message, &now), None, "{message:?}");
    assert_eq!(patterns.find(&screen), Some(message), "{screen}");
    assert!(
        screen.contains("\n❯\u{a0}\n"),
        "back at its prompt: {screen}"
    );
    assert!(stop_failures(&r, key_session).is_empty());
}

/// Whether the stand-in answered a turn of `token`'s account that carried
/// `message`, with `status`.
pub(crate) fn turn_of(r: &Real, token: &str, message: &str, status: u16) -> bool {
    r.api.turn_requests().iter().any(|t| {
        t.credential.as_deref() == Some(token)
            && t.status == status
            && t.last_user_text().as_deref() == Some(message)
    })
}

/// The pool `default` (`ccl-auto-1`) runs account max-a, whose agent profile
/// gives Claude Code its own config folder and token (`TOKEN_A`); the pool
/// `b` (`b-1`) runs account max-b, likewise (`TOKEN_B`); `extra` is more
/// config. No API key in their sessions.
pub(crate) fn two_subscriptions(r: &mut Real, extra: &str) {
    r.w.agent_env.remove("ANTHROPIC_API_KEY");
    let profile = |name: &str, token: &str| {
        let env: Vec<String> = subscription(&r.config_dir(name), token)
            .iter()
            .map(|(k, v)| format!("{k} = {v:?}"))
            .collect();
        format!(
            "[agents.{name}]\ncommand = \"claude --model {{model}} --dangerously-skip-permissions\"\n\
             resume_dir = {:?}\nlimit_margin = \"0s\"\nenv = {{ {} }}\n",
            r.w.path(&format!("resume-{name}")).display().to_string(),
            env.join(", ")
        )
    };
    let profiles = profile("claude-a", TOKEN_A) + &profile("claude-b", TOKEN_B);
    r.w.pool_config("account = \"max-a\"\nagent = \"claude-a\"");
    r.w.config(&format!(
        "[pools.b]\nprefix = \"b-\"\nstart = 1\nsize = 1\naccount = \"max-b\"\nagent = \"claude-b\"\n\
         {profiles}{extra}"
    ));
    r.w.start_session("ccl-auto-1");
    r.w.start_session("b-1");
}

/// Two subscriptions (`two_subscriptions`), with both sessions started.
pub(crate) fn two_accounts(claude: &Path) -> Real {
    let mut r = Real::new(claude, 1, Home::ready());
    two_subscriptions(&mut r, "");
    r
}

/// Two subscriptions (`two_subscriptions`); max-a is at its session limit
/// until a reset some seconds ahead.
#[test]
fn a_limited_subscriptions_task_goes_to_another_accounts_pool_and_its_pool_works_after_the_reset() {
    let Some(claude) = claude_or_skip("a_limited_subscriptions_task_goes_to_another_accounts_pool")
    else {
        return;
    };
    let start = Instant::now();
    let r = two_accounts(&claude);
    let p = r.project("app");
    let body = "Say hello.";
    let message = Real::message("t.md", body);
    task_file(&p, "t.md", "high", body);
    let reset = whole_minute_ahead(LIMIT_AHEAD);
    r.api.limit(TOKEN_A, Claim::FiveHour, reset);

    // Config order: the task goes to max-a's pool first, whose agent takes
    // it and hits the limit; its StopFailure hook puts the task back.
    let (out, _) = r.run(&["--json", "scan"]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), r.describe());
    let first = json_lines(&out);
    assert_eq!(first[0]["event"], "dispatched", "{first:?}");
    assert_eq!(first[0]["session"], "ccl-auto-1", "{first:?}");
    r.wait_until(WAIT, "max-a is limited", || {
        r.w.account("max-a")["limited_until"].is_string()
    });
    assert!(epoch() < reset, "the test was too slow to see the limit");
    let a = r.w.account("max-a");
    // RFC 3339, and the reset exactly (the stand-in's is on a whole minute).
    let until: jiff::Timestamp = a["limited_until"].as_str().unwrap().parse().unwrap();
    assert_eq!(until.as_second(), reset as i64, "{a}");
    let reason = a["reason"].as_str().unwrap();
    // 2.1.197 calls the five-hour limit the session limit.
    assert!(
        [
            "You've hit your session limit · resets ",
            "You've hit your 5-hour limit · resets "
        ]
        .iter()
        .any(|w| reason.starts_with(w)),
        "the reason quotes the limit line: {a}"
    );
    assert!(r.w.account("max-b")["limited_until"].is_null());
    assert!(turn_of(&r, TOKEN_A, &message, 429), "{}", r.describe());
    // Claude Code runs the witness beside agent-queue's own StopFailure
    // hook, which may mark the account first.
    r.wait_until(WAIT, "the StopFailure hook is witnessed", || {
        !stop_failures(&r, "ccl-auto-1").is_empty()
    });
    let failures = stop_failures(&r, "ccl-auto-1");
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_eq!(failures[0]["error"], "rate_limit");
    assert_eq!(failures[0]["last_assistant_message"], reason);
    // Nothing goes to max-a until its reset.
    let (out, _) = r.run(&["free-session", "--pool", "default"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));

    // The task is back in its inbox (or a rescan of the same scan already
    // sent it on); the next scan sends it to max-b's pool, whose agent
    // takes it.
    r.wait_until(WAIT, "the task left max-a's session", || {
        p.join(".agent-queue/inbox/t.md").exists() || turn_of(&r, TOKEN_B, &message, 200)
    });
    let (out, _) = r.run(&["--json", "scan"]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), r.describe());
    r.wait_until(WAIT, "max-b's agent answered the task", || {
        turn_of(&r, TOKEN_B, &message, 200)
    });
    let received: Vec<String> = r
        .hooks("UserPromptSubmit")
        .iter()
        .map(|h| format!("{}: {}", h.session, h.json["prompt"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        received,
        [format!("ccl-auto-1: {message}"), format!("b-1: {message}")],
        "{}",
        r.describe()
    );
    // The limited agent was stopped (never answered: its menu is not typed
    // into), so that its session is at its shell when the limit is over.
    r.wait_until(WAIT, "max-a's agent was stopped", || {
        !r.w.agent_runs("ccl-auto-1")
    });

    // A task for max-a's pool waits while the limit lasts...
    let later = Real::message("later.md", "Say bye.");
    std::fs::write(
        p.join(".agent-queue/inbox/later.md"),
        "---\npool: default\n---\nSay bye.\n",
    )
    .unwrap();
    let (out, _) = r.run(&["--json", "scan", "--dry-run"]);
    let plan = json_lines(&out);
    let waiting = plan
        .iter()
        .find(|e| e["task"].as_str().is_some_and(|t| t.ends_with("later.md")))
        .unwrap_or_else(|| panic!("{plan:?}"));
    assert_eq!(waiting["event"], "waiting", "{plan:?}");
    assert!(
        waiting["reason"].as_str().unwrap().contains("usage limit"),
        "{plan:?}"
    );
    assert!(epoch() < reset, "the test was too slow to see the limit");

    // ...and goes there once it is over.
    let left = Duration::from_secs(reset.saturating_sub(epoch()));
    r.wait_until(left + WAIT, "max-a's pool is free again", || {
        r.run(&["free-session", "--pool", "default"])
            .0
            .status
            .success()
    });
    assert!(epoch() >= reset, "free before the reset");
    assert!(r.w.account("max-a")["limited_until"].is_null());
    let (out, _) = r.run(&["--json", "scan"]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), r.describe());
    r.wait_until(WAIT, "max-a's agent answered the later task", || {
        turn_of(&r, TOKEN_A, &later, 200)
    });
    let last = r.hooks("UserPromptSubmit").pop().unwrap();
    assert_eq!(last.session, "ccl-auto-1");
    assert_eq!(last.json["prompt"], later.as_str());
    eprintln!("the failover took {:?}", start.elapsed());
}
