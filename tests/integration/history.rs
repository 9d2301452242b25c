//! The history journal and `history`: what every invocation reported, in
//! one file that concurrent scans and Stop hooks append to, read back for
//! people and pipelines.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::env::{json_lines, stderr, stdout, World};

const WAIT: Duration = Duration::from_secs(60);

fn dispatched_name(task: &Path) -> String {
    format!("{}.dispatched", task.display())
}

/// Submits a task without tmux: one `submitted` line in the journal.
fn submit(w: &World, project: &Path, title: &str) -> PathBuf {
    let out = w.ok_cmd(
        w.cmd()
            .args(["submit", project.to_str().unwrap(), "--title", title])
            .write_stdin("a body"),
    );
    PathBuf::from(stdout(&out).trim())
}

#[test]
fn a_scan_dispatch_mark_idle_cycle_is_in_the_history() {
    let mut w = World::new(2);
    // A dispatch is reported once its launch is over; an agent that takes
    // a moment has its Stop hook write `idle` after that.
    w.agent_env.insert("AQ_AGENT_WORK".into(), "1".into());
    let p = w.project("p");
    let q = w.project("q");
    let a = w.task(&p, "a.md", "high", "task a");
    let b = w.task(&p, "b.md", "low", "task b");
    let c = w.task(&q, "c.md", "default", "task c");
    w.start_pool();
    w.ok(&["scan"]);
    w.wait_received(3, WAIT);
    let all_idle = || w.all_idle_at_shell();
    w.wait_until(WAIT, "both sessions are idle at a shell", all_idle);
    // One more by hand, into a named session, from a project the scans and
    // the Stop hooks' next-task search do not know.
    let hand = w.path("elsewhere/hand");
    fs::create_dir_all(hand.join(".agent-queue/inbox")).unwrap();
    let d = w.task(&hand, "d.md", "critical", "task d");
    w.ok(&["dispatch", d.to_str().unwrap(), "--session", "ccl-auto-2"]);
    w.wait_received(4, WAIT);
    w.wait_until(WAIT, "both sessions are idle at a shell", all_idle);

    let out = w.ok(&["--json", "history"]);
    let lines = json_lines(&out);
    assert_eq!(lines, w.journal(), "--json prints the journal's lines");
    for line in &lines {
        let time = line["time"].as_str().unwrap();
        assert!(
            time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
            "{line}"
        );
    }
    for task in [&a, &b, &c, &d] {
        let held = dispatched_name(task);
        let events: Vec<(&str, &str, &str)> = lines
            .iter()
            .filter(|l| l["task"] == held.as_str())
            .map(|l| {
                (
                    l["event"].as_str().unwrap(),
                    l["session"].as_str().unwrap_or(""),
                    l["time"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(events.len(), 2, "{held}: {events:?}");
        assert_eq!(events[0].0, "dispatched", "{held}: {events:?}");
        assert_eq!(events[1].0, "idle", "{held}: {events:?}");
        assert_eq!(events[0].1, events[1].1, "one session: {events:?}");
        assert!(events[0].2 <= events[1].2, "{events:?}");
    }
    let first = lines
        .iter()
        .find(|l| l["task"] == dispatched_name(&a))
        .unwrap();
    assert_eq!(first["priority"], "high");
    assert_eq!(first["project"], p.display().to_string());
    let a_session = first["session"].as_str().unwrap().to_string();

    // One task's life: by any of its names, or by its file name alone.
    for name in [
        a.display().to_string(),
        dispatched_name(&a),
        "a.md".to_string(),
    ] {
        let out = w.ok(&["history", &name]);
        let text = stdout(&out);
        assert!(
            text.starts_with(&format!("{}\n", a.display())),
            "{name}: {text}"
        );
        let dispatched = text.lines().find(|l| l.contains("dispatched")).unwrap();
        assert!(dispatched.contains(" +0s "), "{text}");
        assert!(dispatched.contains(&a_session), "{text}");
        assert!(text.lines().any(|l| l.contains(" idle ")), "{text}");
        let session = text.lines().find(|l| l.starts_with("session ")).unwrap();
        assert!(session.ends_with(&a_session), "{text}");
        assert!(text.contains("done after"), "{text}");
    }

    // The table, and the filters.
    let out = w.ok(&["history"]);
    let table = stdout(&out);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME", "EVENT", "SESSION", "TASK", "DETAIL"]);
    assert_eq!(table.lines().count(), lines.len() + 1, "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains("d.md.dispatched") && l.contains("critical, model")),
        "{table}"
    );

    let only = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = w.ok(&[&["--json", "history"][..], args].concat());
        json_lines(&out)
    };
    let mine = only(&["--session", "ccl-auto-2"]);
    assert!(!mine.is_empty());
    assert!(
        mine.iter().all(|l| l["session"] == "ccl-auto-2"),
        "{mine:?}"
    );
    assert!(mine.iter().any(|l| l["task"] == dispatched_name(&d)));
    let in_q = only(&["--project", q.to_str().unwrap()]);
    let tasks: BTreeSet<&str> = in_q.iter().map(|l| l["task"].as_str().unwrap()).collect();
    assert_eq!(tasks, BTreeSet::from([dispatched_name(&c).as_str()]));
    let by_hand = only(&["--project", hand.to_str().unwrap()]);
    assert!(by_hand
        .iter()
        .all(|l| l["task"] == dispatched_name(&d).as_str()));
    assert_eq!(by_hand.len(), 2, "{by_hand:?}");
    assert_eq!(only(&["--since", "1h"]).len(), lines.len());
    assert_eq!(only(&["--since", "2000-01-01"]).len(), lines.len());
    // From the dispatch by hand on (its second: times have whole seconds).
    let since = lines
        .iter()
        .find(|l| l["task"] == dispatched_name(&d))
        .unwrap()["time"]
        .as_str()
        .unwrap()
        .to_string();
    let recent = only(&["--since", &since]);
    assert!(recent.len() < lines.len() || lines[0]["time"] == since.as_str());
    assert!(recent
        .iter()
        .all(|l| l["time"].as_str().unwrap() >= since.as_str()));
    assert!(recent.iter().any(|l| l["task"] == dispatched_name(&d)));

    // Nothing found; a bad argument.
    for args in [
        &["history", "--since", "2999-01-01"][..],
        &["history", "--session", "nobody"],
        &["history", "no-such-task.md"],
    ] {
        let out = w.fails(args, 1, "");
        assert!(stdout(&out).is_empty());
    }
    w.fails(&["history", "--since", "last tuesday"], 2, "`last tuesday`");
}

#[test]
fn the_agents_hooks_add_received_and_done_and_a_tasks_life_sums_them_up() {
    let mut w = World::new(1);
    w.no_stop_hook();
    w.hooked();
    let p = w.project("p");
    let task = w.task(&p, "fix.md", "high", "fix the login");
    w.start_pool();
    w.ok(&["scan"]);
    w.wait_received(1, WAIT);
    w.wait_until(WAIT, "the session is idle at its shell", || {
        w.idle_at_shell("ccl-auto-1")
    });

    let held = dispatched_name(&task);
    let journal = w.journal();
    let mine: Vec<&serde_json::Value> = journal
        .iter()
        .filter(|l| l["task"] == held.as_str())
        .collect();
    let mut events: Vec<&str> = mine.iter().map(|l| l["event"].as_str().unwrap()).collect();
    events.sort();
    assert_eq!(
        events,
        ["dispatched", "done", "idle", "received"],
        "{mine:?}"
    );
    let received = mine.iter().find(|l| l["event"] == "received").unwrap();
    let id = received["agent_session_id"].as_str().unwrap().to_string();
    let transcript = received["transcript_path"].as_str().unwrap().to_string();
    let done = mine.iter().find(|l| l["event"] == "done").unwrap();
    assert_eq!(done["agent_session_id"], id.as_str());
    assert_eq!(done["message"], "Done: [fix.md] fix the login");

    let out = w.ok(&["history", "fix.md"]);
    let text = stdout(&out);
    let order: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            ["dispatched", "received", "done", "idle"]
                .into_iter()
                .find(|e| l.split_whitespace().nth(2) == Some(*e))
        })
        .collect();
    assert_eq!(order, ["dispatched", "received", "done", "idle"], "{text}");
    let value = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key}: {text}"))[key.len()..]
            .trim()
            .to_string()
    };
    assert_eq!(value("session"), "ccl-auto-1");
    assert_eq!(value("agent session id"), id);
    assert_eq!(value("transcript"), transcript);
    assert!(value("received after").ends_with('s'), "{text}");
    assert!(value("done after").ends_with('s'), "{text}");
    assert!(
        text.ends_with("last message:\n  Done: [fix.md] fix the login\n"),
        "{text}"
    );
    // The table's detail for `done` is the message.
    let table = stdout(&w.run(&["history", "--session", "ccl-auto-1"]));
    assert!(
        table
            .lines()
            .any(|l| l.contains(" done ") && l.ends_with("Done: [fix.md] fix the login")),
        "{table}"
    );
}

