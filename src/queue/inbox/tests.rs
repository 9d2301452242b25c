use super::*;
use std::fs;

#[test]
fn task_names() {
    assert!(is_task_name(b"fix.md"));
    assert!(!is_task_name(b".fix.md"));
    assert!(!is_task_name(b"fix.md.dispatched"));
    assert!(!is_task_name(b".md"));
    assert!(!is_task_name(b"fix.txt"));
}

#[test]
fn original_names() {
    assert_eq!(original_name("x.md.dispatched"), "x.md");
    assert_eq!(original_name("x.md.12.dispatched"), "x.md");
    assert_eq!(original_name("v1.2.md.rejected"), "v1.2.md");
    assert_eq!(original_name("x.md"), "x.md");
    assert_eq!(original_name("x.md.2.cancelled"), "x.md");
    assert_eq!(original_name("é.md.2.dispatched"), "é.md");
    assert_eq!(original_bytes(b"caf\xe9.md.3.dispatched"), b"caf\xe9.md");
}

#[test]
fn names_that_are_not_utf8_keep_their_bytes_through_every_rename() {
    let dir = tempfile::tempdir().unwrap();
    let name = |b: &[u8]| dir.path().join(OsStr::from_bytes(b));
    let task = name(b"caf\xe9.md");
    fs::write(&task, "x").unwrap();
    let claimed = claim(&task).unwrap().unwrap();
    assert_eq!(claimed, name(b"caf\xe9.md.dispatched"));
    fs::write(&task, "y").unwrap();
    assert_eq!(unclaim(&claimed).unwrap(), name(b"caf\xe9.2.md"));
    assert_eq!(reject(&task).unwrap(), name(b"caf\xe9.md.rejected"));
    assert_eq!(
        cancel(&claimed.with_file_name(OsStr::from_bytes(b"caf\xe9.2.md"))).unwrap(),
        name(b"caf\xe9.2.md.cancelled")
    );
}

#[test]
fn claims_never_overwrite_and_unclaims_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let task = dir.path().join("t.md");
    fs::write(&task, "one").unwrap();
    let first = claim(&task).unwrap().unwrap();
    assert_eq!(first, dir.path().join("t.md.dispatched"));
    fs::write(&task, "two").unwrap();
    let second = claim(&task).unwrap().unwrap();
    assert_eq!(second, dir.path().join("t.md.2.dispatched"));
    assert_eq!(fs::read_to_string(&first).unwrap(), "one");
    assert_eq!(
        claim(&task).unwrap(),
        None,
        "a claim that loses the race is no error"
    );

    fs::write(&task, "three").unwrap();
    let back = unclaim(&second).unwrap();
    assert_eq!(back, dir.path().join("t.2.md"));
    assert_eq!(fs::read_to_string(&back).unwrap(), "two");
    assert_eq!(fs::read_to_string(&task).unwrap(), "three");
}

#[test]
fn project_of_a_task() {
    assert_eq!(
        project_of(Path::new("/p/a/.agent-queue/inbox/x.md")),
        Some(PathBuf::from("/p/a"))
    );
    assert_eq!(project_of(Path::new("/p/a/x.md")), None);
}

#[test]
fn walk_finds_the_root_and_nested_projects_but_not_in_pruned_places() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    for p in [
        "",
        "a",
        "group/b",
        "group/b/nested",
        "group/b/sub/too-deep",
        "node_modules/c",
        ".hidden/d",
        "target/e",
        "x/y/z/too-deep",
    ] {
        fs::create_dir_all(r.join(p).join(INBOX)).unwrap();
    }
    let mut found: Vec<PathBuf> = walk_root(r, 3).into_iter().map(|(p, _)| p).collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            r.to_path_buf(),
            r.join("a"),
            r.join("group/b"),
            r.join("group/b/nested")
        ]
    );
}
