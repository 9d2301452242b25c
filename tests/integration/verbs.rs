//! The operator's verbs: cancel, requeue, pause, resume, peek, and what
//! `status` shows of them, on a real tmux server with the stand-in agent.

use std::fs;
use std::time::Duration;

use crate::env::{events_named, json_lines, stderr, stdout, World};

const LIMIT: Duration = Duration::from_secs(60);

fn status(w: &World) -> serde_json::Value {
    serde_json::from_str(&stdout(&w.ok(&["--json", "status"]))).unwrap()
}

#[test]
fn cancel_a_pending_task_and_the_scan_leaves_it() {
    let w = World::new(1);
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    let out = w.ok(&["--json", "cancel", "t.md"]);
    let e = &events_named(&json_lines(&out), "cancelled")[0].clone();
    let cancelled = p.join(".agent-queue/inbox/t.md.cancelled");
    assert_eq!(e["task"], cancelled.to_str().unwrap());
    assert!(!task.exists() && cancelled.exists());
    w.ok(&["scan"]);
    assert!(w.received().is_empty(), "a cancelled task never runs");
    assert_eq!(w.inbox(&p), ["t.md.cancelled"]);
    w.fails(&["cancel", "t.md"], 1, "is over (cancelled");
    w.fails(
        &["cancel", "nothing-like-it.md"],
        1,
        "no task and no session",
    );
    let journal = w.journal();
    assert_eq!(events_named(&journal, "cancelled").len(), 1);
    let s = status(&w);
    assert_eq!(s["projects"][0]["finished"], 1);
}

#[test]
fn cancel_a_held_task_stops_its_agent_and_frees_the_session() {
    let w = World::holding_a_task();
    let p = w.path("projects/p");
    let s1 = w.pool_session(1);
    assert!(w.agent_runs(&s1));
    let s = status(&w);
    assert_eq!(s["projects"][0]["held"], 1);
    assert_eq!(s["projects"][0]["finished"], 0);
    let life = stdout(&w.ok(&["history", "t.md"]));
    assert!(
        life.contains(&format!("t.md.dispatched (held by {s1})")) && life.contains("file "),
        "{life}"
    );
    let out = w.ok(&["--json", "cancel", "t.md"]);
    let e = events_named(&json_lines(&out), "cancelled")[0].clone();
    assert_eq!(e["session"], s1.as_str());
    let life = stdout(&w.ok(&["history", "t.md"]));
    assert!(
        life.contains("t.md.cancelled (finished (cancelled))"),
        "{life}"
    );
    assert!(e["reason"].as_str().unwrap().contains("stopped"), "{e}");
    assert_eq!(w.inbox(&p), ["t.md.cancelled"]);
    assert!(w.idle_at_shell(&s1), "{}", w.describe());
    // Free again: the next task goes there.
    let next = w.task(&p, "u.md", "high", "next one");
    w.ok(&["dispatch", next.to_str().unwrap()]);
    let firsts: Vec<String> = w
        .wait_received(2, LIMIT)
        .iter()
        .map(|r| r.text.clone())
        .collect();
    assert!(firsts[1].contains("next one"), "{firsts:?}");
}

#[test]
fn cancel_by_session_name_and_requeue_runs_it_again_once() {
    let w = World::holding_a_task();
    let p = w.path("projects/p");
    let s1 = w.pool_session(1);
    w.fails(
        &["requeue", "t.md"],
        1,
        &format!("{s1} still holds it; `agent-queue cancel {s1}`"),
    );
    w.ok(&["cancel", &s1]);
    w.fails(&["cancel", &s1], 1, "holds no task");
    assert_eq!(w.inbox(&p), ["t.md.cancelled"]);
    // A new task took the name meanwhile: nothing is overwritten.
    fs::write(
        p.join(".agent-queue/inbox/t.md"),
        "---\npriority: low\n---\nnew\n",
    )
    .unwrap();
    let out = w.ok(&[
        "--json",
        "requeue",
        p.join(".agent-queue/inbox/t.md.cancelled")
            .to_str()
            .unwrap(),
    ]);
    let e = events_named(&json_lines(&out), "requeued")[0].clone();
    assert_eq!(
        e["task"],
        p.join(".agent-queue/inbox/t.2.md").to_str().unwrap()
    );
    assert_eq!(w.inbox(&p), ["t.2.md", "t.md"]);
    assert_eq!(
        fs::read_to_string(p.join(".agent-queue/inbox/t.md")).unwrap(),
        "---\npriority: low\n---\nnew\n"
    );
    w.fails(&["requeue", "t.md"], 1, "pending already");
}

