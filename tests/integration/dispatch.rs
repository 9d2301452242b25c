//! `dispatch` and `free-session`: exit codes and what stays where.

use std::time::Duration;

use crate::env::{json_lines, stderr, stdout, World};

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn dispatch_takes_the_first_free_pool_session() {
    let mut w = World::new(2);
    // No Stop hook: the session keeps its task.
    w.no_stop_hook();
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "do it");
    w.start_pool();
    assert_eq!(stdout(&w.run(&["free-session"])).trim(), "ccl-auto-1");
    let out = w.ok(&["--json", "dispatch", task.to_str().unwrap()]);
    let events = json_lines(&out);
    assert_eq!(events[0]["session"], "ccl-auto-1");
    assert_eq!(events[0]["model"], "sonnet");
    assert!(!task.exists());
    assert!(p.join(".agent-queue/inbox/t.md.dispatched").exists());
    let got = w.wait_received(1, WAIT);
    assert_eq!(got[0].session, "ccl-auto-1");
    assert!(
        got[0].text.starts_with("[t.md] do it\n\nIMPORTANT:"),
        "{:?}",
        got[0].text
    );
    assert_eq!(w.session_state("ccl-auto-1"), "working");
    assert_eq!(stdout(&w.run(&["free-session"])).trim(), "ccl-auto-2");
}

#[test]
fn an_operator_may_dispatch_into_a_dedicated_session_by_hand() {
    let mut w = World::new(1);
    let mine = w.project("mine");
    w.dedicated("ccl-1-mine", &mine);
    let task = w.task(&mine, "by-hand.md", "low", "by hand");
    w.start_session("ccl-1-mine");
    w.ok(&[
        "dispatch",
        task.to_str().unwrap(),
        "--session",
        "ccl-1-mine",
    ]);
    let got = w.wait_received(1, WAIT);
    assert_eq!(got[0].session, "ccl-1-mine");
    assert_eq!(got[0].cwd, mine);
}

#[test]
fn no_free_session_is_exit_1_and_the_task_stays() {
    let w = World::new(1);
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    // No session is running at all.
    w.start_session("unrelated");
    w.fails(&["dispatch", task.to_str().unwrap()], 1, "");
    assert!(task.exists());
}

#[test]
fn bad_task_files_and_unknown_sessions_are_exit_2() {
    let w = World::new(1);
    let p = w.project("p");
    w.start_pool();
    let bad = p.join(".agent-queue/inbox/bad.md");
    std::fs::write(&bad, "---\npriority: soon\n---\nx").unwrap();
    let out = w.fails(&["dispatch", bad.to_str().unwrap()], 2, "");
    assert!(
        stderr(&out).contains("bad.md") && stderr(&out).contains("soon"),
        "{}",
        stderr(&out)
    );
    assert!(bad.exists());

    let good = w.task(&p, "good.md", "high", "x");
    w.fails(
        &["dispatch", good.to_str().unwrap(), "--session", "nobody"],
        2,
        "`nobody`",
    );

    let outside = w.path("loose.md");
    std::fs::write(&outside, "x").unwrap();
    w.fails(&["dispatch", outside.to_str().unwrap()], 2, "");
    assert!(good.exists() && w.received().is_empty());
}

#[test]
fn an_agent_that_never_gets_ready_is_exit_3_with_the_task_back_and_a_cooldown() {
    let mut w = World::new(1);
    w.config(&format!(
        "[agent]\ncommand = {:?}\nready_timeout = \"1s\"\nresume_dir = \"/nonexistent\"\n",
        w.agent_command()
    ));
    w.agent_env.insert("AQ_AGENT_MARKER".into(), ">>".into());
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    let out = w.fails(
        &["--json", "dispatch", task.to_str().unwrap()],
        3,
        "no ready marker",
    );
    assert!(task.exists(), "the task is back in its inbox");
    assert_eq!(json_lines(&out)[0]["event"], "failed");
    let state = w.state();
    assert!(
        state["sessions"]["ccl-auto-1"]["last_fail"].is_u64(),
        "{state}"
    );
    assert!(w.received().is_empty());
    // The failed launch stopped the agent it started; cooling down, the
    // session is still not free, for scan or free-session.
    assert!(!w.agent_runs("ccl-auto-1"), "{}", w.describe());
    w.fails(&["free-session"], 1, "");
}

#[test]
fn tmux_missing_is_exit_3_naming_tmux_and_the_task_is_untouched() {
    let w = World::new(1);
    let cfg = std::fs::read_to_string(w.config_path()).unwrap();
    std::fs::write(
        w.config_path(),
        cfg.replace("command = [\"tmux\"", "command = [\"/nonexistent/tmux\""),
    )
    .unwrap();
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    for args in [
        vec!["scan"],
        vec!["dispatch", task.to_str().unwrap()],
        vec!["free-session"],
    ] {
        w.fails(&args, 3, "tmux");
        assert!(task.exists());
    }
    // status still shows what it knows, and says by its status that
    // nothing answered.
    let out = w.fails(&["status"], 3, "no tmux server answered");
    assert!(
        stdout(&out).contains("unreachable") || stdout(&out).contains("unknown"),
        "{}",
        stdout(&out)
    );
}
