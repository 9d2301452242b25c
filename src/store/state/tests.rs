use super::*;

#[test]
fn save_then_read_round_trips_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("sub/state.json"));
    let mut locked = store.lock().unwrap();
    locked.state.set("s1", Phase::Working, 7);
    locked.state.entry("s1").task = Some("/p/x.md.dispatched".into());
    locked.save().unwrap();
    drop(locked);
    let state = store.read().unwrap();
    assert_eq!(state.phase("s1"), Phase::Working);
    assert_eq!(state.sessions["s1"].since, 7);
    let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
}

#[test]
fn a_state_file_that_does_not_parse_is_named_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, "{ torn").unwrap();
    let err = Store::new(path.clone()).lock().err().unwrap();
    assert!(crate::error::is_bad_input(&err));
    assert!(format!("{err:#}").contains(&path.display().to_string()));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ torn");
}

#[test]
fn the_schema_is_versioned_and_a_newer_one_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    // Before versions: `state` for the phase, no version key.
    std::fs::write(
        &path,
        r#"{"sessions": {"s": {"state": "working", "since": 3}}}"#,
    )
    .unwrap();
    let store = Store::new(path.clone());
    let state = store.read().unwrap();
    assert_eq!(state.phase("s"), Phase::Working);
    let locked = store.lock().unwrap();
    locked.save().unwrap();
    drop(locked);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("\"version\": {VERSION}")), "{text}");
    assert!(text.contains("\"phase\": \"working\""), "{text}");

    let newer = format!("{{\"version\": {}, \"sessions\": {{}}}}", VERSION + 1);
    std::fs::write(&path, &newer).unwrap();
    let err = store.lock().err().unwrap();
    assert!(crate::error::is_bad_input(&err));
    assert!(format!("{err:#}").contains("newer agent-queue"), "{err:#}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), newer);
}

#[test]
fn a_launch_lock_is_exclusive_until_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("state.json"));
    let held = store
        .try_launch_lock("a/b")
        .unwrap()
        .expect("free at first");
    assert!(store.try_launch_lock("a/b").unwrap().is_none());
    drop(held);
    assert!(store.try_launch_lock("a/b").unwrap().is_some());
}

#[test]
fn session_names_become_safe_file_names() {
    assert_eq!(file_safe("ccl-auto-11"), "ccl-auto-11");
    assert_eq!(file_safe("a/b"), "a%2Fb");
    assert_eq!(file_safe(".."), "%2E%2E");
}
