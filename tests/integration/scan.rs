//! `scan`: order, models, folders, concurrency, dedicated sessions, JSON.

use std::time::Duration;

use crate::env::{json_lines, World};

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn tasks_go_out_by_priority_then_age_then_name_across_projects() {
    let w = World::new(1);
    let a = w.project("alpha");
    let b = w.project("beta");
    // The two old default tasks are as old as each other to the
    // nanosecond, and the one whose name comes first is in the project that
    // comes second: only their names order them.
    let tasks = [
        (&a, "a-low.md", "low", 50),
        (&b, "b-default-new.md", "default", 10),
        (&a, "m-default-old.md", "default", 40),
        (&b, "b-critical.md", "critical", 5),
        (&a, "a-high.md", "HIGH", 1),
        (&b, "c-default-old.md", "default", 40),
    ];
    let now = std::time::SystemTime::now();
    for (project, name, priority, age) in tasks {
        let p = w.task(project, name, priority, &format!("task {name}"));
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(now - Duration::from_secs(age)).unwrap();
    }
    w.start_pool();
    w.ok(&["scan"]);
    let got = w.wait_received(6, WAIT);
    let order: Vec<&str> = got.iter().map(|r| r.text.lines().next().unwrap()).collect();
    assert_eq!(
        order,
        [
            "[b-critical.md] task b-critical.md",
            "[a-high.md] task a-high.md",
            "[c-default-old.md] task c-default-old.md",
            "[m-default-old.md] task m-default-old.md",
            "[b-default-new.md] task b-default-new.md",
            "[a-low.md] task a-low.md",
        ]
    );
}

#[test]
fn the_model_follows_the_priority_and_the_agent_starts_in_the_project() {
    let mut w = World::new(4);
    w.config("[agent.models]\ncritical = \"model-c\"\nhigh = \"model-h\"\nlow = \"model-l\"\n");
    let project = w.project("it's a \"project\" $(x) `y`; z");
    for p in ["critical", "high", "default", "low"] {
        w.task(&project, &format!("{p}.md"), p, p);
    }
    w.start_pool();
    let out = w.ok(&["--json", "scan"]);
    let got = w.wait_received(4, WAIT);
    for r in &got {
        let priority = r
            .text
            .split(']')
            .next()
            .unwrap()
            .trim_start_matches('[')
            .trim_end_matches(".md");
        let want = match priority {
            "critical" => "model-c",
            "high" => "model-h",
            "default" => "sonnet",
            _ => "model-l",
        };
        assert_eq!(r.model, want, "{priority}");
        assert_eq!(r.cwd, project, "the agent runs in the project folder");
    }
    let events = json_lines(&out);
    assert_eq!(events.len(), 4, "{events:?}");
    for e in &events {
        assert_eq!(e["event"], "dispatched");
        assert_eq!(e["project"], project.display().to_string());
        let task = e["task"].as_str().unwrap();
        assert!(
            task.ends_with(".md.dispatched") && std::path::Path::new(task).exists(),
            "{task}"
        );
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["event", "model", "priority", "project", "session", "task"]
        );
    }
    assert!(!w.path("projects/pwned").exists());
}

#[test]
fn launches_into_different_sessions_run_at_the_same_time() {
    let mut w = World::new(3);
    // Each stand-in shows its prompt only once all three have started, which
    // launches one after another would never reach.
    w.agent_env.insert("AQ_AGENT_BARRIER".into(), "3".into());
    let p = w.project("p");
    for i in 0..3 {
        w.task(&p, &format!("t{i}.md"), "default", "x");
    }
    w.start_pool();
    w.ok(&["scan"]);
    assert_eq!(w.wait_received(3, WAIT).len(), 3);
    assert!(
        !w.path("log/barrier-timeouts").exists(),
        "an agent waited for the others in vain"
    );
}

#[test]
fn scan_never_types_into_a_dedicated_session() {
    let mut w = World::new(1);
    let mine = w.project("mine");
    w.dedicated("ccl-1-mine", &mine);
    for i in 0..3 {
        w.task(&mine, &format!("t{i}.md"), "critical", "x");
    }
    w.start_session("ccl-1-mine");
    w.start_pool();
    let before = w.screen("ccl-1-mine");
    w.ok(&["scan"]);
    let got = w.wait_received(1, WAIT);
    assert!(got.iter().all(|r| r.session == "ccl-auto-1"), "{got:?}");
    // The dedicated project's inbox is scanned too, but its
    // session is never a target.
    assert_eq!(w.screen("ccl-1-mine"), before);
    assert_eq!(w.session_state("ccl-1-mine"), "idle");
}

