use super::*;

#[test]
fn dispatched_json_has_the_contract_keys() {
    let e = Event::Dispatched {
        session: "ccl-auto-11".into(),
        task: "/p/.agent-queue/inbox/x.md.dispatched".into(),
        project: "/p".into(),
        priority: Priority::High,
        model: "sonnet".into(),
        worktree: None,
        branch: None,
    };
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
fn paths_in_json_are_escaped_losslessly_and_ordinary_ones_unchanged() {
    let p = |b: &[u8]| PathBuf::from(OsString::from_vec(b.to_vec()));
    for ordinary in ["/srv/p/a b/.agent-queue/inbox/x.md", "/p/café ❯.md", ""] {
        assert_eq!(escape_path(Path::new(ordinary)), ordinary);
    }
    assert_eq!(escape_path(&p(b"/p/caf\xe9.md")), "/p/caf\\xe9.md");
    assert_eq!(escape_path(Path::new("a\\b")), "a\\\\b");
    // Names that a naive escaping would print alike.
    let names: Vec<PathBuf> = [
        &b"caf\xe9.md"[..],
        b"caf\\xe9.md",
        b"caf\\\xe9.md",
        b"caf\xc3\xa9.md",
        b"caf\xef\xbf\xbd.md",
        b"\\",
        b"\\\\",
        b"\\x",
        b"\xff\xfe",
        b"\xc3",
    ]
    .iter()
    .map(|b| p(b))
    .collect();
    let shown: std::collections::HashSet<String> = names.iter().map(|n| escape_path(n)).collect();
    assert_eq!(shown.len(), names.len(), "{shown:?}");
    for n in &names {
        assert_eq!(&unescape_path(&escape_path(n)), n);
    }
    assert_eq!(
        unescape_path("old \\ path \\q"),
        Path::new("old \\ path \\q")
    );
}

proptest::proptest! {
    #[test]
    fn escaping_round_trips_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
        let path = PathBuf::from(OsString::from_vec(bytes));
        proptest::prop_assert_eq!(unescape_path(&escape_path(&path)), path);
    }
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
