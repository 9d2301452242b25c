use super::*;

#[test]
fn snapshot_keeps_the_active_pane_of_each_session() {
    let s = parse_snapshot(
        "11:ccl-auto-1:%0:10:::bash\n01:ccl-auto-10:%1:11:::claude\n\
         11:ccl-auto-10:%2:12:ab run::sh\n10:x:%3:13:::vim\n11:x:%4:14::copy-mode:python3 -m a:b\n\
         c:1700000005:x\nc:1700000009:x\nc:1700000001:ccl-auto-1\n",
        true,
    );
    assert_eq!(s.pane("ccl-auto-1").unwrap().command, "bash");
    assert_eq!(s.pane("ccl-auto-1").unwrap().mark, None);
    let p = s.pane("ccl-auto-10").unwrap();
    assert_eq!((p.id.as_str(), p.pid), ("%2", 12));
    assert_eq!(p.mark, Some(Mark::Running("ab".into())));
    assert_eq!(s.pane("x").unwrap().command, "python3 -m a:b");
    assert_eq!(s.pane("x").unwrap().mode.as_deref(), Some("copy-mode"));
    assert_eq!(s.pane("ccl-auto-1").unwrap().mode, None);
    assert_eq!(s.sessions.len(), 3);
    // The newest input of the clients attached to a session.
    assert_eq!(s.attached.get("x"), Some(&1700000009));
    assert_eq!(s.attached.get("ccl-auto-1"), Some(&1700000001));
    assert_eq!(s.attached.get("ccl-auto-10"), None);
}

#[test]
fn a_trailing_semicolon_is_escaped_for_tmux() {
    assert_eq!(literal("a; b"), "a; b");
    assert_eq!(literal("run;"), "run\\;");
}

#[test]
fn targets_are_exact() {
    assert_eq!(target("ccl-auto-1"), "=ccl-auto-1:");
}