#[test]
fn requeue_a_finished_or_rejected_task() {
    let mut w = World::new(1);
    w.no_stop_hook();
    let p = w.project("p");
    let inbox = p.join(".agent-queue/inbox");
    fs::write(inbox.join("r.md.rejected"), "broken").unwrap();
    fs::write(
        inbox.join("d.md.dispatched"),
        "---\npriority: low\n---\ndone\n",
    )
    .unwrap();
    w.ok(&["requeue", "r.md"]);
    w.ok(&["requeue", inbox.join("d.md.dispatched").to_str().unwrap()]);
    assert_eq!(w.inbox(&p), ["d.md", "r.md"]);
    w.fails(
        &["requeue", "gone.md"],
        1,
        "no finished task named `gone.md`",
    );
    let journal = w.journal();
    assert_eq!(events_named(&journal, "requeued").len(), 2);
}

#[test]
fn cancel_in_a_dedicated_session_types_nothing_and_releases_the_task() {
    let mut w = World::new(1);
    w.no_stop_hook();
    let p = w.project("p");
    w.dedicated("mine", &p);
    w.start_session("mine");
    let task = w.task(&p, "t.md", "high", "by hand");
    w.ok(&["dispatch", task.to_str().unwrap(), "--session", "mine"]);
    w.wait_received(1, LIMIT);
    w.wait_until(LIMIT, "the agent's prompt is back", || {
        w.screen("mine").contains("done.\n❯")
    });
    let before = w.screen("mine");
    let out = w.ok(&["cancel", "mine"]);
    assert!(
        stderr(&out).contains("nothing was typed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        w.screen("mine"),
        before,
        "nothing typed into a dedicated session"
    );
    assert_eq!(w.inbox(&p), ["t.md.cancelled"]);
    assert_eq!(w.session_state("mine"), "idle");
}

#[test]
fn pause_holds_every_path_that_hands_out_work_and_resume_lifts_it() {
    let mut w = World::new(1);
    w.no_stop_hook();
    let p = w.project("p");
    let s1 = w.pool_session(1);
    w.start_pool();
    w.ok(&["pause"]);
    let s = status(&w);
    assert_eq!(s["pools"][0]["paused"], true, "{s}");
    assert!(
        s["sessions"][0]["busy"]
            .as_str()
            .unwrap()
            .contains("paused"),
        "{s}"
    );
    w.fails(&["free-session"], 1, "");
    let t1 = w.task(&p, "a.md", "high", "first");
    w.ok(&["scan"]);
    w.fails(
        &["dispatch", t1.to_str().unwrap()],
        1,
        "every pool is paused",
    );
    assert!(
        w.received().is_empty() && t1.exists(),
        "a paused pool takes nothing"
    );
    // An operator who names the session is not held.
    w.ok(&["dispatch", t1.to_str().unwrap(), "--session", &s1]);
    w.wait_received(1, LIMIT);
    // A session's next task, after its agent's end, is held too.
    let t2 = w.task(&p, "b.md", "high", "second");
    w.ok(&["mark-idle", &s1]);
    w.wait_until(LIMIT, "the session is idle at its shell", || {
        w.idle_at_shell(&s1)
    });
    assert_eq!(w.received().len(), 1);
    assert!(t2.exists());
    let out = w.ok(&["--json", "resume"]);
    assert_eq!(
        events_named(&json_lines(&out), "resumed")[0]["pools"],
        serde_json::json!(["default"])
    );
    w.ok(&["scan"]);
    let got = w.wait_received(2, LIMIT);
    assert!(got[1].text.contains("second"));
    let journal = w.journal();
    assert_eq!(events_named(&journal, "paused").len(), 1);
}

#[test]
fn a_paused_session_or_project_waits_while_the_rest_goes_on() {
    let mut w = World::new(2);
    w.no_stop_hook();
    let a = w.project("a");
    let b = w.project("b");
    let (s1, s2) = (w.pool_session(1), w.pool_session(2));
    w.start_pool();
    w.ok(&["pause", "--session", &s1, "--project", a.to_str().unwrap()]);
    w.fails(&["pause", "--pool", "nope"], 2, "unknown pool `nope`");
    w.fails(&["pause", "--session", "nope"], 2, "unknown session `nope`");
    let s = status(&w);
    let session = |n: &str| {
        s["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["session"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(session(&s1)["paused"], true);
    assert_eq!(session(&s2)["paused"], false);
    let project = |n: &std::path::Path| {
        s["projects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["project"] == n.to_str().unwrap())
            .unwrap()
            .clone()
    };
    assert_eq!(project(&a)["paused"], true);
    let ta = w.task(&a, "a.md", "critical", "from a");
    w.task(&b, "b.md", "low", "from b");
    let plan = stdout(&w.ok(&["scan", "--dry-run"]));
    assert!(plan.contains("its project is paused"), "{plan}");
    w.ok(&["scan"]);
    let got = w.wait_received(1, LIMIT);
    assert_eq!(got[0].session, s2);
    assert!(got[0].text.contains("from b"));
    assert!(ta.exists(), "a paused project's task stays in its inbox");
    w.ok(&["resume", "--project", a.to_str().unwrap(), "--session", &s1]);
    w.ok(&["scan"]);
    let got = w.wait_received(2, LIMIT);
    assert_eq!(got[1].session, s1);
}

#[test]
fn peek_shows_the_screen_and_the_task_and_types_nothing() {
    let w = World::holding_a_task();
    let s1 = w.pool_session(1);
    // The agent's turn is over once its prompt is back: the screen then
    // stays as it is unless something types.
    w.wait_until(LIMIT, "the agent's prompt is back", || {
        w.screen(&s1).contains("done.\n❯")
    });
    let before = w.screen(&s1);
    let out = w.ok(&["--json", "peek", &s1, "--lines", "3"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(
        v["task"].as_str().unwrap().ends_with("t.md.dispatched"),
        "{v}"
    );
    assert!(v["lines"].as_array().unwrap().len() <= 3);
    assert!(v["since"].is_string());
    let text = stdout(&w.ok(&["peek", &s1]));
    assert!(text.contains("t.md.dispatched"), "{text}");
    let last = before
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap()
        .trim_end();
    assert!(text.contains(last), "{text}\n--- screen:\n{before}");
    assert_eq!(w.screen(&s1), before, "peek types nothing");
    let s = status(&w);
    let shown = s["sessions"][0]["last_line"].as_str().unwrap().to_string();
    assert!(
        last.trim().starts_with(shown.trim_end_matches('…')),
        "{shown:?} vs {last:?}"
    );
    w.fails(&["peek", "nope"], 2, "unknown session `nope`");
}

#[test]
fn notify_gets_each_chosen_event_on_stdin_and_is_never_waited_for() {
    let mut w = World::new(1);
    let got = w.path("notified.jsonl");
    w.config(&format!(
        "[notify]\ncommand = \"cat >> {}; echo \\\"$AGENT_QUEUE_EVENT\\\" >> {}.names\"\n",
        got.display(),
        got.display()
    ));
    let p = w.project("p");
    w.task(&p, "a.md", "high", "x");
    w.ok(&["cancel", "a.md"]);
    w.ok(&["requeue", "a.md"]);
    let names_file = format!("{}.names", got.display());
    w.wait_until(LIMIT, "the notifier wrote the cancelled line", || {
        fs::read_to_string(&names_file).is_ok_and(|t| t.ends_with('\n'))
    });
    let line = fs::read_to_string(&got).unwrap();
    let e: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(e["event"], "cancelled");
    assert!(e["time"].is_string() && e["task"].as_str().unwrap().ends_with("a.md.cancelled"));
    let journal = w.journal();
    assert_eq!(
        journal.iter().find(|j| j["event"] == "cancelled").unwrap(),
        &e,
        "the notifier gets the history line itself"
    );
    // `requeued` is not among the default events.
    assert_eq!(events_named(&journal, "requeued").len(), 1);
    assert_eq!(line.lines().count(), 1, "{line}");
    let names = fs::read_to_string(&names_file).unwrap();
    assert_eq!(names, "cancelled\n");

    // A slow notifier does not hold the command up; a failing or missing
    // one changes nothing, and the next command the operator runs warns of
    // it, once.
    for (command, failure) in [
        ("sleep 30", None),
        ("exit 3", Some("exited 3")),
        ("/no/such/notifier", Some("exited 127")),
    ] {
        let mut w = World::new(1);
        w.config(&format!(
            "[notify]\ncommand = {command:?}\nevents = [\"cancelled\"]\n"
        ));
        let p = w.project("p");
        w.task(&p, "a.md", "high", "x");
        let start = std::time::Instant::now();
        let out = w.ok(&["cancel", "a.md"]);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{command}: {:?}",
            start.elapsed()
        );
        assert!(!stderr(&out).contains("[notify]"), "{}", stderr(&out));
        let Some(failure) = failure else { continue };
        let noted = w.state_path().with_file_name("notify.failed");
        w.wait_until(LIMIT, "the failed run is noted", || noted.exists());
        let out = w.ok(&["requeue", "a.md"]);
        let err = stderr(&out);
        assert!(
            err.contains(&format!("[notify] command for `cancelled` {failure}"))
                && err.contains("notify.log"),
            "{command}: {err}"
        );
        assert!(!stderr(&w.run(&["status"])).contains("[notify]"), "once");
    }
}

#[test]
fn a_done_tasks_file_is_finished_for_status_and_history_alike() {
    let w = World::new(1);
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    w.ok(&["dispatch", task.to_str().unwrap()]);
    w.wait_received(1, LIMIT);
    w.wait_all_idle(LIMIT);
    let s = status(&w);
    assert_eq!(s["projects"][0]["held"], 0, "{s}");
    assert_eq!(s["projects"][0]["finished"], 1, "{s}");
    let life = stdout(&w.ok(&["history", "t.md"]));
    assert!(
        life.contains("t.md.dispatched (finished (dispatched))"),
        "{life}"
    );
    let text = stdout(&w.ok(&["status"]));
    assert!(text.contains("FINISHED"), "{text}");
}

#[test]
fn a_pool_session_whose_agent_cannot_be_stopped_is_named_and_kept_out() {
    let mut w = World::new(1);
    w.no_stop_hook();
    // An agent deaf to C-c, on a server that refuses to respawn panes.
    let deaf = w.path("bin/deaf-agent");
    fs::write(
        &deaf,
        format!(
            "#!/bin/sh\ntrap '' INT\nexec {} \"$@\"\n",
            crate::env::sh_quote(&crate::env::stand_in_agent().display().to_string())
        ),
    )
    .unwrap();
    World::make_executable(&deaf);
    let tmux = w.path("bin/tmux-no-respawn");
    fs::write(
        &tmux,
        "#!/bin/sh\nfor a; do [ \"$a\" = respawn-pane ] && { echo 'respawn refused' >&2; exit 1; }; done\nexec tmux \"$@\"\n",
    )
    .unwrap();
    World::make_executable(&tmux);
    w.pool_config(&format!(
        "tmux = [{:?}, \"-L\", {:?}, \"-f\", \"/dev/null\"]",
        tmux.display().to_string(),
        w.socket
    ));
    w.config(&format!(
        "[agent]\ncommand = \"{} --model {{model}}\"\nready_timeout = \"10s\"\nresume_dir = {:?}\n",
        deaf.display(),
        w.path("resume").display().to_string()
    ));
    let p = w.project("p");
    let s1 = w.pool_session(1);
    let task = w.task(&p, "t.md", "high", "x");
    w.start_pool();
    w.ok(&["dispatch", task.to_str().unwrap()]);
    w.wait_received(1, LIMIT);
    let out = w.ok(&["--json", "cancel", &s1]);
    let e = events_named(&json_lines(&out), "cancelled")[0].clone();
    assert!(
        e["reason"]
            .as_str()
            .unwrap()
            .contains("could not be stopped"),
        "{e}"
    );
    assert!(
        stderr(&out).contains(&format!("{s1}: its agent still runs")),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.inbox(&p), ["t.md.cancelled"]);
    assert!(w.agent_runs(&s1));
    // Kept out: no task goes there while its agent runs.
    let s = status(&w);
    assert_eq!(s["sessions"][0]["free"], false, "{s}");
    w.fails(&["free-session"], 1, "");
    let next = w.task(&p, "u.md", "high", "y");
    w.ok(&["scan"]);
    assert!(next.exists() && w.received().len() == 1);
}
