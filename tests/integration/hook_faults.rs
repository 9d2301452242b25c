//! Hooks that must not end, recycle or relabel a task: those of a Claude
//! Code that the agent ran itself (same `AGENT_QUEUE_RUN`, its own
//! `session_id`); and hook input that is odd but valid: a lone surrogate
//! escape, control characters in ids, a usage limit whose reset is past.

use std::time::Duration;

use crate::env::{events_named, stdout, World};

const WAIT: Duration = Duration::from_secs(60);

/// A world whose one session holds `t.md` with an agent that works for
/// `work` seconds; `hooks`: the stand-in calls `agent-queue hook` as
/// Claude Code does (else no hook runs but the ones the test sends).
fn holding(work: u32, hooks: bool) -> World {
    let mut w = World::new(1);
    w.no_stop_hook();
    w.agent_env.insert("AQ_AGENT_WORK".into(), work.to_string());
    if hooks {
        w.hooked();
    }
    let p = w.project("p");
    w.task(&p, "t.md", "high", "the task");
    w.start_pool();
    w.ok(&["scan"]);
    w.wait_received(1, WAIT);
    w
}

/// Sends one hook's JSON as an agent under the session's current start.
fn hook(w: &World, json: &str) -> std::process::Output {
    let nonce = w.state()["sessions"]["ccl-auto-1"]["started"]["nonce"]
        .as_str()
        .unwrap()
        .to_string();
    let mut cmd = w.cmd();
    cmd.arg("hook")
        .env("AGENT_QUEUE_RUN", nonce)
        .write_stdin(json.to_string());
    w.ok_cmd(&mut cmd)
}

#[test]
fn a_child_claude_codes_hooks_never_end_recycle_or_relabel_its_parents_task() {
    let w = holding(8, true);
    w.wait_until(WAIT, "the parent's receipt", || {
        w.state()["sessions"]["ccl-auto-1"]["receipt"]["agent_session_id"].is_string()
    });
    let parent = w.state()["sessions"]["ccl-auto-1"]["receipt"]["agent_session_id"]
        .as_str()
        .unwrap()
        .to_string();
    // The agent runs `claude -p …` on part of its task: the child takes a
    // prompt that quotes the task, hits a limit, and ends its turn.
    let child = "11111111-2222-4333-8444-555555555555";
    hook(
        &w,
        &format!(
            r#"{{"hook_event_name":"UserPromptSubmit","session_id":"{child}","prompt":"[t.md] the sub-part"}}"#
        ),
    );
    let out = hook(
        &w,
        &format!(
            r#"{{"hook_event_name":"StopFailure","session_id":"{child}","error":"rate_limit","last_assistant_message":"Claude AI usage limit reached|1999999999"}}"#
        ),
    );
    assert!(
        crate::env::stderr(&out).contains("another Claude Code than the one that took the task"),
        "{out:?}"
    );
    hook(
        &w,
        &format!(
            r#"{{"hook_event_name":"Stop","session_id":"{child}","last_assistant_message":"child done"}}"#
        ),
    );
    let state = w.state();
    let s = &state["sessions"]["ccl-auto-1"];
    assert_eq!(s["phase"], "working", "{state}");
    assert_eq!(s["receipt"]["agent_session_id"], parent.as_str(), "{state}");
    assert!(state["accounts"].get("default").is_none(), "{state}");
    assert!(w.agent_runs("ccl-auto-1"), "{}", w.describe());
    // The parent's own end, once its turn is over, ends the task: once.
    w.wait_until(WAIT, "the parent's Stop ends the task", || {
        w.session_state("ccl-auto-1") == "idle"
    });
    let journal = w.journal();
    let done = events_named(&journal, "done");
    assert_eq!(done.len(), 1, "{journal:?}");
    assert_eq!(done[0]["agent_session_id"], parent.as_str());
    assert_eq!(done[0]["message"], "Done: [t.md] the task");
    assert_eq!(events_named(&journal, "received").len(), 1, "{journal:?}");
    assert!(events_named(&journal, "limited").is_empty(), "{journal:?}");
}

#[test]
fn ids_lose_control_characters_and_a_lone_surrogate_does_not_drop_the_hook() {
    let w = holding(600, false);
    hook(
        &w,
        r#"{"hook_event_name":"UserPromptSubmit","session_id":"abc\n2026-01-01 fake row\u001b[2J","transcript_path":"/t\r/x.jsonl","prompt":"[t.md] the task"}"#,
    );
    let state = w.state();
    let receipt = &state["sessions"]["ccl-auto-1"]["receipt"];
    assert_eq!(
        receipt["agent_session_id"], "abc2026-01-01 fake row[2J",
        "{state}"
    );
    assert_eq!(receipt["transcript_path"], "/t/x.jsonl", "{state}");
    // What JavaScript writes for a string cut inside a surrogate pair.
    hook(
        &w,
        r#"{"hook_event_name":"Stop","session_id":"abc\n2026-01-01 fake row\u001b[2J","last_assistant_message":"Fixed it \ud83d"}"#,
    );
    assert_eq!(w.session_state("ccl-auto-1"), "idle");
    let journal = w.journal();
    let done = events_named(&journal, "done");
    assert_eq!(done.len(), 1, "{journal:?}");
    assert_eq!(done[0]["message"], "Fixed it \u{fffd}");
    let shown = stdout(&w.ok(&["history", "t.md"]));
    let rows: Vec<&str> = shown.lines().filter(|l| l.contains("fake row")).collect();
    assert!(!rows.is_empty(), "the id is shown: {shown}");
    for line in rows {
        assert!(
            line.contains("abc2026-01-01 fake row"),
            "a forged row: {shown}"
        );
    }
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
}

#[test]
fn a_reset_already_past_holds_the_account_for_limit_wait() {
    let w = holding(600, false);
    let out = hook(
        &w,
        r#"{"hook_event_name":"StopFailure","session_id":"s","error":"rate_limit","last_assistant_message":"Claude AI usage limit reached|1700000000"}"#,
    );
    let err = crate::env::stderr(&out);
    assert!(
        err.contains("is already past; waiting [agent] limit_wait (1h00m)"),
        "{err}"
    );
    let account = w.account("default");
    let until: jiff::Timestamp = account["limited_until"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("not limited: {account}"));
    let ahead = until.as_second() - jiff::Timestamp::now().as_second();
    assert!((3000..=3700).contains(&ahead), "{account}");
    // The agent is stopped; the task is back, and no scan sends it into
    // the same account again.
    w.wait_until(WAIT, "the limited agent stops", || {
        w.idle_at_shell("ccl-auto-1")
    });
    let inbox = w.project("p").join(".agent-queue/inbox");
    for _ in 0..3 {
        w.ok(&["scan"]);
    }
    assert!(inbox.join("t.md").exists(), "{}", w.describe());
    assert_eq!(w.received().len(), 1, "{}", w.describe());
}
