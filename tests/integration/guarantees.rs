//! agent-queue's guarantees under races and crashes: once, nothing lost, never
//! a torn state, renames that never overwrite.

use std::collections::BTreeMap;
use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::env::{events_named, expect_exit, json_lines, stderr, World};

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn sixty_tasks_six_sessions_six_scan_loops_every_task_exactly_once() {
    let w = World::new(6);
    let projects: Vec<_> = ["one", "two", "three"]
        .iter()
        .map(|p| w.project(p))
        .collect();
    let priorities = ["critical", "high", "default", "low"];
    for i in 0..60 {
        let project = &projects[i % projects.len()];
        w.task(
            project,
            &format!("task-{i:02}.md"),
            priorities[i % 4],
            &format!("task number {i}"),
        );
    }
    w.start_pool();

    let scans = w.while_looping(6, &["-q", "scan"], || {
        w.wait_received(60, WAIT);
        // Let the last recycles settle while the loops still run.
        w.wait_until(WAIT, "every session is idle at its shell", || {
            (1..=6).all(|i| {
                let s = w.pool_session(i);
                w.idle_at_shell(&s)
            })
        })
    });
    let failures: Vec<String> = scans
        .iter()
        .filter(|out| !out.status.success())
        .map(stderr)
        .collect();
    assert!(failures.is_empty(), "scans failed: {failures:?}");

    let received = w.received();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for r in &received {
        *count
            .entry(r.text.lines().next().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(count.len(), 60, "every task reached an agent");
    let doubled: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "dispatched more than once: {doubled:?}");
    // Each agent process took exactly one message: no session ever got a
    // second task while it held one.
    for entry in fs::read_dir(w.path("log")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".msg") {
            assert!(
                name.ends_with(".1.msg"),
                "an agent got a second message: {name}"
            );
        }
    }
    for p in &projects {
        let inbox = w.inbox(p);
        assert_eq!(inbox.len(), 20);
        assert!(
            inbox.iter().all(|n| n.ends_with(".md.dispatched")),
            "{inbox:?}"
        );
    }
    w.state(); // parses
}