#[test]
fn six_scan_loops_and_the_agents_hooks_write_one_whole_line_per_event() {
    let mut w = World::new(4);
    // The agents call `agent-queue hook` as Claude Code does: receipts and
    // ends are written by the hooks while six scans write theirs.
    w.no_stop_hook();
    w.hooked();
    let projects: Vec<_> = ["one", "two"].iter().map(|p| w.project(p)).collect();
    let tasks: Vec<PathBuf> = (0..24)
        .map(|i| {
            w.task(
                &projects[i % 2],
                &format!("task-{i:02}.md"),
                ["critical", "high", "default", "low"][i % 4],
                &format!("task number {i}"),
            )
        })
        .collect();
    w.start_pool();

    let scans = w.while_looping(6, &["-q", "--json", "scan"], || {
        w.wait_received(24, WAIT);
        w.wait_all_idle(WAIT);
    });
    let printed: Vec<serde_json::Value> = scans.iter().flat_map(json_lines).collect();
    let failures: Vec<String> = scans
        .iter()
        .filter(|out| !out.status.success())
        .map(stderr)
        .collect();
    assert!(failures.is_empty(), "scans failed: {failures:?}");

    let journal = w.journal(); // every line parses
    for key in ["time", "event", "task", "session"] {
        assert!(journal.iter().all(|l| l.get(key).is_some()), "{key}");
    }
    let key = |l: &serde_json::Value| {
        (
            l["event"].as_str().unwrap_or("").to_string(),
            l["task"].as_str().unwrap_or("").to_string(),
            l["session"].as_str().unwrap_or("").to_string(),
        )
    };
    let mut count: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for l in &journal {
        assert!(l["time"].is_string(), "{l}");
        let slot = count.entry(l["task"].as_str().unwrap_or("")).or_default();
        match l["event"].as_str().unwrap() {
            "dispatched" => slot[0] += 1,
            "received" => slot[1] += 1,
            "done" => slot[2] += 1,
            "idle" => slot[3] += 1,
            _ => {}
        }
    }
    for task in &tasks {
        let held = dispatched_name(task);
        assert_eq!(
            count.get(held.as_str()).copied(),
            Some([1, 1, 1, 1]),
            "{held}: one dispatched, received, done and idle line"
        );
    }
    // What the scans printed, the journal has, line for line.
    let journaled: BTreeSet<_> = journal.iter().map(key).collect();
    assert!(!printed.is_empty());
    for e in &printed {
        assert!(journaled.contains(&key(e)), "not in the journal: {e}");
        let line = journal.iter().find(|l| key(l) == key(e)).unwrap();
        let mut own = line.clone();
        let map = own.as_object_mut().unwrap();
        map.remove("time");
        map.retain(|k, v| !v.is_null() || e.get(k).is_some());
        assert_eq!(&own, e, "the journal line is the --json line");
    }
    let out = w.ok(&["history"]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn a_torn_line_is_skipped_with_a_warning_naming_it() {
    let w = World::new(1);
    let p = w.project("p");
    let first = submit(&w, &p, "first");
    // A writer that died halfway through its line.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(w.history_path())
        .unwrap();
    std::io::Write::write_all(
        &mut f,
        b"{\"time\":\"2026-11-24T03:14:00Z\",\"event\":\"disp",
    )
    .unwrap();
    drop(f);
    let second = submit(&w, &p, "second");

    let out = w.ok(&["--json", "history"]);
    let tasks: Vec<String> = json_lines(&out)
        .iter()
        .map(|l| l["task"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        tasks,
        [first.display().to_string(), second.display().to_string()]
    );
    let err = stderr(&out);
    let warning = format!("{} line 2:", w.history_path().display());
    assert_eq!(err.matches(&warning).count(), 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    w.fails(&["history", "first.md"], 1, "");
    w.ok(&["history", first.to_str().unwrap()]);
}

#[test]
fn a_full_journal_rotates_to_dot_1_and_history_reads_both() {
    let mut w = World::new(1);
    let p = w.project("p");
    let mut submitted = vec![submit(&w, &p, "t0")];
    let line = fs::metadata(w.history_path()).unwrap().len();
    // Room for five and a half lines: the seventh append rotates.
    w.config(&format!("[history]\nmax_size = \"{}B\"\n", line * 11 / 2));
    for i in 1..9 {
        submitted.push(submit(&w, &p, &format!("t{i}")));
    }
    let rotated = PathBuf::from(format!("{}.1", w.history_path().display()));
    let old = fs::read_to_string(&rotated).expect("rotated to .1");
    let new = fs::read_to_string(w.history_path()).unwrap();
    assert_eq!(old.lines().count(), 6, "{old}");
    assert_eq!(new.lines().count(), 3, "{new}");
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(&rotated).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let out = w.ok(&["--json", "history"]);
    let tasks: Vec<String> = json_lines(&out)
        .iter()
        .map(|l| l["task"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = submitted.iter().map(|t| t.display().to_string()).collect();
    assert_eq!(tasks, expected, "oldest first, across both files");
    w.ok(&["history", submitted[0].to_str().unwrap()]);
}

#[test]
fn a_journal_that_cannot_be_written_is_a_warning_and_the_scan_still_dispatches() {
    let w = World::new(1);
    let p = w.project("p");
    w.task(&p, "t.md", "high", "the task");
    fs::create_dir_all(w.history_path()).unwrap();
    w.start_pool();
    let out = w.ok(&["scan"]);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("history journal {}", w.history_path().display())),
        "{err}"
    );
    assert_eq!(err.matches("history journal").count(), 1, "once: {err}");
    assert!(err.contains("dispatched"), "{err}");
    let got = w.wait_received(1, WAIT);
    assert!(got[0].text.starts_with("[t.md] the task"));
    assert_eq!(w.inbox(&p), ["t.md.dispatched"]);
    w.wait_until(WAIT, "the session is idle at its shell", || {
        w.idle_at_shell("ccl-auto-1")
    });
    w.fails(&["history"], 3, "");
}