#[test]
fn a_prefix_never_matches_a_longer_session_name() {
    let w = World::new(1); // pool: ccl-auto-1 only
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "x");
    w.start_session("ccl-auto-10");
    w.start_session("ccl-auto-11");
    let free = w.fails(&["free-session"], 1, "");
    assert!(free.stdout.is_empty());
    w.ok(&["scan"]);
    assert!(task.exists(), "the task stays in its inbox");
    assert!(
        !w.screen("ccl-auto-10").contains("cd "),
        "nothing was typed into ccl-auto-10"
    );
    assert!(w.received().is_empty());
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let w = World::new(2);
    let p = w.project("p");
    let tasks: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|n| w.task(&p, &format!("{n}.md"), "default", "x"))
        .collect();
    w.start_pool();
    let out = w.ok(&["--json", "scan", "--dry-run"]);
    let plan = json_lines(&out);
    assert_eq!(plan.len(), 3, "{plan:?}");
    assert_eq!(plan[0]["event"], "planned");
    assert_eq!(plan[0]["session"], "ccl-auto-1");
    assert_eq!(plan[0]["pool"], "default");
    assert_eq!(plan[1]["session"], "ccl-auto-2");
    assert_eq!(plan[2]["event"], "waiting");
    assert!(
        plan[2]["reason"]
            .as_str()
            .unwrap()
            .contains("no free session in pool(s) default"),
        "{plan:?}"
    );
    assert!(tasks.iter().all(|t| t.exists()));
    assert!(!w.state_path().exists(), "a dry run writes no state");
    assert!(w.received().is_empty());
}

#[test]
fn an_idle_scan_with_nothing_pending_calls_no_tmux_and_exits_0() {
    let mut w = World::new(2);
    w.start_pool();
    // A tmux that logs every call, then runs it: an error the scan might
    // pass over would not hide a call.
    let calls = w.path("tmux-calls.log");
    let counted = w.path("bin/tmux-counted");
    std::fs::create_dir_all(counted.parent().unwrap()).unwrap();
    std::fs::write(
        &counted,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec tmux \"$@\"\n",
            calls.display()
        ),
    )
    .unwrap();
    World::make_executable(&counted);
    w.config("");
    let cfg = std::fs::read_to_string(w.config_path()).unwrap();
    let cfg = cfg.replace(
        "command = [\"tmux\"",
        &format!("command = [{:?}", counted.display().to_string()),
    );
    std::fs::write(w.config_path(), cfg).unwrap();
    // The wrapper works: status goes through it.
    w.ok(&["status"]);
    assert!(std::fs::read_to_string(&calls)
        .unwrap()
        .contains("list-panes"));
    std::fs::remove_file(&calls).unwrap();
    w.project("p");
    w.ok(&["scan"]);
    assert!(
        !calls.exists(),
        "the idle scan called tmux: {}",
        std::fs::read_to_string(&calls).unwrap_or_default()
    );
}

#[test]
fn a_task_written_into_an_inbox_remembered_empty_is_found_by_the_next_scan() {
    let w = World::new(1);
    let p = w.project("p");
    let memo = w.state_path().with_file_name("quiet-inboxes.json");
    let inbox = p.join(".agent-queue/inbox");
    // Scans until the inbox is remembered empty (its times must be a
    // second old first: a change within the same clock tick could hide).
    w.wait_until(
        Duration::from_secs(10),
        "the empty inbox is remembered",
        || {
            w.ok(&["scan"]);
            std::fs::read_to_string(&memo).is_ok_and(|m| m.contains(inbox.to_str().unwrap()))
        },
    );
    w.start_pool();
    w.task(&p, "new.md", "high", "found");
    let events = json_lines(&w.ok(&["--json", "scan"]));
    assert_eq!(events[0]["event"], "dispatched", "{events:?}");
    w.wait_received(1, Duration::from_secs(60));
}