/// Spawns `agent-queue dispatch` and SIGKILLs it once its launch has
/// noted `stage` in the session's launch lock file and `also` holds.
pub fn kill_dispatch_at(
    w: &World,
    task: &std::path::Path,
    session: &str,
    stage: &str,
    also: impl Fn() -> bool,
) {
    let mut child = w
        .std_cmd()
        .args([
            "-q",
            "dispatch",
            task.to_str().unwrap(),
            "--session",
            session,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = w.path(&format!(
        "state/agent-queue/state.json.launches/{session}.lock"
    ));
    let start = Instant::now();
    while fs::read_to_string(&lock).unwrap_or_default() != stage || !also() {
        assert!(start.elapsed() < WAIT, "the launch never reached {stage}");
        assert!(
            child.try_wait().unwrap().is_none(),
            "dispatch ended before {stage}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn a_dispatch_killed_before_the_agent_is_ready_is_recovered_by_the_next_scan() {
    let mut w = World::new(1);
    let once = w.path("slow-once");
    w.agent_env
        .insert("AQ_AGENT_START_ONCE".into(), once.display().to_string());
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "the task");
    w.start_pool();
    // Killed while the agent it started is still getting ready.
    kill_dispatch_at(&w, &task, "ccl-auto-1", "typed", || once.exists());
    assert_eq!(w.session_state("ccl-auto-1"), "launching");
    assert!(p.join(".agent-queue/inbox/t.md.dispatched").exists());

    let out = w.ok(&["--json", "scan"]);
    let events = json_lines(&out);
    let recovered = events_named(&events, "recovered");
    assert_eq!(recovered.len(), 1, "{events:?}");
    assert_eq!(recovered[0]["task"], task.display().to_string());
    assert!(recovered[0]["reason"].as_str().unwrap().contains("died"));
    // The half-started agent was interrupted; the task reaches an agent once,
    // from this scan's next pass or, if the pane was not back at its shell
    // yet, from the next scan.
    w.wait_until(WAIT, "the interrupted agent is gone", || {
        !w.agent_runs("ccl-auto-1") || !w.received().is_empty()
    });
    if task.exists() {
        w.ok(&["scan"]);
    }
    let got = w.wait_received(1, WAIT);
    assert_eq!(got.len(), 1);
    assert!(got[0].text.starts_with("[t.md] the task"));
    w.wait_until(WAIT, "the session is idle at its shell", || {
        w.idle_at_shell("ccl-auto-1")
    });
    assert_eq!(w.received().len(), 1);
    assert_eq!(w.inbox(&p), ["t.md.dispatched"]);
}

#[test]
fn a_dispatch_killed_after_pasting_leaves_the_task_with_its_agent_once() {
    let mut w = World::new(1);
    // The paste does not show, so the launch waits in its "pasted" stage.
    w.agent_env.insert("AQ_AGENT_NOECHO".into(), "1".into());
    w.no_stop_hook();
    let p = w.project("p");
    let task = w.task(&p, "t.md", "high", "the task");
    w.start_pool();
    kill_dispatch_at(&w, &task, "ccl-auto-1", "pasted", || true);

    let out = w.ok(&["--json", "scan"]);
    assert!(json_lines(&out).iter().all(|e| e["event"] != "recovered"));
    assert!(
        stderr(&out).contains("cut off after the paste"),
        "{}",
        stderr(&out)
    );
    let got = w.wait_received(1, WAIT);
    assert!(got[0].text.starts_with("[t.md] the task"));
    assert_eq!(w.session_state("ccl-auto-1"), "working");
    w.ok(&["scan"]);
    // A line typed after the scan reaches the agent after anything the
    // scan sent it: once it is in, nothing else came in between.
    w.tmux_ok(&["send-keys", "-t", "=ccl-auto-1:", "-l", "after the scans"]);
    w.tmux_ok(&["send-keys", "-t", "=ccl-auto-1:", "Enter"]);
    let got = w.wait_received(2, WAIT);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].text, "after the scans", "{got:?}");
    assert_eq!(w.inbox(&p), ["t.md.dispatched"]);
}

#[test]
fn a_session_that_dies_holding_a_task_gives_it_back() {
    let w = World::holding_a_task();
    let task = w.path("projects/p/.agent-queue/inbox/t.md");
    w.start_session("unrelated"); // keeps the server up
    w.tmux_ok(&["kill-session", "-t", "=ccl-auto-1"]);
    let out = w.ok(&["--json", "scan"]);
    let events = json_lines(&out);
    assert_eq!(events[0]["event"], "recovered", "{events:?}");
    assert!(events[0]["reason"]
        .as_str()
        .unwrap()
        .contains("ccl-auto-1 died"));
    assert!(task.exists(), "back in the inbox");
    assert_eq!(w.session_state("ccl-auto-1"), "idle");
}

#[test]
fn a_state_file_that_does_not_parse_is_exit_2_and_left_alone() {
    let w = World::new(1);
    w.project("p");
    fs::create_dir_all(w.state_path().parent().unwrap()).unwrap();
    fs::write(w.state_path(), "{\"sessions\": {\"ccl-auto-1\": ").unwrap();
    for args in [["scan"], ["status"], ["free-session"]] {
        let out = w.fails(&args, 2, "");
        assert!(
            stderr(&out).contains(&w.state_path().display().to_string()),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(
        fs::read_to_string(w.state_path()).unwrap(),
        "{\"sessions\": {\"ccl-auto-1\": "
    );
}

/// A tiny tmpfs holding the state folder, unmounted when dropped.
struct TinyDisk(std::path::PathBuf);

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
#[ignore = "needs root (mounts a tmpfs)"]
fn a_full_disk_leaves_the_old_state_whole() {
    let w = World::new(1);
    let dir = w.state_path().parent().unwrap().to_path_buf();
    fs::create_dir_all(&dir).unwrap();
    let mount = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
        .arg(&dir)
        .output()
        .expect("mount runs");
    expect_exit("mount -t tmpfs (run as root)", &mount, 0, "", String::new);
    let _disk = TinyDisk(dir.clone());
    // A first write makes the state and its lock.
    w.start_pool();
    w.ok(&["mark-idle", "ccl-auto-1", "--no-next"]);
    let before = fs::read(w.state_path()).unwrap();
    // Fill the disk.
    let mut filler = fs::File::create(dir.join("filler")).unwrap();
    let chunk = [0u8; 1024];
    while std::io::Write::write_all(&mut filler, &chunk).is_ok() {}
    drop(filler);
    let out = w.fails(&["mark-idle", "ccl-auto-1", "--no-next"], 3, "");
    let err = stderr(&out);
    assert!(
        err.contains("writing state") && err.contains("No space left"),
        "{err}"
    );
    assert_eq!(
        fs::read(w.state_path()).unwrap(),
        before,
        "the old state is intact"
    );
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_task_name_used_again_never_overwrites_the_old_record() {
    let mut w = World::new(1);
    w.no_stop_hook();
    let p = w.project("p");
    w.start_pool();
    for round in ["first", "second"] {
        let task = w.task(&p, "same.md", "high", round);
        w.ok(&["dispatch", task.to_str().unwrap()]);
        w.wait_received(if round == "first" { 1 } else { 2 }, WAIT);
        w.ok(&["mark-idle", "ccl-auto-1", "--no-next"]);
    }
    let inbox = p.join(".agent-queue/inbox");
    assert_eq!(w.inbox(&p), ["same.md.2.dispatched", "same.md.dispatched"]);
    assert!(fs::read_to_string(inbox.join("same.md.dispatched"))
        .unwrap()
        .contains("first"));
    assert!(fs::read_to_string(inbox.join("same.md.2.dispatched"))
        .unwrap()
        .contains("second"));
}
