//! `status`: what every session is doing and what waits where.

use std::time::Duration;

use crate::env::{stdout, World};

#[test]
fn status_lists_every_session_and_each_projects_pending_count() {
    let mut w = World::new(2);
    w.no_stop_hook();
    let mine = w.project("mine");
    w.dedicated("ccl-1-mine", &mine);
    let other = w.project("other");
    let t = w.task(&other, "t.md", "high", "x");
    w.task(&other, "u.md", "low", "x");
    w.task(&mine, "m.md", "low", "x");
    w.start_session("ccl-auto-1");
    w.start_session("ccl-1-mine");
    w.ok(&["dispatch", t.to_str().unwrap()]);
    w.wait_received(1, Duration::from_secs(20));

    let out = w.ok(&["--json", "status"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let sessions = v["sessions"].as_array().unwrap();
    let names: Vec<&str> = sessions
        .iter()
        .map(|s| s["session"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ccl-auto-1", "ccl-auto-2", "ccl-1-mine"]);
    assert_eq!(sessions[0]["kind"], "pool");
    assert_eq!(sessions[0]["alive"], true);
    assert_eq!(sessions[0]["state"], "working");
    assert!(sessions[0]["task"]
        .as_str()
        .unwrap()
        .ends_with("t.md.dispatched"));
    assert!(sessions[0]["since"].as_str().unwrap().ends_with('Z'));
    assert!(sessions[0]["held_secs"].is_u64(), "{v}");
    assert_eq!(sessions[1]["held_secs"], serde_json::Value::Null);
    assert_eq!(sessions[0]["cooldown_left"], 0);
    assert_eq!(sessions[1]["alive"], false);
    assert_eq!(sessions[2]["kind"], "dedicated");
    assert_eq!(sessions[2]["free"], false);
    let pending: Vec<(String, u64)> = v["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["project"].as_str().unwrap().to_string(),
                p["pending"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        pending.contains(&(other.display().to_string(), 1)),
        "{pending:?}"
    );
    assert!(
        pending.contains(&(mine.display().to_string(), 1)),
        "{pending:?}"
    );

    let table = stdout(&w.run(&["status"]));
    assert!(table.lines().next().unwrap().starts_with("POOL"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("SESSION")), "{table}");
    assert!(
        table.contains("ccl-1-mine") && table.contains("dedicated"),
        "{table}"
    );
    assert!(table.contains("PENDING"), "{table}");
    let header = table.lines().find(|l| l.starts_with("SESSION")).unwrap();
    let held = header.find("HELD").expect("a HELD column");
    let busy = table
        .lines()
        .find(|l| l.starts_with("ccl-auto-1 "))
        .unwrap();
    assert!(
        busy[held..].starts_with(|c: char| c.is_ascii_digit()),
        "{table}"
    );
    let idle = table
        .lines()
        .find(|l| l.starts_with("ccl-auto-2 "))
        .unwrap();
    assert!(idle[held..].starts_with('-'), "{table}");
}
