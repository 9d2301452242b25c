use super::*;
use crate::queue::task::Priority;
use std::fs::OpenOptions;
use std::os::unix::fs::PermissionsExt;

fn idle(session: &str) -> Event {
    Event::Idle {
        session: session.into(),
        task: Some(format!("/p/.agent-queue/inbox/{session}.md.dispatched").into()),
    }
}

/// The `session` of every entry the journal reads back, in order.
fn sessions_read_back(j: &Journal) -> Vec<String> {
    j.read()
        .unwrap()
        .iter()
        .map(|e| e.str("session").to_string())
        .collect()
}

#[test]
fn a_line_is_the_events_json_with_its_time_in_front() {
    let e = Event::example_dispatched();
    let l = line(&e, 1_795_490_040).unwrap();
    assert!(l.ends_with('\n') && !l[..l.len() - 1].contains('\n'));
    assert!(l.starts_with("{\"time\":\"2026-11-24T03:14:00Z\",\"event\":\"dispatched\""));
    let mut v: serde_json::Value = serde_json::from_str(&l).unwrap();
    v.as_object_mut().unwrap().remove("time");
    assert_eq!(v, serde_json::to_value(&e).unwrap());
    let submitted = Event::Submitted {
        task: "/p/.agent-queue/inbox/x.md".into(),
        project: "/p".into(),
        priority: Priority::Low,
    };
    let l = line(&submitted, 0).unwrap();
    assert!(l.ends_with(",\"session\":null}\n"), "{l}");
    let v: serde_json::Value = serde_json::from_str(&l).unwrap();
    assert_eq!(v["task"], "/p/.agent-queue/inbox/x.md");
}

#[test]
fn an_entry_reads_back_as_the_event_written_and_a_later_one_by_its_fields() {
    let e = Event::Limited {
        account: "main".into(),
        until: "2026-11-24T04:00:00Z".into(),
        reason: "limit reached".into(),
        session: "s".into(),
        task: None,
    };
    let l = line(&e, 1_795_490_040).unwrap();
    let entry = Entry::parse(l.trim_end().as_bytes()).unwrap();
    assert_eq!(entry.event, Some(e));
    assert_eq!(entry.name(), "limited");
    let later = br#"{"time":"2026-11-24T03:14:00Z","event":"paused","task":null,"session":"s"}"#;
    let entry = Entry::parse(later).unwrap();
    assert_eq!(entry.event, None);
    assert_eq!((entry.name(), entry.str("session")), ("paused", "s"));
}

#[test]
fn appends_are_private_lines_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::new(dir.path().join("sub/history.jsonl"), 1 << 20);
    j.record(&idle("a"));
    j.record(&idle("b"));
    let mode = std::fs::metadata(j.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(dir.path().join("sub"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    assert_eq!(sessions_read_back(&j), ["a", "b"]);
}

#[test]
fn a_torn_line_is_ended_by_the_next_writer_and_skipped_by_readers() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::new(dir.path().join("history.jsonl"), 1 << 20);
    j.record(&idle("a"));
    let mut f = OpenOptions::new().append(true).open(j.path()).unwrap();
    f.write_all(b"{\"time\":\"2026-11-24T03:14:00Z\",\"ev")
        .unwrap();
    j.record(&idle("b"));
    let text = std::fs::read_to_string(j.path()).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert_eq!(sessions_read_back(&j), ["a", "b"]);
}

#[test]
fn past_its_size_the_journal_moves_to_dot_1_once() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::new(dir.path().join("history.jsonl"), 300);
    let mut n = 0;
    while !j.rotated_path().exists() {
        j.record(&idle(&format!("s{n}")));
        n += 1;
        assert!(n < 100, "never rotated");
    }
    // The line that found the journal too big is the new journal's first.
    let current = std::fs::read_to_string(j.path()).unwrap();
    assert_eq!(current.lines().count(), 1);
    let old = std::fs::metadata(j.rotated_path()).unwrap().len();
    assert!(old > 300, "{old}");
    let all = j.read().unwrap();
    assert_eq!(all.len(), n);
    assert_eq!(all.last().unwrap().str("session"), format!("s{}", n - 1));
    // A racer that held the old file too renames nothing more.
    let before = std::fs::read(j.rotated_path()).unwrap();
    let old_file = File::open(j.rotated_path()).unwrap();
    j.rotate(&old_file).unwrap();
    assert_eq!(std::fs::read(j.rotated_path()).unwrap(), before);
    assert!(j.path().exists());
}

#[test]
fn many_threads_appending_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let j = std::sync::Arc::new(Journal::new(dir.path().join("history.jsonl"), 4096));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let j = j.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    j.append_line(&line(&idle(&format!("t{t}-{i}")), 0).unwrap())
                        .unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let current = std::fs::read_to_string(j.path()).unwrap();
    let rotated = std::fs::read_to_string(j.rotated_path()).unwrap();
    for l in rotated.lines().chain(current.lines()) {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }
}

#[test]
fn a_journal_that_cannot_be_written_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    std::fs::create_dir(&path).unwrap();
    let j = Journal::new(path, 1 << 20);
    assert!(j.append_line("{}\n").is_err());
    j.record(&idle("a")); // warns, goes on
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).unwrap();
    assert!(Journal::new(link, 1 << 20).append_line("{}\n").is_err());
    assert!(!dir.path().join("elsewhere").exists());
}
