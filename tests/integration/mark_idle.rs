//! `mark-idle`: the recycle cycle driven by the agent's own Stop hook.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::env::{sh_quote, World};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn four_tasks_go_through_two_sessions_each_exactly_once() {
    let w = World::new(2);
    let p = w.project("p");
    let q = w.project("q");
    for i in 0..2 {
        w.task(&p, &format!("p{i}.md"), "default", &format!("body p{i}"));
        w.task(&q, &format!("q{i}.md"), "high", &format!("body q{i}"));
    }
    w.start_pool();
    w.ok(&["scan"]);
    let got = w.wait_received(4, WAIT);
    w.wait_all_idle(WAIT);
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for r in w.received() {
        *count
            .entry(r.text.lines().next().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(count.len(), 4, "{count:?}");
    assert!(count.values().all(|&n| n == 1), "{count:?}");
    let sessions: std::collections::BTreeSet<_> = got.iter().map(|r| r.session.clone()).collect();
    assert_eq!(sessions.len(), 2, "both sessions worked");
    for project in [&p, &q] {
        assert!(
            w.inbox(project)
                .iter()
                .all(|n| n.ends_with(".md.dispatched")),
            "{:?}",
            w.inbox(project)
        );
    }
}

#[test]
fn from_inside_it_returns_within_a_second_and_the_next_task_follows_the_exit() {
    let mut w = World::new(1);
    // The Stop hook times the bare `mark-idle` it runs.
    let hook = format!(
        "s=$(date +%s%N); {} -q mark-idle; echo $(( ($(date +%s%N) - s) / 1000000 )) >> {}",
        sh_quote(&crate::env::bin().display().to_string()),
        sh_quote(&w.path("hook-ms").display().to_string())
    );
    w.agent_env.insert("AQ_STOP_HOOK".into(), hook);
    let p = w.project("p");
    w.task(&p, "first.md", "high", "first");
    w.task(&p, "second.md", "low", "second");
    w.start_pool();
    w.ok(&["scan"]);
    let got = w.wait_received(2, WAIT);
    assert!(got[0].text.starts_with("[first.md]") && got[1].text.starts_with("[second.md]"));
    let gap = got[1].at.duration_since(got[0].at).unwrap();
    assert!(gap < Duration::from_secs(5), "the next task took {gap:?}");
    // Each task went to an agent of its own (the stand-in names its
    // messages <session>.<pid>.<n>.msg): the first one exited.
    let mut agents: Vec<String> = std::fs::read_dir(w.path("log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".msg"))
        .collect();
    agents.sort();
    assert_eq!(agents.len(), 2, "{agents:?}");
    assert!(agents.iter().all(|n| n.ends_with(".1.msg")), "{agents:?}");
    w.wait_until(WAIT, "both hooks finished", || {
        std::fs::read_to_string(w.path("hook-ms"))
            .map(|t| t.lines().count() >= 2)
            .unwrap_or(false)
    });
    for ms in std::fs::read_to_string(w.path("hook-ms")).unwrap().lines() {
        let ms: u64 = ms.parse().unwrap();
        assert!(ms < 1000, "mark-idle took {ms} ms inside the hook");
    }
}

#[test]
fn a_dedicated_session_is_only_marked_idle() {
    let mut w = World::new(1);
    let mine = w.project("mine");
    w.dedicated("ccl-1-mine", &mine);
    let first = w.task(&mine, "first.md", "high", "first");
    w.start_session("ccl-1-mine");
    w.ok(&[
        "dispatch",
        first.to_str().unwrap(),
        "--session",
        "ccl-1-mine",
    ]);
    w.wait_received(1, WAIT);
    // The agent's Stop hook ran `mark-idle` inside the dedicated session.
    w.wait_until(WAIT, "the dedicated session is idle", || {
        w.session_state("ccl-1-mine") == "idle"
    });
    let waiting = w.task(&mine, "waiting.md", "critical", "waiting");
    w.ok(&["mark-idle", "ccl-1-mine"]);
    // Never sent /exit, never given a task: the agent still runs.
    assert!(w.agent_runs("ccl-1-mine"), "{}", w.describe());
    assert!(!w.screen("ccl-1-mine").contains("/exit"));
    assert!(waiting.exists());
    assert_eq!(w.received().len(), 1);
}

#[test]
fn no_next_recycles_without_a_new_task() {
    let mut w = World::new(1);
    w.no_stop_hook();
    let p = w.project("p");
    let first = w.task(&p, "first.md", "high", "first");
    w.start_pool();
    w.ok(&["dispatch", first.to_str().unwrap()]);
    w.wait_received(1, WAIT);
    let next = w.task(&p, "next.md", "high", "next");
    w.ok(&["mark-idle", "ccl-auto-1", "--no-next"]);
    assert!(!w.agent_runs("ccl-auto-1"), "recycled: back at the shell");
    assert!(w.screen("ccl-auto-1").contains("Resume this session with:"));
    assert!(next.exists());
    assert_eq!(w.session_state("ccl-auto-1"), "idle");
    // Without --no-next, from outside: it waits for the shell and dispatches.
    w.ok(&["mark-idle", "ccl-auto-1"]);
    assert!(!next.exists());
    assert_eq!(w.wait_received(2, WAIT)[1].session, "ccl-auto-1");
}

#[test]
fn unknown_sessions_and_no_session_are_exit_2() {
    let w = World::new(1);
    w.fails(&["mark-idle", "ccl-auto-99"], 2, "ccl-auto-99");
    w.fails(&["mark-idle"], 2, "TMUX_PANE");
}
