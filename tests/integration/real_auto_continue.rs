//! Claude Code's `autoContinueAtUsageLimit` (on by default in the versions
//! after 2.1.197): at a usage limit the agent shows no menu and, once the
//! limit resets, continues its last task by itself (a `UserPromptSubmit`
//! whose prompt begins `Your claude.ai usage limit has reset`). A task that
//! agent-queue moved to another account must never also be continued by the
//! limited agent: with the default `on_limit = "stop"` the agent is stopped
//! when its limit is seen. Watched until well past the reset.

use std::path::PathBuf;
use std::time::Duration;

use crate::env::epoch;
use crate::fake_api::Claim;
use crate::real_agent::{claude_or_skip, task_file, version_of, Real, WAIT};
use crate::real_limits::{
    stop_failures, turn_of, two_accounts, whole_minute_ahead, TOKEN_A, TOKEN_B,
};

/// How far past the reset the limited agent is watched: Claude Code
/// continues 30 to 90 s after it.
const WATCH_PAST_RESET: u64 = 150;

/// Two accounts (`two_accounts`), a task `t.md`, and max-a at its limit
/// until a reset some 40 s ahead (on a whole minute, as Claude Code shows
/// it); `None` where Claude Code is missing or predates the setting.
struct Limited {
    r: Real,
    p: PathBuf,
    message: String,
    reset: u64,
}

fn limited(test: &str) -> Option<Limited> {
    let claude = claude_or_skip(test)?;
    if version_of(&claude) < (2, 1, 200) {
        eprintln!("{test}: {claude:?} predates autoContinueAtUsageLimit; not run");
        return None;
    }
    let r = two_accounts(&claude);
    let p = r.project("app");
    let body = "Say hello.";
    task_file(&p, "t.md", "high", body);
    let reset = whole_minute_ahead(40);
    r.api.limit(TOKEN_A, Claim::FiveHour, reset);
    Some(Limited {
        message: Real::message("t.md", body),
        r,
        p,
        reset,
    })
}

#[test]
fn a_limited_agent_never_takes_up_a_moved_task_after_its_reset() {
    let Some(Limited {
        r,
        p,
        message,
        reset,
    }) = limited("a_limited_agent_never_takes_up_a_moved_task")
    else {
        return;
    };

    // max-a's agent takes the task and hits the limit; the task moves on to
    // max-b's pool.
    let (out, _) = r.ok(&["--json", "scan"]);
    assert!(
        crate::env::json_lines(&out)
            .iter()
            .any(|e| e["event"] == "dispatched" && e["session"] == "ccl-auto-1"),
        "{}",
        r.describe()
    );
    r.wait_until(WAIT, "max-a is limited", || {
        r.w.account("max-a")["limited_until"].is_string()
    });
    // The witness hook runs beside agent-queue's, so it may log a moment
    // after the account is marked.
    r.wait_until(WAIT, "the StopFailure hook is witnessed", || {
        !stop_failures(&r, "ccl-auto-1").is_empty()
    });
    assert_eq!(stop_failures(&r, "ccl-auto-1").len(), 1, "{}", r.describe());
    r.wait_until(WAIT, "the task left max-a's session", || {
        p.join(".agent-queue/inbox/t.md").exists() || turn_of(&r, TOKEN_B, &message, 200)
    });
    r.ok(&["scan"]);
    r.wait_until(WAIT, "max-b's agent answered the task", || {
        turn_of(&r, TOKEN_B, &message, 200)
    });

    // Past the reset, scanning as a timer would: the limited agent does not
    // come back to the task, nor to anything else.
    while epoch() < reset + WATCH_PAST_RESET {
        r.ok(&["scan"]);
        std::thread::sleep(Duration::from_secs(10));
    }
    let prompts: Vec<(String, String)> = r
        .hooks("UserPromptSubmit")
        .iter()
        .map(|h| (h.session.clone(), r_prompt(&h.json)))
        .collect();
    assert_eq!(
        prompts,
        [
            ("ccl-auto-1".to_string(), message.clone()),
            ("b-1".to_string(), message.clone())
        ],
        "{}",
        r.describe()
    );
    let a_turns: Vec<u16> = r
        .api
        .turn_requests()
        .iter()
        .filter(|t| t.credential.as_deref() == Some(TOKEN_A))
        .map(|t| t.status)
        .collect();
    assert_eq!(a_turns, [429], "max-a answered nothing: {}", r.describe());
    assert!(!r.w.agent_runs("ccl-auto-1"), "{}", r.describe());
    assert_eq!(r.w.inbox(&p), ["t.md.dispatched"]);
}

fn r_prompt(json: &serde_json::Value) -> String {
    crate::real_agent::pasted(json["prompt"].as_str().unwrap_or_default())
}

/// With `on_limit = "leave"` the task stays with the limited agent, which
/// continues it by itself once the limit resets: it is never moved, so it
/// never runs twice. (This also shows that the watch above is long enough
/// to see an agent continue.)
#[test]
fn with_on_limit_leave_the_task_stays_with_its_agent_which_continues_it() {
    let Some(Limited {
        mut r,
        p,
        message,
        reset,
    }) = limited("with_on_limit_leave_the_task_stays_with_its_agent")
    else {
        return;
    };
    r.w.pool_config("on_limit = \"leave\"");
    r.ok(&["scan"]);
    r.wait_until(WAIT, "max-a is limited", || {
        r.w.account("max-a")["limited_until"].is_string()
    });
    // Scans while the limit lasts leave the task where it is.
    r.ok(&["scan"]);
    assert_eq!(
        r.w.session_state("ccl-auto-1"),
        "working",
        "{}",
        r.describe()
    );
    let deadline = Duration::from_secs((reset + WATCH_PAST_RESET).saturating_sub(epoch()));
    r.wait_until(deadline, "the limited agent continues its task", || {
        r.hooks("UserPromptSubmit").iter().any(|h| {
            h.session == "ccl-auto-1"
                && r_prompt(&h.json).starts_with("Your claude.ai usage limit has reset")
        })
    });
    r.wait_until(WAIT, "its task ends in its session", || {
        r.w.session_state("ccl-auto-1") == "idle"
    });
    assert!(!turn_of(&r, TOKEN_B, &message, 200), "{}", r.describe());
    let journal = r.w.journal();
    let done = crate::env::events_named(&journal, "done");
    assert_eq!(done.len(), 1, "{journal:?}");
    assert_eq!(done[0]["session"], "ccl-auto-1");
    assert_eq!(r.w.inbox(&p), ["t.md.dispatched"]);
}
