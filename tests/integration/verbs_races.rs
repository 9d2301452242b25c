//! `cancel` raced for real against what else ends or hands out a task: a
//! scan, the agent's own Stop hook, another `cancel`. Each round runs the
//! racers as processes at once; whoever wins, the task must end in exactly
//! one place (cancelled, or with one agent / done), never both, never lost.

use std::path::Path;
use std::process::{Child, Output};
use std::time::Duration;

use crate::env::World;

const LIMIT: Duration = Duration::from_secs(60);

fn spawn(w: &World, args: &[&str]) -> Child {
    w.std_cmd()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

/// The names in the inbox that are task `stem`'s (`t3.md`, `t3.md.…`).
fn files_of(w: &World, project: &Path, stem: &str) -> Vec<String> {
    w.inbox(project)
        .into_iter()
        .filter(|n| n == &format!("{stem}.md") || n.starts_with(&format!("{stem}.md.")))
        .collect()
}

fn no_session_holds(w: &World, name: &str) -> bool {
    let state = w.state();
    state["sessions"].as_object().is_none_or(|s| {
        s.values()
            .all(|e| !e["task"].as_str().unwrap_or("").ends_with(name))
    })
}

#[test]
fn cancel_racing_a_scan_ends_with_the_task_cancelled_and_its_agent_stopped() {
    let mut w = World::new(1);
    w.no_stop_hook();
    let p = w.project("p");
    let s1 = w.pool_session(1);
    w.start_pool();
    let mut received_then_cancelled = 0;
    for i in 0..12 {
        let stem = format!("t{i}");
        w.task(&p, &format!("{stem}.md"), "high", &format!("race {i}"));
        let scan = spawn(&w, &["scan"]);
        let cancel = spawn(&w, &["cancel", &format!("{stem}.md")]);
        let (scan, cancel) = (finish(scan), finish(cancel));
        assert!(scan.status.success(), "{scan:?}");
        assert!(
            cancel.status.success(),
            "round {i}: {cancel:?}\n{}",
            w.describe()
        );
        assert_eq!(
            files_of(&w, &p, &stem),
            [format!("{stem}.md.cancelled")],
            "round {i}"
        );
        assert!(no_session_holds(&w, &format!("{stem}.md.dispatched")));
        w.wait_until(LIMIT, "the session is idle at its shell", || {
            w.idle_at_shell(&s1)
        });
        received_then_cancelled += w
            .received()
            .iter()
            .filter(|r| r.text.contains(&format!("race {i}")))
            .count();
    }
    // Which one wins is the scheduler's choice, so it is only printed:
    // every round's end is checked above, whichever order it had.
    eprintln!("{received_then_cancelled} of 12 reached their agent before the cancel");
    let journal = w.journal();
    assert_eq!(crate::env::events_named(&journal, "cancelled").len(), 12);
}

#[test]
fn cancel_racing_the_stop_hook_ends_the_task_once() {
    let mut w = World::new(1);
    w.no_stop_hook();
    w.agent_env.insert("AQ_AGENT_WORK".into(), "0.2".into());
    w.hooked();
    let p = w.project("p");
    let s1 = w.pool_session(1);
    w.start_pool();
    let (mut cancelled, mut done) = (0, 0);
    for i in 0..12 {
        let stem = format!("t{i}");
        w.task(&p, &format!("{stem}.md"), "high", &format!("race {i}"));
        // The recycle that followed the last Stop hook may take it first.
        w.ok(&["scan"]);
        w.wait_received(i + 1, LIMIT);
        // The agent's turn ends 0.2 s after the task arrived; the cancel
        // starts from 0 to 0.4 s after it, so it lands before, during and
        // after the Stop hook's work. (This only spreads the start: nothing
        // below depends on which one wins.)
        std::thread::sleep(Duration::from_millis(35 * i as u64));
        let cancel = finish(spawn(&w, &["cancel", &format!("{stem}.md")]));
        let files = files_of(&w, &p, &stem);
        match cancel.status.code() {
            Some(0) => {
                cancelled += 1;
                assert_eq!(files, [format!("{stem}.md.cancelled")], "round {i}");
            }
            Some(1) => {
                done += 1;
                assert_eq!(files, [format!("{stem}.md.dispatched")], "round {i}");
                assert!(String::from_utf8_lossy(&cancel.stderr).contains("is over"));
            }
            _ => panic!("round {i}: {cancel:?}\n{}", w.describe()),
        }
        assert!(
            no_session_holds(&w, &format!("{stem}.md.dispatched")),
            "round {i}"
        );
        w.wait_until(LIMIT, "the session is idle at its shell", || {
            w.idle_at_shell(&s1)
        });
    }
    eprintln!("cancel won {cancelled}, the Stop hook won {done}");
    let journal = w.journal();
    assert_eq!(
        crate::env::events_named(&journal, "cancelled").len(),
        cancelled
    );
    assert_eq!(w.received().len(), 12, "no task ran twice");
}

#[test]
fn two_cancels_of_one_task_end_it_once() {
    let mut w = World::new(1);
    w.no_stop_hook();
    let p = w.project("p");
    let s1 = w.pool_session(1);
    w.start_pool();
    for i in 0..6 {
        let stem = format!("t{i}");
        let task = w.task(&p, &format!("{stem}.md"), "high", &format!("race {i}"));
        w.ok(&["dispatch", task.to_str().unwrap()]);
        w.wait_received(i + 1, LIMIT);
        let a = spawn(&w, &["cancel", &format!("{stem}.md")]);
        let b = spawn(&w, &["cancel", &s1]);
        let codes = [finish(a).status.code(), finish(b).status.code()];
        let mut sorted = codes;
        sorted.sort();
        assert_eq!(sorted, [Some(0), Some(1)], "round {i}: one cancel wins");
        assert_eq!(files_of(&w, &p, &stem), [format!("{stem}.md.cancelled")]);
        assert!(w.idle_at_shell(&s1), "{}", w.describe());
    }
    let journal = w.journal();
    assert_eq!(crate::env::events_named(&journal, "cancelled").len(), 6);
}
