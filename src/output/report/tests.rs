use super::*;
use crate::queue::task::Priority;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

#[test]
fn dispatched_json_has_the_contract_keys() {
    let e = Event::example_dispatched();
    let v: serde_json::Value = serde_json::to_value(&e).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"event": "dispatched", "session": "ccl-auto-11",
            "task": "/p/.agent-queue/inbox/x.md.dispatched", "project": "/p",
            "priority": "high", "model": "sonnet"})
    );
    let r = serde_json::to_value(Event::Rejected {
        task: "/x".into(),
        reason: "bad".into(),
    })
    .unwrap();
    assert_eq!(
        r,
        serde_json::json!({"event": "rejected", "task": "/x", "reason": "bad"})
    );
}

#[test]
fn received_and_done_leave_out_what_is_not_known() {
    let received = serde_json::to_value(Event::Received {
        task: "/p/.agent-queue/inbox/x.md.dispatched".into(),
        session: "ccl-auto-11".into(),
        agent_session_id: Some("5c1e".into()),
        transcript_path: None,
    })
    .unwrap();
    assert_eq!(
        received,
        serde_json::json!({"event": "received", "session": "ccl-auto-11",
            "task": "/p/.agent-queue/inbox/x.md.dispatched", "agent_session_id": "5c1e"})
    );
    let done = Event::Done {
        task: PathBuf::from(OsString::from_vec(b"/p/caf\xe9.md.dispatched".to_vec())),
        session: "s".into(),
        agent_session_id: None,
        transcript_path: Some("/t.jsonl".into()),
        message: Some("Fixed.".into()),
        branch: None,
    };
    assert_eq!(done.human(), "s finished /p/caf\u{fffd}.md.dispatched");
    assert_eq!(
        serde_json::to_value(&done).unwrap(),
        serde_json::json!({"event": "done", "session": "s", "task": "/p/caf\\xe9.md.dispatched",
            "transcript_path": "/t.jsonl", "message": "Fixed."})
    );
    let ended = Event::Ended {
        task: PathBuf::from(OsString::from_vec(b"/p/\xff.md.dispatched".to_vec())),
        reason: "exited".into(),
        session: "s".into(),
    };
    assert_eq!(
        serde_json::to_value(&ended).unwrap()["task"],
        "/p/\\xff.md.dispatched"
    );
}

#[test]
fn a_non_utf8_path_in_an_event_is_json() {
    let e = Event::Dispatched {
        session: "s".into(),
        task: PathBuf::from(OsString::from_vec(b"/p/caf\xe9.md.dispatched".to_vec())),
        project: "/p".into(),
        priority: Priority::High,
        model: "m".into(),
        worktree: None,
        branch: None,
    };
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["task"], "/p/caf\\xe9.md.dispatched");
    let idle = serde_json::to_value(Event::Idle {
        session: "s".into(),
        task: None,
    })
    .unwrap();
    assert_eq!(idle["task"], serde_json::Value::Null);
}

#[test]
fn an_events_name_is_its_json_tag() {
    let events = [
        Event::Cancelled {
            task: "/p/x.md.cancelled".into(),
            session: None,
            reason: "r".into(),
        },
        Event::Requeued {
            task: "/p/x.md".into(),
            from: "/p/x.md.cancelled".into(),
        },
        Event::Paused {
            pools: vec!["default".into()],
            sessions: Vec::new(),
            projects: Vec::new(),
        },
        Event::Resumed {
            pools: Vec::new(),
            sessions: Vec::new(),
            projects: Vec::new(),
        },
        Event::Idle {
            session: "s".into(),
            task: None,
        },
        Event::Skipped {
            task: "/p/x.md".into(),
            reason: "r".into(),
        },
    ];
    for e in &events {
        assert_eq!(serde_json::to_value(e).unwrap()["event"], e.name());
    }
}
