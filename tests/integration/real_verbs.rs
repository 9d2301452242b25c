//! The operator's verbs against the real Claude Code CLI: a cancel stops a
//! Claude Code that is at work (its turn held unanswered by the stand-in
//! API), and the requeued task then runs once, in another session.

use crate::env::{events_named, json_lines};
use crate::real_agent::{claude_or_skip, task_file, Home, Real, WAIT};

#[test]
fn a_working_claude_code_is_cancelled_and_its_task_requeued_runs_once_elsewhere() {
    let Some(claude) = claude_or_skip("a_working_claude_code_is_cancelled") else {
        return;
    };
    let r = Real::new(&claude, 2, Home::ready());
    let (s1, s2) = (r.w.pool_session(1), r.w.pool_session(2));
    let p = r.project("app");
    let marker = "cancel-me-7f3e";
    r.api.hold(marker);
    let task = task_file(&p, "t.md", "high", &format!("Say {marker}."));
    r.w.start_pool();
    r.ok(&["dispatch", task.to_str().unwrap(), "--session", &s1]);
    r.wait_until(
        WAIT,
        "Claude Code's turn reached the API and waits there",
        || {
            r.api
                .turn_requests()
                .iter()
                .any(|q| q.body["messages"].to_string().contains(marker))
        },
    );
    assert!(r.w.agent_runs(&s1));

    let (out, _) = r.ok(&["--json", "cancel", "t.md"]);
    let e = events_named(&json_lines(&out), "cancelled")[0].clone();
    assert_eq!(e["session"], s1.as_str(), "{e}");
    assert!(e["reason"].as_str().unwrap().contains("stopped"), "{e}");
    r.wait_until(WAIT, "the cancelled session is idle at its shell", || {
        r.w.idle_at_shell(&s1)
    });
    assert_eq!(r.w.inbox(&r.w.path("projects/app")), ["t.md.cancelled"]);

    // Elsewhere: the first session is paused.
    r.api.release(marker);
    r.ok(&["pause", "--session", &s1]);
    r.ok(&["requeue", "t.md"]);
    r.ok(&["scan"]);
    r.wait_until(
        WAIT,
        "the requeued task is done and both sessions idle",
        || {
            let (out, _) = r.run(&["--json", "history", "t.md"]);
            events_named(&json_lines(&out), "done").len() == 1 && r.w.all_idle_at_shell()
        },
    );
    let (out, _) = r.ok(&["--json", "history", "t.md"]);
    let lines = json_lines(&out);
    let done = events_named(&lines, "done");
    assert_eq!(done.len(), 1, "{lines:?}");
    assert_eq!(done[0]["session"], s2.as_str());
    let dispatched: Vec<&str> = events_named(&lines, "dispatched")
        .iter()
        .map(|e| e["session"].as_str().unwrap())
        .collect();
    assert_eq!(dispatched, [s1.as_str(), s2.as_str()]);
    // The agent of the first session got it once, the second's once.
    let prompts = r.prompts();
    assert_eq!(prompts.len(), 2, "{prompts:?}");
}
